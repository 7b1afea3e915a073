-- Media uploads (contract §6 "Media"): metadata here, bytes as files under <data-dir>/media/.
CREATE TABLE media_uploads (
    workspace_id TEXT NOT NULL,
    upload_id    TEXT NOT NULL,
    status       TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, upload_id)
) WITHOUT ROWID;

-- Agents an intent referencing the upload was sent to: they may read it.
CREATE TABLE media_readers (
    workspace_id  TEXT NOT NULL,
    upload_id     TEXT NOT NULL,
    agent_address TEXT NOT NULL,
    PRIMARY KEY (workspace_id, upload_id, agent_address)
) WITHOUT ROWID;
