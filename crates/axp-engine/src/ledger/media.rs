//! Media uploads (contract §6 "Media"; the rules are [`axp_core::media`]): metadata in the
//! `media_uploads` table, written in jobs; bytes in the backend's [`axp_store::MediaBlobs`],
//! outside transactions.
//!
//! Order of writes, so no acknowledged state points at missing bytes: bytes are stored (and
//! durable) before the job that records them on the upload; bytes are removed only after the
//! job that expired or deleted their upload committed. A crash between the two leaves at worst
//! unreferenced bytes, never a readable upload without them. Expiry is a durable timer
//! ([`TimerKind::MediaExpiry`]) keyed by the upload id, fired by the scheduler like any other.

use axp_core::Intent;
use axp_core::Timestamp;
use axp_core::api::{AuditTarget, actions};
use axp_core::ids::{IntentId, UploadId, WorkspaceId};
use axp_core::media::{MediaConflict, MediaStatus, MediaUpload, StoredBytes, referenced_uploads};
use axp_core::timer::{Timer, TimerKind};
use axp_store::{Audit, ByteStream, Error, Metered, Result, Tenant, Topic, Transaction, UploadRefused};
use serde_json::Value;

use super::Ledger;
use super::audit::{At, details, record};

/// The timer row of an upload's expiry: keyed by the upload's id in the intent-id column.
fn timer_key(id: UploadId) -> IntentId {
    IntentId(id.0)
}

/// Lets `intent`'s receiving agent read every upload its payload references that its sender
/// owns (see [`axp_core::media`]); other references are ignored.
pub(super) async fn grant_references(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    intent: &Intent,
) -> Result<()> {
    for id in referenced_uploads(&intent.payload) {
        if let Some(upload) = tx.upload(ws, id, false).await?
            && upload.owner_agent == intent.from_agent
        {
            tx.add_media_reader(ws, id, &intent.to_agent).await?;
        }
    }
    Ok(())
}

/// Expires upload `id` if it is still pending and due at `now` (a fired
/// [`TimerKind::MediaExpiry`]); returns whether its bytes are now to be removed.
pub(super) async fn expire(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    id: UploadId,
    now: Timestamp,
) -> Result<bool> {
    let Some(mut upload) = tx.upload(ws, id, true).await? else { return Ok(false) };
    let had_bytes = upload.stored.is_some();
    if !upload.expire(now) {
        return Ok(false);
    }
    tx.update_upload(ws, &upload).await?;
    Ok(had_bytes)
}

impl Ledger {
    /// Removes the bytes of uploads whose expiry or deletion committed; a failure is logged
    /// (the bytes are unreachable either way).
    pub(super) async fn remove_bytes(&self, gone: &[(WorkspaceId, UploadId)]) {
        for (ws, id) in gone {
            if let Err(e) = self.backend.media().delete(*ws, *id).await {
                tracing::warn!(upload = %id, error = %e, "could not remove the bytes of an expired or deleted upload");
            }
        }
    }

    pub(super) async fn create_upload(&self, tenant: &Tenant, upload: MediaUpload) -> Result<MediaUpload> {
        self.write((tenant.workspace_id, upload), |(ws, upload), tx| {
            Box::pin(async move {
                tx.insert_upload(*ws, upload).await?;
                let timer = Timer { kind: TimerKind::MediaExpiry, due_at: upload.expires_at };
                tx.schedule(*ws, timer_key(upload.upload_id), &[timer]).await?;
                tx.announce(Topic::Timers);
                Ok(upload.clone())
            })
        })
        .await
    }

    pub(super) async fn get_upload(&self, tenant: &Tenant, id: UploadId) -> Result<MediaUpload> {
        self.read((tenant.workspace_id, id), |(ws, id), tx| {
            Box::pin(async move { tx.upload(*ws, *id, false).await?.ok_or(Error::NotFound) })
        })
        .await
    }

    pub(super) async fn upload_readable_by(
        &self,
        tenant: &Tenant,
        id: UploadId,
        agents: Vec<String>,
    ) -> Result<bool> {
        self.read((tenant.workspace_id, id, agents), |(ws, id, agents), tx| {
            Box::pin(tx.media_readable_by(*ws, *id, agents))
        })
        .await
    }

    pub(super) async fn media_bytes_stored(&self, tenant: &Tenant) -> Result<u64> {
        self.read(tenant.workspace_id, |ws, tx| Box::pin(tx.media_bytes_stored(*ws))).await
    }

    pub(super) async fn put_upload_bytes(
        &self,
        tenant: &Tenant,
        id: UploadId,
        body: ByteStream,
        limit: u64,
    ) -> Result<std::result::Result<StoredBytes, UploadRefused>> {
        let ws = tenant.workspace_id;
        let upload = self.get_upload(tenant, id).await?;
        if upload.status != MediaStatus::Pending {
            return Ok(Err(UploadRefused::Conflict(MediaConflict::NotPending(upload.status))));
        }
        let (body, reading) = Metered::new(body, limit);
        if let Err(e) = self.backend.media().put(ws, id, body).await {
            return if reading.over_limit() { Ok(Err(UploadRefused::TooLarge { limit })) } else { Err(e) };
        }
        let bytes = reading.stored();
        let recorded = self
            .write((ws, id, bytes), |(ws, id, bytes), tx| {
                Box::pin(async move {
                    let Some(mut upload) = tx.upload(*ws, *id, true).await? else {
                        return Err(Error::NotFound);
                    };
                    if let Err(refused) = upload.check_received(bytes) {
                        return Ok(Err(refused));
                    }
                    upload.stored = Some(bytes.clone());
                    tx.update_upload(*ws, &upload).await?;
                    Ok(Ok(bytes.clone()))
                })
            })
            .await;
        if !matches!(recorded, Ok(Ok(_))) {
            self.remove_bytes(&[(ws, id)]).await;
        }
        Ok(recorded?.map_err(UploadRefused::Conflict))
    }

    pub(super) async fn finalize_upload(
        &self,
        tenant: &Tenant,
        id: UploadId,
        size_bytes: u64,
        sha256: Option<String>,
        now: Timestamp,
    ) -> Result<std::result::Result<MediaUpload, MediaConflict>> {
        self.write((tenant.workspace_id, id, size_bytes, sha256, now), |(ws, id, size, sha, now), tx| {
            Box::pin(async move {
                let mut upload = tx.upload(*ws, *id, true).await?.ok_or(Error::NotFound)?;
                if let Err(refused) = upload.finalize(*size, sha.as_deref(), *now) {
                    return Ok(Err(refused));
                }
                tx.update_upload(*ws, &upload).await?;
                tx.clear_timers(*ws, timer_key(*id)).await?;
                Ok(Ok(upload))
            })
        })
        .await
    }

    pub(super) async fn open_upload_bytes(
        &self,
        tenant: &Tenant,
        id: UploadId,
    ) -> Result<Option<ByteStream>> {
        let upload = self.get_upload(tenant, id).await?;
        if !upload.has_bytes() {
            return Ok(None);
        }
        self.backend.media().open(tenant.workspace_id, id).await
    }

    pub(super) async fn delete_upload(
        &self,
        tenant: &Tenant,
        id: UploadId,
        now: Timestamp,
        by: &Audit,
    ) -> Result<MediaUpload> {
        let deleted = self
            .write((tenant.clone(), id, now, by.clone()), |(tenant, id, now, by), tx| {
                Box::pin(async move {
                    let ws = tenant.workspace_id;
                    let upload = tx.upload(ws, *id, true).await?.ok_or(Error::NotFound)?;
                    tx.delete_upload(ws, *id).await?;
                    tx.clear_timers(ws, timer_key(*id)).await?;
                    let fields = details([
                        ("owner_agent", Value::String(upload.owner_agent.clone())),
                        ("size_bytes", Value::from(upload.size_bytes)),
                    ]);
                    let target = AuditTarget::new("media_upload", *id);
                    record(tx, by, At::tenant(tenant, *now), actions::MEDIA_DELETED, target, fields).await?;
                    Ok(upload)
                })
            })
            .await?;
        self.remove_bytes(&[(tenant.workspace_id, id)]).await;
        Ok(deleted)
    }
}
