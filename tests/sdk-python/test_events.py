"""create/get intent, list_intent_events(since=) and the intent SSE stream (contract §0.3-0.5, §3, §4.2-4.5)."""

from __future__ import annotations

import uuid

from axp_harness import (
    ADMIN_ADDRESS,
    Axp,
    Checks,
    check_event_shape,
    check_seq_contiguous,
    event_types,
    intent_body,
    is_uuid,
    read_sse,
)


def _target() -> str:
    return f"agent://e2e/{uuid.uuid4().hex[:8]}/events-target"


def test_create_then_get_intent(axp: Axp) -> None:
    client = axp.client()
    target = _target()
    cid = str(uuid.uuid4())
    created = client.create_intent(
        intent_body(target, reply_to="agent://e2e/reply/here", max_delivery_attempts=2),
        correlation_id=cid,
    )
    ck = Checks()
    ck.eq(created.get("ok"), True, "create.ok")
    ck.true(is_uuid(created.get("intent_id")), "create.intent_id UUID")
    ck.eq(created.get("status"), "SUBMITTED", "create.status")
    ck.true(isinstance(created.get("created_at"), str), "create.created_at")

    got = client.get_intent(created["intent_id"])
    ck.eq(got.get("ok"), True, "get.ok")
    intent = got.get("intent") or {}
    for k, v in {
        "intent_id": created["intent_id"],
        "status": "SUBMITTED",
        "lifecycle_status": "SUBMITTED",
        "legacy_status": "accepted",
        "intent_type": "intent.e2e.test.v1",
        "correlation_id": cid,
        "from_agent": ADMIN_ADDRESS,
        "to_agent": target,
        "reply_to": "agent://e2e/reply/here",
        "payload": intent_body("x")["payload"],
        "policy_generation": 0,
        "max_delivery_attempts": 2,
        "waiting_reason": None,
    }.items():
        ck.eq(intent.get(k), v, f"intent.{k}")
    ck.true(isinstance(intent.get("created_at"), str), "intent.created_at")
    ck.true(isinstance(intent.get("updated_at"), str), "intent.updated_at")
    ck.done()


def test_events_after_create_and_since_cursor(axp: Axp) -> None:
    client = axp.client()
    intent_id = client.send_intent(intent_body(_target()))
    ck = Checks()

    listed = client.list_intent_events(intent_id)
    ck.eq(listed.get("ok"), True, "events.ok")
    events = listed.get("events") or []
    ck.true(len(events) >= 2, f">= 2 events right after create (got {len(events)})")
    ck.eq(event_types(events)[:2], ["intent.created", "intent.submitted"], "first two event types")
    check_seq_contiguous(ck, events, "events")
    for e in events:
        check_event_shape(ck, e, intent_id, f"events seq={e.get('seq')}")
    if events:
        ck.eq(events[0].get("actor"), ADMIN_ADDRESS, "created.actor = from_agent")
        ck.eq((events[0].get("details") or {}).get("intent_type"), "intent.e2e.test.v1", "created.details.intent_type")

    # since is exclusive: only seq > since.
    ck.eq([e["seq"] for e in client.list_intent_events(intent_id, since=0)["events"]], [1, 2], "since=0 -> everything")
    ck.eq([e["seq"] for e in client.list_intent_events(intent_id, since=1)["events"]], [2], "since=1 -> [2]")
    ck.eq(client.list_intent_events(intent_id, since=2)["events"], [], "since=2 -> []")
    ck.eq(client.list_intent_events(intent_id, since=999)["events"], [], "since=999 -> []")

    client.resolve_intent(intent_id, {"status": "COMPLETED", "result": {"done": True}})
    after = client.list_intent_events(intent_id, since=2)["events"]
    ck.eq([(e["seq"], e["event_type"]) for e in after], [(3, "intent.completed")], "since=2 after resolve")
    ck.eq(client.list_intent_events(intent_id)["events"][:2], events[:2], "stored events are immutable")
    ck.done()


def test_observe_since_is_exclusive(axp: Axp) -> None:
    client = axp.client()
    intent_id = client.send_intent(intent_body(_target()))
    client.resolve_intent(intent_id, {"status": "COMPLETED", "result": {"x": 1}})
    from_two = list(client.observe(intent_id, since=2, wait_seconds=5, timeout_seconds=20))
    assert [(e["seq"], e["event_type"]) for e in from_two] == [(3, "intent.completed")]
    everything = list(client.observe(intent_id, wait_seconds=5, timeout_seconds=20))
    assert [e["seq"] for e in everything] == [1, 2, 3]
    assert everything == client.list_intent_events(intent_id)["events"]


def test_intent_stream_raw_framing_and_timeout(axp: Axp) -> None:
    """CONF check 7: since=1&wait_seconds=2 on a fresh intent -> the stored seq-2 frame, then
    `event: stream.timeout` with next_seq, then the server closes the response."""
    client = axp.client()
    intent_id = client.send_intent(intent_body(_target()))
    res = read_sse(axp.admin_http, f"/v1/intents/{intent_id}/events/stream", {"since": 1, "wait_seconds": 2}, deadline_s=20)
    ck = Checks()
    ck.eq(res.status_code, 200, "status")
    ck.true(res.headers.get("content-type", "").startswith("text/event-stream"), f"content-type ({res.headers.get('content-type')!r})")
    ck.eq(res.headers.get("cache-control"), "no-cache", "Cache-Control")
    ck.true(res.ended_by_server, "server closed the stream after stream.timeout")
    ck.true(res.elapsed < 10, f"closed after about wait_seconds (took {res.elapsed:.1f}s)")
    names = [f.event for f in res.frames]
    ck.eq(names, ["intent.submitted", "stream.timeout"], "frame sequence")
    if res.frames:
        f = res.frames[0]
        ck.eq(f.id, "2", "id: 2")
        ck.eq(len(f.data_lines), 1, "one data: line")
        ck.eq((f.data or {}).get("seq"), 2, "data.seq")
        ck.eq((f.data or {}).get("intent_id"), intent_id, "data.intent_id")
        last = res.frames[-1]
        ck.eq(last.data, {"ok": True, "next_seq": 2}, "stream.timeout data")
    ck.done()


def test_intent_stream_closes_after_terminal_event(axp: Axp) -> None:
    client = axp.client()
    intent_id = client.send_intent(intent_body(_target()))
    client.resolve_intent(intent_id, {"status": "CANCELED", "reason": "e2e"})
    res = read_sse(axp.admin_http, f"/v1/intents/{intent_id}/events/stream", {"since": 0, "wait_seconds": 30}, deadline_s=25)
    assert res.status_code == 200
    assert res.ended_by_server, "stream must close right after the terminal event"
    assert res.elapsed < 10, f"took {res.elapsed:.1f}s to close after a terminal event (wait_seconds=30)"
    intent_frames = [f for f in res.frames if (f.event or "").startswith("intent.")]
    assert [f.event for f in intent_frames] == ["intent.created", "intent.submitted", "intent.canceled"]
    assert intent_frames[-1].data["details"].get("reason") == "e2e"


def test_intent_stream_pushes_live_events(axp: Axp) -> None:
    """Events appended while the stream is open are pushed (no reconnect needed)."""
    client = axp.client()
    intent_id = client.send_intent(intent_body(_target()))

    def resolve_now() -> None:
        client.resolve_intent(intent_id, {"status": "COMPLETED", "result": {"live": True}})

    res = read_sse(axp.admin_http, f"/v1/intents/{intent_id}/events/stream", {"since": 2, "wait_seconds": 20},
                   deadline_s=30, on_open=resolve_now)
    assert res.status_code == 200
    intent_frames = [f for f in res.frames if (f.event or "").startswith("intent.")]
    assert [f.event for f in intent_frames] == ["intent.completed"], [(f.event, f.data_lines) for f in res.frames]
    assert res.elapsed < 15, f"live event took {res.elapsed:.1f}s"
