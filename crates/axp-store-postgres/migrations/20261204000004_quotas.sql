-- Workspace quotas (contract §6): the policy of a workspace that changed it (the others have
-- the default), and usage counters per workspace, dimension and UTC day (days since
-- 1970-01-01), which each replica's usage meter adds to in batches: never one update per
-- request. `dimensions` is a JSON object of dimension name to limit.
CREATE TABLE quota_policies (
    workspace_id           uuid PRIMARY KEY,
    org_id                 uuid NOT NULL,
    quota_policy_id        text NOT NULL,
    dimensions             text NOT NULL,
    soft_threshold_percent integer NOT NULL,
    hard_enforcement       boolean NOT NULL,
    overage_mode           text NOT NULL,
    updated_by_actor_id    text,
    updated_at             bigint
);

CREATE TABLE usage_counters (
    workspace_id uuid NOT NULL,
    dimension    text NOT NULL,
    day          bigint NOT NULL,
    count        bigint NOT NULL,
    PRIMARY KEY (workspace_id, day, dimension)
);
