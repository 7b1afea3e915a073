//! Intents: creation and events, idempotency, lifecycle commands, scenarios and intent types.

use axp_core::delivery::Binding;
use axp_core::ids::IntentId;
use axp_core::lifecycle::{Command, Request, Resolution};
use axp_core::{AgentAddress, EventType, Status};
use serde_json::{Map, json};

use super::{T0, account, by, new_intent, request, tenant};
use crate::{
    Error, IdempotencyClaim, IntentFilter, KeyHash, Principal, ScenarioAgent, ScenarioWrite, Store,
    fingerprint, generate_api_key,
};

/// An intent id is created once: a second create with it is [`Error::Conflict`] and writes
/// nothing, also when both race (a backend that writes a batch's rows together must still tell
/// which create repeated the id), and creates beside them are not disturbed.
pub async fn duplicate_intent_ids(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (intent, events) = new_intent(&p, "agent://conformance/receiver");
    let (fresh, fresh_events) = new_intent(&p, "agent://conformance/receiver");
    let (a, b, c) = tokio::join!(
        store.create_intent(&p.tenant, intent.clone(), events.clone(), None),
        store.create_intent(&p.tenant, intent.clone(), events.clone(), None),
        store.create_intent(&p.tenant, fresh.clone(), fresh_events, None),
    );
    let conflicts = [&a, &b].iter().filter(|r| matches!(r, Err(Error::Conflict { .. }))).count();
    assert_eq!((a.is_ok() as u8 + b.is_ok() as u8, conflicts), (1, 1), "{a:?} {b:?}");
    c.expect("a create beside them");
    let again = store.create_intent(&p.tenant, intent.clone(), events, None).await;
    assert!(matches!(again, Err(Error::Conflict { .. })), "{again:?}");
    let seqs: Vec<u64> = store
        .events_since(&p.tenant, intent.intent_id, 0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, [1, 2], "the conflicting creates wrote no events");
    assert_eq!(store.get_intent(&p.tenant, fresh.intent_id).await.unwrap().intent_id, fresh.intent_id);
}

/// Create writes the intent and events 1 (created) and 2 (submitted); cursors are exclusive.
pub async fn intents_and_events(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (intent, events) = new_intent(&p, "agent://conformance/receiver");
    let id = intent.intent_id;
    let created = store.create_intent(&p.tenant, intent.clone(), events, None).await.unwrap();
    assert!(!created.answer.is_replayed());
    let body: serde_json::Value = serde_json::from_str(&created.answer.body().unwrap()).unwrap();
    assert_eq!(body["intent_id"], id.to_string());
    assert_eq!(body["status"], "SUBMITTED");

    assert_eq!(store.get_intent(&p.tenant, id).await.unwrap(), intent);
    let events = store.events_since(&p.tenant, id, 0, 100).await.unwrap();
    assert_eq!(
        events.iter().map(|e| (e.seq, e.event_type)).collect::<Vec<_>>(),
        [(1, EventType::Created), (2, EventType::Submitted)]
    );
    let later = store.events_since(&p.tenant, id, 1, 100).await.unwrap();
    assert_eq!(later.iter().map(|e| e.seq).collect::<Vec<_>>(), [2]);
    let first = store.events_since(&p.tenant, id, 0, 1).await.unwrap();
    assert_eq!(first.iter().map(|e| e.seq).collect::<Vec<_>>(), [1], "at most `limit`");
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
        caller: p.actor.id(),
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
    assert!(replay.answer.is_replayed());
    assert_eq!(replay.intent_id, created.intent_id);
    assert_eq!(replay.answer.body().unwrap(), created.answer.body().unwrap(), "byte-identical replay");
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
    assert!(!fresh.answer.is_replayed(), "an expired key behaves as new");
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
    let err = store.execute(&p.tenant, id, stale, T0, None, &by()).await.unwrap_err();
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
            &by(),
        )
        .await
        .unwrap();
    assert_eq!(applied.intent.policy_generation, 1);
    assert!(applied.outcome.events.is_empty());
    assert_eq!(store.get_intent(&p.tenant, id).await.unwrap().policy_generation, 1, "controls persisted");

    let resume = Command::Resume(json!({"approve_current_step": true}).as_object().cloned().unwrap());
    let started =
        store.execute(&p.tenant, id, request(resume), T0.plus_seconds(1), None, &by()).await.unwrap();
    assert_eq!(started.intent.status, Status::InProgress);
    let done = store
        .execute(
            &p.tenant,
            id,
            request(Command::Resolve(Resolution::Completed(json!({"ok": true})))),
            T0.plus_seconds(2),
            None,
            &by(),
        )
        .await
        .unwrap();
    assert_eq!(done.intent.status, Status::Completed);
    let completion = done.completion.expect("reply_to gets the completion");
    assert_eq!(completion.reply_to, "agent://conformance/reply-target");

    let again = store
        .execute(
            &p.tenant,
            id,
            request(Command::Resolve(Resolution::Canceled("late".into()))),
            T0,
            None,
            &by(),
        )
        .await;
    assert!(matches!(again, Err(Error::Lifecycle(_))));
    let events = store.events_since(&p.tenant, id, 0, 100).await.unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    assert_eq!(events[3].event_type, EventType::Completed);
    assert_eq!(store.get_intent(&p.tenant, id).await.unwrap().status, Status::Completed);
    assert!(matches!(
        store
            .execute(&p.tenant, IntentId::new(), request(Command::Resume(Map::new())), T0, None, &by())
            .await,
        Err(Error::NotFound)
    ));
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
    let first = store.execute(&p.tenant, id, resolve(), T0, Some(claim(&body)), &by()).await.unwrap();
    assert!(!first.answer.is_replayed());
    let again = store.execute(&p.tenant, id, resolve(), T0, Some(claim(&body)), &by()).await.unwrap();
    assert!(again.answer.is_replayed(), "same key and body: replay, not 409");
    assert_eq!(again.answer.body().unwrap(), first.answer.body().unwrap());
    assert_eq!(store.events_since(&p.tenant, id, 0, 10).await.unwrap().len(), 3, "ran once");
    let other =
        store.execute(&p.tenant, id, resolve(), T0, Some(claim(&json!({"status": "FAILED"}))), &by()).await;
    assert!(matches!(other, Err(Error::IdempotencyConflict)));

    let (intent, events) = new_intent(&p, "bot");
    let id = intent.intent_id;
    store.create_intent(&p.tenant, intent, events, None).await.unwrap();
    let outsider = Request {
        caller: Some(super::acting("agent://else/where/x")),
        ..request(Command::Resume(Map::new()))
    };
    let refused = store.execute(&p.tenant, id, outsider, T0, None, &by()).await;
    assert!(matches!(refused, Err(Error::Lifecycle(axp_core::lifecycle::LifecycleError::Forbidden { .. }))));
    assert_eq!(store.get_intent(&p.tenant, id).await.unwrap().status, Status::Submitted);
}

/// Applying a scenario creates missing agents once and the intent, atomically, and registers
/// the intent's type for the workspace (plain intents register nothing).
pub async fn scenarios(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    assert!(store.intent_types(&p.tenant).await.unwrap().is_empty(), "a new workspace has none");
    let (mut plain, events) = new_intent(&p, "bot");
    plain.intent_type = "plain.create.v1".into();
    store.create_intent(&p.tenant, plain, events, None).await.unwrap();
    assert!(store.intent_types(&p.tenant).await.unwrap().is_empty(), "only scenarios register types");

    let write = |p: &Principal| {
        let planned = axp_core::scenario::PlannedAgent {
            role: "svc".into(),
            address: AgentAddress::parse("report-api-demo", &p.tenant.scope()).unwrap(),
            display_name: "Report".into(),
            create_if_missing: true,
            delivery_mode: Binding::Stream,
            spec: serde_json::Map::new(),
        };
        let acct = account(p, "report-api-demo", "report-api-demo");
        let key = generate_api_key(acct.id, T0, None);
        let (mut intent, events) = new_intent(p, "report-api-demo");
        intent.intent_type = "report.generate.v1".into();
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
    let applied = store.apply_scenario(&p.tenant, first, None, &by()).await.unwrap();
    assert!(!applied.answer.is_replayed());
    let body: serde_json::Value = serde_json::from_str(&applied.answer.body().unwrap()).unwrap();
    assert_eq!(body["agents_provisioned"][0]["created"], true);
    assert_eq!(body["agents_provisioned"][0]["api_key"], token.as_str());
    let agent =
        store.authenticate(&KeyHash::of(&token), T0).await.unwrap().expect("the new agent's key works");
    assert_eq!(
        agent.agent_address.as_str(),
        format!("agent://{}/{}/report-api-demo", p.tenant.org_slug, p.tenant.workspace_slug)
    );
    assert_eq!(
        store.get_intent(&p.tenant, applied.intent_id).await.unwrap().intent_type,
        "report.generate.v1"
    );

    let second = store.apply_scenario(&p.tenant, write(&p), None, &by()).await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&second.answer.body().unwrap()).unwrap();
    assert_eq!(body["agents_provisioned"][0]["created"], false, "existing agents are reused");
    assert!(body["agents_provisioned"][0].get("api_key").is_none());
    assert_eq!(
        store.list_intents(&p.tenant, &IntentFilter { limit: 10, ..Default::default() }).await.unwrap().len(),
        3
    );
    assert_eq!(store.intent_types(&p.tenant).await.unwrap(), ["report.generate.v1"], "registered once");
    let (q, _) = tenant(store).await;
    assert!(store.intent_types(&q.tenant).await.unwrap().is_empty(), "types are per workspace");
}
