#!/usr/bin/env bash
# Bridge networking, berthd against dockerd (Debian's docker.io, with its own data root, exec
# root, socket and containerd), driven by the same docker CLI with the same busybox image, in
# one run:
#   1. `docker run --rm busybox true` on the default bridge network, RUNS times each in
#      alternating blocks (bench/blocks.py): median time (issue 6's goal: berthd at least 5x
#      faster);
#   2. 100 x `docker run -d busybox sleep 600` on the default bridge from 8 parallel clients,
#      then `docker rm -f` of all of them (issue 7's goals, 5x, with Docker's default network;
#      bench/daemon-run.sh measures them with --network none);
#   3. a busybox httpd serving a 1 KiB file, published on 127.0.0.1 (`-p 127.0.0.1:PORT:80`)
#      by each daemon, loaded from the host with `wrk -t2 -c16 --latency` in ROUNDS alternating
#      rounds of SECONDS: median requests/s, p50 and p99 latency (goal: berthd's throughput at
#      least dockerd's, and a lower p99). berthd forwards with a DNAT rule; dockerd runs as it
#      does by default, loopback traffic through its userland proxy (docker-proxy).
# dockerd gets a bridge of its own (bnchd0, 10.251.0.1/24, made here) with its iptables rules;
# berthd's default bridge is lib.sh's bnchb0. Both bridges, and every iptables rule and chain
# that either daemon added, go at exit; no traffic leaves the host (127.0.0.1 and the bench's
# containers only).
#
#   bench/network.sh [RUNS [ROUNDS [SECONDS]]]
set -euo pipefail
runs=${1:-30}; rounds=${2:-3}; seconds=${3:-10}
dbridge=bnchd0
# dockerd's defaults (iptables, masquerading, userland proxy), on its own bridge.
dockerd_net_args=(--bridge "$dbridge")
before_daemons() {
  for t in filter nat; do iptables -w -t "$t" -S >"$work/ipt.$t.before"; done
  iptables -w -S FORWARD | head -1 >"$work/ipt.forward-policy"
  ip link add "$dbridge" type bridge
  on_exit undo_dockerd_net
  ip addr add 10.251.0.1/24 dev "$dbridge"
  ip link set "$dbridge" up
}
# Removes dockerd's bridge, and the rules and chains that appeared since before_daemons and are
# dockerd's (DOCKER* chains, its bridge, its subnet): dockerd leaves them behind when it stops.
undo_dockerd_net() {
  ip link del "$dbridge" 2>/dev/null || true
  local t rule ours='DOCKER|bnchd0|10\.251\.'
  for t in nat filter; do
    comm -13 <(sort "$work/ipt.$t.before") <(iptables -w -t "$t" -S | sort) | grep -E -- "$ours" >"$work/ipt.$t.added" || true
    grep -- '^-A ' "$work/ipt.$t.added" | tac | while read -r rule; do
      # shellcheck disable=SC2086 # dockerd's rules have no quoted words
      iptables -w -t "$t" -D ${rule#-A } || true
    done
    awk '$1 == "-N" {print $2}' "$work/ipt.$t.added" | while read -r c; do
      iptables -w -t "$t" -F "$c" && iptables -w -t "$t" -X "$c" || true
    done
  done
  # shellcheck disable=SC2046 # "-P FORWARD ACCEPT"
  iptables -w $(cat "$work/ipt.forward-policy") || true
}
. "$(dirname "$0")/lib.sh" bn
need wrk wrk
for s in "$bsock" "$dsock"; do DOCKER_HOST=unix://$s docker version >/dev/null; done
load_busybox
PYTHONPATH="$(dirname "$0")" python3 - "$bsock" "$dsock" "$runs" "$rounds" "$seconds" <<'PY'
import os, re, socket, statistics, subprocess, sys, time, urllib.request
bsock, dsock, runs, rounds, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
daemons = {"berthd": bsock, "dockerd": dsock}
def docker(sock, *args):
    env = dict(os.environ, DOCKER_HOST="unix://" + sock)
    r = subprocess.run(["docker", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.exit(f"bench: DOCKER_HOST=unix://{sock} docker {' '.join(args)}: {r.stderr.decode().strip()}")
    return r.stdout
# 1. run --rm true on the default bridge, in blocks (bench/blocks.py)
from blocks import COOL, blocks, report
t, f = blocks(daemons, runs, lambda n, sock: docker(sock, "run", "--rm", "busybox", "true"))
line, m = report("docker run --rm busybox true on the default bridge", t, f)
print(f"{line} (goal 5x: {'met' if m['dockerd']/m['berthd'] >= 5 else 'missed'})")
# 2. issue 7's second measure with Docker's default network: 100 x run -d from 8 clients on the
# default bridge, then rm -f of all of them from 8 clients (daemon-run.sh measures it with
# --network none)
import concurrent.futures
took = {}
for name, sock in daemons.items():
    time.sleep(COOL)  # in the host's own state, not the one the last daemon left
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        ids = list(ex.map(lambda i: docker(sock, "run", "-d", "busybox", "sleep", "600").decode().strip(), range(100)))
    up = time.perf_counter() - t0
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda c: docker(sock, "rm", "-f", c), ids))
    took[name] = (up, time.perf_counter() - t0)
(bu, bd), (du, dd) = took["berthd"], took["dockerd"]
print(f"100 x docker run -d busybox sleep 600 on the default bridge from 8 clients: berthd {bu:.2f} s, dockerd {du:.2f} s: {du/bu:.1f}x faster; "
      f"rm -f of all: berthd {bd:.2f} s, dockerd {dd:.2f} s: {dd/bd:.1f}x faster (issue 7's goal 5x for both)")
# 3. httpd through a port published on 127.0.0.1
def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
serve = "mkdir /www && head -c 1024 /dev/zero | tr '\\0' x >/www/index.html && exec httpd -f -p 80 -h /www"
url = {}
for name, sock in daemons.items():
    port = free_port()
    docker(sock, "run", "-d", "--name", "bench-web", "-p", f"127.0.0.1:{port}:80", "busybox", "sh", "-c", serve)
    url[name] = f"http://127.0.0.1:{port}/index.html"
    for _ in range(100):
        try:
            if len(urllib.request.urlopen(url[name], timeout=2).read()) == 1024: break
        except OSError: pass
        time.sleep(0.1)
    else:
        sys.exit(f"bench: {name}'s httpd does not answer on {url[name]}")
proxies = subprocess.run(["pgrep", "-c", "-x", "docker-proxy"], stdout=subprocess.PIPE, text=True).stdout.strip()
print(f"httpd (1 KiB file) on 127.0.0.1 through each daemon's published port; docker-proxy processes running: {proxies}")
UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}
def wrk(u, secs):
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{secs}s", "--latency", u], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=True).stdout
    lat = {int(p): float(v) * UNIT[unit] for p, v, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    rps = float(re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M).group(1))
    errors = " ".join(l.strip() for l in out.splitlines() if l.strip().startswith(("Socket errors", "Non-2xx")))
    return rps, lat[50], lat[99], errors
for u in url.values():
    wrk(u, 2)  # warm up
res = {k: [] for k in daemons}
for i in range(rounds):
    for name in (list(daemons) if i % 2 == 0 else list(daemons)[::-1]):
        r = wrk(url[name], seconds); res[name].append(r)
        if r[3]: print(f"  {name} round {i + 1}: {r[3]}")
med = {}
for name, rs in res.items():
    med[name] = [statistics.median(r[j] for r in rs) for j in range(3)]
    rps, p50, p99 = med[name]
    print(f"{name}: {rps:.0f} requests/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms (wrk -t2 -c16, median of {rounds} x {seconds} s)")
b, d = med["berthd"], med["dockerd"]
print(f"throughput berthd/dockerd {b[0]/d[0]:.2f}x (goal >= 1: {'met' if b[0] >= d[0] else 'missed'}); "
      f"p99 berthd/dockerd {b[2]/d[2]:.2f} (goal < 1: {'met' if b[2] < d[2] else 'missed'}); p50 berthd/dockerd {b[1]/d[1]:.2f}")
PY
