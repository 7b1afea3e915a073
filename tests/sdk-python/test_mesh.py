"""The agent mesh through the real SDK's `client.mesh` (contract §6 "Mesh", `axme_sdk/mesh.py`):
`heartbeat` with and without metrics, `list_agents` with health and a summary, `get_agent` with
metrics and events, `kill` (after which the agent's `send_intent` and intents to it fail with
403 `AxmeAuthError`) and `resume`, `list_events`; an agent key may not kill."""

from __future__ import annotations

import pytest
from axme_sdk import AxmeAuthError

from axp_harness import Axp, intent_body, is_uuid, unique


def test_heartbeat_list_and_detail(axp: Axp) -> None:
    worker = axp.create_identity(unique("mesh-worker"))
    agent = axp.client(worker.api_key)
    beat = agent.mesh.heartbeat()
    assert beat["ok"] is True and beat["address_id"] == worker.service_account_id
    assert beat["health_status"] == "healthy" and beat["killed"] is False and beat["last_heartbeat_at"]
    metrics = {"intents_total": 4, "intents_succeeded": 3, "intents_failed": 1, "avg_latency_ms": 20.0, "cost_usd": 0.5}
    assert agent.mesh.heartbeat(metrics=metrics)["health_status"] == "healthy"
    # The SDK's buffered observations are flushed with a heartbeat the same way.
    agent.mesh.report_metric(success=True, latency_ms=10.0, cost_usd=0.25)
    assert agent.mesh.heartbeat(metrics=agent.mesh._flush_metrics())["ok"] is True

    admin = axp.client()
    listed = admin.mesh.list_agents(limit=1000, health="healthy")
    mine = [a for a in listed["agents"] if a["address_id"] == worker.service_account_id]
    assert len(mine) == 1, listed
    assert mine[0]["address"] == worker.agent_address and mine[0]["intents_period"] == 5
    assert mine[0]["cost_period"] == pytest.approx(0.75)
    assert all(a["health_status"] == "healthy" for a in listed["agents"])
    summary = listed["summary"]
    assert set(summary) == {"total", "healthy", "degraded", "unreachable", "killed"}
    assert summary["healthy"] >= 1 and summary["total"] >= summary["healthy"]

    detail = admin.mesh.get_agent(worker.service_account_id)["agent"]
    assert detail["metrics"]["intents_total"] == 5 and detail["metrics"]["intents_failed"] == 1
    assert detail["metrics"]["avg_latency_ms"] == pytest.approx(18.0)
    assert [e["event_type"] for e in detail["events"]] == ["health.changed"]
    # A heartbeat counts as presence on the agents API too.
    assert admin.get_agent(worker.agent_address)["agent"]["connection_state"] == "connected"


def test_kill_blocks_the_agent_until_resumed(axp: Axp) -> None:
    target = axp.create_identity(unique("mesh-target"))
    sender = axp.create_identity(unique("mesh-sender"))
    admin = axp.client()
    as_target, as_sender = axp.client(target.api_key), axp.client(sender.api_key)

    with pytest.raises(AxmeAuthError) as refused:
        as_target.mesh.kill(target.service_account_id)
    assert refused.value.status_code == 403

    killed = admin.mesh.kill(target.service_account_id)
    assert killed["ok"] is True and killed["health_status"] == "killed" and killed["killed_at"]
    with pytest.raises(AxmeAuthError) as to_it:
        as_sender.send_intent(intent_body(target.agent_address))
    assert to_it.value.status_code == 403
    with pytest.raises(AxmeAuthError) as from_it:
        as_target.send_intent(intent_body(sender.agent_address))
    assert from_it.value.status_code == 403
    assert as_target.mesh.heartbeat()["killed"] is True
    assert any(a["address_id"] == target.service_account_id for a in admin.mesh.list_agents(limit=1000, health="killed")["agents"])

    resumed = admin.mesh.resume(target.service_account_id)
    assert resumed["ok"] is True and resumed["resumed_at"] and resumed["health_status"] == "healthy"
    assert is_uuid(as_sender.send_intent(intent_body(target.agent_address)))
    assert is_uuid(as_target.send_intent(intent_body(sender.agent_address)))

    events = admin.mesh.list_events(limit=500)["events"]
    mine = [e for e in events if e["address"] == target.agent_address]
    # Newest first; the heartbeat while killed logged no health change.
    assert [e["event_type"] for e in mine] == ["agent.resumed", "agent.killed"], mine
    assert mine[1]["actor_id"] and mine[1]["details"] is None
    assert all(is_uuid(e["event_id"]) and e["created_at"] for e in mine)
    only_kills = admin.mesh.list_events(event_type="agent.killed")["events"]
    assert only_kills and all(e["event_type"] == "agent.killed" for e in only_kills)
