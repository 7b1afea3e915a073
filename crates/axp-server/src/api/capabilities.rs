//! `GET /v1/capabilities` (contract §5.3): what this server supports, and the intent types it
//! knows (built-ins plus those registered by scenarios).

use std::sync::LazyLock;

use axp_core::api::Capabilities;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use regex::Regex;

use super::Success;
use crate::error::ApiResult;
use crate::extract::Caller;
use crate::state::AppState;

/// The families this server implements.
const CAPABILITIES: [&str; 11] = [
    "intents",
    "events.stream",
    "agents",
    "agents.stream",
    "agents.poll",
    "agents.http_push",
    "inbox",
    "approvals",
    "scenarios",
    "webhooks",
    "deliveries",
];

/// Intent types every server knows.
const BUILT_IN_TYPES: [&str; 2] = ["intent.ask.v1", "intent.notify.v1"];

/// `supported_intent_types` entries must match `^intent\..+\.v1$` (contract §5.3 / Appendix A).
static LISTABLE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^intent\..+\.v1$").expect("valid regex"));

/// `GET /v1/capabilities` (contract §5.3): the families this server implements and the intent
/// types it knows (built-ins and those scenarios registered).
#[utoipa::path(get, path = "/v1/capabilities", tag = "capabilities", responses((status = 200, body = Success<Capabilities>)))]
async fn capabilities(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Success<Capabilities>>> {
    let mut types: Vec<String> = BUILT_IN_TYPES.iter().map(|s| (*s).to_owned()).collect();
    for t in state.store.intent_types(&caller.0.tenant).await? {
        if LISTABLE.is_match(&t) && !types.contains(&t) {
            types.push(t);
        }
    }
    let capabilities = CAPABILITIES.iter().map(|c| (*c).to_owned()).collect();
    Ok(Json(Success::new(Capabilities { capabilities, supported_intent_types: types })))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(capabilities))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/v1/capabilities", get(capabilities))
}
