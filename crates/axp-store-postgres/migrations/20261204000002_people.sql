-- People: users of a workspace (their nick is unique in it), invites and actor tokens. Tokens
-- are stored as SHA-256 hashes only.
CREATE TABLE users (
    workspace_id uuid NOT NULL,
    user_id      uuid NOT NULL,
    nick         text NOT NULL,
    body         text NOT NULL,
    PRIMARY KEY (workspace_id, user_id),
    CONSTRAINT users_nick UNIQUE (workspace_id, nick)
);

CREATE TABLE invites (
    workspace_id uuid NOT NULL,
    token_hash   bytea NOT NULL,
    body         text NOT NULL,
    PRIMARY KEY (workspace_id, token_hash)
);

CREATE TABLE actor_tokens (
    token_hash   bytea PRIMARY KEY,
    workspace_id uuid NOT NULL,
    token_id     uuid NOT NULL,
    user_id      uuid NOT NULL,
    expires_at   bigint NOT NULL,
    revoked_at   bigint,
    body         text NOT NULL,
    UNIQUE (workspace_id, token_id)
);
