//! What every request leaves behind: its request and trace ids (contract §1.7), the W3C trace
//! context (`traceparent`), and one access-log line.
//!
//! - `X-Request-Id` and `X-Trace-Id` are echoed, or generated (UUIDs) when absent.
//! - A request with a valid `traceparent` (W3C Trace Context, level 1) and no `X-Trace-Id` takes
//!   the traceparent's trace id as its trace id. Every response carries a `traceparent` with
//!   the request's trace id in W3C form ([`w3c_trace_id`]: a UUID or 32-hex trace id without
//!   its dashes, any other text hashed to 32 hex), a new span id for this request, and the
//!   caller's trace flags (default `01`, sampled).
//! - The access log (`Options::access_log`, on by default): one `info` line per request, target
//!   `axp::access`, with the method, the route template (`/v1/intents/{intent_id}`; `-` when no
//!   route matched), the status, the latency in milliseconds until the response head (a stream's
//!   body goes on after it), both ids and the credential id (`key:<api key id>` or
//!   `token:<actor token id>`, never the secret; `-` when unauthenticated).
//! - Every 5xx is logged at `warn` with the client's address, access log or not.

use std::time::Instant;

use axp_store::Actor;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::audit::TraceId;
use crate::state::AppState;

/// The credential a request was authenticated with, left on the response by admission for
/// the access log.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Credential(pub(crate) Actor);

impl std::fmt::Display for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Actor::ServiceAccount { key_id, .. } => write!(f, "key:{}", key_id.0),
            Actor::User { token_id, .. } => write!(f, "token:{}", token_id.0),
        }
    }
}

/// The text of header `name` when it is usable as an id (1 to 128 visible characters).
fn id_header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_owned)
}

/// A `traceparent` header (W3C Trace Context §3.2): version `00`, the 32-hex trace id, the
/// 16-hex parent id and the 2-hex flags. Only version `00` and valid, non-zero ids count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TraceParent {
    trace_id: String,
    parent_id: String,
    flags: String,
}

impl TraceParent {
    /// The request's trace context, if it sent a valid one.
    fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let value = headers.get("traceparent")?.to_str().ok()?.trim();
        let mut parts = value.split('-');
        let (version, trace_id, parent_id, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex =
            |s: &str, len: usize| s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let zero = |s: &str| s.bytes().all(|b| b == b'0');
        let valid = parts.next().is_none()
            && version == "00"
            && hex(trace_id, 32)
            && !zero(trace_id)
            && hex(parent_id, 16)
            && !zero(parent_id)
            && hex(flags, 2);
        valid.then(|| Self {
            trace_id: trace_id.to_owned(),
            parent_id: parent_id.to_owned(),
            flags: flags.to_owned(),
        })
    }
}

/// The W3C form (32 lowercase hex) of a trace id: a UUID or 32-hex id without its dashes;
/// anything else (the contract allows any text) as the UUID v5 of its bytes, so the same
/// `X-Trace-Id` always maps to the same W3C trace id.
pub(crate) fn w3c_trace_id(trace_id: &str) -> String {
    let simple: String = trace_id.chars().filter(|c| *c != '-').collect::<String>().to_ascii_lowercase();
    let hex = simple.len() == 32 && simple.bytes().all(|b| b.is_ascii_hexdigit());
    if hex && !simple.bytes().all(|b| b == b'0') {
        simple
    } else {
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, trace_id.as_bytes()).simple().to_string()
    }
}

/// When the request span is exported (OTLP on, `crates/axp/src/logs.rs`), parents it on the
/// caller's trace: the traceparent's span, or a remote root standing for the caller, in the
/// trace whose id is `trace_id`'s W3C form, so the exported trace, the logs and the echoed
/// `X-Trace-Id` agree. The span id for the response's `traceparent`: the exported span's, else
/// a new random one.
fn export_parent(span: &tracing::Span, trace_id: &str, parent: Option<&TraceParent>) -> String {
    use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceState};
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let random = || uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
    if span.is_disabled() {
        return random();
    }
    let Ok(trace) = opentelemetry::trace::TraceId::from_hex(&w3c_trace_id(trace_id)) else { return random() };
    let parent_id = parent.map_or_else(random, |p| p.parent_id.clone());
    let flags = parent.and_then(|p| u8::from_str_radix(&p.flags, 16).ok()).unwrap_or(1);
    let remote = SpanContext::new(
        trace,
        SpanId::from_hex(&parent_id).unwrap_or(SpanId::INVALID),
        TraceFlags::new(flags),
        true,
        TraceState::default(),
    );
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    let own = span.context().span().span_context().span_id();
    if own == SpanId::INVALID { random() } else { own.to_string() }
}

/// The middleware around every route and the fallback: ids in, ids and `traceparent` out, the
/// access-log line and the 5xx warning (module docs).
///
/// The per-request span carrying the ids is at `debug` level: at the default `info` level the
/// log formatter would otherwise render its fields on every line a handler logs, which costs
/// about 5% of a create's request-side CPU.
pub(crate) async fn request_ids(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let headers = request.headers();
    let parent = TraceParent::from_headers(headers);
    let request_id = id_header(headers, "x-request-id").unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let trace_id = id_header(headers, "x-trace-id")
        .or_else(|| parent.as_ref().map(|p| p.trace_id.clone()))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    request.extensions_mut().insert(TraceId(trace_id.clone()));
    // Both clones are cheap (the URI shares its bytes); they outlive the request for the log line.
    let (method, uri) = (request.method().clone(), request.uri().clone());
    let route = request.extensions().get::<MatchedPath>().cloned();
    let client = request.extensions().get::<crate::listener::ClientAddr>().copied();
    let span = tracing::debug_span!("request", %method, path = uri.path(), %request_id, %trace_id);
    let span_id = export_parent(&span, &trace_id, parent.as_ref());
    let mut response = next.run(request).instrument(span).await;
    let status = response.status();
    let route = route.as_ref().map_or("-", MatchedPath::as_str);
    if state.options.access_log {
        let key_id =
            response.extensions().get::<Credential>().map_or_else(|| "-".to_owned(), ToString::to_string);
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(
            target: "axp::access",
            %method, route, status = status.as_u16(), latency_ms, %trace_id, %request_id, key_id,
            "request"
        );
    }
    if status.is_server_error() {
        let client = client.map_or_else(|| "-".to_owned(), |c| c.to_string());
        tracing::warn!(%status, %method, path = uri.path(), route, %request_id, %trace_id, %client, "request failed");
    }
    let flags = parent.as_ref().map_or("01", |p| p.flags.as_str());
    let traceparent = format!("00-{}-{span_id}-{flags}", w3c_trace_id(&trace_id));
    let headers = response.headers_mut();
    for (name, value) in
        [("x-request-id", &request_id), ("x-trace-id", &trace_id), ("traceparent", &traceparent)]
    {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent(value: &str) -> Option<TraceParent> {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", HeaderValue::from_str(value).unwrap());
        TraceParent::from_headers(&headers)
    }

    #[test]
    fn a_valid_traceparent_is_read_and_others_are_ignored() {
        let p = parent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(p.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(p.flags, "01");
        for bad in [
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "garbage",
        ] {
            assert_eq!(parent(bad), None, "{bad}");
        }
    }

    #[test]
    fn trace_ids_map_to_one_w3c_form() {
        assert_eq!(w3c_trace_id("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"), "0193a1b2c3d47e5f8a9b0c1d2e3f4a5b");
        assert_eq!(w3c_trace_id("4bf92f3577b34da6a3ce929d0e0e4736"), "4bf92f3577b34da6a3ce929d0e0e4736");
        let other = w3c_trace_id("e2e-trace-health");
        assert_eq!(other.len(), 32);
        assert_eq!(other, w3c_trace_id("e2e-trace-health"), "the same text gives the same id");
        assert_ne!(w3c_trace_id("00000000-0000-0000-0000-000000000000"), "0".repeat(32));
    }
}
