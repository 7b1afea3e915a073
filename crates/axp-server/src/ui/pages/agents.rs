//! The agents page: each agent's delivery binding, open streams, mesh health and kill switch,
//! read and switched through the API's own handlers (`GET /v1/agents`, `GET /v1/mesh/agents`,
//! `POST /v1/mesh/agents/{id}/kill|resume`).

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;

use crate::api;
use crate::extract::PathParams;
use crate::state::AppState;
use crate::ui::page::{self, esc};
use crate::ui::session::{CsrfForm, UiSession};

/// `GET /ui/agents`: every agent of the workspace with its binding, connected streams, health
/// and a kill or resume button. Needs a role, as the API's lists do (an agent key's session
/// gets the 403 page).
pub(crate) async fn agents(State(state): State<AppState>, session: UiSession) -> Response {
    let limit = || super::query(&[("limit", "1000")]);
    let listed = api::agents::list_agents(State(state.clone()), session.caller(), limit()).await;
    let mesh = api::mesh::list_agents(State(state), session.caller(), limit()).await;
    let (listed, mesh) = match (listed, mesh) {
        (Ok(l), Ok(m)) => (l.0.agents, m.0.agents),
        (Err(e), _) | (_, Err(e)) => return page::error(e.status(), "Agents", e.message()),
    };
    let rows: String = mesh
        .iter()
        .map(|m| {
            let agent = listed.iter().find(|a| a.address == m.address);
            let binding = agent.and_then(|a| a.delivery_mode).map_or("-", |b| b.as_str());
            let streams = agent.and_then(|a| a.connected_streams).unwrap_or(0);
            let (action, label) = if m.killed_at.is_some() { ("resume", "Resume") } else { ("kill", "Kill") };
            format!(
                "<tr data-agent=\"{id}\"><td>{}</td><td>{binding}</td><td>{streams}</td>\
                 <td class=\"health\">{}</td><td>{}</td><td><form method=\"post\" \
                 action=\"/ui/agents/{id}/{action}\" class=\"inline\">{}<button>{label}</button></form></td></tr>",
                esc(&m.address),
                m.health_status.as_str(),
                m.last_heartbeat_at.map_or_else(|| "never".to_owned(), |t| t.to_string()),
                page::csrf_field(&session.csrf),
                id = m.address_id
            )
        })
        .collect();
    let body = format!(
        "<h1>Agents</h1><table><thead><tr><th>Agent</th><th>Binding</th><th>Streams</th><th>Health</th>\
         <th>Last heartbeat</th><th>Kill switch</th></tr></thead><tbody>{rows}</tbody></table>"
    );
    page::page("Agents", &session.csrf, session.caller.0.agent_address.as_str(), &body)
}

/// `POST /ui/agents/{address_id}/kill` and `…/resume` (CSRF): the API's kill switch as the
/// session's caller (workspace admins); 303 back to the agents, or the API's refusal as a page.
pub(crate) async fn switch(
    State(state): State<AppState>,
    session: UiSession,
    PathParams((id, action)): PathParams<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = session.refuse_csrf(form.csrf.as_deref()) {
        return refused;
    }
    let (s, path) = (State(state), PathParams(id));
    let done = match action.as_str() {
        "kill" => api::mesh::kill(s, session.caller, path).await,
        "resume" => api::mesh::resume(s, session.caller, path).await,
        _ => return page::error(StatusCode::NOT_FOUND, "No such action", "Only kill and resume."),
    };
    page::after(done, "/ui/agents", "The kill switch was refused")
}
