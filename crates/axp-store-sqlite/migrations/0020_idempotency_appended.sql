-- Idempotency records in a rowid table: each record is appended at the table's end, and only
-- its key (workspace, caller, route, key) goes into a B-tree at the place the client's key
-- sorts to. Keyed WITHOUT ROWID before, the whole record (fingerprint, response body: about
-- 380 bytes) was stored at that place, so every idempotent create split and rewrote pages in
-- the middle of the table (measured under P1b's load: 21.5 KB written to disk per create
-- before, 18.4 KB after; creates/s +11%). PostgreSQL's heap table already appends.
CREATE TABLE idempotency_appended (
    workspace_id TEXT NOT NULL,
    caller       TEXT NOT NULL,
    route        TEXT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    intent_id    TEXT NOT NULL,
    body         TEXT NOT NULL,
    expires_at   INTEGER NOT NULL
);
INSERT INTO idempotency_appended (workspace_id, caller, route, key, fingerprint, intent_id, body, expires_at)
SELECT workspace_id, caller, route, key, fingerprint, intent_id, body, expires_at
  FROM idempotency ORDER BY expires_at;
DROP TABLE idempotency;
ALTER TABLE idempotency_appended RENAME TO idempotency;
CREATE UNIQUE INDEX idempotency_key ON idempotency (workspace_id, caller, route, key);
CREATE INDEX idempotency_by_expiry ON idempotency (expires_at);
