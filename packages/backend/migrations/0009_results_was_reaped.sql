-- The results upsert marks a reaped row it settles with reaped = 2 ("was
-- reaped") and finds those rows again through this index before setting them
-- back to 0 in the same transaction (store/results.ts). The index is empty
-- outside that transaction, and costs nothing on the rows a burst inserts.
-- It replaces RETURNING on SQLite, which doubled the cost of each upsert.
CREATE INDEX idx_results_was_reaped ON execution_results (result_id) WHERE reaped = 2;
