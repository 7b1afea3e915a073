//! The behaviour every [`Store`] must show, run against each backend by its own tests:
//! `axp_store::conformance::run_all(&store).await`.
//!
//! Every story creates its own tenant with random slugs, so the suite can run against a shared
//! database, and it asserts tenancy: nothing one workspace writes is visible from another.

use axp_core::ids::{IntentId, ServiceAccountId};
use axp_core::intent::NewIntent;
use axp_core::lifecycle::{Command, Request, Resolution};
use axp_core::{AgentAddress, EventType, Status, Timestamp};
use serde_json::{Map, json};

mod hand_over;

pub use hand_over::{Connect, hand_over_in_create};

use crate::{
    Error, IdempotencyClaim, IntentFilter, KeyHash, NewServiceAccount, Principal, ScenarioAgent,
    ScenarioWrite, Store, TenantSpec, fingerprint, generate_api_key,
};

pub(crate) const T0: Timestamp = Timestamp::from_millis(1_780_000_000_000);

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

pub(crate) async fn tenant(store: &dyn Store) -> (Principal, String) {
    let (spec, token) = tenant_spec();
    (store.create_tenant(spec).await.expect("create tenant"), token)
}

pub(crate) fn new_intent(p: &Principal, to: &str) -> (axp_core::Intent, Vec<axp_core::IntentEvent>) {
    let to = AgentAddress::parse(to, &p.tenant.scope()).expect("valid");
    let payload: Map<String, serde_json::Value> =
        json!({"text": "hello"}).as_object().cloned().expect("object");
    NewIntent::new("notify.message.v1", to, payload).into_intent(IntentId::new(), &p.agent_address, T0)
}

fn request(command: Command) -> Request {
    Request { command, caller: None, actor: "agent://x/y/z".into(), expected_policy_generation: None }
}

/// Runs every story. Requires an empty store (it bootstraps first).
pub async fn run_all(store: &dyn Store) {
    let (admin, token) = bootstrap(store).await;
    assert!(store.bootstrap(bootstrap_spec()).await.unwrap().is_none(), "bootstrap must run once");
    authentication(store, &admin, &token).await;
    intents_and_events(store).await;
    idempotency(store).await;
    lifecycle_commands(store).await;
    idempotent_commands(store).await;
    agent_queue(store).await;
    timers(store).await;
    claims(store).await;
    tenancy(store).await;
    service_accounts(store).await;
    scenarios(store).await;
}

/// Keys authenticate to their principal until revoked; unknown keys do not.
pub async fn authentication(store: &dyn Store, admin: &Principal, token: &str) {
    let found = store.authenticate(&KeyHash::of(token), T0).await.unwrap().expect("key authenticates");
    assert_eq!(&found, admin);
    assert!(store.authenticate(&KeyHash::of("axme_sa_nope"), T0).await.unwrap().is_none());

    let (token2, key2) = generate_api_key(admin.service_account_id, T0, Some(T0.plus_seconds(60)));
    let key_id = key2.key_id;
    store.create_api_key(&admin.tenant, admin.service_account_id, key2).await.unwrap();
    assert!(store.authenticate(&KeyHash::of(&token2), T0).await.unwrap().is_some());
    assert!(
        store.authenticate(&KeyHash::of(&token2), T0.plus_seconds(61)).await.unwrap().is_none(),
        "expired key"
    );
    let revoked = store.revoke_api_key(&admin.tenant, admin.service_account_id, key_id, T0).await.unwrap();
    assert_eq!(revoked.status, "revoked");
    assert!(store.authenticate(&KeyHash::of(&token2), T0).await.unwrap().is_none(), "revoked key");
    let again = store
        .revoke_api_key(&admin.tenant, admin.service_account_id, key_id, T0.plus_seconds(5))
        .await
        .unwrap();
    assert_eq!(again.revoked_at, Some(T0), "revoking twice keeps the first time");
}

/// Create writes the intent and events 1 (created) and 2 (submitted); cursors are exclusive.
pub async fn intents_and_events(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (intent, events) = new_intent(&p, "agent://conformance/receiver");
    let id = intent.intent_id;
    let created = store.create_intent(&p.tenant, intent.clone(), events, None).await.unwrap();
    assert!(!created.replayed);
    let body: serde_json::Value = serde_json::from_str(&created.response_body).unwrap();
    assert_eq!(body["intent_id"], id.to_string());
    assert_eq!(body["status"], "SUBMITTED");

    assert_eq!(store.get_intent(&p.tenant, id).await.unwrap(), intent);
    let events = store.events_since(&p.tenant, id, 0, 100).await.unwrap();
    assert_eq!(
        events.iter().map(|e| (e.seq, e.event_type)).collect::<Vec<_>>(),
        [(1, EventType::Created), (2, EventType::Submitted)]
    );
    let later = store.events_since(&p.tenant, id, 1, 100).await.unwrap();
    assert_eq!(later.len(), 1);
    assert!(store.events_since(&p.tenant, id, 2, 100).await.unwrap().is_empty());
    assert!(matches!(store.events_since(&p.tenant, IntentId::new(), 0, 100).await, Err(Error::NotFound)));
    assert!(matches!(store.get_intent(&p.tenant, IntentId::new()).await, Err(Error::NotFound)));

    let (other, other_events) = new_intent(&p, "agent://conformance/other");
    store.create_intent(&p.tenant, other, other_events, None).await.unwrap();
    let all = store.list_intents(&p.tenant, &IntentFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].intent_id, id, "oldest first");
    let to_receiver = IntentFilter {
        to_agent: Some("agent://conformance/receiver".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.list_intents(&p.tenant, &to_receiver).await.unwrap().len(), 1);
    let completed = IntentFilter { statuses: vec![Status::Completed], limit: 10, ..Default::default() };
    assert!(store.list_intents(&p.tenant, &completed).await.unwrap().is_empty());
    let limited = IntentFilter { limit: 1, ..Default::default() };
    assert_eq!(store.list_intents(&p.tenant, &limited).await.unwrap().len(), 1);
}

fn claim(p: &Principal, key: &str, body: &serde_json::Value) -> IdempotencyClaim {
    IdempotencyClaim {
        caller: p.service_account_id,
        route: "POST /v1/intents".into(),
        key: key.into(),
        fingerprint: fingerprint(body, None),
        expires_at: T0.plus_seconds(86_400),
        now: T0,
    }
}

/// Same key + same fingerprint replays the stored body and writes nothing; another fingerprint
/// conflicts; keys are scoped per caller; an expired record counts as new.
pub async fn idempotency(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let body = json!({"a": 1});
    let (first, events) = new_intent(&p, "bot");
    let created = store.create_intent(&p.tenant, first, events, Some(claim(&p, "k1", &body))).await.unwrap();
    let (second, events) = new_intent(&p, "bot");
    let replay = store
        .create_intent(&p.tenant, second.clone(), events.clone(), Some(claim(&p, "k1", &body)))
        .await
        .unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.intent_id, created.intent_id);
    assert_eq!(replay.response_body, created.response_body, "byte-identical replay");
    assert!(
        matches!(store.get_intent(&p.tenant, second.intent_id).await, Err(Error::NotFound)),
        "replay writes nothing"
    );

    let conflict = store
        .create_intent(&p.tenant, second.clone(), events.clone(), Some(claim(&p, "k1", &json!({"a": 2}))))
        .await;
    assert!(matches!(conflict, Err(Error::IdempotencyConflict)));
    assert!(
        matches!(store.get_intent(&p.tenant, second.intent_id).await, Err(Error::NotFound)),
        "conflict writes nothing"
    );

    let mut later = claim(&p, "k1", &json!({"a": 2}));
    later.now = T0.plus_seconds(86_401);
    later.expires_at = later.now.plus_seconds(86_400);
    let fresh = store.create_intent(&p.tenant, second.clone(), events, Some(later)).await.unwrap();
    assert!(!fresh.replayed, "an expired key behaves as new");
    assert_eq!(fresh.intent_id, second.intent_id);
}

/// Commands decide through the core, append gap-free events, and refuse terminal intents.
pub async fn lifecycle_commands(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (mut intent, events) = new_intent(&p, "bot");
    intent.reply_to = Some("agent://conformance/reply-target".into());
    let id = intent.intent_id;
    store.create_intent(&p.tenant, intent, events, None).await.unwrap();

    let controls = Command::UpdateControls(json!({"timeout_seconds": 5}).as_object().cloned().unwrap());
    let stale = Request { expected_policy_generation: Some(3), ..request(controls.clone()) };
    let err = store.execute(&p.tenant, id, stale, T0, None).await.unwrap_err();
    assert!(matches!(
        err,
        Error::Lifecycle(axp_core::lifecycle::LifecycleError::StaleGeneration { current: 0, .. })
    ));
    let applied = store
        .execute(
            &p.tenant,
            id,
            Request { expected_policy_generation: Some(0), ..request(controls) },
            T0,
            None,
        )
        .await
        .unwrap();
    assert_eq!(applied.intent.policy_generation, 1);
    assert!(applied.outcome.events.is_empty());
    assert_eq!(store.get_intent(&p.tenant, id).await.unwrap().policy_generation, 1, "controls persisted");

    let resume = Command::Resume(json!({"approve_current_step": true}).as_object().cloned().unwrap());
    let started = store.execute(&p.tenant, id, request(resume), T0.plus_seconds(1), None).await.unwrap();
    assert_eq!(started.intent.status, Status::InProgress);
    let done = store
        .execute(
            &p.tenant,
            id,
            request(Command::Resolve(Resolution::Completed(json!({"ok": true})))),
            T0.plus_seconds(2),
            None,
        )
        .await
        .unwrap();
    assert_eq!(done.intent.status, Status::Completed);
    let completion = done.completion.expect("reply_to gets the completion");
    assert_eq!(completion.reply_to, "agent://conformance/reply-target");

    let again = store
        .execute(&p.tenant, id, request(Command::Resolve(Resolution::Canceled("late".into()))), T0, None)
        .await;
    assert!(matches!(again, Err(Error::Lifecycle(_))));
    let events = store.events_since(&p.tenant, id, 0, 100).await.unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    assert_eq!(events[3].event_type, EventType::Completed);
    assert_eq!(store.get_intent(&p.tenant, id).await.unwrap().status, Status::Completed);
    assert!(matches!(
        store.execute(&p.tenant, IntentId::new(), request(Command::Resume(Map::new())), T0, None).await,
        Err(Error::NotFound)
    ));
}

/// The agent queue: per-agent cursors from 1, exclusive `since`, SUBMITTED → DELIVERED with its
/// event before the item is returned, redelivery without new events, status filtering.
pub async fn agent_queue(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let agent = AgentAddress::parse("worker", &p.tenant.scope()).unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (intent, events) = new_intent(&p, "worker");
        ids.push(intent.intent_id);
        store.create_intent(&p.tenant, intent, events, None).await.unwrap();
    }
    let (elsewhere, events) = new_intent(&p, "someone-else");
    store.create_intent(&p.tenant, elsewhere, events, None).await.unwrap();

    let got = store.deliver_to_agent(&p.tenant, &agent, 0, &Status::OPEN, 100, T0).await.unwrap();
    assert_eq!(got.iter().map(|d| d.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(got.iter().map(|d| d.intent_id).collect::<Vec<_>>(), ids);
    assert!(got.iter().all(|d| d.status == Status::Delivered && d.delivery_attempt == 1));
    let events = store.events_since(&p.tenant, ids[0], 2, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, EventType::Delivered);
    assert_eq!(events[0].handler, agent.as_str());

    let after = store.deliver_to_agent(&p.tenant, &agent, 2, &Status::OPEN, 100, T0).await.unwrap();
    assert_eq!(after.iter().map(|d| d.seq).collect::<Vec<_>>(), [3]);
    let again = store.deliver_to_agent(&p.tenant, &agent, 0, &Status::OPEN, 100, T0).await.unwrap();
    assert_eq!(again.len(), 3, "at-least-once: an old cursor redelivers");
    assert_eq!(
        store.events_since(&p.tenant, ids[0], 0, 10).await.unwrap().len(),
        3,
        "redelivery appends nothing"
    );
    let limited = store.deliver_to_agent(&p.tenant, &agent, 0, &Status::OPEN, 2, T0).await.unwrap();
    assert_eq!(limited.len(), 2);

    store
        .execute(&p.tenant, ids[1], request(Command::Resolve(Resolution::Completed(json!({})))), T0, None)
        .await
        .unwrap();
    let open = store.deliver_to_agent(&p.tenant, &agent, 0, &Status::OPEN, 100, T0).await.unwrap();
    assert_eq!(open.iter().map(|d| d.seq).collect::<Vec<_>>(), [1, 3], "terminal intents are filtered out");
    let only_completed =
        store.deliver_to_agent(&p.tenant, &agent, 0, &[Status::Completed], 100, T0).await.unwrap();
    assert_eq!(only_completed.len(), 1);

    // An intent that ends before it was ever handed over is shown, not delivered.
    let (early, events) = new_intent(&p, "worker");
    let early_id = early.intent_id;
    store.create_intent(&p.tenant, early, events, None).await.unwrap();
    store
        .execute(&p.tenant, early_id, request(Command::Resolve(Resolution::Canceled("x".into()))), T0, None)
        .await
        .unwrap();
    let shown = store.deliver_to_agent(&p.tenant, &agent, 3, &[Status::Canceled], 100, T0).await.unwrap();
    assert_eq!(
        shown.iter().map(|d| (d.intent_id, d.status)).collect::<Vec<_>>(),
        [(early_id, Status::Canceled)]
    );
}

/// Nothing written in one workspace is visible from another.
pub async fn tenancy(store: &dyn Store) {
    let (a, _) = tenant(store).await;
    let (b, _) = tenant(store).await;
    let (intent, events) = new_intent(&a, "agent://shared/name");
    let id = intent.intent_id;
    store.create_intent(&a.tenant, intent, events, None).await.unwrap();
    assert!(matches!(store.get_intent(&b.tenant, id).await, Err(Error::NotFound)));
    assert!(matches!(store.events_since(&b.tenant, id, 0, 10).await, Err(Error::NotFound)));
    assert!(matches!(
        store.execute(&b.tenant, id, request(Command::Resume(Map::new())), T0, None).await,
        Err(Error::NotFound)
    ));
    assert!(
        store
            .list_intents(&b.tenant, &IntentFilter { limit: 10, ..Default::default() })
            .await
            .unwrap()
            .is_empty()
    );
    let agent = AgentAddress::parse("agent://shared/name", &b.tenant.scope()).unwrap();
    assert!(store.deliver_to_agent(&b.tenant, &agent, 0, &Status::OPEN, 10, T0).await.unwrap().is_empty());
    assert!(matches!(store.get_service_account(&b.tenant, a.service_account_id).await, Err(Error::NotFound)));
    assert_eq!(store.get_intent(&a.tenant, id).await.unwrap().status, Status::Submitted);
}

fn account(p: &Principal, name: &str, address: &str) -> NewServiceAccount {
    NewServiceAccount {
        id: ServiceAccountId::new(),
        name: name.into(),
        display_name: name.into(),
        description: None,
        agent_address: AgentAddress::parse(address, &p.tenant.scope()).unwrap(),
        delivery_mode: "stream".into(),
        lease_seconds: None,
        push: None,
        created_by: p.service_account_id.to_string(),
        created_at: T0,
    }
}

/// Names and agent addresses are unique per workspace; lookups by address work.
pub async fn service_accounts(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let sa = store
        .create_service_account(&p.tenant, account(&p, "owner", "agent://conformance/owner"))
        .await
        .unwrap();
    assert_eq!(sa.agent_address, "agent://conformance/owner");
    assert_eq!(store.get_service_account(&p.tenant, sa.service_account_id).await.unwrap(), sa);
    let found = store
        .find_agent(&p.tenant, &AgentAddress::from_trusted("agent://conformance/owner".into()))
        .await
        .unwrap();
    assert_eq!(found.map(|f| f.service_account_id), Some(sa.service_account_id));
    let dup_address =
        store.create_service_account(&p.tenant, account(&p, "other", "agent://conformance/owner")).await;
    assert!(matches!(dup_address, Err(Error::Conflict { .. })));
    let dup_name = store.create_service_account(&p.tenant, account(&p, "owner", "elsewhere")).await;
    assert!(matches!(dup_name, Err(Error::Conflict { .. })));
    let (token, key) = generate_api_key(sa.service_account_id, T0, None);
    store.create_api_key(&p.tenant, sa.service_account_id, key).await.unwrap();
    assert!(store.authenticate(&KeyHash::of(&token), T0).await.unwrap().is_some());
    let (q, _) = tenant(store).await;
    assert!(matches!(
        store.delete_service_account(&q.tenant, sa.service_account_id, T0).await,
        Err(Error::NotFound)
    ));
    let deleted = store.delete_service_account(&p.tenant, sa.service_account_id, T0).await.unwrap();
    assert_eq!(deleted.status, "deleted");
    assert!(
        store.authenticate(&KeyHash::of(&token), T0).await.unwrap().is_none(),
        "deleting revokes its keys"
    );
    assert_eq!(
        store.delete_service_account(&p.tenant, sa.service_account_id, T0).await.unwrap().status,
        "deleted"
    );
    store
        .create_service_account(&q.tenant, account(&q, "owner", "agent://conformance/owner"))
        .await
        .expect("other workspace may reuse it");
    assert!(matches!(
        store
            .create_api_key(
                &p.tenant,
                ServiceAccountId::new(),
                generate_api_key(ServiceAccountId::new(), T0, None).1
            )
            .await,
        Err(Error::NotFound)
    ));
}

/// Applying a scenario creates missing agents once and the intent, atomically.
pub async fn scenarios(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let write = |p: &Principal| {
        let planned = axp_core::scenario::PlannedAgent {
            role: "svc".into(),
            address: AgentAddress::parse("report-api-demo", &p.tenant.scope()).unwrap(),
            display_name: "Report".into(),
            create_if_missing: true,
            delivery_mode: "stream".into(),
            spec: serde_json::Map::new(),
        };
        let acct = account(p, "report-api-demo", "report-api-demo");
        let key = generate_api_key(acct.id, T0, None);
        let (intent, events) = new_intent(p, "report-api-demo");
        ScenarioWrite {
            scenario_id: "s.v1".into(),
            compile_id: "c".into(),
            agents: vec![ScenarioAgent { planned, account: acct, key }],
            intent,
            events,
        }
    };
    let first = write(&p);
    let token = first.agents[0].key.0.clone();
    let applied = store.apply_scenario(&p.tenant, first, None).await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&applied.response_body).unwrap();
    assert_eq!(body["agents_provisioned"][0]["created"], true);
    assert_eq!(body["agents_provisioned"][0]["api_key"], token.as_str());
    let agent =
        store.authenticate(&KeyHash::of(&token), T0).await.unwrap().expect("the new agent's key works");
    assert_eq!(
        agent.agent_address.as_str(),
        format!("agent://{}/{}/report-api-demo", p.tenant.org_slug, p.tenant.workspace_slug)
    );

    let second = store.apply_scenario(&p.tenant, write(&p), None).await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&second.response_body).unwrap();
    assert_eq!(body["agents_provisioned"][0]["created"], false, "existing agents are reused");
    assert!(body["agents_provisioned"][0].get("api_key").is_none());
    assert_eq!(
        store.list_intents(&p.tenant, &IntentFilter { limit: 10, ..Default::default() }).await.unwrap().len(),
        2
    );
}

/// A command repeated with the same idempotency key replays its first response and runs once;
/// a third party without a grant is refused and nothing changes.
pub async fn idempotent_commands(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (intent, events) = new_intent(&p, "bot");
    let id = intent.intent_id;
    store.create_intent(&p.tenant, intent, events, None).await.unwrap();
    let body = json!({"status": "COMPLETED"});
    let resolve = || request(Command::Resolve(Resolution::Completed(json!({"n": 1}))));
    let claim = |fp: &serde_json::Value| IdempotencyClaim {
        route: format!("POST /v1/intents/{id}/resolve"),
        ..claim(&p, "resolve-1", fp)
    };
    let first = store.execute(&p.tenant, id, resolve(), T0, Some(claim(&body))).await.unwrap();
    assert!(!first.replayed);
    let again = store.execute(&p.tenant, id, resolve(), T0, Some(claim(&body))).await.unwrap();
    assert!(again.replayed, "same key and body: replay, not 409");
    assert_eq!(again.response_body, first.response_body);
    assert_eq!(store.events_since(&p.tenant, id, 0, 10).await.unwrap().len(), 3, "ran once");
    let other = store.execute(&p.tenant, id, resolve(), T0, Some(claim(&json!({"status": "FAILED"})))).await;
    assert!(matches!(other, Err(Error::IdempotencyConflict)));

    let (intent, events) = new_intent(&p, "bot");
    let id = intent.intent_id;
    store.create_intent(&p.tenant, intent, events, None).await.unwrap();
    let outsider =
        Request { caller: Some("agent://else/where/x".into()), ..request(Command::Resume(Map::new())) };
    let refused = store.execute(&p.tenant, id, outsider, T0, None).await;
    assert!(matches!(refused, Err(Error::Lifecycle(axp_core::lifecycle::LifecycleError::Forbidden { .. }))));
    assert_eq!(store.get_intent(&p.tenant, id).await.unwrap().status, Status::Submitted);
}

/// Timers fire once, in order, through the lifecycle: deadlines time out, unacknowledged leases
/// redeliver (a new queue item) and then fail, acknowledged leases do nothing, and an intent that
/// ended drops its timers.
pub async fn timers(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let agent = AgentAddress::parse("leased", &p.tenant.scope()).unwrap();
    // Timers are global: fire whatever other stories left due before T0 first.
    store.fire_due_timers(T0, 10_000).await.unwrap();

    let (mut late, events) = new_intent(&p, "nobody");
    late.deadline_at = Some(T0.plus_seconds(30));
    let late_id = late.intent_id;
    store.create_intent(&p.tenant, late, events, None).await.unwrap();
    let (mut leased, events) = new_intent(&p, "leased");
    leased.max_delivery_attempts = Some(2);
    leased.lease_seconds = Some(10);
    let leased_id = leased.intent_id;
    store.create_intent(&p.tenant, leased, events, None).await.unwrap();
    let (acked, events) = new_intent(&p, "leased");
    let acked_id = acked.intent_id;
    store.create_intent(&p.tenant, acked, events, None).await.unwrap();

    let first = store.deliver_to_agent(&p.tenant, &agent, 0, &Status::OPEN, 10, T0).await.unwrap();
    assert_eq!(first.len(), 2);
    let ack = Command::Resume(json!({"action": "acknowledge"}).as_object().cloned().unwrap());
    store.execute(&p.tenant, acked_id, request(ack), T0, None).await.unwrap();
    let due = store.next_timer_due().await.unwrap().expect("a lease timer");
    assert!(due <= T0.plus_seconds(10));

    assert_eq!(store.fire_due_timers(T0.plus_seconds(9), 100).await.unwrap(), 0, "nothing due yet");
    let fired = store.fire_due_timers(T0.plus_seconds(10), 100).await.unwrap();
    assert!(fired >= 1);
    assert_eq!(
        store.get_intent(&p.tenant, acked_id).await.unwrap().status,
        Status::Acknowledged,
        "acked: no redelivery"
    );
    let redelivered =
        store.deliver_to_agent(&p.tenant, &agent, 2, &Status::OPEN, 10, T0.plus_seconds(11)).await.unwrap();
    assert_eq!(redelivered.iter().map(|d| (d.seq, d.intent_id)).collect::<Vec<_>>(), [(3, leased_id)]);
    assert_eq!(redelivered[0].delivery_attempt, 2);
    assert_eq!(
        store.fire_due_timers(T0.plus_seconds(20), 100).await.unwrap(),
        0,
        "the old lease timer was replaced"
    );
    store.fire_due_timers(T0.plus_seconds(21), 100).await.unwrap();
    let failed = store.get_intent(&p.tenant, leased_id).await.unwrap();
    assert_eq!(failed.status, Status::Failed);
    let last = store.events_since(&p.tenant, leased_id, 0, 100).await.unwrap().pop().unwrap();
    assert_eq!(last.event_type, EventType::DeliveryFailed);

    store.fire_due_timers(T0.plus_seconds(30), 100).await.unwrap();
    assert_eq!(store.get_intent(&p.tenant, late_id).await.unwrap().status, Status::TimedOut);
    let timed_out = store.events_since(&p.tenant, late_id, 0, 100).await.unwrap();
    assert_eq!(timed_out.iter().filter(|e| e.event_type == EventType::TimedOut).count(), 1);
    store.fire_due_timers(T0.plus_seconds(3600), 10_000).await.unwrap();
    for (id, n) in [(late_id, timed_out.len()), (leased_id, last.seq as usize)] {
        assert_eq!(
            store.events_since(&p.tenant, id, 0, 100).await.unwrap().len(),
            n,
            "every timer fired once"
        );
    }

    let (mut resolved, events) = new_intent(&p, "nobody");
    resolved.deadline_at = Some(T0.plus_seconds(5000));
    let resolved_id = resolved.intent_id;
    store.create_intent(&p.tenant, resolved, events, None).await.unwrap();
    store
        .execute(
            &p.tenant,
            resolved_id,
            request(Command::Resolve(Resolution::Completed(json!({})))),
            T0,
            None,
        )
        .await
        .unwrap();
    store.fire_due_timers(T0.plus_seconds(5000), 10_000).await.unwrap();
    assert_eq!(
        store.events_since(&p.tenant, resolved_id, 0, 100).await.unwrap().len(),
        3,
        "an ended intent is not timed out later"
    );
}

/// Poll claims hand each queue item out once, oldest first, and lease it.
pub async fn claims(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let agent = AgentAddress::parse("poller", &p.tenant.scope()).unwrap();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let (intent, events) = new_intent(&p, "poller");
        ids.push(intent.intent_id);
        store.create_intent(&p.tenant, intent, events, None).await.unwrap();
    }
    let first = store.claim_for_agent(&p.tenant, &agent, 2, T0).await.unwrap();
    let second = store.claim_for_agent(&p.tenant, &agent, 10, T0).await.unwrap();
    let third = store.claim_for_agent(&p.tenant, &agent, 10, T0).await.unwrap();
    assert_eq!(first.iter().map(|d| d.intent_id).collect::<Vec<_>>(), ids[..2]);
    assert_eq!(second.iter().map(|d| d.intent_id).collect::<Vec<_>>(), ids[2..]);
    assert!(third.is_empty(), "each item is claimed once");
    assert!(first.iter().chain(&second).all(|d| d.status == Status::Delivered && d.delivery_attempt == 1));
    assert_eq!(
        store.get_intent(&p.tenant, ids[0]).await.unwrap().lease_expires_at,
        Some(T0.plus_seconds(60))
    );
    store.fire_due_timers(T0.plus_seconds(60), 1000).await.unwrap();
    let again = store.claim_for_agent(&p.tenant, &agent, 10, T0.plus_seconds(61)).await.unwrap();
    assert_eq!(again.len(), 5, "expired leases make every intent claimable again");
    assert!(again.iter().all(|d| d.delivery_attempt == 2));
}
