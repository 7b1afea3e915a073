//! The MCP tools: their catalogue (`tools/list`) and `tools/call`.
//!
//! `tools/call` `{name, arguments, owner_agent?, idempotency_key?}` answers
//! `{ok: true, tool, status: "completed"|"failed", data, content, isError}` (contract §6 "MCP";
//! `content` and `isError` are MCP's own result fields, so generic MCP clients read it too:
//! `content` is one text item holding `data` as JSON). `owner_agent` and `idempotency_key` may
//! come in `arguments` (the SDK copies them there) or beside them in `params`; `arguments` win.
//!
//! Each tool calls the REST handler of its route ([`super::super`]) with the caller's key, so
//! the route's validation and access checks decide, unchanged: `owner_agent` is the route's
//! `x-owner-agent`, `idempotency_key` its `Idempotency-Key` (a replay answers the stored
//! result). A refusal maps to the RPC error the SDK reads ([`super::rpc::code_of`]: 403 is
//! `-32003`, 422 `-32602`, 429 `-32004`); an operation that ran and failed (404 not found, as
//! for another workspace's intent; 409 conflict, as for resolving a finished intent) is a
//! `failed` result whose `data.error` is the REST error envelope's `error`.

use axum::http::{HeaderMap, HeaderValue};
use serde_json::{Map, Value, json};

use super::Session;
use super::rpc::{self, RpcError};
use crate::error::{ApiError, ApiResult};

mod run;

/// Arguments every tool takes beside its own: the owner to act for (§1.2; default the key's
/// address) and, for writes, the idempotency key (§1.8).
const OWNER_AGENT: &str = "owner_agent";
const IDEMPOTENCY_KEY: &str = "idempotency_key";

/// One tool: its name, what it does, and its `inputSchema` (`type: object`, `required`,
/// `properties` with the JSON types the tool accepts; the SDK checks them client-side).
struct Tool {
    name: &'static str,
    description: &'static str,
    required: &'static [&'static str],
    /// `(property, JSON type, description)`.
    properties: &'static [(&'static str, &'static str, &'static str)],
}

const OWNER: (&str, &str, &str) =
    (OWNER_AGENT, "string", "the owner to act for (agent://…); default: the key's own address");
const IDEMPOTENT: (&str, &str, &str) =
    (IDEMPOTENCY_KEY, "string", "repeat-safe key: the same key and arguments answer the first result");
const INTENT_ID: (&str, &str, &str) = ("intent_id", "string", "the intent's id (a UUID)");

/// Every tool, in the order `tools/list` shows them.
const TOOLS: &[Tool] = &[
    Tool {
        name: "axme.check_nick",
        description: "Whether a @nick is free in this workspace, and its normalised form and public address \
            (GET /v1/users/check-nick).",
        required: &["nick"],
        properties: &[("nick", "string", "the nick, with or without @"), OWNER],
    },
    Tool {
        name: "axme.resolve_contact",
        description: "The agent address behind a @nick, nick@ax, directory alias or agent address \
            (users resolve-nick, aliases resolve). Give `contact`, or `nick` or `alias`.",
        required: &[],
        properties: &[
            ("contact", "string", "a @nick, nick@ax, alias or agent address"),
            ("nick", "string", "a nick"),
            ("alias", "string", "a directory alias"),
            OWNER,
        ],
    },
    Tool {
        name: "axme.send",
        description: "Sends an intent to an agent (POST /v1/intents): `to` an agent address or @nick; \
            `text` goes into the payload. Answers its intent_id and status.",
        required: &["to"],
        properties: &[
            ("to", "string", "the receiving agent: agent://org/workspace/name, a short name, or @nick"),
            ("text", "string", "a message, stored as payload.text"),
            (
                "intent_type",
                "string",
                "a dotted lowercase name, e.g. notify.message.v1; default intent.ask.v1",
            ),
            ("payload", "object", "the intent's payload (at most 128 KiB)"),
            ("correlation_id", "string", "a UUID to correlate with; default a new one"),
            ("reply_to", "string", "who receives the completion in their inbox"),
            ("deadline_at", "string", "RFC 3339 time after which the intent times out"),
            ("human_task", "object", "a human task for the receiver to answer (contract §4.9)"),
            IDEMPOTENT,
            OWNER,
        ],
    },
    Tool {
        name: "axme.reply",
        description: "Replies on an inbox thread as the owner (POST /v1/inbox/{thread_id}/reply).",
        required: &["thread_id", "message"],
        properties: &[
            ("thread_id", "string", "the thread's id (its intent's id)"),
            ("message", "string", "1 to 5000 characters"),
            OWNER,
        ],
    },
    Tool {
        name: "axme.list_inbox",
        description: "The owner's inbox threads, newest change first (GET /v1/inbox).",
        required: &[],
        properties: &[
            ("status", "string", "pending, active or done"),
            ("limit", "integer", "1 to 200; default 50"),
            OWNER,
        ],
    },
    Tool {
        name: "axme.get_intent",
        description: "An intent: its status, parties, payload and result (GET /v1/intents/{intent_id}).",
        required: &["intent_id"],
        properties: &[INTENT_ID, OWNER],
    },
    Tool {
        name: "axme.observe",
        description: "An intent's lifecycle events after `since` (GET /v1/intents/{intent_id}/events); \
            with `wait_seconds`, waits that long for a new one when there is none yet. Pass the \
            answer's next_since as the next call's since.",
        required: &["intent_id"],
        properties: &[
            INTENT_ID,
            ("since", "integer", "the last seq seen (exclusive); default 0"),
            ("wait_seconds", "integer", "0 to 30: how long to wait for a new event; default 0"),
            OWNER,
        ],
    },
    Tool {
        name: "axme.resume",
        description: "Resumes an intent (POST /v1/intents/{intent_id}/resume): with only control fields it \
            moves to IN_PROGRESS; with a result it completes (action \"fail\" fails it); task_result \
            answers a human task.",
        required: &["intent_id"],
        properties: &[
            INTENT_ID,
            ("result", "object", "the step's result"),
            ("action", "string", "e.g. complete or fail"),
            ("outcome", "string", "e.g. success or failed"),
            ("task_result", "object", "the answer to the intent's human task: outcome, comment, fields"),
            ("approve_current_step", "boolean", "approve the current blocked step"),
            ("reason", "string", "why, for the audit trail (at most 2000 characters)"),
            ("expected_policy_generation", "integer", "refuse unless the policy generation is this one"),
            IDEMPOTENT,
            OWNER,
        ],
    },
    Tool {
        name: "axme.resolve",
        description: "Ends an intent (POST /v1/intents/{intent_id}/resolve): status COMPLETED with a \
            result, FAILED with an error, or CANCELED with a reason.",
        required: &["intent_id", "status"],
        properties: &[
            INTENT_ID,
            ("status", "string", "COMPLETED, FAILED or CANCELED"),
            ("result", "object", "the result, for COMPLETED"),
            ("error", "object", "the error, for FAILED"),
            ("reason", "string", "why, for CANCELED (at most 2000 characters)"),
            ("expected_policy_generation", "integer", "refuse unless the policy generation is this one"),
            IDEMPOTENT,
            OWNER,
        ],
    },
];

impl Tool {
    fn input_schema(&self) -> Value {
        let properties: Map<String, Value> = self
            .properties
            .iter()
            .map(|(name, ty, description)| {
                ((*name).to_owned(), json!({"type": ty, "description": description}))
            })
            .collect();
        json!({"type": "object", "required": self.required, "properties": properties})
    }

    /// 422 unless every required argument is there and every declared one has its type (what
    /// the SDK checks before sending, checked again for every other client).
    fn check(&self, arguments: &Map<String, Value>) -> ApiResult<()> {
        let invalid = |m: String| ApiError::new(axp_core::ErrorCode::ValidationError, m);
        if let Some(missing) = self.required.iter().find(|r| !arguments.contains_key(**r)) {
            return Err(invalid(format!("{}: argument {missing} is required", self.name)));
        }
        for (name, ty, _) in self.properties {
            let Some(value) = arguments.get(*name) else { continue };
            let fits = match *ty {
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "boolean" => value.is_boolean(),
                "object" => value.is_object(),
                other => unreachable!("tool {} declares type {other}", self.name),
            };
            if !fits {
                return Err(invalid(format!("{}: argument {name} must be a {ty}", self.name)));
            }
        }
        Ok(())
    }
}

/// `tools/list`'s `tools`: `[{name, description, inputSchema}]`.
pub(super) fn catalogue() -> Vec<Value> {
    TOOLS
        .iter()
        .map(|t| json!({"name": t.name, "description": t.description, "inputSchema": t.input_schema()}))
        .collect()
}

/// `tools/call`: runs the tool as the caller; see the module documentation for the answer.
pub(super) async fn call(session: &Session, mut params: Map<String, Value>) -> Result<Value, RpcError> {
    let Some(Value::String(name)) = params.remove("name") else {
        return Err(RpcError::new(rpc::INVALID_PARAMS, "tools/call needs params.name, a string"));
    };
    let Some(tool) = TOOLS.iter().find(|t| t.name == name) else {
        return Err(RpcError::new(rpc::INVALID_PARAMS, format!("no such tool: {name}")));
    };
    let mut arguments = match params.remove("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(arguments)) => arguments,
        Some(_) => return Err(RpcError::new(rpc::INVALID_PARAMS, "params.arguments must be an object")),
    };
    for key in [OWNER_AGENT, IDEMPOTENCY_KEY] {
        if let Some(value) = params.remove(key).filter(|_| !arguments.contains_key(key)) {
            arguments.insert(key.to_owned(), value);
        }
    }
    let outcome = match tool.check(&arguments) {
        Ok(()) => match Rest::new(session, &arguments) {
            Ok(rest) => run::run(&rest, tool.name, arguments).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match outcome {
        Ok(data) => Ok(result(tool.name, data, false)),
        Err(e) if rpc::code_of(e.status()).is_none() => Ok(result(tool.name, rpc::error_data(&e), true)),
        Err(e) => Err(e.into()),
    }
}

/// The `tools/call` result of `tool` with `data`.
fn result(tool: &str, data: Value, failed: bool) -> Value {
    let text = data.to_string();
    json!({
        "ok": true,
        "tool": tool,
        "status": if failed { "failed" } else { "completed" },
        "data": data,
        "content": [{"type": "text", "text": text}],
        "isError": failed,
    })
}

/// A REST handler call as the caller: the session, and the headers the route reads for the
/// owner scope and the idempotency key.
pub(super) struct Rest<'s> {
    session: &'s Session,
    headers: HeaderMap,
}

impl<'s> Rest<'s> {
    /// `owner_agent` becomes `x-owner-agent`, `idempotency_key` `Idempotency-Key` (422 when
    /// either is not visible ASCII).
    fn new(session: &'s Session, arguments: &Map<String, Value>) -> ApiResult<Self> {
        let mut headers = HeaderMap::new();
        for (argument, header) in [(OWNER_AGENT, "x-owner-agent"), (IDEMPOTENCY_KEY, "idempotency-key")] {
            if let Some(value) = arguments.get(argument).and_then(Value::as_str) {
                let value = HeaderValue::from_str(value).map_err(|_| {
                    ApiError::new(
                        axp_core::ErrorCode::ValidationError,
                        format!("{argument} must be visible ASCII"),
                    )
                })?;
                headers.insert(header, value);
            }
        }
        Ok(Self { session, headers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_declares_only_the_types_it_reads_and_requires_what_it_declares() {
        for tool in TOOLS {
            let schema = tool.input_schema();
            assert_eq!(schema["type"], "object");
            for r in tool.required {
                assert!(
                    schema["properties"].get(*r).is_some(),
                    "{}: {r} required but not declared",
                    tool.name
                );
            }
            // Every declared type is one `check` knows.
            let all = tool.properties.iter().map(|(n, ty, _)| {
                let v = match *ty {
                    "string" => json!("x"),
                    "integer" => json!(1),
                    "boolean" => json!(true),
                    _ => json!({}),
                };
                ((*n).to_owned(), v)
            });
            assert!(tool.check(&all.collect()).is_ok(), "{}", tool.name);
        }
        let send = TOOLS.iter().find(|t| t.name == "axme.send").unwrap();
        let bad = json!({"to": "a", "payload": "not an object"});
        assert!(send.check(bad.as_object().unwrap()).is_err());
        assert!(send.check(&Map::new()).is_err());
    }
}
