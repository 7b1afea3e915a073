//! The client's one error type.
//!
//! Every failure is one of four things: the server answered with a non-2xx status
//! ([`Error::Api`]), the request never got a complete answer ([`Error::Transport`]), the answer
//! was not the JSON this SDK expected ([`Error::Decode`]), or the client itself was misused or
//! misconfigured ([`Error::Config`], [`Error::Protocol`]).

use axp_core::{ErrorBody, ErrorCode};
use reqwest::header::HeaderMap;
use serde_json::Value;

/// `Result` with [`Error`] as the error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a non-2xx status.
    ///
    /// `code` comes from the contract §1.4 envelope (`error.code`) when the body is one and the
    /// code is known to [`ErrorCode`]; otherwise it is derived from the status (404 →
    /// [`ErrorCode::NotFound`], 429 → [`ErrorCode::RateLimitExceeded`], …).
    #[error("HTTP {status} {code}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The stable error code (from the envelope, or derived from `status`).
        code: ErrorCode,
        /// A human-readable message (`error.message`, `detail`, or the raw body).
        message: String,
        /// The parsed envelope, when the body was one. Boxed to keep `Result` small.
        body: Option<Box<ErrorBody>>,
        /// The `x-request-id` (or `request-id`) response header.
        request_id: Option<String>,
        /// The `Retry-After` response header, in seconds, when it was an integer.
        retry_after: Option<u64>,
    },
    /// The request could not be sent, or the response could not be read in full
    /// (connection refused or reset, timeout, TLS failure, …).
    #[error("transport error: {0}")]
    Transport(#[from] reqwest::Error),
    /// A 2xx response (or an SSE frame) was not the JSON this SDK expected.
    #[error("could not decode {context}: {source}")]
    Decode {
        /// What was being decoded, e.g. `GET /v1/intents/{id} response`.
        context: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The server broke the wire protocol in a way JSON decoding cannot describe (an SSE body
    /// that is not UTF-8 or not SSE, a stream that keeps ending without progress).
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The client was built with an invalid base URL or API key, or could not be built.
    #[error("invalid client configuration: {0}")]
    Config(String),
}

impl Error {
    /// The error code of an [`Error::Api`]; `None` for every other variant.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The HTTP status of an [`Error::Api`]; `None` for every other variant.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The parsed §1.4 envelope of an [`Error::Api`], when the body was one.
    pub fn body(&self) -> Option<&ErrorBody> {
        match self {
            Error::Api { body, .. } => body.as_deref(),
            _ => None,
        }
    }

    /// The server's request id of an [`Error::Api`], for bug reports and log correlation.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The `Retry-After` seconds of an [`Error::Api`], when the server sent an integer.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// 404: the resource does not exist (or belongs to another tenant).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// 409: idempotency mismatch, a second terminal resolve, an invalid state transition or a
    /// stale policy generation.
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// 401 or 403: the key is missing, unknown or revoked, or lacks the permission.
    pub fn is_auth(&self) -> bool {
        matches!(self.status(), Some(401 | 403))
    }

    /// 400, 413 or 422: the request itself is wrong; repeating it will not help.
    pub fn is_validation(&self) -> bool {
        matches!(self.status(), Some(400 | 413 | 422))
    }

    /// 429: rate limited; see [`Error::retry_after`].
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(429)
    }

    /// A transport failure caused by a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Transport(e) if e.is_timeout())
    }

    /// Whether repeating the same request later may succeed: a 429, 500, 502, 503 or 504, or a
    /// transport failure. (The client already retried idempotent requests before returning.)
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { status, .. } => crate::retry::is_retryable_status(*status),
            Error::Transport(e) => crate::retry::is_retryable_transport(e),
            _ => false,
        }
    }

    /// Builds an [`Error::Api`] from a non-2xx response's status, headers and body bytes.
    ///
    /// Reads the §1.4 envelope when the body is one; otherwise falls back, in order, to the
    /// `error.message`, `detail`, `error` (string) and `message` fields of any JSON object, then
    /// to the raw text, then to the status's reason phrase.
    pub(crate) fn from_response(status: u16, headers: &HeaderMap, body: &[u8]) -> Self {
        let request_id = header_str(headers, "x-request-id").or_else(|| header_str(headers, "request-id"));
        let retry_after = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::retry::parse_retry_after);
        let (code, message, body) = decode_error_body(status, body);
        Error::Api { status, code, message, body: body.map(Box::new), request_id, retry_after }
    }
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// The longest raw body kept as an error message when the body is not JSON.
const MAX_RAW_MESSAGE: usize = 512;

/// Reads an error body: `(code, message, envelope)`.
pub(crate) fn decode_error_body(status: u16, bytes: &[u8]) -> (ErrorCode, String, Option<ErrorBody>) {
    if let Ok(envelope) = serde_json::from_slice::<ErrorBody>(bytes) {
        let message = if envelope.error.message.is_empty() {
            envelope.detail.clone()
        } else {
            envelope.error.message.clone()
        };
        return (envelope.error.code, message, Some(envelope));
    }
    let fallback_code = code_for_status(status);
    if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(bytes) {
        let error = obj.get("error");
        // A code we know, from `error.code` or from `error` as a plain string (`{"error":"not_found"}`).
        let code = error
            .and_then(|e| e.get("code").or(Some(e)))
            .and_then(|c| serde_json::from_value::<ErrorCode>(c.clone()).ok())
            .unwrap_or(fallback_code);
        let message = error
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .or_else(|| obj.get("detail").and_then(Value::as_str))
            .or_else(|| error.and_then(Value::as_str))
            .or_else(|| obj.get("message").and_then(Value::as_str))
            .map(str::to_owned)
            .or_else(|| obj.get("detail").map(Value::to_string))
            .unwrap_or_else(|| reason(status));
        return (code, message, None);
    }
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    let message = if text.is_empty() {
        reason(status)
    } else if text.len() > MAX_RAW_MESSAGE {
        let mut end = MAX_RAW_MESSAGE;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &text[..end])
    } else {
        text.to_owned()
    };
    (fallback_code, message, None)
}

fn reason(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("unexpected status")
        .to_owned()
}

/// The code a status implies when the body does not name one.
pub(crate) fn code_for_status(status: u16) -> ErrorCode {
    match status {
        401 => ErrorCode::InvalidPlatformApiKey,
        403 => ErrorCode::PolicyDenied,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        409 => ErrorCode::InvalidStateTransition,
        413 => ErrorCode::PayloadTooLarge,
        422 => ErrorCode::ValidationError,
        429 => ErrorCode::RateLimitExceeded,
        503 => ErrorCode::ServiceUnavailable,
        500..=599 => ErrorCode::InternalError,
        _ => ErrorCode::BadRequest,
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderMap, HeaderValue};
    use serde_json::json;

    use super::*;

    #[test]
    fn envelope_is_decoded() {
        let body =
            ErrorBody::new(ErrorCode::IdempotencyConflict, "idempotency key reused with different payload");
        let bytes = serde_json::to_vec(&body).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", HeaderValue::from_static("req-1"));
        let err = Error::from_response(409, &headers, &bytes);
        assert_eq!(err.code(), Some(ErrorCode::IdempotencyConflict));
        assert_eq!(err.status(), Some(409));
        assert!(err.is_conflict());
        assert!(!err.is_not_found());
        assert_eq!(err.request_id(), Some("req-1"));
        assert_eq!(err.body().unwrap().detail, "idempotency key reused with different payload");
        assert!(err.to_string().contains("idempotency key reused"));
        assert!(!err.is_retryable());
    }

    #[test]
    fn envelope_extras_survive() {
        let bytes = serde_json::to_vec(&json!({
            "error": {"code": "stale_policy_generation", "message": "stale", "category": "conflict",
                      "retryable": false, "details": {}},
            "detail": "stale", "applied": false, "reason": "stale_policy_generation", "policy_generation": 4
        }))
        .unwrap();
        let err = Error::from_response(409, &HeaderMap::new(), &bytes);
        assert_eq!(err.code(), Some(ErrorCode::StalePolicyGeneration));
        assert_eq!(err.body().unwrap().extra["policy_generation"], 4);
    }

    #[test]
    fn fastapi_detail_string() {
        let (code, message, body) = decode_error_body(404, br#"{"detail":"intent not found"}"#);
        assert_eq!(code, ErrorCode::NotFound);
        assert_eq!(message, "intent not found");
        assert!(body.is_none());
    }

    #[test]
    fn plain_string_error_with_known_code() {
        let (code, message, _) = decode_error_body(400, br#"{"error":"not_found"}"#);
        assert_eq!(code, ErrorCode::NotFound);
        assert_eq!(message, "not_found");
    }

    #[test]
    fn unknown_code_falls_back_to_status() {
        let bytes = br#"{"error":{"code":"teapot_overflow","message":"nope"},"detail":"nope"}"#;
        let (code, message, body) = decode_error_body(401, bytes);
        assert_eq!(code, ErrorCode::InvalidPlatformApiKey);
        assert_eq!(message, "nope");
        assert!(body.is_none());
    }

    #[test]
    fn validation_list_detail() {
        let (code, message, _) =
            decode_error_body(422, br#"{"detail":[{"loc":["body","x"],"msg":"bad","type":"t"}]}"#);
        assert_eq!(code, ErrorCode::ValidationError);
        assert!(message.contains("bad"));
    }

    #[test]
    fn message_field() {
        let (_, message, _) = decode_error_body(500, br#"{"message":"boom"}"#);
        assert_eq!(message, "boom");
    }

    #[test]
    fn non_json_bodies() {
        let (code, message, _) = decode_error_body(502, b"<html>Bad Gateway</html>");
        assert_eq!(code, ErrorCode::InternalError);
        assert_eq!(message, "<html>Bad Gateway</html>");
        let (code, message, _) = decode_error_body(503, b"");
        assert_eq!(code, ErrorCode::ServiceUnavailable);
        assert_eq!(message, "Service Unavailable");
        let long = "é".repeat(600);
        let (_, message, _) = decode_error_body(500, long.as_bytes());
        assert!(message.len() <= MAX_RAW_MESSAGE + '…'.len_utf8());
    }

    #[test]
    fn retry_after_header_is_read() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        headers.insert("request-id", HeaderValue::from_static("r2"));
        let err = Error::from_response(429, &headers, b"");
        assert_eq!(err.retry_after(), Some(7));
        assert_eq!(err.request_id(), Some("r2"));
        assert!(err.is_rate_limited());
        assert!(err.is_retryable());
        assert_eq!(err.code(), Some(ErrorCode::RateLimitExceeded));
    }

    #[test]
    fn helpers_on_other_variants() {
        let err = Error::Protocol("x".into());
        assert_eq!(err.code(), None);
        assert_eq!(err.status(), None);
        assert!(!err.is_not_found());
        assert!(!err.is_retryable());
    }

    #[test]
    fn error_stays_small() {
        assert!(std::mem::size_of::<Error>() <= 128);
    }
}
