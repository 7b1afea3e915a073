"""Appendix A checks 9-18 (inbox, approvals, capabilities) against the real binary, sent the way
the conformance suite sends them: `Authorization: Bearer <api key>` only, with a key whose agent
is `agent://conformance/owner` (§0.6), which never seeds its own inbox."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from axp_harness import Axp, is_uuid

O = "agent://conformance/owner"


def payload(reply_to: str | None = None) -> dict[str, Any]:
    p: dict[str, Any] = {"intent_type": "notify.message.v1", "correlation_id": str(uuid.uuid4()),
                         "from_agent": "agent://conformance/sender", "to_agent": "agent://conformance/receiver",
                         "payload": {"text": "hello from conformance"}}
    if reply_to:
        p["reply_to"] = reply_to
    return p


def thread_shape(t: dict[str, Any]) -> None:
    for key in ("thread_id", "intent_id", "status", "owner_agent", "from_agent", "to_agent", "created_at", "updated_at"):
        assert key in t, key
    assert is_uuid(t["thread_id"]) and is_uuid(t["intent_id"])
    assert isinstance(t["timeline"], list) and t["timeline"]


def test_appendix_a_inbox_approvals_capabilities(axp: Axp) -> None:
    owner = axp.identity_at(O, role="member")
    c = httpx.Client(base_url=axp.base_url, headers={"Authorization": f"Bearer {owner.api_key}",
                                                      "Content-Type": "application/json"}, timeout=15)
    try:
        # 9 completion delivery
        r = c.post("/v1/intents", json=payload("agent://conformance/reply-target"))
        intent_id = r.json()["intent_id"]
        r = c.post(f"/v1/intents/{intent_id}/resolve", json={"status": "COMPLETED", "result": {"ok": True}})
        assert r.status_code == 200 and r.json()["completion_delivery"]["delivered"] is True
        r = c.get("/v1/inbox", params={"owner_agent": "agent://conformance/reply-target"})
        assert any(t["thread_id"] == intent_id for t in r.json()["threads"])
        c.post("/v1/intents", json=payload())
        # 10, 11
        r = c.get("/v1/inbox", params={"owner_agent": O})
        assert r.status_code == 200 and r.json()["ok"] is True
        threads = r.json()["threads"]
        assert threads
        thread_shape(threads[0])
        tid = threads[0]["thread_id"]
        r = c.get(f"/v1/inbox/{tid}", params={"owner_agent": O})
        assert r.status_code == 200
        thread_shape(r.json()["thread"])
        # 12 reply
        r = c.post(f"/v1/inbox/{tid}/reply", params={"owner_agent": O}, json={"message": "ack from conformance"})
        assert r.status_code == 200
        thread_shape(r.json()["thread"])
        # 13 changes (+ the next page when has_more)
        r = c.get("/v1/inbox/changes", params={"owner_agent": O})
        body = r.json()
        assert r.status_code == 200 and isinstance(body["has_more"], bool)
        assert body["next_cursor"] is None or isinstance(body["next_cursor"], str)
        if body["changes"]:
            assert len(body["changes"][0]["cursor"]) >= 3
            thread_shape(body["changes"][0]["thread"])
        if body["has_more"]:
            assert c.get("/v1/inbox/changes", params={"owner_agent": O, "cursor": body["next_cursor"]}).status_code == 200
        # 14 delegate, 15 approve, 16 delete
        r = c.post(f"/v1/inbox/{tid}/delegate", params={"owner_agent": O},
                   json={"delegate_to": "agent://conformance/delegate", "note": "handoff"})
        assert r.status_code == 200
        thread_shape(r.json()["thread"])
        r = c.post(f"/v1/inbox/{tid}/approve", params={"owner_agent": O}, json={"comment": "approved in conformance"})
        assert r.status_code == 200
        thread_shape(r.json()["thread"])
        r = c.post(f"/v1/inbox/{tid}/messages/delete", params={"owner_agent": O}, json={"mode": "self", "limit": 1})
        body = r.json()
        assert r.status_code == 200 and body["mode"] in ("self", "both")
        assert isinstance(body["deleted_count"], int) and body["deleted_count"] >= 0
        assert isinstance(body["message_ids"], list)
        thread_shape(body["thread"])
        # 17 approvals
        r = c.post(f"/v1/approvals/{uuid.uuid4()}/decision", json={"decision": "approve", "comment": "approved by conformance"})
        a = r.json()["approval"]
        assert r.status_code == 200 and is_uuid(a["approval_id"]) and a["decision"] in ("approve", "reject")
        assert isinstance(a["decided_at"], str) and (a["comment"] is None or isinstance(a["comment"], str))
        # 18 capabilities
        r = c.get("/v1/capabilities")
        caps = r.json()
        assert r.status_code == 200 and caps["ok"] is True
        assert caps["capabilities"] and all(len(x) >= 3 for x in caps["capabilities"])
        assert caps["supported_intent_types"]
        assert all(re.match(r"^intent\..+\.v1$", t) for t in caps["supported_intent_types"])
    finally:
        c.close()
