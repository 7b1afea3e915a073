//! The agent mesh (contract §6 "Mesh", the SDK's `axme_sdk/mesh.py`): heartbeats, the agents
//! list with derived health, agent detail, the kill switch and the mesh event log. An agent's
//! `address_id` is its service account id ([`axp_core::mesh`]).
//!
//! Who may call: a heartbeat is any writing key's own (its service account's address); reading
//! the mesh needs a role in the workspace (agent-scoped keys 403); kill and resume need
//! `workspace_admin`, `org_admin` or `org_owner`. Another workspace's agent is 404.
//!
//! The kill switch is enforced by [`refuse_killed`] on every path an agent's work takes: intents
//! to it and from its keys, its stream and its claims (403 `policy_denied`); an open stream of
//! it ends when the kill commits (`crate::sse`).

use std::collections::HashMap;

use axp_core::ErrorCode;
use axp_core::Timestamp;
use axp_core::api::ServiceAccount;
use axp_core::ids::ServiceAccountId;
use axp_core::mesh::{
    HealthStatus, HeartbeatMetrics, HeartbeatResponse, KillSwitchResponse, MeshAgent, MeshAgentResponse,
    MeshAgentsResponse, MeshEventsResponse, MeshSummary, MetricsTotal, Window,
};
use axp_core::quota::day_of;
use axp_store::tables::MeshState;
use axp_store::{MeshView, Tenant};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonObject, PathParams, QueryMap};
use crate::state::AppState;

/// Mesh events an agent's detail shows.
const DETAIL_EVENTS: u32 = 20;

/// 403 `policy_denied` when any of `addresses` is a killed agent of `tenant`'s workspace. Reads
/// the cached killed set: no database read unless a kill or resume committed since the last one.
pub(crate) async fn refuse_killed(state: &AppState, tenant: &Tenant, addresses: &[&str]) -> ApiResult<()> {
    let killed = state.store.killed_agents(tenant).await?;
    match addresses.iter().find(|a| killed.contains(**a)) {
        Some(address) => Err(ApiError::new(
            ErrorCode::PolicyDenied,
            format!(
                "agent {address} is killed: its kill switch is on (POST /v1/mesh/agents/{{address_id}}/resume)"
            ),
        )),
        None => Ok(()),
    }
}

/// Whether the agent `address` of `tenant`'s workspace is killed now (open streams ask on every
/// wake-up; a failed read counts as not killed, the next wake-up asks again).
pub(crate) async fn is_killed(state: &AppState, tenant: &Tenant, address: &str) -> bool {
    state.store.killed_agents(tenant).await.is_ok_and(|k| k.contains(address))
}

fn address_id(raw: &str) -> ApiResult<ServiceAccountId> {
    raw.parse::<uuid::Uuid>().map(ServiceAccountId).map_err(|_| ApiError::not_found("agent"))
}

fn window(query: &QueryMap, now: Timestamp) -> ApiResult<(i64, i64)> {
    let window = match query.str("window") {
        None => Window::default(),
        Some(w) => {
            Window::parse(w).ok_or_else(|| ApiError::invalid_query("window", "must be day, week or month"))?
        }
    };
    let today = day_of(now);
    Ok((window.first_day(today), today))
}

/// An agent as the mesh shows it, at `now`, with `total` its metrics over the window.
fn mesh_agent(
    sa: &ServiceAccount,
    state: Option<&MeshState>,
    total: &MetricsTotal,
    now: Timestamp,
) -> MeshAgent {
    let last_heartbeat_at = state.and_then(|s| s.last_heartbeat_at);
    let killed_at = state.and_then(|s| s.killed_at);
    let mut metadata = Map::new();
    metadata.insert("service_account_name".into(), Value::String(sa.name.clone()));
    metadata.insert("delivery_mode".into(), serde_json::to_value(sa.delivery_mode).unwrap_or(Value::Null));
    metadata.insert("status".into(), Value::String(sa.status.clone()));
    if let Some(d) = &sa.description {
        metadata.insert("description".into(), Value::String(d.clone()));
    }
    MeshAgent {
        address_id: sa.service_account_id,
        address: sa.agent_address.clone(),
        display_name: Some(sa.display_name.clone()),
        health_status: HealthStatus::derive(now, last_heartbeat_at, killed_at.is_some()),
        last_heartbeat_at,
        killed_at,
        created_at: sa.created_at,
        intents_period: total.intents_total,
        cost_period: total.cost_usd,
        metadata: Some(metadata),
        metrics: None,
        events: None,
    }
}

/// The agents of `view` as the mesh shows them at `now`, oldest first.
fn mesh_agents(view: &MeshView, now: Timestamp) -> Vec<MeshAgent> {
    let states: HashMap<ServiceAccountId, &MeshState> =
        view.states.iter().map(|s| (s.service_account_id, s)).collect();
    let mut totals: HashMap<ServiceAccountId, MetricsTotal> = HashMap::new();
    for row in &view.metrics {
        totals.entry(row.service_account_id).or_default().add(&row.total);
    }
    view.agents
        .iter()
        .map(|sa| {
            let total = totals.get(&sa.service_account_id).copied().unwrap_or_default();
            let mut agent = mesh_agent(sa, states.get(&sa.service_account_id).copied(), &total, now);
            agent.metrics = Some(total.to_wire());
            agent
        })
        .collect()
}

/// `POST /v1/mesh/heartbeat` (body absent, `{}` or `{"metrics": {intents_total,
/// intents_succeeded, intents_failed, avg_latency_ms, cost_usd}}`): the caller's agent (its
/// key's service account address) is alive now; metrics are added to its row of the UTC day.
/// → `{ok, address_id, health_status, last_heartbeat_at, killed}`. A killed agent may still
/// beat (and learns `killed: true`). 403 for viewer roles, 404 for a caller with no agent
/// (a person), 422 for malformed metrics.
#[utoipa::path(
    post,
    path = "/v1/mesh/heartbeat",
    tag = "mesh",
    request_body(content = Object, description = "May be absent: `{}` or `{metrics: {intents_total, intents_succeeded, intents_failed, avg_latency_ms, cost_usd}}`"),
    responses((status = 200, body = HeartbeatResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn heartbeat(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<HeartbeatResponse>> {
    caller.require_writer()?;
    let metrics = match body.get("metrics") {
        None | Some(Value::Null) => None,
        Some(m) => Some(
            serde_json::from_value::<HeartbeatMetrics>(m.clone())
                .map_err(|e| ApiError::new(ErrorCode::ValidationError, format!("metrics: {e}")))?,
        ),
    };
    let tenant = &caller.0.tenant;
    let agent = state
        .store
        .find_agent(tenant, &caller.0.agent_address)
        .await?
        .ok_or_else(|| ApiError::not_found("agent"))?;
    let now = state.clock.now();
    let after = state.store.mesh_heartbeat(tenant, &agent, metrics, now).await?;
    let killed = after.killed_at.is_some();
    Ok(Json(HeartbeatResponse {
        ok: true,
        address_id: agent.service_account_id,
        health_status: HealthStatus::derive(now, after.last_heartbeat_at, killed),
        last_heartbeat_at: after.last_heartbeat_at.unwrap_or(now),
        killed,
    }))
}

/// `GET /v1/mesh/agents?limit=100&health=&window=day|week|month`: `{ok, agents, summary}`. The
/// agents (oldest first) of the `health` given, at most `limit` (1 to 1000); `summary` counts
/// the whole workspace. `intents_period`/`cost_period` sum the agents' reports over the window
/// (default `day`: today, UTC). Health is derived at the request's time (engine clock).
#[utoipa::path(
    get,
    path = "/v1/mesh/agents",
    tag = "mesh",
    operation_id = "mesh_list_agents",
    params(
        ("limit" = Option<u32>, Query, description = "1 to 1000, default 100"),
        ("health" = Option<String>, Query, description = "Only agents of this health: `healthy`, `degraded`, `unreachable`, `killed` or `unknown`"),
        ("window" = Option<String>, Query, description = "`day` (default: today, UTC), `week` or `month`: the period metrics are summed over"),
    ),
    responses((status = 200, body = MeshAgentsResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
pub(crate) async fn list_agents(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<MeshAgentsResponse>> {
    caller.require_role()?;
    let limit = query.bounded("limit", 1, 1000)?.unwrap_or(100) as usize;
    let health = match query.str("health") {
        None => None,
        Some(h) => Some(HealthStatus::parse(h).ok_or_else(|| {
            ApiError::invalid_query("health", "must be healthy, degraded, unreachable, killed or unknown")
        })?),
    };
    let now = state.clock.now();
    let (from, to) = window(&query, now)?;
    let view = state.store.mesh_agents(&caller.0.tenant, from, to).await?;
    let mut summary = MeshSummary::default();
    let mut agents = Vec::new();
    for mut agent in mesh_agents(&view, now) {
        summary.count(agent.health_status);
        if health.is_none_or(|h| h == agent.health_status) && agents.len() < limit {
            agent.metrics = None;
            agents.push(agent);
        }
    }
    Ok(Json(MeshAgentsResponse { ok: true, agents, summary }))
}

/// `GET /v1/mesh/agents/{address_id}?window=`: `{ok, agent}` with `metrics` (its reports summed
/// over the window) and `events` (its newest mesh events). 404 for an unknown id or another
/// workspace's.
#[utoipa::path(
    get,
    path = "/v1/mesh/agents/{address_id}",
    tag = "mesh",
    operation_id = "mesh_get_agent",
    params(("address_id" = String, Path, description = "The agent's service account id (UUID)"), ("window" = Option<String>, Query, description = "`day` (default: today, UTC), `week` or `month`: the period metrics are summed over")),
    responses((status = 200, body = MeshAgentResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn get_agent(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    query: QueryMap,
) -> ApiResult<Json<MeshAgentResponse>> {
    caller.require_role()?;
    let id = address_id(&id)?;
    let now = state.clock.now();
    let days = window(&query, now)?;
    let (view, events) = state
        .store
        .mesh_agent(&caller.0.tenant, id, days, DETAIL_EVENTS)
        .await
        .map_err(ApiError::missing("agent"))?;
    let mut agent = mesh_agents(&view, now).pop().ok_or_else(|| ApiError::not_found("agent"))?;
    agent.events = Some(events);
    Ok(Json(MeshAgentResponse { ok: true, agent }))
}

/// `POST /v1/mesh/agents/{address_id}/kill` (no body): turns the agent's kill switch on, at
/// once on every replica: intents to it and from its keys, its stream and its claims are 403
/// `policy_denied`, and its open streams end. Audited (`agent.killed`) and logged as a mesh
/// event. → `{ok, address_id, health_status: "killed", killed_at}`; killing a killed agent
/// answers the same and changes nothing. 403 without an admin role; 404 for an unknown id.
#[utoipa::path(
    post,
    path = "/v1/mesh/agents/{address_id}/kill",
    tag = "mesh",
    params(("address_id" = String, Path, description = "The agent's service account id (UUID)")),
    responses((status = 200, body = KillSwitchResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
pub(crate) async fn kill(
    state: State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<KillSwitchResponse>> {
    switch(state, caller, &id, true).await
}

/// `POST /v1/mesh/agents/{address_id}/resume` (no body): turns the kill switch off. Audited
/// (`agent.resumed`). → `{ok, address_id, health_status, resumed_at}` where `health_status` is
/// derived from its heartbeats again (`healthy` for an agent that kept beating). Resuming an
/// agent that is not killed changes nothing.
#[utoipa::path(
    post,
    path = "/v1/mesh/agents/{address_id}/resume",
    tag = "mesh",
    params(("address_id" = String, Path, description = "The agent's service account id (UUID)")),
    responses((status = 200, body = KillSwitchResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
pub(crate) async fn resume(
    state: State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<KillSwitchResponse>> {
    switch(state, caller, &id, false).await
}

async fn switch(
    State(state): State<AppState>,
    caller: Caller,
    raw: &str,
    on: bool,
) -> ApiResult<Json<KillSwitchResponse>> {
    let id = address_id(raw)?;
    caller.require_workspace_admin()?;
    let now = state.clock.now();
    let (sa, after) = state
        .store
        .set_agent_killed(&caller.0.tenant, id, on, now, &caller.audit())
        .await
        .map_err(ApiError::missing("agent"))?;
    Ok(Json(KillSwitchResponse {
        ok: true,
        address_id: sa.service_account_id,
        health_status: HealthStatus::derive(now, after.last_heartbeat_at, after.killed_at.is_some()),
        killed_at: if on { after.killed_at } else { None },
        resumed_at: (!on).then_some(now),
    }))
}

/// `GET /v1/mesh/events?limit=50&event_type=`: `{ok, events}`, newest first, at most `limit`
/// (1 to 500), only of `event_type` when given.
#[utoipa::path(
    get,
    path = "/v1/mesh/events",
    tag = "mesh",
    operation_id = "mesh_list_events",
    params(
        ("limit" = Option<u32>, Query, description = "1 to 500, default 50"),
        ("event_type" = Option<String>, Query, description = "Only events of this type"),
    ),
    responses((status = 200, body = MeshEventsResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<MeshEventsResponse>> {
    caller.require_role()?;
    let limit = query.bounded("limit", 1, 500)?.unwrap_or(50) as u32;
    let events = state.store.mesh_events(&caller.0.tenant, query.str("event_type"), limit).await?;
    Ok(Json(MeshEventsResponse { ok: true, events }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(heartbeat, list_agents, get_agent, kill, resume, list_events))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/mesh/heartbeat", post(heartbeat))
        .route("/v1/mesh/agents", get(list_agents))
        .route("/v1/mesh/agents/{address_id}", get(get_agent))
        .route("/v1/mesh/agents/{address_id}/kill", post(kill))
        .route("/v1/mesh/agents/{address_id}/resume", post(resume))
        .route("/v1/mesh/events", get(list_events))
}
