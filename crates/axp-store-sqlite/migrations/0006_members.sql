-- Memberships: an actor (a service account id or a user id) holds a role in an organization
-- (scope '*') or in one of its workspaces (scope = the workspace id). Only active ones count.
CREATE TABLE members (
    org_id     TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    scope      TEXT NOT NULL,
    role       TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (org_id, member_id),
    CONSTRAINT members_actor UNIQUE (org_id, actor_id, scope)
) WITHOUT ROWID;

-- Further agent addresses a service account acts as, granted by an admin.
CREATE TABLE address_grants (
    workspace_id       TEXT NOT NULL,
    service_account_id TEXT NOT NULL,
    agent_address      TEXT NOT NULL,
    PRIMARY KEY (workspace_id, service_account_id, agent_address)
) WITHOUT ROWID;
