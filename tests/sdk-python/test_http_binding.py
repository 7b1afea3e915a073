"""The `http` delivery binding with the real SDK: the server POSTs intents to an agent's endpoint,
signed twice (X-AXME-Signature and Standard Webhooks, verified here with the independent
`standardwebhooks` package), retries failures and fails the intent once `max_delivery_attempts`
is spent. The server under test runs with AXP_OUTBOUND_ALLOW=127.0.0.0/8 and a fast retry
schedule (conftest.py). Contract §4.10, §5.4; issue 4."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import queue
import threading
from typing import Any

from standardwebhooks.webhooks import Webhook

from axp_harness import Axp, intent_body, statuses, unique


class Receiver:
    """A real HTTP endpoint on 127.0.0.1:0 answering from a script of status codes (then 200)."""

    def __init__(self, script: list[int] | None = None) -> None:
        self.script = list(script or [])
        self.requests: "queue.Queue[tuple[dict[str, str], bytes]]" = queue.Queue()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                outer.requests.put(({k.lower(): v for k, v in self.headers.items()}, body))
                status = outer.script.pop(0) if outer.script else 200
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def next(self, timeout: float = 30.0) -> tuple[dict[str, str], bytes]:
        return self.requests.get(timeout=timeout)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def register_http_agent(axp: Axp, url: str) -> tuple[str, str, str]:
    """A service account with the http binding and its own key: (address, secret, api_key)."""
    name = unique("hook")
    r = axp.admin_http.post(
        "/v1/service-accounts",
        json={"name": name, "delivery_mode": "http", "delivery_config": {"url": url}},
    )
    assert r.status_code == 200, r.text
    sa = r.json()["service_account"]
    secret = sa["delivery_config"]["secret"]
    key = axp.admin_http.post(f"/v1/service-accounts/{sa['service_account_id']}/keys", json={}).json()["key"]
    return sa["agent_address"], secret, key["token"]


def test_http_agent_receives_a_verifiable_push_and_resumes(axp: Axp) -> None:
    receiver = Receiver()
    try:
        address, secret, agent_key = register_http_agent(axp, receiver.url)
        caller = axp.client()
        intent_id = caller.send_intent(intent_body(address, payload={"report": "Q1"}))

        headers, body = receiver.next()
        # Standard Webhooks, checked by the reference implementation (raises on a bad signature).
        frame = Webhook(secret).verify(body, headers)
        # AXME receivers: HMAC-SHA256 over the raw body with the shared secret.
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["x-axme-signature"] == expected
        assert frame["intent_id"] == intent_id
        assert frame["status"] == "DELIVERED"
        assert frame["payload"] == {"report": "Q1"}

        agent = axp.client(agent_key)
        agent.resume_intent(intent_id, {"action": "complete", "report_url": "https://reports.example/q1"})
        events = list(caller.observe(intent_id, wait_seconds=10, timeout_seconds=60))
        assert statuses(events) == ["CREATED", "SUBMITTED", "DELIVERED", "IN_PROGRESS", "COMPLETED"]
        assert events[-1]["details"]["result"]["report_url"] == "https://reports.example/q1"
    finally:
        receiver.close()


def test_failed_pushes_exhaust_max_delivery_attempts(axp: Axp) -> None:
    receiver = Receiver(script=[500, 500, 500])
    try:
        address, _, _ = register_http_agent(axp, receiver.url)
        caller = axp.client()
        intent_id = caller.send_intent(intent_body(address, max_delivery_attempts=2))
        events = list(caller.observe(intent_id, wait_seconds=10, timeout_seconds=60))
        last = events[-1]
        assert last["event_type"] == "intent.delivery_failed"
        assert last["status"] == "FAILED"
        assert last["details"]["delivery_attempt"] == 2
        assert caller.get_intent(intent_id)["intent"]["status"] == "FAILED"
        receiver.next()
        receiver.next()
        assert receiver.requests.empty(), "no attempt after the intent failed"
    finally:
        receiver.close()


def test_an_unacknowledged_stream_delivery_is_redelivered_then_fails(axp: Axp) -> None:
    """A listening agent that never acknowledges: its lease (1 s here) runs out, the intent is
    delivered again with delivery_attempt 2, then fails with intent.delivery_failed."""
    worker = axp.create_identity(unique("silent"))
    caller = axp.client()
    intent_id = caller.send_intent(intent_body(worker.agent_address, max_delivery_attempts=2, lease_seconds=1))
    agent = axp.client(worker.api_key)
    deliveries = []
    for delivery in agent.listen(worker.agent_address, wait_seconds=5, timeout_seconds=30):
        if delivery.get("intent_id") == intent_id:
            deliveries.append(delivery)
        if len(deliveries) == 2:
            break
    assert [d["delivery_attempt"] for d in deliveries] == [1, 2]
    events = list(caller.observe(intent_id, wait_seconds=10, timeout_seconds=60))
    assert events[-1]["event_type"] == "intent.delivery_failed"
    assert events[-1]["status"] == "FAILED"
    redelivered = [e for e in events if e["event_type"] == "intent.delivered"]
    assert [e["details"]["delivery_attempt"] for e in redelivered] == [1, 2]
    assert redelivered[1]["details"]["redelivery"] is True
