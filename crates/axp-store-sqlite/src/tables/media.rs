//! Media uploads and their readers (the bytes are files: `crate::media`).

use async_trait::async_trait;
use axp_core::ids::UploadId;
use axp_core::media::MediaUpload;
use axp_store::tables::MediaTable;
use r2d2_sqlite::rusqlite::{OptionalExtension, params};

use super::*;

#[async_trait]
impl MediaTable for SqliteTx<'_> {
    async fn insert_upload(&mut self, ws: WorkspaceId, upload: &MediaUpload) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO media_uploads (workspace_id, upload_id, status, size_bytes, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db)?
            .execute(params![
                ws.to_string(),
                upload.upload_id.to_string(),
                upload.status.as_str(),
                upload.size_bytes as i64,
                to_json(upload)?
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn upload(
        &mut self,
        ws: WorkspaceId,
        id: UploadId,
        _for_update: bool,
    ) -> Result<Option<MediaUpload>> {
        let body: Option<String> = self
            .conn
            .prepare_cached("SELECT body FROM media_uploads WHERE workspace_id = ?1 AND upload_id = ?2")
            .map_err(db)?
            .query_row(params![ws.to_string(), id.to_string()], |r| r.get(0))
            .optional()
            .map_err(db)?;
        body.map(|b| from_json(&b)).transpose()
    }

    async fn update_upload(&mut self, ws: WorkspaceId, upload: &MediaUpload) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE media_uploads SET status = ?3, size_bytes = ?4, body = ?5
                 WHERE workspace_id = ?1 AND upload_id = ?2",
            )
            .map_err(db)?
            .execute(params![
                ws.to_string(),
                upload.upload_id.to_string(),
                upload.status.as_str(),
                upload.size_bytes as i64,
                to_json(upload)?
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn delete_upload(&mut self, ws: WorkspaceId, id: UploadId) -> Result<bool> {
        let (ws, id) = (ws.to_string(), id.to_string());
        self.conn
            .prepare_cached("DELETE FROM media_readers WHERE workspace_id = ?1 AND upload_id = ?2")
            .map_err(db)?
            .execute(params![ws, id])
            .map_err(db)?;
        let n = self
            .conn
            .prepare_cached("DELETE FROM media_uploads WHERE workspace_id = ?1 AND upload_id = ?2")
            .map_err(db)?
            .execute(params![ws, id])
            .map_err(db)?;
        Ok(n > 0)
    }

    async fn media_bytes_stored(&mut self, ws: WorkspaceId) -> Result<u64> {
        let total: i64 = self
            .conn
            .prepare_cached(
                "SELECT COALESCE(SUM(size_bytes), 0) FROM media_uploads
                 WHERE workspace_id = ?1 AND status <> 'expired'",
            )
            .map_err(db)?
            .query_row(params![ws.to_string()], |r| r.get(0))
            .map_err(db)?;
        Ok(total.max(0) as u64)
    }

    async fn add_media_reader(&mut self, ws: WorkspaceId, id: UploadId, agent: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO media_readers (workspace_id, upload_id, agent_address) VALUES (?1, ?2, ?3)",
            )
            .map_err(db)?
            .execute(params![ws.to_string(), id.to_string(), agent])
            .map_err(db)?;
        Ok(())
    }

    async fn media_readable_by(&mut self, ws: WorkspaceId, id: UploadId, agents: &[String]) -> Result<bool> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT 1 FROM media_readers WHERE workspace_id = ?1 AND upload_id = ?2 AND agent_address = ?3",
            )
            .map_err(db)?;
        for agent in agents {
            let found = stmt
                .query_row(params![ws.to_string(), id.to_string(), agent], |_| Ok(()))
                .optional()
                .map_err(db)?;
            if found.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
