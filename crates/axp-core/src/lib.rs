//! Wire and domain types of the AXP Intent Protocol, shared by the server, the SDK and the CLI.
//!
//! This crate owns the protocol's vocabulary and its rules, and nothing else: it does no I/O and
//! depends on neither tokio, axum nor a database driver. The HTTP layer maps its errors to status
//! codes; the stores persist what its functions decide.
//!
//! # Layout
//!
//! - [`access`]: roles and what they allow (`docs/access.md`).
//! - [`tenancy`]: the closed vocabularies of organizations, workspaces, principals, aliases and
//!   access requests, and the slugs of new organizations and workspaces (contract §6).
//! - [`ids`]: typed UUID identifiers (intents, workspaces, service accounts, keys, deliveries,
//!   webhook subscriptions and events, approvals).
//! - [`time`]: [`Timestamp`](time::Timestamp), milliseconds since the Unix epoch, RFC 3339 on the wire.
//! - [`address`]: agent addresses (`agent://org/workspace/name`) and their normalisation
//!   (contract §2.1).
//! - [`status`]: lifecycle statuses, waiting reasons, event types and the legal transition table
//!   (contract §3.1, `intent.lifecycle.v1.json`).
//! - [`event`], [`intent`]: the event and intent objects as they appear on the wire (§3.2, §3.3).
//! - [`delivery`]: push deliveries to `http` agents and webhook subscriptions (§5.4, §5.5).
//! - [`lifecycle`]: the commands that change an intent and the one function that decides them.
//! - [`validate`]: request bodies turned into checked values, with field-level errors.
//! - [`inbox`]: inbox threads and approvals (§5.1, §5.2).
//! - [`scenario`]: scenario bundles (§4.13).
//! - [`schema`]: payload schemas, their hash, and the check of a create against one (§6).
//! - [`workflow`]: the steps a scenario's intent runs through.
//! - [`users`]: people's nicks, public addresses and owner addresses (§6 "Users / nicks").
//! - [`api`]: request and response bodies of the REST API.
//! - [`error`]: the error codes and the one error envelope (§1.4).
#![warn(missing_docs)]

pub mod access;
pub mod address;
pub mod api;
pub mod delivery;
pub mod error;
pub mod event;
pub mod human_task;
pub mod ids;
pub mod inbox;
pub mod intent;
pub mod lifecycle;
pub mod media;
pub mod mesh;
pub mod quota;
pub mod retention;
pub mod routed;
pub mod routing;
pub mod scenario;
pub mod schema;
pub mod status;
pub mod tenancy;
pub mod time;
pub mod timer;
pub mod users;
pub mod validate;
pub mod workflow;

pub use address::AgentAddress;
pub use error::{ErrorBody, ErrorCode};
pub use event::{EventType, IntentEvent};
pub use ids::{
    AccessRequestId, ActorTokenId, AliasId, ApiKeyId, ApprovalId, DeliveryId, EventId, IntentId, MemberId,
    OrgId, PrincipalId, ServiceAccountId, SubscriptionId, UserId, WorkspaceId,
};
pub use intent::{Intent, PendingWith};
pub use status::{Status, WaitingReason};
pub use time::Timestamp;
