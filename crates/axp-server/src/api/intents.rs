//! Intents: create, read, list, and the lifecycle commands resolve, resume, controls and policy
//! (contract §4.2, §4.3, §4.6–§4.8, §5.8).

use axp_core::api::{
    BulkCancelRequest, BulkCancelResponse, CreateIntentRequest, CreateIntentResponse, IntentResponse,
    MutationResponse,
};
use axp_core::error::ErrorCode;
use axp_core::ids::IntentId;
use axp_core::lifecycle::{self, Command, Request, Resolution};
use axp_core::validate::{CommandBody, Fields, Invalid};
use axp_core::{Status, validate};
use axp_store::{Answer, IdempotencyClaim, IntentFilter, fingerprint};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonObject, PathParams, QueryMap, idempotency_key, intent_id, owner_scope};
use crate::state::AppState;

pub(crate) mod list;

/// How long an idempotency record counts (§1.8: at least 24 h).
const IDEMPOTENCY_TTL_SECONDS: i64 = 24 * 3600;

/// A write's answer (§1.8): a fresh typed response rendered here, or the stored body of a
/// replay sent byte for byte with `idempotent-replayed: true`.
pub(super) fn answer<T: serde::Serialize>(answer: Answer<T>) -> ApiResult<Response> {
    match answer {
        Answer::Fresh(response) => Ok(Json(response).into_response()),
        Answer::Replayed(body) => {
            let mut response = ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body)
                .into_response();
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
    }
}

/// The idempotency claim of a write, when the request carries a key.
pub(super) fn claim(
    state: &AppState,
    caller: &Caller,
    route: &str,
    key: Option<String>,
    body: &Map<String, Value>,
    owner: Option<&str>,
) -> Option<IdempotencyClaim> {
    let now = state.clock.now();
    key.map(|key| IdempotencyClaim {
        caller: caller.0.actor.id(),
        route: route.into(),
        key,
        fingerprint: fingerprint(&Value::Object(body.clone()), owner),
        expires_at: now.plus_seconds(IDEMPOTENCY_TTL_SECONDS),
        now,
    })
}

/// `POST /v1/intents`: validates (the payload too, against its type's active schema, see
/// `schemas::check_payload`), then writes the intent, events 1–2, its queue row and the
/// idempotency record in one transaction. 200 `{ok, intent_id, status, created_at}`, plus
/// `schema_warnings` when a `warn` schema found problems.
#[utoipa::path(
    post,
    path = "/v1/intents",
    tag = "intents",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "A repeat with the same key and body answers the first response (contract §1.8)"),
        ("owner_agent" = Option<String>, Query, description = "Act as this agent address (also the `x-owner-agent` header)"),
    ),
    request_body = CreateIntentRequest,
    responses((status = 200, body = CreateIntentResponse)),
)]
pub(crate) async fn create_intent(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    query: QueryMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    caller.require_writer()?;
    let principal = &caller.0;
    let new = validate::new_intent(&body, &principal.tenant.scope())?;
    let owner = owner_scope(&headers, &query)?;
    let claim =
        claim(&state, &caller, "POST /v1/intents", idempotency_key(&headers)?, &body, owner.as_deref());
    let warnings = super::schemas::check_payload(&state, &caller, &new.intent_type, &new.payload).await?;
    let (intent, events) = new.into_intent(IntentId::new(), &principal.agent_address, state.clock.now());
    let parties = [intent.from_agent.as_str(), intent.to_agent.as_str()];
    super::mesh::refuse_killed(&state, &principal.tenant, &parties).await?;
    let created = state.store.create_intent(&principal.tenant, intent, events, claim).await?;
    match created.answer {
        Answer::Fresh(response) if !warnings.is_empty() => {
            Ok(Json(WithSchemaWarnings { response, schema_warnings: warnings }).into_response())
        }
        answered => answer(answered),
    }
}

/// A create answer with the violations of a `warn` schema beside it (contract §6 "Schemas":
/// the payload was accepted). A replay of it by idempotency key is the stored answer, without
/// them.
#[derive(serde::Serialize)]
struct WithSchemaWarnings<T> {
    #[serde(flatten)]
    response: T,
    /// Each `{pointer, keyword, message}`.
    schema_warnings: Vec<axp_core::schema::Violation>,
}

/// `GET /v1/intents/{id}`: `{ok, intent}`; 404 when unknown, another workspace's, or (for an
/// agent-scoped key) one it is no party to.
#[utoipa::path(
    get,
    path = "/v1/intents/{intent_id}",
    tag = "intents",
    params(("intent_id" = String, Path, description = "The intent's id (UUID)")),
    responses((status = 200, body = IntentResponse)),
)]
pub(crate) async fn get_intent(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<IntentResponse>> {
    let id = intent_id(&id)?;
    let intent = state.store.get_intent(&caller.0.tenant, id).await.map_err(ApiError::missing("intent"))?;
    if !caller.sees(&intent) {
        return Err(ApiError::not_found("intent"));
    }
    Ok(Json(IntentResponse { ok: true, intent: intent.to_wire() }))
}

/// One command endpoint: its path segment and the parser of its body into the command, its
/// `actor` and its CAS guard.
struct Endpoint {
    name: &'static str,
    parse: fn(&Map<String, Value>) -> Result<CommandBody, Invalid>,
}

const RESOLVE: Endpoint = Endpoint { name: "resolve", parse: validate::resolve };
const RESUME: Endpoint = Endpoint { name: "resume", parse: validate::resume };
const CONTROLS: Endpoint = Endpoint { name: "controls", parse: validate::controls };
const POLICY: Endpoint = Endpoint { name: "policy", parse: validate::policy };

/// The four command endpoints share one path: owner scope (400 on a mismatch),
/// `internal_scheduler` refused from public callers (403), validation (422), then one store
/// transaction that authorizes (403 without a grant), decides, persists and renders the
/// response, replaying it for a repeated `Idempotency-Key`.
async fn command(
    state: AppState,
    caller: Caller,
    raw_id: String,
    headers: HeaderMap,
    query: QueryMap,
    body: Map<String, Value>,
    endpoint: Endpoint,
) -> ApiResult<Response> {
    let id = intent_id(&raw_id)?;
    caller.require_writer()?;
    let owner = owner_scope(&headers, &query)?;
    if let Some(owner) = &owner {
        caller.require_act_as(owner)?;
    }
    if body.get("internal_scheduler").and_then(Value::as_bool) == Some(true) {
        return Err(ApiError::new(
            ErrorCode::PolicyDenied,
            "internal_scheduler is reserved for the server's own scheduler",
        ));
    }
    let CommandBody { command, actor, expected_policy_generation } = (endpoint.parse)(&body)?;

    let route = format!("POST /v1/intents/{id}/{}", endpoint.name);
    let claim = claim(&state, &caller, &route, idempotency_key(&headers)?, &body, owner.as_deref());
    let acting = caller.acting(owner.as_deref().unwrap_or(caller.0.agent_address.as_str()));
    let actor = actor.unwrap_or_else(|| acting.address().to_owned());
    let request = Request { command, caller: Some(acting), actor, expected_policy_generation };
    let executed = state
        .store
        .execute(&caller.0.tenant, id, request, state.clock.now(), claim, &caller.audit())
        .await
        .map_err(ApiError::missing("intent"))?;
    answer(executed.answer)
}

/// `POST /v1/intents/{id}/resolve` (§4.6): COMPLETED, FAILED or CANCELED from any non-terminal
/// status; 409 when already terminal. Reports `completion_delivery` for `reply_to`.
#[utoipa::path(
    post,
    path = "/v1/intents/{intent_id}/resolve",
    tag = "intents",
    params(
        ("intent_id" = String, Path, description = "The intent's id (UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "A repeat with the same key and body answers the first response (contract §1.8)"),
        ("owner_agent" = Option<String>, Query, description = "Act as this agent address (also the `x-owner-agent` header)"),
    ),
    request_body(content = Object, description = "`{status: COMPLETED|FAILED|CANCELED, result?, error?, reason?, actor?, expected_policy_generation?}`"),
    responses((status = 200, body = MutationResponse)),
)]
pub(crate) async fn resolve_intent(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    query: QueryMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    command(state, caller, id, headers, query, body, RESOLVE).await
}

/// `POST /v1/intents/{id}/resume` (§4.7): a control-only body moves to IN_PROGRESS and never
/// terminates; an agent's result completes (or, with `action: fail`, fails) the intent; a
/// `task_result` answers a human task.
#[utoipa::path(
    post,
    path = "/v1/intents/{intent_id}/resume",
    tag = "intents",
    params(
        ("intent_id" = String, Path, description = "The intent's id (UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "A repeat with the same key and body answers the first response (contract §1.8)"),
        ("owner_agent" = Option<String>, Query, description = "Act as this agent address (also the `x-owner-agent` header)"),
    ),
    request_body(content = Object, description = "`{result?, action?, task_result?, progress?, actor?, expected_policy_generation?}`"),
    responses((status = 200, body = MutationResponse)),
)]
pub(crate) async fn resume_intent(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    query: QueryMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    command(state, caller, id, headers, query, body, RESUME).await
}

/// `POST /v1/intents/{id}/controls` (§4.8): merges `controls_patch`, bumps `policy_generation`.
#[utoipa::path(
    post,
    path = "/v1/intents/{intent_id}/controls",
    tag = "intents",
    params(
        ("intent_id" = String, Path, description = "The intent's id (UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "A repeat with the same key and body answers the first response (contract §1.8)"),
        ("owner_agent" = Option<String>, Query, description = "Act as this agent address (also the `x-owner-agent` header)"),
    ),
    request_body(content = Object, description = "`{controls_patch, actor?, expected_policy_generation?}`"),
    responses((status = 200, body = MutationResponse)),
)]
pub(crate) async fn update_controls(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    query: QueryMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    command(state, caller, id, headers, query, body, CONTROLS).await
}

/// `POST /v1/intents/{id}/policy` (§4.8): applies `grants_patch` / `envelope_patch`, bumps
/// `policy_generation`.
#[utoipa::path(
    post,
    path = "/v1/intents/{intent_id}/policy",
    tag = "intents",
    params(
        ("intent_id" = String, Path, description = "The intent's id (UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "A repeat with the same key and body answers the first response (contract §1.8)"),
        ("owner_agent" = Option<String>, Query, description = "Act as this agent address (also the `x-owner-agent` header)"),
    ),
    request_body(content = Object, description = "`{grants_patch?, envelope_patch?, actor?, expected_policy_generation?}`"),
    responses((status = 200, body = MutationResponse)),
)]
async fn update_policy(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    query: QueryMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    command(state, caller, id, headers, query, body, POLICY).await
}

/// The oldest `older_than_hours` that means anything: 10,000 years. Larger values are taken as
/// this one (they overflowed the cutoff time and reached intents created seconds ago).
const BULK_CANCEL_MAX_HOURS: u64 = 24 * 366 * 10_000;

/// Most intents one bulk cancel touches.
const BULK_CANCEL_MAX: u32 = 1000;

/// `POST /v1/intents/bulk-cancel` `{older_than_hours, dry_run?, reason?, limit?, status_filter?}`
/// (§5.8): cancels (or with `dry_run` only lists) the caller's workspace's non-terminal intents
/// created at least `older_than_hours` ago, oldest first, at most `limit` (default 100, at most
/// 1000), optionally only those in `status_filter`. Intents the caller may not resolve (neither
/// sender nor target, no grant) are skipped. `older_than_hours` is required, so an empty body
/// never cancels everything.
#[utoipa::path(
    post,
    path = "/v1/intents/bulk-cancel",
    tag = "intents",
    request_body = BulkCancelRequest,
    responses((status = 200, body = BulkCancelResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn bulk_cancel(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<BulkCancelResponse>> {
    caller.require_workspace_admin()?;
    let mut f = Fields::new(&body);
    let hours = f.u64("older_than_hours", &[]);
    if hours.is_none() && !body.contains_key("older_than_hours") {
        f.fail("older_than_hours", "missing", "field required");
    }
    let dry_run = f.bool("dry_run", &[]).unwrap_or(false);
    let reason = f.bounded_string("reason", &[], false, 1, 2000).unwrap_or_else(|| "bulk_cancel".into());
    let limit = f.u32_at_least("limit", &[], 1).unwrap_or(100);
    if limit > BULK_CANCEL_MAX {
        f.fail("limit", "value_error", format!("must be at most {BULK_CANCEL_MAX}"));
    }
    let mut statuses = Vec::new();
    match f.get("status_filter", &[]) {
        None => {}
        Some(Value::Array(list)) => {
            for s in list {
                match s.as_str().map(str::parse::<Status>) {
                    Some(Ok(st)) if !st.is_terminal() => statuses.push(st),
                    Some(Ok(_)) => {}
                    _ => f.fail("status_filter", "value_error", "must be a list of status names"),
                }
            }
        }
        Some(_) => f.fail("status_filter", "type_error", "must be a list of status names"),
    }
    f.finish(())?;
    if statuses.is_empty() {
        statuses = Status::OPEN.to_vec();
    }
    let now = state.clock.now();
    // Any age beyond the cap reaches back before every intent: nothing is that old.
    let hours = hours.unwrap_or(0).min(BULK_CANCEL_MAX_HOURS) as i64;
    let by = caller.audit();
    let principal = &caller.0;
    let filter = IntentFilter {
        statuses,
        created_before: Some(now.plus_seconds(-hours * 3600)),
        limit,
        ..IntentFilter::default()
    };
    let candidates = state.store.list_intents(&principal.tenant, &filter).await?;
    let acting = caller.acting(principal.agent_address.as_str());
    let mut ids = Vec::new();
    let mut canceled = 0u64;
    for intent in &candidates {
        let command = Command::Resolve(Resolution::Canceled(reason.clone()));
        if lifecycle::authorize(intent, Some(&acting), &command).is_err() {
            continue;
        }
        ids.push(intent.intent_id);
        if dry_run {
            continue;
        }
        let request = Request {
            command,
            caller: Some(acting.clone()),
            actor: acting.address().to_owned(),
            expected_policy_generation: None,
        };
        match state.store.execute(&principal.tenant, intent.intent_id, request, now, None, &by).await {
            Ok(_) => canceled += 1,
            // Ended meanwhile: nothing to cancel.
            Err(axp_store::Error::Lifecycle(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Json(BulkCancelResponse {
        ok: true,
        dry_run,
        would_cancel: ids.len() as u64,
        canceled,
        intent_ids: ids,
    }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_intent,
    list::list_intents,
    get_intent,
    resolve_intent,
    resume_intent,
    update_controls,
    update_policy,
    bulk_cancel
))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/intents", post(create_intent).get(list::list_intents))
        .route("/v1/intents/bulk-cancel", post(bulk_cancel))
        .route("/v1/intents/{intent_id}", get(get_intent))
        .route("/v1/intents/{intent_id}/resolve", post(resolve_intent))
        .route("/v1/intents/{intent_id}/resume", post(resume_intent))
        .route("/v1/intents/{intent_id}/controls", post(update_controls))
        .route("/v1/intents/{intent_id}/policy", post(update_policy))
}
