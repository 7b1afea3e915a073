"""Many intents at once: several callers, one listening agent, every lifecycle complete and gap-free."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from axp_harness import AgentThread, Axp, Checks, check_seq_contiguous, intent_body, statuses, unique

N_INTENTS = 24
N_CALLERS = 4


def test_many_intents_one_agent(axp: Axp) -> None:
    worker = axp.create_identity(unique("busy"))
    sent: set[str] = set()
    done: dict[str, Any] = {}

    def handle(client, d: dict[str, Any]) -> None:
        iid = d.get("intent_id")
        if d.get("status") in ("DELIVERED", "CREATED", "IN_PROGRESS") and iid not in done:
            done[iid] = client.resume_intent(iid, {"action": "complete", "echo": d.get("payload")})

    agent = AgentThread(axp.client(worker.api_key), worker.agent_address, handler=handle,
                        stop_when=lambda a: len(sent) == N_INTENTS and sent <= set(done),
                        wait_seconds=5, timeout_seconds=90)
    agent.start()

    callers = [axp.client() for _ in range(N_CALLERS)]

    def send(i: int) -> str:
        return callers[i % N_CALLERS].send_intent(intent_body(worker.agent_address, payload={"i": i}))

    with ThreadPoolExecutor(N_CALLERS) as pool:
        ids = list(pool.map(send, range(N_INTENTS)))
    sent.update(ids)
    assert len(sent) == N_INTENTS

    def observe(iid: str) -> list[dict[str, Any]]:
        c = callers[hash(iid) % N_CALLERS]
        return list(c.observe(iid, wait_seconds=10, timeout_seconds=90))

    with ThreadPoolExecutor(8) as pool:
        lifecycles = dict(zip(ids, pool.map(observe, ids)))
    agent.join_checked(timeout=60)

    ck = Checks()
    for i, iid in enumerate(ids):
        evs = lifecycles[iid]
        ck.eq(statuses(evs), ["CREATED", "SUBMITTED", "DELIVERED", "IN_PROGRESS", "COMPLETED"], f"intent #{i} statuses")
        check_seq_contiguous(ck, evs, f"intent #{i}")
        ck.eq(((evs[-1].get("details") or {}).get("result") or {}).get("echo") if evs else None, {"i": i},
              f"intent #{i} result")
    cursors = [d.get("seq") for d in agent.deliveries]
    ck.eq(cursors, sorted(cursors), "agent cursor is non-decreasing on one stream")
    ck.done()
