//! Webhook subscriptions and events: upserts keyed by (owner, callback URL), revocation and
//! reactivation, publishing and replaying events to matching active subscriptions.

use axp_core::delivery::{Delivery, DeliveryKind, DeliveryStatus, EventCounters, Subscription, WebhookEvent};
use axp_core::{EventId, SubscriptionId, Timestamp};
use serde_json::json;

use super::{T0, tenant};
use crate::{AttemptReport, Error, NewSubscription, Principal, Store};

fn subscription(owner: &str, url: &str, types: &[&str], secret: Option<&str>) -> NewSubscription {
    NewSubscription {
        owner_agent: owner.into(),
        callback_url: url.into(),
        event_types: types.iter().map(|t| (*t).to_owned()).collect(),
        secret: secret.map(str::to_owned),
        new_secret: "whsec_generated_by_caller_9876".into(),
        active: true,
        description: None,
    }
}

fn event(owner: &str, event_type: &str, at: Timestamp) -> WebhookEvent {
    WebhookEvent {
        event_id: EventId::new(),
        event_type: event_type.into(),
        source: "conformance".into(),
        owner_agent: owner.into(),
        occurred_at: at,
        payload: json!({"n": 1, "nested": {"ok": true}}),
    }
}

fn ids(subs: &[Subscription]) -> Vec<SubscriptionId> {
    let mut ids: Vec<SubscriptionId> = subs.iter().map(|s| s.subscription_id).collect();
    ids.sort();
    ids
}

/// Upserts are keyed by (owner, callback URL): the second updates the first and keeps its
/// secret unless given one; revoking is idempotent and per owner; upserting a revoked
/// subscription reactivates it; inactive ones are listed only on request.
pub async fn subscriptions(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (q, _) = tenant(store).await;
    let owner = p.agent_address.as_str();
    let other = format!("agent://{}/{}/someone", p.tenant.org_slug, p.tenant.workspace_slug);
    let url = "https://hooks.example.com/one";

    let mut new = subscription(owner, url, &["workflow.notification"], Some("whsec_given_by_caller_0001"));
    new.description = Some("first".into());
    let first = store.upsert_subscription(&p.tenant, new, T0).await.unwrap();
    assert_eq!((first.owner_agent.as_str(), first.callback_url.as_str()), (owner, url));
    assert_eq!(first.event_types, ["workflow.notification"]);
    assert!(first.active);
    assert_eq!((first.created_at, first.updated_at, first.revoked_at), (T0, T0, None));
    assert_eq!(first.description.as_deref(), Some("first"));
    assert_eq!(first.secret_hint.as_deref(), Some("****0001"));

    let mut update = subscription(owner, url, &["workflow.notification", "invite.accepted"], None);
    update.description = Some("second".into());
    let updated = store.upsert_subscription(&p.tenant, update, T0.plus_seconds(1)).await.unwrap();
    assert_eq!(updated.subscription_id, first.subscription_id, "same owner and URL: the same subscription");
    assert_eq!(updated.event_types, ["workflow.notification", "invite.accepted"]);
    assert_eq!((updated.created_at, updated.updated_at), (T0, T0.plus_seconds(1)));
    assert_eq!(updated.description.as_deref(), Some("second"));
    assert_eq!(updated.secret_hint.as_deref(), Some("****0001"), "no secret given: the old one is kept");

    let generated = store
        .upsert_subscription(
            &p.tenant,
            subscription(owner, "https://hooks.example.com/two", &["invite.accepted"], None),
            T0,
        )
        .await
        .unwrap();
    assert_ne!(generated.subscription_id, first.subscription_id);
    assert_eq!(
        generated.secret_hint.as_deref(),
        Some("****9876"),
        "a new one without a secret uses new_secret"
    );
    let theirs =
        store.upsert_subscription(&p.tenant, subscription(&other, url, &["invite.accepted"], None), T0).await;
    assert_ne!(theirs.unwrap().subscription_id, first.subscription_id, "the key includes the owner");

    assert_eq!(
        ids(&store.list_subscriptions(&p.tenant, owner, false).await.unwrap()),
        ids(&[updated.clone(), generated.clone()])
    );
    assert!(store.list_subscriptions(&q.tenant, owner, true).await.unwrap().is_empty(), "another workspace");

    let missing = store.revoke_subscription(&p.tenant, &other, generated.subscription_id, T0).await;
    assert!(matches!(missing, Err(Error::NotFound)), "only its owner revokes it");
    let foreign = store.revoke_subscription(&q.tenant, owner, generated.subscription_id, T0).await;
    assert!(matches!(foreign, Err(Error::NotFound)));
    let unknown = store.revoke_subscription(&p.tenant, owner, SubscriptionId::new(), T0).await;
    assert!(matches!(unknown, Err(Error::NotFound)));
    let revoked = store
        .revoke_subscription(&p.tenant, owner, generated.subscription_id, T0.plus_seconds(2))
        .await
        .unwrap();
    assert!(!revoked.active);
    assert_eq!(revoked.revoked_at, Some(T0.plus_seconds(2)));
    let twice = store
        .revoke_subscription(&p.tenant, owner, generated.subscription_id, T0.plus_seconds(3))
        .await
        .unwrap();
    assert_eq!(twice.revoked_at, Some(T0.plus_seconds(2)), "idempotent: the first time stays");
    let active = store.list_subscriptions(&p.tenant, owner, false).await.unwrap();
    assert_eq!(ids(&active), [updated.subscription_id]);
    let all = store.list_subscriptions(&p.tenant, owner, true).await.unwrap();
    assert_eq!(ids(&all), ids(&[updated.clone(), generated.clone()]));
    assert!(all.iter().any(|s| s.subscription_id == generated.subscription_id && !s.active));

    let again = subscription(owner, "https://hooks.example.com/two", &["invite.accepted"], None);
    let reactivated = store.upsert_subscription(&p.tenant, again, T0.plus_seconds(4)).await.unwrap();
    assert_eq!(reactivated.subscription_id, generated.subscription_id, "reactivated, not created");
    assert!(reactivated.active);
    assert_eq!(reactivated.revoked_at, None);
    assert_eq!(reactivated.secret_hint.as_deref(), Some("****9876"));
    assert_eq!(store.list_subscriptions(&p.tenant, owner, false).await.unwrap().len(), 2);

    let mut paused = subscription(owner, url, &["workflow.notification"], None);
    paused.active = false;
    let paused = store.upsert_subscription(&p.tenant, paused, T0.plus_seconds(5)).await.unwrap();
    assert!(!paused.active);
    assert_eq!(
        ids(&store.list_subscriptions(&p.tenant, owner, false).await.unwrap()),
        [generated.subscription_id]
    );
    assert_eq!(store.list_subscriptions(&p.tenant, owner, true).await.unwrap().len(), 2);
}

fn counters(queued: u32, delivered: u32, pending: u32, dead_lettered: u32) -> EventCounters {
    EventCounters { queued_deliveries: queued, processed_deliveries: 0, delivered, pending, dead_lettered }
}

async fn deliveries_of(store: &dyn Store, p: &Principal, event: &WebhookEvent) -> Vec<Delivery> {
    let all = store.list_deliveries(&p.tenant, None, 500).await.unwrap();
    all.into_iter().filter(|d| d.event_id == Some(event.event_id)).collect()
}

/// Publishing records the event and queues one delivery per active subscription of its owner
/// naming its type; the dispatcher gets each with its subscription's secret; replaying queues
/// the event again (same body and webhook-id) to the subscriptions active now.
pub async fn events(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (q, _) = tenant(store).await;
    let owner = p.agent_address.as_str();
    let other = format!("agent://{}/{}/someone", p.tenant.org_slug, p.tenant.workspace_slug);
    let put = |new: NewSubscription| store.upsert_subscription(&p.tenant, new, T0);
    let notification = ["workflow.notification"];
    let a =
        put(subscription(owner, "https://a.example.com/h", &notification, Some("whsec_secret_of_a_0001")))
            .await;
    let a = a.unwrap();
    let both = ["workflow.notification", "invite.accepted"];
    let b = put(subscription(owner, "https://b.example.com/h", &both, None)).await.unwrap();
    let c = put(subscription(owner, "https://c.example.com/h", &notification, None)).await.unwrap();
    store.revoke_subscription(&p.tenant, owner, c.subscription_id, T0).await.unwrap();
    let mut inactive = subscription(owner, "https://d.example.com/h", &notification, None);
    inactive.active = false;
    put(inactive).await.unwrap();
    let theirs = put(subscription(&other, "https://e.example.com/h", &notification, None)).await.unwrap();

    let at = T0.plus_seconds(10);
    let e1 = event(owner, "workflow.notification", at);
    assert_eq!(store.publish_event(&p.tenant, e1.clone()).await.unwrap(), counters(2, 0, 2, 0));
    let e2 = event(owner, "invite.accepted", at);
    assert_eq!(store.publish_event(&p.tenant, e2.clone()).await.unwrap(), counters(1, 0, 1, 0));
    let e3 = event(owner, "auth.session_revoked", at);
    assert_eq!(
        store.publish_event(&p.tenant, e3.clone()).await.unwrap(),
        EventCounters::default(),
        "no takers"
    );
    let e4 = event(&other, "workflow.notification", at);
    assert_eq!(store.publish_event(&p.tenant, e4.clone()).await.unwrap(), counters(1, 0, 1, 0), "per owner");

    let first = deliveries_of(store, &p, &e1).await;
    let mut subs: Vec<SubscriptionId> = first.iter().filter_map(|d| d.subscription_id).collect();
    subs.sort();
    assert_eq!(subs, ids(&[a.clone(), b.clone()]), "active subscriptions naming the type");
    for d in &first {
        assert_eq!((d.kind, d.transport_type.as_str()), (DeliveryKind::Webhook, "webhook"));
        assert_eq!((d.status, d.attempt, d.next_attempt_at), (DeliveryStatus::Pending, 0, Some(at)));
        assert_eq!((d.target.as_str(), d.intent_id), (owner, None));
        assert_eq!(d.payload, serde_json::to_value(&e1).unwrap(), "the event is the body");
        let url =
            if d.subscription_id == Some(a.subscription_id) { &a.callback_url } else { &b.callback_url };
        assert_eq!(&d.url, url);
    }
    assert_eq!(first[0].message_id, first[1].message_id, "one webhook-id per event");
    let second = deliveries_of(store, &p, &e2).await;
    assert_eq!(second.iter().map(|d| d.subscription_id).collect::<Vec<_>>(), [Some(b.subscription_id)]);
    assert_ne!(second[0].message_id, first[0].message_id);
    let fourth = deliveries_of(store, &p, &e4).await;
    assert_eq!(fourth.iter().map(|d| d.subscription_id).collect::<Vec<_>>(), [Some(theirs.subscription_id)]);
    assert!(store.list_deliveries(&q.tenant, None, 100).await.unwrap().is_empty());

    let jobs = store.claim_due_deliveries(at, at.plus_seconds(30), 10_000).await.unwrap();
    let jobs: Vec<_> = jobs.into_iter().filter(|j| j.workspace_id == p.tenant.workspace_id).collect();
    assert_eq!(jobs.len(), 4);
    for job in &jobs {
        let d = store.get_delivery(&p.tenant, job.delivery_id).await.unwrap();
        assert_eq!(
            (job.kind, job.attempt, &job.url, &job.message_id),
            (DeliveryKind::Webhook, 1, &d.url, &d.message_id)
        );
        assert_eq!(serde_json::from_str::<serde_json::Value>(&job.body).unwrap(), d.payload);
        if d.subscription_id == Some(a.subscription_id) {
            assert_eq!(job.secret, "whsec_secret_of_a_0001", "the subscription's own secret");
        } else if d.subscription_id == Some(b.subscription_id) {
            assert_eq!(job.secret, "whsec_generated_by_caller_9876");
        }
        let to_b_of_e1 = d.subscription_id == Some(b.subscription_id) && d.event_id == Some(e1.event_id);
        let attempt = axp_core::delivery::DeliveryAttempt {
            attempt: 1,
            at,
            status_code: Some(if to_b_of_e1 { 500 } else { 200 }),
            error: to_b_of_e1.then(|| "HTTP 500".to_owned()),
            duration_ms: 5,
        };
        let report =
            AttemptReport { attempt, delivered: !to_b_of_e1, retry_at: None, inline_result: None, now: at };
        store.record_attempt(p.tenant.workspace_id, job.delivery_id, report).await.unwrap();
    }
    let statuses: Vec<DeliveryStatus> =
        deliveries_of(store, &p, &e1).await.iter().map(|d| d.status).collect();
    assert!(
        statuses.contains(&DeliveryStatus::Delivered) && statuses.contains(&DeliveryStatus::DeadLettered)
    );

    store.revoke_subscription(&p.tenant, owner, b.subscription_id, at).await.unwrap();
    let later = T0.plus_seconds(20);
    let (replayed, count) = store.replay_event(&p.tenant, owner, e1.event_id, later).await.unwrap();
    assert_eq!(replayed, e1);
    let now_all = deliveries_of(store, &p, &e1).await;
    assert_eq!(now_all.len(), 3, "one more, to the one subscription still active");
    let fresh: Vec<&Delivery> = now_all.iter().filter(|d| d.status == DeliveryStatus::Pending).collect();
    assert_eq!(fresh.len(), 1);
    assert_eq!(fresh[0].subscription_id, Some(a.subscription_id));
    assert_eq!((fresh[0].next_attempt_at, &fresh[0].message_id), (Some(later), &first[0].message_id));
    assert_eq!(fresh[0].payload, first[0].payload, "the same body");
    assert_eq!(count, counters(3, 1, 1, 1), "what became of all the event's deliveries");

    let wrong_owner = store.replay_event(&p.tenant, &other, e1.event_id, later).await;
    assert!(matches!(wrong_owner, Err(Error::NotFound)), "another owner's event");
    assert!(matches!(
        store.replay_event(&p.tenant, owner, EventId::new(), later).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(store.replay_event(&q.tenant, owner, e1.event_id, later).await, Err(Error::NotFound)));
    let (_, none) = store.replay_event(&p.tenant, owner, e3.event_id, later).await.unwrap();
    assert_eq!(none, EventCounters::default(), "still no takers");
    assert_eq!(deliveries_of(store, &p, &e1).await.len(), 3, "failed replays queue nothing");
}
