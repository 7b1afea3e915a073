"""Scenario validation and multi-step workflows (contract §4.13)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from axme_sdk import AxmeValidationError

from axp_harness import AgentThread, Axp, Checks, check_seq_contiguous, event_types, format_lifecycle, unique

SCENARIO = json.loads((Path(__file__).parent / "scenario.json").read_text())


def _bundle(**overrides: Any) -> dict[str, Any]:
    b = copy.deepcopy(SCENARIO)
    b["agents"][0]["address"] = unique("scn")  # never the seed agent's address
    b.update(overrides)
    return b


def _apply_or_skip(client, bundle: dict[str, Any]) -> dict[str, Any]:
    """The brief promises single-step scenarios only; skip (not fail) while the server says
    multi-step / human / internal steps are "not supported by this server version yet"."""
    try:
        return client.apply_scenario(bundle)
    except AxmeValidationError as e:
        if e.status_code == 422 and "not supported by this server version" in str(e.message):
            pytest.skip(f"server: {e.message}")
        raise


def _invalid(b: dict[str, Any], ck: Checks, what: str, client) -> None:
    v = client.validate_scenario(b)
    ck.eq(v.get("ok"), True, f"{what}: validate ok (200, never 4xx for content)")
    ck.eq(v.get("valid"), False, f"{what}: valid")
    errs = v.get("errors")
    ck.true(isinstance(errs, list) and errs and all(isinstance(e, str) for e in errs),
            f"{what}: errors is a non-empty list of strings ({errs!r})")
    try:
        client.apply_scenario(b)
        ck.true(False, f"{what}: apply accepted an invalid bundle")
    except AxmeValidationError as e:
        ck.eq(e.status_code, 422, f"{what}: apply status")
        body = e.body if isinstance(e.body, dict) else {}
        ck.true(isinstance(body.get("errors"), list), f"{what}: apply 422 body has errors list ({body!r})")


def test_validate_and_apply_reject_bad_bundles(axp: Axp) -> None:
    client = axp.client()
    ck = Checks()

    b = _bundle()
    del b["intent"]["type"]
    _invalid(b, ck, "missing intent.type", client)

    b = _bundle()
    b["workflow"]["steps"].append(copy.deepcopy(b["workflow"]["steps"][0]))
    _invalid(b, ck, "duplicate step_id", client)

    b = _bundle()
    b["workflow"]["steps"][0]["on_success"] = "no_such_step"
    _invalid(b, ck, "on_success names an unknown step", client)

    b = _bundle()
    del b["workflow"]["steps"][0]["tool_id"]
    _invalid(b, ck, "step without tool_id or runtime_type", client)

    b = _bundle()
    b["agents"][0]["delivery_mode"] = "carrier-pigeon"
    _invalid(b, ck, "unknown delivery_mode", client)
    ck.done()


def test_unknown_agent_without_create_if_missing(axp: Axp) -> None:
    """Warning on validate, error (422) on apply."""
    client = axp.client()
    b = _bundle()
    b["agents"][0]["create_if_missing"] = False
    v = client.validate_scenario(b)
    assert v.get("warnings"), v
    with pytest.raises(AxmeValidationError) as info:
        client.apply_scenario(b)
    assert info.value.status_code == 422


def test_missing_scenario_id_is_generated(axp: Axp) -> None:
    client = axp.client()
    b = _bundle()
    del b["scenario_id"]
    v = client.validate_scenario(b)
    assert v.get("valid") is True and v.get("warnings"), v
    r = client.apply_scenario(b)
    assert str(r.get("scenario_id", "")).startswith("scenario_"), r


def test_two_step_workflow_hands_over_between_agents(axp: Axp) -> None:
    """Step 1 -> agent A; A's resume completes step 1 and the same intent goes to agent B (step 2);
    B's resume completes the intent."""
    client = axp.client()
    a_name, b_name = unique("drafter"), unique("reviewer")
    bundle = {
        "scenario_id": "e2e.two_step.v1",
        "agents": [
            {"role": "drafter", "address": a_name, "create_if_missing": True},
            {"role": "reviewer", "address": b_name, "create_if_missing": True},
        ],
        "workflow": {"steps": [
            {"step_id": "draft", "tool_id": "tool.agent.task.v1", "assigned_to": "drafter"},
            {"step_id": "review", "tool_id": "tool.agent.task.v1", "assigned_to": "reviewer"},
        ]},
        "intent": {"type": "intent.e2e.two_step.v1", "payload": {"doc": "quarterly"}},
    }
    applied = _apply_or_skip(client, bundle)
    parent = applied["intent_id"]
    a_addr = f"agent://default/default/{a_name}"
    b_addr = f"agent://default/default/{b_name}"
    assert applied.get("pending_with") == a_addr, applied

    status_after_a: dict[str, Any] = {}

    def ours(d: dict[str, Any]) -> bool:
        return d.get("intent_id") == parent or (d.get("payload") or {}).get("parent_intent_id") == parent

    def a_handle(c, d):
        if ours(d) and d.get("status") in ("DELIVERED", "CREATED", "IN_PROGRESS") and "a" not in status_after_a:
            r = c.resume_intent(d["intent_id"], {"action": "complete", "draft": "v1"})
            status_after_a["a"] = (r.get("intent") or {}).get("status")
            status_after_a["a_delivery"] = d

    def b_handle(c, d):
        if ours(d) and d.get("status") in ("DELIVERED", "CREATED", "IN_PROGRESS") and "b" not in status_after_a:
            status_after_a["b_delivery"] = d
            r = c.resume_intent(d["intent_id"], {"action": "complete", "approved": True})
            status_after_a["b"] = (r.get("intent") or {}).get("status")

    agent_a = AgentThread(axp.client(), a_name, handler=a_handle, stop_when=lambda t: "a" in status_after_a,
                          wait_seconds=5, timeout_seconds=45)
    agent_b = AgentThread(axp.client(), b_name, handler=b_handle, stop_when=lambda t: "b" in status_after_a,
                          wait_seconds=5, timeout_seconds=45)
    agent_a.start()
    agent_b.start()
    events = list(client.observe(parent, wait_seconds=10, timeout_seconds=60))
    agent_a.join_checked(30)
    agent_b.join_checked(30)
    print(f"\ntwo-step lifecycle of {parent}:\n{format_lifecycle(events)}")

    ck = Checks()
    ck.true(status_after_a.get("a") not in ("COMPLETED", "FAILED", "CANCELED", "TIMED_OUT"),
            f"after step 1 the intent is not terminal ({status_after_a.get('a')!r})")
    ck.eq(status_after_a.get("b"), "COMPLETED", "after step 2 the intent is COMPLETED")
    ad, bd = status_after_a.get("a_delivery") or {}, status_after_a.get("b_delivery") or {}
    ck.eq(ad.get("step_id"), "draft", "A's delivery step_id")
    ck.eq(bd.get("step_id"), "review", "B's delivery step_id")
    ck.eq(ad.get("to_agent"), a_addr, "A's delivery to_agent")
    ck.eq((bd.get("pending_with") or {}).get("ref") if isinstance(bd.get("pending_with"), dict) else bd.get("pending_with"),
          b_addr, "B's delivery pending_with")
    ck.eq(event_types(events)[:3], ["intent.created", "intent.submitted", "intent.delivered"], "first events")
    ck.eq(event_types(events)[-1:], ["intent.completed"], "last event")
    ck.eq(sum(1 for e in events if e.get("status") in ("COMPLETED", "FAILED", "CANCELED", "TIMED_OUT")), 1,
          "exactly one terminal event")
    check_seq_contiguous(ck, events, "two-step")
    ck.done()


def test_human_approval_step_then_agent_step(axp: Axp) -> None:
    """A `human_approval` step puts the intent in WAITING_FOR_HUMAN; an approving task_result
    moves it to the next step (an agent), whose resume completes it."""
    client = axp.client()
    w_name = unique("after-approval")
    bundle = {
        "scenario_id": "e2e.approval_then_work.v1",
        "agents": [{"role": "worker", "address": w_name, "create_if_missing": True}],
        "workflow": {"steps": [
            {"step_id": "approve", "runtime_type": "human_approval",
             "human_task": {"title": "Go?", "task_type": "approval", "allowed_outcomes": ["approved", "rejected"]}},
            {"step_id": "work", "tool_id": "tool.agent.task.v1", "assigned_to": "worker"},
        ]},
        "intent": {"type": "intent.e2e.approval.v1", "payload": {"x": 1}},
    }
    intent_id = _apply_or_skip(client, bundle)["intent_id"]
    intent = client.get_intent(intent_id)["intent"]
    assert intent["status"] == "WAITING" and intent["waiting_reason"] == "WAITING_FOR_HUMAN", intent

    r = client.resume_intent(intent_id, {"task_result": {"outcome": "approved", "comment": "ok"}})
    assert r["intent"]["status"] not in ("COMPLETED", "FAILED"), r["intent"]

    done: dict[str, Any] = {}

    def handle(c, d):
        if d.get("intent_id") == intent_id and "r" not in done:
            done["d"] = d
            done["r"] = c.resume_intent(intent_id, {"action": "complete", "worked": True})

    agent = AgentThread(axp.client(), w_name, handler=handle, stop_when=lambda t: "r" in done,
                        wait_seconds=5, timeout_seconds=45)
    agent.start()
    final = client.wait_for(intent_id, wait_seconds=10, timeout_seconds=60)
    agent.join_checked(30)
    events = client.list_intent_events(intent_id)["events"]
    print(f"\napproval-then-work lifecycle:\n{format_lifecycle(events)}")
    assert final["event_type"] == "intent.completed"
    assert done.get("d", {}).get("step_id") == "work", done.get("d")
    assert "intent.human_task_assigned" in event_types(events)
