//! Scenario bundles: validate and apply (contract §4.13).

use axp_core::api::{ApplyScenarioResponse, ValidateScenarioResponse};
use axp_core::error::{ErrorCode, FieldError};
use axp_core::ids::{IntentId, ServiceAccountId};
use axp_core::scenario::{Compiled, ScenarioPlan, compile};
use axp_core::validate::Fields;
use axp_store::{NewServiceAccount, ScenarioAgent, ScenarioWrite, Tenant, generate_api_key};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Map, Value};

use super::binding;
use super::intents::claim;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonObject, idempotency_key};
use crate::state::AppState;

/// A compiled bundle with each agent's delivery binding read.
struct Checked {
    compiled: Compiled,
    bindings: Vec<binding::BindingInput>,
}

/// Compiles the bundle, reads each agent's delivery binding (an `http` agent needs an allowed
/// `delivery_config.url`), then flags agents that neither exist nor may be created: an error for
/// `apply`, a warning for `validate` (§4.13).
async fn check(
    state: &AppState,
    tenant: &Tenant,
    caller: &axp_core::AgentAddress,
    bundle: &Map<String, Value>,
    applying: bool,
) -> ApiResult<Checked> {
    let mut compiled = compile(bundle, &tenant.scope(), caller);
    let mut bindings = Vec::new();
    if let Some(plan) = &compiled.plan {
        for (i, agent) in plan.agents.iter().enumerate() {
            let mut f = Fields::new(&agent.spec);
            bindings.push(binding::read(&mut f, &agent.spec, &state.options.dispatcher.policy).await);
            if let Err(invalid) = f.finish(()) {
                compiled.errors.extend(
                    invalid.errors.into_iter().map(|e| format!("agents[{i}].{}: {}", e.loc[1], e.msg)),
                );
            }
        }
        if !compiled.errors.is_empty() {
            compiled.plan = None;
            return Ok(Checked { compiled, bindings });
        }
    }
    if let Some(plan) = &compiled.plan {
        let mut missing = Vec::new();
        for agent in plan.agents.iter().filter(|a| !a.create_if_missing) {
            if state.store.find_agent(tenant, &agent.address).await?.is_none() {
                missing
                    .push(format!("agent {} does not exist and create_if_missing is not set", agent.address));
            }
        }
        if applying && !missing.is_empty() {
            compiled.errors.extend(missing);
            compiled.plan = None;
        } else {
            compiled.warnings.extend(missing);
        }
    }
    Ok(Checked { compiled, bindings })
}

/// `POST /v1/scenarios/validate`: `{ok, valid, errors, warnings}`; never 4xx for the bundle's
/// content.
#[utoipa::path(
    post,
    path = "/v1/scenarios/validate",
    tag = "scenarios",
    request_body(content = Object, description = "The scenario bundle (contract §4.13): `{scenario_id?, agents, humans?, workflow?, intent, idempotency_key?}`"),
    responses((status = 200, body = ValidateScenarioResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn validate_scenario(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(bundle): JsonObject,
) -> ApiResult<Json<ValidateScenarioResponse>> {
    let compiled = check(&state, &caller.0.tenant, &caller.0.agent_address, &bundle, false).await?.compiled;
    Ok(Json(ValidateScenarioResponse {
        ok: true,
        valid: compiled.errors.is_empty(),
        errors: compiled.errors,
        warnings: compiled.warnings,
    }))
}

/// `POST /v1/scenarios/apply`: creates the missing agents and the intent atomically, routed to
/// the first step's assignee. 422 with `errors` when the bundle is invalid. Idempotent by the
/// `Idempotency-Key` header or the body's `idempotency_key`; a replay answers with
/// `idempotent: true` and without the new agents' keys (secrets are not kept for replays).
/// Viewer roles may not apply (403); a bundle with `create_if_missing` agents needs a workspace
/// admin, since applying creates them and mints their keys.
#[utoipa::path(
    post,
    path = "/v1/scenarios/apply",
    tag = "scenarios",
    params(("Idempotency-Key" = Option<String>, Header, description = "A repeat with the same key and bundle answers the first response (contract §1.8); also the bundle's `idempotency_key`")),
    request_body(content = Object, description = "The scenario bundle (contract §4.13): `{scenario_id?, agents, humans?, workflow?, intent, idempotency_key?}`"),
    responses((status = 200, body = ApplyScenarioResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn apply_scenario(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(bundle): JsonObject,
) -> ApiResult<Response> {
    caller.require_writer()?;
    let principal = &caller.0;
    let Checked { compiled, bindings } =
        check(&state, &principal.tenant, &principal.agent_address, &bundle, true).await?;
    let Some(plan) = compiled.plan else {
        let mut e = ApiError::new(
            ErrorCode::ValidationError,
            format!("invalid scenario bundle: {}", compiled.errors.join("; ")),
        );
        e = e.with_field_errors(
            compiled.errors.iter().map(|m| FieldError::body("bundle", "value_error", m.clone())).collect(),
        );
        return Err(e);
    };
    let key = match idempotency_key(&headers)? {
        Some(k) => Some(k),
        None => bundle
            .get("idempotency_key")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty() && k.len() <= 255)
            .map(str::to_owned),
    };
    if plan.agents.iter().any(|a| a.create_if_missing) {
        // Creating agents mints their keys: administration.
        caller.require_workspace_admin()?;
    }
    let claim = claim(&state, &caller, "POST /v1/scenarios/apply", key, &bundle, None);
    let write = scenario_write(&state, principal, plan, bindings);
    let parties = [principal.agent_address.as_str(), write.intent.to_agent.as_str()];
    super::mesh::refuse_killed(&state, &principal.tenant, &parties).await?;
    let created = state.store.apply_scenario(&principal.tenant, write, claim, &caller.audit()).await?;
    super::intents::answer(created.answer)
}

fn scenario_write(
    state: &AppState,
    principal: &axp_store::Principal,
    plan: ScenarioPlan,
    bindings: Vec<binding::BindingInput>,
) -> ScenarioWrite {
    let now = state.clock.now();
    let agents = plan
        .agents
        .into_iter()
        .zip(bindings)
        .map(|(planned, binding)| {
            let id = ServiceAccountId::new();
            let account = NewServiceAccount {
                id,
                name: planned.address.name().to_owned(),
                display_name: planned.display_name.clone(),
                description: None,
                agent_address: planned.address.clone(),
                delivery_mode: binding.update.delivery_mode,
                lease_seconds: binding.update.lease_seconds,
                push: binding.update.push,
                created_by: principal.actor.id().to_string(),
                created_at: now,
            };
            let key = generate_api_key(id, now, None);
            ScenarioAgent { planned, account, key }
        })
        .collect();
    let (intent, events) = plan.intent.into_intent(IntentId::new(), &principal.agent_address, now);
    ScenarioWrite { scenario_id: plan.scenario_id, compile_id: plan.compile_id, agents, intent, events }
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(validate_scenario, apply_scenario))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/scenarios/validate", post(validate_scenario))
        .route("/v1/scenarios/apply", post(apply_scenario))
}
