-- Media uploads (contract §6 "Media"): metadata, the agents an intent referencing an upload was
-- sent to, and the bytes themselves in ~1 MiB chunks, so every replica reads them.
CREATE TABLE media_uploads (
    workspace_id uuid NOT NULL,
    upload_id    uuid NOT NULL,
    status       text NOT NULL,
    size_bytes   bigint NOT NULL,
    body         text NOT NULL,
    PRIMARY KEY (workspace_id, upload_id)
);

CREATE TABLE media_readers (
    workspace_id  uuid NOT NULL,
    upload_id     uuid NOT NULL,
    agent_address text NOT NULL,
    PRIMARY KEY (workspace_id, upload_id, agent_address)
);

-- One object per PUT of an upload (the upload's body names the object holding its bytes).
CREATE TABLE media_chunks (
    workspace_id uuid NOT NULL,
    object_id    uuid NOT NULL,
    seq          integer NOT NULL,
    data         bytea NOT NULL,
    PRIMARY KEY (workspace_id, object_id, seq)
);
