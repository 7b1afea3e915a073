//! `ApiError`: every failure a handler returns, mapped to a status and the envelope of §1.4.

use axp_core::error::{ErrorBody, ErrorCode};
use axp_core::lifecycle::LifecycleError;
use axp_core::validate::Invalid;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A failed request: its status and envelope.
#[derive(Clone, Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    body: Box<ErrorBody>,
    retry_after: Option<u32>,
}

/// The HTTP status of each code (contract §1.4 "Status-code meanings").
fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::MissingPlatformApiKey
        | ErrorCode::InvalidPlatformApiKey
        | ErrorCode::InvalidActorToken
        | ErrorCode::AuthFailed => StatusCode::UNAUTHORIZED,
        ErrorCode::PolicyDenied | ErrorCode::InvalidActorScope => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
        ErrorCode::ValidationError | ErrorCode::InvalidAgentAddress | ErrorCode::TaskResultInvalid => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        ErrorCode::AlreadyExists
        | ErrorCode::IdempotencyConflict
        | ErrorCode::IdempotencyInProgress
        | ErrorCode::InvalidStateTransition
        | ErrorCode::StalePolicyGeneration => StatusCode::CONFLICT,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::RateLimitExceeded | ErrorCode::QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        ErrorCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ApiError {
    /// The envelope's message (`detail`), for the dashboard's error pages.
    pub(crate) fn message(&self) -> &str {
        &self.body.detail
    }

    /// An error with a code and message.
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { status: status_of(code), body: Box::new(ErrorBody::new(code, message)), retry_after: None }
    }

    /// 503 with `Retry-After: 30`: the store met a damaged database (it is faulted until
    /// restart; see `axp_store::Store::fault`).
    pub(crate) fn store_faulted() -> Self {
        let mut e =
            Self::new(ErrorCode::ServiceUnavailable, "the database is damaged; the operator must restore it");
        e.retry_after = Some(FAULT_RETRY_AFTER_SECONDS);
        e
    }

    /// Adds a `Retry-After: <secs>` header (an integer, at least 1: contract §1.5).
    pub(crate) fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.clamp(1, u64::from(u32::MAX)) as u32);
        self
    }

    pub(crate) fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// Maps a store error, saying that `what` was not found on [`axp_store::Error::NotFound`].
    pub(crate) fn missing(what: &'static str) -> impl Fn(axp_store::Error) -> ApiError {
        move |e| match e {
            axp_store::Error::NotFound => ApiError::not_found(what),
            other => other.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// A 422 naming one query parameter.
    pub(crate) fn invalid_query(param: &str, msg: &str) -> Self {
        let mut e = Self::new(ErrorCode::ValidationError, format!("{param}: {msg}"));
        e.body.errors.push(axp_core::error::FieldError::query(param, "value_error", msg));
        e
    }

    /// Sets the envelope's `errors` list.
    pub(crate) fn with_field_errors(mut self, errors: Vec<axp_core::error::FieldError>) -> Self {
        self.body.errors = errors;
        self
    }

    /// The HTTP status this error answers with.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// The envelope (§1.4).
    pub(crate) fn body(&self) -> &ErrorBody {
        &self.body
    }

    /// The `Retry-After` seconds it carries, if any.
    pub(crate) fn retry_after(&self) -> Option<u32> {
        self.retry_after
    }

    /// Adds `details` to the envelope's `error` object.
    pub(crate) fn with_details(mut self, details: Value) -> Self {
        if let Value::Object(map) = details {
            self.body.error.details = map;
        }
        self
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        let mut e = Self::new(invalid.code, invalid.message);
        e.body.errors = invalid.errors;
        e
    }
}

impl From<LifecycleError> for ApiError {
    fn from(err: LifecycleError) -> Self {
        match err {
            LifecycleError::Terminal(status) => {
                Self::new(ErrorCode::InvalidStateTransition, "intent already in terminal state")
                    .with_details(json!({"status": status}))
            }
            LifecycleError::IllegalTransition { from, to } => {
                Self::new(ErrorCode::InvalidStateTransition, format!("cannot go from {from} to {to}"))
                    .with_details(json!({"from": from, "to": to}))
            }
            LifecycleError::NotWaitingForHuman(status) => Self::new(
                ErrorCode::InvalidStateTransition,
                format!("task_result given but the intent is {status}, not waiting for a human task"),
            ),
            LifecycleError::StaleGeneration { expected, current } => {
                let mut e = Self::new(
                    ErrorCode::StalePolicyGeneration,
                    format!("expected policy_generation {expected}, current is {current}"),
                )
                .with_details(json!({"expected_policy_generation": expected, "policy_generation": current}));
                // §4.8: the SDK mocks read these at the top level.
                e.body.extra.insert("applied".into(), Value::Bool(false));
                e.body.extra.insert("reason".into(), Value::String("stale_policy_generation".into()));
                e.body.extra.insert("policy_generation".into(), json!(current));
                e
            }
            LifecycleError::WrongStep(what) => Self::new(
                ErrorCode::InvalidStateTransition,
                format!("the intent's current workflow step does not take {what}"),
            ),
            LifecycleError::UnknownStep(what) => Self::new(ErrorCode::InvalidStateTransition, what),
            LifecycleError::Forbidden { caller, action } => Self::new(
                ErrorCode::PolicyDenied,
                format!("{caller} may not {action} this intent without a grant"),
            )
            .with_details(json!({"grant": action})),
            e @ LifecycleError::NotADecider { .. } => Self::new(ErrorCode::PolicyDenied, e.to_string()),
            LifecycleError::TaskResult(t) => {
                Self::new(ErrorCode::TaskResultInvalid, t.to_string()).with_details(json!({"rule": t.rule}))
            }
        }
    }
}

/// `Retry-After` (seconds) while the store is faulted by a damaged database: a restart after
/// a restore is minutes away, not one.
pub(crate) const FAULT_RETRY_AFTER_SECONDS: u32 = 30;

impl From<axp_store::Error> for ApiError {
    fn from(err: axp_store::Error) -> Self {
        use axp_store::Error;
        match err {
            Error::NotFound => Self::not_found("resource"),
            Error::Conflict { constraint } => {
                Self::new(ErrorCode::AlreadyExists, format!("already exists ({constraint})"))
                    .with_details(json!({"constraint": constraint}))
            }
            Error::IdempotencyConflict => {
                Self::new(ErrorCode::IdempotencyConflict, "idempotency key reused with different payload")
            }
            Error::Lifecycle(l) => l.into(),
            Error::Unavailable(msg) => {
                tracing::warn!(error = %msg, "store unavailable");
                let mut e =
                    Self::new(ErrorCode::ServiceUnavailable, "the store is unavailable; retry shortly");
                e.retry_after = Some(1);
                e
            }
            Error::Unsupported(msg) => Self::new(ErrorCode::NotImplemented, msg),
            // Logged once, loudly, by the store that saw it (it is then faulted).
            Error::Corrupt(_) => Self::store_faulted(),
            Error::Internal(msg) => {
                tracing::error!(error = %msg, "store internal error");
                Self::new(ErrorCode::InternalError, "internal error")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(self.body.as_ref()).unwrap_or_default();
        let mut response =
            (self.status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body)
                .into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Result of a handler.
pub(crate) type ApiResult<T> = Result<T, ApiError>;
