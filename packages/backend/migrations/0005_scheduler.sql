-- Indexes for the scheduler's reads of `execution_results` (store/schedules.ts).
-- The every-minute poll of the reconcile shapes asks, per job, for the
-- successes finished since the cooldown began and for the runs still in
-- flight (max_concurrent); status asks for the latest finish and the last
-- 24 h. With 90 days of results per job, walking every row of the job (all
-- that idx_results_job_pc offers for these) costs more at each poll than the
-- answer; these two serve them by range and from the small in-flight set.
CREATE INDEX idx_results_job_finished ON execution_results (job_id, finished_at)
  WHERE job_id IS NOT NULL AND finished_at IS NOT NULL;
CREATE INDEX idx_results_job_inflight ON execution_results (job_id) WHERE finished_at IS NULL;
