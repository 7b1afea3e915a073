-- Payload schemas (contract §6 "Schemas"): one row per scope and semantic type. `scope_key` is
-- the workspace id of a tenant schema, or `core` for the server's (then `workspace_id` is
-- NULL). `body` is the whole record as JSON (`axp_core::schema::Schema`).
CREATE TABLE schemas (
    scope_key     text NOT NULL,
    semantic_type text NOT NULL,
    workspace_id  uuid,
    updated_at    bigint NOT NULL,
    body          text NOT NULL,
    PRIMARY KEY (scope_key, semantic_type)
);
