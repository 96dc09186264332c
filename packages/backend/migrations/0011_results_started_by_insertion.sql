-- The Activity list's index: (started_at) alone instead of (started_at DESC,
-- result_id DESC). A fleet's results share start times (to the millisecond),
-- and with result_id in the key each projected result went in at a random
-- place among the entries of its start time; now ties are kept in rowid
-- order, which every index entry ends with, so a burst appends at the end of
-- its run of entries, and each entry is a fraction of the size. 60,000
-- projected results took 9-10 us a row instead of 10-17 on this hardware (the
-- burst of bench results, written in 16,000-row transactions). The list still
-- orders by started_at DESC, result_id DESC: the index gives the first term
-- and the database sorts only each run of equal start times, stopping once
-- the page is full. Retention (started_at < cutoff) walks it as before.
DROP INDEX IF EXISTS idx_results_started;
CREATE INDEX idx_results_started ON execution_results (started_at);
