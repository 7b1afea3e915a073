"""Fixtures: the real `axp` binary on 127.0.0.1:0, driven by the real `axme` SDK.

- `axp`        session-scoped server shared by most tests (each test makes its own ids/addresses);
- `fresh_axp`  a new server with an empty data dir for tests that need one (shutdown, restart);
- `axp_factory` start extra servers (e.g. restart on the same data dir).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator

import pytest

from axp_harness import Axp, AxpServer, ServerStartError, axp_binary


# Contract gaps of the current server that a later issue closes, by test id. They run as strict
# xfail (listed with their reason in every summary; an XPASS fails the run, so a fixed gap must be
# removed from this list); AXP_E2E_STRICT=1 runs them as ordinary tests.
KNOWN_SERVER_GAPS: dict[str, str] = {}

# Every server these tests start may push to loopback receivers and retries failed pushes at
# once (the defaults, 0s,30s,120s,600s and no loopback, are for production).
os.environ.setdefault("AXP_OUTBOUND_ALLOW", "127.0.0.0/8")
os.environ.setdefault("AXP_PUSH_RETRY_SCHEDULE", "0s,0s,0s")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("AXP_E2E_STRICT") == "1":
        return
    for item in items:
        reason = KNOWN_SERVER_GAPS.get(item.nodeid)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=f"known server gap: {reason}", strict=True))


def pytest_report_header(config: pytest.Config) -> list[str]:
    from importlib.metadata import version

    return [f"axp binary: {axp_binary()}", f"axme SDK: {version('axme')}"]


def _start(data_dir: Path, log_dir: Path) -> tuple[AxpServer, Axp]:
    server = AxpServer(data_dir, log_dir=log_dir)
    try:
        server.start()
    except ServerStartError as exc:
        pytest.fail(str(exc), pytrace=False)
    return server, Axp(server)


def _stop(server: AxpServer, handle: Axp) -> None:
    handle.close()
    if server.running:
        rc = server.stop()
    else:
        rc = server.proc.returncode if server.proc else None
    assert not server.running, f"axp pid {server.proc.pid if server.proc else '?'} still running after stop"
    if rc not in (0, None):
        # Not fatal for the tests that used it; test_server_process.py asserts a clean exit.
        print(f"\n[axp] pid {server.proc.pid if server.proc else '?'} exited with rc={rc}; stderr tail:\n{server.stderr_tail(30)}")


@pytest.fixture(scope="session")
def axp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Axp]:
    base = tmp_path_factory.mktemp("axp-session")
    server, handle = _start(base / "data", base)
    try:
        yield handle
    finally:
        _stop(server, handle)


@pytest.fixture
def fresh_axp(tmp_path: Path) -> Iterator[Axp]:
    server, handle = _start(tmp_path / "data", tmp_path)
    try:
        yield handle
    finally:
        _stop(server, handle)


@pytest.fixture
def axp_factory(tmp_path: Path) -> Iterator[Callable[..., tuple[AxpServer, Axp]]]:
    """Start servers on demand (`factory(data_dir=None)`); all are stopped at teardown."""
    started: list[tuple[AxpServer, Axp]] = []

    def factory(data_dir: Path | None = None) -> tuple[AxpServer, Axp]:
        d = data_dir or (tmp_path / f"data{len(started)}")
        pair = _start(d, tmp_path)
        started.append(pair)
        return pair

    try:
        yield factory
    finally:
        for server, handle in reversed(started):
            _stop(server, handle)


@pytest.fixture
def admin(axp: Axp):
    """An SDK client with the admin key (agent://default/default/admin)."""
    return axp.client()
