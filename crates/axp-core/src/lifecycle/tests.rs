use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::*;
use crate::access::{Acting, Role, Roles};
use crate::address::{AddressScope, AgentAddress};
use crate::ids::IntentId;
use crate::intent::NewIntent;
use crate::timer::TimerKind;

const SCOPE: AddressScope<'static> = AddressScope { org_slug: "o", workspace_slug: "w" };

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn new_intent(human: bool) -> (Intent, Vec<IntentEvent>) {
    let to = AgentAddress::parse("bot", &SCOPE).unwrap();
    let mut new = NewIntent::new("a.b.v1", to.clone(), Map::new());
    if human {
        new.human_task = Some(obj(json!({"title": "t", "task_type": "approval"})));
    }
    new.into_intent(IntentId::new(), &to, Timestamp::from_millis(0))
}

fn req(command: Command) -> Request {
    Request { command, caller: None, actor: "agent://o/w/caller".into(), expected_policy_generation: None }
}

fn arb_command() -> impl Strategy<Value = (Command, Option<u64>)> {
    let command = prop_oneof![
        Just(Command::Deliver { handler: "agent://o/w/bot".into(), agent_lease_seconds: Some(30) }),
        Just(Command::Deliver { handler: "agent://o/w/bot".into(), agent_lease_seconds: None }),
        Just(Command::Fire(TimerKind::Deadline)),
        Just(Command::PushFailed { error: json!({"status": 503}) }),
        Just(Command::AssignHumanTask { assignee: "agent://o/w/person".into() }),
        Just(Command::Delegate { to: "deputy@example.com".into() }),
        (0u32..4).prop_map(|attempt| Command::Fire(TimerKind::LeaseExpiry { attempt })),
        Just(Command::Resolve(Resolution::Completed(json!({"ok": true})))),
        Just(Command::Resolve(Resolution::Failed(json!({"code": "x"})))),
        Just(Command::Resolve(Resolution::Canceled("stop".into()))),
        Just(Command::Resume(Map::new())),
        Just(Command::Resume(obj(json!({"approve_current_step": true, "reason": "go"})))),
        Just(Command::Resume(obj(json!({"action": "acknowledge"})))),
        Just(Command::Resume(obj(json!({"action": "complete", "report_url": "u"})))),
        Just(Command::Resume(obj(json!({"action": "fail"})))),
        Just(Command::Resume(obj(json!({"task_result": {"outcome": "approved"}})))),
        Just(Command::Resume(obj(json!({"task_result": {"outcome": "nope"}})))),
        Just(Command::UpdateControls(obj(json!({"timeout_seconds": 5})))),
        Just(Command::UpdatePolicy {
            grants_patch: obj(json!({"g": {"allow": ["resume"]}})),
            envelope_patch: Map::new()
        }),
    ];
    (command, proptest::option::of(0u64..4))
}

/// Events that record a change without changing the status.
fn keeps_status(event: &IntentEvent) -> bool {
    matches!(
        event.event_type,
        EventType::Delivered | EventType::Reminder | EventType::Escalated | EventType::Transfer
    )
}

proptest! {
    /// No sequence of commands reaches an illegal state: every event is a legal step (strict
    /// graph, resolve's non-terminal → terminal, or a status-keeping redelivery), `seq` is
    /// gap-free and strictly increasing, WAITING always has a reason and nothing else does, a
    /// lease exists only while DELIVERED, attempts never exceed `max_delivery_attempts`, and
    /// terminal intents never change again.
    #[test]
    fn no_command_sequence_breaks_the_lifecycle(
        human in any::<bool>(),
        deadline in proptest::option::of(1i64..2_000),
        max_attempts in proptest::option::of(1u32..4),
        commands in proptest::collection::vec((arb_command(), 0i64..90), 0..32),
    ) {
        let (mut intent, first) = new_intent(human);
        intent.deadline_at = deadline.map(|s| Timestamp::from_millis(0).plus_seconds(s));
        intent.max_delivery_attempts = max_attempts;
        let mut history = first;
        let mut now = Timestamp::from_millis(0);
        for ((command, expected), step) in commands {
            now = now.plus_seconds(step);
            let before = intent.clone();
            let request = Request { expected_policy_generation: expected, ..req(command) };
            match execute(&mut intent, &request, now) {
                Ok(outcome) => {
                    prop_assert!(!before.status.is_terminal());
                    let mut prev = before.status;
                    for event in &outcome.events {
                        let legal = prev.can_become(event.status)
                            || (event.status.is_terminal() && !prev.is_terminal())
                            || (keeps_status(event) && prev == event.status);
                        prop_assert!(legal, "{} -> {} ({})", prev, event.status, event.event_type);
                        prev = event.status;
                    }
                    prop_assert_eq!(prev, intent.status);
                    if outcome.route {
                        prop_assert_eq!(intent.status, Status::Delivered);
                    }
                    history.extend(outcome.events);
                }
                Err(_) => prop_assert_eq!(&intent, &before),
            }
            prop_assert_eq!(intent.waiting_reason.is_some(), intent.status == Status::Waiting);
            prop_assert!(intent.lease_expires_at.is_none() || intent.status == Status::Delivered);
            if let Some(max) = intent.max_delivery_attempts {
                prop_assert!(intent.delivery_attempt <= max);
            }
        }
        for (i, event) in history.iter().enumerate() {
            prop_assert_eq!(event.seq, i as u64 + 1);
        }
        prop_assert_eq!(intent.last_seq, history.len() as u64);
        let terminal_events = history.iter().filter(|e| e.is_terminal()).count();
        prop_assert!(terminal_events <= 1);
        if let Some(pos) = history.iter().position(|e| e.is_terminal()) {
            prop_assert_eq!(pos, history.len() - 1);
        }
    }
}

#[test]
fn resolve_twice_is_refused() {
    let (mut intent, _) = new_intent(false);
    let outcome = execute(
        &mut intent,
        &req(Command::Resolve(Resolution::Completed(json!({"ok": true})))),
        Timestamp::from_millis(1),
    )
    .unwrap();
    assert_eq!(outcome.events[0].event_type, EventType::Completed);
    assert_eq!(outcome.events[0].status, Status::Completed);
    let err = execute(
        &mut intent,
        &req(Command::Resolve(Resolution::Canceled("late".into()))),
        Timestamp::from_millis(2),
    )
    .unwrap_err();
    assert_eq!(err, LifecycleError::Terminal(Status::Completed));
}

#[test]
fn control_only_resume_never_terminates() {
    let (mut intent, _) = new_intent(false);
    let body = obj(json!({"approve_current_step": true, "reason": "go"}));
    let outcome =
        execute(&mut intent, &req(Command::Resume(body.clone())), Timestamp::from_millis(1)).unwrap();
    assert_eq!(intent.status, Status::InProgress);
    assert_eq!(outcome.events.len(), 1);
    let again = execute(&mut intent, &req(Command::Resume(body)), Timestamp::from_millis(2)).unwrap();
    assert!(again.applied && again.events.is_empty());
    assert_eq!(intent.status, Status::InProgress);
}

#[test]
fn agent_result_completes_through_in_progress() {
    let (mut intent, _) = new_intent(false);
    execute(
        &mut intent,
        &req(Command::Deliver { handler: "agent://o/w/bot".into(), agent_lease_seconds: None }),
        Timestamp::from_millis(1),
    )
    .unwrap();
    let body = obj(json!({"action": "complete", "report_url": "u", "reason": "done"}));
    let outcome = execute(&mut intent, &req(Command::Resume(body)), Timestamp::from_millis(2)).unwrap();
    let types: Vec<_> = outcome.events.iter().map(|e| e.event_type).collect();
    assert_eq!(types, [EventType::InProgress, EventType::Completed]);
    assert_eq!(intent.result, Some(json!({"action": "complete", "report_url": "u"})));
    assert_eq!(intent.last_seq, 5);
}

#[test]
fn stale_generation_is_refused() {
    let (mut intent, _) = new_intent(false);
    let mut r = req(Command::UpdateControls(obj(json!({"timeout_seconds": 5}))));
    r.expected_policy_generation = Some(0);
    let outcome = execute(&mut intent, &r, Timestamp::from_millis(1)).unwrap();
    assert!(outcome.events.is_empty());
    assert_eq!(intent.policy_generation, 1);
    let err = execute(&mut intent, &r, Timestamp::from_millis(2)).unwrap_err();
    assert_eq!(err, LifecycleError::StaleGeneration { expected: 0, current: 1 });
}

#[test]
fn task_result_is_validated_and_completes() {
    let (mut intent, _) = new_intent(true);
    let bad = obj(json!({"task_result": {"outcome": "maybe"}}));
    assert!(matches!(
        execute(&mut intent, &req(Command::Resume(bad)), Timestamp::from_millis(1)),
        Err(LifecycleError::TaskResult(_))
    ));
    assert_eq!(intent.status, Status::Waiting);
    let good = obj(json!({"task_result": {"outcome": "approved"}}));
    execute(&mut intent, &req(Command::Resume(good)), Timestamp::from_millis(2)).unwrap();
    assert_eq!(intent.status, Status::Completed);
}

#[test]
fn third_parties_need_a_grant() {
    let (mut intent, _) = new_intent(false);
    let outsider = Request {
        caller: Some(Acting::new("agent://o/w/outsider", Roles::NONE)),
        ..req(Command::Resume(Map::new()))
    };
    let err = execute(&mut intent, &outsider, Timestamp::from_millis(1)).unwrap_err();
    assert!(matches!(err, LifecycleError::Forbidden { action: "resume", .. }));
    assert_eq!(intent.status, Status::Submitted);

    let target = Request {
        caller: Some(Acting::new(intent.to_agent.clone(), Roles::NONE)),
        ..req(Command::UpdatePolicy {
            grants_patch: obj(json!({"delegate:agent://o/w/outsider": {"allow": ["resume"]}})),
            envelope_patch: Map::new(),
        })
    };
    execute(&mut intent, &target, Timestamp::from_millis(2)).unwrap();
    execute(&mut intent, &outsider, Timestamp::from_millis(3)).expect("granted");
    let controls = Request {
        caller: Some(Acting::new("agent://o/w/outsider", Roles::NONE)),
        ..req(Command::UpdateControls(Map::new()))
    };
    assert!(matches!(
        execute(&mut intent, &controls, Timestamp::from_millis(4)),
        Err(LifecycleError::Forbidden { action: "update_controls", .. })
    ));
}

/// A resume answering `intent`'s task, by `address` with `roles`.
fn decision(address: &str, roles: Roles) -> Request {
    Request {
        caller: Some(Acting::new(address, roles)),
        ..req(Command::Resume(obj(json!({"task_result": {"outcome": "approved"}}))))
    }
}

#[test]
fn only_assignees_delegates_and_admins_decide_a_human_task() {
    let (mut intent, _) = new_intent(true);
    intent.from_agent = "agent://o/w/requester".into();
    let requester = intent.from_agent.clone();
    let target = intent.to_agent.clone();
    let refused = |address: &str, roles: Roles| {
        let mut copy = intent.clone();
        let err = execute(&mut copy, &decision(address, roles), Timestamp::from_millis(1)).unwrap_err();
        assert!(matches!(err, LifecycleError::NotADecider { .. }), "{address} {roles:?}: {err}");
        assert_eq!(copy, intent, "a refused decision changes nothing");
    };
    let allowed = |address: &str, roles: Roles| {
        let mut copy = intent.clone();
        execute(&mut copy, &decision(address, roles), Timestamp::from_millis(1)).expect(address);
        assert_eq!(copy.status, Status::Completed);
    };
    // The requester never decides its own task, not even as a member acting for anyone.
    refused(&requester, Roles::NONE);
    refused(&requester, Roles::of(Role::Member));
    refused("agent://o/w/outsider", Roles::of(Role::Member));
    refused("agent://o/w/outsider", Roles::of(Role::SecurityAuditor));
    // No assignees: the target decides; an admin always may.
    allowed(&target, Roles::NONE);
    allowed(&requester, Roles::of(Role::WorkspaceAdmin));
    allowed("agent://o/w/outsider", Roles::of(Role::OrgOwner));

    // Named assignees decide, the target then does not; a delegate grant and pending_with do.
    let mut assigned = intent.clone();
    let task = assigned.human_task.as_mut().unwrap();
    task.insert("assignees".into(), json!(["agent://o/w/alice"]));
    assigned.grants.insert("delegate:agent://o/w/bob".into(), json!({"allow": ["resume"]}));
    for (address, ok) in [("agent://o/w/alice", true), ("agent://o/w/bob", true), (target.as_str(), false)] {
        let mut copy = assigned.clone();
        let result = execute(&mut copy, &decision(address, Roles::NONE), Timestamp::from_millis(1));
        assert_eq!(result.is_ok(), ok, "{address}");
    }
    assigned.pending_with = Some(crate::PendingWith::agent("agent://o/w/carol"));
    let mut copy = assigned.clone();
    execute(&mut copy, &decision("agent://o/w/carol", Roles::NONE), Timestamp::from_millis(1))
        .expect("carol");
}

#[test]
fn an_unacknowledged_lease_redelivers_then_fails() {
    let (mut intent, _) = new_intent(false);
    intent.max_delivery_attempts = Some(2);
    let deliver =
        || req(Command::Deliver { handler: "agent://o/w/bot".into(), agent_lease_seconds: Some(10) });
    let first = execute(&mut intent, &deliver(), Timestamp::from_millis(0)).unwrap();
    assert_eq!(
        first.timers,
        [Timer { kind: TimerKind::LeaseExpiry { attempt: 1 }, due_at: Timestamp::from_millis(10_000) }]
    );
    let early = execute(
        &mut intent,
        &req(Command::Fire(TimerKind::LeaseExpiry { attempt: 1 })),
        Timestamp::from_millis(9_999),
    )
    .unwrap();
    assert!(!early.applied, "not due yet");
    let replay = execute(&mut intent, &deliver(), Timestamp::from_millis(5)).unwrap();
    assert!(!replay.applied, "a replayed frame does not re-lease");

    let expired = execute(
        &mut intent,
        &req(Command::Fire(TimerKind::LeaseExpiry { attempt: 1 })),
        Timestamp::from_millis(10_000),
    )
    .unwrap();
    assert!(expired.route && expired.events.is_empty());
    let second = execute(&mut intent, &deliver(), Timestamp::from_millis(11_000)).unwrap();
    assert_eq!(second.events[0].details["delivery_attempt"], 2);
    assert_eq!(second.events[0].details["redelivery"], true);
    assert_eq!(intent.status, Status::Delivered);

    let stale = execute(
        &mut intent,
        &req(Command::Fire(TimerKind::LeaseExpiry { attempt: 1 })),
        Timestamp::from_millis(30_000),
    )
    .unwrap();
    assert!(!stale.applied, "an older attempt's timer is stale");
    let failed = execute(
        &mut intent,
        &req(Command::Fire(TimerKind::LeaseExpiry { attempt: 2 })),
        Timestamp::from_millis(30_000),
    )
    .unwrap();
    assert_eq!(failed.events[0].event_type, EventType::DeliveryFailed);
    assert_eq!(intent.status, Status::Failed);
    assert_eq!(failed.events[0].details["max_delivery_attempts"], 2);
}

#[test]
fn acknowledging_ends_the_lease() {
    let (mut intent, _) = new_intent(false);
    let deliver = req(Command::Deliver { handler: "agent://o/w/bot".into(), agent_lease_seconds: None });
    let outcome = execute(&mut intent, &deliver, Timestamp::from_millis(0)).unwrap();
    assert_eq!(outcome.timers[0].due_at, Timestamp::from_millis(0).plus_seconds(60), "default lease");
    let ack = execute(
        &mut intent,
        &req(Command::Resume(obj(json!({"action": "acknowledge"})))),
        Timestamp::from_millis(1),
    )
    .unwrap();
    assert_eq!(ack.events[0].event_type, EventType::Acknowledged);
    assert_eq!(intent.lease_expires_at, None);
    let fired = execute(
        &mut intent,
        &req(Command::Fire(TimerKind::LeaseExpiry { attempt: 1 })),
        Timestamp::from_millis(120_000),
    )
    .unwrap();
    assert!(!fired.applied);
    assert_eq!(intent.status, Status::Acknowledged);
}

#[test]
fn the_deadline_times_out_once() {
    let (mut intent, _) = new_intent(false);
    intent.deadline_at = Some(Timestamp::from_millis(5_000));
    assert_eq!(
        initial_timers(&intent),
        [Timer { kind: TimerKind::Deadline, due_at: Timestamp::from_millis(5_000) }]
    );
    let out = execute(&mut intent, &req(Command::Fire(TimerKind::Deadline)), Timestamp::from_millis(5_000))
        .unwrap();
    assert_eq!(out.events[0].event_type, EventType::TimedOut);
    assert_eq!(intent.status, Status::TimedOut);
    assert!(
        execute(&mut intent, &req(Command::Fire(TimerKind::Deadline)), Timestamp::from_millis(6_000))
            .is_err()
    );
}
