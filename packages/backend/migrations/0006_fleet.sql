-- Fleet knowledge projected from job results, the OBS_EVENTS stream and the
-- agent_meta KV bucket. Every table is a projection (rebuilt by replaying
-- streams / re-reading the bucket). Times are INTEGER epoch milliseconds UTC
-- (docs/adr/0001).

-- Latest facts per inventory job per PC. Written by the results projector
-- for manifests with an `inventory:` hint, only when the result is at least
-- as new as the stored one (recency guard on recorded_at, the JetStream
-- publish time).
CREATE TABLE inventory_facts (
  pc_id        TEXT NOT NULL,
  job_id       TEXT NOT NULL,
  facts_json   TEXT NOT NULL,
  display_json TEXT,
  summary_json TEXT,
  collected_at INTEGER,
  recorded_at  INTEGER NOT NULL,
  PRIMARY KEY (pc_id, job_id)
);
CREATE INDEX idx_inventory_facts_job ON inventory_facts (job_id, pc_id);

-- Change log of tracked scalar facts (identity_json NULL) and of elements of
-- exploded arrays (identity_json = the element's primary key). Only changes
-- are written, so volume follows fleet churn, not scan cadence.
CREATE TABLE inventory_history (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  pc_id         TEXT NOT NULL,
  job_id        TEXT NOT NULL,
  field_path    TEXT NOT NULL,
  identity_json TEXT,
  change_kind   TEXT NOT NULL CHECK (change_kind IN ('added', 'removed', 'changed')),
  before_json   TEXT,
  after_json    TEXT,
  observed_at   INTEGER NOT NULL
);
CREATE INDEX idx_inventory_history_field ON inventory_history (job_id, field_path, observed_at DESC);
CREATE INDEX idx_inventory_history_identity ON inventory_history (job_id, field_path, identity_json);
CREATE INDEX idx_inventory_history_pc ON inventory_history (job_id, pc_id, observed_at DESC);
CREATE INDEX idx_inventory_history_observed ON inventory_history (observed_at);

-- The explode tables this backend created (one per `inventory.explode`
-- spec), so DDL only ever touches tables it owns: a spec naming a table that
-- exists but is not listed here (a core table) is refused.
CREATE TABLE inventory_explode_tables (
  table_name TEXT PRIMARY KEY,
  job_id     TEXT NOT NULL,
  field      TEXT NOT NULL,
  spec_json  TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

-- Compliance matrix: the latest status per PC per check (results of jobs
-- with a `check:` hint), recency-guarded like inventory_facts.
CREATE TABLE check_status (
  pc_id       TEXT NOT NULL,
  check_name  TEXT NOT NULL,
  label       TEXT,
  status      TEXT NOT NULL CHECK (status IN ('ok', 'warn', 'fail', 'unknown')),
  detail      TEXT,
  recorded_at INTEGER NOT NULL,
  PRIMARY KEY (pc_id, check_name)
);
CREATE INDEX idx_check_status_check ON check_status (check_name, status);

-- Per-PC timeline (OBS_EVENTS / backend_obs_events_projector). The UNIQUE key
-- makes redelivery a no-op; a NULL event_record_id never collides, as upstream.
CREATE TABLE obs_events (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  pc_id           TEXT NOT NULL,
  at              INTEGER NOT NULL,
  kind            TEXT NOT NULL,
  source          TEXT NOT NULL,
  event_record_id TEXT,
  payload         TEXT,
  UNIQUE (pc_id, source, event_record_id)
);
CREATE INDEX idx_obs_events_at ON obs_events (at);
CREATE INDEX idx_obs_events_kind ON obs_events (kind, at DESC);
CREATE INDEX idx_obs_events_pc ON obs_events (pc_id, at DESC);
CREATE INDEX idx_obs_events_source ON obs_events (source);

-- Query-side copy of the agent_meta KV bucket (the bucket is the source of
-- truth; the API never writes here). `position` keeps the operator's order.
CREATE TABLE agent_meta (
  pc_id    TEXT NOT NULL,
  key      TEXT NOT NULL,
  value    TEXT NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (pc_id, key)
) WITHOUT ROWID;
CREATE INDEX idx_agent_meta_key ON agent_meta (key, value);
