//! Media uploads: their metadata and who may read them through an intent's reference. The
//! bytes are kept by [`crate::MediaBlobs`].

use async_trait::async_trait;
use axp_core::ids::{UploadId, WorkspaceId};
use axp_core::media::MediaUpload;

use crate::Result;

/// Tables `media_uploads` and `media_readers`.
#[async_trait]
pub trait MediaTable {
    /// Adds an upload.
    async fn insert_upload(&mut self, ws: WorkspaceId, upload: &MediaUpload) -> Result<()>;

    /// One upload of the workspace (locked with `for_update`).
    async fn upload(
        &mut self,
        ws: WorkspaceId,
        id: UploadId,
        for_update: bool,
    ) -> Result<Option<MediaUpload>>;

    /// Rewrites an upload (status, size, hash, stored bytes).
    async fn update_upload(&mut self, ws: WorkspaceId, upload: &MediaUpload) -> Result<()>;

    /// Removes an upload and its readers; returns whether it existed.
    async fn delete_upload(&mut self, ws: WorkspaceId, id: UploadId) -> Result<bool>;

    /// The declared bytes of the workspace's uploads that have not expired (the
    /// `media_storage_bytes` level).
    async fn media_bytes_stored(&mut self, ws: WorkspaceId) -> Result<u64>;

    /// Lets `agent` read upload `id` (an intent to it referenced the upload); once per pair.
    async fn add_media_reader(&mut self, ws: WorkspaceId, id: UploadId, agent: &str) -> Result<()>;

    /// Whether any of `agents` was let read upload `id`.
    async fn media_readable_by(&mut self, ws: WorkspaceId, id: UploadId, agents: &[String]) -> Result<bool>;
}
