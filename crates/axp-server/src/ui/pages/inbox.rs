//! The inbox: intents waiting for a person that the session may see, each with approve and
//! reject (and a comment), decided through the API's own approvals handler.

use axp_core::human_task::decision_outcome;
use axp_core::{Status, WaitingReason};
use axp_store::IntentFilter;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::form_task;
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
                 {}<label>Comment <input name=\"comment\" maxlength=\"1000\"></label>\
                 <button name=\"decision\" value=\"approve\">Approve</button> \
                 <button name=\"decision\" value=\"reject\">Reject</button></form></section>",
                esc(title),
                esc(&i.from_agent),
                esc(&i.intent_type),
                esc(task.as_deref().unwrap_or("")),
                page::csrf_field(&session.csrf),
                i.human_task.as_ref().map(super::form_task::fields).unwrap_or_default(),
                id = i.intent_id
            )
        })
        .collect();
    let tasks = if tasks.is_empty() { "<p>Nothing waits for a person.</p>".to_owned() } else { tasks };
    let body = format!("<h1>Inbox</h1>{tasks}");
    page::page("Inbox", &session.csrf, session.caller.0.agent_address.as_str(), &body)
}

/// `POST /ui/inbox/{intent_id}/decision` (CSRF) `decision=approve|reject&comment=`: the API's
/// `POST /v1/approvals/{id}/decision` as the session's caller; for a form task (one with a
/// `form_schema`), the API's `resume` with a `task_result` of the decision's outcome
/// (`decision_outcome`), the comment and the form's fields. 303 back to the inbox, or an error
/// page with the API's answer; 404 for an intent the session may not see.
pub(crate) async fn decide(
    State(state): State<AppState>,
    session: UiSession,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let sent = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if let Some(refused) = session.refuse_csrf(sent("csrf")) {
        return refused;
    }
    // Only a task of the session's workspace that it may see (the API's decision endpoint
    // would record an approval under any new id).
    let intent = match id.parse() {
        Ok(intent) => state.store.get_intent(&session.caller.0.tenant, intent).await.ok(),
        Err(_) => None,
    };
    let Some(intent) = intent.filter(|i| session.caller.sees(i)) else {
        return page::error(StatusCode::NOT_FOUND, "No such task", "intent not found");
    };
    let comment = sent("comment").map(str::trim).filter(|c| !c.is_empty());
    let empty = QueryMap(Default::default());
    let (state, path) = (State(state), PathParams(id));
    let form_task = intent.human_task.as_ref().filter(|t| t.contains_key("form_schema"));
    let done = if let Some(task) = form_task {
        let mut result = form_task::values(task, &form);
        let approve = sent("decision") == Some("approve");
        result.insert("outcome".into(), decision_outcome(task, approve).into());
        if let Some(c) = comment {
            result.insert("comment".into(), c.into());
        }
        let body = Map::from_iter([("task_result".to_owned(), Value::Object(result))]);
        api::intents::resume_intent(state, session.caller, path, headers, empty, JsonObject(body))
            .await
            .map(drop)
    } else {
        let mut body = Map::new();
        body.insert("decision".into(), sent("decision").unwrap_or("").into());
        if let Some(c) = comment {
            body.insert("comment".into(), c.into());
        }
        api::approvals::decide(state, session.caller, path, headers, empty, JsonObject(body)).await.map(drop)
    };
    page::after(done, "/ui/inbox", "The decision was refused")
}
