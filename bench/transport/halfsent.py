#!/usr/bin/env python3
# Usage: python3 bench/transport/halfsent.py target/release/axp   (see README.md beside it)
# 1,100 half-sent requests against axp serve under `ulimit -n 1024`; time /health meanwhile.
import socket, subprocess, sys, time, tempfile, os, urllib.request
binary = sys.argv[1]
d = tempfile.mkdtemp()
env = dict(os.environ, RUST_LOG="warn")
p = subprocess.Popen(["bash", "-c", f"ulimit -n 1024; exec {binary} serve --listen 127.0.0.1:0 --data-dir {d}"], stdout=subprocess.PIPE, env=env, text=True)
url = None
for line in p.stdout:
    if line.startswith("axp listening on "):
        url = line.split()[-1]; break
host, port = url.split("//")[1].split(":")
socks = []
t0 = time.time()
for i in range(1100):
    try:
        s = socket.create_connection((host, int(port)), timeout=5)
        s.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n")
        socks.append(s)
    except Exception as e:
        pass
print(f"opened {len(socks)} half-sent connections in {time.time()-t0:.2f}s")
def health():
    t = time.time()
    try:
        with urllib.request.urlopen(url + "/health", timeout=30) as r:
            return r.status, time.time() - t
    except urllib.error.HTTPError as e:
        return e.code, time.time() - t
    except Exception as e:
        return repr(e), time.time() - t
print("health while held:", health())
# How long until the server has closed the half-sent ones (header timeout 10 s by default).
t = time.time()
closed = 0
for s in socks:
    s.settimeout(max(0.1, 30 - (time.time() - t)))
    try:
        if s.recv(1) == b"":
            closed += 1
        else:
            closed += 1
    except socket.timeout:
        pass
    except Exception:
        closed += 1
print(f"{closed} of {len(socks)} closed by the server, last after {time.time()-t:.1f}s from the end of opening")
print("health after:", health())
s = socket.create_connection((host, int(port))); s.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n")
t = time.time(); p.terminate(); p.wait(timeout=60)
print(f"SIGTERM with a half-sent request: exited {p.returncode} in {time.time()-t:.2f}s")
