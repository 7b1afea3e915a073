//! MCP, the Model Context Protocol, at `POST /mcp` (contract §6 "MCP", Appendix A checks
//! 34–36): JSON-RPC 2.0 over the MCP streamable-HTTP transport, answered with
//! `application/json` (no SSE, no session).
//!
//! - Authentication is every route's (§1.1): a request without a valid key is HTTP 401 before
//!   any JSON-RPC is read. With one, every request answers HTTP 200 with one JSON-RPC response
//!   (`result` or `error`, §0.8); a body of notifications only (no `id`, e.g.
//!   `notifications/initialized`) answers 202 with no body. A batch (a JSON array, at most
//!   [`MAX_BATCH`] messages) answers an array of the requests' responses, in order.
//! - Methods: `initialize`, `ping`, `tools/list` and `tools/call` ([`tools`]); any other is
//!   `-32601`. Error codes are those the official SDK maps ([`rpc`]).
//! - A tool does what its REST route does, through the same handler and the same access
//!   checks, as the caller's key: MCP gives an AI agent no right the key does not have.

mod rpc;
mod tools;

use axp_store::Principal;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{Value, json};

use self::rpc::{Message, RpcError};
use crate::error::ApiError;
use crate::extract::Caller;
use crate::state::AppState;

/// The protocol revision the contract names, answered when the client asks for none or for one
/// this server does not know.
const PROTOCOL_VERSION: &str = "2024-11-05";

/// Revisions whose `initialize`, `tools/list` and `tools/call` this server answers as they
/// specify; a client asking for one of them gets it back.
const PROTOCOL_VERSIONS: [&str; 3] = [PROTOCOL_VERSION, "2025-03-26", "2025-06-18"];

/// Most messages in one batch.
pub(crate) const MAX_BATCH: usize = 20;

/// Who calls, for the tools: the authenticated principal and the request's trace id.
pub(super) struct Session {
    state: AppState,
    principal: Principal,
    trace: Option<String>,
}

impl Session {
    /// The caller again, for one more handler call (an extractor is consumed by its handler).
    fn caller(&self) -> Caller {
        Caller(self.principal.clone(), self.trace.clone())
    }
}

/// `POST /mcp`: one JSON-RPC message or a batch of them.
#[utoipa::path(
    post,
    path = "/mcp",
    tag = "mcp",
    request_body(content = Object, description = "One JSON-RPC 2.0 message (`{jsonrpc: \"2.0\", id?, method, params?}`) or a batch of 1 to 20; methods `initialize`, `ping`, `tools/list`, `tools/call`"),
    responses((status = 200, description = "One JSON-RPC response (`result` or `error`), or an array of them for a batch", content_type = "application/json"), (status = 202, description = "Notifications only: no body")),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn mcp(State(state): State<AppState>, caller: Caller, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return ApiError::new(axp_core::ErrorCode::PayloadTooLarge, "request body is too large")
                .into_response();
        }
        Err(rejection) => {
            return ApiError::bad_request(format!("could not read the request body: {rejection}"))
                .into_response();
        }
    };
    let Caller(principal, trace) = caller;
    let session = Session { state, principal, trace };
    let value = match serde_json::from_slice::<Value>(&body) {
        Ok(value) => value,
        Err(e) => {
            let e = RpcError::new(rpc::PARSE_ERROR, format!("the body is not JSON: {e}"));
            return Json(rpc::failure(Value::Null, e)).into_response();
        }
    };
    match value {
        Value::Array(messages) if messages.is_empty() || messages.len() > MAX_BATCH => {
            let e = RpcError::new(rpc::INVALID_REQUEST, format!("a batch holds 1 to {MAX_BATCH} messages"));
            Json(rpc::failure(Value::Null, e)).into_response()
        }
        Value::Array(messages) => {
            let mut answers = Vec::new();
            for message in messages {
                answers.extend(answer(&session, message).await);
            }
            if answers.is_empty() { accepted() } else { Json(Value::Array(answers)).into_response() }
        }
        message => match answer(&session, message).await {
            Some(answer) => Json(answer).into_response(),
            None => accepted(),
        },
    }
}

/// 202 with no body: the answer to notifications (MCP streamable-HTTP transport).
fn accepted() -> Response {
    StatusCode::ACCEPTED.into_response()
}

/// The response to one message; `None` for a notification, which is answered by nothing and
/// runs nothing (`notifications/initialized`, `notifications/cancelled`, …).
async fn answer(session: &Session, message: Value) -> Option<Value> {
    let Message { id, method, params } = match rpc::message(message) {
        Ok(message) => message,
        Err((id, e)) => return Some(rpc::failure(id, e)),
    };
    let id = id?;
    let result = match method.as_str() {
        "initialize" => Ok(initialize(&params)),
        "ping" => Ok(json!({})),
        "tools/list" => Ok(json!({"tools": tools::catalogue()})),
        "tools/call" => tools::call(session, params).await,
        other => Err(RpcError::new(rpc::METHOD_NOT_FOUND, format!("no such method: {other}"))),
    };
    Some(match result {
        Ok(result) => rpc::success(id, result),
        Err(e) => rpc::failure(id, e),
    })
}

/// `initialize` `{protocolVersion?}`: the revision (the client's when this server speaks it),
/// the capabilities (tools, no change notifications) and who this server is.
fn initialize(params: &serde_json::Map<String, Value>) -> Value {
    let asked = params.get("protocolVersion").and_then(Value::as_str);
    let version = asked.filter(|v| PROTOCOL_VERSIONS.contains(v)).unwrap_or(PROTOCOL_VERSION);
    json!({
        "protocolVersion": version,
        "capabilities": {"tools": {"listChanged": false}},
        "serverInfo": {"name": "axp", "version": env!("CARGO_PKG_VERSION")},
        "instructions": "axp runs durable intents: send one to an agent (axme.send), follow it \
            (axme.get_intent, axme.observe), answer or finish one sent to you (axme.resume, \
            axme.resolve), and work an inbox (axme.list_inbox, axme.reply). Addresses look like \
            agent://org/workspace/name; @nick and alias names resolve with axme.resolve_contact.",
    })
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(mcp))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/mcp", post(mcp))
}
