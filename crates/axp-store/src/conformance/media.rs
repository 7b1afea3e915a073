//! Media uploads: metadata, bytes through the backend's media storage (several chunks' worth,
//! streamed), the size limit, finalize checks, expiry by timer, deletion, and readers granted
//! by an intent's payload reference.

use axp_core::ids::{IntentId, UploadId};
use axp_core::intent::NewIntent;
use axp_core::media::{MediaConflict, MediaStatus, MediaUpload};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{T0, address, by, obj, tenant};
use crate::{ByteStream, Error, Principal, Store, UploadRefused};

/// 2.5 MiB: more than two chunks of the PostgreSQL backend.
const SIZE: usize = 5 << 19;

fn upload(p: &Principal, owner: &str, size: u64, sha256: Option<String>) -> MediaUpload {
    let id = UploadId::new();
    MediaUpload {
        upload_id: id,
        owner_agent: owner.to_owned(),
        filename: "report.bin".into(),
        mime_type: "application/octet-stream".into(),
        size_bytes: size,
        sha256,
        object_path: format!("{}/{id}", p.tenant.workspace_id),
        status: MediaStatus::Pending,
        created_at: T0,
        expires_at: T0.plus_seconds(60),
        finalized_at: None,
        stored: None,
    }
}

/// `data` as a body of 64 KiB pieces.
fn body(data: &[u8]) -> ByteStream {
    let pieces: Vec<_> = data.chunks(64 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    stream::iter(pieces).boxed()
}

async fn read_all(store: &dyn Store, p: &Principal, id: UploadId) -> Option<Vec<u8>> {
    let bytes = store.open_upload_bytes(&p.tenant, id).await.unwrap()?;
    let chunks: Vec<Bytes> = bytes.try_collect().await.expect("the bytes read back");
    Some(chunks.concat())
}

/// Create, bytes round trip with their SHA-256, the limit, finalize checks, deletion; another
/// workspace sees nothing.
pub async fn uploads(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (q, _) = tenant(store).await;
    let owner = p.agent_address.to_string();
    let data: Vec<u8> = (0..SIZE).map(|i| (i * 7 % 251) as u8).collect();
    let sha = hex::encode(Sha256::digest(&data));
    let created = store.create_upload(&p.tenant, upload(&p, &owner, SIZE as u64, None)).await.unwrap();
    let id = created.upload_id;
    assert_eq!(store.get_upload(&p.tenant, id).await.unwrap(), created);
    assert!(matches!(store.get_upload(&q.tenant, id).await, Err(Error::NotFound)));
    assert_eq!(read_all(store, &p, id).await, None, "no bytes yet");

    let stored = store.put_upload_bytes(&p.tenant, id, body(&data), SIZE as u64).await.unwrap().unwrap();
    assert_eq!((stored.size_bytes, stored.sha256.as_str()), (SIZE as u64, sha.as_str()));
    assert_eq!(read_all(store, &p, id).await.as_deref(), Some(data.as_slice()));
    assert!(matches!(store.put_upload_bytes(&q.tenant, id, body(b"x"), 1).await, Err(Error::NotFound)));

    let over = store.put_upload_bytes(&p.tenant, id, body(&[1; 2000]), 1000).await.unwrap();
    assert_eq!(over, Err(UploadRefused::TooLarge { limit: 1000 }));
    assert_eq!(read_all(store, &p, id).await.as_deref(), Some(data.as_slice()), "earlier bytes kept");

    let mismatch = store.finalize_upload(&p.tenant, id, 5, None, T0.plus_seconds(1)).await.unwrap();
    assert!(matches!(mismatch, Err(MediaConflict::SizeMismatch { .. })), "{mismatch:?}");
    let wrong = Some("0".repeat(64));
    let mismatch =
        store.finalize_upload(&p.tenant, id, SIZE as u64, wrong, T0.plus_seconds(1)).await.unwrap();
    assert!(matches!(mismatch, Err(MediaConflict::HashMismatch { .. })), "{mismatch:?}");
    assert_eq!(
        store.get_upload(&p.tenant, id).await.unwrap().status,
        MediaStatus::Pending,
        "nothing changed"
    );
    let ready = store
        .finalize_upload(&p.tenant, id, SIZE as u64, Some(sha.clone()), T0.plus_seconds(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((ready.status, ready.sha256.as_deref()), (MediaStatus::Ready, Some(sha.as_str())));
    assert_eq!(ready.finalized_at, Some(T0.plus_seconds(2)));
    let late = store.put_upload_bytes(&p.tenant, id, body(b"abc"), 3).await.unwrap();
    assert_eq!(late, Err(UploadRefused::Conflict(MediaConflict::NotPending(MediaStatus::Ready))));
    assert_eq!(read_all(store, &p, id).await.as_deref(), Some(data.as_slice()));

    let declared = hex::encode(Sha256::digest(b"expected"));
    let other = store.create_upload(&p.tenant, upload(&p, &owner, 8, Some(declared))).await.unwrap();
    let refused = store.put_upload_bytes(&p.tenant, other.upload_id, body(b"otherwise"), 9).await.unwrap();
    assert!(
        matches!(refused, Err(UploadRefused::Conflict(MediaConflict::HashMismatch { .. }))),
        "{refused:?}"
    );
    assert_eq!(read_all(store, &p, other.upload_id).await, None, "refused bytes are not kept");
    let no_bytes = store.finalize_upload(&p.tenant, other.upload_id, 8, None, T0).await.unwrap().unwrap();
    assert_eq!(no_bytes.status, MediaStatus::Ready, "finalize without bytes succeeds");
    assert_eq!(store.media_bytes_stored(&p.tenant).await.unwrap(), SIZE as u64 + 8);
    assert_eq!(store.media_bytes_stored(&q.tenant).await.unwrap(), 0);

    assert!(matches!(store.delete_upload(&q.tenant, id, T0, &by()).await, Err(Error::NotFound)));
    let deleted = store.delete_upload(&p.tenant, id, T0, &by()).await.unwrap();
    assert_eq!(deleted.upload_id, id);
    assert!(matches!(store.get_upload(&p.tenant, id).await, Err(Error::NotFound)));
    assert!(matches!(store.open_upload_bytes(&p.tenant, id).await, Err(Error::NotFound)));
    assert_eq!(store.media_bytes_stored(&p.tenant).await.unwrap(), 8);
}

/// A pending upload expires when its timer fires (its bytes go); a finalized one does not.
pub async fn expiry(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let owner = p.agent_address.to_string();
    let pending = store.create_upload(&p.tenant, upload(&p, &owner, 3, None)).await.unwrap();
    store.put_upload_bytes(&p.tenant, pending.upload_id, body(b"abc"), 3).await.unwrap().unwrap();
    let finalized = store.create_upload(&p.tenant, upload(&p, &owner, 3, None)).await.unwrap();
    store
        .finalize_upload(&p.tenant, finalized.upload_id, 3, None, T0.plus_seconds(1))
        .await
        .unwrap()
        .unwrap();
    assert!(store.next_timer_due().await.unwrap().is_some_and(|t| t <= T0.plus_seconds(60)));

    store.fire_due_timers(T0.plus_seconds(59), 10_000).await.unwrap();
    assert_eq!(store.get_upload(&p.tenant, pending.upload_id).await.unwrap().status, MediaStatus::Pending);
    store.fire_due_timers(T0.plus_seconds(60), 10_000).await.unwrap();
    let expired = store.get_upload(&p.tenant, pending.upload_id).await.unwrap();
    assert_eq!((expired.status, expired.stored), (MediaStatus::Expired, None));
    assert_eq!(read_all(store, &p, pending.upload_id).await, None, "the bytes are gone");
    let late =
        store.finalize_upload(&p.tenant, pending.upload_id, 3, None, T0.plus_seconds(61)).await.unwrap();
    assert_eq!(late, Err(MediaConflict::NotPending(MediaStatus::Expired)));
    assert_eq!(store.get_upload(&p.tenant, finalized.upload_id).await.unwrap().status, MediaStatus::Ready);
    assert_eq!(store.media_bytes_stored(&p.tenant).await.unwrap(), 3, "expired uploads count no more");
}

/// An intent whose payload references an upload its sender owns lets its receiving agent read
/// it; a reference to someone else's upload grants nothing.
pub async fn references(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let owner = p.agent_address.to_string();
    let mine = store.create_upload(&p.tenant, upload(&p, &owner, 3, None)).await.unwrap();
    let theirs = store.create_upload(&p.tenant, upload(&p, "agent://someone/else", 3, None)).await.unwrap();
    let to = address(&p, "receiver");
    let payload = json!({
        "attachment": {"upload_id": mine.upload_id.to_string()},
        "more": [{"upload_id": theirs.upload_id.to_string()}],
    });
    let (intent, events) = NewIntent::new("notify.message.v1", to.clone(), obj(payload)).into_intent(
        IntentId::new(),
        &p.agent_address,
        T0,
    );
    store.create_intent(&p.tenant, intent, events, None).await.unwrap();
    let receiver = vec![to.to_string()];
    assert!(store.upload_readable_by(&p.tenant, mine.upload_id, receiver.clone()).await.unwrap());
    assert!(!store.upload_readable_by(&p.tenant, theirs.upload_id, receiver).await.unwrap());
    let stranger = vec![address(&p, "stranger").to_string()];
    assert!(!store.upload_readable_by(&p.tenant, mine.upload_id, stranger).await.unwrap());
}
