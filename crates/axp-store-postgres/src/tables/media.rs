//! Media uploads and their readers (the bytes are chunks: `crate::media`).

use async_trait::async_trait;
use axp_core::ids::UploadId;
use axp_core::media::MediaUpload;

use super::*;

#[async_trait]
impl MediaTable for PgTx {
    async fn insert_upload(&mut self, ws: WorkspaceId, upload: &MediaUpload) -> Result<()> {
        q("INSERT INTO media_uploads (workspace_id, upload_id, status, size_bytes, body) VALUES ($1, $2, $3, $4, $5)")
            .bind(ws.0)
            .bind(upload.upload_id.0)
            .bind(upload.status.as_str())
            .bind(upload.size_bytes as i64)
            .bind(to_json(upload)?)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn upload(
        &mut self,
        ws: WorkspaceId,
        id: UploadId,
        for_update: bool,
    ) -> Result<Option<MediaUpload>> {
        let sql = if for_update {
            "SELECT body FROM media_uploads WHERE workspace_id = $1 AND upload_id = $2 FOR UPDATE"
        } else {
            "SELECT body FROM media_uploads WHERE workspace_id = $1 AND upload_id = $2"
        };
        body(q(sql).bind(ws.0).bind(id.0).fetch_optional(self.conn()).await.map_err(db)?)
    }

    async fn update_upload(&mut self, ws: WorkspaceId, upload: &MediaUpload) -> Result<()> {
        q("UPDATE media_uploads SET status = $3, size_bytes = $4, body = $5 WHERE workspace_id = $1 AND upload_id = $2")
            .bind(ws.0)
            .bind(upload.upload_id.0)
            .bind(upload.status.as_str())
            .bind(upload.size_bytes as i64)
            .bind(to_json(upload)?)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn delete_upload(&mut self, ws: WorkspaceId, id: UploadId) -> Result<bool> {
        q("DELETE FROM media_readers WHERE workspace_id = $1 AND upload_id = $2")
            .bind(ws.0)
            .bind(id.0)
            .execute(self.conn())
            .await
            .map_err(db)?;
        let done = q("DELETE FROM media_uploads WHERE workspace_id = $1 AND upload_id = $2")
            .bind(ws.0)
            .bind(id.0)
            .execute(self.conn())
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn media_bytes_stored(&mut self, ws: WorkspaceId) -> Result<u64> {
        let row = q("SELECT COALESCE(SUM(size_bytes), 0)::bigint FROM media_uploads
                     WHERE workspace_id = $1 AND status <> 'expired'")
        .bind(ws.0)
        .fetch_one(self.conn())
        .await
        .map_err(db)?;
        Ok(get::<i64>(&row, 0)?.max(0) as u64)
    }

    async fn add_media_reader(&mut self, ws: WorkspaceId, id: UploadId, agent: &str) -> Result<()> {
        q("INSERT INTO media_readers (workspace_id, upload_id, agent_address) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING")
        .bind(ws.0)
        .bind(id.0)
        .bind(agent)
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn media_readable_by(&mut self, ws: WorkspaceId, id: UploadId, agents: &[String]) -> Result<bool> {
        let row = q("SELECT EXISTS (SELECT 1 FROM media_readers
                     WHERE workspace_id = $1 AND upload_id = $2 AND agent_address = ANY($3))")
        .bind(ws.0)
        .bind(id.0)
        .bind(agents)
        .fetch_one(self.conn())
        .await
        .map_err(db)?;
        get::<bool>(&row, 0)
    }
}
