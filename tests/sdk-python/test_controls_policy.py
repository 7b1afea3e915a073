"""update_intent_controls / update_intent_policy with the policy_generation CAS (contract §4.8, §1.2)."""

from __future__ import annotations

import uuid

import pytest
from axme_sdk import AxmeValidationError

from axp_harness import ADMIN_ADDRESS, Axp, Checks, intent_body


def _new_intent(client) -> str:
    return client.send_intent(intent_body(f"agent://e2e/{uuid.uuid4().hex[:8]}/cas-target"))


def _stale(exc: AxmeValidationError, current: int, ck: Checks, where: str) -> None:
    ck.eq(exc.status_code, 409, f"{where}: status")
    body = exc.body if isinstance(exc.body, dict) else {}
    ck.eq((body.get("error") or {}).get("code"), "stale_policy_generation", f"{where}: error.code")
    ck.eq(body.get("applied"), False, f"{where}: top-level applied")
    ck.eq(body.get("reason"), "stale_policy_generation", f"{where}: top-level reason")
    ck.eq(body.get("policy_generation"), current, f"{where}: top-level policy_generation (current)")


def test_controls_and_policy_cas(axp: Axp) -> None:
    client = axp.client()
    intent_id = _new_intent(client)
    ck = Checks()
    ck.eq(client.get_intent(intent_id)["intent"].get("policy_generation"), 0, "initial policy_generation")

    r = client.update_intent_controls(intent_id, {"controls_patch": {"timeout_seconds": 600}, "expected_policy_generation": 0})
    ck.eq(r.get("ok"), True, "controls.ok")
    ck.eq(r.get("applied"), True, "controls.applied")
    ck.eq(r.get("policy_generation"), 1, "controls -> generation 1")
    ck.eq((r.get("controls") or {}).get("timeout_seconds"), 600, "controls.timeout_seconds")
    ck.eq((r.get("intent") or {}).get("policy_generation"), 1, "controls.intent.policy_generation")

    with pytest.raises(AxmeValidationError) as info:
        client.update_intent_controls(intent_id, {"controls_patch": {"timeout_seconds": 1}, "expected_policy_generation": 0})
    _stale(info.value, 1, ck, "stale controls")

    r = client.update_intent_controls(intent_id, {"controls_patch": {"last_retry_attempt": 2}, "expected_policy_generation": 1})
    ck.eq(r.get("policy_generation"), 2, "controls -> generation 2")
    ck.eq((r.get("controls") or {}).get("timeout_seconds"), 600, "shallow merge keeps earlier keys")
    ck.eq((r.get("controls") or {}).get("last_retry_attempt"), 2, "shallow merge adds the new key")

    grant = {"allow": ["resume", "update_controls", "update_policy"]}
    r = client.update_intent_policy(intent_id, {
        "grants_patch": {"delegate:agent://ops": grant},
        "envelope_patch": {"max_retry_count": 3},
        "expected_policy_generation": 2,
    })
    ck.eq(r.get("applied"), True, "policy.applied")
    ck.eq(r.get("policy_generation"), 3, "policy -> generation 3")
    policy = r.get("policy") or {}
    ck.eq((policy.get("grants") or {}).get("delegate:agent://ops"), grant, "policy.grants")
    ck.eq((policy.get("envelope") or {}).get("max_retry_count"), 3, "policy.envelope.max_retry_count")

    with pytest.raises(AxmeValidationError) as info:
        client.update_intent_policy(intent_id, {"envelope_patch": {"ttl_seconds": 5}, "expected_policy_generation": 2})
    _stale(info.value, 3, ck, "stale policy")

    # Without expected_policy_generation it just applies.
    r = client.update_intent_policy(intent_id, {"grants_patch": {"delegate:agent://ops": None}})
    ck.eq(r.get("policy_generation"), 4, "unguarded policy -> generation 4")
    ck.true("delegate:agent://ops" not in ((r.get("policy") or {}).get("grants") or {}), "null removes the grant")

    ck.eq(client.get_intent(intent_id)["intent"].get("policy_generation"), 4, "get_intent policy_generation")
    ck.eq([e["seq"] for e in client.list_intent_events(intent_id)["events"]], [1, 2],
          "controls/policy changes emit no lifecycle event")
    ck.done()


def test_resolve_and_resume_respect_cas(axp: Axp) -> None:
    client = axp.client()
    intent_id = _new_intent(client)
    client.update_intent_controls(intent_id, {"controls_patch": {"timeout_seconds": 60}})
    ck = Checks()
    with pytest.raises(AxmeValidationError) as info:
        client.resume_intent(intent_id, {"approve_current_step": True, "expected_policy_generation": 0})
    _stale(info.value, 1, ck, "stale resume")
    with pytest.raises(AxmeValidationError) as info:
        client.resolve_intent(intent_id, {"status": "COMPLETED", "expected_policy_generation": 0})
    _stale(info.value, 1, ck, "stale resolve")
    ck.eq(client.get_intent(intent_id)["intent"]["status"], "SUBMITTED", "stale calls change nothing")
    r = client.resolve_intent(intent_id, {"status": "COMPLETED", "expected_policy_generation": 1})
    ck.eq((r.get("event") or {}).get("event_type"), "intent.completed", "resolve with current generation")
    ck.eq(r.get("policy_generation"), 1, "resolve does not bump the generation")
    ck.done()


def test_controls_on_terminal_intent_is_409(axp: Axp) -> None:
    client = axp.client()
    intent_id = _new_intent(client)
    client.resolve_intent(intent_id, {"status": "COMPLETED"})
    with pytest.raises(AxmeValidationError) as info:
        client.update_intent_controls(intent_id, {"controls_patch": {"timeout_seconds": 5}})
    assert info.value.status_code == 409
    with pytest.raises(AxmeValidationError) as info:
        client.update_intent_policy(intent_id, {"envelope_patch": {"ttl_seconds": 5}})
    assert info.value.status_code == 409


def test_owner_scope_query_and_header(axp: Axp) -> None:
    """The SDK's owner_agent= (query) and x_owner_agent= (header) on intent actions; mismatch -> 400 (§1.2)."""
    client = axp.client()
    intent_id = _new_intent(client)
    r = client.update_intent_controls(intent_id, {"controls_patch": {"timeout_seconds": 30}},
                                      owner_agent=ADMIN_ADDRESS, x_owner_agent=ADMIN_ADDRESS)
    assert r["applied"] is True
    with pytest.raises(AxmeValidationError) as info:
        client.update_intent_controls(intent_id, {"controls_patch": {"timeout_seconds": 31}},
                                      owner_agent=ADMIN_ADDRESS, x_owner_agent="agent://someone/else/entirely")
    assert info.value.status_code == 400
    assert client.get_intent(intent_id)["intent"]["policy_generation"] == 1


def test_third_party_needs_a_grant(axp: Axp) -> None:
    """§4.7/§4.8: a caller that is neither the owner (from_agent) nor the target needs the
    `resume` / `update_controls` grant; the target itself needs none."""
    from axme_sdk import AxmeAuthError

    from axp_harness import unique

    target = axp.create_identity(unique("grant-target"))
    outsider = axp.create_identity(unique("grant-outsider"))
    owner = axp.client()
    intent_id = owner.send_intent(intent_body(target.agent_address))
    out_client = axp.client(outsider.api_key)
    ck = Checks()

    for name, call in [
        ("resume", lambda: out_client.resume_intent(intent_id, {"approve_current_step": True})),
        ("controls", lambda: out_client.update_intent_controls(intent_id, {"controls_patch": {"timeout_seconds": 9}})),
    ]:
        try:
            call()
            ck.true(False, f"outsider {name} without a grant was accepted")
        except AxmeAuthError as e:
            ck.eq(e.status_code, 403, f"outsider {name}: status")
            ck.eq(((e.body or {}).get("error") or {}).get("code"), "policy_denied", f"outsider {name}: code")

    owner.update_intent_policy(intent_id, {"grants_patch": {
        f"delegate:{outsider.agent_address}": {"allow": ["resume", "update_controls"]}}})
    r = out_client.update_intent_controls(intent_id, {"controls_patch": {"timeout_seconds": 9}})
    ck.eq(r.get("applied"), True, "outsider controls with grant")
    r = out_client.resume_intent(intent_id, {"approve_current_step": True})
    ck.eq((r.get("intent") or {}).get("status"), "IN_PROGRESS", "outsider resume with grant")
    r = axp.client(target.api_key).resume_intent(intent_id, {"action": "complete", "by": "target"})
    ck.eq((r.get("intent") or {}).get("status"), "COMPLETED", "target resume needs no grant")
    ck.done()
