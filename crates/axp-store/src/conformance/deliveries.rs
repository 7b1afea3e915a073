//! Delivery bindings and agent push deliveries: claims, attempts, retries, dead letters and
//! replays.
//!
//! Claims of due deliveries are global (the dispatcher's): stories only judge the jobs and
//! deliveries of their own workspace.

use axp_core::delivery::{Binding, Delivery, DeliveryAttempt, DeliveryKind, DeliveryStatus};
use axp_core::lifecycle::{Command, Resolution};
use axp_core::{DeliveryId, EventType, IntentId, Status, Timestamp};
use serde_json::json;

use super::{T0, account, address, after_ms, by, create, new_intent, new_intent_at, request, tenant};
use crate::{AttemptReport, BindingUpdate, Error, Principal, PushEndpoint, PushJob, Store};

const URL: &str = "https://agents.example.com/axp/inbound";
const SECRET: &str = "whsec_conformance_push_0001";

fn http_binding(lease_seconds: Option<u32>) -> BindingUpdate {
    BindingUpdate {
        delivery_mode: Binding::Http,
        push: Some(PushEndpoint { url: URL.into(), secret: SECRET.into() }),
        lease_seconds,
    }
}

/// The jobs of `p`'s workspace among those claimed at `now` (claims are across workspaces).
async fn claim(store: &dyn Store, p: &Principal, now: Timestamp, claim_until: Timestamp) -> Vec<PushJob> {
    let jobs = store.claim_due_deliveries(now, claim_until, 10_000).await.unwrap();
    jobs.into_iter().filter(|j| j.workspace_id == p.tenant.workspace_id).collect()
}

fn report(attempt: u32, at: Timestamp, code: Option<u16>, retry_at: Option<Timestamp>) -> AttemptReport {
    let delivered = code.is_some_and(|c| (200..300).contains(&c));
    AttemptReport {
        attempt: DeliveryAttempt {
            attempt,
            at,
            status_code: code,
            error: (!delivered).then(|| format!("attempt {attempt} failed")),
            duration_ms: 12,
        },
        delivered,
        retry_at,
        inline_result: None,
        now: at,
    }
}

/// The one delivery of intent `id` in `p`'s workspace (the original, not replays).
async fn delivery_of(store: &dyn Store, p: &Principal, id: IntentId) -> Delivery {
    let all = store.list_deliveries(&p.tenant, None, 500).await.unwrap();
    let mine: Vec<Delivery> =
        all.into_iter().filter(|d| d.intent_id == Some(id) && d.replay_of_delivery_id.is_none()).collect();
    assert_eq!(mine.len(), 1, "one push delivery per routed intent");
    mine.into_iter().next().unwrap()
}

/// Bindings are set by agent address; the `http` binding's secret is kept apart from the
/// record; only an `http` agent gets a push delivery when an intent is routed to it.
pub async fn bindings(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (q, _) = tenant(store).await;
    let agent = address(&p, "switcher");
    let missing = store.set_agent_binding(&p.tenant, &agent, http_binding(None), T0, &by()).await;
    assert!(matches!(missing, Err(Error::NotFound)), "no agent with that address yet");
    let sa =
        store.create_service_account(&p.tenant, account(&p, "switcher", "switcher"), &by()).await.unwrap();
    assert!(matches!(
        store.set_agent_binding(&q.tenant, &address(&q, "switcher"), http_binding(None), T0, &by()).await,
        Err(Error::NotFound)
    ));

    let bound = store
        .set_agent_binding(&p.tenant, &agent, http_binding(Some(30)), T0.plus_seconds(1), &by())
        .await
        .unwrap();
    assert_eq!(bound.service_account_id, sa.service_account_id);
    assert_eq!(bound.delivery_mode, Binding::Http);
    assert_eq!(bound.lease_seconds, Some(30));
    assert_eq!(bound.updated_at, T0.plus_seconds(1));
    let config = bound.delivery_config.clone().expect("the http binding has a config");
    assert_eq!(config.get("url"), Some(&json!(URL)));
    assert!(!config.contains_key("secret"), "the secret is never shown again");
    assert_eq!(store.find_agent(&p.tenant, &agent).await.unwrap().as_ref(), Some(&bound));
    assert_eq!(store.get_service_account(&p.tenant, sa.service_account_id).await.unwrap(), bound);

    let polled = BindingUpdate { delivery_mode: Binding::Poll, push: None, lease_seconds: None };
    let poll = store.set_agent_binding(&p.tenant, &agent, polled, T0.plus_seconds(2), &by()).await.unwrap();
    assert_eq!((poll.delivery_mode, poll.lease_seconds), (Binding::Poll, None));
    assert!(poll.delivery_config.is_none());
    let queued = create(store, &p, new_intent(&p, "switcher")).await;
    assert!(
        store.list_deliveries(&p.tenant, None, 100).await.unwrap().is_empty(),
        "poll agents are not pushed"
    );
    assert_eq!(store.get_intent(&p.tenant, queued).await.unwrap().status, Status::Submitted);

    store.set_agent_binding(&p.tenant, &agent, http_binding(None), T0.plus_seconds(3), &by()).await.unwrap();
    let at = T0.plus_seconds(4);
    let pushed = create(store, &p, new_intent_at(&p, "switcher", at)).await;
    let d = delivery_of(store, &p, pushed).await;
    assert_eq!((d.kind, d.transport_type.as_str()), (DeliveryKind::AgentPush, "http"));
    assert_eq!((d.status, d.attempt, d.next_attempt_at), (DeliveryStatus::Pending, 0, Some(at)));
    assert_eq!((d.target.as_str(), d.url.as_str()), (agent.as_str(), URL));
    assert_eq!((d.workspace_id, d.org_id), (p.tenant.workspace_id, p.tenant.org_id));
    assert!(d.attempts.is_empty() && d.event_id.is_none() && d.subscription_id.is_none());
    assert!(!d.message_id.is_empty());
    assert_eq!(d.payload["intent_id"], json!(pushed));
    assert_eq!(d.payload["status"], "DELIVERED", "the frame the agent will receive");
    assert_eq!(d.created_at, at);
    assert_eq!(store.list_deliveries(&p.tenant, None, 100).await.unwrap().len(), 1, "only the http intent");
    let due = store.next_delivery_due().await.unwrap().expect("a pending delivery");
    assert!(due <= at);
    assert!(store.list_deliveries(&q.tenant, None, 100).await.unwrap().is_empty());
    assert!(matches!(store.get_delivery(&q.tenant, d.delivery_id).await, Err(Error::NotFound)));
    // Leave nothing due for later stories' claims.
    store
        .execute(
            &p.tenant,
            pushed,
            request(Command::Resolve(Resolution::Canceled("done".into()))),
            at,
            None,
            &by(),
        )
        .await
        .unwrap();
    claim(store, &p, at, at.plus_seconds(30)).await;
    assert_eq!(store.get_delivery(&p.tenant, d.delivery_id).await.unwrap().status, DeliveryStatus::Failed);
}

/// Push deliveries of an `http` agent: claimed when due (with the agent's secret), delivered
/// (the intent is delivered with the agent's lease; an inline result completes it), failed
/// with a retry, dead-lettered, failed because the intent ended, reclaimed when an attempt
/// never reported back; listed newest first; replayed.
pub async fn push_deliveries(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (q, _) = tenant(store).await;
    let mut new = account(&p, "pusher", "pusher");
    new.delivery_mode = Binding::Http;
    new.push = Some(PushEndpoint { url: URL.into(), secret: SECRET.into() });
    new.lease_seconds = Some(30);
    store.create_service_account(&p.tenant, new, &by()).await.unwrap();
    let agent = address(&p, "pusher");

    // a: delivered; b: retried, then dead-lettered; c: one attempt allowed, fails the intent;
    // d: delivered with an inline result; e: intent canceled before the claim; f: never reported.
    let mut ids = Vec::new();
    for i in 0..6 {
        let (mut intent, events) = new_intent_at(&p, "pusher", after_ms(i));
        if i == 2 {
            intent.max_delivery_attempts = Some(1);
        }
        ids.push(create(store, &p, (intent, events)).await);
    }
    let [a, b, c, d, e, f] = ids.clone().try_into().unwrap();
    let due = store.next_delivery_due().await.unwrap().expect("pending deliveries");
    assert!(due <= T0);
    assert!(claim(store, &p, after_ms(-1), T0.plus_seconds(30)).await.is_empty(), "not due yet");
    store
        .execute(&p.tenant, e, request(Command::Resolve(Resolution::Canceled("x".into()))), T0, None, &by())
        .await
        .unwrap();

    let t1 = T0.plus_seconds(1);
    let jobs = claim(store, &p, t1, T0.plus_seconds(31)).await;
    let job_intents: Vec<IntentId> = jobs
        .iter()
        .map(|j| serde_json::from_str::<serde_json::Value>(&j.body).unwrap()["intent_id"].clone())
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    assert_eq!(job_intents, [a, b, c, d, f], "due ones, earliest first; the ended intent's is not sent");
    for job in &jobs {
        let stored = store.get_delivery(&p.tenant, job.delivery_id).await.unwrap();
        assert_eq!((job.kind, job.attempt), (DeliveryKind::AgentPush, 1));
        assert_eq!((job.url.as_str(), job.secret.as_str()), (URL, SECRET));
        assert_eq!(job.message_id, stored.message_id);
        assert_eq!(serde_json::from_str::<serde_json::Value>(&job.body).unwrap(), stored.payload);
        assert_eq!(stored.status, DeliveryStatus::Delivering);
    }
    let ended = delivery_of(store, &p, e).await;
    assert_eq!((ended.status, ended.next_attempt_at), (DeliveryStatus::Failed, None));
    assert!(ended.error_detail.is_some(), "says why");
    assert!(claim(store, &p, t1, T0.plus_seconds(31)).await.is_empty(), "claimed once");

    let t2 = T0.plus_seconds(2);
    let job = |id: IntentId| jobs[job_intents.iter().position(|x| *x == id).unwrap()].delivery_id;
    store.record_attempt(p.tenant.workspace_id, job(a), report(1, t2, Some(200), None)).await.unwrap();
    let mut inline = report(1, t2, Some(200), None);
    inline.inline_result = Some(json!({"answer": 42}));
    store.record_attempt(p.tenant.workspace_id, job(d), inline).await.unwrap();
    let retry = T0.plus_seconds(10);
    store.record_attempt(p.tenant.workspace_id, job(b), report(1, t2, Some(503), Some(retry))).await.unwrap();
    store.record_attempt(p.tenant.workspace_id, job(c), report(1, t2, Some(503), Some(retry))).await.unwrap();
    let foreign = store.record_attempt(q.tenant.workspace_id, job(f), report(1, t2, Some(200), None)).await;
    assert!(matches!(foreign, Err(Error::NotFound)), "another workspace's delivery");
    let unknown = store.record_attempt(p.tenant.workspace_id, DeliveryId::new(), report(1, t2, None, None));
    assert!(matches!(unknown.await, Err(Error::NotFound)));

    let delivered = store.get_delivery(&p.tenant, job(a)).await.unwrap();
    assert_eq!(
        (delivered.status, delivered.attempt, delivered.next_attempt_at),
        (DeliveryStatus::Delivered, 1, None)
    );
    assert_eq!(delivered.last_response_code, Some(200));
    assert_eq!(delivered.attempts, [report(1, t2, Some(200), None).attempt]);
    let intent = store.get_intent(&p.tenant, a).await.unwrap();
    assert_eq!((intent.status, intent.delivery_attempt), (Status::Delivered, 1));
    assert_eq!(intent.lease_expires_at, Some(t2.plus_seconds(30)), "the agent's lease");
    let events = store.events_since(&p.tenant, a, 0, 100).await.unwrap();
    let delivered_event = events.iter().find(|e| e.event_type == EventType::Delivered).expect("delivered");
    assert_eq!(delivered_event.handler, agent.as_str());
    // The pushed queue item counts as handed: reading the queue shows it without delivering again.
    let read = store.deliver_to_agent(&p.tenant, &agent, 0, &[Status::Delivered], 100, t2).await.unwrap();
    assert_eq!(read.iter().map(|r| r.intent_id).collect::<Vec<_>>(), [a]);
    assert_eq!(store.events_since(&p.tenant, a, 0, 100).await.unwrap().len(), events.len());

    let completed = store.get_intent(&p.tenant, d).await.unwrap();
    assert_eq!(completed.status, Status::Completed, "an inline result completes the intent");
    assert_eq!(completed.result, Some(json!({"answer": 42})));

    let retried = store.get_delivery(&p.tenant, job(b)).await.unwrap();
    assert_eq!((retried.status, retried.next_attempt_at), (DeliveryStatus::Pending, Some(retry)));
    assert_eq!((retried.attempt, retried.last_response_code), (1, Some(503)));
    assert_eq!(retried.error_detail.as_deref(), Some("attempt 1 failed"));
    let waiting = store.get_intent(&p.tenant, b).await.unwrap();
    assert_eq!(
        (waiting.status, waiting.delivery_attempt),
        (Status::Submitted, 1),
        "a failed push is counted"
    );

    let spent = store.get_delivery(&p.tenant, job(c)).await.unwrap();
    assert_eq!((spent.status, spent.next_attempt_at), (DeliveryStatus::Failed, None), "its intent failed");
    assert_eq!(store.get_intent(&p.tenant, c).await.unwrap().status, Status::Failed);
    let last = store.events_since(&p.tenant, c, 0, 100).await.unwrap().pop().unwrap();
    assert_eq!(last.event_type, EventType::DeliveryFailed);

    let due = store.next_delivery_due().await.unwrap().expect("b's retry is pending");
    assert!(due <= retry);
    assert!(
        claim(store, &p, T0.plus_seconds(9), T0.plus_seconds(39)).await.is_empty(),
        "b not due, f claimed"
    );
    let second = claim(store, &p, retry, T0.plus_seconds(40)).await;
    assert_eq!(second.iter().map(|j| (j.delivery_id, j.attempt)).collect::<Vec<_>>(), [(job(b), 2)]);
    assert_eq!(second[0].message_id, retried.message_id, "the same webhook-id on every attempt");
    store.record_attempt(p.tenant.workspace_id, job(b), report(2, retry, None, None)).await.unwrap();
    let dead = store.get_delivery(&p.tenant, job(b)).await.unwrap();
    assert_eq!((dead.status, dead.attempt, dead.next_attempt_at), (DeliveryStatus::DeadLettered, 2, None));
    assert_eq!(dead.attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(dead.last_response_code, None);
    assert_eq!(store.get_intent(&p.tenant, b).await.unwrap().delivery_attempt, 2);

    // f's attempt never reported: its claim runs out and it is taken again, as the same attempt.
    assert!(claim(store, &p, T0.plus_seconds(30), T0.plus_seconds(60)).await.is_empty());
    let again = claim(store, &p, T0.plus_seconds(31), T0.plus_seconds(61)).await;
    assert_eq!(again.iter().map(|j| (j.delivery_id, j.attempt)).collect::<Vec<_>>(), [(job(f), 1)]);
    store
        .record_attempt(p.tenant.workspace_id, job(f), report(1, T0.plus_seconds(32), Some(204), None))
        .await
        .unwrap();
    assert_eq!(store.get_intent(&p.tenant, f).await.unwrap().status, Status::Delivered);

    let all = store.list_deliveries(&p.tenant, None, 100).await.unwrap();
    let order: Vec<Option<IntentId>> = all.iter().map(|d| d.intent_id).collect();
    assert_eq!(order, [f, e, d, c, b, a].map(Some), "newest first");
    let tenant = &p.tenant;
    let status = |s| async move {
        let list = store.list_deliveries(tenant, Some(s), 100).await.unwrap();
        assert!(list.iter().all(|d| d.status == s));
        list.iter().map(|d| d.intent_id.unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(status(DeliveryStatus::Delivered).await, [f, d, a]);
    assert_eq!(status(DeliveryStatus::Failed).await, [e, c]);
    assert_eq!(status(DeliveryStatus::DeadLettered).await, [b]);
    assert!(status(DeliveryStatus::Pending).await.is_empty());
    assert_eq!(store.list_deliveries(&p.tenant, None, 2).await.unwrap().len(), 2);
    assert!(store.list_deliveries(&q.tenant, None, 100).await.unwrap().is_empty());
    assert!(matches!(store.get_delivery(&q.tenant, job(a)).await, Err(Error::NotFound)));
    assert!(matches!(store.get_delivery(&p.tenant, DeliveryId::new()).await, Err(Error::NotFound)));

    replays(store, &p, &q, &dead, [job(c), ended.delivery_id]).await;
}

/// A dead-lettered delivery replays as a new pending delivery with the same body and
/// `message_id`; replaying one still pending or delivering, or one whose intent ended, is a
/// conflict.
async fn replays(store: &dyn Store, p: &Principal, q: &Principal, dead: &Delivery, ended: [DeliveryId; 2]) {
    let now = T0.plus_seconds(100);
    let before = store.list_deliveries(&p.tenant, None, 100).await.unwrap().len();
    assert!(matches!(store.replay_delivery(&q.tenant, dead.delivery_id, now).await, Err(Error::NotFound)));
    assert!(matches!(store.replay_delivery(&p.tenant, DeliveryId::new(), now).await, Err(Error::NotFound)));
    for id in ended {
        let refused = store.replay_delivery(&p.tenant, id, now).await;
        assert!(matches!(refused, Err(Error::Conflict { .. })), "its intent has ended");
    }

    let replay = store.replay_delivery(&p.tenant, dead.delivery_id, now).await.unwrap();
    assert_ne!(replay.delivery_id, dead.delivery_id);
    assert_eq!(replay.replay_of_delivery_id, Some(dead.delivery_id));
    assert_eq!(
        (replay.status, replay.attempt, replay.next_attempt_at),
        (DeliveryStatus::Pending, 0, Some(now))
    );
    assert!(replay.attempts.is_empty());
    assert_eq!((&replay.message_id, &replay.payload), (&dead.message_id, &dead.payload));
    assert_eq!((replay.kind, replay.intent_id, &replay.url), (dead.kind, dead.intent_id, &dead.url));
    assert_eq!(replay.created_at, now);
    assert_eq!(store.get_delivery(&p.tenant, replay.delivery_id).await.unwrap(), replay);
    assert_eq!(store.get_delivery(&p.tenant, dead.delivery_id).await.unwrap(), *dead, "the original stays");
    let listed = store.list_deliveries(&p.tenant, None, 100).await.unwrap();
    assert_eq!(listed.len(), before + 1, "only the replay was added");
    assert_eq!(listed[0].delivery_id, replay.delivery_id, "newest first");

    let pending = store.replay_delivery(&p.tenant, replay.delivery_id, now).await;
    assert!(matches!(pending, Err(Error::Conflict { .. })), "still pending");
    let jobs = claim(store, p, now, now.plus_seconds(30)).await;
    assert_eq!(
        jobs.iter().map(|j| (j.delivery_id, j.attempt)).collect::<Vec<_>>(),
        [(replay.delivery_id, 1)]
    );
    assert_eq!(jobs[0].message_id, dead.message_id);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&jobs[0].body).unwrap(), dead.payload);
    let delivering = store.replay_delivery(&p.tenant, replay.delivery_id, now).await;
    assert!(matches!(delivering, Err(Error::Conflict { .. })), "still delivering");
    assert_eq!(store.list_deliveries(&p.tenant, None, 100).await.unwrap().len(), before + 1);
    store
        .record_attempt(p.tenant.workspace_id, replay.delivery_id, report(1, now, Some(200), None))
        .await
        .unwrap();
    let intent = store.get_intent(&p.tenant, dead.intent_id.unwrap()).await.unwrap();
    assert_eq!(intent.status, Status::Delivered, "the replay delivered the intent");
}

/// A claimed delivery deferred (a spent quota): pending again until the given time with no
/// attempt recorded on it or its intent, saying why; claimed then as the same first attempt.
/// Deferring a settled delivery changes nothing; another workspace's is not found.
pub async fn deferrals(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (q, _) = tenant(store).await;
    let mut new = account(&p, "deferred", "deferred");
    new.delivery_mode = Binding::Http;
    new.push = Some(PushEndpoint { url: URL.into(), secret: SECRET.into() });
    store.create_service_account(&p.tenant, new, &by()).await.unwrap();
    let at = T0.plus_seconds(200);
    let id = create(store, &p, new_intent_at(&p, "deferred", at)).await;
    let jobs = claim(store, &p, at, at.plus_seconds(30)).await;
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!((job.org_id, job.workspace_id, job.attempt), (p.tenant.org_id, p.tenant.workspace_id, 1));

    let until = T0.plus_seconds(86_400);
    let why = "deferred: quota".to_owned();
    let foreign = store.defer_delivery(q.tenant.workspace_id, job.delivery_id, until, why.clone(), at).await;
    assert!(matches!(foreign, Err(Error::NotFound)), "another workspace's delivery");
    let unknown =
        store.defer_delivery(p.tenant.workspace_id, DeliveryId::new(), until, why.clone(), at).await;
    assert!(matches!(unknown, Err(Error::NotFound)));
    store.defer_delivery(p.tenant.workspace_id, job.delivery_id, until, why.clone(), at).await.unwrap();
    let d = store.get_delivery(&p.tenant, job.delivery_id).await.unwrap();
    assert_eq!((d.status, d.attempt, d.next_attempt_at), (DeliveryStatus::Pending, 0, Some(until)));
    assert_eq!((d.error_detail.as_deref(), d.last_response_code), (Some(why.as_str()), None));
    assert!(d.attempts.is_empty(), "no attempt was made");
    let intent = store.get_intent(&p.tenant, id).await.unwrap();
    assert_eq!((intent.status, intent.delivery_attempt), (Status::Submitted, 0), "nothing counted");

    assert!(claim(store, &p, after_ms(86_399_999), until).await.is_empty(), "not before `until`");
    let again = claim(store, &p, until, until.plus_seconds(30)).await;
    assert_eq!(again.iter().map(|j| (j.delivery_id, j.attempt)).collect::<Vec<_>>(), [(job.delivery_id, 1)]);
    store
        .record_attempt(p.tenant.workspace_id, job.delivery_id, report(1, until, Some(200), None))
        .await
        .unwrap();
    store.defer_delivery(p.tenant.workspace_id, job.delivery_id, until, why, until).await.unwrap();
    let settled = store.get_delivery(&p.tenant, job.delivery_id).await.unwrap();
    assert_eq!((settled.status, settled.next_attempt_at), (DeliveryStatus::Delivered, None), "left alone");
    assert_eq!(store.get_intent(&p.tenant, id).await.unwrap().status, Status::Delivered);
}
