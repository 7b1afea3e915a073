//! Service accounts and their keys, through the API's own handlers: the workspace's accounts
//! (`GET /v1/service-accounts`), a new one (`POST /v1/service-accounts`), a new key (`POST
//! /v1/service-accounts/{id}/keys`), revoking one (`POST …/keys/{key_id}/revoke`) and deleting
//! an account (`DELETE /v1/service-accounts/{id}`, which revokes its keys).
//!
//! A new key's secret is shown once: in the page that answers the POST which created it. It is
//! not stored (the store keeps its hash), not put in the session or in any URL, and no later
//! page has it. The API has no list of an account's keys; the new key's page names its id, and
//! each account has a form that revokes a key by id.

use axp_core::api::{ApiKey, ServiceAccount};
use axum::Json;
use axum::extract::{Form, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::api;
use crate::extract::{JsonObject, PathParams};
use crate::state::AppState;
use crate::ui::page::{self, esc};
use crate::ui::session::UiSession;

/// The accounts the page lists, oldest first.
const LIMIT: &str = "1000";

/// The account's row: name, address, status, and (unless deleted) its key forms and delete.
fn row(session: &UiSession, a: &ServiceAccount) -> String {
    let id = a.service_account_id;
    let csrf = page::csrf_field(&session.csrf);
    let deleted = a.status == "deleted";
    let actions = if deleted {
        String::new()
    } else {
        format!(
            "<form method=\"post\" action=\"/ui/service-accounts/{id}/keys\" class=\"inline\">{csrf}\
             <button>Issue a key</button></form> \
             <form method=\"post\" action=\"/ui/service-accounts/{id}/keys/revoke\" class=\"inline\">{csrf}\
             <input name=\"key_id\" placeholder=\"key id\" required> <button>Revoke key</button></form> \
             <form method=\"post\" action=\"/ui/service-accounts/{id}/delete\" class=\"inline\">{csrf}\
             <button>Delete</button></form>"
        )
    };
    format!(
        "<tr data-account=\"{id}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{actions}</td></tr>",
        esc(&a.name),
        esc(&a.address),
        esc(&a.status),
        a.created_at,
    )
}

/// The key just issued, with its secret (this one time) and a button revoking it.
fn issued(session: &UiSession, key: &ApiKey) -> String {
    format!(
        "<section class=\"issued\"><h2>New key {id}</h2><p>Copy the secret now: it is not shown again.</p>\
         <p><code id=\"new-key\">{}</code></p>\
         <form method=\"post\" action=\"/ui/service-accounts/{}/keys/revoke\" class=\"inline\">{}\
         <input type=\"hidden\" name=\"key_id\" value=\"{id}\"><button>Revoke it</button></form></section>",
        esc(key.token.as_deref().unwrap_or("")),
        key.service_account_id,
        page::csrf_field(&session.csrf),
        id = key.key_id
    )
}

/// The page: `issued` (the key just created) above the accounts and the form creating one.
async fn render(state: AppState, session: &UiSession, key: Option<&ApiKey>) -> Response {
    let query = super::query(&[("limit", LIMIT)]);
    let listed = api::service_accounts::list_service_accounts(State(state), session.caller(), query).await;
    let accounts: Vec<ServiceAccount> = match listed {
        Ok(Json(body)) => body.service_accounts,
        Err(e) if key.is_none() => return page::error(e.status(), "Service accounts", e.message()),
        Err(_) => Vec::new(),
    };
    let rows: String = accounts.iter().map(|a| row(session, a)).collect();
    let body = format!(
        "<h1>Service accounts</h1>{}<table><thead><tr><th>Name</th><th>Address</th><th>Status</th>\
         <th>Created</th><th>Keys</th></tr></thead><tbody>{rows}</tbody></table>\
         <h2>New service account</h2><form method=\"post\" action=\"/ui/service-accounts\">{}\
         <input name=\"name\" placeholder=\"name\" pattern=\"[A-Za-z0-9._@-]+\" required> \
         <input name=\"display_name\" placeholder=\"display name\"> <button>Create</button></form>",
        key.map(|k| issued(session, k)).unwrap_or_default(),
        page::csrf_field(&session.csrf)
    );
    page::page("Service accounts", &session.csrf, session.caller.0.agent_address.as_str(), &body)
}

/// `GET /ui/service-accounts`: the workspace's service accounts (the API's list: any role; an
/// agent key's session gets its 403 page), each with forms issuing and revoking keys.
pub(crate) async fn list(State(state): State<AppState>, session: UiSession) -> Response {
    render(state, &session, None).await
}

/// The form creating an account: CSRF, its name and display name.
#[derive(Deserialize)]
pub(crate) struct CreateForm {
    csrf: Option<String>,
    name: Option<String>,
    display_name: Option<String>,
}

/// `POST /ui/service-accounts` (CSRF) `name=&display_name=`: the API's `POST
/// /v1/service-accounts` as the session's caller (workspace admins), with the `stream` binding;
/// 303 back to the list, or the API's refusal (403, 409 taken, 422 invalid) as a page.
pub(crate) async fn create(
    State(state): State<AppState>,
    session: UiSession,
    Form(form): Form<CreateForm>,
) -> Response {
    if let Some(refused) = session.refuse_csrf(form.csrf.as_deref()) {
        return refused;
    }
    let mut body = Map::new();
    body.insert("name".into(), form.name.unwrap_or_default().trim().into());
    if let Some(d) = form.display_name.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        body.insert("display_name".into(), Value::from(d));
    }
    page::after(
        api::service_accounts::create_service_account(State(state), session.caller(), JsonObject(body)).await,
        "/ui/service-accounts",
        "The service account was not created",
    )
}

/// A form with only the CSRF token, or also a key id.
#[derive(Deserialize)]
pub(crate) struct KeyForm {
    csrf: Option<String>,
    key_id: Option<String>,
}

/// `POST /ui/service-accounts/{service_account_id}/keys` (CSRF): the API's `POST
/// /v1/service-accounts/{id}/keys` as the session's caller (workspace admins). Answers 200 with
/// the page showing the new key's secret, this once (not a redirect: the secret is in no URL and
/// in no later page); or the API's refusal as a page.
pub(crate) async fn create_key(
    State(state): State<AppState>,
    session: UiSession,
    PathParams(id): PathParams<String>,
    Form(form): Form<KeyForm>,
) -> Response {
    if let Some(refused) = session.refuse_csrf(form.csrf.as_deref()) {
        return refused;
    }
    let created = api::service_accounts::create_key(
        State(state.clone()),
        session.caller(),
        PathParams(id),
        JsonObject(Map::new()),
    )
    .await;
    match created {
        Ok(Json(created)) => render(state, &session, Some(&created.key)).await,
        Err(e) => page::error(e.status(), "The key was not issued", e.message()),
    }
}

/// `POST /ui/service-accounts/{service_account_id}/keys/revoke` (CSRF) `key_id=`: the API's
/// `POST /v1/service-accounts/{id}/keys/{key_id}/revoke` as the session's caller (workspace
/// admins); the key stops working at once. 303 back to the list, or the API's refusal as a page.
pub(crate) async fn revoke_key(
    State(state): State<AppState>,
    session: UiSession,
    PathParams(id): PathParams<String>,
    Form(form): Form<KeyForm>,
) -> Response {
    if let Some(refused) = session.refuse_csrf(form.csrf.as_deref()) {
        return refused;
    }
    let key = form.key_id.unwrap_or_default().trim().to_owned();
    page::after(
        api::service_accounts::revoke_key(State(state), session.caller, PathParams((id, key))).await,
        "/ui/service-accounts",
        "The key was not revoked",
    )
}

/// `POST /ui/service-accounts/{service_account_id}/delete` (CSRF): the API's `DELETE
/// /v1/service-accounts/{id}` as the session's caller (workspace admins; never the session's own
/// account): it is marked deleted and every key of it revoked. 303 back to the list, or the
/// API's refusal as a page.
pub(crate) async fn delete(
    State(state): State<AppState>,
    session: UiSession,
    PathParams(id): PathParams<String>,
    Form(form): Form<KeyForm>,
) -> Response {
    if let Some(refused) = session.refuse_csrf(form.csrf.as_deref()) {
        return refused;
    }
    page::after(
        api::service_accounts::delete_account(State(state), session.caller, PathParams(id)).await,
        "/ui/service-accounts",
        "The service account was not deleted",
    )
}
