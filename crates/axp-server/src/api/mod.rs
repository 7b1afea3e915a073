//! The router: one file per resource family, request/trace ids and the access log on every
//! request (`crate::telemetry`), and the error envelope for unknown routes and methods.

mod access_requests;
mod actor_tokens;
mod admin;
pub(crate) mod agents;
pub(crate) mod approvals;
pub(crate) mod audit;
mod billing;
mod binding;
mod capabilities;
pub(crate) mod deliveries;
mod directory;
pub(crate) mod events;
pub(crate) mod health;
mod inbox;
pub(crate) mod intents;
mod invites;
mod mcp;
mod media;
mod members;
pub(crate) mod mesh;
mod organizations;
mod quotas;
mod retention;
mod routed;
mod routing;
mod scenarios;
mod schemas;
pub(crate) mod service_accounts;
mod usage;
mod users;
pub(crate) mod webhooks;

use std::sync::Arc;

use axp_core::error::ErrorCode;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use serde::Serialize;

use crate::admission::{self, Admission};
use crate::error::ApiError;
use crate::state::AppState;

/// Largest request body accepted, in bytes. Intent payloads are capped at 128 KiB by the
/// contract (§4.2); this leaves room for the rest of the body and for scenario bundles.
pub(crate) const BODY_LIMIT: usize = 1024 * 1024;

/// `{"ok": true, …}` around a response type of `axp_core::api` that leaves `ok` out (the SDK
/// reads those bodies straight into the type and ignores `ok`): `body`'s fields sit at the top
/// level beside `ok`.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Success<T> {
    ok: bool,
    #[serde(flatten)]
    body: T,
}

impl<T> Success<T> {
    fn new(body: T) -> Self {
        Self { ok: true, body }
    }
}

/// Every family's operations for the OpenAPI document (`crate::openapi`): each family lists its
/// handlers in a `Doc` beside its `router()`.
pub(crate) fn documented() -> Vec<utoipa::openapi::OpenApi> {
    use utoipa::OpenApi as _;
    vec![
        crate::metrics::Doc::openapi(),
        crate::ui::Doc::openapi(),
        health::Doc::openapi(),
        capabilities::Doc::openapi(),
        intents::Doc::openapi(),
        events::Doc::openapi(),
        agents::Doc::openapi(),
        inbox::Doc::openapi(),
        approvals::Doc::openapi(),
        users::Doc::openapi(),
        service_accounts::Doc::openapi(),
        mesh::Doc::openapi(),
        media::Doc::openapi(),
        webhooks::Doc::openapi(),
        scenarios::Doc::openapi(),
        schemas::Doc::openapi(),
        routing::Doc::openapi(),
        directory::Doc::openapi(),
        organizations::Doc::openapi(),
        members::Doc::openapi(),
        invites::Doc::openapi(),
        deliveries::Doc::openapi(),
        billing::Doc::openapi(),
        actor_tokens::Doc::openapi(),
        access_requests::Doc::openapi(),
        usage::Doc::openapi(),
        retention::Doc::openapi(),
        quotas::Doc::openapi(),
        mcp::Doc::openapi(),
        audit::Doc::openapi(),
        admin::Doc::openapi(),
    ]
}

/// The whole HTTP application over `state`.
pub fn app(state: AppState) -> Router {
    let admission = Arc::new(Admission::new(&state.options.admission));
    Router::new()
        .merge(health::router())
        .merge(intents::router())
        .merge(events::router())
        .merge(agents::router())
        .merge(deliveries::router())
        .merge(service_accounts::router())
        .merge(scenarios::router())
        .merge(webhooks::router())
        .merge(inbox::router())
        .merge(approvals::router())
        .merge(capabilities::router())
        .merge(schemas::router())
        .merge(audit::router())
        .merge(organizations::router())
        .merge(members::router())
        .merge(directory::router())
        .merge(routing::router())
        .merge(access_requests::router())
        .merge(users::router())
        .merge(actor_tokens::router())
        .merge(invites::router())
        .merge(quotas::router())
        .merge(usage::router())
        .merge(billing::router())
        .merge(mcp::router())
        .merge(mesh::router())
        .merge(media::router())
        .merge(admin::router())
        .merge(retention::router())
        .merge(crate::metrics::router())
        .merge(crate::ui::router())
        .merge(crate::openapi::router())
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(ErrorCode::MethodNotAllowed, "method not allowed on this route")
        })
        .layer(middleware::from_fn_with_state((state.clone(), admission), admission::admit))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state.clone(), crate::telemetry::request_ids))
        .layer(middleware::from_fn(crate::metrics::track))
        .with_state(state)
}
