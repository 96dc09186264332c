-- Operator-action log: a projection of the AUDIT stream. `stream_seq` is the
-- idempotency key, so redelivery and replay never insert a row twice.
CREATE TABLE audit_log (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  actor        TEXT NOT NULL,
  action       TEXT NOT NULL,
  target       TEXT,
  payload      TEXT,
  occurred_at  INTEGER NOT NULL,
  stream_seq   INTEGER NOT NULL UNIQUE
);
CREATE INDEX idx_audit_occurred ON audit_log (occurred_at);
CREATE INDEX idx_audit_actor ON audit_log (actor, occurred_at);
CREATE INDEX idx_audit_action ON audit_log (action, occurred_at);
