//! `GET /health` (also at `/v1/health`, which the official Go SDK's `Health()` calls) and
//! `GET /ready` (contract §1.9). No authentication.

use axp_core::api::Health;
use axp_store::KeyHash;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// `GET /health`: the server is up.
#[utoipa::path(get, path = "/health", tag = "health", security(()), responses((status = 200, body = Health)))]
async fn health() -> Json<Health> {
    Json(Health {
        ok: true,
        service: "axp".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        deployment_profile: "dev".into(),
    })
}

/// `GET /v1/health`: `/health` again, where the official Go SDK's `Health()` calls it.
#[utoipa::path(
    get,
    path = "/v1/health",
    tag = "health",
    security(()),
    responses((status = 200, body = Health)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn health_v1() -> Json<Health> {
    health().await
}

/// `GET /ready`: ready when the store answers a read and has not met a damaged database (then 503 with the
/// envelope and `Retry-After: 30` until restart).
#[utoipa::path(
    get,
    path = "/ready",
    tag = "health",
    security(()),
    responses((status = 200, description = "`{\"ok\": true, \"ready\": true}`")),
    extensions(("x-axp-extension" = json!(true))),
)]
pub(crate) async fn ready(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    if state.store.fault().is_some() {
        return Err(ApiError::store_faulted());
    }
    state.store.authenticate(&KeyHash([0; 32]), state.clock.now()).await?;
    Ok(Json(json!({"ok": true, "ready": true})))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(health, health_v1, ready))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/v1/health", get(health_v1))
        .route("/ready", get(ready))
}
