//! The router: one file per resource family, request/trace ids on every response, and the
//! error envelope for unknown routes and methods.

mod access_requests;
mod actor_tokens;
mod admin;
mod agents;
mod approvals;
mod audit;
mod billing;
mod binding;
mod capabilities;
mod deliveries;
mod directory;
mod events;
pub(crate) mod health;
mod inbox;
mod intents;
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
mod service_accounts;
mod usage;
mod users;
mod webhooks;

use std::sync::Arc;

use axp_core::error::ErrorCode;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use serde::Serialize;
use tracing::Instrument;

use crate::admission::{self, Admission};
use crate::audit::TraceId;
use crate::error::ApiError;
use crate::state::AppState;

/// Largest request body accepted, in bytes. Intent payloads are capped at 128 KiB by the
/// contract (§4.2); this leaves room for the rest of the body and for scenario bundles.
pub(crate) const BODY_LIMIT: usize = 1024 * 1024;

/// `{"ok": true, …}` around a response type of `axp_core::api` that leaves `ok` out (the SDK
/// reads those bodies straight into the type and ignores `ok`): `body`'s fields sit at the top
/// level beside `ok`.
#[derive(Serialize)]
struct Success<T> {
    ok: bool,
    #[serde(flatten)]
    body: T,
}

impl<T> Success<T> {
    fn new(body: T) -> Self {
        Self { ok: true, body }
    }
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
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(ErrorCode::MethodNotAllowed, "method not allowed on this route")
        })
        .layer(middleware::from_fn_with_state((state.clone(), admission), admission::admit))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(request_ids))
        .layer(middleware::from_fn(crate::metrics::track))
        .with_state(state)
}

/// The id in header `name`, or a new UUID when it is absent or unusable.
fn id_header(headers: &axum::http::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Echoes `x-request-id` and `x-trace-id` (generating UUIDs when absent) on every response
/// (contract §1.7), and hands the trace id to the handler as a request extension ([`TraceId`]:
/// the audit log stores it). Every 5xx is logged with both ids, the method, the path and the
/// client's address ([`crate::listener::ClientAddr`], when the listener set it).
///
/// The per-request span carrying the ids is at `debug` level: at the default `info` level the
/// log formatter would otherwise render four fields for every request, successful or not, which
/// costs about 5% of a create's request-side CPU.
async fn request_ids(mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    let (request_id, trace_id) = (id_header(headers, "x-request-id"), id_header(headers, "x-trace-id"));
    request.extensions_mut().insert(TraceId(trace_id.clone()));
    // Both clones are cheap (the URI shares its bytes); they outlive the request for the log line.
    let (method, uri) = (request.method().clone(), request.uri().clone());
    let client = request.extensions().get::<crate::listener::ClientAddr>().copied();
    let span = tracing::debug_span!("request", %method, path = uri.path(), %request_id, %trace_id);
    let mut response = next.run(request).instrument(span).await;
    if response.status().is_server_error() {
        let status = response.status();
        let client = client.map_or_else(|| "-".to_owned(), |c| c.to_string());
        tracing::warn!(%status, %method, path = uri.path(), %request_id, %trace_id, %client, "request failed");
    }
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("x-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&trace_id) {
        headers.insert("x-trace-id", v);
    }
    response
}
