"""The seed flow (durable-api-operations): apply_scenario -> a `listen()` agent resumes -> the
caller observes the lifecycle to COMPLETED. Contract §4.11, §4.13, §4.5, §4.7, §3."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from axp_harness import (
    ADMIN_ADDRESS,
    AgentThread,
    Axp,
    Checks,
    check_event_shape,
    check_seq_contiguous,
    event_types,
    format_lifecycle,
    is_uuid,
    seed_handler,
    statuses,
)

SCENARIO = json.loads((Path(__file__).parent / "scenario.json").read_text())
AGENT = "report-api-demo"
AGENT_ADDRESS = "agent://default/default/report-api-demo"
EXPECTED_ORDER = ["CREATED", "SUBMITTED", "DELIVERED", "IN_PROGRESS", "COMPLETED"]
EXPECTED_TYPES = ["intent.created", "intent.submitted", "intent.delivered", "intent.in_progress", "intent.completed"]
EXPECTED_URL = "https://reports.example.com/FY2025-financial.pdf"


def _seed_agent(axp: Axp, intent_id: str) -> AgentThread:
    """The seed agent: listens on the bare name `report-api-demo` with the workspace key."""
    agent_client = axp.client()  # the seed agent uses the workspace's AXME_API_KEY
    results: dict[str, Any] = {}
    agent = AgentThread(
        agent_client,
        AGENT,
        handler=lambda c, d: seed_handler(c, d, results),
        stop_when=lambda a: intent_id in results,
        wait_seconds=5,
        timeout_seconds=45,
    )
    agent.results = results
    return agent


def _check_apply_response(ck: Checks, resp: dict[str, Any]) -> None:
    ck.eq(resp.get("ok"), True, "apply.ok")
    ck.true(is_uuid(resp.get("intent_id")), f"apply.intent_id is a UUID ({resp.get('intent_id')!r})")
    ck.eq(resp.get("scenario_id"), SCENARIO["scenario_id"], "apply.scenario_id")
    ck.true(isinstance(resp.get("compile_id"), str) and resp.get("compile_id"), "apply.compile_id (read by SDK docstring/CLI)")
    ck.true(isinstance(resp.get("workflow_compile_id"), str) and resp.get("workflow_compile_id"), "apply.workflow_compile_id (SPEC)")
    for key in ("agents", "agents_provisioned"):
        agents = resp.get(key)
        if ck.true(isinstance(agents, list) and len(agents) == 1, f"apply.{key} is a 1-item list ({agents!r})"):
            ck.eq(agents[0].get("address"), AGENT_ADDRESS, f"apply.{key}[0].address normalised")
            ck.eq(agents[0].get("role"), "report_service", f"apply.{key}[0].role")
    ck.eq(resp.get("pending_with"), AGENT_ADDRESS, "apply.pending_with")


def _check_delivery(ck: Checks, delivery: dict[str, Any], intent_id: str) -> None:
    """Agent-stream frame, contract §4.11."""
    ck.eq(delivery.get("intent_id"), intent_id, "delivery.intent_id")
    ck.eq(delivery.get("status"), "DELIVERED", "delivery.status (SUBMITTED -> DELIVERED before the frame is written)")
    ck.eq(delivery.get("event_type"), "intent.delivered", "delivery.event_type")
    ck.true(isinstance(delivery.get("seq"), int) and delivery["seq"] >= 1, f"delivery.seq int >= 1 ({delivery.get('seq')!r})")
    ck.eq(delivery.get("intent_type"), "intent.report.generate.v1", "delivery.intent_type")
    ck.eq(delivery.get("to_agent"), AGENT_ADDRESS, "delivery.to_agent")
    ck.eq(delivery.get("from_agent"), ADMIN_ADDRESS, "delivery.from_agent (derived from the caller's key)")
    ck.true(is_uuid(delivery.get("correlation_id")), f"delivery.correlation_id is a UUID ({delivery.get('correlation_id')!r})")
    payload = delivery.get("payload")
    if isinstance(payload, dict) and "parent_payload" in payload:
        payload = payload["parent_payload"]
    ck.eq(payload, SCENARIO["intent"]["payload"], "delivery.payload (or payload.parent_payload)")
    ck.eq(delivery.get("step_id"), "generate_report", "delivery.step_id")
    ck.eq(delivery.get("delivery_attempt"), 1, "delivery.delivery_attempt")
    ck.eq((delivery.get("pending_with") or {}).get("ref"), AGENT_ADDRESS, "delivery.pending_with.ref")


def _check_lifecycle(ck: Checks, events: list[dict[str, Any]], intent_id: str, where: str) -> None:
    ck.eq(statuses(events), EXPECTED_ORDER, f"{where}: status order")
    ck.eq(event_types(events), EXPECTED_TYPES, f"{where}: event_type order")
    check_seq_contiguous(ck, events, where)
    for e in events:
        check_event_shape(ck, e, intent_id, f"{where} seq={e.get('seq')}")
    if events and events[-1].get("event_type") == "intent.completed":
        result = (events[-1].get("details") or {}).get("result")
        if ck.true(isinstance(result, dict), f"{where}: completed.details.result is an object ({result!r})"):
            ck.eq(result.get("report_url"), EXPECTED_URL, f"{where}: completed.details.result.report_url")
            ck.eq(result.get("pages"), 128, f"{where}: completed.details.result.pages")
    delivered = [e for e in events if e.get("event_type") == "intent.delivered"]
    if delivered:
        ck.eq(delivered[0].get("handler"), AGENT_ADDRESS, f"{where}: delivered.handler = target address")


def _check_final_intent(ck: Checks, got: dict[str, Any], intent_id: str) -> None:
    ck.eq(got.get("ok"), True, "get_intent.ok")
    intent = got.get("intent") or {}
    ck.eq(intent.get("intent_id"), intent_id, "intent.intent_id")
    ck.eq(intent.get("status"), "COMPLETED", "intent.status")
    ck.eq(intent.get("lifecycle_status"), "COMPLETED", "intent.lifecycle_status (the example prints it)")
    ck.eq(intent.get("intent_type"), "intent.report.generate.v1", "intent.intent_type")
    ck.eq(intent.get("to_agent"), AGENT_ADDRESS, "intent.to_agent")
    ck.eq(intent.get("from_agent"), ADMIN_ADDRESS, "intent.from_agent")
    ck.eq(intent.get("payload"), SCENARIO["intent"]["payload"], "intent.payload")
    ck.eq(intent.get("max_delivery_attempts"), 3, "intent.max_delivery_attempts copied from the bundle")
    ck.eq(intent.get("scenario_id"), SCENARIO["scenario_id"], "intent.scenario_id")
    result = intent.get("result")
    if ck.true(isinstance(result, dict), f"intent.result is an object when COMPLETED ({result!r})"):
        ck.eq(result.get("report_url"), EXPECTED_URL, "intent.result.report_url")
        ck.eq(result.get("pages"), 128, "intent.result.pages")


def test_seed_flow_observe(axp: Axp) -> None:
    caller = axp.client()
    ck = Checks()

    validated = caller.validate_scenario(SCENARIO)
    ck.eq(validated.get("ok"), True, "validate.ok")
    ck.eq(validated.get("valid"), True, "validate.valid")
    ck.eq(validated.get("errors"), [], "validate.errors")

    applied = caller.apply_scenario(SCENARIO)
    print("\napply_scenario ->", json.dumps(applied, indent=None, sort_keys=True))
    _check_apply_response(ck, applied)
    intent_id = applied["intent_id"]

    agent = _seed_agent(axp, intent_id)
    agent.start()

    lifecycle: list[dict[str, Any]] = []
    for event in caller.observe(intent_id, wait_seconds=10, timeout_seconds=60):
        lifecycle.append(event)
    agent.join_checked(timeout=30)

    print(f"lifecycle of {intent_id} (observe):\n{format_lifecycle(lifecycle)}")
    _check_lifecycle(ck, lifecycle, intent_id, "observe")

    mine = [d for d in agent.deliveries if d.get("intent_id") == intent_id]
    if ck.true(mine, "the agent received the intent via listen()"):
        _check_delivery(ck, mine[0], intent_id)
    handled = agent.results.get(intent_id) or {}
    ck.eq(handled.get("payload_seen"), SCENARIO["intent"]["payload"], "agent saw the scenario payload via get_intent")
    resume = handled.get("resume_response") or {}
    ck.eq(resume.get("ok"), True, "resume.ok")
    ck.eq(resume.get("applied"), True, "resume.applied")
    ck.eq((resume.get("event") or {}).get("event_type"), "intent.completed", "resume.event.event_type")
    ck.eq((resume.get("intent") or {}).get("status"), "COMPLETED", "resume.intent.status")

    _check_final_intent(ck, caller.get_intent(intent_id), intent_id)

    listed = caller.list_intent_events(intent_id)
    ck.eq(listed.get("events"), lifecycle, "GET /events equals what observe() streamed")
    ck.done(f"for intent {intent_id}")


def test_seed_flow_wait_for(axp: Axp) -> None:
    caller = axp.client()
    ck = Checks()
    applied = caller.apply_scenario(SCENARIO)
    intent_id = applied["intent_id"]

    agent = _seed_agent(axp, intent_id)
    agent.start()
    terminal = caller.wait_for(intent_id, wait_seconds=10, timeout_seconds=60)
    agent.join_checked(timeout=30)
    print(f"\nwait_for({intent_id}) -> {json.dumps(terminal, sort_keys=True)}")

    ck.eq(terminal.get("event_type"), "intent.completed", "wait_for event_type")
    ck.eq(terminal.get("status"), "COMPLETED", "wait_for status")
    ck.eq(terminal.get("seq"), 5, "wait_for terminal seq (created, submitted, delivered, in_progress, completed)")
    result = (terminal.get("details") or {}).get("result") or {}
    ck.eq(result.get("report_url"), EXPECTED_URL, "wait_for details.result.report_url")
    ck.eq(result.get("pages"), 128, "wait_for details.result.pages")
    _check_final_intent(ck, caller.get_intent(intent_id), intent_id)
    ck.done(f"for intent {intent_id}")


def test_seed_flow_wait_for_after_completion(axp: Axp) -> None:
    """wait_for on an intent that is already COMPLETED returns the stored terminal event at once."""
    caller = axp.client()
    intent_id = caller.apply_scenario(SCENARIO)["intent_id"]
    agent = _seed_agent(axp, intent_id)
    agent.start()
    agent.join_checked(timeout=45)
    assert intent_id in agent.results, f"agent never handled {intent_id}; deliveries={agent.deliveries!r}"

    terminal = caller.wait_for(intent_id, wait_seconds=5, timeout_seconds=20)
    assert terminal["event_type"] == "intent.completed"
    events = caller.list_intent_events(intent_id)["events"]
    assert statuses(events) == EXPECTED_ORDER, format_lifecycle(events)
