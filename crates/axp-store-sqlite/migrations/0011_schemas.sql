-- Payload schemas (contract §6 "Schemas"): one row per scope and semantic type. `scope_key` is
-- the workspace id of a tenant schema, or `core` for the server's (then `workspace_id` is
-- NULL). `body` is the whole record as JSON (`axp_core::schema::Schema`).
CREATE TABLE schemas (
    scope_key     TEXT NOT NULL,
    semantic_type TEXT NOT NULL,
    workspace_id  TEXT,
    updated_at    INTEGER NOT NULL,
    body          TEXT NOT NULL,
    PRIMARY KEY (scope_key, semantic_type)
) WITHOUT ROWID;
