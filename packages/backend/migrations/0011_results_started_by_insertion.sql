-- The Activity list's index: (started_at) alone instead of (started_at DESC,
-- result_id DESC). Ties (a fleet's results share their start millisecond)
-- are broken by insertion order on SQLite, the rowid every index entry ends
-- with, so the list's ORDER BY started_at DESC, rowid DESC is one backward
-- scan of this index (store/results.ts; PostgreSQL keeps result_id as the
-- tiebreak and sorts ties on top of the same index). Without the 36-character
-- result_id each entry is a fraction of the size, and results of one start
-- time go in at the end of their run of entries instead of at random places:
-- 60,000 projected results took 9-10 us a row instead of 10-17 on this
-- hardware (the burst of bench results, written in 16,000-row transactions).
-- Retention (started_at < cutoff) walks it as it walked the old one.
DROP INDEX IF EXISTS idx_results_started;
CREATE INDEX idx_results_started ON execution_results (started_at);
