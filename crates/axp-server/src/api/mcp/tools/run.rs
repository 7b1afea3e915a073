//! What each tool runs: the REST handler of its route, called in-process as the caller (never an
//! HTTP call to this server), its JSON answer becoming the tool's `data`.

use std::collections::HashMap;
use std::time::Duration;

use axp_core::quota::Dimension;
use axp_core::users::{Nick, PUBLIC_DOMAIN};
use axp_core::{AgentAddress, ErrorCode};
use axp_engine::{Wake, wait_until};
use axp_store::Topic;
use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use super::{IDEMPOTENCY_KEY, OWNER_AGENT, Rest};
use crate::api::{directory, events, inbox, intents, users};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonObject, PathParams, QueryMap, intent_id};
use crate::streams::Hold;

/// Longest `axme.observe` wait, in seconds: the call holds its HTTP request open that long.
const OBSERVE_MAX_WAIT_SECONDS: u64 = 30;

/// The intent type `axme.send` uses when none is given (contract §5.3's first supported type).
const DEFAULT_INTENT_TYPE: &str = "intent.ask.v1";

/// Runs tool `name` (one of [`super::TOOLS`], its arguments checked) as the caller.
pub(super) async fn run(rest: &Rest<'_>, name: &str, arguments: Map<String, Value>) -> ApiResult<Value> {
    let args = Args(arguments);
    match name {
        "axme.check_nick" => {
            let query = query(&[("nick", args.str("nick"))]);
            data(users::check_nick(rest.state(), rest.caller(), query).await).await
        }
        "axme.resolve_contact" => resolve_contact(rest, &args).await,
        "axme.send" => send(rest, &args).await,
        "axme.reply" => {
            let path = PathParams(args.string("thread_id"));
            let body = JsonObject(args.only(&["message"]));
            let headers = rest.headers.clone();
            let reply = inbox::reply(rest.state(), rest.caller(), path, headers, query(&[]), body);
            rest.counted(Dimension::InboxWritesPerDay, async { data(reply.await).await }).await
        }
        "axme.list_inbox" => {
            let limit = args.0.get("limit").map(Value::to_string);
            let query = query(&[("status", args.str("status")), ("limit", limit.as_deref())]);
            data(inbox::list_inbox(rest.state(), rest.caller(), rest.headers.clone(), query).await).await
        }
        "axme.get_intent" => {
            data(intents::get_intent(rest.state(), rest.caller(), PathParams(args.string("intent_id"))).await)
                .await
        }
        "axme.observe" => observe(rest, &args).await,
        "axme.resume" => {
            let (id, body) = (PathParams(args.string("intent_id")), JsonObject(args.body()));
            let (headers, query) = (rest.headers.clone(), query(&[]));
            data(intents::resume_intent(rest.state(), rest.caller(), id, headers, query, body).await).await
        }
        "axme.resolve" => {
            let (id, body) = (PathParams(args.string("intent_id")), JsonObject(args.body()));
            let (headers, query) = (rest.headers.clone(), query(&[]));
            data(intents::resolve_intent(rest.state(), rest.caller(), id, headers, query, body).await).await
        }
        other => unreachable!("tool {other} is in the catalogue but not run"),
    }
}

/// A tool's arguments, their types already checked against its `inputSchema`.
struct Args(Map<String, Value>);

impl Args {
    fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// A string argument, `""` when absent (the handler then refuses it as it would on REST).
    fn string(&self, name: &str) -> String {
        self.str(name).unwrap_or_default().to_owned()
    }

    /// The arguments named, for a body.
    fn only(&self, names: &[&str]) -> Map<String, Value> {
        self.0
            .iter()
            .filter(|(k, _)| names.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// A command's body: every argument but the intent id, the owner and the idempotency key
    /// (which travel as the route's path and headers).
    fn body(&self) -> Map<String, Value> {
        let meta = ["intent_id", OWNER_AGENT, IDEMPOTENCY_KEY];
        self.0
            .iter()
            .filter(|(k, _)| !meta.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// A query string of the pairs given (absent values left out).
fn query(pairs: &[(&str, Option<&str>)]) -> QueryMap {
    QueryMap(
        pairs
            .iter()
            .filter_map(|(k, v)| v.map(|v| ((*k).to_owned(), v.to_owned())))
            .collect::<HashMap<_, _>>(),
    )
}

/// A handler's JSON answer (a fresh one or an idempotent replay's stored body).
fn data_of(bytes: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(bytes).map_err(|e| {
        tracing::error!(error = %e, "a REST handler answered something that is not JSON");
        ApiError::new(ErrorCode::InternalError, "internal error")
    })
}

/// The JSON body of a handler's answer, or its error.
async fn data(answer: ApiResult<impl IntoResponse>) -> ApiResult<Value> {
    // Handlers answer with in-memory bodies: reading one never waits on the network.
    let bytes = axum::body::to_bytes(answer?.into_response().into_body(), usize::MAX).await.map_err(|e| {
        tracing::error!(error = %e, "reading a REST handler's answer");
        ApiError::new(ErrorCode::InternalError, "internal error")
    })?;
    data_of(&bytes)
}

impl Rest<'_> {
    fn state(&self) -> State<crate::state::AppState> {
        State(self.session.state.clone())
    }

    fn caller(&self) -> crate::extract::Caller {
        self.session.caller()
    }

    /// `write`, held to and counted toward the workspace's daily quota `dimension`, as
    /// admission does for the REST route (`POST /v1/intents`, `POST /v1/inbox/…`).
    async fn counted(
        &self,
        dimension: Dimension,
        write: impl Future<Output = ApiResult<Value>>,
    ) -> ApiResult<Value> {
        crate::admission::counted(&self.session.state, &self.session.principal, dimension, write).await
    }
}

/// A contact that is a nick by its spelling: `@nick` or `nick@ax`; its nick.
fn nick_spelled(contact: &str) -> Option<&str> {
    let contact = contact.trim();
    if contact.starts_with('@') {
        return Some(contact);
    }
    contact.strip_suffix(PUBLIC_DOMAIN).and_then(|c| c.strip_suffix('@'))
}

/// `axme.resolve_contact`: `{contact, kind: "address"|"nick"|"alias", resolved, address, detail?}`.
///
/// - an `agent://…` address: normalised (`kind: address`);
/// - `nick`, or a `contact` spelled `@nick` / `nick@ax`: the user with that nick in the
///   workspace (`GET /v1/users/resolve-nick`), `address` its `owner_agent`;
/// - `alias`: the directory alias (`GET /v1/aliases/resolve` in the caller's workspace, which
///   needs a role there), `address` its metadata's `agent_address` (or `address`) when set;
/// - another `contact`: a user's nick if one has it, else an alias if the caller may read the
///   directory and one has it, else a short agent name (`kind: address`).
async fn resolve_contact(rest: &Rest<'_>, args: &Args) -> ApiResult<Value> {
    let (nick, alias) = (args.str("nick"), args.str("alias"));
    let Some(contact) = args.str("contact").or(nick).or(alias) else {
        return Err(ApiError::new(ErrorCode::ValidationError, "give contact, nick or alias"));
    };
    let answer = |kind: &str, address: Option<&str>, detail: Value| json!({"contact": contact, "kind": kind, "resolved": address.is_some(), "address": address, "detail": detail});
    if alias.is_none() && contact.trim().starts_with(axp_core::address::SCHEME) {
        let address = parse_address(rest, contact)?;
        return Ok(answer("address", Some(&address), Value::Null));
    }
    let spelled = nick_spelled(contact);
    if alias.is_none() && (nick.is_some() || spelled.is_some() || Nick::parse(contact).is_ok()) {
        let found = resolve_nick(rest, spelled.unwrap_or(contact)).await?;
        let address = found["owner_agent"].as_str().map(str::to_owned);
        if address.is_some() || nick.is_some() || spelled.is_some() {
            return Ok(answer("nick", address.as_deref(), found));
        }
    }
    let tenant = &rest.session.principal.tenant;
    let (org, ws) = (tenant.org_id.0.to_string(), tenant.workspace_id.0.to_string());
    let query = query(&[("org_id", Some(&org)), ("workspace_id", Some(&ws)), ("alias", Some(contact))]);
    match data(directory::resolve_alias(rest.state(), rest.caller(), query).await).await {
        Ok(found) => {
            let metadata = &found["resolution"]["alias"]["metadata"];
            let address = metadata["agent_address"]
                .as_str()
                .or_else(|| metadata["address"].as_str())
                .map(str::to_owned);
            Ok(answer("alias", address.as_deref(), found))
        }
        Err(e) if alias.is_some() => Err(e),
        // Not an alias this caller may see: a short agent name.
        Err(_) => Ok(answer("address", Some(&parse_address(rest, contact)?), Value::Null)),
    }
}

fn parse_address(rest: &Rest<'_>, raw: &str) -> ApiResult<String> {
    AgentAddress::parse(raw, &rest.session.principal.tenant.scope())
        .map(AgentAddress::into_string)
        .map_err(|e| ApiError::new(ErrorCode::InvalidAgentAddress, e.to_string()))
}

/// `GET /v1/users/resolve-nick?nick=` as the caller.
async fn resolve_nick(rest: &Rest<'_>, nick: &str) -> ApiResult<Value> {
    data(users::resolve_nick(rest.state(), rest.caller(), query(&[("nick", Some(nick))])).await).await
}

/// `axme.send`: `POST /v1/intents` with `to_agent` = `to` (a `@nick` / `nick@ax` resolved to
/// its user's address; 404 when no user has it), `payload` with `text` added as
/// `payload.text`, `intent_type` default [`DEFAULT_INTENT_TYPE`], and the optional create
/// fields passed through.
async fn send(rest: &Rest<'_>, args: &Args) -> ApiResult<Value> {
    let to = args.string("to");
    let to = match nick_spelled(&to) {
        Some(nick) => resolve_nick(rest, nick).await?["owner_agent"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ApiError::not_found(&format!("a user with the nick {to}")))?,
        None => to,
    };
    let mut body = args.only(&["correlation_id", "reply_to", "deadline_at", "human_task"]);
    let mut payload = args.0.get("payload").and_then(Value::as_object).cloned().unwrap_or_default();
    if let Some(text) = args.0.get("text") {
        payload.insert("text".into(), text.clone());
    }
    body.insert("intent_type".into(), json!(args.str("intent_type").unwrap_or(DEFAULT_INTENT_TYPE)));
    body.insert("to_agent".into(), json!(to));
    body.insert("payload".into(), Value::Object(payload));
    let headers = rest.headers.clone();
    let create = intents::create_intent(rest.state(), rest.caller(), headers, query(&[]), JsonObject(body));
    rest.counted(Dimension::IntentsPerDay, async { data(create.await).await }).await
}

/// `axme.observe`: `GET /v1/intents/{id}/events?since=` (`{ok, events, next_since}`). With
/// `wait_seconds` (at most [`OBSERVE_MAX_WAIT_SECONDS`]) and no event yet, it waits for a
/// commit to the intent (or the replicas' fallback poll), reading again after each, until an
/// event comes or the time is up; then it answers what it has (maybe no events). A wait holds
/// one of the key's stream slots, like an SSE stream (429 when they are all taken).
async fn observe(rest: &Rest<'_>, args: &Args) -> ApiResult<Value> {
    let raw_id = args.string("intent_id");
    let since = args.0.get("since").map(Value::to_string);
    let wait = match args.0.get("wait_seconds").map(|v| v.as_u64()) {
        None => 0,
        Some(Some(w)) if w <= OBSERVE_MAX_WAIT_SECONDS => w,
        Some(_) => {
            return Err(ApiError::new(
                ErrorCode::ValidationError,
                format!("wait_seconds must be 0 to {OBSERVE_MAX_WAIT_SECONDS}"),
            ));
        }
    };
    let state = &rest.session.state;
    let read = async || {
        let query = query(&[("since", since.as_deref())]);
        data(events::list_events(rest.state(), rest.caller(), PathParams(raw_id.clone()), query).await).await
    };
    let has_events = |found: &Value| found["events"].as_array().is_some_and(|e| !e.is_empty());
    let mut subscription = state.notifier.subscribe(Topic::Intent(intent_id(&raw_id)?));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    let mut slot = None;
    loop {
        // Marked before the read: a commit landing during it still wakes the wait below.
        subscription.mark_seen();
        let found = read().await?;
        if wait == 0 || has_events(&found) {
            return Ok(found);
        }
        if slot.is_none() {
            slot = Some(state.streams.acquire(&rest.session.principal, Hold::LongPoll)?);
        }
        let woken = wait_until(
            state.clock.as_ref(),
            None,
            subscription.changed(),
            &state.shutdown,
            state.options.poll_interval,
        );
        tokio::select! {
            wake = woken => if wake == Wake::Cancelled { return Ok(found) },
            () = tokio::time::sleep_until(deadline) => return Ok(found),
        }
    }
}
