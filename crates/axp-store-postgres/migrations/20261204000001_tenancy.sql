-- Tenancy (contract §6): organizations and workspaces described as on the wire, a workspace's
-- directory of principals and aliases, and access requests.

-- An organization's name starts as its slug; metadata is a JSON object (as text).
ALTER TABLE orgs
    ADD COLUMN name text NOT NULL DEFAULT '',
    ADD COLUMN legal_name text,
    ADD COLUMN primary_domain text,
    ADD COLUMN status text NOT NULL DEFAULT 'active',
    ADD COLUMN metadata text NOT NULL DEFAULT '{}',
    ADD COLUMN updated_at bigint NOT NULL DEFAULT 0;
UPDATE orgs SET name = slug, updated_at = created_at;

ALTER TABLE workspaces
    ADD COLUMN name text NOT NULL DEFAULT '',
    ADD COLUMN environment text NOT NULL DEFAULT 'production',
    ADD COLUMN region text,
    ADD COLUMN status text NOT NULL DEFAULT 'active',
    ADD COLUMN updated_at bigint NOT NULL DEFAULT 0;
UPDATE workspaces SET name = slug, updated_at = created_at;

-- Service accounts found by id alone (an org admin acting in another workspace of its organization).
CREATE INDEX service_accounts_by_id ON service_accounts (service_account_id);

-- Memberships read per actor (access checks in organizations other than the caller's own).
CREATE INDEX members_by_actor ON members (actor_id, org_id);

-- Principals of a workspace's directory; ids are unique across workspaces.
CREATE TABLE principals (
    workspace_id uuid NOT NULL,
    principal_id uuid NOT NULL,
    org_id       uuid NOT NULL,
    created_at   bigint NOT NULL,
    body         text NOT NULL,
    PRIMARY KEY (workspace_id, principal_id)
);
CREATE UNIQUE INDEX principals_id ON principals (principal_id);

-- Aliases of principals: a name is bound once among the active aliases of a workspace.
CREATE TABLE aliases (
    workspace_id uuid NOT NULL,
    alias_id     uuid NOT NULL,
    principal_id uuid NOT NULL,
    alias        text NOT NULL,
    status       text NOT NULL,
    created_at   bigint NOT NULL,
    body         text NOT NULL,
    PRIMARY KEY (workspace_id, alias_id)
);
CREATE UNIQUE INDEX aliases_id ON aliases (alias_id);
CREATE UNIQUE INDEX aliases_active_name ON aliases (workspace_id, alias) WHERE status = 'active';

-- Access requests: a create_organization request names no organization.
CREATE TABLE access_requests (
    access_request_id  uuid PRIMARY KEY,
    org_id             uuid,
    workspace_id       uuid,
    requester_actor_id text NOT NULL,
    state              text NOT NULL,
    created_at         bigint NOT NULL,
    body               text NOT NULL
);
CREATE INDEX access_requests_by_org ON access_requests (org_id, created_at);
CREATE INDEX access_requests_by_requester ON access_requests (requester_actor_id, created_at);
