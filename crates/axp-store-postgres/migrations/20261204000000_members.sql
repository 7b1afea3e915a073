-- Memberships: an actor (a service account id or a user id) holds a role in an organization
-- (scope '*') or in one of its workspaces (scope = the workspace id). Only active ones count.
CREATE TABLE members (
    org_id     uuid NOT NULL,
    member_id  uuid NOT NULL,
    actor_id   text NOT NULL,
    scope      text NOT NULL,
    role       text NOT NULL,
    status     text NOT NULL,
    created_at bigint NOT NULL,
    body       text NOT NULL,
    PRIMARY KEY (org_id, member_id),
    CONSTRAINT members_actor UNIQUE (org_id, actor_id, scope)
);

-- Further agent addresses a service account acts as, granted by an admin.
CREATE TABLE address_grants (
    workspace_id       uuid NOT NULL,
    service_account_id uuid NOT NULL,
    agent_address      text NOT NULL,
    PRIMARY KEY (workspace_id, service_account_id, agent_address)
);
