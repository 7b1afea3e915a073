//! Media uploads (contract §6 "Media"; the rules are [`axp_core::media`]): metadata in the
//! `media_uploads` table, written in jobs; bytes in the backend's [`axp_store::MediaBlobs`],
//! outside transactions.
//!
//! Order of writes, so no acknowledged state points at missing bytes: every `PUT` writes a new
//! object, durable before the job that records it on the upload; an object is removed only
//! after the job that expired, deleted or replaced its upload committed (or when the record
//! was refused). A crash between the two leaves at worst an unreferenced object, never a
//! readable upload without its bytes. Expiry is a durable timer
//! ([`TimerKind::MediaExpiry`]) keyed by the upload id, fired by the scheduler like any other.

use axp_core::Intent;
use axp_core::Timestamp;
use axp_core::api::{AuditTarget, actions};
use axp_core::ids::{IntentId, UploadId, WorkspaceId};
use axp_core::media::{MediaConflict, MediaStatus, MediaUpload, StoredBytes, referenced_uploads};
use axp_core::timer::{Timer, TimerKind};
use axp_store::{Audit, ByteStream, Error, Metered, Result, Tenant, Topic, Transaction, UploadRefused};
use serde_json::Value;
use uuid::Uuid;

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
/// [`TimerKind::MediaExpiry`]); returns the object of its bytes, now to be removed.
pub(super) async fn expire(
    tx: &mut dyn Transaction,
    ws: WorkspaceId,
    id: UploadId,
    now: Timestamp,
) -> Result<Option<Uuid>> {
    let Some(mut upload) = tx.upload(ws, id, true).await? else { return Ok(None) };
    let (expired, dropped) = upload.expire(now);
    if expired {
        tx.update_upload(ws, &upload).await?;
    }
    Ok(dropped.map(|bytes| bytes.object_id))
}

impl Ledger {
    /// Removes objects no upload records any more; a failure is logged (the bytes are
    /// unreachable either way).
    pub(super) async fn remove_bytes(&self, gone: &[(WorkspaceId, Uuid)]) {
        for (ws, object) in gone {
            if let Err(e) = self.backend.media().delete(*ws, *object).await {
                tracing::warn!(%object, error = %e, "could not remove the bytes of an expired, deleted or replaced upload");
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
        let (body, reading) = Metered::wrap(body, limit);
        let object = Uuid::new_v4();
        if let Err(e) = self.backend.media().put(ws, object, body).await {
            return if reading.over_limit() { Ok(Err(UploadRefused::TooLarge { limit })) } else { Err(e) };
        }
        let recorded = self
            .write((ws, id, reading.stored(object)), |(ws, id, bytes), tx| {
                Box::pin(async move {
                    let Some(mut upload) = tx.upload(*ws, *id, true).await? else {
                        return Err(Error::NotFound);
                    };
                    if let Err(refused) = upload.check_received(bytes) {
                        return Ok(Err(refused));
                    }
                    let replaced = upload.stored.replace(bytes.clone());
                    tx.update_upload(*ws, &upload).await?;
                    Ok(Ok((bytes.clone(), replaced)))
                })
            })
            .await;
        let (stored, replaced) = match recorded {
            Ok(Ok(done)) => done,
            Ok(Err(refused)) => {
                self.remove_bytes(&[(ws, object)]).await;
                return Ok(Err(UploadRefused::Conflict(refused)));
            }
            Err(e) => {
                self.remove_bytes(&[(ws, object)]).await;
                return Err(e);
            }
        };
        if let Some(old) = replaced {
            self.remove_bytes(&[(ws, old.object_id)]).await;
        }
        Ok(Ok(stored))
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
        match upload.stored.filter(|_| upload.status != MediaStatus::Expired) {
            Some(bytes) => self.backend.media().open(tenant.workspace_id, bytes.object_id).await,
            None => Ok(None),
        }
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
        if let Some(bytes) = &deleted.stored {
            self.remove_bytes(&[(tenant.workspace_id, bytes.object_id)]).await;
        }
        Ok(deleted)
    }
}
