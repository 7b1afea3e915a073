//! Values passed to and returned by [`crate::Store`].

use axp_core::access::Roles;
use axp_core::address::AddressScope;
use axp_core::api::{
    AgentDelivery, ApiKey, CreateIntentResponse, IntentPosition, MutationResponse, ServiceAccount, SortOrder,
};
use axp_core::delivery::Binding;
use axp_core::ids::{ActorTokenId, ApiKeyId, IntentId, OrgId, ServiceAccountId, UserId, WorkspaceId};
use axp_core::lifecycle::Outcome;
use axp_core::scenario::PlannedAgent;
use axp_core::timer::TimerKind;
use axp_core::{AgentAddress, Intent, IntentEvent, Status, Timestamp};
use sha2::{Digest, Sha256};

use crate::auth::NewApiKey;

/// A service account as stored (the wire type; `address` mirrors `agent_address`).
pub type ServiceAccountRecord = ServiceAccount;

/// An API key as stored (the wire type, `token` always `None`).
pub type ApiKeyRecord = ApiKey;

/// The workspace a call acts in. Every store call is scoped by it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    /// Organization id.
    pub org_id: OrgId,
    /// Workspace id: the tenancy boundary.
    pub workspace_id: WorkspaceId,
    /// Organization slug (first segment of canonical addresses).
    pub org_slug: String,
    /// Workspace slug (second segment).
    pub workspace_slug: String,
}

impl Tenant {
    /// The scope bare agent addresses are made absolute against (§2.1).
    pub fn scope(&self) -> AddressScope<'_> {
        AddressScope { org_slug: &self.org_slug, workspace_slug: &self.workspace_slug }
    }
}

/// Who is calling: a service account by one of its API keys, or a person by an actor token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A service account, authenticated by API key `key_id`.
    ServiceAccount {
        /// The service account.
        id: ServiceAccountId,
        /// The key used.
        key_id: ApiKeyId,
    },
    /// A person, authenticated by actor token `token_id` (contract §1.1).
    User {
        /// The user.
        id: UserId,
        /// The token used.
        token_id: ActorTokenId,
    },
}

impl Actor {
    /// The actor id memberships and audit entries name: the service account's or the user's id.
    pub fn id(&self) -> uuid::Uuid {
        match self {
            Actor::ServiceAccount { id, .. } => id.0,
            Actor::User { id, .. } => id.0,
        }
    }

    /// The service account, when the caller is one.
    pub fn service_account(&self) -> Option<ServiceAccountId> {
        match self {
            Actor::ServiceAccount { id, .. } => Some(*id),
            Actor::User { .. } => None,
        }
    }
}

/// Who is calling and what it may do (`docs/access.md`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Its workspace: a credential belongs to exactly one.
    pub tenant: Tenant,
    /// The service account or person.
    pub actor: Actor,
    /// Its agent address: the `from_agent` of what it creates (§2.3) and its default owner
    /// scope (§1.2).
    pub agent_address: AgentAddress,
    /// The roles its active memberships give it in this workspace; empty: agent-scoped.
    pub roles: Roles,
    /// Further addresses an admin granted it to act as (a dispatcher serving several agents).
    pub grants: Vec<String>,
}

impl Principal {
    /// Whether it may act as `owner`: its own address, a granted one, or any with a role that
    /// acts for anyone (`member` and the admin roles).
    pub fn acts_as(&self, owner: &str) -> bool {
        self.roles.acts_for_anyone()
            || self.agent_address.as_str() == owner
            || self.grants.iter().any(|g| g == owner)
    }
}

/// A new organization/workspace with its admin service account and first key.
#[derive(Clone, Debug)]
pub struct TenantSpec {
    /// Organization slug, e.g. `default`.
    pub org_slug: String,
    /// Workspace slug, e.g. `default`.
    pub workspace_slug: String,
    /// The admin service account (its agent address must already be normalised).
    pub admin: NewServiceAccount,
    /// Its key.
    pub key: NewApiKey,
}

/// A service account about to be created.
#[derive(Clone, Debug, PartialEq)]
pub struct NewServiceAccount {
    /// Its id.
    pub id: ServiceAccountId,
    /// Unique name in the workspace.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Free text.
    pub description: Option<String>,
    /// Unique agent address in the workspace.
    pub agent_address: AgentAddress,
    /// How intents reach it.
    pub delivery_mode: Binding,
    /// Seconds to acknowledge a delivery (unset: the default of 60).
    pub lease_seconds: Option<u32>,
    /// For the `http` binding: where intents are POSTed and the signing secret.
    pub push: Option<PushEndpoint>,
    /// Creator (service account id or `bootstrap`).
    pub created_by: String,
    /// Creation time.
    pub created_at: Timestamp,
}

impl NewServiceAccount {
    /// The record stored for this account in `tenant` (active, as created).
    pub fn record(&self, tenant: &Tenant) -> ServiceAccountRecord {
        ServiceAccount {
            service_account_id: self.id,
            org_id: tenant.org_id,
            workspace_id: tenant.workspace_id,
            name: self.name.clone(),
            description: self.description.clone(),
            status: "active".into(),
            created_by_actor_id: self.created_by.clone(),
            created_at: self.created_at,
            updated_at: self.created_at,
            agent_address: self.agent_address.to_string(),
            address: self.agent_address.to_string(),
            display_name: self.display_name.clone(),
            delivery_mode: self.delivery_mode,
            lease_seconds: self.lease_seconds,
            delivery_config: self.push.as_ref().map(|p| push_config(&p.url)),
        }
    }
}

/// An idempotency key presented with a write (contract §1.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// The caller (its actor id: the service account or user): keys are scoped per caller.
    pub caller: uuid::Uuid,
    /// Method + route template, e.g. `POST /v1/intents`.
    pub route: String,
    /// The key, 1 to 255 characters.
    pub key: String,
    /// SHA-256 (hex) of the canonical request: see [`fingerprint`].
    pub fingerprint: String,
    /// When the record stops counting (at least 24 h after `now`).
    pub expires_at: Timestamp,
    /// Now.
    pub now: Timestamp,
}

/// Fingerprint of a request for idempotency (§1.8): SHA-256 over the canonical JSON of the body
/// (serde_json sorts object keys) and the `owner_agent` query, hex.
pub fn fingerprint(body: &serde_json::Value, owner_agent: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(body).unwrap_or_default());
    h.update([0]);
    h.update(owner_agent.unwrap_or("").as_bytes());
    hex::encode(h.finalize())
}

/// The answer to a write that may have been an idempotent replay (contract §1.8).
#[derive(Clone, Debug, PartialEq)]
pub enum Answer<T> {
    /// The write ran: its typed response, which the HTTP edge renders.
    Fresh(T),
    /// Nothing was written: the response stored with the first request's idempotency record,
    /// sent byte for byte.
    Replayed(String),
}

impl<T: serde::Serialize> Answer<T> {
    /// The JSON body to send. Errors: [`crate::Error::Internal`] if the response cannot be
    /// serialized.
    pub fn body(&self) -> crate::Result<String> {
        match self {
            Answer::Fresh(response) => to_json(response),
            Answer::Replayed(body) => Ok(body.clone()),
        }
    }

    /// True for a replay.
    pub fn is_replayed(&self) -> bool {
        matches!(self, Answer::Replayed(_))
    }
}

/// What a create (or scenario apply) did: the intent and the answer to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Created<T = CreateIntentResponse> {
    /// The intent created (or created by the original request).
    pub intent_id: IntentId,
    /// The response (§4.2 for a create, §4.13 for a scenario apply).
    pub answer: Answer<T>,
}

/// One agent of a scenario being applied.
#[derive(Clone, Debug)]
pub struct ScenarioAgent {
    /// What the bundle says.
    pub planned: PlannedAgent,
    /// The account to create if no agent has the address and `create_if_missing` is set.
    pub account: NewServiceAccount,
    /// Its key and token (the token goes into the response only if the account is created).
    pub key: (String, NewApiKey),
}

/// A compiled scenario ready to commit.
#[derive(Clone, Debug)]
pub struct ScenarioWrite {
    /// Scenario id.
    pub scenario_id: String,
    /// Compile id.
    pub compile_id: String,
    /// Agents to resolve or create.
    pub agents: Vec<ScenarioAgent>,
    /// The intent (from `NewIntent::into_intent`).
    pub intent: Intent,
    /// Its first events.
    pub events: Vec<IntentEvent>,
}

/// Which intents [`crate::Store::list_intents`] returns, and in which order: a keyset page by
/// `(created_at, intent_id)` (`axp_core::api::intent_list`). Every condition set must match.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct IntentFilter {
    /// Only these statuses (empty: any).
    pub statuses: Vec<Status>,
    /// Only intents to this address.
    pub to_agent: Option<String>,
    /// Only intents from this address.
    pub from_agent: Option<String>,
    /// Only intents of this type.
    pub intent_type: Option<String>,
    /// Only intents created at or after this instant (inclusive).
    pub created_after: Option<Timestamp>,
    /// Only intents created at or before this instant (inclusive).
    pub created_before: Option<Timestamp>,
    /// Oldest first (`Asc`, the default) or newest first, by `(created_at, intent_id)`.
    pub order: SortOrder,
    /// Only intents strictly past this position in `order`: the last row of the previous page.
    pub start_after: Option<IntentPosition>,
    /// At most this many (at least 1).
    pub limit: u32,
}

/// What [`crate::Store::execute`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct Executed {
    /// The intent after the command.
    pub intent: Intent,
    /// The decision, with the events appended.
    pub outcome: Outcome,
    /// Set when the command ended the intent and it has a `reply_to`: the completion message
    /// recorded for that owner (§4.6).
    pub completion: Option<CompletionDelivery>,
    /// The response (§4.6–§4.8). For a replay nothing was run: `intent` is then the current
    /// state and `outcome` is empty.
    pub answer: Answer<MutationResponse>,
}

/// A completion recorded for an intent's `reply_to` (§4.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletionDelivery {
    /// The owner it was delivered to.
    pub reply_to: String,
    /// The message id.
    pub message_id: uuid::Uuid,
}

/// What changed in a commit, for waking streams.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// An intent got new events.
    Intent(IntentId),
    /// An agent's queue got new items.
    Agent(WorkspaceId, String),
    /// A timer was scheduled: the scheduler recomputes when to wake.
    Timers,
    /// A push delivery became due or recorded an attempt: the dispatcher recomputes when to
    /// wake.
    Deliveries,
    /// A payload schema was registered or replaced: caches of schemas start over.
    Schemas,
}

/// Told after every commit which topics changed. Must not block.
pub trait CommitListener: Send + Sync + 'static {
    /// Called once per committed transaction batch.
    fn committed(&self, topics: &[Topic]);

    /// Whether other replicas' commits are heard (PostgreSQL: while the listening connection
    /// is up). While they are not, a listener must not keep what a missed commit could change
    /// (see [`Topic::Schemas`]). A store whose own process is the only writer never calls it.
    fn listening(&self, _heard: bool) {}
}

/// A listener that ignores commits (tools and tests that need no wake-ups).
pub struct NoListener;

impl CommitListener for NoListener {
    fn committed(&self, _topics: &[Topic]) {}
}

/// The endpoint of an agent with the `http` binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushEndpoint {
    /// Where intents are POSTed (already checked against the outbound policy).
    pub url: String,
    /// The signing secret (`whsec_…`); stored apart from the account and never shown again.
    pub secret: String,
}

/// A delivery binding to set on an agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindingUpdate {
    /// How intents reach it.
    pub delivery_mode: Binding,
    /// Required for `http`, absent otherwise.
    pub push: Option<PushEndpoint>,
    /// Seconds to acknowledge a delivery.
    pub lease_seconds: Option<u32>,
}

/// One attempt for the dispatcher to make, taken by [`crate::DeliveryStore::claim_due_deliveries`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushJob {
    /// The delivery's organization.
    pub org_id: axp_core::ids::OrgId,
    /// The delivery's workspace.
    pub workspace_id: axp_core::WorkspaceId,
    /// The delivery.
    pub delivery_id: axp_core::ids::DeliveryId,
    /// Agent push or webhook.
    pub kind: axp_core::delivery::DeliveryKind,
    /// `webhook-id`: stable across attempts and replays.
    pub message_id: String,
    /// Where to POST.
    pub url: String,
    /// The signing secret.
    pub secret: String,
    /// The exact JSON body to POST and sign.
    pub body: String,
    /// This attempt's number (1 for the first).
    pub attempt: u32,
}

/// How an attempt went, as the dispatcher reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct AttemptReport {
    /// The attempt, with its status code or error.
    pub attempt: axp_core::delivery::DeliveryAttempt,
    /// True for a 2xx answer.
    pub delivered: bool,
    /// For a failure: when to try again, or `None` to dead-letter (the schedule is spent).
    pub retry_at: Option<Timestamp>,
    /// An agent's 2xx answer carrying `{"result": …}`: completes the intent inline.
    pub inline_result: Option<serde_json::Value>,
    /// Now.
    pub now: Timestamp,
}

/// A webhook subscription to create or update (contract §5.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSubscription {
    /// Whose events (already normalised).
    pub owner_agent: String,
    /// Where to POST (already checked against the outbound policy).
    pub callback_url: String,
    /// Event types, 1 to 32.
    pub event_types: Vec<String>,
    /// A secret given by the caller; `None` keeps the existing one (or uses `new_secret`).
    pub secret: Option<String>,
    /// The secret of a subscription created without one.
    pub new_secret: String,
    /// Whether it receives events.
    pub active: bool,
    /// Free text.
    pub description: Option<String>,
}

impl TenantSpec {
    /// A tenant `org_slug`/`workspace_slug` whose admin is service account `admin`
    /// (`agent://{org}/{ws}/admin`) with a new key; returns the spec and the key's token (shown
    /// once). `created_by` records who made it (`bootstrap`, `test`, …).
    pub fn with_admin(
        org_slug: &str,
        workspace_slug: &str,
        created_by: &str,
        now: Timestamp,
    ) -> Result<(Self, String), axp_core::address::AddressError> {
        let scope = AddressScope { org_slug, workspace_slug };
        let id = ServiceAccountId::new();
        let (token, key) = crate::auth::generate_api_key(id, now, None);
        let admin = NewServiceAccount {
            id,
            name: "admin".into(),
            display_name: "admin".into(),
            description: None,
            agent_address: AgentAddress::parse("admin", &scope)?,
            delivery_mode: Binding::Stream,
            lease_seconds: None,
            push: None,
            created_by: created_by.into(),
            created_at: now,
        };
        Ok((Self { org_slug: org_slug.into(), workspace_slug: workspace_slug.into(), admin, key }, token))
    }
}

/// A new intent's rows, serialized and compressed ([`crate::pack_intent`],
/// [`crate::pack_events`]) before its write job is queued, so that work happens on the caller's
/// thread and not inside the (serial) write transaction.
#[derive(Clone, Debug)]
pub struct IntentRows {
    /// The intent.
    pub intent: Intent,
    /// Its stored body ([`crate::pack_intent`]).
    pub intent_body: Vec<u8>,
    /// Its first events.
    pub events: Vec<IntentEvent>,
    /// `events` as `intent_events` rows ([`crate::pack_events`]).
    pub event_rows: Vec<crate::EventRow>,
}

impl IntentRows {
    /// Serializes and compresses `intent` and `events`.
    ///
    /// Errors: [`crate::Error::Internal`] if a value cannot be serialized.
    pub fn new(intent: Intent, events: Vec<IntentEvent>) -> crate::Result<Self> {
        let intent_body = crate::pack_intent(&intent)?;
        let event_rows = crate::pack_events(&events)?;
        Ok(Self { intent, intent_body, events, event_rows })
    }
}

/// `v` as JSON text. Errors: [`crate::Error::Internal`] if it cannot be serialized.
pub fn to_json<T: serde::Serialize>(v: &T) -> crate::Result<String> {
    serde_json::to_string(v).map_err(|e| crate::Error::Internal(e.to_string()))
}

/// A stored JSON body read back. Errors: [`crate::Error::Internal`] naming a corrupt row.
pub fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> crate::Result<T> {
    serde_json::from_str(s).map_err(|e| crate::Error::Internal(format!("corrupt row: {e}")))
}

/// An item to append to an agent's queue ([`crate::tables::QueueTable::enqueue`]).
#[derive(Clone, Copy, Debug)]
pub struct QueueItem<'a> {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The agent address whose queue it joins.
    pub agent: &'a str,
    /// The intent it delivers.
    pub intent_id: IntentId,
    /// When.
    pub queued_at: Timestamp,
    /// Already handed to the agent (handed over in the transaction that queues it).
    pub handed: bool,
}

/// What [`crate::tables::QueueTable::queued`] reads.
#[derive(Clone, Copy, Debug)]
pub struct QueueRead<'a> {
    /// The agent address.
    pub agent: &'a str,
    /// Items after this cursor (exclusive).
    pub since: u64,
    /// Only items whose intent's status is one of these.
    pub statuses: &'a [Status],
    /// At most this many.
    pub limit: u32,
}

/// A queue item with its intent.
#[derive(Clone, Debug, PartialEq)]
pub struct Queued {
    /// Its cursor in the agent's queue.
    pub cursor: u64,
    /// When it was queued.
    pub queued_at: Timestamp,
    /// Whether it was already handed to the agent (a replay if sent again).
    pub handed: bool,
    /// The intent as it stands.
    pub intent: Intent,
}

impl Queued {
    /// The frame an agent receives for this item (contract §4.11): `seq` is the cursor.
    pub fn into_delivery(self) -> AgentDelivery {
        let i = self.intent;
        AgentDelivery {
            intent_id: i.intent_id,
            seq: self.cursor,
            event_type: "intent.delivered".into(),
            status: i.status,
            at: self.queued_at,
            intent_type: i.intent_type,
            from_agent: i.from_agent,
            to_agent: i.to_agent,
            correlation_id: i.correlation_id,
            payload: i.payload,
            step_id: i.step_id,
            delivery_attempt: i.delivery_attempt.max(1),
            pending_with: i.pending_with,
        }
    }
}

/// A timer taken because it is due.
#[derive(Clone, Debug, PartialEq)]
pub struct DueTimer {
    /// Its workspace.
    pub workspace_id: WorkspaceId,
    /// Its intent.
    pub intent_id: IntentId,
    /// What fires.
    pub kind: TimerKind,
    /// When it was due (the scheduler's lag is how much later it fired).
    pub due_at: Timestamp,
}

/// An owner's view state of a thread.
#[derive(Clone, Debug, PartialEq)]
pub struct Membership {
    /// Whether the thread is unread for them.
    pub unread: bool,
    /// Message ids they deleted for themselves.
    pub hidden: Vec<String>,
    /// When their row last changed.
    pub updated_at: Timestamp,
    /// Their change cursor for the thread.
    pub change_seq: u64,
}

/// A participant touched by [`crate::tables::InboxTable::touch_participants`].
#[derive(Clone, Copy, Debug)]
pub struct Participant<'a> {
    /// The owner (an agent address).
    pub owner: &'a str,
    /// Whether the thread becomes unread for them.
    pub unread: bool,
}

/// The `delivery_config` shown for an agent with the `http` binding: `{"url": …}` (the signing
/// secret is stored apart and never shown).
pub fn push_config(url: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut config = serde_json::Map::new();
    config.insert("url".into(), serde_json::Value::String(url.to_owned()));
    config
}

/// Event counters from the number of an event's deliveries in each status (rows of
/// `status, COUNT(*)`): every delivery counts as queued, then by where it stands. Statuses this
/// version does not know count as queued only.
pub fn event_counters(
    by_status: impl IntoIterator<Item = (String, u32)>,
) -> axp_core::delivery::EventCounters {
    use axp_core::delivery::DeliveryStatus;
    let mut c = axp_core::delivery::EventCounters::default();
    for (status, n) in by_status {
        c.queued_deliveries += n;
        match DeliveryStatus::parse(&status) {
            Some(DeliveryStatus::Delivered) => c.delivered += n,
            Some(DeliveryStatus::Pending | DeliveryStatus::Delivering) => c.pending += n,
            Some(DeliveryStatus::DeadLettered | DeliveryStatus::Failed) => c.dead_lettered += n,
            None => {}
        }
    }
    c
}

/// A change to one membership (`PATCH /v1/organizations/{org_id}/members/{member_id}`): a new
/// role, a new status, or both.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberUpdate {
    /// The new role.
    pub role: Option<axp_core::access::Role>,
    /// The new status (`active`, `invited`, `suspended`, `removed`).
    pub status: Option<String>,
}

/// A change to a user ([`crate::Store::update_user`]): each field given replaces the stored one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserUpdate {
    /// A new nick (renames the user; its public address follows).
    pub nick: Option<axp_core::users::Nick>,
    /// A new display name.
    pub display_name: Option<String>,
    /// A new phone.
    pub phone: Option<String>,
    /// A new email.
    pub email: Option<String>,
}

/// What accepting an invite creates ([`crate::Store::accept_invite`]): the new user (its
/// `created_at` is the acceptance time) and the actor token it gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteAcceptance {
    /// The new user.
    pub user: axp_core::api::User,
    /// Its first actor token.
    pub token: crate::NewActorToken,
}

/// Most agents the mesh views read ([`crate::MeshStore::mesh_agents`]).
pub const MESH_AGENTS_MAX: u32 = 10_000;

/// Agents with their mesh states and metrics rows (contract §6 "Mesh"); the server derives
/// health and sums the metrics.
#[derive(Clone, Debug, Default)]
pub struct MeshView {
    /// The agents, oldest first.
    pub agents: Vec<ServiceAccountRecord>,
    /// The mesh states of those that have one.
    pub states: Vec<crate::tables::MeshState>,
    /// Their metrics rows of the requested days.
    pub metrics: Vec<crate::tables::DayMetrics>,
}
