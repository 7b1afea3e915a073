//! Error codes and the one error envelope (contract §1.4).
//!
//! Every non-2xx response carries
//! `{"error": {"code", "message", "category", "retryable", "details"}, "detail": "<message>"}`,
//! plus `errors: [{loc, msg, type}]` for field validation failures. The HTTP status for each code
//! is chosen by the server; clients map `code` back to a typed error.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A stable, machine-readable error code (`^[a-z0-9_:.\-]{3,128}$`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 401: no API key.
    MissingPlatformApiKey,
    /// 401: the key is unknown or revoked.
    InvalidPlatformApiKey,
    /// 401: the actor token (a person's `Authorization: Bearer`, §1.1) is unknown, revoked or
    /// expired.
    InvalidActorToken,
    /// 401: a credential of its own that a server-wide endpoint takes (the `/metrics` bearer
    /// token, `AXP_METRICS_TOKEN`) is missing or wrong; the spec catalogue's `auth_failed`.
    AuthFailed,
    /// 403: the actor token belongs to another workspace than the API key sent with it.
    InvalidActorScope,
    /// 403: the caller may not do this.
    PolicyDenied,
    /// 404: unknown resource, or another tenant's.
    NotFound,
    /// 400: malformed request (not JSON, bad query, conflicting parameters).
    BadRequest,
    /// 422: the request is well-formed but a field is invalid.
    ValidationError,
    /// 422: an agent address is not valid (§2.1).
    InvalidAgentAddress,
    /// 422: a human task's `task_result` breaks one of its rules (§4.9).
    TaskResultInvalid,
    /// 409: a resource with this unique name or address already exists.
    AlreadyExists,
    /// 409: an idempotency key was reused with a different request.
    IdempotencyConflict,
    /// 409: the first request with this idempotency key is still running.
    IdempotencyInProgress,
    /// 409: the lifecycle does not allow this (e.g. the intent is terminal).
    InvalidStateTransition,
    /// 409: `expected_policy_generation` is stale (§4.8).
    StalePolicyGeneration,
    /// 413: the payload is larger than allowed.
    PayloadTooLarge,
    /// 405: the path exists but not with this method.
    MethodNotAllowed,
    /// 429: slow down; see `Retry-After`.
    RateLimitExceeded,
    /// 429: the workspace used up a quota dimension (contract §6 "Quotas"); `Retry-After` says
    /// when its window ends.
    QuotaExceeded,
    /// 501: this server's deployment does not offer the operation (e.g. `POST /v1/admin/backup`
    /// on PostgreSQL: use `pg_dump` or PITR).
    NotImplemented,
    /// 503: the server is shutting down or its store is unavailable; retry.
    ServiceUnavailable,
    /// 500: a fault inside the server.
    InternalError,
}

impl ErrorCode {
    /// The wire string, e.g. `idempotency_conflict`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MissingPlatformApiKey => "missing_platform_api_key",
            ErrorCode::InvalidPlatformApiKey => "invalid_platform_api_key",
            ErrorCode::InvalidActorToken => "invalid_actor_token",
            ErrorCode::AuthFailed => "auth_failed",
            ErrorCode::InvalidActorScope => "invalid_actor_scope",
            ErrorCode::PolicyDenied => "policy_denied",
            ErrorCode::NotFound => "not_found",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::ValidationError => "validation_error",
            ErrorCode::InvalidAgentAddress => "invalid_agent_address",
            ErrorCode::TaskResultInvalid => "task_result_invalid",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::IdempotencyConflict => "idempotency_conflict",
            ErrorCode::IdempotencyInProgress => "idempotency_in_progress",
            ErrorCode::InvalidStateTransition => "invalid_state_transition",
            ErrorCode::StalePolicyGeneration => "stale_policy_generation",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::RateLimitExceeded => "rate_limit_exceeded",
            ErrorCode::QuotaExceeded => "quota_exceeded",
            ErrorCode::NotImplemented => "not_implemented",
            ErrorCode::ServiceUnavailable => "service_unavailable",
            ErrorCode::InternalError => "internal_error",
        }
    }

    /// The error's category: `auth`, `validation`, `not_found`, `conflict`, `rate_limit` or `internal`.
    pub fn category(self) -> &'static str {
        match self {
            ErrorCode::MissingPlatformApiKey
            | ErrorCode::InvalidPlatformApiKey
            | ErrorCode::InvalidActorToken
            | ErrorCode::AuthFailed
            | ErrorCode::InvalidActorScope
            | ErrorCode::PolicyDenied => "auth",
            ErrorCode::NotFound => "not_found",
            ErrorCode::BadRequest
            | ErrorCode::ValidationError
            | ErrorCode::InvalidAgentAddress
            | ErrorCode::TaskResultInvalid
            | ErrorCode::PayloadTooLarge
            | ErrorCode::MethodNotAllowed
            | ErrorCode::NotImplemented => "validation",
            ErrorCode::AlreadyExists
            | ErrorCode::IdempotencyConflict
            | ErrorCode::IdempotencyInProgress
            | ErrorCode::InvalidStateTransition
            | ErrorCode::StalePolicyGeneration => "conflict",
            ErrorCode::RateLimitExceeded | ErrorCode::QuotaExceeded => "rate_limit",
            ErrorCode::ServiceUnavailable | ErrorCode::InternalError => "internal",
        }
    }

    /// Whether repeating the same request later may succeed.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::RateLimitExceeded
                | ErrorCode::QuotaExceeded
                | ErrorCode::ServiceUnavailable
                | ErrorCode::InternalError
                | ErrorCode::IdempotencyInProgress
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One field-level validation failure, FastAPI style: `{"loc": ["body", "to_agent"], "msg", "type"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Where: `["body", "<field>"]` or `["query", "<param>"]`.
    pub loc: Vec<String>,
    /// What is wrong.
    pub msg: String,
    /// A short machine tag: `missing`, `type_error`, `value_error`, `pattern`.
    #[serde(rename = "type")]
    pub kind: String,
}

impl FieldError {
    /// A failure of body field `field`.
    pub fn body(field: &str, kind: &str, msg: impl Into<String>) -> Self {
        Self { loc: vec!["body".into(), field.into()], msg: msg.into(), kind: kind.into() }
    }

    /// A failure of query parameter `param`.
    pub fn query(param: &str, kind: &str, msg: impl Into<String>) -> Self {
        Self { loc: vec!["query".into(), param.into()], msg: msg.into(), kind: kind.into() }
    }
}

/// The inner `error` object of the envelope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Stable code.
    pub code: ErrorCode,
    /// For people.
    pub message: String,
    /// See [`ErrorCode::category`].
    pub category: String,
    /// See [`ErrorCode::retryable`].
    pub retryable: bool,
    /// Code-specific data (always an object).
    #[serde(default)]
    pub details: Map<String, Value>,
}

/// The error envelope of every non-2xx response (contract §1.4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The structured error.
    pub error: ErrorDetail,
    /// The message again, as a plain string (the CLI prints it).
    pub detail: String,
    /// Field failures, for 422s.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Extra top-level fields some codes carry (`applied`, `reason`, `policy_generation` for
    /// `stale_policy_generation`, §4.8).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ErrorBody {
    /// An envelope with no details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            error: ErrorDetail {
                code,
                message: message.clone(),
                category: code.category().into(),
                retryable: code.retryable(),
                details: Map::new(),
            },
            detail: message,
            errors: Vec::new(),
            extra: Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_shape() {
        let body =
            ErrorBody::new(ErrorCode::IdempotencyConflict, "idempotency key reused with different payload");
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(v["error"]["code"], "idempotency_conflict");
        assert_eq!(v["error"]["category"], "conflict");
        assert_eq!(v["error"]["retryable"], false);
        assert_eq!(v["detail"], "idempotency key reused with different payload");
        assert!(v.get("errors").is_none());
    }

    #[test]
    fn codes_match_the_contract_pattern() {
        let re = regex::Regex::new(r"^[a-z0-9_:.\-]{3,128}$").unwrap();
        for code in
            [ErrorCode::MissingPlatformApiKey, ErrorCode::StalePolicyGeneration, ErrorCode::InternalError]
        {
            assert!(re.is_match(code.as_str()));
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }
}
