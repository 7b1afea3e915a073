//! Webhooks: the workspace's webhook subscriptions, each with its recent deliveries and their
//! attempts, listed, disabled, enabled and revoked through the API's own handlers (`GET`, `POST`
//! and `DELETE /v1/webhooks/subscriptions`); a dead-lettered
//! delivery is replayed through the dead letters' replay (`POST /v1/deliveries/{id}/replay`).

use axp_core::delivery::Subscription;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Map;

use super::deliveries;
use crate::api;
use crate::error::ApiError;
use crate::extract::{JsonObject, PathParams, QueryMap};
use crate::state::AppState;
use crate::ui::page::{self, esc};
use crate::ui::session::UiSession;

/// Deliveries scanned for the subscriptions' recent ones: the workspace's newest this many.
const DELIVERIES_SCANNED: u32 = 500;

/// Deliveries shown per subscription, newest first.
const SHOWN: usize = 10;

/// The owners whose subscriptions the page lists: the `owner_agent` asked for; else the
/// session's own address and, when the session may list the workspace's agents (`GET
/// /v1/agents`: any role), every agent's. An agent key's session lists its own.
async fn owners(state: &AppState, session: &UiSession, query: &QueryMap) -> Vec<String> {
    if let Some(owner) = query.str("owner_agent") {
        return vec![owner.to_owned()];
    }
    let mut owners = vec![session.caller.0.agent_address.to_string()];
    let limit = super::query(&[("limit", "1000")]);
    if let Ok(listed) = api::agents::list_agents(State(state.clone()), session.caller(), limit).await {
        owners.extend(listed.0.agents.into_iter().map(|a| a.address));
    }
    owners.sort();
    owners.dedup();
    owners
}

/// Every subscription of `owners` (revoked ones too), as the API lists them for the session.
async fn subscriptions(
    state: &AppState,
    session: &UiSession,
    owners: &[String],
) -> Result<Vec<Subscription>, ApiError> {
    let mut all = Vec::new();
    for owner in owners {
        let query = super::query(&[("owner_agent", owner), ("include_inactive", "true")]);
        let listed = api::webhooks::list_subscriptions(
            State(state.clone()),
            session.caller(),
            HeaderMap::new(),
            query,
        )
        .await?;
        all.extend(listed.0.subscriptions);
    }
    Ok(all)
}

/// `GET /ui/webhooks?owner_agent=`: the subscriptions (of one owner, or of every owner the
/// session may list, [`owners`]) with their event types, state and the last deliveries with
/// their attempts; disable or enable and revoke buttons per subscription, a replay button per
/// dead letter. The API's refusal as a page.
pub(crate) async fn webhooks(State(state): State<AppState>, session: UiSession, query: QueryMap) -> Response {
    let owners = owners(&state, &session, &query).await;
    let subs = match subscriptions(&state, &session, &owners).await {
        Ok(s) => s,
        Err(e) => return page::error(e.status(), "Webhooks", e.message()),
    };
    let recent = match deliveries::readable(&state, &session, None, DELIVERIES_SCANNED).await {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let sections: String = subs
        .iter()
        .map(|s| {
            let mine: Vec<_> =
                recent.iter().filter(|d| d.subscription_id == Some(s.subscription_id)).take(SHOWN).collect();
            let state = match (s.active, s.revoked_at) {
                (_, Some(at)) => format!("revoked {at}"),
                (true, None) => "active".to_owned(),
                (false, None) => "inactive".to_owned(),
            };
            let button = |action: &str, label: &str| {
                format!(
                    "<form method=\"post\" action=\"/ui/webhooks/{}/{action}\" class=\"inline\">{}\
                     <input type=\"hidden\" name=\"owner_agent\" value=\"{}\"><button>{label}</button></form> ",
                    s.subscription_id,
                    page::csrf_field(&session.csrf),
                    esc(&s.owner_agent)
                )
            };
            let mut actions = String::new();
            if s.active {
                actions.push_str(&button("disable", "Disable"));
            } else {
                actions.push_str(&button("enable", "Enable"));
            }
            if s.revoked_at.is_none() {
                actions.push_str(&button("revoke", "Revoke"));
            }
            let deliveries = deliveries::table(&mine, &session, Some("webhooks"));
            let deliveries = if deliveries.is_empty() { "<p>No deliveries yet.</p>".to_owned() } else { deliveries };
            format!(
                "<section class=\"subscription\" data-subscription=\"{}\"><h2>{}</h2>\
                 <p>{} · owner {} · {} · secret {} · created {}</p><p>{}</p><p>{actions}</p>{deliveries}</section>",
                s.subscription_id,
                esc(&s.callback_url),
                esc(&state),
                esc(&s.owner_agent),
                esc(&s.event_types.join(", ")),
                esc(s.secret_hint.as_deref().unwrap_or("-")),
                s.created_at,
                esc(s.description.as_deref().unwrap_or("")),
            )
        })
        .collect();
    let sections = if sections.is_empty() { "<p>No webhook subscriptions.</p>".to_owned() } else { sections };
    let body = format!(
        "<h1>Webhooks</h1><form method=\"get\" action=\"/ui/webhooks\" class=\"filters\">\
         <input name=\"owner_agent\" placeholder=\"owner agent\" value=\"{}\"> <button>Filter</button></form>{sections}",
        esc(query.str("owner_agent").unwrap_or(""))
    );
    page::page("Webhooks", &session.csrf, session.caller.0.agent_address.as_str(), &body)
}

/// An action's form: the CSRF token and the subscription's owner.
#[derive(Deserialize)]
pub(crate) struct ActionForm {
    csrf: Option<String>,
    owner_agent: Option<String>,
}

/// `POST /ui/webhooks/{subscription_id}/revoke`, `…/disable` and `…/enable` (CSRF)
/// `owner_agent=`, as the session's caller (who acts as that owner): revoke is the API's `DELETE
/// /v1/webhooks/subscriptions/{id}?owner_agent=`; disable and enable are its upsert (`POST
/// /v1/webhooks/subscriptions?owner_agent=`) of the subscription as the API lists it, with
/// `active` false or true (enable reactivates a revoked one; the secret is kept). 303 back to
/// the webhooks, or the API's refusal as a page (404 for a subscription the owner lacks).
pub(crate) async fn act(
    State(state): State<AppState>,
    session: UiSession,
    PathParams((id, action)): PathParams<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Some(refused) = session.refuse_csrf(form.csrf.as_deref()) {
        return refused;
    }
    let owner = form.owner_agent.unwrap_or_default();
    let query = || super::query(&[("owner_agent", &owner)]);
    let done = match action.as_str() {
        "revoke" => {
            let path = PathParams(id);
            api::webhooks::revoke_subscription(State(state), session.caller, path, HeaderMap::new(), query())
                .await
                .map(drop)
        }
        "disable" | "enable" => set_active(&state, &session, &owner, &id, action == "enable").await,
        _ => return page::error(StatusCode::NOT_FOUND, "No such action", "Only revoke, disable and enable."),
    };
    page::after(done, "/ui/webhooks", "The webhook action was refused")
}

/// Upserts `owner`'s subscription `id` (as the API lists it to the session) with `active`.
async fn set_active(
    state: &AppState,
    session: &UiSession,
    owner: &str,
    id: &str,
    active: bool,
) -> Result<(), ApiError> {
    let listed = subscriptions(state, session, &[owner.to_owned()]).await?;
    let sub = listed
        .into_iter()
        .find(|s| s.subscription_id.to_string() == id)
        .ok_or_else(|| ApiError::not_found("subscription"))?;
    let mut body = Map::new();
    body.insert("callback_url".into(), sub.callback_url.into());
    body.insert("event_types".into(), sub.event_types.into());
    body.insert("active".into(), active.into());
    if let Some(d) = sub.description {
        body.insert("description".into(), d.into());
    }
    let query = super::query(&[("owner_agent", owner)]);
    let (s, caller) = (State(state.clone()), session.caller());
    api::webhooks::upsert_subscription(s, caller, HeaderMap::new(), query, JsonObject(body)).await.map(drop)
}
