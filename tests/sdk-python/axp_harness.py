"""Harness for the end-to-end tests: spawn the real `axp` binary, create identities,
hand out real `axme` SDK clients, run listening agents in threads, read raw SSE.

Nothing here sleeps to wait for something: the server start blocks on its stdout line,
agents block on the SDK's SSE stream, and every wait has a deadline.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx
from axme_sdk import AxmeClient, AxmeClientConfig

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
DEFAULT_BIN = REPO_ROOT / "target" / "debug" / "axp"

LISTEN_LINE = re.compile(r"^axp listening on (http://127\.0\.0\.1:(\d+))$")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0

TERMINAL = {"COMPLETED", "FAILED", "CANCELED", "TIMED_OUT"}
ADMIN_ADDRESS = "agent://default/default/admin"

# event_type -> status the event must carry (contract §3.2)
EVENT_STATUS = {
    "intent.created": "CREATED",
    "intent.submitted": "SUBMITTED",
    "intent.delivered": "DELIVERED",
    "intent.acknowledged": "ACKNOWLEDGED",
    "intent.in_progress": "IN_PROGRESS",
    "intent.waiting": "WAITING",
    "intent.completed": "COMPLETED",
    "intent.failed": "FAILED",
    "intent.canceled": "CANCELED",
    "intent.timed_out": "TIMED_OUT",
    "intent.delivery_failed": "FAILED",
}


def axp_binary() -> Path:
    return Path(os.environ.get("AXP_BIN") or DEFAULT_BIN)


def is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _set_pdeathsig() -> None:  # pragma: no cover - runs in the child
    """Linux: kill the server if the test process dies without tearing down."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except Exception:
        pass


# --------------------------------------------------------------------------------------
# Server process
# --------------------------------------------------------------------------------------


class ServerStartError(RuntimeError):
    pass


class AxpServer:
    """One `axp serve` process on 127.0.0.1:0 with its own data dir."""

    def __init__(self, data_dir: Path, *, binary: Path | None = None, log_dir: Path | None = None) -> None:
        self.binary = Path(binary or axp_binary())
        self.data_dir = Path(data_dir)
        self.log_dir = Path(log_dir or self.data_dir.parent)
        self.proc: subprocess.Popen[str] | None = None
        self.base_url: str | None = None
        self.port: int | None = None
        self.admin_key: str | None = None
        self.stdout_lines: list[str] = []
        self.returncode: int | None = None
        self.stderr_path: Path | None = None
        self._stdout_q: "queue.Queue[str | None]" = queue.Queue()
        self._reader: threading.Thread | None = None
        self._start_count = 0

    # -- lifecycle -----------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT_S) -> "AxpServer":
        if not self.binary.is_file() or not os.access(self.binary, os.X_OK):
            raise ServerStartError(
                f"axp binary not found or not executable at {self.binary} "
                "(build it with `cargo build -p axp`, or set AXP_BIN)"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._start_count += 1
        self.stderr_path = self.log_dir / f"axp-stderr-{self._start_count}.log"
        self.stdout_lines = []
        self._stdout_q = queue.Queue()
        self.returncode = None
        stderr_f = open(self.stderr_path, "wb")
        cmd = [str(self.binary), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir)]
        env = dict(os.environ)
        env.setdefault("RUST_BACKTRACE", "1")
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr_f,
            text=True,
            bufsize=1,
            env=env,
            preexec_fn=_set_pdeathsig if sys.platform.startswith("linux") else None,
        )
        stderr_f.close()
        self._reader = threading.Thread(target=self._read_stdout, name=f"axp-stdout-{self.proc.pid}", daemon=True)
        self._reader.start()

        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._abort()
                raise ServerStartError(
                    f"axp did not print its listening line within {timeout:.0f}s; stdout={self.stdout_lines!r}\n"
                    f"stderr tail:\n{self.stderr_tail()}"
                )
            try:
                line = self._stdout_q.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                rc = self.proc.wait(timeout=5)
                raise ServerStartError(
                    f"axp exited (rc={rc}) before printing its listening line; stdout={self.stdout_lines!r}\n"
                    f"stderr tail:\n{self.stderr_tail()}"
                )
            m = LISTEN_LINE.match(line)
            if m:
                self.base_url = m.group(1)
                self.port = int(m.group(2))
                break
        key_path = self.data_dir / "admin.key"
        if not key_path.is_file():
            self._abort()
            raise ServerStartError(f"{key_path} does not exist after the listening line was printed")
        key_lines = [ln for ln in key_path.read_text().splitlines() if ln.strip()]
        if len(key_lines) != 1:
            self._abort()
            raise ServerStartError(f"{key_path} must hold exactly one line, got {len(key_lines)}")
        self.admin_key = key_lines[0].strip()
        return self

    def _read_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.rstrip("\r\n")
            self.stdout_lines.append(line)
            self._stdout_q.put(line)
        self._stdout_q.put(None)

    def _abort(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM by PID, wait for exit; SIGKILL (and raise) if it does not exit in time."""
        if self.proc is None:
            raise RuntimeError("server was never started")
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
                self.returncode = self.proc.returncode
                raise RuntimeError(
                    f"axp (pid {self.proc.pid}) did not exit within {timeout:.0f}s of SIGTERM; killed"
                )
        if self._reader is not None:
            self._reader.join(timeout=5)
        self.returncode = self.proc.returncode
        return self.returncode

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stderr_tail(self, n: int = 60) -> str:
        if self.stderr_path is None or not self.stderr_path.exists():
            return "<no stderr>"
        lines = self.stderr_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])


# --------------------------------------------------------------------------------------
# What the fixtures hand to tests
# --------------------------------------------------------------------------------------


@dataclass
class Identity:
    name: str
    service_account_id: str
    agent_address: str
    api_key: str
    key_id: str | None
    raw_sa: dict[str, Any] = field(default_factory=dict)
    raw_key: dict[str, Any] = field(default_factory=dict)


class Axp:
    """A running server plus helpers: admin HTTP, identities, SDK client factory, raw SSE."""

    def __init__(self, server: AxpServer) -> None:
        self.server = server
        assert server.base_url and server.admin_key
        self.base_url: str = server.base_url
        self.admin_key: str = server.admin_key
        self.admin_address = ADMIN_ADDRESS
        self._clients: list[AxmeClient] = []
        self._http: list[httpx.Client] = []
        self.admin_http = self.http(self.admin_key)

    # -- plain HTTP -------------------------------------------------------------------

    def http(self, api_key: str | None, *, bearer: bool = False, timeout: float = 15.0) -> httpx.Client:
        headers: dict[str, str] = {}
        if api_key is not None:
            if bearer:
                headers["Authorization"] = f"Bearer {api_key}"
            else:
                headers["x-api-key"] = api_key
        c = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        self._http.append(c)
        return c

    # -- identities ---------------------------------------------------------------------

    def create_identity(
        self, name: str | None = None, agent_address: str | None = None, role: str | None = None
    ) -> Identity:
        """POST /v1/service-accounts (+ /keys) with the admin key; with `role`, also a membership
        of the admin's workspace (POST /v1/organizations/{org_id}/members): without one the key
        is agent-scoped and acts only as its own address (docs/access.md)."""
        name = name or unique("e2e")
        body: dict[str, Any] = {"name": name}
        if agent_address is not None:
            body["agent_address"] = agent_address
        r = self.admin_http.post("/v1/service-accounts", json=body)
        assert r.status_code == 200, f"POST /v1/service-accounts {body} -> {r.status_code} {r.text}"
        sa = r.json()["service_account"]
        sa_id = sa["service_account_id"]
        expected_addr = agent_address or f"agent://default/default/{name}"
        assert sa.get("agent_address") == expected_addr, f"service_account.agent_address: {sa!r}"
        r = self.admin_http.post(f"/v1/service-accounts/{sa_id}/keys", json={})
        assert r.status_code == 200, f"POST /v1/service-accounts/{sa_id}/keys -> {r.status_code} {r.text}"
        key = r.json()["key"]
        if role is not None:
            org_id, workspace_id = sa["org_id"], sa["workspace_id"]
            member = {"org_id": org_id, "workspace_id": workspace_id, "actor_id": sa_id, "role": role}
            r = self.admin_http.post(f"/v1/organizations/{org_id}/members", json=member)
            assert r.status_code == 200, f"POST /v1/organizations/{org_id}/members -> {r.status_code} {r.text}"
        return Identity(
            name=name,
            service_account_id=sa_id,
            agent_address=sa["agent_address"],
            api_key=key["token"],
            key_id=key.get("key_id"),
            raw_sa=sa,
            raw_key=key,
        )

    def identity_at(self, agent_address: str, role: str | None = None) -> Identity:
        """A new key of the service account with `agent_address`, made if there is none yet
        (servers sharing one PostgreSQL database share their accounts), holding `role` when
        given (an existing membership is kept)."""
        r = self.admin_http.get("/v1/service-accounts", params={"limit": 1000})
        assert r.status_code == 200, r.text
        found = [sa for sa in r.json()["service_accounts"] if sa["agent_address"] == agent_address]
        if not found:
            return self.create_identity(unique("address-owner"), agent_address=agent_address, role=role)
        sa = found[0]
        sa_id = sa["service_account_id"]
        if role is not None:
            org_id = sa["org_id"]
            member = {"org_id": org_id, "workspace_id": sa["workspace_id"], "actor_id": sa_id, "role": role}
            r = self.admin_http.post(f"/v1/organizations/{org_id}/members", json=member)
            assert r.status_code in (200, 409), f"membership -> {r.status_code} {r.text}"
        r = self.admin_http.post(f"/v1/service-accounts/{sa_id}/keys", json={})
        assert r.status_code == 200, f"POST /v1/service-accounts/{sa_id}/keys -> {r.status_code} {r.text}"
        key = r.json()["key"]
        return Identity(
            name=sa["name"],
            service_account_id=sa_id,
            agent_address=agent_address,
            api_key=key["token"],
            key_id=key.get("key_id"),
            raw_sa=sa,
            raw_key=key,
        )

    # -- SDK clients ---------------------------------------------------------------------

    def client(self, api_key: str | None = None, **config: Any) -> AxmeClient:
        """A real `AxmeClient(AxmeClientConfig(base_url=..., api_key=...))`; closed at teardown."""
        cfg = AxmeClientConfig(base_url=self.base_url, api_key=api_key or self.admin_key, **config)
        c = AxmeClient(cfg)
        self._clients.append(c)
        return c

    def close(self) -> None:
        for c in self._clients:
            try:
                c.close()
            except Exception:
                pass
        for h in self._http:
            try:
                h.close()
            except Exception:
                pass
        self._clients.clear()
        self._http.clear()


# --------------------------------------------------------------------------------------
# Intents
# --------------------------------------------------------------------------------------


def intent_body(to_agent: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "intent_type": "intent.e2e.test.v1",
        "to_agent": to_agent,
        "payload": {"text": "hello from the sdk e2e suite", "n": 1},
    }
    body.update(extra)
    return body


def event_types(events: list[dict[str, Any]]) -> list[str]:
    return [e.get("event_type") for e in events]


def statuses(events: list[dict[str, Any]]) -> list[str]:
    return [e.get("status") for e in events]


def format_lifecycle(events: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"  seq={e.get('seq')!s:>3} {e.get('event_type', '?'):<22} status={e.get('status')} actor={e.get('actor')}"
        for e in events
    )


def check_event_shape(ck: "Checks", e: dict[str, Any], intent_id: str, where: str) -> None:
    """Contract §3.2 event object."""
    ck.eq(e.get("intent_id"), intent_id, f"{where}: event.intent_id")
    ck.true(isinstance(e.get("seq"), int) and not isinstance(e.get("seq"), bool) and e["seq"] >= 1,
            f"{where}: event.seq is an int >= 1 (got {e.get('seq')!r})")
    et = e.get("event_type")
    ck.true(isinstance(et, str) and et.startswith("intent."), f"{where}: event_type starts with intent. ({et!r})")
    if isinstance(et, str) and et in EVENT_STATUS:
        ck.eq(e.get("status"), EVENT_STATUS[et], f"{where}: status carried by {et}")
    ck.true(isinstance(e.get("at"), str) and len(e["at"]) >= 10, f"{where}: event.at is an RFC 3339 string ({e.get('at')!r})")
    ck.true(isinstance(e.get("details"), dict), f"{where}: event.details is an object ({e.get('details')!r})")
    ck.true(isinstance(e.get("actor"), str) and bool(e.get("actor")), f"{where}: event.actor non-empty string ({e.get('actor')!r})")
    if e.get("status") != "WAITING":
        ck.true(e.get("waiting_reason") is None, f"{where}: waiting_reason is null outside WAITING ({e.get('waiting_reason')!r})")


def check_seq_contiguous(ck: "Checks", events: list[dict[str, Any]], where: str, start: int = 1) -> None:
    seqs = [e.get("seq") for e in events]
    ck.eq(seqs, list(range(start, start + len(events))), f"{where}: seq {start}..N ascending without gaps")


# --------------------------------------------------------------------------------------
# Soft assertions: gather every contract deviation of one test, then fail once with all of them
# --------------------------------------------------------------------------------------


class Checks:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def true(self, cond: Any, label: str) -> bool:
        if not cond:
            self.failures.append(label)
        return bool(cond)

    def eq(self, actual: Any, expected: Any, label: str) -> bool:
        if actual != expected:
            self.failures.append(f"{label}: expected {expected!r}, got {actual!r}")
            return False
        return True

    def done(self, context: str = "") -> None:
        if self.failures:
            msg = "\n  - ".join(self.failures)
            raise AssertionError(f"{len(self.failures)} contract check(s) failed{(' ' + context) if context else ''}:\n  - {msg}")


# --------------------------------------------------------------------------------------
# A listening agent in a thread (the SDK's `listen()`, as the seed agent uses it)
# --------------------------------------------------------------------------------------


class AgentThread(threading.Thread):
    """Runs `client.listen(address, ...)` in a daemon thread.

    `handler(client, delivery)` is called for every delivery; `stop_when(agent)` is checked after
    each delivery and ends the loop (closing the SSE response). `timeout_seconds` bounds the whole
    listen (the SDK raises TimeoutError at its next reconnect), so the thread always ends.
    """

    def __init__(
        self,
        client: AxmeClient,
        address: str,
        *,
        handler: Callable[[AxmeClient, dict[str, Any]], Any] | None = None,
        stop_when: Callable[["AgentThread"], bool] | None = None,
        since: int = 0,
        wait_seconds: int = 5,
        timeout_seconds: float = 45.0,
        status: str | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name or f"agent-{address}", daemon=True)
        self.client = client
        self.address = address
        self.handler = handler
        self.stop_when = stop_when
        self.since = since
        self.wait_seconds = wait_seconds
        self.timeout_seconds = timeout_seconds
        self.status = status
        self.deliveries: list[dict[str, Any]] = []
        self.results: dict[str, Any] = {}
        self.handled: list[str] = []
        self.handler_errors: list[str] = []
        self.error: BaseException | None = None
        self.error_tb: str | None = None
        self.timed_out = False
        self.events: "queue.Queue[dict[str, Any]]" = queue.Queue()

    def run(self) -> None:
        try:
            for delivery in self.client.listen(
                self.address,
                since=self.since,
                wait_seconds=self.wait_seconds,
                timeout_seconds=self.timeout_seconds,
                status=self.status,
            ):
                self.deliveries.append(delivery)
                self.events.put(delivery)
                if self.handler is not None:
                    try:
                        self.handler(self.client, delivery)
                    except Exception as exc:  # recorded; the seed agent also keeps going
                        self.handler_errors.append(f"{delivery.get('intent_id')}: {exc!r}\n{traceback.format_exc()}")
                if self.stop_when is not None and self.stop_when(self):
                    break
        except TimeoutError:
            self.timed_out = True
        except BaseException as exc:
            self.error = exc
            self.error_tb = traceback.format_exc()

    def join_checked(self, timeout: float = 30.0) -> None:
        self.join(timeout)
        assert not self.is_alive(), f"agent thread on {self.address} still running after {timeout}s"
        if self.error is not None:
            raise AssertionError(f"agent listen() on {self.address} raised: {self.error!r}\n{self.error_tb}")
        assert not self.handler_errors, "agent handler errors:\n" + "\n".join(self.handler_errors)

    def next_delivery(self, timeout: float) -> dict[str, Any]:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"agent on {self.address} got no delivery within {timeout}s "
                f"(error={self.error!r}, timed_out={self.timed_out}, seen={self.deliveries!r})"
            ) from None


def seed_handler(client: AxmeClient, delivery: dict[str, Any], results: dict[str, Any]) -> None:
    """What the durable-api-operations seed agent does for one delivery."""
    intent_id = delivery.get("intent_id", "")
    status = delivery.get("status", "")
    if not (intent_id and status in ("DELIVERED", "CREATED", "IN_PROGRESS")):
        return
    intent_data = client.get_intent(intent_id)
    intent = intent_data.get("intent", intent_data)
    payload = intent.get("payload", {})
    if "parent_payload" in payload:
        payload = payload["parent_payload"]
    report_type = payload.get("report_type", "unknown")
    fmt = payload.get("format", "pdf")
    year = payload.get("fiscal_year", "2025")
    result = {
        "action": "complete",
        "report_url": f"https://reports.example.com/FY{year}-{report_type}.{fmt}",
        "pages": 128,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    resp = client.resume_intent(intent_id, result)
    results[intent_id] = {"payload_seen": payload, "result": result, "resume_response": resp, "intent": intent}


# --------------------------------------------------------------------------------------
# Raw SSE (for framing checks the SDK hides)
# --------------------------------------------------------------------------------------


@dataclass
class SseFrame:
    event: str | None
    data_lines: list[str]
    id: str | None

    @property
    def data(self) -> Any:
        try:
            return json.loads("\n".join(self.data_lines))
        except ValueError:
            return None


@dataclass
class SseResult:
    status_code: int
    headers: httpx.Headers
    frames: list[SseFrame]
    comments: list[str]
    raw_lines: list[str]
    body_text: str
    elapsed: float
    ended_by_server: bool


def read_sse(
    http: httpx.Client,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    deadline_s: float = 30.0,
    on_open: Callable[[], Any] | None = None,
    stop: Callable[[list[SseFrame]], bool] | None = None,
) -> SseResult:
    """Read an SSE response until the server closes it (or `stop(frames)` says so, or the deadline)."""
    t0 = time.monotonic()
    frames: list[SseFrame] = []
    comments: list[str] = []
    raw: list[str] = []
    ended_by_server = False
    timeout = httpx.Timeout(connect=10.0, read=deadline_s, write=10.0, pool=10.0)
    with http.stream("GET", path, params=params, timeout=timeout) as resp:
        if resp.status_code >= 400:
            resp.read()
            return SseResult(resp.status_code, resp.headers, [], [], [], resp.text, time.monotonic() - t0, True)
        if on_open is not None:
            on_open()
        ev: str | None = None
        data: list[str] = []
        fid: str | None = None
        stopped = False
        for line in resp.iter_lines():
            raw.append(line)
            if line == "":
                if ev is not None or data or fid is not None:
                    frames.append(SseFrame(ev, data, fid))
                    if stop is not None and stop(frames):
                        stopped = True
                        break
                ev, data, fid = None, [], None
            elif line.startswith(":"):
                comments.append(line)
            elif line.startswith("event:"):
                ev = line.partition(":")[2].strip()
            elif line.startswith("data:"):
                data.append(line.partition(":")[2].lstrip())
            elif line.startswith("id:"):
                fid = line.partition(":")[2].strip()
            if time.monotonic() - t0 > deadline_s:
                break
        else:
            ended_by_server = True
        if not stopped and (ev is not None or data):
            frames.append(SseFrame(ev, data, fid))
    return SseResult(200, resp.headers, frames, comments, raw, "\n".join(raw), time.monotonic() - t0, ended_by_server)

