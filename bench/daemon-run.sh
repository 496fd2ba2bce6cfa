#!/usr/bin/env bash
# berthd against dockerd (Debian's docker.io, with its own data root, exec root, socket and
# containerd) and Debian's podman (its Docker-compatible API service, with roots of its own),
# driven by the same docker CLI with the same busybox image, in one run:
#   1. `docker run --rm --network none busybox true`, RUNS times each in alternating blocks
#      (bench/blocks.py), and `docker exec` of `true` in a running container;
#   2. 100 x `docker run -d --network none busybox sleep 600` from 8 parallel clients, then
#      `docker rm -f` of all of them (8 parallel), and again with one `docker rm -f` of all 100;
#   3. `GET /containers/json?all=1` with 1,000 containers (created, not started);
#   4. idle RSS of the daemons, and RSS per shim while 100 containers run.
# Both daemons run with --network none containers (bench/network.sh measures the bridge).
#
#   bench/daemon-run.sh [RUNS]
set -euo pipefail
runs=${1:-30}
. "$(dirname "$0")/lib.sh" bb
load_busybox
setup_podman
start_podman_service
PYTHONPATH="$(dirname "$0")" python3 - "$bsock" "$dsock" "$runs" "$bpid" "$dpid" "$psock" "$ppid" <<'PY'
import concurrent.futures, os, statistics, subprocess, sys, time, socket, json
bsock, dsock, runs, bpid, dpid, psock, ppid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], int(sys.argv[7])
daemons = {"berthd": bsock, "dockerd": dsock, "podman": psock}
def docker(sock, *args, check=True):
    env = dict(os.environ, DOCKER_HOST="unix://" + sock)
    return subprocess.run(["docker", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=check).stdout
def rss_kib(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS:"):
            return int(l.split()[1])
    return 0
def tree_rss(pid):
    """RSS of pid and its descendants (dockerd starts containerd)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop(); total += rss_kib(p)
        try: stack += [int(c) for c in open(f"/proc/{p}/task/{p}/children").read().split()]
        except OSError: pass
    return total
print(f"idle RSS: berthd {rss_kib(bpid)/1024:.1f} MiB; dockerd+containerd {tree_rss(dpid)/1024:.1f} MiB; podman service {tree_rss(ppid)/1024:.1f} MiB")
# 1. run --rm true, and docker exec into a running container, in blocks (bench/blocks.py).
from blocks import COOL, blocks, report
t, f = blocks(daemons, runs, lambda n, sock: docker(sock, "run", "--rm", "--network", "none", "busybox", "true"))
print(report("docker run --rm busybox true", t, f)[0])
execs = {name: docker(sock, "run", "-d", "--network", "none", "busybox", "sleep", "600").decode().strip() for name, sock in daemons.items()}
t, f = blocks(daemons, runs, lambda n, sock: docker(sock, "exec", execs[n], "true"))
for name, sock in daemons.items():
    docker(sock, "rm", "-f", execs[name])
print(report("docker exec CONTAINER true", t, f)[0])
floor = []
for i in range(runs):
    t0 = time.perf_counter(); docker(bsock, "rm", "-f", "nosuch", check=False); floor.append(time.perf_counter() - t0)
print(f"client floor: one docker CLI call that fails at once (rm -f of a missing container), median {statistics.median(floor)*1000:.0f} ms")
# 2. 100 detached from 8 clients, then rm -f from 8 clients. First the floor: the same 100 CLI
# runs from 8 clients for a container that does not exist, which no daemon can beat.
t0 = time.perf_counter()
with concurrent.futures.ThreadPoolExecutor(8) as ex:
    list(ex.map(lambda i: docker(bsock, "rm", "-f", "nosuch", check=False), range(100)))
print(f"client floor: 100 x docker rm -f of a missing container from 8 clients {time.perf_counter() - t0:.2f} s")
for name, sock in daemons.items():
    time.sleep(COOL)  # in the host's own state, not the one the last daemon left
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        ids = list(ex.map(lambda i: docker(sock, "run", "-d", "--network", "none", "busybox", "sleep", "600").decode().strip(), range(100)))
    up = time.perf_counter() - t0
    shims = ""
    if name == "berthd":
        time.sleep(0.5)  # each shim moves into its small image once its container is 200 ms old
        kib = [rss_kib(int(p)) for p in subprocess.run(["pgrep", "-f", "berth-shim-serve"], stdout=subprocess.PIPE, text=True).stdout.split()]
        shims = f"; shim RSS median {statistics.median(kib)/1024:.2f} MiB over {len(kib)} shims" if kib else ""
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda c: docker(sock, "rm", "-f", c), ids))
    down = time.perf_counter() - t0
    print(f"{name}: 100 x run -d from 8 clients {up:.2f} s; rm -f of all {down:.2f} s{shims}")
# 2b. The same removal as one `docker rm -f ID...` of all 100 (as `docker rm -f $(docker ps -aq)`),
# which spends one CLI start-up instead of 100: the CLI removes them 50 at a time.
for name, sock in daemons.items():
    time.sleep(COOL)  # in the host's own state, not the one the last daemon left
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        ids = list(ex.map(lambda i: docker(sock, "run", "-d", "--network", "none", "busybox", "sleep", "600").decode().strip(), range(100)))
    t0 = time.perf_counter()
    docker(sock, "rm", "-f", *ids)
    print(f"{name}: one docker rm -f of all 100 {time.perf_counter() - t0:.2f} s")
# 3. list with 1,000 containers
def get(sock, path):
    s = socket.socket(socket.AF_UNIX); s.connect(sock)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        b = s.recv(1 << 20)
        if not b: break
        data += b
    return data
for name, sock in daemons.items():
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda i: docker(sock, "create", "--network", "none", "busybox", "true"), range(1000)))
    ts = []
    for _ in range(20):
        t0 = time.perf_counter(); get(sock, "/containers/json?all=1"); ts.append(time.perf_counter() - t0)
    print(f"{name}: GET /containers/json?all=1 with 1,000 containers: median {statistics.median(ts)*1000:.1f} ms")
print(f"after: berthd RSS {rss_kib(bpid)/1024:.1f} MiB; dockerd+containerd {tree_rss(dpid)/1024:.1f} MiB; podman service {tree_rss(ppid)/1024:.1f} MiB")
PY
