-- Jobs and execution: one `executions` row per fan-out, one
-- `execution_results` row per run per PC, and the delayed waves of a
-- rollout. Times are INTEGER epoch milliseconds UTC (docs/adr/0001).

-- Written by the exec service (insert), the results projector (counters and
-- status) and the sweeper (pending -> expired, reaper settling counters).
-- Not a projection: a wiped database loses these rows, as upstream's does.
-- abort_on_failure_pct / aborted_at / abort_reason record the rollout's
-- abort-on-failure rule and its outcome (an extension over upstream).
CREATE TABLE executions (
  exec_id              TEXT PRIMARY KEY,
  job_id               TEXT NOT NULL,
  version              TEXT NOT NULL,
  initiated_by         TEXT NOT NULL,
  initiated_at         INTEGER NOT NULL,
  target_count         INTEGER NOT NULL,
  success_count        INTEGER NOT NULL DEFAULT 0,
  failure_count        INTEGER NOT NULL DEFAULT 0,
  status               TEXT NOT NULL DEFAULT 'pending',
  request_id           TEXT,
  abort_on_failure_pct REAL,
  aborted_at           INTEGER,
  abort_reason         TEXT
);
CREATE INDEX idx_executions_job ON executions (job_id, initiated_at DESC);
CREATE INDEX idx_executions_initiated ON executions (initiated_at);
CREATE INDEX idx_executions_live ON executions (status, job_id) WHERE status IN ('running', 'pending');

-- In flight (finished_at NULL, inserted by the events projector) until the
-- results projector upserts the result by result_id, or the reaper finishes
-- the row with exit_code -1 and reaped = 1 (a late real result may still
-- overwrite a reaped row).
CREATE TABLE execution_results (
  result_id        TEXT PRIMARY KEY,
  request_id       TEXT NOT NULL,
  exec_id          TEXT,
  pc_id            TEXT NOT NULL,
  exit_code        INTEGER,
  stdout           TEXT NOT NULL DEFAULT '',
  stderr           TEXT NOT NULL DEFAULT '',
  started_at       INTEGER NOT NULL,
  finished_at      INTEGER,
  recorded_at      INTEGER NOT NULL,
  job_id           TEXT,
  version          TEXT,
  reaped           INTEGER NOT NULL DEFAULT 0,
  expires_at       INTEGER,
  parent_result_id TEXT,
  skipped          INTEGER NOT NULL DEFAULT 0
);
-- Only indexes a query uses: every extra one is paid on each result of a burst
-- (upstream's request_id and finished_at indexes had no reader here).
CREATE INDEX idx_results_exec ON execution_results (exec_id, recorded_at DESC) WHERE exec_id IS NOT NULL;
CREATE INDEX idx_results_inflight ON execution_results (started_at DESC) WHERE finished_at IS NULL;
CREATE INDEX idx_results_job_pc ON execution_results (job_id, pc_id, finished_at DESC) WHERE job_id IS NOT NULL;
CREATE INDEX idx_results_pc ON execution_results (pc_id, recorded_at DESC);
CREATE INDEX idx_results_started ON execution_results (started_at DESC, result_id DESC);
CREATE INDEX idx_results_recorded ON execution_results (recorded_at);
CREATE INDEX idx_results_expires ON execution_results (expires_at) WHERE finished_at IS NULL;
CREATE INDEX idx_results_parent ON execution_results (parent_result_id) WHERE parent_result_id IS NOT NULL;

-- The waves of a rollout, persisted so a backend restart does not lose the
-- later ones: the wave dispatcher publishes `command` to `subject` once
-- due_at has passed. target_count is the wave's share of the execution's
-- target_count (PCs not already counted by an earlier wave), used to settle
-- the execution when abort-on-failure stops the remaining waves.
CREATE TABLE exec_waves (
  exec_id      TEXT NOT NULL,
  idx          INTEGER NOT NULL,
  group_name   TEXT NOT NULL,
  subject      TEXT NOT NULL,
  delay_ms     INTEGER NOT NULL,
  due_at       INTEGER NOT NULL,
  target_count INTEGER NOT NULL,
  status       TEXT NOT NULL,
  published_at INTEGER,
  command      TEXT NOT NULL,
  PRIMARY KEY (exec_id, idx)
);
CREATE INDEX idx_exec_waves_due ON exec_waves (due_at) WHERE status = 'scheduled';
