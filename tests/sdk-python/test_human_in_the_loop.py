"""Human-in-the-loop with the real SDK (issue 5): an approval flow through the inbox, a rejected
task, a form task validated by its JSON Schema, a two-step scenario (agent, then a person), and
a delay step. Contract §4.7, §4.9, §4.13, §5.1, §5.2."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from axme_sdk.exceptions import AxmeValidationError

from axp_harness import AgentThread, Axp, intent_body, statuses, unique


def human_intent(axp: Axp, human_task: dict[str, Any]) -> str:
    caller = axp.client()
    created = caller.create_intent(
        intent_body("agent://acme/finance/approvals", payload={"amount": 120}, human_task=human_task),
        correlation_id=str(uuid.uuid4()),
    )
    assert created["status"] == "WAITING"
    return created["intent_id"]


def test_approval_flow_through_the_inbox(axp: Axp) -> None:
    caller = axp.client()
    intent_id = human_intent(axp, {"title": "Approve 120 EUR", "task_type": "approval", "assignees": ["boss@example.com"]})

    inbox = caller.list_inbox()
    thread = next(t for t in inbox["threads"] if t["thread_id"] == intent_id)
    assert thread["status"] == "pending"
    assert thread["human_task"]["title"] == "Approve 120 EUR"

    approved = caller.approve_inbox_thread(intent_id, {"comment": "within budget"})
    assert approved["thread"]["status"] == "done"

    events = list(caller.observe(intent_id, wait_seconds=5, timeout_seconds=30))
    seen = statuses(events)
    assert seen[seen.index("WAITING"):] == ["WAITING", "IN_PROGRESS", "COMPLETED"]
    assert events[-1]["details"]["result"]["task_result"] == {"outcome": "approved", "comment": "within budget"}


def test_a_rejected_task(axp: Axp) -> None:
    caller = axp.client()
    intent_id = human_intent(axp, {"title": "Approve", "task_type": "approval"})
    caller.reject_inbox_thread(intent_id, {"comment": "over budget"})
    intent = caller.get_intent(intent_id)["intent"]
    assert intent["status"] == "COMPLETED"
    assert intent["result"]["task_result"]["outcome"] == "rejected"
    # Deciding an approval differently afterwards is a conflict; the same decision is idempotent.
    first = caller.decide_approval(str(uuid.uuid4()), decision="approve", comment="ok")
    assert first["approval"]["decision"] == "approve"
    again = caller.decide_approval(first["approval"]["approval_id"], decision="approve")
    assert again["approval"]["decided_at"] == first["approval"]["decided_at"]
    with pytest.raises(AxmeValidationError) as conflict:
        caller.decide_approval(first["approval"]["approval_id"], decision="reject")
    assert conflict.value.status_code == 409


def test_a_form_task_rejects_then_accepts(axp: Axp) -> None:
    caller = axp.client()
    intent_id = human_intent(axp, {
        "title": "Vendor bank details", "task_type": "form",
        "form_schema": {"type": "object", "required": ["iban"],
                        "properties": {"iban": {"type": "string", "minLength": 15}}},
    })
    with pytest.raises(AxmeValidationError) as invalid:
        caller.resume_intent(intent_id, {"task_result": {"outcome": "submitted", "iban": "too-short"}})
    assert invalid.value.status_code == 422
    assert caller.get_intent(intent_id)["intent"]["status"] == "WAITING"
    caller.resume_intent(intent_id, {"task_result": {"outcome": "submitted", "iban": "DE89370400440532013000"}})
    intent = caller.get_intent(intent_id)["intent"]
    assert intent["status"] == "COMPLETED"
    assert intent["result"]["task_result"]["iban"] == "DE89370400440532013000"


def test_two_step_scenario_agent_then_person(axp: Axp) -> None:
    caller = axp.client()
    writer_name = unique("writer")
    bundle = {
        "scenario_id": "report.with.approval.v1",
        "agents": [{"role": "writer", "address": writer_name, "create_if_missing": True}],
        "humans": [{"role": "approver", "contact": "boss@example.com"}],
        "workflow": {"steps": [
            {"step_id": "draft", "tool_id": "tool.agent.task.v1", "assigned_to": "writer"},
            {"step_id": "approve", "assigned_to": "approver", "requires_approval": True},
        ]},
        "intent": {"type": "intent.report.generate.v1", "payload": {"quarter": "Q1"}},
    }
    applied = caller.apply_scenario(bundle)
    intent_id = applied["intent_id"]
    writer_key = applied["agents_provisioned"][0]["api_key"]
    done: dict[str, Any] = {}

    def handle(client, delivery: dict[str, Any]) -> None:
        if delivery.get("intent_id") == intent_id and delivery.get("step_id") == "draft" and not done:
            done["r"] = client.resume_intent(intent_id, {"action": "complete", "draft": "v1"})

    agent = AgentThread(axp.client(writer_key), writer_name, handler=handle,
                        stop_when=lambda a: bool(done), wait_seconds=5, timeout_seconds=45)
    agent.start()
    agent.join_checked(timeout=45)

    intent = caller.get_intent(intent_id)["intent"]
    assert intent["status"] == "WAITING" and intent["waiting_reason"] == "WAITING_FOR_HUMAN"
    assert intent["step_id"] == "approve"
    assert intent["pending_with"]["ref"] == "boss@example.com"
    caller.approve_inbox_thread(intent_id, {"comment": "ship it"})
    events = list(caller.observe(intent_id, wait_seconds=5, timeout_seconds=30))
    assert statuses(events) == ["CREATED", "SUBMITTED", "DELIVERED", "IN_PROGRESS", "WAITING", "IN_PROGRESS", "COMPLETED"]


def test_a_delay_step(axp: Axp) -> None:
    caller = axp.client()
    bundle = {
        "scenario_id": "cool.off.v1",
        "workflow": {"steps": [
            {"step_id": "cool_off", "runtime_type": "delay", "runtime_config": {"seconds": 1}},
            {"step_id": "sign_off", "runtime_type": "human_approval", "assigned_to": "boss@example.com"},
        ]},
        "intent": {"type": "intent.cool.off.v1", "payload": {}},
    }
    applied = caller.apply_scenario(bundle)
    intent_id = applied["intent_id"]
    assert caller.get_intent(intent_id)["intent"]["waiting_reason"] == "WAITING_FOR_TIME"
    # The delay runs out on the server's clock; the stream shows the workflow moving on.
    for event in caller.observe(intent_id, wait_seconds=5, timeout_seconds=30):
        if event["event_type"] == "intent.human_task_assigned":
            break
    intent = caller.get_intent(intent_id)["intent"]
    assert intent["waiting_reason"] == "WAITING_FOR_HUMAN"
    assert intent["step_id"] == "sign_off"
