//! The JSON-RPC 2.0 envelope of `POST /mcp`: what a message may look like, the answers, and the
//! error codes the official SDK maps (contract §6 "MCP"; `axme_sdk/client.py`
//! `_raise_mcp_rpc_error`).

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// The body is not JSON.
pub(super) const PARSE_ERROR: i64 = -32700;
/// The message is not a JSON-RPC 2.0 request or notification.
pub(super) const INVALID_REQUEST: i64 = -32600;
/// No such method.
pub(super) const METHOD_NOT_FOUND: i64 = -32601;
/// Bad `params` or tool arguments: the SDK raises `AxmeValidationError` (422).
pub(super) const INVALID_PARAMS: i64 = -32602;
/// A fault of this server: the SDK raises `AxmeServerError`.
pub(super) const INTERNAL_ERROR: i64 = -32603;
/// The store is unavailable for now (503): also a server error to the SDK.
pub(super) const UNAVAILABLE: i64 = -32000;
/// The credential is missing or invalid (401): the SDK raises `AxmeAuthError`.
pub(super) const UNAUTHENTICATED: i64 = -32001;
/// The key may not do this (403): the SDK raises `AxmeAuthError`.
pub(super) const FORBIDDEN: i64 = -32003;
/// A rate limit or quota refused the call (429): the SDK raises `AxmeRateLimitError`.
pub(super) const RATE_LIMITED: i64 = -32004;

/// A JSON-RPC `error` object: `{code, message, data?}`.
#[derive(Debug)]
pub(super) struct RpcError {
    /// One of the codes above.
    pub(super) code: i64,
    /// What went wrong, for people.
    pub(super) message: String,
    /// For errors that come from a REST rule: `{http_status, error: {code, message, …},
    /// errors?, retry_after?}` (the envelope of §1.4).
    pub(super) data: Option<Value>,
}

impl RpcError {
    /// An error with no data.
    pub(super) fn new(code: i64, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), data: None }
    }
}

/// The RPC code of a refused REST rule, by its HTTP status; `None` for the statuses a tool
/// reports as a failed result instead (404 not found, 409 conflict: see [`super::tools`]).
pub(super) fn code_of(status: StatusCode) -> Option<i64> {
    match status.as_u16() {
        401 => Some(UNAUTHENTICATED),
        403 => Some(FORBIDDEN),
        429 => Some(RATE_LIMITED),
        400 | 413 | 422 => Some(INVALID_PARAMS),
        404 | 409 => None,
        503 => Some(UNAVAILABLE),
        _ => Some(INTERNAL_ERROR),
    }
}

/// The error envelope of `e` as RPC `data`: `{http_status, error, errors?, retry_after?}`.
pub(super) fn error_data(e: &ApiError) -> Value {
    let body = e.body();
    let mut data = Map::new();
    data.insert("http_status".into(), json!(e.status().as_u16()));
    data.insert("error".into(), serde_json::to_value(&body.error).unwrap_or(Value::Null));
    if !body.errors.is_empty() {
        data.insert("errors".into(), serde_json::to_value(&body.errors).unwrap_or(Value::Null));
    }
    if let Some(secs) = e.retry_after() {
        data.insert("retry_after".into(), json!(secs));
    }
    Value::Object(data)
}

impl From<ApiError> for RpcError {
    fn from(e: ApiError) -> Self {
        let code = code_of(e.status()).unwrap_or(INTERNAL_ERROR);
        Self { code, message: e.body().error.message.clone(), data: Some(error_data(&e)) }
    }
}

/// `{"jsonrpc": "2.0", "id": id, "result": result}`.
pub(super) fn success(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// `{"jsonrpc": "2.0", "id": id, "error": {code, message, data?}}`.
pub(super) fn failure(id: Value, e: RpcError) -> Value {
    let mut error = json!({"code": e.code, "message": e.message});
    if let Some(data) = e.data {
        error["data"] = data;
    }
    json!({"jsonrpc": "2.0", "id": id, "error": error})
}

/// One message of a request body, read: a request (with its `id`) or a notification.
#[derive(Debug, PartialEq)]
pub(super) struct Message {
    /// The request's id (a string, a number or `null`); `None` for a notification.
    pub(super) id: Option<Value>,
    /// The method name.
    pub(super) method: String,
    /// `params` (absent: `{}`).
    pub(super) params: Map<String, Value>,
}

/// Reads one message: `{jsonrpc: "2.0", method, id?, params?}`. Errors carry the id to answer
/// with (`null` when none could be read).
pub(super) fn message(value: Value) -> Result<Message, (Value, RpcError)> {
    let Value::Object(mut object) = value else {
        return Err((Value::Null, RpcError::new(INVALID_REQUEST, "a JSON-RPC message must be an object")));
    };
    let id = object.remove("id");
    let answer_id = id.clone().unwrap_or(Value::Null);
    if !matches!(id, None | Some(Value::String(_) | Value::Number(_) | Value::Null)) {
        return Err((Value::Null, RpcError::new(INVALID_REQUEST, "id must be a string, a number or null")));
    }
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err((answer_id, RpcError::new(INVALID_REQUEST, "jsonrpc must be \"2.0\"")));
    }
    let Some(Value::String(method)) = object.remove("method") else {
        return Err((answer_id, RpcError::new(INVALID_REQUEST, "method must be a string")));
    };
    let params = match object.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(params)) => params,
        Some(_) => return Err((answer_id, RpcError::new(INVALID_PARAMS, "params must be an object"))),
    };
    Ok(Message { id, method, params })
}

#[cfg(test)]
mod tests {
    use axp_core::ErrorCode;

    use super::*;

    #[test]
    fn messages_are_read_strictly() {
        let m = message(json!({"jsonrpc": "2.0", "id": 7, "method": "ping"})).unwrap();
        assert_eq!(m, Message { id: Some(json!(7)), method: "ping".into(), params: Map::new() });
        let n = message(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).unwrap();
        assert_eq!(n.id, None);
        for (bad, id, code) in [
            (json!([1]), Value::Null, INVALID_REQUEST),
            (json!({"jsonrpc": "1.0", "id": "a", "method": "ping"}), json!("a"), INVALID_REQUEST),
            (json!({"jsonrpc": "2.0", "id": {"x": 1}, "method": "ping"}), Value::Null, INVALID_REQUEST),
            (json!({"jsonrpc": "2.0", "id": 1}), json!(1), INVALID_REQUEST),
            (json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": [1]}), json!(1), INVALID_PARAMS),
        ] {
            let (got_id, e) = message(bad.clone()).unwrap_err();
            assert_eq!((got_id, e.code), (id, code), "{bad}");
        }
    }

    #[test]
    fn rest_refusals_map_to_the_codes_the_sdk_reads() {
        let cases = [
            (ErrorCode::InvalidPlatformApiKey, Some(UNAUTHENTICATED)),
            (ErrorCode::PolicyDenied, Some(FORBIDDEN)),
            (ErrorCode::RateLimitExceeded, Some(RATE_LIMITED)),
            (ErrorCode::ValidationError, Some(INVALID_PARAMS)),
            (ErrorCode::BadRequest, Some(INVALID_PARAMS)),
            (ErrorCode::NotFound, None),
            (ErrorCode::InvalidStateTransition, None),
            (ErrorCode::InternalError, Some(INTERNAL_ERROR)),
        ];
        for (code, rpc) in cases {
            assert_eq!(code_of(ApiError::new(code, "x").status()), rpc, "{code:?}");
        }
        let e = RpcError::from(ApiError::new(ErrorCode::RateLimitExceeded, "slow down").with_retry_after(3));
        let data = e.data.unwrap();
        assert_eq!((e.code, data["retry_after"].as_u64()), (RATE_LIMITED, Some(3)));
        assert_eq!(data["error"]["code"], "rate_limit_exceeded");
    }
}
