//! The web dashboard under `/ui` (`docs/dashboard.md`): server-rendered pages with a little
//! vanilla JavaScript, embedded in the binary. Pages act through the API's own handlers as the
//! session's caller (`session`), so the access rules are the API's.
//!
//! - `session`: login links, the sign-in form, the session cookie, CSRF, sign-out.
//! - `page`: the HTML frame, error pages, escaping.
//! - `pages/intents.rs`: the intents list and an intent's detail; `pages/inbox.rs`: human tasks
//!   (`pages/form_task.rs`: form tasks' fields); `pages/agents.rs`: agents and their kill switch;
//!   `pages/deliveries.rs`: dead letters and replay (and the deliveries table other pages show);
//!   `pages/webhooks.rs`: webhook subscriptions and their deliveries; `pages/service_accounts.rs`:
//!   service accounts and their keys; `pages/audit.rs`: the audit log.

mod page;
mod pages;
mod session;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::state::AppState;

const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

async fn app_js() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], APP_JS)
}

async fn app_css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], APP_CSS)
}

/// `POST /v1/ui/login-links` in the OpenAPI document (`crate::openapi`); the HTML pages are
/// described in `docs/dashboard.md`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(session::create_login_link))]
pub(crate) struct Doc;

/// The dashboard's routes, and `POST /v1/ui/login-links`.
pub(crate) fn router() -> Router<AppState> {
    use pages::{agents, audit, deliveries, inbox, intents, service_accounts, webhooks};
    Router::new()
        .route("/v1/ui/login-links", post(session::create_login_link))
        .route("/ui/login", get(session::login_form).post(session::login))
        .route("/ui/login/{token}", get(session::open_login_link))
        .route("/ui/logout", post(session::logout))
        .route("/ui/assets/app.js", get(app_js))
        .route("/ui/assets/app.css", get(app_css))
        .route("/ui", get(intents::list))
        .route("/ui/intents/rows", get(intents::list_rows))
        .route("/ui/intents/{intent_id}", get(intents::detail))
        .route("/ui/intents/{intent_id}/detail", get(intents::detail_fragment))
        .route("/ui/intents/{intent_id}/stream", get(intents::stream))
        .route("/ui/intents/{intent_id}/{action}", post(intents::act))
        .route("/ui/inbox", get(inbox::inbox))
        .route("/ui/inbox/{intent_id}/decision", post(inbox::decide))
        .route("/ui/agents", get(agents::agents))
        .route("/ui/deliveries", get(deliveries::dead_letters))
        .route("/ui/deliveries/{delivery_id}/replay", post(deliveries::replay))
        .route("/ui/agents/{address_id}/{action}", post(agents::switch))
        .route("/ui/webhooks", get(webhooks::webhooks))
        .route("/ui/webhooks/{subscription_id}/{action}", post(webhooks::act))
        .route("/ui/service-accounts", get(service_accounts::list).post(service_accounts::create))
        .route("/ui/service-accounts/{service_account_id}/keys", post(service_accounts::create_key))
        .route("/ui/service-accounts/{service_account_id}/keys/revoke", post(service_accounts::revoke_key))
        .route("/ui/service-accounts/{service_account_id}/delete", post(service_accounts::delete))
        .route("/ui/audit", get(audit::audit))
}
