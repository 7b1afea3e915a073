//! The behaviour every [`Store`] must show, run against each backend by its own tests:
//! `axp_store::conformance::run_all(&store).await`.
//!
//! Every story creates its own tenant with random slugs, so the suite can run against a shared
//! database, and it asserts tenancy: nothing one workspace writes is visible from another.
//!
//! Some methods work across workspaces (due timers, due push deliveries): stories judge them only
//! by what happens to their own workspace's rows, never by global counts. Agent-queue cursors and
//! inbox change cursors are only compared with each other (strictly increasing, and nothing new
//! after the highest one seen): their values and gaps are the backend's business.

mod accounts;
mod approvals;
mod audit;
mod deliveries;
mod hand_over;
mod inbox;
mod intents;
mod listing;
mod media;
mod members;
mod mesh;
mod people;
mod queue;
mod quotas;
mod retention;
mod routing;
mod schemas;
mod tenancy;
mod timers;
mod ui_sessions;
pub mod upgrade;
mod webhooks;

use axp_core::delivery::Binding;
use axp_core::ids::{IntentId, ServiceAccountId};
use axp_core::intent::NewIntent;
use axp_core::lifecycle::{Command, Request};
use axp_core::{AgentAddress, Intent, IntentEvent, Timestamp};
use serde_json::{Map, Value, json};

pub use hand_over::{Connect, hand_over_in_create};

use crate::{Audit, NewServiceAccount, Principal, Store, TenantSpec};

/// The suite's clock: every story acts at or after it.
const T0: Timestamp = Timestamp::from_millis(1_780_000_000_000);

/// `ms` milliseconds after [`T0`] (negative: before).
fn after_ms(ms: i64) -> Timestamp {
    Timestamp::from_millis(T0.as_millis() + ms)
}

fn slug() -> String {
    format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// A fresh tenant spec with random slugs and an admin key; returns it with the key's token.
pub fn tenant_spec() -> (TenantSpec, String) {
    TenantSpec::with_admin(&slug(), &slug(), "bootstrap", T0).expect("valid slugs")
}

/// The spec [`bootstrap`] uses.
pub fn bootstrap_spec() -> TenantSpec {
    tenant_spec().0
}

/// Bootstraps an empty store; panics if it was not empty.
pub async fn bootstrap(store: &dyn Store) -> (Principal, String) {
    let (spec, token) = tenant_spec();
    let principal = store.bootstrap(spec).await.expect("bootstrap").expect("store was empty");
    (principal, token)
}

/// Runs every story. Requires an empty store (it bootstraps first).
pub async fn run_all(store: &dyn Store) {
    let (admin, token) = bootstrap(store).await;
    assert!(store.bootstrap(bootstrap_spec()).await.unwrap().is_none(), "bootstrap must run once");
    accounts::authentication(store, &admin, &token).await;
    intents::intents_and_events(store).await;
    intents::duplicate_intent_ids(store).await;
    intents::idempotency(store).await;
    intents::lifecycle_commands(store).await;
    intents::idempotent_commands(store).await;
    listing::filters(store).await;
    listing::keyset_walks(store).await;
    queue::agent_queue(store).await;
    timers::timers(store).await;
    queue::claims(store).await;
    queue::depths(store).await;
    accounts::tenancy(store).await;
    accounts::service_accounts(store).await;
    accounts::agents_and_keys(store).await;
    members::memberships(store).await;
    members::grants(store).await;
    intents::scenarios(store).await;
    deliveries::bindings(store).await;
    deliveries::push_deliveries(store).await;
    deliveries::deferrals(store).await;
    webhooks::subscriptions(store).await;
    webhooks::events(store).await;
    inbox::threads_and_changes(store).await;
    inbox::actions(store).await;
    inbox::human_tasks(store).await;
    approvals::approvals(store).await;
    audit::admin_actions(store).await;
    audit::human_task_decisions(store).await;
    audit::controls_and_policy(store).await;
    audit::reads(store).await;
    tenancy::organizations(store).await;
    tenancy::last_owner(store).await;
    tenancy::directory(store).await;
    tenancy::access_requests(store).await;
    people::users(store).await;
    people::invites(store).await;
    people::actor_tokens(store).await;
    quotas::policies_and_usage(store).await;
    ui_sessions::links_and_sessions(store).await;
    schemas::registry(store).await;
    mesh::heartbeats_kills_and_events(store).await;
    routing::routes(store).await;
    routing::transport_bindings(store).await;
    routing::routed_deliveries(store).await;
    media::uploads(store).await;
    media::expiry(store).await;
    media::references(store).await;
    retention::overrides(store).await;
    retention::removal(store).await;
}

/// The audit of a call a story makes as the server itself (stories that are not about the
/// audit log).
fn by() -> Audit {
    Audit::server()
}

/// Acting as `owner` without a role (as an agent key does).
fn acting(owner: &str) -> axp_core::access::Acting {
    axp_core::access::Acting::new(owner, axp_core::access::Roles::NONE)
}

/// The service account behind `p`'s key.
fn sa(p: &Principal) -> ServiceAccountId {
    p.actor.service_account().expect("a key's principal is a service account")
}

/// A new tenant of its own, with its admin principal and key token.
async fn tenant(store: &dyn Store) -> (Principal, String) {
    let (spec, token) = tenant_spec();
    (store.create_tenant(spec).await.expect("create tenant"), token)
}

/// `address` made absolute in `p`'s workspace.
fn address(p: &Principal, address: &str) -> AgentAddress {
    AgentAddress::parse(address, &p.tenant.scope()).expect("valid address")
}

/// A `notify.message.v1` intent from `p` to `to`, created at [`T0`].
fn new_intent(p: &Principal, to: &str) -> (Intent, Vec<IntentEvent>) {
    new_intent_at(p, to, T0)
}

/// A `notify.message.v1` intent from `p` to `to`, created at `at`.
fn new_intent_at(p: &Principal, to: &str, at: Timestamp) -> (Intent, Vec<IntentEvent>) {
    NewIntent::new("notify.message.v1", address(p, to), obj(json!({"text": "hello"}))).into_intent(
        IntentId::new(),
        &p.agent_address,
        at,
    )
}

/// An intent from `p` to `to` that waits for a person with `task` (its initial human task).
fn human_task_intent(p: &Principal, to: &str, task: Value) -> (Intent, Vec<IntentEvent>) {
    let mut new = NewIntent::new("expense.approve.v1", address(p, to), obj(json!({"amount": 120})));
    new.human_task = Some(obj(task));
    new.into_intent(IntentId::new(), &p.agent_address, T0)
}

/// Creates `intent` (no idempotency) and returns its id.
async fn create(store: &dyn Store, p: &Principal, (intent, events): (Intent, Vec<IntentEvent>)) -> IntentId {
    let id = intent.intent_id;
    store.create_intent(&p.tenant, intent, events, None).await.expect("create intent");
    id
}

fn request(command: Command) -> Request {
    Request { command, caller: None, actor: "agent://x/y/z".into(), expected_policy_generation: None }
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

fn account(p: &Principal, name: &str, address: &str) -> NewServiceAccount {
    NewServiceAccount {
        id: ServiceAccountId::new(),
        name: name.into(),
        display_name: name.into(),
        description: None,
        agent_address: self::address(p, address),
        delivery_mode: Binding::Stream,
        lease_seconds: None,
        push: None,
        created_by: p.actor.id().to_string(),
        created_at: T0,
    }
}

/// Asserts `cursors` are strictly increasing (values and gaps are the backend's business).
fn assert_increasing(cursors: &[u64], what: &str) {
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{what} must be strictly increasing: {cursors:?}");
}
