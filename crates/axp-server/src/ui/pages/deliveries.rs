//! Dead letters: the push deliveries that gave up, newest first, each with its attempts' last
//! answer and a replay button (the API's `POST /v1/deliveries/{id}/replay`). Also the
//! deliveries table the intent and webhooks pages show ([`readable`], [`table`]).

use axp_core::delivery::{Delivery, DeliveryStatus};
use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::api;
use crate::error::ApiError;
use crate::extract::PathParams;
use crate::state::AppState;
use crate::ui::page::{self, esc};
use crate::ui::session::UiSession;

/// Dead letters the page shows.
const LIMIT: u32 = 200;

/// The workspace's newest `limit` deliveries (agent pushes and webhooks) of `status` (any when
/// `None`) that the session may read: the API's rule for `GET /v1/deliveries` (an agent key's
/// session only those to its own addresses).
pub(super) async fn readable(
    state: &AppState,
    session: &UiSession,
    status: Option<DeliveryStatus>,
    limit: u32,
) -> Result<Vec<Delivery>, ApiError> {
    let caller = &session.caller;
    let mut deliveries = state.store.list_deliveries(&caller.0.tenant, status, limit).await?;
    deliveries.retain(|d| caller.reads_for(&d.target));
    Ok(deliveries)
}

/// A replay form for dead letter `id`, going back to `back` (a [`ReplayForm::back`]) after.
fn replay_button(session: &UiSession, id: impl std::fmt::Display, back: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/ui/deliveries/{id}/replay\" class=\"inline\">{}\
         <input type=\"hidden\" name=\"back\" value=\"{back}\"><button>Replay</button></form>",
        page::csrf_field(&session.csrf)
    )
}

/// A table of `deliveries` (id, target, status, every attempt), empty for none; with `replay`,
/// a dead letter has a replay button that returns to that page (a [`ReplayForm::back`]).
pub(super) fn table(deliveries: &[&Delivery], session: &UiSession, replay: Option<&str>) -> String {
    if deliveries.is_empty() {
        return String::new();
    }
    let rows: String = deliveries
        .iter()
        .map(|d| {
            let attempts: String = d
                .attempts
                .iter()
                .map(|a| {
                    let answer = a.status_code.map(|c| format!("HTTP {c}"));
                    let answer = answer.or_else(|| a.error.clone()).unwrap_or_default();
                    format!("<li>#{} {} {} ({} ms)</li>", a.attempt, a.at, esc(&answer), a.duration_ms)
                })
                .collect();
            let action = match replay {
                Some(back) if d.status == DeliveryStatus::DeadLettered => {
                    replay_button(session, d.delivery_id, back)
                }
                _ => String::new(),
            };
            format!(
                "<tr data-delivery=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td><ol>{attempts}</ol></td>\
                 <td>{action}</td></tr>",
                d.delivery_id,
                d.delivery_id,
                esc(&d.target),
                d.status.as_str()
            )
        })
        .collect();
    format!(
        "<table class=\"deliveries\"><thead><tr><th>Delivery</th><th>Target</th><th>Status</th>\
         <th>Attempts</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
    )
}

/// `GET /ui/deliveries`: the dead-lettered deliveries the session may read ([`readable`]).
pub(crate) async fn dead_letters(State(state): State<AppState>, session: UiSession) -> Response {
    let deliveries = match readable(&state, &session, Some(DeliveryStatus::DeadLettered), LIMIT).await {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let rows: String = deliveries
        .iter()
        .map(|d| {
            let intent = d
                .intent_id
                .map(|i| format!("<a href=\"/ui/intents/{i}\">{i}</a>"))
                .unwrap_or_else(|| "-".to_owned());
            let last = d
                .error_detail
                .clone()
                .or_else(|| d.last_response_code.map(|c| format!("HTTP {c}")))
                .unwrap_or_default();
            format!(
                "<tr data-delivery=\"{id}\"><td>{id}</td><td>{intent}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td></tr>",
                esc(&d.target),
                d.attempt,
                esc(&last),
                replay_button(&session, d.delivery_id, "deliveries"),
                id = d.delivery_id
            )
        })
        .collect();
    let rows =
        if rows.is_empty() { "<tr><td colspan=\"6\">No dead letters.</td></tr>".to_owned() } else { rows };
    let body = format!(
        "<h1>Dead letters</h1><table><thead><tr><th>Delivery</th><th>Intent</th><th>Target</th>\
         <th>Attempts</th><th>Last answer</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
    );
    page::page("Dead letters", &session.csrf, session.caller.0.agent_address.as_str(), &body)
}

/// The replay form: the CSRF token, and the page to go back to.
#[derive(Deserialize)]
pub(crate) struct ReplayForm {
    csrf: Option<String>,
    /// `webhooks` (back to `/ui/webhooks`); anything else, or nothing, back to the dead
    /// letters. A name, not a URL: the form cannot redirect elsewhere.
    back: Option<String>,
}

/// `POST /ui/deliveries/{delivery_id}/replay` (CSRF): the API's replay as the session's caller;
/// 303 back to the dead letters (or the webhooks, [`ReplayForm::back`]), or the API's refusal
/// as a page.
pub(crate) async fn replay(
    State(state): State<AppState>,
    session: UiSession,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    Form(form): Form<ReplayForm>,
) -> Response {
    if let Some(refused) = session.refuse_csrf(form.csrf.as_deref()) {
        return refused;
    }
    let back = if form.back.as_deref() == Some("webhooks") { "/ui/webhooks" } else { "/ui/deliveries" };
    page::after(
        api::deliveries::replay_delivery(State(state), session.caller, headers, PathParams(id)).await,
        back,
        "The replay was refused",
    )
}
