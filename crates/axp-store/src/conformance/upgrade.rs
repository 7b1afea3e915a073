//! What a database of an older schema must show once a current store opened it (the upgrade
//! fixtures of each backend: migrations up to a step, filled with real rows, then opened).

use std::collections::{BTreeMap, BTreeSet};

use axp_core::access::Role;
use axp_core::api::SortOrder;
use axp_core::{AgentAddress, Status, Timestamp};

use serde_json::json;

use super::new_intent_at;
use crate::{IdempotencyClaim, IntentFilter, KeyHash, Store, fingerprint};

/// Checks the upgraded `store` against what the fixture held: `before` (rows per table before
/// the upgrade) are all still there, the fixture's admin `key` authenticates (as `org_owner`
/// once the fixture had memberships: `with_members`), and every intent of its workspace reads
/// back with its events in `seq` order, among them a COMPLETED one and an unfinished one; the
/// finished ones (and only those) are found by their finish time, which the retention
/// migration backfilled; they list newest first too, and each is listed by its status, sender,
/// type and recipient (columns the intent-body migration filled from the JSON and later ones
/// recoded). Every inbox participant row reads back, in the thread lists of the intents' senders
/// and recipients, and every agent queue item in its recipient's queue (the fixtures' cursors
/// were taken on another database, and on PostgreSQL another cluster: they must still be read).
/// The fixture's idempotent create (`fill_server.sh`, key `fx-open-1`) is found by its key and
/// replays the intent it created (SQLite's 0025 recoded the record's workspace, caller and
/// intent). `at` names the fixture in failures.
///
/// # Panics
/// On the first thing that did not survive the upgrade.
pub async fn upgraded(
    store: &dyn Store,
    key: &str,
    before: &BTreeMap<String, u64>,
    with_members: bool,
    at: &str,
) {
    let stats = store.maintenance().stats().await.unwrap();
    for (table, rows) in before {
        if let Some(after) = stats.tables.get(table) {
            assert_eq!(after, rows, "{at}: table {table} keeps its rows");
        }
    }
    let admin = store
        .authenticate(&KeyHash::of(key), Timestamp::from_millis(i64::MAX / 4))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{at}: the admin key authenticates"));
    assert_eq!(admin.tenant.org_slug, "default", "{at}: the key's organization");
    if with_members {
        assert!(admin.roles.contains(Role::OrgOwner), "{at}: the admin's membership");
    }
    let filter = IntentFilter { limit: 500, ..IntentFilter::default() };
    let intents = store.list_intents(&admin.tenant, &filter).await.unwrap();
    assert_eq!(Some(&(intents.len() as u64)), before.get("intents"), "{at}: every intent is listed");
    assert!(intents.iter().any(|i| i.status == Status::Completed), "{at}: a COMPLETED intent");
    assert!(intents.iter().any(|i| !i.status.is_terminal()), "{at}: an unfinished intent");
    let newest = IntentFilter { order: SortOrder::Desc, ..filter.clone() };
    let newest: Vec<_> = store.list_intents(&admin.tenant, &newest).await.unwrap();
    assert!(
        newest.iter().map(|i| i.intent_id).eq(intents.iter().rev().map(|i| i.intent_id)),
        "{at}: newest first"
    );
    let far = Timestamp::from_millis(i64::MAX / 4);
    let finished: BTreeSet<_> =
        store.finished_intent_ids(admin.tenant.workspace_id, far, 500).await.unwrap().into_iter().collect();
    let terminal: BTreeSet<_> =
        intents.iter().filter(|i| i.status.is_terminal()).map(|i| i.intent_id).collect();
    assert_eq!(finished, terminal, "{at}: the finished intents, by their finish time");
    for intent in &intents {
        let by_its_names = IntentFilter {
            statuses: vec![intent.status],
            from_agent: Some(intent.from_agent.clone()),
            intent_type: Some(intent.intent_type.clone()),
            to_agent: Some(intent.to_agent.clone()),
            ..filter.clone()
        };
        let listed = store.list_intents(&admin.tenant, &by_its_names).await.unwrap();
        assert!(
            listed.iter().any(|i| i.intent_id == intent.intent_id),
            "{at}: intent {} is listed by its status, sender, type and recipient",
            intent.intent_id
        );
        let read = store.get_intent(&admin.tenant, intent.intent_id).await.unwrap();
        assert_eq!(read.status, intent.status, "{at}: intent {}", intent.intent_id);
        let events = store.events_since(&admin.tenant, intent.intent_id, 0, 1000).await.unwrap();
        let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
        assert!(
            !seqs.is_empty() && seqs.iter().copied().eq(1..=seqs.len() as u64),
            "{at}: intent {} has its events in seq order: {seqs:?}",
            intent.intent_id
        );
    }
    if let Some(&rows) = before.get("thread_participants") {
        let owners: BTreeSet<&str> =
            intents.iter().flat_map(|i| [i.to_agent.as_str(), i.from_agent.as_str()]).collect();
        let mut participants = 0;
        for owner in owners {
            let threads = store.list_threads(&admin.tenant, owner, None, 500).await.unwrap();
            participants += threads.len() as u64;
        }
        assert_eq!(participants, rows, "{at}: every inbox participant reads back");
    }
    // After the inbox: a queue read delivers, which touches participants.
    let recipients: BTreeSet<&str> = intents.iter().map(|i| i.to_agent.as_str()).collect();
    let mut queued = 0;
    for to in recipients {
        let address = AgentAddress::parse(to, &admin.tenant.scope()).unwrap();
        queued +=
            store.deliver_to_agent(&admin.tenant, &address, 0, &Status::ALL, 500, far).await.unwrap().len();
    }
    assert_eq!(Some(&(queued as u64)), before.get("agent_queue"), "{at}: every queue item reads back");
    let open = intents
        .iter()
        .find(|i| i.intent_type == "fixture.open.v1")
        .unwrap_or_else(|| panic!("{at}: the fixture's idempotent create"));
    let now = open.created_at.plus_seconds(1);
    let claim = IdempotencyClaim {
        caller: admin.actor.id(),
        route: "POST /v1/intents".into(),
        key: "fx-open-1".into(),
        fingerprint: fingerprint(
            &json!({"intent_type": "fixture.open.v1", "to_agent": "worker", "payload": {"n": 1}}),
            None,
        ),
        expires_at: now.plus_seconds(86_400),
        now,
    };
    let (intent, events) = new_intent_at(&admin, "worker", now);
    let again = store.create_intent(&admin.tenant, intent, events, Some(claim)).await.unwrap();
    assert!(again.answer.is_replayed(), "{at}: the idempotency record is found by its key");
    assert_eq!(again.intent_id, open.intent_id, "{at}: and replays the intent it created");
}
