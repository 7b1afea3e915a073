-- Dashboard sign-in (docs/dashboard.md): one-time login links and sessions, by the SHA-256 of
-- their secret, with the hash of the credential (API key or actor token) each acts as.
CREATE TABLE ui_sessions (
    secret_hash     BLOB PRIMARY KEY,
    kind            TEXT NOT NULL,
    credential_hash BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX ui_sessions_by_expiry ON ui_sessions (expires_at);
