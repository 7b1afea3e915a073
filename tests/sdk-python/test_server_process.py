"""The process contract: first start bootstraps admin.key, SIGTERM exits cleanly, data survives a restart."""

from __future__ import annotations

import stat
import uuid

from axp_harness import ADMIN_ADDRESS, Axp, intent_body


def test_first_start_bootstrap(fresh_axp: Axp) -> None:
    server = fresh_axp.server
    key_file = server.data_dir / "admin.key"
    assert key_file.read_text().strip() == fresh_axp.admin_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600, oct(key_file.stat().st_mode)
    # Logs go to stderr. Stdout carries the listening line, and on first start at most one
    # admin-key notice before it (DESIGN: "prints it once and writes it to <data-dir>/admin.key").
    listening = f"axp listening on {fresh_axp.base_url}"
    assert server.stdout_lines[-1] == listening, server.stdout_lines
    others = server.stdout_lines[:-1]
    assert len(others) <= 1 and all(fresh_axp.admin_key in ln for ln in others), (
        f"unexpected stdout lines before the listening line: {others!r}")
    client = fresh_axp.client()
    iid = client.send_intent(intent_body("agent://e2e/boot/x"))
    assert client.get_intent(iid)["intent"]["from_agent"] == ADMIN_ADDRESS
    # The default agent address of a new service account is agent://default/default/<name>.
    ident = fresh_axp.create_identity("boot-agent")
    assert ident.agent_address == "agent://default/default/boot-agent"


def test_sigterm_then_restart_keeps_data(axp_factory) -> None:
    server, handle = axp_factory()
    client = handle.client()
    key = handle.admin_key
    iid = client.send_intent(intent_body(f"agent://e2e/{uuid.uuid4().hex[:8]}/restart"))
    client.resolve_intent(iid, {"status": "COMPLETED", "result": {"kept": True}})
    events_before = client.list_intent_events(iid)["events"]
    handle.close()

    rc = server.stop()
    assert rc == 0, f"SIGTERM should shut down gracefully with exit code 0, got {rc}\n{server.stderr_tail()}"

    server2, handle2 = axp_factory(server.data_dir)
    assert handle2.admin_key == key, "admin.key is created once and reused"
    assert server2.stdout_lines == [f"axp listening on {handle2.base_url}"], (
        f"a restart prints only the listening line on stdout: {server2.stdout_lines!r}")
    client2 = handle2.client()
    intent = client2.get_intent(iid)["intent"]
    assert intent["status"] == "COMPLETED"
    assert intent.get("result") == {"kept": True}
    assert client2.list_intent_events(iid)["events"] == events_before
    # New intents work on the restarted process.
    iid2 = client2.send_intent(intent_body("agent://e2e/restart/y"))
    assert [e["seq"] for e in client2.list_intent_events(iid2)["events"]] == [1, 2]


def test_sigterm_with_open_streams_exits_promptly(axp_factory) -> None:
    """Graceful shutdown must not wait out open long-poll SSE windows (up to 60 s)."""
    import threading
    import time

    from axp_harness import read_sse

    server, handle = axp_factory()
    client = handle.client()
    iid = client.send_intent(intent_body("agent://e2e/shutdown/x"))
    opened = [threading.Event(), threading.Event()]
    results: list = []

    def stream(i: int, path: str) -> None:
        try:
            results.append(read_sse(handle.http(handle.admin_key), path, {"since": 2, "wait_seconds": 60},
                                    deadline_s=90, on_open=opened[i].set))
        except Exception as exc:  # a reset connection is fine too
            results.append(exc)
            opened[i].set()

    threads = [
        threading.Thread(target=stream, args=(0, f"/v1/intents/{iid}/events/stream"), daemon=True),
        threading.Thread(target=stream, args=(1, "/v1/agents/e2e/shutdown/x/intents/stream"), daemon=True),
    ]
    for t in threads:
        t.start()
    for ev in opened:
        assert ev.wait(15), "stream did not open"
    t0 = time.monotonic()
    rc = server.stop(timeout=15)
    elapsed = time.monotonic() - t0
    assert rc == 0, f"exit code {rc}\n{server.stderr_tail()}"
    assert elapsed < 10, f"shutdown took {elapsed:.1f}s with open SSE streams"
    for t in threads:
        t.join(15)
        assert not t.is_alive(), "client stream still open after the server exited"
