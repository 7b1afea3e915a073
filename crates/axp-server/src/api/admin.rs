//! Operator endpoints (axp extensions, `GET /openapi.json`): server-wide data
//! for the server's operator alone, an `org_owner` of the first-start organization
//! ([`Caller::require_operator`]; anyone else gets 403, whatever their roles elsewhere).
//!
//! - `POST /v1/admin/backup`: a consistent copy of a SQLite server's data, streamed as one tar
//!   archive (`crate::backup`).
//! - `GET /v1/admin/stats`: what the store holds ([`axp_core::api::StoreStats`]).

use std::io::Write;

use axp_core::api::StoreStats;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use tokio::sync::mpsc;

use super::Success;
use crate::backup::{self, Manifest};
use crate::error::{ApiError, ApiResult};
use crate::extract::Caller;
use crate::state::AppState;

/// Bytes per chunk of the streamed archive.
const CHUNK: usize = 256 * 1024;

/// Chunks of the archive buffered between the writing thread and the response.
const CHUNKS_IN_FLIGHT: usize = 4;

/// `POST /v1/admin/backup` (no body) → 200 `application/x-tar`: the backup archive
/// (`manifest.json`, `axp.db`, `media/…`; never `admin.key`), streamed as it is written, and
/// audited (`backup.taken`) once the copy is taken.
///
/// The database is copied with `VACUUM INTO` into a temporary directory inside the data dir,
/// on a read connection: writes go on meanwhile (WAL). The temporary files are removed once
/// the archive is sent, or the client went away, or writing failed. A failure after the 200
/// cuts the response off, so the archive lacks its trailer and counted entries, and
/// `axp backup` keeps nothing. Errors: 403 for anyone but the operator; 501 `not_implemented`
/// on PostgreSQL (use `pg_dump` or PITR); 503 when the copy cannot be written.
#[utoipa::path(
    post,
    path = "/v1/admin/backup",
    tag = "admin",
    responses((status = 200, description = "The backup archive (`manifest.json`, `axp.db`, `media/…`), streamed", content_type = "application/x-tar")),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn backup(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    caller.require_operator("backups are taken by")?;
    let work = tempfile::Builder::new()
        .prefix(".backup-")
        .tempdir_in(&state.config.data_dir)
        .map_err(|e| ApiError::from(axp_store::Error::Unavailable(format!("a backup directory: {e}"))))?;
    let snapshot = state.store.maintenance().snapshot(work.path()).await?;
    let manifest = Manifest::of(&snapshot, state.clock.now());
    let mut details = serde_json::Map::new();
    details.insert("schema_version".into(), manifest.schema_version.into());
    details.insert("media_objects".into(), manifest.media_objects.into());
    state.store.audit_backup(&caller.0.tenant, details, manifest.created_at, &caller.audit()).await?;
    let (tx, mut rx) = mpsc::channel::<std::io::Result<Bytes>>(CHUNKS_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let sender = ChunkSender(tx.clone());
        let written = std::io::BufWriter::with_capacity(CHUNK, sender);
        if let Err(e) = backup::write_archive(written, &snapshot, &manifest) {
            tracing::warn!(error = %e, "a backup was not sent whole");
            let _ = tx.blocking_send(Err(e));
        }
        // The snapshot's files go with the directory, sent or not.
        drop(work);
    });
    let chunks = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut response = Body::from_stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"axp-backup.tar\""),
    );
    Ok(response)
}

/// Hands each write of the archive to the response as one chunk; fails once the response is
/// gone (the client went away), which stops the archive.
struct ChunkSender(mpsc::Sender<std::io::Result<Bytes>>);

impl Write for ChunkSender {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `GET /v1/admin/stats` → `{ok, backend, schema_version, tables, database_bytes, wal_bytes,
/// oldest_unfinished_intent_at, dead_letters}` ([`StoreStats`]), across every workspace.
/// Counting rows reads every table: seconds on a large database, without blocking writes.
/// Errors: 403 for anyone but the operator.
#[utoipa::path(
    get,
    path = "/v1/admin/stats",
    tag = "admin",
    responses((status = 200, body = Success<StoreStats>)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn stats(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Success<StoreStats>>> {
    caller.require_operator("store stats are read by")?;
    Ok(axum::Json(Success::new(state.store.maintenance().stats().await?)))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(backup, stats))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/v1/admin/backup", post(backup)).route("/v1/admin/stats", get(stats))
}
