//! Extractors: the authenticated caller, JSON object bodies, query maps, and header readers.
//! Every rejection is an `ApiError`, so malformed input gets the contract's envelope too.

use std::collections::HashMap;

use axp_core::Timestamp;
use axp_core::error::ErrorCode;
use axp_core::ids::IntentId;
use axp_store::{Actor, KeyHash, Principal};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use bytes::Bytes;
use serde_json::{Map, Value};

use crate::audit::TraceId;
use crate::error::ApiError;
use crate::state::AppState;

/// The caller (contract §1.1): a service account by API key, or a person by actor token.
///
/// - `x-api-key` present: that is the machine credential (401 `invalid_platform_api_key` unless
///   it is a valid API key). A Bearer token sent beside it (and not the same string) must be a
///   valid actor token (401 `invalid_actor_token`) of the key's workspace (403
///   `invalid_actor_scope`), and the caller is then that person.
/// - No `x-api-key`: a Bearer token that is an API key is the machine credential (what the
///   conformance suite sends); otherwise it must be a valid actor token: 401
///   `invalid_actor_token` when it is unknown, revoked or expired (`invalid_platform_api_key`
///   for a token shaped like an API key, `axme_sa_…`).
/// - Neither: 401 `missing_platform_api_key`.
///
/// Carries the request's trace id for the audit log ([`Caller::audit`]).
pub(crate) struct Caller(pub(crate) Principal, pub(crate) Option<String>);

/// A header's value, trimmed; `None` when absent, empty or not visible ASCII.
fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|t| !t.is_empty())
}

/// The token of `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 9110
/// §11.1), so `BEARER` and `bearer` count too.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    header(headers, axum::http::header::AUTHORIZATION.as_str())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
}

fn invalid_key() -> ApiError {
    ApiError::new(ErrorCode::InvalidPlatformApiKey, "the API key is invalid, expired or revoked")
}

fn invalid_actor_token() -> ApiError {
    ApiError::new(ErrorCode::InvalidActorToken, "the actor token is invalid, expired or revoked")
}

/// The result of [`authenticate`] for this request, which the admission middleware puts in the
/// request's extensions so that [`Caller`] reads it instead of looking the key up again.
#[derive(Clone)]
pub(crate) struct Authenticated(pub(crate) Result<Principal, ApiError>);

/// The credential whose principal [`authenticate`] answers for `headers` (the rules of
/// [`Caller`]): a Bearer actor token sent beside an API key, else the API key, else the Bearer
/// token. The dashboard stores its hash with a login link, so the link's session acts as it.
pub(crate) fn credential(headers: &HeaderMap) -> Option<&str> {
    match (header(headers, "x-api-key"), bearer(headers)) {
        (Some(key), Some(token)) if token != key => Some(token),
        (Some(key), _) => Some(key),
        (None, token) => token,
    }
}

/// Who sent `headers` (the rules of [`Caller`]); one store lookup per credential sent.
pub(crate) async fn authenticate(headers: &HeaderMap, state: &AppState) -> Result<Principal, ApiError> {
    let now = state.clock.now();
    let who = async |token: &str| state.store.authenticate(&KeyHash::of(token), now).await;
    let is_person = |p: &Principal| matches!(p.actor, Actor::User { .. });
    match (header(headers, "x-api-key"), bearer(headers)) {
        (Some(key), bearer) => {
            let machine = who(key).await?.filter(|p| !is_person(p)).ok_or_else(invalid_key)?;
            let Some(token) = bearer.filter(|b| *b != key) else {
                return Ok(machine);
            };
            let person = who(token).await?.filter(is_person).ok_or_else(invalid_actor_token)?;
            if person.tenant.workspace_id != machine.tenant.workspace_id {
                return Err(ApiError::new(
                    ErrorCode::InvalidActorScope,
                    "the actor token belongs to another workspace than the API key",
                ));
            }
            Ok(person)
        }
        (None, Some(token)) => match who(token).await? {
            Some(principal) => Ok(principal),
            None if token.starts_with("axme_sa_") => Err(invalid_key()),
            None => Err(invalid_actor_token()),
        },
        (None, None) => Err(ApiError::new(
            ErrorCode::MissingPlatformApiKey,
            "an API key is required (x-api-key or Authorization: Bearer)",
        )),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    /// Takes what the admission middleware found ([`Authenticated`]); authenticates here only
    /// when the request did not pass through it.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let trace = parts.extensions.get::<TraceId>().map(|t| t.0.clone());
        let principal = match parts.extensions.remove::<Authenticated>() {
            Some(done) => done.0?,
            None => authenticate(&parts.headers, state).await?,
        };
        Ok(Caller(principal, trace))
    }
}

/// A JSON object body. An empty body is `{}` (the SDK sends bodiless POSTs with a JSON content
/// type, §1.3); malformed JSON or a non-object is 400; a body over the limit is 413.
pub(crate) struct JsonObject(pub(crate) Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(ErrorCode::PayloadTooLarge, "request body is too large")
            } else {
                ApiError::bad_request(format!("could not read the request body: {rejection}"))
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(Map::new()));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(ApiError::bad_request("the request body must be a JSON object")),
            Err(e) => Err(ApiError::bad_request(format!("the request body is not valid JSON: {e}"))),
        }
    }
}

/// The query string as a map (last value wins). 400 when it cannot be decoded.
pub(crate) struct QueryMap(pub(crate) HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))
    }
}

impl QueryMap {
    /// An optional non-negative integer parameter; 422 when it is not one.
    pub(crate) fn u64(&self, name: &str) -> Result<Option<u64>, ApiError> {
        match self.0.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => {
                s.parse().map(Some).map_err(|_| ApiError::invalid_query(name, "must be an integer >= 0"))
            }
        }
    }

    /// An optional integer in `min..=max`; 422 outside it.
    pub(crate) fn bounded(&self, name: &str, min: u64, max: u64) -> Result<Option<u64>, ApiError> {
        match self.u64(name) {
            Ok(Some(n)) if !(min..=max).contains(&n) => {
                Err(ApiError::invalid_query(name, &format!("must be {min} to {max}")))
            }
            Err(_) => Err(ApiError::invalid_query(name, &format!("must be an integer from {min} to {max}"))),
            other => other,
        }
    }

    /// An optional string parameter (empty counts as absent).
    pub(crate) fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|s| !s.is_empty())
    }

    /// An optional RFC 3339 parameter (empty counts as absent); 422 naming it when it is not
    /// one.
    pub(crate) fn time(&self, name: &str) -> Result<Option<Timestamp>, ApiError> {
        self.str(name)
            .map(|s| {
                Timestamp::parse_rfc3339(s).ok_or_else(|| ApiError::invalid_query(name, "must be RFC 3339"))
            })
            .transpose()
    }
}

/// The path's intent id; a string that is not a UUID names no intent (404).
pub(crate) fn intent_id(raw: &str) -> Result<IntentId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("intent"))
}

/// The `Idempotency-Key` header (case-insensitive name), 1 to 255 characters (§1.8).
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v.to_str().map_err(|_| ApiError::bad_request("Idempotency-Key must be visible ASCII"))?.trim();
    if key.is_empty() || key.len() > 255 {
        return Err(ApiError::new(ErrorCode::ValidationError, "Idempotency-Key must be 1 to 255 characters"));
    }
    Ok(Some(key.to_owned()))
}

/// The owner scope of §1.2: `?owner_agent=` or `x-owner-agent`; 400 when both are given and differ.
pub(crate) fn owner_scope(headers: &HeaderMap, query: &QueryMap) -> Result<Option<String>, ApiError> {
    let header =
        headers.get("x-owner-agent").and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty());
    match (query.str("owner_agent"), header) {
        (Some(q), Some(h)) if q != h => {
            Err(ApiError::bad_request("owner_agent query and x-owner-agent header differ"))
        }
        (Some(q), _) => Ok(Some(q.to_owned())),
        (None, h) => Ok(h.map(str::to_owned)),
    }
}

/// The owner a call acts for (§1.2): `owner_agent` (query or `x-owner-agent`, normalised),
/// default the caller's own agent address (§0.7). Lenient: any owner in the caller's workspace.
pub(crate) fn owner_agent(
    caller: &Caller,
    headers: &HeaderMap,
    query: &QueryMap,
) -> Result<String, ApiError> {
    match owner_scope(headers, query)? {
        Some(raw) => axp_core::AgentAddress::parse(&raw, &caller.0.tenant.scope())
            .map(axp_core::AgentAddress::into_string)
            .map_err(|e| ApiError::invalid_query("owner_agent", &e.to_string())),
        None => Ok(caller.0.agent_address.to_string()),
    }
}

/// Path parameters. A rejection (a segment that is not UTF-8 once percent-decoded, say) is a 400
/// in the error envelope rather than axum's plain-text answer.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub(crate) struct PathParams<T>(pub(crate) T);

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::PathRejection) -> Self {
        ApiError::bad_request(format!("malformed path: {}", rejection.body_text()))
    }
}
