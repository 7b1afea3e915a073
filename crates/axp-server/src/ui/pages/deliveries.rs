//! Dead letters: the push deliveries that gave up, newest first, each with its attempts' last
//! answer and a replay button (the API's `POST /v1/deliveries/{id}/replay`).

use axp_core::delivery::DeliveryStatus;
use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use crate::api;
use crate::error::ApiError;
use crate::extract::PathParams;
use crate::state::AppState;
use crate::ui::page::{self, esc};
use crate::ui::session::{CsrfForm, UiSession};

/// Dead letters the page shows.
const LIMIT: u32 = 200;

/// `GET /ui/deliveries`: the dead-lettered deliveries the session may read (as `GET
/// /v1/deliveries?status=dead_lettered`: an agent key's session only those to its addresses).
pub(crate) async fn dead_letters(State(state): State<AppState>, session: UiSession) -> Response {
    let caller = &session.caller;
    let listed =
        state.store.list_deliveries(&caller.0.tenant, Some(DeliveryStatus::DeadLettered), LIMIT).await;
    let mut deliveries = match listed {
        Ok(d) => d,
        Err(e) => return ApiError::from(e).into_response(),
    };
    deliveries.retain(|d| caller.reads_for(&d.target));
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
                 <td><form method=\"post\" action=\"/ui/deliveries/{id}/replay\" class=\"inline\">{}\
                 <button>Replay</button></form></td></tr>",
                esc(&d.target),
                d.attempt,
                esc(&last),
                page::csrf_field(&session.csrf),
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
    page::page("Dead letters", &session.csrf, caller.0.agent_address.as_str(), &body)
}

/// `POST /ui/deliveries/{delivery_id}/replay` (CSRF): the API's replay as the session's caller;
/// 303 back to the dead letters, or the API's refusal as a page.
pub(crate) async fn replay(
    State(state): State<AppState>,
    session: UiSession,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = session.refuse_csrf(form.csrf.as_deref()) {
        return refused;
    }
    match api::deliveries::replay_delivery(State(state), session.caller, headers, PathParams(id)).await {
        Ok(_) => Redirect::to("/ui/deliveries").into_response(),
        Err(e) => page::error(e.status(), "The replay was refused", e.message()),
    }
}
