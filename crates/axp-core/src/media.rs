//! Media uploads (contract §6 "Media", `api.media.*.v1.json`): an owner declares a file
//! (`create-upload`), sends its bytes (`PUT /v1/media/upload/{id}`), and finalizes it; then it
//! can be read, downloaded and previewed until it is deleted. A pending upload expires at
//! `expires_at` (a durable timer): it becomes `expired` and its bytes are removed.
//!
//! The rules here are pure: the statuses and their changes, the checks of a finalize against
//! the bytes received, and which uploads an intent's payload references. No storage, no HTTP.
//!
//! **Payload references** (an axp decision; the contract names none): any JSON object inside an
//! intent's payload, at any depth, with a string member `"upload_id": "<uuid>"` references that
//! upload, e.g. `{"attachment": {"upload_id": "0190…", "filename": "contract.pdf"}}`. When the
//! intent is created, its receiving agent (`to_agent`) may read and download each referenced
//! upload that its sender (`from_agent`) owns, even with an agent-scoped key.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::address::AddressScope;
use crate::api::{CreateUploadRequest, FinalizeUploadRequest};
use crate::ids::UploadId;
use crate::time::Timestamp;
use crate::validate::{Fields, Invalid};

/// Largest upload unless the server is configured otherwise (`AXP_MEDIA_MAX_BYTES`): 100 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 100 << 20;

/// How long a pending upload waits for its finalize unless `ttl_seconds` says otherwise: 1 day.
pub const DEFAULT_TTL_SECONDS: u64 = 86_400;

/// `ttl_seconds` bounds of `api.media.create_upload.request.v1.json`.
pub const TTL_SECONDS: std::ops::RangeInclusive<u64> = 60..=604_800;

/// `size_bytes` upper bound of the request schemas (2 GiB).
pub const SCHEMA_MAX_BYTES: u64 = 2_147_483_648;

/// The `bucket` every upload of this server reports (bytes live in the store, not a bucket).
pub const BUCKET: &str = "axp-media";

/// Where an upload stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MediaStatus {
    /// Declared; bytes may be sent; expires at `expires_at` unless finalized.
    Pending,
    /// Finalized: readable until deleted.
    Ready,
    /// Not finalized in time; its bytes are gone.
    Expired,
}

impl MediaStatus {
    /// The wire name (`pending`, `ready`, `expired`), as serde writes it; also the stores'
    /// `media_uploads.status` column.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ready => "ready",
            Self::Expired => "expired",
        }
    }
}

/// The bytes received for an upload: their count and SHA-256 (lowercase hex), and the object
/// that holds them. Every `PUT` writes a new object, so a refused or cut-off one never touches
/// the bytes already recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredBytes {
    /// Bytes received.
    pub size_bytes: u64,
    /// Their SHA-256, 64 lowercase hex digits.
    pub sha256: String,
    /// The object holding them in the backend's media storage.
    pub object_id: Uuid,
}

/// An upload as stored: its declaration, status and the bytes received (if any).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MediaUpload {
    /// Its id.
    pub upload_id: UploadId,
    /// The owner it was declared for (§1.2 owner scope).
    pub owner_agent: String,
    /// The file name, 1 to 255 characters.
    pub filename: String,
    /// The media type, e.g. `application/pdf`.
    pub mime_type: String,
    /// Declared size in bytes (after finalize: the size finalized).
    pub size_bytes: u64,
    /// Declared SHA-256 (after finalize: the bytes' own, when bytes were received).
    pub sha256: Option<String>,
    /// `<workspace_id>/<upload_id>`: where its bytes are kept.
    pub object_path: String,
    /// Where it stands.
    pub status: MediaStatus,
    /// Creation time.
    pub created_at: Timestamp,
    /// When a pending upload expires.
    pub expires_at: Timestamp,
    /// When it was finalized.
    pub finalized_at: Option<Timestamp>,
    /// The bytes received, once `PUT` completed.
    pub stored: Option<StoredBytes>,
}

/// Why a change to an upload was refused (the server answers 409).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MediaConflict {
    /// The upload is not pending (already finalized, or expired).
    #[error("the upload is {0:?}, not pending")]
    NotPending(MediaStatus),
    /// The finalize's `size_bytes` differs from the bytes received.
    #[error("size_bytes {declared} differs from the {received} bytes received")]
    SizeMismatch {
        /// As finalized.
        declared: u64,
        /// As received.
        received: u64,
    },
    /// A declared `sha256` differs from the bytes' own.
    #[error("sha256 {declared} differs from the received bytes' {received}")]
    HashMismatch {
        /// As declared.
        declared: String,
        /// As computed over the bytes.
        received: String,
    },
}

impl MediaUpload {
    /// Whether its bytes may be read: received, and not expired.
    pub fn has_bytes(&self) -> bool {
        self.stored.is_some() && self.status != MediaStatus::Expired
    }

    /// Checks bytes just received against the declaration: the upload must be pending and a
    /// declared `sha256` must match. (The size was capped while streaming.)
    pub fn check_received(&self, bytes: &StoredBytes) -> Result<(), MediaConflict> {
        if self.status != MediaStatus::Pending {
            return Err(MediaConflict::NotPending(self.status));
        }
        match &self.sha256 {
            Some(declared) if *declared != bytes.sha256 => Err(MediaConflict::HashMismatch {
                declared: declared.clone(),
                received: bytes.sha256.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Finalizes with `size_bytes` and an optional `sha256` at `now`. Without received bytes
    /// it always succeeds (the conformance suite finalizes right after create: contract §9
    /// C15); with bytes, both must match them. Finalizing a ready upload again with matching
    /// values changes nothing. Errors: [`MediaConflict`].
    pub fn finalize(
        &mut self,
        size_bytes: u64,
        sha256: Option<&str>,
        now: Timestamp,
    ) -> Result<(), MediaConflict> {
        if let Some(bytes) = &self.stored {
            if bytes.size_bytes != size_bytes {
                return Err(MediaConflict::SizeMismatch { declared: size_bytes, received: bytes.size_bytes });
            }
            if let Some(declared) = sha256.filter(|d| *d != bytes.sha256) {
                return Err(MediaConflict::HashMismatch {
                    declared: declared.to_owned(),
                    received: bytes.sha256.clone(),
                });
            }
        }
        match self.status {
            MediaStatus::Ready if self.size_bytes == size_bytes => return Ok(()),
            MediaStatus::Pending => {}
            other => return Err(MediaConflict::NotPending(other)),
        }
        self.status = MediaStatus::Ready;
        self.size_bytes = size_bytes;
        self.sha256 = match &self.stored {
            Some(bytes) => Some(bytes.sha256.clone()),
            None => sha256.map(str::to_owned).or_else(|| self.sha256.take()),
        };
        self.finalized_at = Some(now);
        Ok(())
    }

    /// Expires a pending upload whose `expires_at` passed at `now`; returns whether it did and
    /// the bytes it dropped (to remove once that is recorded).
    pub fn expire(&mut self, now: Timestamp) -> (bool, Option<StoredBytes>) {
        if self.status != MediaStatus::Pending || self.expires_at > now {
            return (false, None);
        }
        self.status = MediaStatus::Expired;
        (true, self.stored.take())
    }
}

/// A `size_bytes` of the request schemas: 1 to [`SCHEMA_MAX_BYTES`].
fn size_bytes(f: &mut Fields<'_>, required: bool) -> Option<u64> {
    let size = f.u64("size_bytes", &[]);
    match size {
        None if required && f.get("size_bytes", &[]).is_none() => {
            f.fail("size_bytes", "missing", "size_bytes is required");
            None
        }
        Some(n) if !(1..=SCHEMA_MAX_BYTES).contains(&n) => {
            f.fail("size_bytes", "value_error", format!("must be 1 to {SCHEMA_MAX_BYTES}"));
            None
        }
        other => other,
    }
}

/// An optional `sha256`: 64 lowercase hex digits.
fn sha256(f: &mut Fields<'_>) -> Option<String> {
    let sha = f.string("sha256", &[], false)?;
    if sha.len() != 64 || !sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        f.fail("sha256", "value_error", "must be 64 lowercase hex digits");
        return None;
    }
    Some(sha)
}

/// Validates the body of `POST /v1/media/create-upload`
/// (`api.media.create_upload.request.v1.json`; `owner_agent` normalised against `scope`).
/// Errors: 422 naming every invalid field. The server's own maximum size is checked after
/// (413).
pub fn create_request(
    body: &Map<String, Value>,
    scope: &AddressScope<'_>,
) -> Result<CreateUploadRequest, Invalid> {
    let mut f = Fields::new(body);
    let owner = f.address("owner_agent", &[], true, scope);
    let filename = f.bounded_string("filename", &[], true, 1, 255);
    let mime_type = f.bounded_string("mime_type", &[], true, 3, 255);
    let size = size_bytes(&mut f, true);
    let sha256 = sha256(&mut f);
    let ttl = f.u64("ttl_seconds", &[]);
    if ttl.is_some_and(|t| !TTL_SECONDS.contains(&t)) {
        f.fail("ttl_seconds", "value_error", "must be 60 to 604800");
    }
    let request = match (owner, filename, mime_type, size) {
        (Some(owner), Some(filename), Some(mime_type), Some(size_bytes)) => Some(CreateUploadRequest {
            owner_agent: owner.into_string(),
            filename,
            mime_type,
            size_bytes,
            sha256,
            ttl_seconds: ttl,
        }),
        _ => None,
    };
    f.finish(request).map(|r| r.expect("every required field was read when no field failed"))
}

/// Validates the body of `POST /v1/media/finalize-upload`
/// (`api.media.finalize_upload.request.v1.json`). Errors: 422 naming every invalid field.
pub fn finalize_request(body: &Map<String, Value>) -> Result<FinalizeUploadRequest, Invalid> {
    let mut f = Fields::new(body);
    if f.get("upload_id", &[]).is_none() {
        f.fail("upload_id", "missing", "upload_id is required");
    }
    let id = f.uuid("upload_id", &[]);
    let size = size_bytes(&mut f, true);
    let sha256 = sha256(&mut f);
    let request = match (id, size) {
        (Some(id), Some(size_bytes)) => {
            Some(FinalizeUploadRequest { upload_id: UploadId(id), size_bytes, sha256 })
        }
        _ => None,
    };
    f.finish(request).map(|r| r.expect("every required field was read when no field failed"))
}

/// Every upload id referenced in `payload` (see the module doc), each once, in order met.
pub fn referenced_uploads(payload: &Map<String, Value>) -> Vec<UploadId> {
    fn walk(value: &Value, out: &mut Vec<UploadId>) {
        match value {
            Value::Object(map) => {
                if let Some(id) = map.get("upload_id").and_then(Value::as_str).and_then(|s| s.parse().ok())
                    && !out.contains(&id)
                {
                    out.push(id);
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    payload.values().for_each(|v| walk(v, &mut out));
    out
}

/// A `filename` safe inside a quoted `Content-Disposition` parameter: ASCII letters, digits
/// and `.-_ ` kept, anything else `_`.
pub fn disposition_filename(filename: &str) -> String {
    filename.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_ ".contains(c) { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_status_column_name_is_its_wire_name() {
        for status in [MediaStatus::Pending, MediaStatus::Ready, MediaStatus::Expired] {
            assert_eq!(serde_json::to_value(status).unwrap(), json!(status.as_str()));
        }
    }

    fn upload(stored: Option<StoredBytes>) -> MediaUpload {
        MediaUpload {
            upload_id: UploadId::new(),
            owner_agent: "agent://a".into(),
            filename: "f.pdf".into(),
            mime_type: "application/pdf".into(),
            size_bytes: 3,
            sha256: None,
            object_path: "w/u".into(),
            status: MediaStatus::Pending,
            created_at: Timestamp::from_millis(0),
            expires_at: Timestamp::from_millis(60_000),
            finalized_at: None,
            stored,
        }
    }

    #[test]
    fn finalize_without_bytes_succeeds_and_with_bytes_checks_them() {
        let now = Timestamp::from_millis(1);
        let mut u = upload(None);
        u.finalize(12345, None, now).unwrap();
        assert_eq!((u.status, u.size_bytes, u.finalized_at), (MediaStatus::Ready, 12345, Some(now)));
        let bytes = StoredBytes { size_bytes: 3, sha256: "ab".repeat(32), object_id: Uuid::new_v4() };
        let mut u = upload(Some(bytes.clone()));
        assert!(matches!(u.finalize(4, None, now), Err(MediaConflict::SizeMismatch { .. })));
        assert!(matches!(
            u.finalize(3, Some(&"cd".repeat(32)), now),
            Err(MediaConflict::HashMismatch { .. })
        ));
        u.finalize(3, Some(&bytes.sha256), now).unwrap();
        assert_eq!(u.sha256.as_deref(), Some(bytes.sha256.as_str()));
        u.finalize(3, None, now).unwrap();
        u.status = MediaStatus::Expired;
        assert!(matches!(u.finalize(3, None, now), Err(MediaConflict::NotPending(MediaStatus::Expired))));
    }

    #[test]
    fn expiry_only_of_pending_uploads_past_their_time() {
        let bytes = StoredBytes { size_bytes: 3, sha256: "ab".repeat(32), object_id: Uuid::new_v4() };
        let mut u = upload(Some(bytes.clone()));
        assert_eq!(u.expire(Timestamp::from_millis(59_999)), (false, None));
        assert_eq!(u.expire(Timestamp::from_millis(60_000)), (true, Some(bytes)));
        assert_eq!((u.status, u.stored.is_none()), (MediaStatus::Expired, true));
        let mut ready = upload(None);
        ready.finalize(3, None, Timestamp::from_millis(1)).unwrap();
        assert_eq!(ready.expire(Timestamp::from_millis(90_000)), (false, None));
    }

    #[test]
    fn references_are_found_at_any_depth_once() {
        let (a, b) = (UploadId::new(), UploadId::new());
        let payload = json!({
            "attachment": {"upload_id": a.to_string()},
            "list": [{"upload_id": b.to_string()}, {"upload_id": a.to_string()}, {"upload_id": "nope"}],
            "upload_id": 7,
        });
        assert_eq!(referenced_uploads(payload.as_object().unwrap()), vec![a, b]);
    }

    #[test]
    fn requests_are_validated_against_the_schemas() {
        let scope = AddressScope { org_slug: "default", workspace_slug: "default" };
        let ok = json!({"owner_agent": "agent://o", "filename": "a.pdf", "mime_type": "application/pdf", "size_bytes": 5});
        let r = create_request(ok.as_object().unwrap(), &scope).unwrap();
        assert_eq!((r.size_bytes, r.ttl_seconds), (5, None));
        let bad = json!({"owner_agent": "agent://o", "filename": "", "mime_type": "x", "size_bytes": 0,
                         "sha256": "ABC", "ttl_seconds": 5});
        let e = create_request(bad.as_object().unwrap(), &scope).unwrap_err();
        assert_eq!(e.errors.len(), 5, "{e:?}");
        assert!(finalize_request(json!({"size_bytes": 1}).as_object().unwrap()).is_err());
        let id = UploadId::new();
        let r = finalize_request(json!({"upload_id": id.to_string(), "size_bytes": 9}).as_object().unwrap())
            .unwrap();
        assert_eq!((r.upload_id, r.size_bytes), (id, 9));
    }

    #[test]
    fn disposition_filenames_are_quoted_safe() {
        assert_eq!(disposition_filename("a \"b\";c.pdf"), "a _b__c.pdf");
    }
}
