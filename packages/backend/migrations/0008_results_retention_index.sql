-- Two indexes fewer to maintain on every projected result (each costs 3-8 us
-- per row on this hardware, the largest part of a burst drain):
-- - retention of execution_results walks idx_results_started (started_at is
--   within seconds of recorded_at for every row) instead of a recorded_at index;
-- - every per-job query filters job_id and reads finished_at, which
--   idx_results_job_finished (0005) serves, so (job_id, pc_id, finished_at)
--   is redundant.
DROP INDEX IF EXISTS idx_results_recorded;
DROP INDEX IF EXISTS idx_results_job_pc;
