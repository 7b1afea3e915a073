//! Media (contract §6 "Media", `api.media.*.v1.json`; the rules are [`axp_core::media`]):
//! create an upload, `PUT` its bytes, finalize it, read it, download or preview its bytes, and
//! (axp extension) delete it.
//!
//! Access (`docs/access.md`, "media"): creating, sending bytes, finalizing and deleting need to
//! act as the upload's owner (§1.2); reading and downloading are open to whoever reads for the
//! owner (a role, or the owner's own key) and to the receiving agent of an intent whose payload
//! referenced the upload ([`axp_core::media`]). Anyone else of the workspace gets 404, as does
//! every other workspace.
//!
//! Big uploads: the bytes stream to the store as they arrive (never whole in memory), counted,
//! hashed and cut off past the declared size ([`axp_store::Metered`]) with 413; the listener
//! gives `PUT /v1/media/upload/…` a body deadline scaled to its `Content-Length`
//! (`listener::body::upload_deadline`), and the route has no JSON body limit.

use axp_core::ErrorCode;
use axp_core::api::{
    CreateUploadRequest, CreateUploadResponse, DeletedUpload, FinalizeUploadRequest, FinalizeUploadResponse,
    MediaResponse, MediaView, UploadBytesResponse,
};
use axp_core::ids::UploadId;
use axp_core::media::{self, BUCKET, DEFAULT_TTL_SECONDS, MediaConflict, MediaStatus, MediaUpload};
use axp_core::quota::{Dimension, Verdict};
use axp_store::{Tenant, UploadRefused};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use futures::TryStreamExt;
use serde_json::json;

use crate::admission::exceeded;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonObject, PathParams};
use crate::state::AppState;

/// `http(s)://<host>` of the request, from its `Host` (and `x-forwarded-proto`): the base of
/// the absolute URLs responses hand out.
pub(super) fn public_base(headers: &HeaderMap) -> String {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty());
    let scheme = value("x-forwarded-proto").filter(|p| *p == "https").unwrap_or("http");
    let host = value(header::HOST.as_str()).unwrap_or("localhost");
    format!("{scheme}://{host}")
}

fn upload_id(raw: &str) -> ApiResult<UploadId> {
    raw.parse().map_err(|_| ApiError::not_found("upload"))
}

/// 409 `invalid_state_transition` for a refused change, with `details.reason`.
fn conflict(refused: MediaConflict) -> ApiError {
    let reason = match &refused {
        MediaConflict::NotPending(_) => "not_pending",
        MediaConflict::SizeMismatch { .. } => "size_mismatch",
        MediaConflict::HashMismatch { .. } => "sha256_mismatch",
    };
    ApiError::new(ErrorCode::InvalidStateTransition, refused.to_string())
        .with_details(json!({"reason": reason}))
}

fn too_large(size: u64, max: u64) -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, format!("{size} bytes is more than the {max} allowed"))
        .with_details(json!({"max_size_bytes": max}))
}

fn too_large_body(limit: u64) -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, format!("the body is longer than the {limit} bytes declared"))
        .with_details(json!({"max_size_bytes": limit}))
}

/// 429 `quota_exceeded` unless `amount` more bytes fit `dimension` of `tenant`'s policy, with
/// `used` counted.
async fn check_quota(
    state: &AppState,
    tenant: &Tenant,
    dimension: Dimension,
    used: u64,
    amount: u64,
) -> ApiResult<()> {
    let policy = state.meter.policy(tenant).await?;
    match policy.verdict(dimension, (used + amount).saturating_sub(1)) {
        Verdict::Block => Err(exceeded(&policy, dimension, used, state.clock.now())),
        Verdict::Allow | Verdict::Warn(_) => Ok(()),
    }
}

/// 429 unless `size` more bytes fit today's `media_upload_bytes_per_day`.
async fn check_daily_bytes(state: &AppState, tenant: &Tenant, size: u64) -> ApiResult<()> {
    let dimension = Dimension::MediaUploadBytesPerDay;
    let used = state.meter.used_today(tenant, dimension, state.clock.now()).await?;
    check_quota(state, tenant, dimension, used, size).await
}

/// The upload `id` if the caller may read it (see the module doc), else 404.
async fn readable(state: &AppState, caller: &Caller, id: UploadId) -> ApiResult<MediaUpload> {
    let tenant = &caller.0.tenant;
    let upload = state.store.get_upload(tenant, id).await.map_err(ApiError::missing("upload"))?;
    if caller.reads_for(&upload.owner_agent) {
        return Ok(upload);
    }
    let mine = std::iter::once(caller.0.agent_address.to_string()).chain(caller.0.grants.iter().cloned());
    if state.store.upload_readable_by(tenant, id, mine.collect()).await? {
        Ok(upload)
    } else {
        Err(ApiError::not_found("upload"))
    }
}

/// The upload `id` if the caller may change it: 404 unless it may read it, 403 unless it acts
/// as the owner.
async fn writable(state: &AppState, caller: &Caller, id: UploadId) -> ApiResult<MediaUpload> {
    let upload = readable(state, caller, id).await?;
    caller.require_act_as(&upload.owner_agent)?;
    Ok(upload)
}

/// `POST /v1/media/create-upload` `{owner_agent, filename, mime_type, size_bytes, sha256?,
/// ttl_seconds?}`: a pending upload, expiring after `ttl_seconds` (60 to 604800, default
/// 86400) unless finalized. 422 for an invalid field; 413 when `size_bytes` is more than the
/// server's maximum (`AXP_MEDIA_MAX_BYTES`); 429 `quota_exceeded` when it does not fit
/// `media_upload_bytes_per_day` or `media_storage_bytes`; 403 unless the caller acts as
/// `owner_agent`.
#[utoipa::path(
    post,
    path = "/v1/media/create-upload",
    tag = "media",
    request_body = CreateUploadRequest,
    responses((status = 200, body = CreateUploadResponse)),
)]
async fn create_upload(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<CreateUploadResponse>> {
    let tenant = &caller.0.tenant;
    let request = media::create_request(&body, &tenant.scope())?;
    caller.require_act_as(&request.owner_agent)?;
    let max = state.options.transport.media_max_bytes;
    if request.size_bytes > max {
        return Err(too_large(request.size_bytes, max));
    }
    check_daily_bytes(&state, tenant, request.size_bytes).await?;
    let stored = state.store.media_bytes_stored(tenant).await?;
    check_quota(&state, tenant, Dimension::MediaStorageBytes, stored, request.size_bytes).await?;
    let (id, now) = (UploadId::new(), state.clock.now());
    let ttl = request.ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS);
    let upload = MediaUpload {
        upload_id: id,
        owner_agent: request.owner_agent,
        filename: request.filename,
        mime_type: request.mime_type,
        size_bytes: request.size_bytes,
        sha256: request.sha256,
        object_path: format!("{}/{id}", tenant.workspace_id),
        status: MediaStatus::Pending,
        created_at: now,
        expires_at: now.plus_seconds(ttl as i64),
        finalized_at: None,
        stored: None,
    };
    let upload = state.store.create_upload(tenant, upload).await?;
    Ok(Json(CreateUploadResponse {
        ok: true,
        upload_id: id,
        upload_url: format!("{}/v1/media/upload/{id}", public_base(&headers)),
        owner_agent: upload.owner_agent,
        bucket: BUCKET.to_owned(),
        object_path: upload.object_path,
        status: upload.status,
        expires_at: upload.expires_at,
        max_size_bytes: max,
    }))
}

/// `PUT /v1/media/upload/{upload_id}` with the raw bytes as the body (any content type),
/// streamed to storage. 413 past the declared `size_bytes` (or the server's maximum); 409
/// when the upload is no longer pending or the bytes' SHA-256 differs from a declared one
/// (nothing kept); 429 when they do not fit `media_upload_bytes_per_day`. Sending again
/// replaces earlier bytes.
#[utoipa::path(
    put,
    path = "/v1/media/upload/{upload_id}",
    tag = "media",
    params(("upload_id" = String, Path, description = "The upload's id (UUID)")),
    request_body(content = String, content_type = "application/octet-stream", description = "The raw bytes (any content type), at most the declared `size_bytes`"),
    responses((status = 200, body = UploadBytesResponse)),
)]
async fn upload_bytes(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    body: Body,
) -> ApiResult<Json<UploadBytesResponse>> {
    let tenant = &caller.0.tenant;
    let checked = async {
        let id = upload_id(&id)?;
        let upload = writable(&state, &caller, id).await?;
        let limit = upload.size_bytes.min(state.options.transport.media_max_bytes);
        check_daily_bytes(&state, tenant, limit).await?;
        Ok::<_, ApiError>((id, limit))
    };
    // A refusal drops the body unread: the listener drains it beside the answer.
    let (id, limit) = checked.await?;
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let stored = match state.store.put_upload_bytes(tenant, id, Box::pin(stream), limit).await? {
        Ok(stored) => stored,
        Err(UploadRefused::TooLarge { limit }) => return Err(too_large_body(limit)),
        Err(UploadRefused::Conflict(refused)) => return Err(conflict(refused)),
    };
    let now = state.clock.now();
    state.meter.record(tenant.workspace_id, Dimension::MediaUploadBytesPerDay, stored.size_bytes, now);
    Ok(Json(UploadBytesResponse {
        ok: true,
        upload_id: id,
        size_bytes: stored.size_bytes,
        sha256: stored.sha256,
        status: MediaStatus::Pending,
    }))
}

/// `POST /v1/media/finalize-upload` `{upload_id, size_bytes, sha256?}`: the upload becomes
/// `ready`. Succeeds without bytes (contract §9 C15); with bytes, 409 when `size_bytes` or
/// `sha256` differs from them; 409 for an expired upload. 404 unknown upload.
#[utoipa::path(
    post,
    path = "/v1/media/finalize-upload",
    tag = "media",
    request_body = FinalizeUploadRequest,
    responses((status = 200, body = FinalizeUploadResponse)),
)]
async fn finalize_upload(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<FinalizeUploadResponse>> {
    let request = media::finalize_request(&body)?;
    writable(&state, &caller, request.upload_id).await?;
    let (tenant, now) = (&caller.0.tenant, state.clock.now());
    let upload = state
        .store
        .finalize_upload(tenant, request.upload_id, request.size_bytes, request.sha256, now)
        .await
        .map_err(ApiError::missing("upload"))?
        .map_err(conflict)?;
    Ok(Json(FinalizeUploadResponse {
        ok: true,
        upload_id: upload.upload_id,
        owner_agent: upload.owner_agent,
        bucket: BUCKET.to_owned(),
        object_path: upload.object_path,
        mime_type: upload.mime_type,
        size_bytes: upload.size_bytes,
        sha256: upload.sha256,
        status: upload.status,
        finalized_at: upload.finalized_at.unwrap_or(now),
    }))
}

/// `GET /v1/media/{upload_id}`: the upload; `download_url` and `preview_url` while its bytes
/// are readable, else `null`. 404 unknown or not readable by the caller.
#[utoipa::path(
    get,
    path = "/v1/media/{upload_id}",
    tag = "media",
    params(("upload_id" = String, Path, description = "The upload's id (UUID)")),
    responses((status = 200, body = MediaResponse)),
)]
async fn get_upload(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<MediaResponse>> {
    let upload = readable(&state, &caller, upload_id(&id)?).await?;
    let base = public_base(&headers);
    let url = |kind: &str| upload.has_bytes().then(|| format!("{base}/v1/media/{kind}/{}", upload.upload_id));
    let (download_url, preview_url) = (url("download"), url("preview"));
    Ok(Json(MediaResponse {
        ok: true,
        upload: MediaView {
            upload_id: upload.upload_id,
            owner_agent: upload.owner_agent,
            bucket: BUCKET.to_owned(),
            object_path: upload.object_path,
            mime_type: upload.mime_type,
            filename: upload.filename,
            size_bytes: upload.size_bytes,
            sha256: upload.sha256,
            status: upload.status,
            created_at: upload.created_at,
            expires_at: upload.expires_at,
            finalized_at: upload.finalized_at,
            download_url,
            preview_url,
        },
    }))
}

/// The bytes of upload `id`, streamed, with `Content-Type` (its `mime_type`),
/// `Content-Length` and `Content-Disposition: <disposition>; filename="…"`. 404 when the
/// caller may not read it or no bytes are there (none sent, or expired).
async fn stream_bytes(state: &AppState, caller: &Caller, id: &str, disposition: &str) -> ApiResult<Response> {
    let upload = readable(state, caller, upload_id(id)?).await?;
    let missing = || ApiError::not_found("upload bytes");
    let stored = upload.stored.as_ref().filter(|_| upload.has_bytes()).ok_or_else(missing)?;
    let bytes =
        state.store.open_upload_bytes(&caller.0.tenant, upload.upload_id).await?.ok_or_else(missing)?;
    let mut response = Body::from_stream(bytes).into_response();
    let headers = response.headers_mut();
    let content_type = HeaderValue::from_str(&upload.mime_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(stored.size_bytes));
    let filename = media::disposition_filename(&upload.filename);
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// `GET /v1/media/download/{upload_id}`: the bytes as an attachment.
#[utoipa::path(
    get,
    path = "/v1/media/download/{upload_id}",
    tag = "media",
    params(("upload_id" = String, Path, description = "The upload's id (UUID)")),
    responses((status = 200, description = "The bytes, with the upload's `mime_type` as `Content-Type` and `Content-Disposition: attachment`", content_type = "application/octet-stream")),
)]
async fn download(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<Response> {
    stream_bytes(&state, &caller, &id, "attachment").await
}

/// `GET /v1/media/preview/{upload_id}`: the bytes inline.
#[utoipa::path(
    get,
    path = "/v1/media/preview/{upload_id}",
    tag = "media",
    params(("upload_id" = String, Path, description = "The upload's id (UUID)")),
    responses((status = 200, description = "The bytes, with the upload's `mime_type` as `Content-Type` and `Content-Disposition: inline`", content_type = "application/octet-stream")),
)]
async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<Response> {
    stream_bytes(&state, &caller, &id, "inline").await
}

/// `DELETE /v1/media/{upload_id}` (axp extension): removes the upload and its bytes, audited
/// (`media.deleted`). 404 unknown or not readable by the caller; 403 unless it acts as the
/// owner.
#[utoipa::path(
    delete,
    path = "/v1/media/{upload_id}",
    tag = "media",
    params(("upload_id" = String, Path, description = "The upload's id (UUID)")),
    responses((status = 200, body = DeletedUpload)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn delete_upload(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<DeletedUpload>> {
    let id = upload_id(&id)?;
    writable(&state, &caller, id).await?;
    let now = state.clock.now();
    state
        .store
        .delete_upload(&caller.0.tenant, id, now, &caller.audit())
        .await
        .map_err(ApiError::missing("upload"))?;
    Ok(Json(DeletedUpload { ok: true, upload_id: id, deleted: true }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create_upload, upload_bytes, finalize_upload, get_upload, download, preview, delete_upload))]
pub(super) struct Doc;

/// The media routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/media/create-upload", post(create_upload))
        .route("/v1/media/upload/{upload_id}", put(upload_bytes))
        .route("/v1/media/finalize-upload", post(finalize_upload))
        .route("/v1/media/download/{upload_id}", get(download))
        .route("/v1/media/preview/{upload_id}", get(preview))
        .route("/v1/media/{upload_id}", get(get_upload).delete(delete_upload))
}
