"""The agent stream cursor: `seq` is an agent-scoped delivery cursor and `since` skips what was
already seen (contract §4.11, §9 C26). Replay on connect gives at-least-once delivery."""

from __future__ import annotations

from axp_harness import AgentThread, Axp, Checks, intent_body, unique


def _listen_until(axp: Axp, identity, want: set[str], *, since: int = 0, status: str | None = None) -> AgentThread:
    """listen() with the agent's own key until every id in `want` was delivered (bounded)."""
    agent = AgentThread(
        axp.client(identity.api_key),
        identity.agent_address,
        since=since,
        status=status,
        stop_when=lambda a: want <= {d.get("intent_id") for d in a.deliveries},
        wait_seconds=3,
        timeout_seconds=30,
    )
    agent.start()
    agent.join_checked(timeout=45)
    got = {d.get("intent_id") for d in agent.deliveries}
    assert want <= got, f"listen(since={since}) missed {want - got}; deliveries={agent.deliveries!r}"
    return agent


def test_listen_since_skips_seen_deliveries(axp: Axp) -> None:
    ck = Checks()
    worker = axp.create_identity(unique("cursor"))
    caller = axp.client()
    i1 = caller.send_intent(intent_body(worker.agent_address, payload={"n": 1}))
    i2 = caller.send_intent(intent_body(worker.agent_address, payload={"n": 2}))

    first = _listen_until(axp, worker, {i1, i2})
    by_id = {d["intent_id"]: d for d in first.deliveries}
    s1, s2 = by_id[i1].get("seq"), by_id[i2].get("seq")
    ck.true(isinstance(s1, int) and isinstance(s2, int), f"deliveries carry int seq ({s1!r}, {s2!r})")
    ck.true(s1 != s2, f"seq is a per-agent cursor, not the per-intent event seq (both were {s1!r})")
    ck.true(isinstance(s1, int) and isinstance(s2, int) and s1 < s2, f"cursor increases in queue order ({s1!r} < {s2!r})")
    ck.eq([d.get("intent_id") for d in first.deliveries][:2], [i1, i2], "replay is in queue order")
    for d in first.deliveries[:2]:
        ck.eq(d.get("status"), "DELIVERED", f"delivery status for {d.get('intent_id')}")
    ck.done("after the first listen")
    cursor = max(s1, s2)

    # The delivery moved both intents to DELIVERED (intent.delivered appended before the frame).
    for iid in (i1, i2):
        evs = caller.list_intent_events(iid)["events"]
        assert [e["event_type"] for e in evs][:3] == ["intent.created", "intent.submitted", "intent.delivered"], evs
        assert evs[2].get("handler") == worker.agent_address

    # Reconnect with since=<last cursor>: only what was queued after it.
    i3 = caller.send_intent(intent_body(worker.agent_address, payload={"n": 3}))
    second = _listen_until(axp, worker, {i3}, since=cursor)
    before_i3 = []
    for d in second.deliveries:
        if d.get("intent_id") == i3:
            break
        before_i3.append(d.get("intent_id"))
    assert i1 not in before_i3 and i2 not in before_i3, (
        f"listen(since={cursor}) re-delivered already-seen intents: {second.deliveries!r}")
    s3 = next(d["seq"] for d in second.deliveries if d["intent_id"] == i3)
    assert s3 > cursor

    # Reconnect from 0: every queued, non-terminal intent is replayed (at-least-once).
    third = _listen_until(axp, worker, {i1, i2, i3}, since=0)
    assert [d["intent_id"] for d in third.deliveries][:3] == [i1, i2, i3]


def test_listen_default_filter_excludes_terminal(axp: Axp) -> None:
    worker = axp.create_identity(unique("filter"))
    caller = axp.client()
    i1 = caller.send_intent(intent_body(worker.agent_address, payload={"n": 1}))
    i2 = caller.send_intent(intent_body(worker.agent_address, payload={"n": 2}))
    caller.resolve_intent(i1, {"status": "COMPLETED", "result": {}})

    # i1's cursor is below i2's, so if i1 were replayed it would come before i2.
    agent = _listen_until(axp, worker, {i2})
    before = []
    for d in agent.deliveries:
        if d["intent_id"] == i2:
            break
        before.append(d["intent_id"])
    assert i1 not in before, f"terminal intent {i1} was delivered by the default filter: {agent.deliveries!r}"

    # An explicit status filter overrides the default.
    agent = _listen_until(axp, worker, {i1}, status="COMPLETED")
    d1 = next(d for d in agent.deliveries if d["intent_id"] == i1)
    assert d1["status"] == "COMPLETED"
    assert all(d["status"] == "COMPLETED" for d in agent.deliveries), agent.deliveries


def test_each_agent_only_gets_its_own_intents(axp: Axp) -> None:
    a = axp.create_identity(unique("route-a"))
    b = axp.create_identity(unique("route-b"))
    caller = axp.client()
    ia = caller.send_intent(intent_body(a.agent_address))
    ib = caller.send_intent(intent_body(b.agent_address))
    ia2 = caller.send_intent(intent_body(a.agent_address))  # queued after ib: a misrouted ib would show up first
    got_a = _listen_until(axp, a, {ia, ia2})
    got_b = _listen_until(axp, b, {ib})
    assert ib not in {d["intent_id"] for d in got_a.deliveries}
    assert ia not in {d["intent_id"] for d in got_b.deliveries}


def test_listen_status_filter_with_comma(axp: Axp) -> None:
    """The SDK sends status=COMPLETED%2CDELIVERED (httpx percent-encodes the comma)."""
    worker = axp.create_identity(unique("comma"))
    caller = axp.client()
    i1 = caller.send_intent(intent_body(worker.agent_address, payload={"n": 1}))
    i2 = caller.send_intent(intent_body(worker.agent_address, payload={"n": 2}))
    _listen_until(axp, worker, {i1, i2})  # both DELIVERED now
    caller.resolve_intent(i1, {"status": "COMPLETED"})
    agent = _listen_until(axp, worker, {i1, i2}, status="COMPLETED,DELIVERED")
    by_id = {d["intent_id"]: d["status"] for d in agent.deliveries}
    assert by_id[i1] == "COMPLETED" and by_id[i2] == "DELIVERED", by_id


def test_agent_stream_timeout_reports_next_since(axp: Axp) -> None:
    """§4.11: the closing `stream.timeout` carries next_since = the max cursor sent (or since)."""
    from axp_harness import read_sse

    worker = axp.create_identity(unique("next-since"))
    caller = axp.client()
    ids = [caller.send_intent(intent_body(worker.agent_address)) for _ in range(3)]
    http = axp.http(worker.api_key)
    res = read_sse(http, f"/v1/agents/{worker.name}/intents/stream", {"since": 0, "wait_seconds": 1}, deadline_s=20)
    frames = [f for f in res.frames if (f.event or "").startswith("intent.")]
    assert [f.data["intent_id"] for f in frames] == ids
    cursors = [f.data["seq"] for f in frames]
    assert [f.id for f in frames] == [str(c) for c in cursors], "id: carries the agent cursor"
    assert res.frames[-1].event == "stream.timeout"
    assert res.frames[-1].data == {"ok": True, "next_since": max(cursors)}
    again = read_sse(http, f"/v1/agents/{worker.name}/intents/stream", {"since": max(cursors), "wait_seconds": 1},
                     deadline_s=20)
    assert [f.event for f in again.frames] == ["stream.timeout"]
    assert again.frames[-1].data == {"ok": True, "next_since": max(cursors)}
