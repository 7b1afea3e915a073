-- Workspace quotas (contract §6): the policy of a workspace that changed it (the others have
-- the default), and usage counters per workspace, dimension and UTC day (days since
-- 1970-01-01), which the usage meter adds to in batches: never one update per request.
-- `dimensions` is a JSON object of dimension name to limit.
CREATE TABLE quota_policies (
    workspace_id           TEXT PRIMARY KEY,
    org_id                 TEXT NOT NULL,
    quota_policy_id        TEXT NOT NULL,
    dimensions             TEXT NOT NULL,
    soft_threshold_percent INTEGER NOT NULL,
    hard_enforcement       INTEGER NOT NULL,
    overage_mode           TEXT NOT NULL,
    updated_by_actor_id    TEXT,
    updated_at             INTEGER
);

CREATE TABLE usage_counters (
    workspace_id TEXT NOT NULL,
    dimension    TEXT NOT NULL,
    day          INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, day, dimension)
) WITHOUT ROWID;
