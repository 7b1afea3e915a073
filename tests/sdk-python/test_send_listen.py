"""send_intent to an agent that listens with its own key; the agent resumes; the caller observes.
Contract §2.1 (addresses), §2.3 (from_agent from the key), §4.2, §4.7, §4.11."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest

from axp_harness import (
    ADMIN_ADDRESS,
    AgentThread,
    Axp,
    Checks,
    check_event_shape,
    check_seq_contiguous,
    format_lifecycle,
    intent_body,
    is_uuid,
    read_sse,
    statuses,
    unique,
)


def test_send_intent_to_listening_agent(axp: Axp) -> None:
    ck = Checks()
    # An agent with its own key and a custom (non-default) agent address.
    addr = f"agent://e2e/{uuid.uuid4().hex[:8]}/worker"
    worker = axp.create_identity(unique("worker"), agent_address=addr)
    agent_client = axp.client(worker.api_key)
    caller = axp.client()

    resumes: dict[str, Any] = {}
    seen_intents: dict[str, Any] = {}

    def handle(client, delivery: dict[str, Any]) -> None:
        iid = delivery.get("intent_id")
        if delivery.get("status") not in ("DELIVERED", "CREATED", "IN_PROGRESS") or iid in resumes:
            return
        seen_intents[iid] = client.get_intent(iid)["intent"]
        resumes[iid] = client.resume_intent(iid, {"action": "complete", "answer": 42, "by": "worker"})

    # Listen on the full agent:// address (the SDK strips the scheme -> /v1/agents/e2e/<x>/worker/...).
    intent_ids: list[str] = []
    agent = AgentThread(agent_client, addr, handler=handle,
                        stop_when=lambda a: bool(intent_ids) and intent_ids[0] in resumes,
                        wait_seconds=5, timeout_seconds=45)
    agent.start()

    cid = str(uuid.uuid4())
    intent_id = caller.send_intent(intent_body(addr, payload={"question": "6*7?"}), correlation_id=cid)
    intent_ids.append(intent_id)
    assert is_uuid(intent_id)

    events = list(caller.observe(intent_id, wait_seconds=10, timeout_seconds=60))
    agent.join_checked(timeout=30)
    print(f"\nlifecycle of {intent_id}:\n{format_lifecycle(events)}")

    ck.eq(statuses(events), ["CREATED", "SUBMITTED", "DELIVERED", "IN_PROGRESS", "COMPLETED"], "status order")
    check_seq_contiguous(ck, events, "observe")
    for e in events:
        check_event_shape(ck, e, intent_id, f"seq={e.get('seq')}")
    ck.eq((events[-1].get("details") or {}).get("result", {}).get("answer") if events else None, 42,
          "completed.details.result.answer")
    if events:
        ck.eq(events[0].get("actor"), ADMIN_ADDRESS, "created.actor = from_agent")
        ck.eq((events[0].get("details") or {}).get("intent_type"), "intent.e2e.test.v1", "created.details.intent_type")

    seen = seen_intents.get(intent_id) or {}
    ck.eq(seen.get("from_agent"), ADMIN_ADDRESS, "agent's get_intent: from_agent derived from the caller's key")
    ck.eq(seen.get("to_agent"), addr, "agent's get_intent: to_agent stored verbatim")
    ck.eq(seen.get("correlation_id"), cid, "agent's get_intent: correlation_id")
    ck.eq(seen.get("payload"), {"question": "6*7?"}, "agent's get_intent: payload")

    mine = [d for d in agent.deliveries if d.get("intent_id") == intent_id]
    if ck.true(mine, "agent received the intent"):
        ck.eq(mine[0].get("status"), "DELIVERED", "delivery.status")
        ck.eq(mine[0].get("to_agent"), addr, "delivery.to_agent")
        ck.eq(mine[0].get("payload"), {"question": "6*7?"}, "delivery.payload")
    final = caller.get_intent(intent_id)["intent"]
    ck.eq(final.get("status"), "COMPLETED", "final status")
    ck.eq((final.get("result") or {}).get("answer"), 42, "final intent.result.answer")
    ck.done(f"for intent {intent_id}")


def test_from_agent_in_body_is_ignored(axp: Axp) -> None:
    """§2.3: from_agent is derived from the key; a body value is ignored."""
    sender = axp.create_identity(unique("sender"))
    client = axp.client(sender.api_key)
    target = f"agent://e2e/{uuid.uuid4().hex[:8]}/nobody"
    intent_id = client.send_intent(intent_body(target, from_agent="agent://evil/spoofed/sender"))
    intent = client.get_intent(intent_id)["intent"]
    assert intent["from_agent"] == sender.agent_address == f"agent://default/default/{sender.name}"
    assert intent["to_agent"] == target


def test_bare_name_to_agent_is_normalised(axp: Axp) -> None:
    """§2.1: a bare `name` to_agent becomes agent://{org}/{ws}/name; the listener on the bare name gets it."""
    worker = axp.create_identity(unique("bare"))
    caller = axp.client()
    intent_id = caller.send_intent(intent_body(worker.name))
    assert caller.get_intent(intent_id)["intent"]["to_agent"] == worker.agent_address

    agent = AgentThread(axp.client(worker.api_key), worker.name,
                        stop_when=lambda a: any(d.get("intent_id") == intent_id for d in a.deliveries),
                        wait_seconds=5, timeout_seconds=30)
    agent.start()
    agent.join_checked(timeout=40)
    got = [d for d in agent.deliveries if d.get("intent_id") == intent_id]
    assert got, f"listen({worker.name!r}) never delivered {intent_id}; got {agent.deliveries!r}"
    assert got[0]["status"] == "DELIVERED"


def test_live_push_to_connected_agent_raw_sse(axp: Axp) -> None:
    """An intent created while the agent's stream is already open is pushed on that stream (§4.11),
    framed as in §4.5: `id:`, `event: intent.*`, one `data:` line."""
    ck = Checks()
    worker = axp.create_identity(unique("live"))
    http = axp.http(worker.api_key)
    caller = axp.client()
    created: dict[str, Any] = {}
    opened = threading.Event()

    def send_after_open() -> None:
        opened.set()
        created["t"] = time.monotonic()
        created["id"] = caller.send_intent(intent_body(worker.agent_address))

    res = read_sse(
        http,
        f"/v1/agents/{worker.agent_address[len('agent://'):]}/intents/stream",
        {"since": 0, "wait_seconds": 10},
        deadline_s=30,
        on_open=send_after_open,
        stop=lambda frames: any((f.data or {}).get("intent_id") == created.get("id") for f in frames),
    )
    assert res.status_code == 200, res.body_text
    ck.true(res.headers.get("content-type", "").startswith("text/event-stream"),
            f"content-type text/event-stream ({res.headers.get('content-type')!r})")
    ck.eq(res.headers.get("cache-control"), "no-cache", "Cache-Control header")
    frames = [f for f in res.frames if (f.data or {}).get("intent_id") == created.get("id")]
    if ck.true(frames, f"pushed frame for the new intent (frames={[(f.event, f.data_lines) for f in res.frames]})"):
        f = frames[0]
        ck.eq(f.event, "intent.delivered", "frame event name")
        ck.eq(len(f.data_lines), 1, "exactly one data: line")
        ck.eq(f.id, str(f.data.get("seq")), "id: equals the frame's agent cursor seq")
        ck.eq(f.data.get("status"), "DELIVERED", "frame status")
        ck.eq(f.data.get("to_agent"), worker.agent_address, "frame to_agent")
        ck.eq(f.data.get("payload"), intent_body("x")["payload"], "frame payload")
    ck.done()


def test_agent_stream_ends_with_stream_timeout(axp: Axp) -> None:
    """An idle agent stream sends `event: stream.timeout` with next_since and closes (§4.11)."""
    worker = axp.create_identity(unique("idle"))
    res = read_sse(axp.http(worker.api_key), f"/v1/agents/{worker.name}/intents/stream",
                   {"since": 0, "wait_seconds": 1}, deadline_s=20)
    assert res.status_code == 200, res.body_text
    assert res.ended_by_server, f"server did not close the stream; lines={res.raw_lines!r}"
    assert res.elapsed < 12, f"stream with wait_seconds=1 took {res.elapsed:.1f}s"
    names = [f.event for f in res.frames]
    assert names == ["stream.timeout"], f"frames: {[(f.event, f.data_lines) for f in res.frames]}"
    data = res.frames[-1].data
    assert isinstance(data, dict) and data.get("ok") is True and data.get("next_since") == 0, data



@pytest.mark.parametrize("shape", ["agent://e2e/{h}", "agent://e2e/{h}/bot@team", "agent://e2e/{h}/a/b"])
def test_listen_on_other_address_shapes(axp: Axp, shape: str) -> None:
    """2-segment, `@`, and 4-segment addresses: the SDK strips `agent://` and puts the rest in the
    path unencoded; the server must route it back to the same address (§2.1, §2.2)."""
    addr = shape.format(h=uuid.uuid4().hex[:8])
    ident = axp.create_identity(unique("shape"), agent_address=addr)
    intent_id = axp.client().send_intent(intent_body(addr))
    agent = AgentThread(axp.client(ident.api_key), addr,
                        stop_when=lambda a: any(d.get("intent_id") == intent_id for d in a.deliveries),
                        wait_seconds=3, timeout_seconds=20)
    agent.start()
    agent.join_checked(timeout=30)
    got = [d for d in agent.deliveries if d.get("intent_id") == intent_id]
    assert got and got[0]["to_agent"] == addr, agent.deliveries
