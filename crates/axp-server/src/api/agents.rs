//! Agents: one agent's record and its intent stream (contract §2.2, §4.11, §4.12).
//!
//! Addresses travel in the path with their slashes (`/v1/agents/acme/prod/router/intents/stream`),
//! so one wildcard route serves both: a path ending in `/intents/stream` is the stream, anything
//! else names an agent.

use std::collections::HashMap;
use std::time::Duration;

use axp_core::api::{Agent, AgentResponse, ClaimIntentsResponse, ListAgentsResponse, ServiceAccount};
use axp_core::mesh::HealthStatus;
use axp_core::quota::day_of;
use axp_core::validate::Fields;
use axp_core::{AgentAddress, Status};
use axp_store::tables::MeshState;
use axp_store::{Tenant, Topic};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value};

use super::binding;
use super::events::{cursor, wait};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonObject, PathParams, QueryMap};
use crate::sse::{self, Source};
use crate::state::AppState;
use crate::streams::Hold;

async fn agent_route(
    state: State<AppState>,
    caller: Caller,
    PathParams(rest): PathParams<String>,
    query: QueryMap,
    headers: HeaderMap,
) -> ApiResult<Response> {
    match rest.strip_suffix("/intents/stream") {
        Some(address) => stream_intents(state, caller, address, query, headers).await,
        None => get_agent(state, caller, &rest).await.map(IntoResponse::into_response),
    }
}

fn parse_address(caller: &Caller, raw: &str) -> ApiResult<AgentAddress> {
    let raw = raw.trim_matches('/');
    let raw = raw.strip_prefix("agent:/").map(|r| r.trim_start_matches('/')).unwrap_or(raw);
    AgentAddress::parse(raw, &caller.0.tenant.scope())
        .map_err(|e| ApiError::new(axp_core::ErrorCode::InvalidAgentAddress, e.to_string()))
}

/// An agent as the agents API shows it (§4.12): its identity, its delivery binding (the `http`
/// secret never), and its presence: `connected` while it has a stream open on this server or
/// its last mesh heartbeat is recent (its derived health is `healthy`, contract §6 "Mesh"),
/// with `last_heartbeat_at` and `health_status`.
fn agent_view(state: &AppState, sa: &ServiceAccount, mesh: Option<&MeshState>) -> Agent {
    let streams = state.presence.streams(sa.workspace_id, &sa.agent_address);
    let last_heartbeat_at = mesh.and_then(|m| m.last_heartbeat_at);
    let health = HealthStatus::derive(
        state.clock.now(),
        last_heartbeat_at,
        mesh.is_some_and(|m| m.killed_at.is_some()),
    );
    let connected = streams > 0 || health == HealthStatus::Healthy;
    let mut extra = Map::new();
    extra.insert("last_heartbeat_at".into(), serde_json::to_value(last_heartbeat_at).unwrap_or(Value::Null));
    extra.insert("health_status".into(), Value::String(health.as_str().into()));
    Agent {
        address: sa.agent_address.clone(),
        service_account_id: Some(sa.service_account_id),
        service_account_name: Some(sa.name.clone()),
        display_name: Some(sa.display_name.clone()),
        status: Some(sa.status.clone()),
        delivery_mode: Some(sa.delivery_mode),
        delivery_config: sa.delivery_config.clone(),
        lease_seconds: sa.lease_seconds,
        connected_streams: Some(u32::try_from(streams).unwrap_or(u32::MAX)),
        connection_state: Some(if connected { "connected" } else { "disconnected" }.into()),
        created_at: Some(sa.created_at),
        updated_at: Some(sa.updated_at),
        extra,
    }
}

/// The mesh state of agent `sa` (its last heartbeat and kill switch), if it has one.
async fn mesh_state(state: &AppState, tenant: &Tenant, sa: &ServiceAccount) -> ApiResult<Option<MeshState>> {
    let today = day_of(state.clock.now());
    let (view, _) = state.store.mesh_agent(tenant, sa.service_account_id, (today, today), 0).await?;
    Ok(view.states.into_iter().next())
}

/// `GET /v1/agents?limit=` (the SDK's `org_id`/`workspace_id` are the key's own): `{ok, agents}`,
/// at most `limit` (default 100, at most 1000). Needs a role (403 for an agent-scoped key).
#[utoipa::path(
    get,
    path = "/v1/agents",
    tag = "agents",
    params(("limit" = Option<u32>, Query, description = "1 to 1000, default 100")),
    responses((status = 200, body = ListAgentsResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
pub(crate) async fn list_agents(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<ListAgentsResponse>> {
    caller.require_role()?;
    let limit = query.bounded("limit", 1, 1000)?.unwrap_or(100) as u32;
    let today = day_of(state.clock.now());
    let view = state.store.mesh_agents(&caller.0.tenant, today, today).await?;
    let states: HashMap<_, _> = view.states.iter().map(|m| (m.service_account_id, m)).collect();
    let agents: Vec<Agent> = view
        .agents
        .iter()
        .take(limit as usize)
        .map(|sa| agent_view(&state, sa, states.get(&sa.service_account_id).copied()))
        .collect();
    Ok(Json(ListAgentsResponse { ok: true, agents }))
}

/// `GET /v1/agents/{address...}`: `{ok, agent}`; 404 when no service account has the address.
/// An agent-scoped key reads only its own addresses (403 for others).
#[utoipa::path(
    get,
    path = "/v1/agents/{address}",
    tag = "agents",
    params(("address" = String, Path, description = "The agent address with its slashes, without `agent://` (e.g. `acme/prod/worker`), or a bare name in the key's workspace")),
    responses((status = 200, body = AgentResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn get_agent(
    State(state): State<AppState>,
    caller: Caller,
    raw: &str,
) -> ApiResult<Json<AgentResponse>> {
    let address = parse_address(&caller, raw)?;
    if !caller.is_own_address(address.as_str()) {
        caller.require_role()?;
    }
    let sa = state
        .store
        .find_agent(&caller.0.tenant, &address)
        .await?
        .ok_or_else(|| ApiError::not_found("agent"))?;
    let mesh = mesh_state(&state, &caller.0.tenant, &sa).await?;
    Ok(Json(AgentResponse { ok: true, agent: agent_view(&state, &sa, mesh.as_ref()) }))
}

/// `PUT /v1/agents/{address...}/delivery` `{delivery_mode, delivery_config?, lease_seconds?}`:
/// changes an agent's delivery binding. For `http` the response shows the signing secret once.
/// Workspace admins only (403).
#[utoipa::path(
    put,
    path = "/v1/agents/{address}/delivery",
    tag = "agents",
    params(("address" = String, Path, description = "The agent address with its slashes, without `agent://` (e.g. `acme/prod/worker`), or a bare name in the key's workspace")),
    request_body(content = Object, description = "`{delivery_mode: stream|poll|http|inbox|internal, delivery_config?, lease_seconds?}`"),
    responses((status = 200, body = AgentResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn set_delivery(
    State(state): State<AppState>,
    caller: Caller,
    raw: &str,
    body: Map<String, Value>,
) -> ApiResult<Json<AgentResponse>> {
    caller.require_workspace_admin()?;
    let address = parse_address(&caller, raw)?;
    let mut f = Fields::new(&body);
    let binding = binding::read(&mut f, &body, &state.options.dispatcher.policy).await;
    f.finish(())?;
    let mut sa = state
        .store
        .set_agent_binding(&caller.0.tenant, &address, binding.update, state.clock.now(), &caller.audit())
        .await
        .map_err(ApiError::missing("agent"))?;
    binding::reveal(&mut sa.delivery_config, binding.shown_secret);
    let mesh = mesh_state(&state, &caller.0.tenant, &sa).await?;
    Ok(Json(AgentResponse { ok: true, agent: agent_view(&state, &sa, mesh.as_ref()) }))
}

async fn agent_put_route(
    state: State<AppState>,
    caller: Caller,
    PathParams(rest): PathParams<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    match rest.strip_suffix("/delivery") {
        Some(address) => set_delivery(state, caller, address, body).await.map(IntoResponse::into_response),
        None => Err(ApiError::new(axp_core::ErrorCode::NotFound, "no such route")),
    }
}

/// `GET /v1/agents/{address...}/intents/stream?since=N&wait_seconds=W&status=A,B`: replays the
/// agent's queue after its cursor `since`, then streams new deliveries. A SUBMITTED intent
/// becomes DELIVERED (with `intent.delivered`) before its frame is written. At-least-once:
/// reconnecting with an older cursor redelivers. 429 when the key or workspace has its cap of
/// open streams (`streams`).
#[utoipa::path(
    get,
    path = "/v1/agents/{address}/intents/stream",
    tag = "agents",
    params(
        ("address" = String, Path, description = "The agent address with its slashes, without `agent://` (e.g. `acme/prod/worker`), or a bare name in the key's workspace"),
        ("since" = Option<u64>, Query, description = "The agent's cursor: replay after it; default 0"),
        ("wait_seconds" = Option<u64>, Query, description = "1 to 60 (default 15): how long the stream stays open without deliveries"),
        ("status" = Option<String>, Query, description = "A comma list of statuses to replay"),
        ("Last-Event-ID" = Option<u64>, Header, description = "The standard SSE resume cursor"),
    ),
    responses((status = 200, description = "An SSE stream of `intent.delivered` frames, one per intent handed to the agent (contract §4.11)", content_type = "text/event-stream")),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn stream_intents(
    State(state): State<AppState>,
    caller: Caller,
    raw: &str,
    query: QueryMap,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let address = parse_address(&caller, raw)?;
    caller.require_act_as(address.as_str())?;
    super::mesh::refuse_killed(&state, &caller.0.tenant, &[address.as_str()]).await?;
    let since = cursor(&query, &headers)?;
    let wait = wait(&query)?;
    let statuses = match query.str("status") {
        None => Status::OPEN.to_vec(),
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<Status>().map_err(|e| ApiError::invalid_query("status", &e.to_string())))
            .collect::<ApiResult<Vec<_>>>()?,
    };
    let slot = state.streams.acquire(&caller.0, Hold::Stream)?;
    let tenant = caller.0.tenant;
    let mut subscription = state.notifier.subscribe(Topic::Agent(tenant.workspace_id, address.to_string()));
    subscription.mark_seen();
    let source = Source::Agent { address, statuses };
    let first = source.fetch(&state, &tenant, since).await?;
    Ok(sse::stream(state, slot, tenant, source, subscription, since, wait, first))
}

async fn agent_post_route(
    state: State<AppState>,
    caller: Caller,
    PathParams(rest): PathParams<String>,
    query: QueryMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    match rest.strip_suffix("/intents/claim") {
        Some(address) => {
            claim_intents(state, caller, address, query, body).await.map(IntoResponse::into_response)
        }
        None => Err(ApiError::new(axp_core::ErrorCode::NotFound, "no such route")),
    }
}

/// Most intents one claim may take.
const CLAIM_MAX: u64 = 100;

/// `POST /v1/agents/{address...}/intents/claim` `{limit?, wait_seconds?}` (also as query
/// parameters): the poll binding's claim, an axp extension. Atomically leases up to `limit`
/// (default 1, at most 100) intents queued for the address that no one has claimed yet, each
/// moved to DELIVERED with a lease; workers sharing an address never get the same intent in the
/// same lease. With `wait_seconds` (0 to 60, default 0) it long-polls until something is queued.
/// 200 `{"ok": true, "intents": [<agent stream frame data>...]}`. A waiting claim counts as an
/// open stream: 429 when the key or workspace has its cap (`streams`).
#[utoipa::path(
    post,
    path = "/v1/agents/{address}/intents/claim",
    tag = "agents",
    params(
        ("address" = String, Path, description = "The agent address with its slashes, without `agent://` (e.g. `acme/prod/worker`), or a bare name in the key's workspace"),
        ("limit" = Option<u32>, Query, description = "1 to 100, default 1 (also in the body)"),
        ("wait_seconds" = Option<u64>, Query, description = "0 to 60, default 0: long-poll this long for work (also in the body)"),
    ),
    request_body(content = Object, description = "`{limit?, wait_seconds?}`"),
    responses((status = 200, body = ClaimIntentsResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn claim_intents(
    State(state): State<AppState>,
    caller: Caller,
    raw: &str,
    query: QueryMap,
    body: Map<String, Value>,
) -> ApiResult<Json<ClaimIntentsResponse>> {
    let address = parse_address(&caller, raw)?;
    caller.require_act_as(address.as_str())?;
    super::mesh::refuse_killed(&state, &caller.0.tenant, &[address.as_str()]).await?;
    let mut f = Fields::new(&body);
    let limit = f.u64("limit", &[]);
    let wait = f.u64("wait_seconds", &[]);
    f.finish(())?;
    let limit = match limit {
        Some(n) if (1..=CLAIM_MAX).contains(&n) => n,
        Some(_) => return Err(ApiError::invalid_query("limit", "must be 1 to 100")),
        None => query.bounded("limit", 1, CLAIM_MAX)?.unwrap_or(1),
    } as u32;
    let wait = match wait {
        Some(n) if n <= 60 => n,
        Some(_) => return Err(ApiError::invalid_query("wait_seconds", "must be 0 to 60")),
        None => query.bounded("wait_seconds", 0, 60)?.unwrap_or(0),
    };
    // A waiting claim holds a connection like a stream does, and counts against the same caps.
    let _slot = if wait > 0 { Some(state.streams.acquire(&caller.0, Hold::LongPoll)?) } else { None };
    let tenant = caller.0.tenant;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    let mut subscription = state.notifier.subscribe(Topic::Agent(tenant.workspace_id, address.to_string()));
    loop {
        subscription.mark_seen();
        let claimed = state.store.claim_for_agent(&tenant, &address, limit, state.clock.now()).await?;
        let now = tokio::time::Instant::now();
        if !claimed.is_empty() || now >= deadline {
            return Ok(Json(ClaimIntentsResponse { ok: true, intents: claimed }));
        }
        // With a shared database a wake-up can be lost (a dropped LISTEN connection): re-read
        // every `poll_interval` as SSE streams do, so a waiting claim never sleeps it out.
        let wake = state.options.poll_interval.map_or(deadline, |every| deadline.min(now + every));
        tokio::select! {
            () = subscription.changed() => {}
            () = tokio::time::sleep_until(wake) => {}
            () = state.shutdown.cancelled() => {
                return Ok(Json(ClaimIntentsResponse { ok: true, intents: Vec::new() }));
            }
        }
    }
}

/// The agent-address routes, documented with the SDK's templates (`/v1/agents/{address}/…`)
/// though one wildcard route serves them.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list_agents, get_agent, set_delivery, stream_intents, claim_intents))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/agents", get(list_agents))
        .route("/v1/agents/{*address}", get(agent_route).post(agent_post_route).put(agent_put_route))
}
