-- Dashboard sign-in (docs/dashboard.md): one-time login links and sessions, by the SHA-256 of
-- their secret, with the hash of the credential (API key or actor token) each acts as.
CREATE TABLE ui_sessions (
    secret_hash     bytea PRIMARY KEY,
    kind            text NOT NULL,
    credential_hash bytea NOT NULL,
    created_at      bigint NOT NULL,
    expires_at      bigint NOT NULL
);
CREATE INDEX ui_sessions_by_expiry ON ui_sessions (expires_at);
