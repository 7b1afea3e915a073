//! Agent queues: reading by cursor (`deliver_to_agent`) and poll claims (`claim_for_agent`).

use axp_core::lifecycle::{Command, Resolution};
use axp_core::{EventType, Status};
use serde_json::json;

use super::{T0, account, address, assert_increasing, by, create, new_intent, request, tenant};
use crate::Store;

/// The agent queue: cursors increase in queue order, `since` is exclusive, SUBMITTED →
/// DELIVERED with its event before the item is returned, redelivery without new events, status
/// filtering.
pub async fn agent_queue(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let agent = address(&p, "worker");
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(create(store, &p, new_intent(&p, "worker")).await);
    }
    create(store, &p, new_intent(&p, "someone-else")).await;

    let got = store.deliver_to_agent(&p.tenant, &agent, 0, &Status::OPEN, 100, T0).await.unwrap();
    let cursors: Vec<u64> = got.iter().map(|d| d.seq).collect();
    assert_increasing(&cursors, "agent-queue cursors");
    assert!(cursors[0] > 0, "0 means from the start");
    assert_eq!(got.iter().map(|d| d.intent_id).collect::<Vec<_>>(), ids, "queue order");
    assert!(got.iter().all(|d| d.status == Status::Delivered && d.delivery_attempt == 1));
    assert!(got.iter().all(|d| d.to_agent == agent.as_str() && d.from_agent == p.agent_address.as_str()));
    assert!(got.iter().all(|d| d.event_type == "intent.delivered" && d.intent_type == "notify.message.v1"));
    let events = store.events_since(&p.tenant, ids[0], 2, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, EventType::Delivered);
    assert_eq!(events[0].handler, agent.as_str());
    assert_eq!(store.get_intent(&p.tenant, ids[0]).await.unwrap().status, Status::Delivered);

    let after = store.deliver_to_agent(&p.tenant, &agent, cursors[1], &Status::OPEN, 100, T0).await.unwrap();
    assert_eq!(after.iter().map(|d| d.seq).collect::<Vec<_>>(), cursors[2..], "`since` is exclusive");
    let last = *cursors.last().unwrap();
    assert!(
        store.deliver_to_agent(&p.tenant, &agent, last, &Status::OPEN, 100, T0).await.unwrap().is_empty()
    );
    let again = store.deliver_to_agent(&p.tenant, &agent, 0, &Status::OPEN, 100, T0).await.unwrap();
    assert_eq!(
        again.iter().map(|d| d.seq).collect::<Vec<_>>(),
        cursors,
        "at-least-once: an old cursor redelivers"
    );
    assert!(again.iter().all(|d| d.delivery_attempt == 1));
    assert_eq!(
        store.events_since(&p.tenant, ids[0], 0, 10).await.unwrap().len(),
        3,
        "redelivery appends nothing"
    );
    let limited = store.deliver_to_agent(&p.tenant, &agent, 0, &Status::OPEN, 2, T0).await.unwrap();
    assert_eq!(limited.iter().map(|d| d.seq).collect::<Vec<_>>(), cursors[..2]);

    store
        .execute(
            &p.tenant,
            ids[1],
            request(Command::Resolve(Resolution::Completed(json!({})))),
            T0,
            None,
            &by(),
        )
        .await
        .unwrap();
    let open = store.deliver_to_agent(&p.tenant, &agent, 0, &Status::OPEN, 100, T0).await.unwrap();
    assert_eq!(
        open.iter().map(|d| d.seq).collect::<Vec<_>>(),
        [cursors[0], cursors[2]],
        "terminal intents are filtered out"
    );
    let only_completed =
        store.deliver_to_agent(&p.tenant, &agent, 0, &[Status::Completed], 100, T0).await.unwrap();
    assert_eq!(
        only_completed.iter().map(|d| (d.seq, d.intent_id)).collect::<Vec<_>>(),
        [(cursors[1], ids[1])]
    );

    // An intent that ends before it was ever handed over is shown, not delivered.
    let early_id = create(store, &p, new_intent(&p, "worker")).await;
    store
        .execute(
            &p.tenant,
            early_id,
            request(Command::Resolve(Resolution::Canceled("x".into()))),
            T0,
            None,
            &by(),
        )
        .await
        .unwrap();
    let shown = store.deliver_to_agent(&p.tenant, &agent, last, &[Status::Canceled], 100, T0).await.unwrap();
    assert_eq!(
        shown.iter().map(|d| (d.intent_id, d.status)).collect::<Vec<_>>(),
        [(early_id, Status::Canceled)]
    );
    assert!(shown[0].seq > last, "a new item comes after every earlier cursor");
    let events = store.events_since(&p.tenant, early_id, 0, 100).await.unwrap();
    assert!(events.iter().all(|e| e.event_type != EventType::Delivered), "shown, not delivered");
    assert!(
        store
            .deliver_to_agent(&p.tenant, &agent, shown[0].seq, &Status::ALL, 100, T0)
            .await
            .unwrap()
            .is_empty(),
        "nothing after the highest cursor seen"
    );
}

/// Poll claims hand each queue item out once, oldest first, and lease it; an expired lease
/// makes the item claimable again (a redelivery).
pub async fn claims(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let agent = address(&p, "poller");
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(create(store, &p, new_intent(&p, "poller")).await);
    }
    let (q, _) = tenant(store).await;
    assert!(
        store.claim_for_agent(&q.tenant, &address(&q, "poller"), 10, T0).await.unwrap().is_empty(),
        "another workspace's agent of the same name has nothing"
    );
    let first = store.claim_for_agent(&p.tenant, &agent, 2, T0).await.unwrap();
    let second = store.claim_for_agent(&p.tenant, &agent, 10, T0).await.unwrap();
    let third = store.claim_for_agent(&p.tenant, &agent, 10, T0).await.unwrap();
    assert_eq!(first.iter().map(|d| d.intent_id).collect::<Vec<_>>(), ids[..2]);
    assert_eq!(second.iter().map(|d| d.intent_id).collect::<Vec<_>>(), ids[2..]);
    assert!(third.is_empty(), "each item is claimed once");
    let cursors: Vec<u64> = first.iter().chain(&second).map(|d| d.seq).collect();
    assert_increasing(&cursors, "claimed cursors");
    assert!(first.iter().chain(&second).all(|d| d.status == Status::Delivered && d.delivery_attempt == 1));
    assert_eq!(
        store.get_intent(&p.tenant, ids[0]).await.unwrap().lease_expires_at,
        Some(T0.plus_seconds(60))
    );
    let events = store.events_since(&p.tenant, ids[4], 0, 100).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.event_type == EventType::Delivered).count(), 1);
    // What a claim handed over is what a cursor read shows, without delivering it again.
    let read = store.deliver_to_agent(&p.tenant, &agent, 0, &Status::OPEN, 100, T0).await.unwrap();
    assert_eq!(read.iter().map(|d| d.seq).collect::<Vec<_>>(), cursors);
    assert_eq!(store.events_since(&p.tenant, ids[4], 0, 100).await.unwrap().len(), events.len());

    store.fire_due_timers(T0.plus_seconds(60), 1000).await.unwrap();
    let again = store.claim_for_agent(&p.tenant, &agent, 10, T0.plus_seconds(61)).await.unwrap();
    assert_eq!(again.len(), 5, "expired leases make every intent claimable again");
    assert!(again.iter().all(|d| d.delivery_attempt == 2));
    assert_eq!(again.iter().map(|d| d.intent_id).collect::<Vec<_>>(), ids, "oldest first");
    let max = *cursors.last().unwrap();
    assert!(again.iter().all(|d| d.seq > max), "a redelivery is a new queue item");
    assert!(store.claim_for_agent(&p.tenant, &agent, 10, T0.plus_seconds(61)).await.unwrap().is_empty());
}

/// Queue depths (`Maintenance::queue_depths`, the `axp_queue_depth` gauge): unhanded items of
/// open intents by their agent's binding, `none` for an address with no service account. The
/// counts are server-wide; `run_all` runs one story at a time on a store of its own, so the
/// changes measured here are this story's.
pub async fn depths(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let mut poller = account(&p, "depth-poller", "depth-poller");
    poller.delivery_mode = axp_core::delivery::Binding::Poll;
    store.create_service_account(&p.tenant, poller, &by()).await.unwrap();
    let depth = async |binding: &str| {
        store.maintenance().queue_depths().await.unwrap().get(binding).copied().unwrap_or(0)
    };
    let (poll, none) = (depth("poll").await, depth("none").await);
    let ids = [
        create(store, &p, new_intent(&p, "depth-poller")).await,
        create(store, &p, new_intent(&p, "depth-poller")).await,
        create(store, &p, new_intent(&p, "depth-poller")).await,
    ];
    create(store, &p, new_intent(&p, "depth-nobody")).await;
    assert_eq!((depth("poll").await, depth("none").await), (poll + 3, none + 1));

    let claimed = store.claim_for_agent(&p.tenant, &address(&p, "depth-poller"), 1, T0).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(depth("poll").await, poll + 2, "a handed item no longer waits");
    let cancel = request(Command::Resolve(Resolution::Canceled("x".into())));
    store.execute(&p.tenant, ids[2], cancel, T0, None, &by()).await.unwrap();
    assert_eq!(depth("poll").await, poll + 1, "the item of an ended intent no longer waits");
}
