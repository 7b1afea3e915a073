//! The inbox: intents waiting for a person that the session may see, each with approve and
//! reject (and a comment), decided through the API's own approvals handler.

use axp_core::{Status, WaitingReason};
use axp_store::IntentFilter;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::api;
use crate::extract::{JsonObject, PathParams, QueryMap};
use crate::state::AppState;
use crate::ui::page::{self, esc};
use crate::ui::session::UiSession;

/// `GET /ui/inbox`: the waiting human tasks, oldest first, each with its task, approve and
/// reject buttons and a comment box.
pub(crate) async fn inbox(State(state): State<AppState>, session: UiSession) -> Response {
    let filter = IntentFilter { statuses: vec![Status::Waiting], limit: 500, ..IntentFilter::default() };
    let intents = match state.store.list_intents(&session.caller.0.tenant, &filter).await {
        Ok(i) => i,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let tasks: String = intents
        .iter()
        .filter(|i| i.waiting_reason == Some(WaitingReason::WaitingForHuman) && session.caller.sees(i))
        .map(|i| {
            let task = i.human_task.as_ref().map(|t| serde_json::to_string_pretty(t).unwrap_or_default());
            let title = i
                .human_task
                .as_ref()
                .and_then(|t| t.get("title"))
                .and_then(Value::as_str)
                .unwrap_or(&i.intent_type);
            format!(
                "<section class=\"task\" data-intent=\"{id}\"><h2><a href=\"/ui/intents/{id}\">{}</a></h2>\
                 <p>from {} · {}</p><pre>{}</pre>\
                 <form method=\"post\" action=\"/ui/inbox/{id}/decision\">{}\
                 <label>Comment <input name=\"comment\" maxlength=\"1000\"></label>\
                 <button name=\"decision\" value=\"approve\">Approve</button> \
                 <button name=\"decision\" value=\"reject\">Reject</button></form></section>",
                esc(title),
                esc(&i.from_agent),
                esc(&i.intent_type),
                esc(task.as_deref().unwrap_or("")),
                page::csrf_field(&session.csrf),
                id = i.intent_id
            )
        })
        .collect();
    let tasks = if tasks.is_empty() { "<p>Nothing waits for a person.</p>".to_owned() } else { tasks };
    let body = format!("<h1>Inbox</h1>{tasks}");
    page::page("Inbox", &session.csrf, session.caller.0.agent_address.as_str(), &body)
}

/// The decision form.
#[derive(Deserialize)]
pub(crate) struct DecisionForm {
    csrf: Option<String>,
    decision: String,
    comment: Option<String>,
}

/// `POST /ui/inbox/{intent_id}/decision` (CSRF) `decision=approve|reject&comment=`: the API's
/// `POST /v1/approvals/{id}/decision` as the session's caller; 303 back to the inbox, or an
/// error page with the API's answer; 404 for an intent the session may not see.
pub(crate) async fn decide(
    State(state): State<AppState>,
    session: UiSession,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Response {
    if let Some(refused) = session.refuse_csrf(form.csrf.as_deref()) {
        return refused;
    }
    // Only a task of the session's workspace that it may see (the API's decision endpoint
    // would record an approval under any new id).
    let intent = match id.parse() {
        Ok(intent) => state.store.get_intent(&session.caller.0.tenant, intent).await.ok(),
        Err(_) => None,
    };
    if !intent.is_some_and(|i| session.caller.sees(&i)) {
        return page::error(StatusCode::NOT_FOUND, "No such task", "intent not found");
    }
    let mut body = Map::new();
    body.insert("decision".into(), Value::String(form.decision));
    if let Some(c) = form.comment.filter(|c| !c.trim().is_empty()) {
        body.insert("comment".into(), Value::String(c));
    }
    let empty = QueryMap(Default::default());
    match api::approvals::decide(
        State(state),
        session.caller,
        PathParams(id),
        headers,
        empty,
        JsonObject(body),
    )
    .await
    {
        Ok(_) => Redirect::to("/ui/inbox").into_response(),
        Err(e) => page::error(e.status(), "The decision was refused", e.message()),
    }
}
