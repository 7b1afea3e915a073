//! The inbox: threads as each owner sees them, the changes feed, and owners' actions (reply,
//! delegate, decide, read, delete messages).

use axp_core::access::Acting;
use axp_core::delivery::Binding;
use axp_core::inbox::{Thread, ThreadAction, ThreadStatus};
use axp_core::lifecycle::{Command, LifecycleError, Resolution};
use axp_core::{IntentId, Status, WaitingReason};
use serde_json::json;

use super::{
    T0, account, acting, address, assert_increasing, by, create, human_task_intent, new_intent, request,
    tenant,
};
use crate::{Error, Principal, Store};

fn ids(threads: &[Thread]) -> Vec<IntentId> {
    threads.iter().map(|t| t.thread_id).collect()
}

/// The entries of `event_type` in a thread's timeline.
fn entries<'a>(thread: &'a Thread, event_type: &str) -> Vec<&'a axp_core::inbox::TimelineEntry> {
    thread.timeline.iter().filter(|e| e.event_type == event_type).collect()
}

/// Reads `owner`'s whole changes feed after `after`, in pages of `page`; returns the changes and
/// checks that cursors increase across pages and that the last page says nothing remains.
async fn feed(store: &dyn Store, p: &Principal, owner: &str, after: u64, page: u32) -> Vec<(u64, Thread)> {
    let mut out: Vec<(u64, Thread)> = Vec::new();
    let mut cursor = after;
    loop {
        let (changes, more) = store.thread_changes(&p.tenant, owner, cursor, page).await.unwrap();
        assert!(changes.len() <= page as usize, "at most `limit`");
        assert!(changes.iter().all(|(c, _)| *c > cursor), "only changes after the cursor");
        if more {
            assert_eq!(changes.len(), page as usize, "a page with more after it is full");
        }
        out.extend(changes);
        cursor = out.last().map_or(cursor, |(c, _)| *c);
        if !more {
            break;
        }
    }
    assert_increasing(&out.iter().map(|(c, _)| *c).collect::<Vec<_>>(), "inbox change cursors");
    let (rest, more) = store.thread_changes(&p.tenant, owner, cursor, page).await.unwrap();
    assert!(rest.is_empty() && !more, "nothing new after the highest cursor seen");
    out
}

/// Sender and recipient see the thread of every intent between them, newest change first;
/// others see nothing. The changes feed pages oldest change first with `has_more`, and a thread
/// appears once, at its latest change.
pub async fn threads_and_changes(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (q, _) = tenant(store).await;
    let owner = p.agent_address.as_str();
    let receiver = address(&p, "receiver");
    let mut sent = Vec::new();
    for _ in 0..3 {
        sent.push(create(store, &p, new_intent(&p, "receiver")).await);
    }
    let [i1, i2, i3] = sent.clone().try_into().unwrap();

    let mine = store.list_threads(&p.tenant, owner, None, 50).await.unwrap();
    assert_eq!(ids(&mine), [i3, i2, i1], "newest change first");
    for t in &mine {
        assert_eq!(t.intent_id, t.thread_id);
        assert_eq!((t.owner_agent.as_str(), t.from_agent.as_str()), (owner, owner));
        assert_eq!((t.to_agent.as_str(), t.intent_type.as_str()), (receiver.as_str(), "notify.message.v1"));
        assert_eq!(t.status, ThreadStatus::Pending);
        assert_eq!(t.timeline[0].event_type, "intent_received");
        assert!(t.timeline.iter().any(|e| e.event_type.starts_with("lifecycle.")));
        assert!(t.human_task.is_none() && t.last_message_at.is_none());
    }
    assert_eq!(ids(&store.list_threads(&p.tenant, owner, None, 2).await.unwrap()), [i3, i2]);
    let theirs = store.list_threads(&p.tenant, receiver.as_str(), None, 50).await.unwrap();
    assert_eq!(ids(&theirs), [i3, i2, i1], "the recipient sees them too");
    assert!(theirs.iter().all(|t| t.owner_agent == receiver.as_str()));
    let one = store.get_thread(&p.tenant, owner, i2).await.unwrap();
    assert_eq!(one, mine[1]);

    let stranger = address(&p, "stranger");
    assert!(store.list_threads(&p.tenant, stranger.as_str(), None, 50).await.unwrap().is_empty());
    assert!(matches!(store.get_thread(&p.tenant, stranger.as_str(), i1).await, Err(Error::NotFound)));
    assert!(matches!(store.get_thread(&p.tenant, owner, IntentId::new()).await, Err(Error::NotFound)));
    assert!(store.list_threads(&q.tenant, owner, None, 50).await.unwrap().is_empty(), "another workspace");
    assert!(matches!(store.get_thread(&q.tenant, owner, i1).await, Err(Error::NotFound)));
    assert_eq!(store.thread_changes(&q.tenant, owner, 0, 50).await.unwrap(), (Vec::new(), false));

    let (page, more) = store.thread_changes(&p.tenant, owner, 0, 2).await.unwrap();
    assert!(more, "a third change remains");
    assert_eq!(page.iter().map(|(_, t)| t.thread_id).collect::<Vec<_>>(), [i1, i2], "oldest change first");
    assert_eq!(page[0].1, mine[2], "each change carries the thread as the owner sees it");
    let all = feed(store, &p, owner, 0, 2).await;
    assert_eq!(all.iter().map(|(_, t)| t.thread_id).collect::<Vec<_>>(), [i1, i2, i3]);
    let highest = all.last().unwrap().0;

    // A reply by the recipient and a completion move those threads to the end of the feed.
    let reply = ThreadAction::Reply { message: "on it".into() };
    store
        .act_on_thread(&p.tenant, &acting(receiver.as_str()), i1, reply, T0.plus_seconds(1), &by())
        .await
        .unwrap();
    let done = request(Command::Resolve(Resolution::Completed(json!({"ok": true}))));
    store.execute(&p.tenant, i2, done, T0.plus_seconds(2), None, &by()).await.unwrap();
    let moved = feed(store, &p, owner, highest, 1).await;
    assert_eq!(moved.iter().map(|(_, t)| t.thread_id).collect::<Vec<_>>(), [i1, i2]);
    assert!(moved[0].0 > highest);
    let whole = feed(store, &p, owner, 0, 100).await;
    assert_eq!(
        whole.iter().map(|(_, t)| t.thread_id).collect::<Vec<_>>(),
        [i3, i1, i2],
        "a thread appears once, at its latest change"
    );
    assert_eq!(ids(&store.list_threads(&p.tenant, owner, None, 50).await.unwrap()), [i2, i1, i3]);

    let tenant = &p.tenant;
    let filtered = |s| async move { ids(&store.list_threads(tenant, owner, Some(s), 50).await.unwrap()) };
    assert_eq!(filtered(ThreadStatus::Done).await, [i2]);
    assert_eq!(filtered(ThreadStatus::Active).await, [i1], "someone replied");
    assert_eq!(filtered(ThreadStatus::Pending).await, [i3]);
    let t1 = store.get_thread(&p.tenant, owner, i1).await.unwrap();
    assert!(t1.unread, "changed by someone else since the owner last read it");
    assert_eq!(t1.last_message_at, Some(T0.plus_seconds(1)));
}

/// Replies, reads, deletions (for oneself or for everyone; never lifecycle entries),
/// delegation and a decision on a thread without a task.
pub async fn actions(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (q, _) = tenant(store).await;
    let owner = p.agent_address.as_str();
    let receiver = address(&p, "receiver");
    let receiver = receiver.as_str();
    let id = create(store, &p, new_intent(&p, "receiver")).await;
    let untouched = create(store, &p, new_intent(&p, "receiver")).await;
    let tenant = &p.tenant;
    let act = |who: &str, action: ThreadAction, at: i64| {
        let who = who.to_owned();
        async move { store.act_on_thread(tenant, &acting(&who), id, action, T0.plus_seconds(at), &by()).await }
    };

    let (mine, deleted) = act(owner, ThreadAction::Reply { message: "first".into() }, 1).await.unwrap();
    assert!(deleted.is_empty());
    assert_eq!(mine.status, ThreadStatus::Active);
    let first = entries(&mine, "reply")[0].clone();
    assert_eq!((first.actor.as_str(), first.at), (owner, T0.plus_seconds(1)));
    assert_eq!(first.details["message"], "first");
    assert_eq!(mine.last_message_at, Some(T0.plus_seconds(1)));
    assert!(store.get_thread(&p.tenant, receiver, id).await.unwrap().unread, "the others have not");
    let (theirs, _) = act(receiver, ThreadAction::Reply { message: "second".into() }, 2).await.unwrap();
    let second = entries(&theirs, "reply")[1].clone();
    assert_eq!((second.actor.as_str(), &second.details["message"]), (receiver, &json!("second")));

    let (read, _) = act(receiver, ThreadAction::Read, 3).await.unwrap();
    assert!(!read.unread);
    assert_eq!(read.status, ThreadStatus::Active);
    let (pending, _) = store
        .act_on_thread(&p.tenant, &acting(receiver), untouched, ThreadAction::Read, T0.plus_seconds(3), &by())
        .await
        .unwrap();
    assert_eq!((pending.status, pending.unread), (ThreadStatus::Pending, false), "reading is not acting");

    let lifecycle = mine.timeline.iter().filter(|e| !e.is_message()).count();
    let newest = ThreadAction::DeleteMessages { both: false, message_ids: Vec::new(), limit: 1 };
    let (mine, deleted) = act(owner, newest, 4).await.unwrap();
    assert_eq!(deleted, [second.event_id.to_string()], "the newest message");
    assert_eq!(entries(&mine, "reply").iter().map(|e| e.event_id).collect::<Vec<_>>(), [first.event_id]);
    let theirs = store.get_thread(&p.tenant, receiver, id).await.unwrap();
    assert_eq!(entries(&theirs, "reply").len(), 2, "`self` hides it for the owner only");

    let not_messages: Vec<String> = theirs.timeline.iter().map(|e| e.event_id.to_string()).collect();
    let lifecycle_only: Vec<String> = not_messages
        .into_iter()
        .filter(|e| *e != first.event_id.to_string() && *e != second.event_id.to_string())
        .collect();
    let refused = ThreadAction::DeleteMessages { both: true, message_ids: lifecycle_only, limit: 100 };
    let (_, deleted) = act(receiver, refused, 5).await.unwrap();
    assert!(deleted.is_empty(), "lifecycle and system entries are never deleted");
    let everyone = ThreadAction::DeleteMessages {
        both: true,
        message_ids: vec![first.event_id.to_string()],
        limit: 100,
    };
    let (theirs, deleted) = act(receiver, everyone, 5).await.unwrap();
    assert_eq!(deleted, [first.event_id.to_string()]);
    assert_eq!(entries(&theirs, "reply").iter().map(|e| e.event_id).collect::<Vec<_>>(), [second.event_id]);
    let mine = store.get_thread(&p.tenant, owner, id).await.unwrap();
    assert!(entries(&mine, "reply").is_empty(), "`both` deletes it for everyone");
    assert!(mine.timeline.iter().filter(|e| !e.is_message()).count() >= lifecycle, "nothing else went");
    assert_eq!(mine.timeline[0].event_type, "intent_received");

    let helper = address(&p, "helper");
    let delegate = ThreadAction::Delegate { to: helper.to_string(), note: Some("please".into()) };
    let (mine, _) = act(owner, delegate, 6).await.unwrap();
    let delegated = entries(&mine, "delegated");
    assert_eq!(delegated.len(), 1);
    assert_eq!(delegated[0].details["delegate_to"], helper.as_str());
    let joined = store.get_thread(&p.tenant, helper.as_str(), id).await.unwrap();
    assert_eq!(joined.owner_agent, helper.as_str());
    assert_eq!(ids(&store.list_threads(&p.tenant, helper.as_str(), None, 50).await.unwrap()), [id]);
    assert_eq!(feed(store, &p, helper.as_str(), 0, 10).await.len(), 1, "the delegate's feed has it");
    assert_eq!(store.get_intent(&p.tenant, id).await.unwrap().status, Status::Submitted, "no task to move");

    let decide = ThreadAction::Decide { approve: true, comment: Some("lgtm".into()) };
    let (mine, _) = act(owner, decide, 7).await.unwrap();
    let approved = entries(&mine, "approved");
    assert_eq!((approved.len(), &approved[0].details["comment"]), (1, &json!("lgtm")));
    assert_eq!(store.get_intent(&p.tenant, id).await.unwrap().status, Status::Submitted, "no task to answer");

    let stranger = address(&p, "stranger");
    let nobody = act(stranger.as_str(), ThreadAction::Reply { message: "hi".into() }, 8).await;
    assert!(matches!(nobody, Err(Error::NotFound)), "only those who can see it act on it");
    let unknown =
        store.act_on_thread(&p.tenant, &acting(owner), IntentId::new(), ThreadAction::Read, T0, &by()).await;
    assert!(matches!(unknown, Err(Error::NotFound)));
    let foreign = store
        .act_on_thread(&q.tenant, &acting(owner), id, ThreadAction::Reply { message: "x".into() }, T0, &by())
        .await;
    assert!(matches!(foreign, Err(Error::NotFound)));
    assert!(entries(&store.get_thread(&p.tenant, owner, id).await.unwrap(), "reply").is_empty());
}

/// An intent to an `inbox` agent becomes that person's task, not a queue item; delegating moves
/// the task; a decision answers it (and an invalid one writes nothing).
pub async fn human_tasks(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let owner = p.agent_address.as_str();
    let mut person = account(&p, "approver", "approver");
    person.delivery_mode = Binding::Inbox;
    store.create_service_account(&p.tenant, person, &by()).await.unwrap();
    let approver = address(&p, "approver");
    let id = create(store, &p, new_intent(&p, "approver")).await;
    let intent = store.get_intent(&p.tenant, id).await.unwrap();
    assert_eq!(
        (intent.status, intent.waiting_reason),
        (Status::Waiting, Some(WaitingReason::WaitingForHuman))
    );
    assert_eq!(intent.pending_with.as_ref().map(|w| w.reference.as_str()), Some(approver.as_str()));
    assert!(
        store.deliver_to_agent(&p.tenant, &approver, 0, &Status::ALL, 100, T0).await.unwrap().is_empty(),
        "a person's intent is not queued"
    );
    let thread = store.get_thread(&p.tenant, approver.as_str(), id).await.unwrap();
    assert!(thread.human_task.is_some(), "the open task is shown");

    let boss = "boss@example.com";
    let delegate = ThreadAction::Delegate { to: boss.into(), note: None };
    store
        .act_on_thread(&p.tenant, &acting(approver.as_str()), id, delegate, T0.plus_seconds(1), &by())
        .await
        .unwrap();
    let moved = store.get_intent(&p.tenant, id).await.unwrap();
    assert_eq!(moved.pending_with.as_ref().map(|w| w.reference.as_str()), Some(boss), "the task moves");
    assert_eq!(moved.human_task.as_ref().unwrap()["assignees"], json!([boss]));
    let decide = ThreadAction::Decide { approve: true, comment: Some("fine".into()) };
    let (done, _) =
        store.act_on_thread(&p.tenant, &acting(boss), id, decide, T0.plus_seconds(2), &by()).await.unwrap();
    assert_eq!(done.status, ThreadStatus::Done);
    assert!(done.human_task.is_none(), "no open task once answered");
    let answered = store.get_intent(&p.tenant, id).await.unwrap();
    assert_eq!(answered.status, Status::Completed);
    let result = answered.result.expect("the task result");
    assert_eq!(
        (&result["task_result"]["outcome"], &result["task_result"]["comment"]),
        (&json!("approved"), &json!("fine"))
    );

    let task = json!({"title": "Why?", "task_type": "approval", "required_comment": true});
    let strict = create(store, &p, human_task_intent(&p, "nobody", task)).await;
    let before = store.get_thread(&p.tenant, owner, strict).await.unwrap();
    let events = store.events_since(&p.tenant, strict, 0, 100).await.unwrap().len();
    let bare = ThreadAction::Decide { approve: false, comment: None };
    // The requester decides only with an admin role (the tenant's admin has one).
    let requester =
        store.act_on_thread(&p.tenant, &acting(owner), strict, bare.clone(), T0.plus_seconds(3), &by()).await;
    assert!(matches!(requester, Err(Error::Lifecycle(LifecycleError::NotADecider { .. }))), "{requester:?}");
    let admin = Acting::new(owner, p.roles);
    let invalid = store.act_on_thread(&p.tenant, &admin, strict, bare, T0.plus_seconds(3), &by()).await;
    assert!(matches!(invalid, Err(Error::Lifecycle(LifecycleError::TaskResult(_)))), "a comment is required");
    assert_eq!(store.get_thread(&p.tenant, owner, strict).await.unwrap(), before, "nothing written");
    assert_eq!(store.events_since(&p.tenant, strict, 0, 100).await.unwrap().len(), events);
    let reasoned = ThreadAction::Decide { approve: false, comment: Some("too much".into()) };
    store.act_on_thread(&p.tenant, &admin, strict, reasoned, T0.plus_seconds(4), &by()).await.unwrap();
    let rejected = store.get_intent(&p.tenant, strict).await.unwrap();
    assert_eq!(rejected.result.unwrap()["task_result"]["outcome"], "rejected");
}
