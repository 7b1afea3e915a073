//! Payload schemas (contract §6 "Schemas"): `POST /v1/schemas` (upsert) and
//! `GET /v1/schemas/{semantic_type}`. The model, the request's rules and the check of a create
//! against a schema are `axp_core::schema`; the replace rule is the ledger's; creates read the
//! compiled schemas from `AppState::schemas` (see [`check_payload`]).
//!
//! Who may write: a tenant schema, any caller with a writing role in the workspace (`member`
//! and the admin roles; viewers and agent-scoped keys get 403). A core schema is read by every
//! workspace of the server, so only an `org_owner` of the first-start organization (slug
//! `default`, the operator's) may write one; anyone else gets 403.

use axp_core::schema::{self, SchemaResponse, SchemaScope, Violation};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonObject, PathParams, QueryMap, owner_agent};
use crate::state::AppState;

/// `POST /v1/schemas` `{semantic_type, schema_json, compatibility_mode, schema_ref?, scope?,
/// active?}` (`api.schemas.upsert.request.v1.json`) → 200 `{ok, schema}` without `schema_json`
/// (`api.schemas.upsert.response.v1.json`), whether it registered, replaced or left the schema
/// unchanged. The owner is the owner scope (§1.2), default the key's own address; a core
/// schema has none. Errors: 403 (see the module doc), 422 for an invalid body or a
/// `schema_json` that does not compile offline (a remote `$ref`).
#[utoipa::path(
    post,
    path = "/v1/schemas",
    tag = "schemas",
    params(("owner_agent" = Option<String>, Query, description = "The owner of a tenant schema (also the `x-owner-agent` header); default the caller's own address (contract §1.2)")),
    request_body(content = Object, description = "`{semantic_type, schema_json, compatibility_mode: strict|backward|warn, schema_ref?, scope?: tenant|core, active?}`"),
    responses((status = 200, body = SchemaResponse)),
)]
async fn upsert_schema(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    query: QueryMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<SchemaResponse>> {
    caller.require_writer()?;
    caller.require_role()?;
    let request = schema::upsert_request(&body)?;
    let owner = match request.scope {
        SchemaScope::Tenant => {
            let owner = owner_agent(&caller, &headers, &query)?;
            caller.require_act_as(&owner)?;
            Some(owner)
        }
        SchemaScope::Core => {
            caller.require_operator("core schemas are written by")?;
            None
        }
    };
    let saved = state
        .store
        .upsert_schema(&caller.0.tenant, request, owner, state.clock.now(), &caller.audit())
        .await?;
    Ok(Json(SchemaResponse { ok: true, schema: saved.to_wire(false) }))
}

/// `GET /v1/schemas/{semantic_type}` → `{ok, schema}` with `schema_json`
/// (`api.schemas.get.response.v1.json`): the workspace's own schema of that type, else the core
/// one. Any key of the workspace; 404 when neither exists (another workspace's tenant schemas
/// are not found).
#[utoipa::path(
    get,
    path = "/v1/schemas/{semantic_type}",
    tag = "schemas",
    params(("semantic_type" = String, Path, description = "The schema's type, e.g. `expense.approve.request.v1`")),
    responses((status = 200, body = SchemaResponse)),
)]
async fn get_schema(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(semantic_type): PathParams<String>,
) -> ApiResult<Json<SchemaResponse>> {
    let found = state
        .store
        .get_schema(&caller.0.tenant, &semantic_type)
        .await
        .map_err(ApiError::missing("schema"))?;
    Ok(Json(SchemaResponse { ok: true, schema: found.to_wire(true) }))
}

/// Checks a create's payload against the active schema of its `intent_type` in the caller's
/// workspace, from the cache (no store read unless a schema changed since the workspace was
/// last looked up): `Ok` with the violations to report under `warn` (logged here), or 422
/// `validation_error` naming each failing JSON pointer and keyword (`strict`; `backward` when
/// neither the active nor the replaced version accepts it). No schema: `Ok` and empty.
pub(crate) async fn check_payload(
    state: &AppState,
    caller: &Caller,
    intent_type: &str,
    payload: &Map<String, Value>,
) -> ApiResult<Vec<Violation>> {
    let schemas = state.schemas.of(state.store.as_ref(), &caller.0.tenant).await?;
    let Some(compiled) = schemas.get(intent_type) else {
        return Ok(Vec::new());
    };
    match compiled.check(payload) {
        Ok(warnings) => {
            if !warnings.is_empty() {
                let (ws, first) = (caller.0.tenant.workspace_id, &warnings[0]);
                tracing::info!(workspace = %ws, intent_type = intent_type, pointer = %first.pointer,
                    keyword = %first.keyword, count = warnings.len(), "payload accepted with schema warnings");
            }
            Ok(warnings)
        }
        Err(found) => Err(schema::refusal(intent_type, &found).into()),
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(upsert_schema, get_schema))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/schemas", post(upsert_schema))
        .route("/v1/schemas/{semantic_type}", get(get_schema))
}
