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

async fn health() -> Json<Health> {
    Json(Health {
        ok: true,
        service: "axp".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        deployment_profile: "dev".into(),
    })
}

/// Ready when the store answers a read and has not met a damaged database (then 503 with the
/// envelope and `Retry-After: 30` until restart).
pub(crate) async fn ready(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    if state.store.fault().is_some() {
        return Err(ApiError::store_faulted());
    }
    state.store.authenticate(&KeyHash([0; 32]), state.clock.now()).await?;
    Ok(Json(json!({"ok": true, "ready": true})))
}

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/health", get(health)).route("/v1/health", get(health)).route("/ready", get(ready))
}
