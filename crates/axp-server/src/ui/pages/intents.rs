//! The intents pages: the list (filters, live rows) and one intent's detail (live over its SSE
//! stream), with cancel, resume, controls and "run again" through the API's own handlers.

use axp_core::event::EventType;
use axp_core::{Intent, Status};
use axp_store::IntentFilter;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};

use crate::api;
use crate::error::ApiError;
use crate::extract::{JsonObject, PathParams, QueryMap, intent_id};
use crate::state::AppState;
use crate::ui::page::{self, esc};
use crate::ui::session::UiSession;

/// Rows the list shows.
const LIMIT: u32 = 200;

/// The list's filters: those of `GET /v1/intents`, read by the API's own parser
/// ([`api::intents::list::parse`]); the list is newest first.
const FILTERS: [(&str, &str); 5] = [
    ("to_agent", "to agent"),
    ("from_agent", "from agent"),
    ("intent_type", "intent type"),
    ("created_after", "created after (RFC 3339)"),
    ("created_before", "created before (RFC 3339)"),
];

/// What the list's query asks for, as the store's [`IntentFilter`].
struct ListQuery {
    filter: IntentFilter,
}

impl ListQuery {
    fn parse(session: &UiSession, query: &QueryMap) -> Result<Self, ApiError> {
        let (mut filter, _) = api::intents::list::parse(query, &session.caller.0.tenant.scope())?;
        filter.order = axp_core::api::SortOrder::Desc;
        filter.start_after = None;
        filter.limit = 500;
        Ok(Self { filter })
    }

    /// The query string that asks for this list again.
    fn raw(query: &QueryMap) -> String {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        for name in std::iter::once("status").chain(FILTERS.map(|(name, _)| name)) {
            if let Some(v) = query.str(name) {
                pairs.append_pair(name, v);
            }
        }
        pairs.finish()
    }
}

/// The intents the session may see, newest first, filtered.
async fn listed(state: &AppState, session: &UiSession, q: &ListQuery) -> Result<Vec<Intent>, ApiError> {
    let mut intents = state.store.list_intents(&session.caller.0.tenant, &q.filter).await?;
    intents.retain(|i| session.caller.sees(i));
    intents.truncate(LIMIT as usize);
    Ok(intents)
}

fn status(s: Status) -> String {
    format!("<span class=\"status status-{0}\">{0}</span>", s.as_str())
}

fn rows(intents: &[Intent]) -> String {
    if intents.is_empty() {
        return "<tr><td colspan=\"5\">No intents.</td></tr>".into();
    }
    intents
        .iter()
        .map(|i| {
            format!(
                "<tr data-intent=\"{id}\"><td><a href=\"/ui/intents/{id}\">{id}</a></td><td>{}</td><td>{}</td>\
                 <td>{} → {}</td><td>{}</td></tr>",
                status(i.status),
                esc(&i.intent_type),
                esc(&i.from_agent),
                esc(&i.to_agent),
                i.created_at,
                id = i.intent_id
            )
        })
        .collect()
}

fn options(selected: Option<&str>) -> String {
    let all = ["CREATED", "SUBMITTED", "DELIVERED", "ACKNOWLEDGED", "IN_PROGRESS", "WAITING"]
        .into_iter()
        .chain(["COMPLETED", "FAILED", "CANCELED", "TIMED_OUT"]);
    std::iter::once("")
        .chain(all)
        .map(|s| {
            let on =
                if Some(s) == selected || (s.is_empty() && selected.is_none()) { " selected" } else { "" };
            format!("<option value=\"{s}\"{on}>{}</option>", if s.is_empty() { "any status" } else { s })
        })
        .collect()
}

/// `GET /ui?status=&to_agent=&from_agent=&intent_type=&created_after=&created_before=`: the
/// intents list, newest first; its rows refresh every 2 s.
pub(crate) async fn list(State(state): State<AppState>, session: UiSession, query: QueryMap) -> Response {
    let q = match ListQuery::parse(&session, &query) {
        Ok(q) => q,
        Err(e) => return page::error(StatusCode::UNPROCESSABLE_ENTITY, "Bad filter", e.message()),
    };
    let intents = match listed(&state, &session, &q).await {
        Ok(i) => i,
        Err(e) => return e.into_response(),
    };
    let inputs: String = FILTERS
        .iter()
        .map(|(name, label)| {
            format!(
                "<input name=\"{name}\" placeholder=\"{label}\" value=\"{}\"> ",
                esc(query.str(name).unwrap_or(""))
            )
        })
        .collect();
    let body = format!(
        "<h1>Intents</h1><form method=\"get\" action=\"/ui\" class=\"filters\">\
         <select name=\"status\">{}</select> {inputs}<button>Filter</button></form>\
         <table><thead><tr><th>Intent</th><th>Status</th><th>Type</th><th>From → to</th><th>Created</th></tr></thead>\
         <tbody id=\"rows\" data-poll=\"/ui/intents/rows?{}\">{}</tbody></table>",
        options(query.str("status")),
        esc(&ListQuery::raw(&query)),
        rows(&intents)
    );
    page::page("Intents", &session.csrf, session.caller.0.agent_address.as_str(), &body)
}

/// `GET /ui/intents/rows?…`: the list's rows (the fragment the list polls).
pub(crate) async fn list_rows(
    State(state): State<AppState>,
    session: UiSession,
    query: QueryMap,
) -> Response {
    let listed = match ListQuery::parse(&session, &query) {
        Ok(q) => listed(&state, &session, &q).await,
        Err(e) => Err(e),
    };
    match listed {
        Ok(intents) => page::fragment(rows(&intents)),
        Err(e) => e.into_response(),
    }
}

fn pretty(v: &impl serde::Serialize) -> String {
    esc(&serde_json::to_string_pretty(v).unwrap_or_default())
}

/// The intent's live part: status, payload, result, error, human task, deliveries, timeline and
/// the actions its status allows.
async fn detail_html(state: &AppState, session: &UiSession, raw: &str) -> Result<String, ApiError> {
    let id = intent_id(raw)?;
    let tenant = &session.caller.0.tenant;
    let intent = state.store.get_intent(tenant, id).await.map_err(ApiError::missing("intent"))?;
    if !session.caller.sees(&intent) {
        return Err(ApiError::not_found("intent"));
    }
    let events = state.store.events_since(tenant, id, 0, 1000).await.map_err(ApiError::missing("intent"))?;
    let wire = intent.to_wire();
    let field = |name: &str| wire.get(name).filter(|v| !v.is_null()).map(pretty);
    let section = |title: &str, v: Option<String>| {
        v.map(|v| {
            format!("<h2>{title}</h2><pre class=\"{}\">{v}</pre>", title.to_lowercase().replace(' ', "-"))
        })
        .unwrap_or_default()
    };
    let timeline: String = events
        .iter()
        .map(|e| {
            format!("<li>#{} {} <b>{}</b> {}</li>", e.seq, e.at, esc(e.event_type.as_str()), status(e.status))
        })
        .collect();
    let form = |action: &str, label: &str| {
        format!(
            "<form method=\"post\" action=\"/ui/intents/{id}/{action}\" class=\"inline\">{}\
             <button name=\"do\" value=\"{action}\">{label}</button></form> ",
            page::csrf_field(&session.csrf)
        )
    };
    let mut actions = String::new();
    let mut controls = String::new();
    if !intent.status.is_terminal() {
        actions.push_str(&form("cancel", "Cancel"));
        if intent.status == Status::Waiting {
            actions.push_str(&form("resume", "Resume"));
        }
        // Contract §4.8: a shallow merge into the controls, guarded by the generation shown.
        controls = format!(
            "<h2>Controls</h2><form method=\"post\" action=\"/ui/intents/{id}/controls\">{}\
             <input type=\"hidden\" name=\"expected_policy_generation\" value=\"{}\">\
             <textarea name=\"controls_patch\" rows=\"4\" cols=\"60\">{}</textarea><br>\
             <button>Update controls</button></form>",
            page::csrf_field(&session.csrf),
            intent.policy_generation,
            pretty(&intent.controls),
        );
    } else if intent.status != Status::Completed {
        actions.push_str(&form("retry", "Run again"));
    }
    Ok(format!(
        "<p>Status: <span id=\"status\">{}</span> · {} · {} → {}</p><p>{actions}</p>{}{}{}{}{controls}{}\
         <h2>Timeline</h2><ol id=\"timeline\">{timeline}</ol>",
        status(intent.status),
        esc(&intent.intent_type),
        esc(&intent.from_agent),
        esc(&intent.to_agent),
        section("Payload", Some(pretty(&intent.payload))),
        section("Result", field("result")),
        section("Error", field("error")),
        section("Human task", intent.human_task.as_ref().map(pretty)),
        deliveries(state, session, &intent).await?,
    ))
}

/// Push deliveries shown per intent: among the workspace's newest this many.
const DELIVERIES_SCANNED: u32 = 500;

/// The intent's push deliveries the session may read, each with its attempts; empty without any.
async fn deliveries(state: &AppState, session: &UiSession, intent: &Intent) -> Result<String, ApiError> {
    let all = super::deliveries::readable(state, session, None, DELIVERIES_SCANNED).await?;
    let own: Vec<_> = all.iter().filter(|d| d.intent_id == Some(intent.intent_id)).collect();
    if own.is_empty() {
        return Ok(String::new());
    }
    Ok(format!("<h2>Deliveries</h2>{}", super::deliveries::table(&own, session, None)))
}

/// `GET /ui/intents/{id}`: one intent; its detail refreshes on every event of its SSE stream.
/// 404 page when the session may not see it.
pub(crate) async fn detail(
    State(state): State<AppState>,
    session: UiSession,
    PathParams(raw): PathParams<String>,
) -> Response {
    let html = match detail_html(&state, &session, &raw).await {
        Ok(html) => html,
        Err(e) => return page::error(e.status(), "No such intent", e.message()),
    };
    let names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    let body = format!(
        "<h1>Intent {id}</h1><div data-events=\"/ui/intents/{id}/stream\" data-target=\"detail\" \
         data-refresh=\"/ui/intents/{id}/detail\" data-names=\"{}\"></div><div id=\"detail\">{html}</div>",
        names.join(" "),
        id = esc(&raw)
    );
    page::page("Intent", &session.csrf, session.caller.0.agent_address.as_str(), &body)
}

/// `GET /ui/intents/{id}/detail`: the detail's live part (a fragment).
pub(crate) async fn detail_fragment(
    State(state): State<AppState>,
    session: UiSession,
    PathParams(raw): PathParams<String>,
) -> Response {
    match detail_html(&state, &session, &raw).await {
        Ok(html) => page::fragment(html),
        Err(e) => e.into_response(),
    }
}

/// `GET /ui/intents/{id}/stream?since=&wait_seconds=`: the intent's SSE stream (contract §4.5)
/// for the session, which `EventSource` reaches with its cookie: the API's own stream handler.
pub(crate) async fn stream(
    state: State<AppState>,
    session: UiSession,
    id: PathParams<String>,
    query: QueryMap,
    headers: HeaderMap,
) -> Response {
    match api::events::stream_events(state, session.caller, id, query, headers).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// An action's form: the CSRF token, and for `controls` the patch (a JSON object) and the
/// policy generation the page showed.
#[derive(serde::Deserialize)]
pub(crate) struct ActForm {
    csrf: Option<String>,
    controls_patch: Option<String>,
    expected_policy_generation: Option<u64>,
}

/// `POST /ui/intents/{id}/{cancel|resume|controls|retry}` (CSRF), each through the API's own
/// handler as the session's caller: `cancel` is `resolve` with status CANCELED, `resume` a
/// control-only resume, `controls` the controls call with the form's `controls_patch` and
/// `expected_policy_generation` (409 `stale_policy_generation` when the intent changed since the
/// page was drawn), `retry` ("Run again") a new intent with the same type, target, payload,
/// correlation id and `reply_to` (303 to the new intent). Otherwise 303 back to the intent, or an
/// error page with the API's answer.
pub(crate) async fn act(
    State(state): State<AppState>,
    session: UiSession,
    PathParams((raw, action)): PathParams<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActForm>,
) -> Response {
    if let Some(refused) = session.refuse_csrf(form.csrf.as_deref()) {
        return refused;
    }
    let back =
        format!("/ui/intents/{}", url::form_urlencoded::byte_serialize(raw.as_bytes()).collect::<String>());
    let empty = QueryMap(Default::default());
    let (s, path) = (State(state), PathParams(raw));
    let done = match action.as_str() {
        "cancel" => {
            let body = obj(json!({"status": "CANCELED", "reason": "canceled from the dashboard"}));
            api::intents::resolve_intent(s, session.caller, path, headers, empty, JsonObject(body)).await
        }
        "resume" => {
            api::intents::resume_intent(s, session.caller, path, headers, empty, JsonObject(Map::new())).await
        }
        "controls" => {
            let patch = form.controls_patch.as_deref().unwrap_or("{}");
            let Ok(Value::Object(patch)) = serde_json::from_str::<Value>(patch) else {
                let why = "controls_patch must be a JSON object, e.g. {\"timeout_seconds\": 600}";
                return page::error(StatusCode::UNPROCESSABLE_ENTITY, "Bad controls", why);
            };
            let mut body = obj(json!({"controls_patch": patch, "reason": "changed from the dashboard"}));
            if let Some(generation) = form.expected_policy_generation {
                body.insert("expected_policy_generation".into(), generation.into());
            }
            api::intents::update_controls(s, session.caller, path, headers, empty, JsonObject(body)).await
        }
        "retry" => return run_again(s, &session, path, headers).await,
        _ => {
            let why = "Only cancel, resume, controls and retry.";
            return page::error(StatusCode::NOT_FOUND, "No such action", why);
        }
    };
    page::after(done, &back, "The action was refused")
}

/// "Run again": reads the intent through the API (so only an intent the session sees) and
/// creates a new one like it; 303 to the new intent's page.
async fn run_again(
    state: State<AppState>,
    session: &UiSession,
    path: PathParams<String>,
    headers: HeaderMap,
) -> Response {
    let refused = |e: ApiError| page::error(e.status(), "The action was refused", e.message());
    let original = match api::intents::get_intent(state.clone(), session.caller(), path).await {
        Ok(axum::Json(found)) => found.intent,
        Err(e) => return refused(e),
    };
    let mut body = Map::new();
    for field in ["intent_type", "to_agent", "payload", "correlation_id", "reply_to"] {
        if let Some(v) = original.get(field).filter(|v| !v.is_null()) {
            body.insert(field.into(), v.clone());
        }
    }
    let query = QueryMap(Default::default());
    let created =
        match api::intents::create_intent(state, session.caller(), headers, query, JsonObject(body)).await {
            Ok(response) => response,
            Err(e) => return refused(e),
        };
    let bytes = axum::body::to_bytes(created.into_body(), 64 * 1024).await.unwrap_or_default();
    let answer: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    match answer["intent_id"].as_str() {
        Some(id) => Redirect::to(&format!("/ui/intents/{id}")).into_response(),
        None => page::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Run again",
            "the create answered without an intent_id",
        ),
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
