"""Things with a clock: deadlines, SDK-side timeouts (which rely on the server closing SSE windows),
and keepalives (contract §4.2 deadline_at, §4.5, §4.10, §4.11)."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from axp_harness import Axp, intent_body, read_sse, unique


def test_deadline_at_times_out(axp: Axp) -> None:
    client = axp.client()
    deadline = (datetime.now(timezone.utc) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    intent_id = client.send_intent(intent_body(f"agent://e2e/{uuid.uuid4().hex[:8]}/slow", deadline_at=deadline))
    t0 = time.monotonic()
    terminal = client.wait_for(intent_id, wait_seconds=10, timeout_seconds=15)
    assert terminal["event_type"] == "intent.timed_out", terminal
    assert terminal["status"] == "TIMED_OUT"
    assert terminal["details"].get("deadline_at"), terminal
    assert time.monotonic() - t0 < 15
    intent = client.get_intent(intent_id)["intent"]
    assert intent["status"] == "TIMED_OUT" and intent["legacy_status"] == "failed"


def test_observe_timeout_is_bounded(axp: Axp) -> None:
    """observe(timeout_seconds=3) only checks its deadline between SSE windows, so it ends on time
    only if the server closes each window after wait_seconds."""
    client = axp.client()
    intent_id = client.send_intent(intent_body(f"agent://e2e/{uuid.uuid4().hex[:8]}/never"))
    t0 = time.monotonic()
    seen = []
    with pytest.raises(TimeoutError):
        for e in client.observe(intent_id, wait_seconds=1, poll_interval_seconds=0.1, timeout_seconds=3):
            seen.append(e["seq"])
    assert seen == [1, 2]
    assert time.monotonic() - t0 < 10


def test_listen_timeout_is_bounded(axp: Axp) -> None:
    worker = axp.create_identity(unique("idle-listen"))
    client = axp.client(worker.api_key)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        for _ in client.listen(worker.agent_address, wait_seconds=1, timeout_seconds=3):
            pass
    assert time.monotonic() - t0 < 10


def test_idle_stream_sends_keepalive_comments(axp: Axp) -> None:
    """§4.5: `:` comment keepalives at least every 10 s while idle (never named events)."""
    client = axp.client()
    intent_id = client.send_intent(intent_body(f"agent://e2e/{uuid.uuid4().hex[:8]}/quiet"))
    res = read_sse(axp.admin_http, f"/v1/intents/{intent_id}/events/stream", {"since": 2, "wait_seconds": 12},
                   deadline_s=30)
    assert res.status_code == 200
    assert res.comments, f"no keepalive comment in a 12 s idle window: {res.raw_lines!r}"
    assert [f.event for f in res.frames] == ["stream.timeout"], [(f.event, f.data_lines) for f in res.frames]
