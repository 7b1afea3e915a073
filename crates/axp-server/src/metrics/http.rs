//! The HTTP request histogram: how long each request took, by method, route template and
//! status class.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// Histogram: seconds from a request's arrival to its response head, labels `method`, `route`
/// and `status_class`.
pub(crate) const REQUEST_DURATION: &str = "axp_http_request_duration_seconds";

/// The `route` of a request no route matched (unknown paths: one value, whatever the path).
const UNMATCHED: &str = "unmatched";

/// The middleware: times the request to its response head (an SSE stream or a streamed body
/// counts until it starts, not for its whole life) and records it under the route template
/// axum matched (`/v1/intents/{intent_id}`, never the path itself, so labels stay bounded).
/// Measures nothing until the recorder is installed (metrics off: no cost).
pub(crate) async fn track(request: Request, next: Next) -> Response {
    if !super::recorder::installed() {
        return next.run(request).await;
    }
    let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED, MatchedPath::as_str).to_owned();
    let method = method(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = [
        ("method", method.to_owned()),
        ("route", route),
        ("status_class", status_class(response.status()).to_owned()),
    ];
    metrics::histogram!(REQUEST_DURATION, &labels).record(started.elapsed().as_secs_f64());
    response
}

/// The method's name, or `other` for a method outside RFC 9110's (bounded labels).
fn method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `1xx` to `5xx`.
fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(status_class(StatusCode::OK), "2xx");
        assert_eq!(status_class(StatusCode::UNAUTHORIZED), "4xx");
        assert_eq!(status_class(StatusCode::SERVICE_UNAVAILABLE), "5xx");
        assert_eq!(method(&Method::POST), "POST");
        assert_eq!(method(&Method::from_bytes(b"PURGE").unwrap()), "other");
    }
}
