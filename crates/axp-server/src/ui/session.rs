//! Dashboard sign-in (`docs/dashboard.md`): one-time login links, the actor-token form, the
//! session cookie, its CSRF token and sign-out.
//!
//! A session is a random secret in an HttpOnly, SameSite=Strict cookie (Secure over TLS); the
//! store keeps its SHA-256 with the hash of the credential it was made from
//! ([`axp_store::UiSessionStore`]), so every replica on the database knows it, and every request
//! authenticates that credential again: the session has exactly its principal's rights, now.
//! The CSRF token of a session is derived from its secret (SHA-256 of a fixed prefix and the
//! secret), so any replica checks it without storing it, and a page of another site cannot
//! compute it (it never sees the cookie).

use axp_core::Timestamp;
use axp_store::{KeyHash, UiSecret, UiSecretKind, generate_ui_secret};
use axum::Json;
use axum::extract::{Form, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::page;
use crate::audit::TraceId;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, PathParams, credential};
use crate::state::AppState;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "axp_session";

/// How long a one-time login link works: 5 minutes.
pub(crate) const LINK_TTL_SECONDS: i64 = 5 * 60;

/// How long a session lasts: 12 hours (the credential it was made from may end it sooner).
pub(crate) const SESSION_TTL_SECONDS: i64 = 12 * 3600;

/// A signed-in browser: the caller its session acts as, and the session's CSRF token.
pub(crate) struct UiSession {
    pub(crate) caller: Caller,
    pub(crate) csrf: String,
    hash: KeyHash,
}

/// The CSRF token of the session with secret `secret`: hex SHA-256 of `axp-ui-csrf:` + secret.
fn csrf_of(secret: &str) -> String {
    KeyHash::of(&format!("axp-ui-csrf:{secret}")).to_hex()
}

/// The session cookie's value, if the request sent one.
fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// Why there is no session: a page (GET) is sent to the login form (303), anything else gets 401.
pub(crate) struct SignedOut(Method);

impl IntoResponse for SignedOut {
    fn into_response(self) -> Response {
        if self.0 == Method::GET {
            Redirect::to("/ui/login").into_response()
        } else {
            page::error(StatusCode::UNAUTHORIZED, "Not signed in", "Sign in again at /ui/login.")
        }
    }
}

impl FromRequestParts<AppState> for UiSession {
    type Rejection = Response;

    /// The session of the cookie, when the store knows it unexpired and its credential still
    /// authenticates; else [`SignedOut`]. A store failure is a 503 page.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let signed_out = || SignedOut(parts.method.clone()).into_response();
        let Some(secret) = cookie(&parts.headers) else { return Err(signed_out()) };
        let now = state.clock.now();
        let hash = KeyHash::of(secret);
        let unavailable = |e: axp_store::Error| ApiError::from(e).into_response();
        let Some(session) = state.store.ui_session(&hash, now).await.map_err(unavailable)? else {
            return Err(signed_out());
        };
        let Some(principal) =
            state.store.authenticate(&session.credential, now).await.map_err(unavailable)?
        else {
            return Err(signed_out());
        };
        let trace = parts.extensions.get::<TraceId>().map(|t| t.0.clone());
        Ok(Self { caller: Caller(principal, trace), csrf: csrf_of(secret), hash })
    }
}

impl UiSession {
    /// The session's caller, once more: each API handler a page calls takes its own.
    pub(crate) fn caller(&self) -> Caller {
        Caller(self.caller.0.clone(), self.caller.1.clone())
    }

    /// The 403 page (the request then changes nothing) unless `sent` is this session's CSRF
    /// token; `None` when it is.
    pub(crate) fn refuse_csrf(&self, sent: Option<&str>) -> Option<Response> {
        let sent = sent.unwrap_or("").as_bytes();
        let want = self.csrf.as_bytes();
        let same = sent.len() == want.len() && sent.iter().zip(want).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0;
        (!same).then(|| {
            page::error(StatusCode::FORBIDDEN, "Refused", "The form's CSRF token is missing or wrong.")
        })
    }
}

/// Starts a session acting as `credential`: stores it and answers 303 to `/ui` with the cookie.
async fn start_session(state: &AppState, credential: KeyHash, now: Timestamp) -> Response {
    let (secret, hash) = generate_ui_secret();
    let expires_at = now.plus_seconds(SESSION_TTL_SECONDS);
    let session = UiSecret { hash, kind: UiSecretKind::Session, credential, created_at: now, expires_at };
    if let Err(e) = state.store.create_ui_secret(session).await {
        return ApiError::from(e).into_response();
    }
    let secure = if state.options.transport.tls.is_some() { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={secret}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={SESSION_TTL_SECONDS}{secure}"
    );
    let mut response = Redirect::to("/ui").into_response();
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("ASCII cookie"));
    response
}

/// `POST /v1/ui/login-links` (axp extension): a one-time dashboard login link acting as the
/// calling credential, `{ok, login_path: "/ui/login/<token>", expires_at}`; it works once,
/// within 5 minutes. 403 unless the caller administers its workspace (the operator does).
#[utoipa::path(
    post,
    path = "/v1/ui/login-links",
    tag = "dashboard",
    responses((status = 200, description = "`{ok, login_path, expires_at}`: open `login_path` on this server within 5 minutes, once")),
    extensions(("x-axp-extension" = json!(true))),
)]
pub(crate) async fn create_login_link(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    caller.require_workspace_admin()?;
    let credential = credential(&headers).ok_or_else(|| ApiError::bad_request("no credential sent"))?;
    let now = state.clock.now();
    let (token, hash) = generate_ui_secret();
    let expires_at = now.plus_seconds(LINK_TTL_SECONDS);
    let link = UiSecret {
        hash,
        kind: UiSecretKind::LoginLink,
        credential: KeyHash::of(credential),
        created_at: now,
        expires_at,
    };
    state.store.create_ui_secret(link).await?;
    Ok(Json(json!({"ok": true, "login_path": format!("/ui/login/{token}"), "expires_at": expires_at})))
}

/// `GET /ui/login/{token}`: uses up the link and signs the browser in (303 to `/ui`); a used,
/// expired or unknown link gets a 410 page saying so.
pub(crate) async fn open_login_link(
    State(state): State<AppState>,
    PathParams(token): PathParams<String>,
) -> Response {
    let now = state.clock.now();
    match state.store.take_ui_login_link(&KeyHash::of(&token), now).await {
        Ok(Some(link)) => start_session(&state, link.credential, now).await,
        Ok(None) => page::error(
            StatusCode::GONE,
            "This login link does not work",
            "It was used already, has expired (links last 5 minutes) or never existed. \
             Run `axp ui --print-url` for a new one, or sign in with your token at /ui/login.",
        ),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `GET /ui/login`: the sign-in form (an actor token, sent in the body, never in a URL).
pub(crate) async fn login_form() -> Response {
    page::bare("Sign in", &login_body(None))
}

fn login_body(problem: Option<&str>) -> String {
    let problem = problem.map(|p| format!("<p class=\"problem\">{}</p>", page::esc(p))).unwrap_or_default();
    format!(
        "<h1>Sign in to axp</h1>{problem}\
         <form method=\"post\" action=\"/ui/login\">\
         <label>Your actor token <input type=\"password\" name=\"token\" autocomplete=\"off\" required></label>\
         <button type=\"submit\">Sign in</button></form>\
         <p>Operators: <code>axp ui</code> opens a one-time login link.</p>"
    )
}

/// The sign-in form's body.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    token: String,
}

/// Whether the request's `Origin` (sent by browsers on every form POST) names another site than
/// its `Host`: then a page elsewhere submitted the form (login CSRF, signing the victim in as
/// the attacker). No `Origin` (a non-browser client) passes.
fn cross_site(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return false };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin.split_once("://").map(|(_, authority)| authority) != Some(host)
}

/// `POST /ui/login` `token=…`: signs in with the token (an actor token; an API key works too,
/// with its own rights), 303 to `/ui`; an invalid one gets the form again with 401, a form
/// posted from another site 403.
pub(crate) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if cross_site(&headers) {
        return page::error(
            StatusCode::FORBIDDEN,
            "Refused",
            "This sign-in form was sent from another site.",
        );
    }
    let now = state.clock.now();
    let hash = KeyHash::of(form.token.trim());
    match state.store.authenticate(&hash, now).await {
        Ok(Some(_)) => start_session(&state, hash, now).await,
        Ok(None) => {
            let body = login_body(Some("That token is invalid, expired or revoked."));
            (StatusCode::UNAUTHORIZED, page::bare("Sign in", &body)).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// A form with only the CSRF token.
#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    pub(crate) csrf: Option<String>,
}

/// `POST /ui/logout` (CSRF): ends the session and clears the cookie; 303 to `/ui/login`.
pub(crate) async fn logout(
    State(state): State<AppState>,
    session: UiSession,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = session.refuse_csrf(form.csrf.as_deref()) {
        return refused;
    }
    if let Err(e) = state.store.delete_ui_session(&session.hash).await {
        return ApiError::from(e).into_response();
    }
    let mut response = Redirect::to("/ui/login").into_response();
    let clear = format!("{COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0");
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&clear).expect("ASCII cookie"));
    response
}
