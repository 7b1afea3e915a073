//! `GET /metrics`: the server's figures in Prometheus' text format (`docs/metrics.md`).
//!
//! Series come through the [`metrics`] facade from where things happen: the engine (intents,
//! pushes, timer lag), the store writers (commit batches), this crate (HTTP requests, open
//! streams, and the store's figures read in the background by `refresh`). `recorder` holds
//! the process's one Prometheus recorder; this module serves its rendering.
//!
//! `/metrics` is server-wide operator data with an access of its own ([`MetricsOptions`]): its
//! bearer token `AXP_METRICS_TOKEN`, or `AXP_METRICS_PUBLIC=1`. API keys, an admin's included,
//! never open it. With neither set, it answers 404 saying how to turn it on, and nothing is
//! recorded.
//!
//! - `options`: [`MetricsOptions::from_env`].
//! - `recorder`: installing the recorder once per process; every series' name and help.
//! - `http`: the request-duration middleware.
//! - `refresh`: the store's figures, read every `AXP_METRICS_REFRESH_SECONDS`.

mod http;
mod options;
mod recorder;
mod refresh;

use axp_core::error::ErrorCode;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;

pub use options::{MetricsAccess, MetricsOptions};

pub(crate) use http::track;

use crate::error::ApiError;
use crate::state::AppState;

/// Gauge: open SSE streams (`kind="sse"`) and waiting long-poll claims (`kind="long_poll"`),
/// kept by [`crate::streams::StreamSlots`].
pub(crate) const STREAMS_OPEN: &str = "axp_streams_open";

/// The content type of Prometheus' text exposition format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// With metrics on, installs the process's recorder and reads the store's figures in the
/// background until `cancel`. Called once per server, at the start of `Server::run_until`.
pub(crate) fn start(state: &AppState, cancel: &CancellationToken) {
    let options = &state.options.metrics;
    if options.enabled() {
        recorder::install();
        tokio::spawn(refresh::run(state.clone(), options.refresh, cancel.clone()));
    }
}

/// `GET /metrics` → 200 in Prometheus' text format (`text/plain; version=0.0.4`). Errors, in
/// the envelope: 404 `not_found` while metrics are off (the message says how to turn them on);
/// 401 `auth_failed` with `WWW-Authenticate: Bearer` when a token is set and the request does
/// not carry it as `Authorization: Bearer <token>` (an API key is never it).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    security(("metrics_token" = [])),
    responses((status = 200, description = "The series (`docs/metrics.md`)", content_type = "text/plain; version=0.0.4")),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    match &state.options.metrics.access {
        MetricsAccess::Off => {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                "metrics are off: set AXP_METRICS_TOKEN (and scrape with `Authorization: Bearer <token>`) \
                 or AXP_METRICS_PUBLIC=1, then restart",
            ));
        }
        MetricsAccess::Token(token) if !bearer_is(&headers, token) => {
            let mut refused = ApiError::new(
                ErrorCode::AuthFailed,
                "GET /metrics takes its own bearer token: send `Authorization: Bearer <AXP_METRICS_TOKEN>`",
            )
            .into_response();
            refused.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return Ok(refused);
        }
        MetricsAccess::Token(_) | MetricsAccess::Public => {}
    }
    let body = recorder::install().render();
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT))], body).into_response())
}

/// Whether `headers` carry `Authorization: Bearer <token>`. Both sides are hashed first and the
/// digests compared in constant time, so the time taken tells neither the token nor its length.
fn bearer_is(headers: &HeaderMap, token: &str) -> bool {
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let Some(sent) = sent else { return false };
    Sha256::digest(sent.as_bytes()).as_slice().ct_eq(Sha256::digest(token.as_bytes()).as_slice()).into()
}

/// The `/metrics` route.
/// `GET /metrics` in the OpenAPI document (`crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(scrape))]
pub(crate) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(authorization).unwrap());
        headers
    }

    #[test]
    fn only_the_exact_bearer_token_passes() {
        let token = "0123456789abcdef0123";
        assert!(bearer_is(&with(&format!("Bearer {token}")), token));
        assert!(bearer_is(&with(&format!("bearer {token}")), token));
        assert!(!bearer_is(&with(&format!("Bearer {token}x")), token));
        assert!(!bearer_is(&with(&format!("Basic {token}")), token));
        assert!(!bearer_is(&with(token), token));
        assert!(!bearer_is(&HeaderMap::new(), token));
    }
}
