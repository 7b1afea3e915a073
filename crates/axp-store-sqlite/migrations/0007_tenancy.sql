-- Tenancy (contract §6): organizations and workspaces described as on the wire, a workspace's
-- directory of principals and aliases, and access requests.

-- An organization's name starts as its slug; metadata is a JSON object.
ALTER TABLE orgs ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE orgs ADD COLUMN legal_name TEXT;
ALTER TABLE orgs ADD COLUMN primary_domain TEXT;
ALTER TABLE orgs ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE orgs ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE orgs ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE orgs SET name = slug, updated_at = created_at;

ALTER TABLE workspaces ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE workspaces ADD COLUMN environment TEXT NOT NULL DEFAULT 'production';
ALTER TABLE workspaces ADD COLUMN region TEXT;
ALTER TABLE workspaces ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE workspaces ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE workspaces SET name = slug, updated_at = created_at;

-- Service accounts found by id alone (an org admin acting in another workspace of its organization).
CREATE INDEX service_accounts_by_id ON service_accounts (service_account_id);

-- Memberships read per actor (access checks in organizations other than the caller's own).
CREATE INDEX members_by_actor ON members (actor_id, org_id);

-- Principals of a workspace's directory; ids are unique across workspaces.
CREATE TABLE principals (
    workspace_id TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    org_id       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, principal_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX principals_id ON principals (principal_id);

-- Aliases of principals: a name is bound once among the active aliases of a workspace.
CREATE TABLE aliases (
    workspace_id TEXT NOT NULL,
    alias_id     TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    alias        TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, alias_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX aliases_id ON aliases (alias_id);
CREATE UNIQUE INDEX aliases_active_name ON aliases (workspace_id, alias) WHERE status = 'active';

-- Access requests: a create_organization request names no organization.
CREATE TABLE access_requests (
    access_request_id  TEXT PRIMARY KEY,
    org_id             TEXT,
    workspace_id       TEXT,
    requester_actor_id TEXT NOT NULL,
    state              TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    body               TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX access_requests_by_org ON access_requests (org_id, created_at);
CREATE INDEX access_requests_by_requester ON access_requests (requester_actor_id, created_at);
