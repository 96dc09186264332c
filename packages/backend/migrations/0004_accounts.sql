-- Operator accounts and named page allow-lists. Durable state, not a
-- projection: a wipe-and-replay of the streams keeps these two tables.
-- Time columns are INTEGER epoch milliseconds UTC (docs/adr/0001).

CREATE TABLE users (
  username          TEXT PRIMARY KEY,
  password_hash     TEXT NOT NULL,                -- argon2id PHC string
  role              TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  disabled          INTEGER NOT NULL DEFAULT 0,
  must_change_pw    INTEGER NOT NULL DEFAULT 0,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  email             TEXT,
  allowed_features  TEXT,                         -- JSON array; NULL = unrestricted
  permission_group  TEXT,                         -- live reference by name, no FK (a group wins over allowed_features)
  totp_secret       TEXT,                         -- base32; NULL = MFA off
  totp_pending      TEXT                          -- enrolment secret waiting for its first valid code
);
CREATE INDEX idx_users_permission_group ON users (permission_group);

CREATE TABLE permission_groups (
  name        TEXT PRIMARY KEY,
  features    TEXT NOT NULL,                      -- JSON array of feature keys, catalogue order
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
