"""resolve_intent / resume_intent (contract §3.1, §4.6, §4.7)."""

from __future__ import annotations

import uuid

import pytest
from axme_sdk import AxmeValidationError

from axp_harness import Axp, Checks, check_event_shape, event_types, intent_body


def _target() -> str:
    return f"agent://e2e/{uuid.uuid4().hex[:8]}/resolve-target"


def test_resolve_completed_then_second_resolve_is_409(axp: Axp) -> None:
    client = axp.client()
    reply_to = f"agent://e2e/{uuid.uuid4().hex[:8]}/reply-target"
    intent_id = client.send_intent(intent_body(_target(), reply_to=reply_to))
    first = client.resolve_intent(intent_id, {"status": "COMPLETED", "result": {"ok": True}})
    ck = Checks()
    ck.eq(first.get("ok"), True, "resolve.ok")
    ck.eq(first.get("applied"), True, "resolve.applied")
    ck.eq(first.get("policy_generation"), 0, "resolve.policy_generation")
    event = first.get("event") or {}
    ck.eq(event.get("event_type"), "intent.completed", "resolve.event.event_type")
    ck.eq(event.get("status"), "COMPLETED", "resolve.event.status")
    ck.eq(event.get("seq"), 3, "resolve.event.seq")
    ck.eq((event.get("details") or {}).get("result"), {"ok": True}, "resolve.event.details.result")
    check_event_shape(ck, event, intent_id, "resolve.event")
    ck.eq((first.get("intent") or {}).get("status"), "COMPLETED", "resolve.intent.status")
    ck.eq((first.get("intent") or {}).get("result"), {"ok": True}, "resolve.intent.result")
    cd = first.get("completion_delivery") or {}
    ck.eq(cd.get("delivered"), True, "completion_delivery.delivered")
    ck.eq(cd.get("reply_to"), reply_to, "completion_delivery.reply_to (exact string)")
    ck.eq(cd.get("thread_id"), intent_id, "completion_delivery.thread_id")
    ck.eq((cd.get("completion") or {}).get("status"), "COMPLETED", "completion_delivery.completion.status")

    with pytest.raises(AxmeValidationError) as info:
        client.resolve_intent(intent_id, {"status": "CANCELED", "reason": "too late"})
    ck.eq(info.value.status_code, 409, "second resolve status")
    body = info.value.body if isinstance(info.value.body, dict) else {}
    ck.eq((body.get("error") or {}).get("code"), "invalid_state_transition", "second resolve error.code")
    ck.eq(client.get_intent(intent_id)["intent"]["status"], "COMPLETED", "terminal is immutable")
    ck.eq(event_types(client.list_intent_events(intent_id)["events"]),
          ["intent.created", "intent.submitted", "intent.completed"], "no event from the rejected resolve")
    ck.done()


def test_resolve_without_reply_to(axp: Axp) -> None:
    client = axp.client()
    intent_id = client.send_intent(intent_body(_target()))
    resp = client.resolve_intent(intent_id, {"status": "COMPLETED"})  # result omitted: default {}
    assert resp["completion_delivery"] == {"delivered": False, "reason": "reply_to_not_set"}
    assert resp["event"]["details"].get("result") == {}


@pytest.mark.parametrize(
    "body, event_type, detail_key, detail",
    [
        ({"status": "FAILED", "error": {"code": "boom"}}, "intent.failed", "error", {"code": "boom"}),
        ({"status": "CANCELED", "reason": "user asked"}, "intent.canceled", "reason", "user asked"),
    ],
)
def test_resolve_failed_and_canceled(axp: Axp, body, event_type, detail_key, detail) -> None:
    client = axp.client()
    intent_id = client.send_intent(intent_body(_target()))
    resp = client.resolve_intent(intent_id, body)
    assert resp["event"]["event_type"] == event_type
    assert resp["event"]["status"] == body["status"]
    assert resp["event"]["details"].get(detail_key) == detail
    # observe ends on the terminal event
    events = list(client.observe(intent_id, wait_seconds=5, timeout_seconds=20))
    assert events[-1]["event_type"] == event_type


def test_resolve_invalid_status_is_422(axp: Axp) -> None:
    client = axp.client()
    intent_id = client.send_intent(intent_body(_target()))
    with pytest.raises(AxmeValidationError) as info:
        client.resolve_intent(intent_id, {"status": "DONE"})
    assert info.value.status_code == 422
    assert client.get_intent(intent_id)["intent"]["status"] == "SUBMITTED", "bad input never changes state"


def test_resolve_with_idempotency_key_replays(axp: Axp) -> None:
    """§1.8: Idempotency-Key applies to every POST; a replayed resolve returns the original 200, not 409."""
    client = axp.client()
    intent_id = client.send_intent(intent_body(_target()))
    key = f"e2e-resolve-{uuid.uuid4()}"
    a = client.resolve_intent(intent_id, {"status": "COMPLETED", "result": {"n": 1}}, idempotency_key=key)
    b = client.resolve_intent(intent_id, {"status": "COMPLETED", "result": {"n": 1}}, idempotency_key=key)
    assert a == b


def test_resume_control_only_then_resolve(axp: Axp) -> None:
    """§4.7 rule 3: a control-only resume moves SUBMITTED -> IN_PROGRESS and is never terminal;
    a later resolve COMPLETED still succeeds (what the examples do)."""
    client = axp.client()
    intent_id = client.send_intent(intent_body(_target()))
    resumed = client.resume_intent(intent_id, {"approve_current_step": True, "reason": "go"})
    ck = Checks()
    ck.eq(resumed.get("ok"), True, "resume.ok")
    ck.eq(resumed.get("applied"), True, "resume.applied")
    ck.eq((resumed.get("intent") or {}).get("status"), "IN_PROGRESS", "resume.intent.status")
    ck.eq((resumed.get("event") or {}).get("event_type"), "intent.in_progress", "resume.event.event_type")
    again = client.resume_intent(intent_id, {"approve_current_step": True})
    ck.eq((again.get("intent") or {}).get("status"), "IN_PROGRESS", "second control-only resume keeps IN_PROGRESS")
    ck.eq(again.get("event"), None, "IN_PROGRESS stays without an event")
    done = client.resolve_intent(intent_id, {"status": "COMPLETED", "result": {"fine": True}})
    ck.eq((done.get("event") or {}).get("seq"), 4, "completed seq")
    ck.eq(event_types(client.list_intent_events(intent_id)["events"]),
          ["intent.created", "intent.submitted", "intent.in_progress", "intent.completed"], "events")
    ck.done()


def test_resume_with_result_completes(axp: Axp) -> None:
    """§4.7 rule 4 without any listener: an agent result completes the intent."""
    client = axp.client()
    intent_id = client.send_intent(intent_body(_target()))
    resp = client.resume_intent(intent_id, {"outcome": "success", "result": {"v": 7}})
    assert resp["intent"]["status"] == "COMPLETED"
    assert resp["event"]["event_type"] == "intent.completed"
    assert resp["event"]["details"]["result"] == {"v": 7}, "body.result is the result when present"


def test_resume_action_fail_fails(axp: Axp) -> None:
    client = axp.client()
    intent_id = client.send_intent(intent_body(_target()))
    resp = client.resume_intent(intent_id, {"action": "fail", "why": "disk full"})
    assert resp["intent"]["status"] == "FAILED"
    assert resp["event"]["event_type"] == "intent.failed"
    assert resp["event"]["details"]["error"].get("why") == "disk full"


def test_resume_after_terminal_is_409(axp: Axp) -> None:
    client = axp.client()
    intent_id = client.send_intent(intent_body(_target()))
    client.resolve_intent(intent_id, {"status": "CANCELED", "reason": "x"})
    with pytest.raises(AxmeValidationError) as info:
        client.resume_intent(intent_id, {"action": "complete"})
    assert info.value.status_code == 409


def test_resume_internal_scheduler_is_403(axp: Axp) -> None:
    from axme_sdk import AxmeAuthError

    client = axp.client()
    intent_id = client.send_intent(intent_body(_target()))
    with pytest.raises(AxmeAuthError) as info:
        client.resume_intent(intent_id, {"internal_scheduler": True})
    assert info.value.status_code == 403
