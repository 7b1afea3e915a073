#!/usr/bin/env python3
"""Restart-to-ready of `axp serve` on SQLite (P6 wants <= 100 ms), after a clean stop and after
kill -9 (which adds the `PRAGMA quick_check` of issue 12).

usage: restart_to_ready.py <path to the axp binary> [intents to fill, default 2000] [rounds, default 5]

Measured: from spawning the process to the first 200 from /ready. Prints the database size and
the median and worst of each kind.
"""
import json, os, signal, statistics, subprocess, sys, tempfile, time, urllib.request

BIN = sys.argv[1]
FILL = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 5


def start(data_dir):
    t0 = time.perf_counter()
    p = subprocess.Popen([BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         env={**os.environ, "RUST_LOG": "warn"})
    for line in p.stdout:
        if line.startswith("axp listening on "):
            url = line.split()[-1]
            break
    else:
        raise SystemExit("axp did not start")
    while True:
        try:
            with urllib.request.urlopen(url + "/ready", timeout=5) as r:
                if r.status == 200:
                    return p, url, (time.perf_counter() - t0) * 1000
        except OSError:
            pass


def fill(url, key, n):
    for i in range(n):
        body = json.dumps({"intent_type": "bench.fill.v1", "to_agent": "worker",
                           "payload": {"i": i, "pad": "x" * 512}}).encode()
        req = urllib.request.Request(url + "/v1/intents", body, {"x-api-key": key, "content-type": "application/json"})
        urllib.request.urlopen(req).read()


def stop(p, sig):
    p.send_signal(sig)
    p.wait(timeout=30)


with tempfile.TemporaryDirectory() as d:
    p, url, _ = start(d)
    key = open(os.path.join(d, "admin.key")).read().strip()
    fill(url, key, FILL)
    stop(p, signal.SIGTERM)
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.startswith("axp.db"))
    print(f"{FILL} intents, axp.db* {size / 1e6:.1f} MB")
    for kind, sig in (("after a clean stop", signal.SIGTERM), ("after kill -9 (quick_check)", signal.SIGKILL)):
        times = []
        for _ in range(ROUNDS):
            p, url, ms = start(d)
            times.append(ms)
            if sig == signal.SIGTERM:
                urllib.request.urlopen(url + "/health").read()  # the SIGTERM handler is installed
            stop(p, sig)
        print(f"restart-to-ready {kind}: median {statistics.median(times):.1f} ms, worst {max(times):.1f} ms")
