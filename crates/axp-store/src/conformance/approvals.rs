//! Approvals (§5.2): an upsert by id; an id of an intent waiting for a person answers its task.

use axp_core::access::Acting;
use axp_core::{ApprovalId, Status};
use serde_json::json;

use super::{T0, by, create, human_task_intent, new_intent, tenant};
use crate::{Error, Store};

/// The first decision is recorded; the same one again returns that record; a different one is
/// a conflict. Deciding an intent's id answers its open human task; approvals are per
/// workspace.
pub async fn approvals(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (q, _) = tenant(store).await;
    let actor = &Acting::new(p.agent_address.as_str(), p.roles);
    let by = by();
    let id = ApprovalId(uuid::Uuid::new_v4());
    let first = store.decide_approval(&p.tenant, id, true, Some("ok".into()), actor, T0, &by).await.unwrap();
    assert_eq!((first.approval_id, first.decision.as_str()), (id, "approve"));
    assert_eq!((first.comment.as_deref(), first.decided_at), (Some("ok"), T0));
    let again =
        store.decide_approval(&p.tenant, id, true, Some("other".into()), actor, T0.plus_seconds(5), &by);
    assert_eq!(again.await.unwrap(), first, "the same decision again returns the first record");
    let changed = store.decide_approval(&p.tenant, id, false, None, actor, T0.plus_seconds(6), &by).await;
    assert!(matches!(changed, Err(Error::Conflict { .. })), "a different decision");
    assert_eq!(store.decide_approval(&p.tenant, id, true, None, actor, T0, &by).await.unwrap(), first);
    let elsewhere = store.decide_approval(&q.tenant, id, false, None, actor, T0, &by).await.unwrap();
    assert_eq!(elsewhere.decision, "reject", "another workspace decides its own approval");

    let task =
        json!({"title": "Approve 120 EUR", "task_type": "approval", "assignees": ["boss@example.com"]});
    let waiting = create(store, &p, human_task_intent(&p, "approver-desk", task.clone())).await;
    assert_eq!(store.get_intent(&p.tenant, waiting).await.unwrap().status, Status::Waiting);
    let events = store.events_since(&p.tenant, waiting, 0, 100).await.unwrap().len();
    store.decide_approval(&q.tenant, ApprovalId(waiting.0), false, None, actor, T0, &by).await.unwrap();
    assert_eq!(
        store.get_intent(&p.tenant, waiting).await.unwrap().status,
        Status::Waiting,
        "another workspace's approval does not touch this intent"
    );
    assert_eq!(store.events_since(&p.tenant, waiting, 0, 100).await.unwrap().len(), events);

    let at = T0.plus_seconds(10);
    let decided =
        store.decide_approval(&p.tenant, ApprovalId(waiting.0), true, Some("fine".into()), actor, at, &by);
    let decided = decided.await.unwrap();
    assert_eq!((decided.approval_id, decided.decision.as_str()), (ApprovalId(waiting.0), "approve"));
    let intent = store.get_intent(&p.tenant, waiting).await.unwrap();
    assert_eq!(intent.status, Status::Completed, "the approval answered the task");
    let result = intent.result.expect("the task result");
    assert_eq!(
        (&result["task_result"]["outcome"], &result["task_result"]["comment"]),
        (&json!("approved"), &json!("fine"))
    );
    let after = store.events_since(&p.tenant, waiting, 0, 100).await.unwrap();
    assert_eq!(after.last().unwrap().actor, actor.address(), "decided by the actor");
    let same =
        store.decide_approval(&p.tenant, ApprovalId(waiting.0), true, None, actor, at.plus_seconds(1), &by);
    assert_eq!(same.await.unwrap(), decided);
    let other = store
        .decide_approval(&p.tenant, ApprovalId(waiting.0), false, None, actor, at.plus_seconds(1), &by)
        .await;
    assert!(matches!(other, Err(Error::Conflict { .. })));
    assert_eq!(
        store.events_since(&p.tenant, waiting, 0, 100).await.unwrap().len(),
        after.len(),
        "nothing more"
    );

    let refused = create(store, &p, human_task_intent(&p, "approver-desk", task)).await;
    store
        .decide_approval(&p.tenant, ApprovalId(refused.0), false, Some("no".into()), actor, at, &by)
        .await
        .unwrap();
    let intent = store.get_intent(&p.tenant, refused).await.unwrap();
    assert_eq!(intent.result.unwrap()["task_result"]["outcome"], "rejected");

    // An intent that waits for no one is left alone.
    let plain = create(store, &p, new_intent(&p, "bot")).await;
    store.decide_approval(&p.tenant, ApprovalId(plain.0), true, None, actor, at, &by).await.unwrap();
    assert_eq!(store.get_intent(&p.tenant, plain).await.unwrap().status, Status::Submitted);
    assert_eq!(store.events_since(&p.tenant, plain, 0, 100).await.unwrap().len(), 2);
}
