-- Fleet registry and host telemetry. Every time column is INTEGER epoch
-- milliseconds UTC (docs/adr/0001-time-format.md).

CREATE TABLE agents (
  pc_id                    TEXT PRIMARY KEY,
  hostname                 TEXT,
  last_heartbeat           INTEGER,
  agent_version            TEXT,
  os_family                TEXT,
  updated_at               INTEGER NOT NULL,
  agent_cpu_pct            REAL,
  agent_rss_bytes          INTEGER,
  agent_disk_read_bytes    INTEGER,
  agent_disk_written_bytes INTEGER,
  quarantined_versions     TEXT,   -- JSON array, NULL when empty
  last_logon_user          TEXT,
  last_logon_display_name  TEXT,
  command_keys             TEXT,   -- JSON array; NULL = unknown, '[]' = none
  enforcing                INTEGER,
  nats_user                TEXT,
  nats_user_since          INTEGER,
  command_protocols        TEXT    -- JSON array; NULL = unknown
);
-- One index per sortable column, ending in pc_id (the tie-breaker), so a
-- sorted first page is an index walk, not a sort of the whole fleet.
CREATE INDEX idx_agents_heartbeat ON agents (last_heartbeat, pc_id);
CREATE INDEX idx_agents_hostname ON agents (hostname, pc_id);
CREATE INDEX idx_agents_version ON agents (agent_version, pc_id);
CREATE INDEX idx_agents_os_family ON agents (os_family, pc_id);
CREATE INDEX idx_agents_logon_user ON agents (last_logon_user, pc_id);

-- One sample per host per second; the first writer wins (agent restarts can
-- re-publish an in-flight sample with the same `at`).
CREATE TABLE host_perf_samples (
  pc_id                      TEXT NOT NULL,
  at                         INTEGER NOT NULL,
  cpu_pct                    REAL,
  cpu_count                  INTEGER,
  mem_used_bytes             INTEGER,
  mem_total_bytes            INTEGER,
  swap_used_bytes            INTEGER,
  swap_total_bytes           INTEGER,
  disk_read_bytes_per_sec    REAL,
  disk_written_bytes_per_sec REAL,
  net_rx_bytes_per_sec       REAL,
  net_tx_bytes_per_sec       REAL,
  PRIMARY KEY (pc_id, at)
) WITHOUT ROWID;
CREATE INDEX idx_host_perf_at ON host_perf_samples (at);

-- Fleet-wide per-minute rollup of host_perf, maintained by the projector from
-- the rows it actually inserted, so fleet charts never scan every sample.
CREATE TABLE fleet_perf_minutes (
  minute          INTEGER PRIMARY KEY,
  samples         INTEGER NOT NULL DEFAULT 0,
  cpu_pct_sum     REAL NOT NULL DEFAULT 0,
  cpu_pct_n       INTEGER NOT NULL DEFAULT 0,
  cpu_pct_max     REAL,
  mem_used_sum    REAL NOT NULL DEFAULT 0,
  mem_used_n      INTEGER NOT NULL DEFAULT 0,
  mem_used_max    REAL,
  mem_total_sum   REAL NOT NULL DEFAULT 0,
  mem_total_n     INTEGER NOT NULL DEFAULT 0,
  mem_total_max   REAL,
  disk_read_sum   REAL NOT NULL DEFAULT 0,
  disk_read_n     INTEGER NOT NULL DEFAULT 0,
  disk_read_max   REAL,
  disk_written_sum REAL NOT NULL DEFAULT 0,
  disk_written_n  INTEGER NOT NULL DEFAULT 0,
  disk_written_max REAL,
  net_rx_sum      REAL NOT NULL DEFAULT 0,
  net_rx_n        INTEGER NOT NULL DEFAULT 0,
  net_rx_max      REAL,
  net_tx_sum      REAL NOT NULL DEFAULT 0,
  net_tx_n        INTEGER NOT NULL DEFAULT 0,
  net_tx_max      REAL
);

CREATE TABLE process_perf_samples (
  pc_id                      TEXT NOT NULL,
  at                         INTEGER NOT NULL,
  pid                        INTEGER NOT NULL,
  name                       TEXT NOT NULL,
  cpu_pct                    REAL NOT NULL,
  rss_bytes                  INTEGER NOT NULL,
  disk_read_bytes_per_sec    REAL,
  disk_written_bytes_per_sec REAL,
  PRIMARY KEY (pc_id, at, pid)
) WITHOUT ROWID;
CREATE INDEX idx_process_perf_at ON process_perf_samples (at);
