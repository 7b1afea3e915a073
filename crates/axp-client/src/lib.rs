//! Typed async Rust SDK for the `axp` server, a self-hosted server for the AXP Intent Protocol.
//!
//! The SDK speaks the wire contract through the types of [`axp_core`] (re-exported here) and
//! depends on nothing else of the server. It owns: the HTTP calls and their retry rules, error
//! decoding, and the SSE streams that turn short server responses into durable event feeds.
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use axp_client::{Client, CreateIntentRequest};
//!
//! # #[tokio::main] async fn main() -> axp_client::Result<()> {
//! let client = Client::try_new("http://127.0.0.1:8080", std::env::var("AXP_API_KEY").unwrap_or_default())?;
//!
//! // Submit an intent; the idempotency key makes the call safe to retry.
//! let request = CreateIntentRequest {
//!     intent_type: "intent.report.generate.v1".into(),
//!     to_agent: "agent://acme/main/reporter".into(),
//!     payload: Default::default(),
//!     correlation_id: None,
//!     reply_to: None,
//!     deadline_at: None,
//!     max_delivery_attempts: None,
//!     human_task: None,
//! };
//! let created = client.create_intent(&request, Some("report-2026-02")).await?;
//!
//! // Follow it to the end.
//! let mut events = std::pin::pin!(client.observe(created.intent_id, 0));
//! while let Some(event) = events.try_next().await? {
//!     println!("{} {}", event.seq, event.event_type);
//! }
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! - [`Client`] / [`ClientBuilder`]: one method per REST call, plus the streams
//!   ([`Client::observe`], [`Client::listen`], [`Client::wait_for`] and their one-response
//!   variants).
//! - [`Error`]: non-2xx answers ([`Error::Api`] with the envelope's [`ErrorCode`]), transport
//!   failures and decode failures.
//! - [`StreamItem`] / [`AgentStreamItem`]: the frames of one SSE response.
//! - The inbox and human approval (contract §5.1, §5.2, §4.9): [`Thread`] and its
//!   [`TimelineEntry`]s from [`Client::list_inbox`], [`Client::get_inbox_thread`] and
//!   [`Client::list_inbox_changes`]; the thread actions ([`Client::reply_inbox_thread`],
//!   [`Client::delegate_inbox_thread`], [`Client::approve_inbox_thread`],
//!   [`Client::reject_inbox_thread`], [`Client::mark_inbox_thread_read`],
//!   [`Client::delete_inbox_messages`]); [`Client::decide_approval`] and
//!   [`Client::list_my_tasks`]. Every inbox call takes an optional owner (`owner_agent`),
//!   defaulting to the key's own agent.
//! - The audit log: [`Client::list_audit`] pages through [`AuditEntry`]s with an
//!   [`AuditQuery`].
//! - Tenancy (contract §6): organizations, workspaces and members ([`Client::create_organization`],
//!   [`Client::create_workspace`], [`Client::add_member`], …), the directory of principals and
//!   aliases ([`Client::create_principal`], [`Client::bind_alias`], [`Client::resolve_alias`]),
//!   access requests ([`Client::create_access_request`], [`Client::review_access_request`]).
//! - People (contract §6, §1.1): nicks and profiles ([`Client::check_nick`],
//!   [`Client::register_nick`], [`Client::rename_nick`], [`Client::get_profile`],
//!   [`Client::update_profile`], [`Client::resolve_nick`]), invites ([`Client::create_invite`],
//!   [`Client::get_invite`], [`Client::accept_invite`]), actor tokens
//!   ([`Client::issue_actor_token`], [`Client::revoke_actor_token`]) and [`Client::me`]. A client
//!   built with [`ClientBuilder::actor_token`] acts as that person.
//! - The operator's calls: [`Client::backup`] and [`Client::admin_stats`].
//! - Every request and response body is a type of [`axp_core::api`] (or of the `axp_core`
//!   modules it builds on), the same the server answers with, re-exported here: [`Agent`],
//!   [`DeliveryBinding`], [`Binding`], [`RegisterAgentRequest`], [`BulkCancelRequest`],
//!   [`SubscriptionRequest`], [`WebhookEventReceipt`], [`InboxChanges`], [`OpenTask`],
//!   [`Capabilities`], …
//!
//! # Retries
//!
//! As the Python SDK does (contract §1.5): GETs, and POSTs that carry an `Idempotency-Key`, are
//! retried up to [`ClientBuilder::max_retries`] times (default 2) on 429, 500, 502, 503, 504 and
//! transport failures, waiting 200 ms · 2ⁿ or the server's integer `Retry-After` (capped at
//! 30 s). Other POSTs are sent exactly once.
#![warn(missing_docs)]

mod access_requests;
mod admin;
mod agents;
mod approvals;
mod audit;
mod client;
mod deliveries;
mod directory;
mod error;
mod follow;
mod inbox;
mod intents;
mod invites;
mod organizations;
mod request;
mod retry;
mod scenarios;
mod service_accounts;
mod sse;
mod streams;
#[cfg(test)]
mod tests;
mod ui;
mod users;
mod webhooks;

pub use axp_core;
pub use axp_core::api::{
    Agent, AgentDelivery, ApiKey, ApplyScenarioResponse, AuditEntry, AuditQuery, BulkCancelRequest,
    BulkCancelResponse, Capabilities, CreateIntentRequest, CreateIntentResponse, CreateServiceAccountRequest,
    Decision, DeleteMessagesRequest, DeleteMode, DeletedMessages, DeliveryBinding, EventsResponse, Health,
    InboxChanges, IntentResponse, ListAuditResponse, ListIntentsQuery, MutationResponse, OpenTask,
    RevokedSubscription, ServiceAccount, SortOrder, StoreStats, SubscriptionRequest, ThreadChange,
    ValidateScenarioResponse, WebhookEventReceipt,
};
pub use axp_core::delivery::{
    Binding, Delivery, DeliveryAttempt, DeliveryKind, DeliveryStatus, EventCounters, Subscription,
    WebhookEvent,
};
pub use axp_core::inbox::{Approval, Thread, ThreadStatus, TimelineEntry};
pub use axp_core::{
    ActorTokenId, ApiKeyId, ApprovalId, DeliveryId, ErrorBody, ErrorCode, EventId, Intent, IntentEvent,
    IntentId, PendingWith, ServiceAccountId, Status, SubscriptionId, UserId,
};
pub use client::{
    Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_STREAM_GRACE, DEFAULT_STREAM_WAIT_SECONDS,
    DEFAULT_TIMEOUT,
};
pub use error::{Error, Result};
pub use intents::{IntentExt, IntentsPage, decode_intent};
pub use request::{API_KEY_HEADER, IDEMPOTENCY_KEY_HEADER};
pub use retry::{BASE_BACKOFF, DEFAULT_MAX_RETRIES, DEFAULT_RETRY_AFTER_CAP};
pub use service_accounts::service_account_id_from_key;
pub use sse::{AgentStreamItem, StreamItem, TIMEOUT_EVENT};
pub use ui::UiLoginLink;

/// The body of [`Client::register_agent`]: a [`CreateServiceAccountRequest`], whose `binding`
/// chooses how intents reach the new agent (default `stream`).
///
/// ```
/// use axp_client::{DeliveryBinding, RegisterAgentRequest};
///
/// let request = RegisterAgentRequest { name: "billing-worker".into(), binding: Some(DeliveryBinding::poll()), ..Default::default() };
/// assert_eq!(serde_json::to_value(&request)?, serde_json::json!({"name": "billing-worker", "delivery_mode": "poll"}));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub type RegisterAgentRequest = CreateServiceAccountRequest;

/// The URL type of [`Client::base_url`] (re-exported from `reqwest`).
pub use reqwest::Url;
