"""Errors, auth and the headers around them (contract §0.1, §1.1, §1.3, §1.4, §1.7, §4.3, §4.4)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from axme_sdk import AxmeAuthError, AxmeHttpError, AxmeValidationError

from axp_harness import Axp, Checks, intent_body, unique


def _envelope(ck: Checks, body, code: str | None, where: str) -> None:
    """§1.4: {"error": {code, message, category, retryable, details}, "detail": "<string>"}"""
    if not ck.true(isinstance(body, dict), f"{where}: JSON error body ({body!r})"):
        return
    err = body.get("error")
    if ck.true(isinstance(err, dict), f"{where}: error is an object ({err!r})"):
        if code is not None:
            ck.eq(err.get("code"), code, f"{where}: error.code")
        ck.true(isinstance(err.get("message"), str) and err.get("message"), f"{where}: error.message")
        ck.true(isinstance(err.get("category"), str), f"{where}: error.category")
        ck.true(isinstance(err.get("retryable"), bool), f"{where}: error.retryable")
        ck.true(isinstance(err.get("details"), dict), f"{where}: error.details")
    ck.true(isinstance(body.get("detail"), str), f"{where}: detail is a string ({body.get('detail')!r})")


def test_health(axp: Axp) -> None:
    client = axp.client()
    assert client.health()["ok"] is True
    r = httpx.get(f"{axp.base_url}/health", headers={"X-Trace-Id": "e2e-trace-health"})
    assert r.status_code == 200 and r.json()["ok"] is True
    assert r.headers.get("x-trace-id") == "e2e-trace-health"
    assert r.headers.get("x-request-id")


def test_unknown_intent_is_404(axp: Axp) -> None:
    client = axp.client()
    missing = str(uuid.uuid4())
    ck = Checks()
    trace = f"e2e-trace-{uuid.uuid4()}"
    with pytest.raises(AxmeHttpError) as info:
        client.get_intent(missing, trace_id=trace)
    exc = info.value
    ck.eq(exc.status_code, 404, "get_intent unknown -> status")
    ck.eq(type(exc), AxmeHttpError, "404 maps to plain AxmeHttpError")
    _envelope(ck, exc.body, "not_found", "get_intent 404")
    ck.true(exc.request_id, "X-Request-Id on the error response")
    ck.eq(exc.trace_id, trace, "X-Trace-Id echoed on the error response")

    for name, call in [
        ("list_intent_events", lambda: client.list_intent_events(missing)),
        ("resolve_intent", lambda: client.resolve_intent(missing, {"status": "COMPLETED"})),
        ("resume_intent", lambda: client.resume_intent(missing, {"approve_current_step": True})),
        ("update_intent_controls", lambda: client.update_intent_controls(missing, {"controls_patch": {}})),
        ("update_intent_policy", lambda: client.update_intent_policy(missing, {"grants_patch": {}})),
    ]:
        try:
            call()
            ck.true(False, f"{name}(unknown id) did not fail")
        except AxmeHttpError as e:
            ck.eq(e.status_code, 404, f"{name}(unknown id) status")
    ck.done()


def test_observe_unknown_intent_raises_404(axp: Axp) -> None:
    """observe() treats a 404 on the stream as 'no stream' and falls back to GET /events, which 404s too."""
    client = axp.client()
    with pytest.raises(AxmeHttpError) as info:
        next(iter(client.observe(str(uuid.uuid4()), wait_seconds=2, timeout_seconds=10)))
    assert info.value.status_code == 404


def test_invalid_api_key_is_401(axp: Axp) -> None:
    client = axp.client("axme_sa_00000000-0000-0000-0000-000000000000_nope")
    with pytest.raises(AxmeAuthError) as info:
        client.get_intent(str(uuid.uuid4()))
    ck = Checks()
    ck.eq(info.value.status_code, 401, "bad key status")
    _envelope(ck, info.value.body, "invalid_platform_api_key", "bad key")
    r = httpx.get(f"{axp.base_url}/v1/intents/{uuid.uuid4()}")
    ck.eq(r.status_code, 401, "no key status")
    _envelope(ck, r.json() if r.headers.get("content-type", "").startswith("application/json") else None,
              "missing_platform_api_key", "no key")
    ck.done()


def test_bearer_api_key_is_accepted(axp: Axp) -> None:
    """§0.1: the conformance client sends only Authorization: Bearer <api_key>."""
    http = axp.http(axp.admin_key, bearer=True)
    r = http.post("/v1/intents", json=intent_body(f"agent://e2e/{uuid.uuid4().hex[:8]}/bearer",
                                                   correlation_id=str(uuid.uuid4())))
    assert r.status_code == 200, r.text
    intent_id = r.json()["intent_id"]
    r = http.get(f"/v1/intents/{intent_id}/events")
    assert r.status_code == 200 and len(r.json()["events"]) >= 2


def test_service_account_key_acts_as_that_account(axp: Axp) -> None:
    """A service-account key works through the SDK and acts as that account."""
    ident = axp.create_identity(unique("keyed"))
    assert ident.api_key.startswith("axme_sa_"), ident.api_key
    client = axp.client(ident.api_key)
    iid = client.send_intent(intent_body(f"agent://e2e/{uuid.uuid4().hex[:8]}/x"))
    assert client.get_intent(iid)["intent"]["from_agent"] == ident.agent_address


def test_create_intent_validation(axp: Axp) -> None:
    client = axp.client()
    ck = Checks()
    cases = {
        "missing intent_type": {"to_agent": "agent://e2e/v/x", "payload": {}},
        "bad intent_type": {"intent_type": "Not A Type", "to_agent": "agent://e2e/v/x", "payload": {}},
        "missing to_agent": {"intent_type": "intent.e2e.test.v1", "payload": {}},
        "bad to_agent": {"intent_type": "intent.e2e.test.v1", "to_agent": "agent://bad address!", "payload": {}},
        "payload not object": {"intent_type": "intent.e2e.test.v1", "to_agent": "agent://e2e/v/x", "payload": [1]},
    }
    for name, body in cases.items():
        try:
            client.create_intent(body, correlation_id=str(uuid.uuid4()))
            ck.true(False, f"{name}: accepted")
        except AxmeValidationError as e:
            ck.eq(e.status_code, 422, f"{name}: status")
            if name == "bad to_agent":
                ck.eq(((e.body or {}).get("error") or {}).get("code"), "invalid_agent_address", f"{name}: code")
    ck.done()


def test_payload_too_large_is_413(axp: Axp) -> None:
    client = axp.client()
    big = {"blob": "x" * 140_000}
    with pytest.raises(AxmeValidationError) as info:
        client.create_intent(intent_body("agent://e2e/big/x", payload=big), correlation_id=str(uuid.uuid4()))
    assert info.value.status_code == 413


def test_unknown_fields_and_camelcase_accepted(axp: Axp) -> None:
    """§1.3 unknown fields are ignored; §4.2 camelCase aliases are accepted."""
    client = axp.client()
    target = f"agent://e2e/{uuid.uuid4().hex[:8]}/camel"
    iid = client.send_intent({"intentType": "intent.e2e.camel.v1", "toAgent": target, "payload": {"k": "v"},
                              "some_future_field": {"x": 1}})
    intent = client.get_intent(iid)["intent"]
    assert intent["intent_type"] == "intent.e2e.camel.v1"
    assert intent["to_agent"] == target
    assert intent["payload"] == {"k": "v"}


def test_empty_body_post_is_treated_as_empty_object(axp: Axp) -> None:
    """§1.3: the SDK sends Content-Type: application/json on bodiless POSTs; accept them as {}."""
    client = axp.client()
    iid = client.send_intent(intent_body(f"agent://e2e/{uuid.uuid4().hex[:8]}/empty"))
    r = axp.admin_http.post(f"/v1/intents/{iid}/resume", headers={"Content-Type": "application/json"}, content=b"")
    assert r.status_code == 200, r.text
    assert r.json()["intent"]["status"] == "IN_PROGRESS"


def test_request_id_is_propagated(axp: Axp) -> None:
    """§1.7: x-request-id is propagated (or generated) and always returned, errors included."""
    r = axp.admin_http.get(f"/v1/intents/{uuid.uuid4()}", headers={"x-request-id": "e2e-req-1234"})
    assert r.status_code == 404
    assert r.headers.get("x-request-id") == "e2e-req-1234"
    r = axp.admin_http.get("/health")
    assert r.headers.get("x-request-id")
