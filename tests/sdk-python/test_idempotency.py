"""Idempotency-Key on create_intent and apply_scenario (contract §1.8, §4.2, §4.13)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from axme_sdk import AxmeValidationError

from axp_harness import Axp, Checks, intent_body, unique

SCENARIO = json.loads((Path(__file__).parent / "scenario.json").read_text())


def _target() -> str:
    # Nobody listens here, so the intent stays SUBMITTED and its events stay at seq 1..2.
    return f"agent://e2e/{uuid.uuid4().hex[:8]}/idem-target"


def test_create_intent_same_key_same_body_replays(axp: Axp) -> None:
    client = axp.client()
    key = f"e2e-idem-{uuid.uuid4()}"
    cid = str(uuid.uuid4())
    body = intent_body(_target())
    first = client.create_intent(body, correlation_id=cid, idempotency_key=key)
    second = client.create_intent(body, correlation_id=cid, idempotency_key=key)
    assert first["intent_id"] == second["intent_id"]
    assert second == first, "a replay returns the original response body"
    ck = Checks()
    ck.eq(first.get("ok"), True, "create.ok")
    ck.eq(first.get("status"), "SUBMITTED", "create.status")
    ck.true(isinstance(first.get("created_at"), str), "create.created_at")
    events = client.list_intent_events(first["intent_id"])["events"]
    ck.eq([e["seq"] for e in events], [1, 2], "no new side effects on replay (events still seq 1, 2)")
    ck.done()


def test_create_intent_same_key_different_body_is_409(axp: Axp) -> None:
    client = axp.client()
    key = f"e2e-idem-{uuid.uuid4()}"
    cid = str(uuid.uuid4())
    body = intent_body(_target())
    first = client.create_intent(body, correlation_id=cid, idempotency_key=key)

    changed = dict(body, payload={"text": "different body", "priority": "high"})
    with pytest.raises(AxmeValidationError) as info:
        client.create_intent(changed, correlation_id=cid, idempotency_key=key)
    exc = info.value
    assert exc.status_code == 409
    body_json = exc.body if isinstance(exc.body, dict) else {}
    ck = Checks()
    ck.eq((body_json.get("error") or {}).get("code"), "idempotency_conflict", "409 error.code")
    ck.true(isinstance(body_json.get("detail"), str), f"409 detail is a string ({body_json.get('detail')!r})")
    ck.true(exc.request_id, "x-request-id on the error response")
    # The original is untouched and the key still replays it.
    again = client.create_intent(body, correlation_id=cid, idempotency_key=key)
    ck.eq(again.get("intent_id"), first["intent_id"], "key still maps to the original intent")
    ck.done()


def test_send_intent_retry_with_same_key_needs_same_correlation_id(axp: Axp) -> None:
    """SDK fact: send_intent() generates a fresh correlation_id on every call unless one is given, and
    the correlation_id is part of the body (the fingerprint, §1.8). So an application-level retry of
    send_intent(idempotency_key=k) without correlation_id is a *different body* -> 409.
    With a fixed correlation_id it replays."""
    client = axp.client()
    body = intent_body(_target())
    key = f"e2e-idem-{uuid.uuid4()}"
    cid = str(uuid.uuid4())
    a = client.send_intent(body, correlation_id=cid, idempotency_key=key)
    b = client.send_intent(body, correlation_id=cid, idempotency_key=key)
    assert a == b

    key2 = f"e2e-idem-{uuid.uuid4()}"
    client.send_intent(body, idempotency_key=key2)
    with pytest.raises(AxmeValidationError) as info:
        client.send_intent(body, idempotency_key=key2)
    assert info.value.status_code == 409


def test_idempotency_key_is_scoped_to_the_caller(axp: Axp) -> None:
    """§1.8: the dedup key includes the caller identity; another key's principal gets its own intent."""
    other = axp.create_identity(unique("idem-other"))
    a_client = axp.client()
    b_client = axp.client(other.api_key)
    key = f"e2e-idem-{uuid.uuid4()}"
    cid = str(uuid.uuid4())
    body = intent_body(_target())
    a = a_client.create_intent(body, correlation_id=cid, idempotency_key=key)["intent_id"]
    b = b_client.create_intent(body, correlation_id=cid, idempotency_key=key)["intent_id"]
    assert a != b
    assert b_client.get_intent(b)["intent"]["from_agent"] == other.agent_address


def test_no_idempotency_key_creates_new_intents(axp: Axp) -> None:
    client = axp.client()
    body = intent_body(_target())
    cid = str(uuid.uuid4())
    a = client.create_intent(body, correlation_id=cid)["intent_id"]
    b = client.create_intent(body, correlation_id=cid)["intent_id"]
    assert a != b


def test_apply_scenario_idempotency(axp: Axp) -> None:
    """apply_scenario(idempotency_key=k) sends it as header AND body field; same bundle replays
    (idempotent: true), different bundle -> 409 (§4.13)."""
    client = axp.client()
    key = f"e2e-scn-{uuid.uuid4()}"
    # Target an address nobody listens on, so the seed agent of another test never picks these up.
    bundle = json.loads(json.dumps(SCENARIO))
    bundle["agents"][0]["address"] = unique("idem-report")
    first = client.apply_scenario(bundle, idempotency_key=key)
    second = client.apply_scenario(bundle, idempotency_key=key)
    ck = Checks()
    ck.eq(second.get("intent_id"), first.get("intent_id"), "same intent_id on replay")
    ck.eq(first.get("idempotent"), False, "first apply idempotent=false")
    ck.eq(second.get("idempotent"), True, "replayed apply idempotent=true")
    ck.done()

    bundle2 = json.loads(json.dumps(bundle))
    bundle2["intent"]["payload"]["fiscal_year"] = "2026"
    with pytest.raises(AxmeValidationError) as info:
        client.apply_scenario(bundle2, idempotency_key=key)
    assert info.value.status_code == 409


def test_concurrent_same_key_creates_one_intent(axp: Axp) -> None:
    """§1.8: concurrent requests with one key: each gets the original response (same intent_id) or
    409 idempotency_in_progress; exactly one intent exists afterwards."""
    from concurrent.futures import ThreadPoolExecutor

    from axp_harness import read_sse

    worker = axp.create_identity(unique("idem-conc"))
    key = f"e2e-idem-{uuid.uuid4()}"
    cid = str(uuid.uuid4())
    body = intent_body(worker.agent_address)
    clients = [axp.client() for _ in range(8)]

    def create(c):
        try:
            return ("ok", c.create_intent(body, correlation_id=cid, idempotency_key=key)["intent_id"])
        except AxmeValidationError as e:
            code = ((e.body or {}).get("error") or {}).get("code") if isinstance(e.body, dict) else None
            return ("409", code, e.retry_after)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(create, clients))
    ids = {r[1] for r in results if r[0] == "ok"}
    assert len(ids) == 1, results
    for r in results:
        if r[0] == "409":
            assert r[1] == "idempotency_in_progress" and r[2] == 1, results
    # Exactly one intent was queued to the worker.
    res = read_sse(axp.http(worker.api_key), f"/v1/agents/{worker.name}/intents/stream",
                   {"since": 0, "wait_seconds": 1}, deadline_s=20)
    delivered = {(f.data or {}).get("intent_id") for f in res.frames if (f.event or "").startswith("intent.")}
    assert delivered == ids, (delivered, ids)


@pytest.mark.parametrize("key", ["k", "x" * 255])
def test_idempotency_key_lengths_1_to_255(axp: Axp, key: str) -> None:
    # Scope is per caller, so use a fresh identity to keep the short key unique.
    c = axp.client(axp.create_identity(unique("idem-len")).api_key)
    cid = str(uuid.uuid4())
    body = intent_body(_target())
    a = c.create_intent(body, correlation_id=cid, idempotency_key=key)["intent_id"]
    b = c.create_intent(body, correlation_id=cid, idempotency_key=key)["intent_id"]
    assert a == b
