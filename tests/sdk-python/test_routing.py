"""Routing through the real SDK (contract §6 "routing", §5.5, §5.6; docs/routing.md): routing
endpoints, resolution, transport bindings and routed deliveries, with every official method of
`AxmeClient` for them, onto a queue agent and a real http push receiver."""

from __future__ import annotations

import json
import time

import pytest
from axme_sdk import AxmeAuthError, AxmeHttpError, AxmeValidationError

from axp_harness import Axp, is_uuid, unique
from test_http_binding import Receiver, register_http_agent

ROUTE_FIELDS = {
    "route_id", "principal_id", "org_id", "workspace_id", "transport_type", "endpoint_url", "auth_mode", "region",
    "cluster_id", "failover_policy", "priority", "health_status", "status", "metadata", "created_at", "updated_at",
}
BINDING_FIELDS = {
    "binding_id", "principal_id", "org_id", "workspace_id", "transport_type", "transport_handle", "priority",
    "status", "metadata", "created_at", "updated_at",
}
DELIVERY_FIELDS = {
    "delivery_id", "replay_of_delivery_id", "org_id", "workspace_id", "principal_id", "alias", "transport_type",
    "route_id", "status", "correlation_id", "idempotency_key", "payload", "error_detail", "created_at", "updated_at",
    # axp's additions (docs/routing.md)
    "intent_id", "to_agent",
}


def _principal(axp: Axp) -> tuple[str, str, str]:
    """A principal of the admin's workspace: (org_id, workspace_id, principal_id)."""
    agent = axp.create_identity(unique("scope"))
    org_id, ws_id = agent.raw_sa["org_id"], agent.raw_sa["workspace_id"]
    body = {"org_id": org_id, "workspace_id": ws_id, "principal_type": "service_agent"}
    principal = axp.client().create_principal(body)["principal"]
    return org_id, ws_id, principal["principal_id"]


def test_routes_resolve_by_priority_and_health(axp: Axp) -> None:
    admin = axp.client()
    org_id, ws_id, principal_id = _principal(axp)
    slow = admin.register_routing_endpoint(
        {"principal_id": principal_id, "transport_type": "queue", "endpoint_url": "queue://slow-lane",
         "auth_mode": "none", "priority": 50}
    )["route"]
    fast = admin.register_routing_endpoint(
        {"principal_id": principal_id, "transport_type": "queue", "endpoint_url": "queue://fast-lane",
         "auth_mode": "none", "priority": 5, "metadata": {"lane": "fast"}}
    )["route"]
    assert set(fast) == ROUTE_FIELDS and fast["health_status"] == "unknown" and fast["status"] == "active"
    listed = admin.list_routing_endpoints(org_id=org_id, workspace_id=ws_id)["routes"]
    assert {r["route_id"] for r in listed} >= {slow["route_id"], fast["route_id"]}

    alias = unique("lane")
    admin.bind_alias({"principal_id": principal_id, "alias": alias, "alias_type": "service"})
    resolution = admin.resolve_routing({"org_id": org_id, "workspace_id": ws_id, "alias": alias})["resolution"]
    assert resolution["alias"]["alias"] == alias
    assert resolution["principal"]["principal_id"] == principal_id
    assert resolution["selected_route"]["route_id"] == fast["route_id"]
    assert resolution["resolver_chain"] == ["alias", "principal_id", "endpoint_route", "transport_dispatch"]

    sick = admin.update_routing_endpoint(fast["route_id"], {"health_status": "unhealthy"})["route"]
    assert sick["health_status"] == "unhealthy" and sick["priority"] == 5
    resolution = admin.resolve_routing({"org_id": org_id, "workspace_id": ws_id, "principal_id": principal_id})
    assert resolution["resolution"]["selected_route"]["route_id"] == slow["route_id"]
    assert [r["route_id"] for r in resolution["resolution"]["candidate_routes"]] == [slow["route_id"], fast["route_id"]]

    removed = admin.remove_routing_endpoint(fast["route_id"])
    assert removed["route"] == {"route_id": fast["route_id"], "removed": True}
    with pytest.raises(AxmeHttpError) as missing:
        admin.remove_routing_endpoint(fast["route_id"])
    assert missing.value.status_code == 404
    with pytest.raises(AxmeValidationError):
        admin.register_routing_endpoint(
            {"principal_id": principal_id, "transport_type": "matrix", "endpoint_url": "!ops:matrix.org",
             "auth_mode": "none"}
        )


def test_a_routed_delivery_reaches_a_queue_agent_and_replays(axp: Axp) -> None:
    admin = axp.client()
    org_id, ws_id, principal_id = _principal(axp)
    agent = axp.create_identity(unique("worker"))
    admin.register_routing_endpoint(
        {"principal_id": principal_id, "transport_type": "queue", "endpoint_url": "queue://workers",
         "auth_mode": "none"}
    )
    binding = admin.upsert_transport_binding(
        {"principal_id": principal_id, "transport_type": "queue", "transport_handle": agent.agent_address}
    )["binding"]
    assert set(binding) == BINDING_FIELDS and binding["priority"] == 100 and binding["status"] == "active"
    bindings = admin.list_transport_bindings(org_id=org_id, workspace_id=ws_id)["bindings"]
    assert binding["binding_id"] in {b["binding_id"] for b in bindings}

    key = unique("deliver")
    sent = admin.submit_delivery(
        {"org_id": org_id, "workspace_id": ws_id, "principal_id": principal_id, "payload": {"sku": "A-1"},
         "correlation_id": "order-1", "idempotency_key": key}
    )["delivery"]
    assert set(sent) == DELIVERY_FIELDS
    assert is_uuid(sent["delivery_id"]) and sent["status"] == "submitted" and sent["transport_type"] == "queue"
    assert (sent["to_agent"], sent["correlation_id"], sent["idempotency_key"]) == (agent.agent_address, "order-1", key)

    # The agent finds it where its queue is read: the intent carries the payload.
    worker = axp.client(agent.api_key)
    intent = worker.get_intent(sent["intent_id"])["intent"]
    assert intent["to_agent"] == agent.agent_address and intent["payload"] == {"sku": "A-1"}

    got = admin.get_delivery(sent["delivery_id"])["delivery"]
    assert got["delivery_id"] == sent["delivery_id"] and got["payload"] == {"sku": "A-1"}
    replayed = admin.replay_delivery(sent["delivery_id"])["delivery"]
    assert replayed["replay_of_delivery_id"] == sent["delivery_id"] and replayed["intent_id"] != sent["intent_id"]
    mine = admin.list_deliveries(org_id=org_id, workspace_id=ws_id, principal_id=principal_id)["deliveries"]
    assert [d["delivery_id"] for d in mine] == [replayed["delivery_id"], sent["delivery_id"]]
    submitted = admin.list_deliveries(org_id=org_id, workspace_id=ws_id, principal_id=principal_id, status="failed")
    assert submitted["deliveries"] == []

    # An agent-scoped key may not route.
    with pytest.raises(AxmeAuthError):
        worker.upsert_transport_binding(
            {"principal_id": principal_id, "transport_type": "queue", "transport_handle": agent.agent_address}
        )
    removed = admin.remove_transport_binding(binding["binding_id"])
    assert removed["binding"] == {"binding_id": binding["binding_id"], "removed": True}


def test_a_webhook_binding_pushes_a_routed_delivery(axp: Axp) -> None:
    receiver = Receiver()
    try:
        admin = axp.client()
        org_id, ws_id, principal_id = _principal(axp)
        address, _secret, _key = register_http_agent(axp, receiver.url)
        admin.register_routing_endpoint(
            {"principal_id": principal_id, "transport_type": "webhook", "endpoint_url": receiver.url,
             "auth_mode": "signed_key"}
        )
        admin.upsert_transport_binding(
            {"principal_id": principal_id, "transport_type": "webhook", "transport_handle": address}
        )
        sent = admin.submit_delivery(
            {"org_id": org_id, "workspace_id": ws_id, "principal_id": principal_id, "payload": {"ping": 1}}
        )["delivery"]
        headers, body = receiver.next()
        frame = json.loads(body)
        assert frame["intent_id"] == sent["intent_id"] and frame["payload"] == {"ping": 1}
        assert headers["x-axme-signature"].startswith("sha256=")
        deadline = time.monotonic() + 30
        status = sent["status"]
        while status != "delivered" and time.monotonic() < deadline:
            status = admin.get_delivery(sent["delivery_id"])["delivery"]["status"]
        assert status == "delivered"
    finally:
        receiver.close()
