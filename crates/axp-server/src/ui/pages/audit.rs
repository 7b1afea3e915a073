//! The audit log, read through the API's own handler (`GET /v1/audit`, org owners and admins
//! and security auditors): newest first, filtered by actor, action, target and time, a page at a
//! time with a link to the next (the API's cursor).

use axum::Json;
use axum::extract::State;
use axum::response::Response;

use crate::api;
use crate::extract::QueryMap;
use crate::state::AppState;
use crate::ui::page::{self, esc};
use crate::ui::session::UiSession;

/// Entries per page.
const PAGE: &str = "50";

/// The filters the page passes on to the API, in its form's order.
const FILTERS: [(&str, &str); 5] = [
    ("actor_id", "actor id"),
    ("action", "action, e.g. api_key.created"),
    ("target_id", "target id"),
    ("since", "since (RFC 3339)"),
    ("until", "until (RFC 3339)"),
];

/// `GET /ui/audit?actor_id=&action=&target_id=&since=&until=&cursor=`: a page of the audit log
/// the session may read (the API's rule and its 403 or 422 as a page), and a link to the next
/// page (the same filters and the API's `next_cursor`) while there is one.
pub(crate) async fn audit(State(state): State<AppState>, session: UiSession, query: QueryMap) -> Response {
    let value = |name: &str| query.str(name).unwrap_or("").to_owned();
    let pairs: Vec<(&str, String)> = FILTERS.iter().map(|(name, _)| (*name, value(name))).collect();
    let filtered: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut asked = filtered.clone();
    let cursor = value("cursor");
    asked.extend([("limit", PAGE), ("cursor", cursor.as_str())]);
    let Json(list) = match api::audit::list_audit(State(state), session.caller(), super::query(&asked)).await
    {
        Ok(list) => list,
        Err(e) => return page::error(e.status(), "Audit log", e.message()),
    };
    let rows: String = list
        .entries
        .iter()
        .map(|e| {
            format!(
                "<tr data-audit=\"{}\"><td>{}</td><td>{} {}</td><td>{}</td><td>{} {}</td><td>{}</td>\
                 <td><code>{}</code></td></tr>",
                e.audit_id,
                e.created_at,
                e.actor.kind.as_str(),
                esc(&e.actor.id),
                esc(&e.action),
                esc(&e.target.kind),
                esc(&e.target.id),
                e.workspace_id.map(|w| w.to_string()).unwrap_or_else(|| "organization".to_owned()),
                esc(&serde_json::to_string(&e.details).unwrap_or_default()),
            )
        })
        .collect();
    let rows = if rows.is_empty() { "<tr><td colspan=\"6\">No entries.</td></tr>".to_owned() } else { rows };
    let link = |cursor: &str| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in filtered.iter().filter(|(_, v)| !v.is_empty()) {
            q.append_pair(k, v);
        }
        if !cursor.is_empty() {
            q.append_pair("cursor", cursor);
        }
        esc(&format!("/ui/audit?{}", q.finish()))
    };
    let mut paging = String::new();
    if !cursor.is_empty() {
        paging.push_str(&format!("<a href=\"{}\">Newest</a> ", link("")));
    }
    if let Some(next) = &list.next_cursor {
        paging.push_str(&format!("<a href=\"{}\" rel=\"next\">Older entries</a>", link(next)));
    }
    let inputs: String = FILTERS
        .iter()
        .map(|(name, hint)| {
            format!("<input name=\"{name}\" placeholder=\"{}\" value=\"{}\"> ", esc(hint), esc(&value(name)))
        })
        .collect();
    let body = format!(
        "<h1>Audit log</h1><form method=\"get\" action=\"/ui/audit\" class=\"filters\">{inputs}\
         <button>Filter</button></form><table><thead><tr><th>When</th><th>Actor</th><th>Action</th>\
         <th>Target</th><th>Workspace</th><th>Details</th></tr></thead><tbody>{rows}</tbody></table>\
         <p class=\"paging\">{paging}</p>"
    );
    page::page("Audit log", &session.csrf, session.caller.0.agent_address.as_str(), &body)
}
