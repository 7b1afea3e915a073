"""Human tasks on create and task_result validation on resume (contract §4.2, §4.7 rule 2, §4.9)."""

from __future__ import annotations

import uuid

import pytest
from axme_sdk import AxmeValidationError

from axp_harness import Axp, Checks, check_seq_contiguous, event_types, intent_body

HUMAN_TASK = {
    "title": "Approve the Q3 report",
    "description": "Check the numbers",
    "task_type": "approval",
    "allowed_outcomes": ["approved", "rejected"],
    "required_comment": True,
    "assignees": ["ops@example.com"],
    "notify_email": "ops@example.com",  # README extra key: accepted and stored
}


def _human_intent(client) -> tuple[str, dict]:
    created = client.create_intent(
        intent_body(f"agent://e2e/{uuid.uuid4().hex[:8]}/human", human_task=HUMAN_TASK),
        correlation_id=str(uuid.uuid4()),
    )
    return created["intent_id"], created


def test_create_with_human_task_waits_for_human(axp: Axp) -> None:
    client = axp.client()
    intent_id, created = _human_intent(client)
    ck = Checks()
    ck.eq(created.get("status"), "WAITING", "create.status with human_task")
    intent = client.get_intent(intent_id)["intent"]
    ck.eq(intent.get("status"), "WAITING", "intent.status")
    ck.eq(intent.get("waiting_reason"), "WAITING_FOR_HUMAN", "intent.waiting_reason")
    ck.eq((intent.get("human_task") or {}).get("title"), HUMAN_TASK["title"], "intent.human_task.title")
    ck.eq((intent.get("pending_with") or {}).get("type"), "human", "intent.pending_with.type")
    events = client.list_intent_events(intent_id)["events"]
    ck.eq(event_types(events), ["intent.created", "intent.submitted", "intent.human_task_assigned"], "events")
    check_seq_contiguous(ck, events, "events")
    if len(events) == 3:
        e = events[2]
        ck.eq(e.get("status"), "WAITING", "human_task_assigned.status")
        ck.eq(e.get("waiting_reason"), "WAITING_FOR_HUMAN", "human_task_assigned.waiting_reason")
        # §3.2 lists `human_task` as an (optional) event field; accept it top-level or in details.
        ck.true(isinstance(e.get("human_task") or (e.get("details") or {}).get("human_task"), dict),
                "human_task_assigned carries the human_task object")
        ck.eq((e.get("pending_with") or {}).get("type"), "human", "human_task_assigned.pending_with.type")
    ck.done()


@pytest.mark.parametrize(
    "task_result, why",
    [
        ({"outcome": "maybe", "comment": "hmm"}, "outcome not in allowed_outcomes"),
        ({"outcome": "approved"}, "required_comment without comment"),
        ({"outcome": "", "comment": "x"}, "empty outcome"),
    ],
)
def test_invalid_task_result_is_422(axp: Axp, task_result, why) -> None:
    client = axp.client()
    intent_id, _ = _human_intent(client)
    with pytest.raises(AxmeValidationError) as info:
        client.resume_intent(intent_id, {"task_result": task_result})
    assert info.value.status_code == 422, why
    body = info.value.body if isinstance(info.value.body, dict) else {}
    assert (body.get("error") or {}).get("code") == "task_result_invalid", (why, body)
    assert client.get_intent(intent_id)["intent"]["status"] == "WAITING", "bad input never changes state"


def test_valid_task_result_completes(axp: Axp) -> None:
    client = axp.client()
    intent_id, _ = _human_intent(client)
    tr = {"outcome": "approved", "comment": "numbers check out"}
    resp = client.resume_intent(intent_id, {"task_result": tr})
    ck = Checks()
    ck.eq((resp.get("intent") or {}).get("status"), "COMPLETED", "resume.intent.status")
    events = client.list_intent_events(intent_id)["events"]
    ck.eq(event_types(events), ["intent.created", "intent.submitted", "intent.human_task_assigned",
                                "intent.in_progress", "intent.completed"], "events")
    check_seq_contiguous(ck, events, "events")
    if events:
        result = (events[-1].get("details") or {}).get("result") or {}
        ck.eq((result.get("task_result") or {}).get("outcome"), "approved", "completed.details.result.task_result.outcome")
    ck.done()


def test_task_result_on_non_waiting_intent_is_409(axp: Axp) -> None:
    client = axp.client()
    intent_id = client.send_intent(intent_body(f"agent://e2e/{uuid.uuid4().hex[:8]}/nohuman"))
    with pytest.raises(AxmeValidationError) as info:
        client.resume_intent(intent_id, {"task_result": {"outcome": "approved"}})
    assert info.value.status_code == 409
