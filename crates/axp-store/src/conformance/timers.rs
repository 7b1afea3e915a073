//! Timers: deadlines, lease expiry and redelivery (`fire_due_timers`, `next_timer_due`).

use axp_core::lifecycle::{Command, Resolution};
use axp_core::{EventType, Status};
use serde_json::json;

use super::{T0, address, by, new_intent, request, tenant};
use crate::Store;

/// Timers fire once, in order, through the lifecycle: deadlines time out, unacknowledged leases
/// redeliver (a new queue item) and then fail, acknowledged leases do nothing, and an intent that
/// ended drops its timers.
///
/// Timers are global: other workspaces' timers may fire too, so only this workspace's intents
/// are judged.
pub async fn timers(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let agent = address(&p, "leased");
    // Fire whatever other stories left due before T0 first.
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
    assert_eq!(first.iter().map(|d| d.intent_id).collect::<Vec<_>>(), [leased_id, acked_id]);
    let highest = first.iter().map(|d| d.seq).max().unwrap();
    let ack = Command::Resume(json!({"action": "acknowledge"}).as_object().cloned().unwrap());
    store.execute(&p.tenant, acked_id, request(ack), T0, None, &by()).await.unwrap();
    let due = store.next_timer_due().await.unwrap().expect("a lease timer");
    assert!(due <= T0.plus_seconds(10));

    store.fire_due_timers(T0.plus_seconds(9), 100).await.unwrap();
    let before = store.get_intent(&p.tenant, leased_id).await.unwrap();
    assert_eq!((before.status, before.delivery_attempt), (Status::Delivered, 1), "nothing due yet");
    assert!(
        store.deliver_to_agent(&p.tenant, &agent, highest, &Status::OPEN, 10, T0).await.unwrap().is_empty(),
        "no redelivery before the lease runs out"
    );
    let fired = store.fire_due_timers(T0.plus_seconds(10), 100).await.unwrap();
    assert!(fired >= 1, "the lease timer is taken");
    assert_eq!(
        store.get_intent(&p.tenant, acked_id).await.unwrap().status,
        Status::Acknowledged,
        "acked: no redelivery"
    );
    let redelivered = store
        .deliver_to_agent(&p.tenant, &agent, highest, &Status::OPEN, 10, T0.plus_seconds(11))
        .await
        .unwrap();
    assert_eq!(redelivered.iter().map(|d| d.intent_id).collect::<Vec<_>>(), [leased_id]);
    assert!(redelivered[0].seq > highest);
    assert_eq!(redelivered[0].delivery_attempt, 2);
    let second_lease = store.get_intent(&p.tenant, leased_id).await.unwrap();
    assert_eq!(second_lease.lease_expires_at, Some(T0.plus_seconds(21)));
    store.fire_due_timers(T0.plus_seconds(20), 100).await.unwrap();
    assert_eq!(
        store.get_intent(&p.tenant, leased_id).await.unwrap(),
        second_lease,
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
    let due = store.next_timer_due().await.unwrap().expect("the deadline timer");
    assert!(due <= T0.plus_seconds(5000));
    store
        .execute(
            &p.tenant,
            resolved_id,
            request(Command::Resolve(Resolution::Completed(json!({})))),
            T0,
            None,
            &by(),
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
