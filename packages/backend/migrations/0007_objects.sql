-- Index of the objects in the agent_releases, app_packages, scripts and
-- collections object stores, so list endpoints never scan a store. A
-- projection: the object-meta projector rebuilds it from each store's meta
-- subjects (last value per object) after every (re)attach, and the API writes
-- through on upload and delete. `revision` is the stream sequence of the meta
-- message the row comes from; a write never replaces a newer revision, so the
-- projector and the write-through can land in any order. Times are INTEGER
-- epoch milliseconds UTC (docs/adr/0001).
CREATE TABLE object_store_meta (
  bucket      TEXT NOT NULL,
  key         TEXT NOT NULL,
  size        INTEGER NOT NULL,
  -- lowercase hex SHA-256 of the content
  digest      TEXT,
  modified    INTEGER NOT NULL,
  revision    INTEGER NOT NULL,
  description TEXT,
  -- JSON object of the object's metadata (release platform and version, ...)
  meta        TEXT,
  PRIMARY KEY (bucket, key)
);
CREATE INDEX idx_object_store_meta_modified ON object_store_meta (bucket, modified);
