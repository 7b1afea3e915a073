"""MCP at POST /mcp through the official SDK (contract §6 "MCP"): `mcp_initialize`,
`mcp_list_tools` (its cached inputSchemas then check arguments client-side) and `mcp_call_tool`
for check_nick and a send -> get_intent -> observe -> resume flow between two keys, plus the
RPC error codes the SDK maps to its exceptions."""

from __future__ import annotations

import uuid

import pytest
from axme_sdk import AxmeAuthError, AxmeValidationError

from axp_harness import Axp, unique


def test_mcp_session_and_tools_through_the_sdk(axp: Axp) -> None:
    worker = axp.create_identity(unique("mcp-worker"), agent_address=f"agent://e2e/{uuid.uuid4().hex[:8]}/worker")
    sender = axp.client()
    agent = axp.client(worker.api_key)

    init = sender.mcp_initialize()
    assert init["protocolVersion"] == "2024-11-05"
    assert init["capabilities"]["tools"]["listChanged"] is False
    assert init["serverInfo"]["name"] == "axp"

    tools = {t["name"]: t for t in sender.mcp_list_tools()["tools"]}
    for name in ("axme.check_nick", "axme.send", "axme.reply", "axme.list_inbox", "axme.resolve_contact",
                 "axme.get_intent", "axme.observe", "axme.resume", "axme.resolve"):
        assert tools[name]["inputSchema"]["type"] == "object", name
    agent.mcp_list_tools()

    nick = f"@mcp_{uuid.uuid4().hex[:8]}"
    checked = sender.mcp_call_tool("axme.check_nick", arguments={"nick": nick})
    assert (checked["ok"], checked["tool"], checked["status"]) == (True, "axme.check_nick", "completed")
    assert checked["data"]["nick"] == nick and checked["data"]["available"] is True

    key = str(uuid.uuid4())
    sent = sender.mcp_call_tool(
        "axme.send",
        arguments={"to": worker.agent_address, "text": "count the widgets", "payload": {"bin": 7}},
        idempotency_key=key,
    )
    assert sent["status"] == "completed", sent
    intent_id = sent["data"]["intent_id"]
    replay = sender.mcp_call_tool("axme.send", arguments={"to": worker.agent_address, "text": "count the widgets",
                                                          "payload": {"bin": 7}}, idempotency_key=key)
    assert replay["data"]["intent_id"] == intent_id

    got = agent.mcp_call_tool("axme.get_intent", arguments={"intent_id": intent_id})
    assert got["data"]["intent"]["to_agent"] == worker.agent_address
    assert got["data"]["intent"]["payload"] == {"bin": 7, "text": "count the widgets"}

    observed = sender.mcp_call_tool("axme.observe", arguments={"intent_id": intent_id, "since": 0})
    seen = observed["data"]["next_since"]
    assert seen >= 2 and [e["seq"] for e in observed["data"]["events"]][:2] == [1, 2]

    resumed = agent.mcp_call_tool(
        "axme.resume", arguments={"intent_id": intent_id, "action": "complete", "result": {"widgets": 42}}
    )
    assert resumed["data"]["intent"]["status"] == "COMPLETED", resumed

    after = sender.mcp_call_tool("axme.observe", arguments={"intent_id": intent_id, "since": seen, "wait_seconds": 5})
    new = after["data"]["events"]
    assert new and all(e["seq"] > seen for e in new)
    assert new[-1]["event_type"] == "intent.completed"

    # Resolving it again ran and failed: a failed result, not an exception.
    late = sender.mcp_call_tool("axme.resolve", arguments={"intent_id": intent_id, "status": "CANCELED"})
    assert (late["status"], late["data"]["error"]["code"]) == ("failed", "invalid_state_transition")


def test_mcp_errors_map_to_sdk_exceptions(axp: Axp) -> None:
    viewer = axp.create_identity(unique("mcp-viewer"), role="security_auditor")
    agent_id = axp.create_identity(unique("mcp-agent"))
    viewer_client = axp.client(viewer.api_key)
    agent_client = axp.client(agent_id.api_key)

    # -32003: a viewer sends nothing; an agent key reads no other owner's inbox.
    with pytest.raises(AxmeAuthError):
        viewer_client.mcp_call_tool("axme.send", arguments={"to": "target", "text": "hi"})
    with pytest.raises(AxmeAuthError):
        agent_client.mcp_call_tool("axme.list_inbox", owner_agent=axp.admin_address)

    # -32602: arguments the server refuses (the SDK's own schema check is off here).
    sender = axp.client()
    with pytest.raises(AxmeValidationError):
        sender.mcp_call_tool("axme.send", arguments={"text": "no recipient"}, validate_input_schema=False)
    # With the schemas cached, the SDK refuses a wrongly typed argument before sending.
    sender.mcp_list_tools()
    with pytest.raises(ValueError):
        sender.mcp_call_tool("axme.observe", arguments={"intent_id": str(uuid.uuid4()), "since": "zero"})
