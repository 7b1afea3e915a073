//! Media (contract §6 "Media", `api.media.*.v1.json`): the bodies of create-upload,
//! finalize-upload and get. The model and its rules are [`crate::media`].

use serde::{Deserialize, Serialize};

use super::yes;
use crate::ids::UploadId;
use crate::media::MediaStatus;
use crate::time::Timestamp;

/// Body of `POST /v1/media/create-upload` (`api.media.create_upload.request.v1.json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateUploadRequest {
    /// The owner the upload belongs to (the caller must act as it).
    pub owner_agent: String,
    /// 1 to 255 characters.
    pub filename: String,
    /// The media type, 3 to 255 characters.
    pub mime_type: String,
    /// Declared size, 1 to the server's maximum (`max_size_bytes`).
    pub size_bytes: u64,
    /// Declared SHA-256 (64 lowercase hex); the bytes sent must match it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// How long the upload stays pending: 60 to 604800 seconds, default 86400.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
}

/// `POST /v1/media/create-upload` (`api.media.create_upload.response.v1.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateUploadResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The new upload.
    pub upload_id: UploadId,
    /// Its owner.
    pub owner_agent: String,
    /// `axp-media`.
    pub bucket: String,
    /// `<workspace_id>/<upload_id>`.
    pub object_path: String,
    /// Absolute URL to `PUT` the bytes to (`…/v1/media/upload/<upload_id>`, same key).
    pub upload_url: String,
    /// `pending`.
    pub status: MediaStatus,
    /// When it expires unless finalized.
    pub expires_at: Timestamp,
    /// The server's largest upload in bytes.
    pub max_size_bytes: u64,
}

/// `PUT /v1/media/upload/{upload_id}` (an axp body; the contract calls it a raw bytes relay):
/// what was received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadBytesResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The upload.
    pub upload_id: UploadId,
    /// Bytes received.
    pub size_bytes: u64,
    /// Their SHA-256.
    pub sha256: String,
    /// `pending` (finalize next).
    pub status: MediaStatus,
}

/// Body of `POST /v1/media/finalize-upload` (`api.media.finalize_upload.request.v1.json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FinalizeUploadRequest {
    /// The upload.
    pub upload_id: UploadId,
    /// Its size; must equal the bytes received, if any.
    pub size_bytes: u64,
    /// Its SHA-256; must equal the received bytes', if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// `POST /v1/media/finalize-upload` (`api.media.finalize_upload.response.v1.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FinalizeUploadResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The upload.
    pub upload_id: UploadId,
    /// Its owner.
    pub owner_agent: String,
    /// `axp-media`.
    pub bucket: String,
    /// `<workspace_id>/<upload_id>`.
    pub object_path: String,
    /// Its media type.
    pub mime_type: String,
    /// Its size.
    pub size_bytes: u64,
    /// The bytes' SHA-256 (or the declared one when no bytes were sent).
    pub sha256: Option<String>,
    /// `ready`.
    pub status: MediaStatus,
    /// When it was finalized.
    pub finalized_at: Timestamp,
}

/// The `upload` of `GET /v1/media/{upload_id}` (`api.media.get.response.v1.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MediaView {
    /// Its id.
    pub upload_id: UploadId,
    /// Its owner.
    pub owner_agent: String,
    /// `axp-media`.
    pub bucket: String,
    /// `<workspace_id>/<upload_id>`.
    pub object_path: String,
    /// Its media type.
    pub mime_type: String,
    /// Its file name.
    pub filename: String,
    /// Declared (or finalized) size.
    pub size_bytes: u64,
    /// Declared SHA-256, or the bytes' own once finalized.
    pub sha256: Option<String>,
    /// `pending`, `ready` or `expired`.
    pub status: MediaStatus,
    /// Creation time.
    pub created_at: Timestamp,
    /// When a pending upload expires.
    pub expires_at: Timestamp,
    /// When it was finalized.
    pub finalized_at: Option<Timestamp>,
    /// Absolute `…/v1/media/download/<id>` while bytes are readable, else `null`.
    pub download_url: Option<String>,
    /// Absolute `…/v1/media/preview/<id>` while bytes are readable, else `null`.
    pub preview_url: Option<String>,
}

/// `GET /v1/media/{upload_id}` (`api.media.get.response.v1.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MediaResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The upload.
    pub upload: MediaView,
}

/// `DELETE /v1/media/{upload_id}` (axp extension): the upload and its bytes are gone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeletedUpload {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The upload.
    pub upload_id: UploadId,
    /// `true`.
    pub deleted: bool,
}
