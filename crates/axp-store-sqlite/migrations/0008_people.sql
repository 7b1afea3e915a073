-- People: users of a workspace (their nick is unique in it), invites and actor tokens. Tokens
-- are stored as SHA-256 hashes only.
CREATE TABLE users (
    workspace_id TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    nick         TEXT NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, user_id),
    CONSTRAINT users_nick UNIQUE (workspace_id, nick)
) WITHOUT ROWID;

CREATE TABLE invites (
    workspace_id TEXT NOT NULL,
    token_hash   BLOB NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, token_hash)
) WITHOUT ROWID;

CREATE TABLE actor_tokens (
    token_hash   BLOB PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    token_id     TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    body         TEXT NOT NULL,
    UNIQUE (workspace_id, token_id)
) WITHOUT ROWID;
