#!/usr/bin/env bash
# Pull + unpack of `make-image.py synthetic --layers 8 --mib 32` from a local registry
# (../shared/fixtures/registry.sh on loopback): berthd against dockerd (Debian's docker.io,
# with its own data root, exec root, socket and containerd), through the same docker CLI, in
# one run, interleaved. Before each pull the image is removed (`docker rmi`, which deletes its
# layers in both daemons), so every pull downloads and unpacks everything. Reports the median
# time, MiB/s of compressed input, and the daemon's peak RSS during the pulls (dockerd:
# dockerd plus its containerd). Then checks archives both ways: dockerd's `docker save` loads
# into berthd and runs, and berthd's into dockerd.
#
#   bench/pull.sh [RUNS]
set -euo pipefail
runs=${1:-5}
shared=$(cd "$(dirname "$0")/.." && pwd)/../shared/fixtures
[ -f "$shared/make-image.py" ] || { echo "bench: needs ../shared/fixtures beside the checkout" >&2; exit 1; }
. "$(dirname "$0")/lib.sh" bp
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
on_exit bash "$shared/registry.sh" stop "$work/reg" ">/dev/null 2>&1"
bash "$shared/registry.sh" start "$work/reg" "$port" >/dev/null
python3 "$shared/make-image.py" synthetic "$work/syn" --layers 8 --mib 32 >/dev/null
img=127.0.0.1:$port/bench/syn:1
bash "$shared/registry.sh" push "$work/syn" latest "$img"
bytes=$(python3 - "$work/syn" <<'PY'
import json, os, sys
d = sys.argv[1]
blob = lambda dg: os.path.join(d, "blobs/sha256", dg.split(":", 1)[1])
idx = json.load(open(os.path.join(d, "index.json")))
m = json.load(open(blob(idx["manifests"][0]["digest"])))
print(sum(l["size"] for l in m["layers"]))
PY
)
rm -rf "$work/syn"
python3 - "$bsock" "$dsock" "$runs" "$bpid" "$dpid" "$img" "$bytes" <<'PY'
import os, statistics, subprocess, sys, threading, time
bsock, dsock, runs, bpid, dpid, img, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], int(sys.argv[7])
daemons = {"berthd": (bsock, bpid), "dockerd": (dsock, dpid)}
def docker(sock, *args, check=True):
    env = dict(os.environ, DOCKER_HOST="unix://" + sock)
    return subprocess.run(["docker", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=check).stdout
def tree_rss(pid):
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            for l in open(f"/proc/{p}/status"):
                if l.startswith("VmRSS:"): total += int(l.split()[1])
            stack += [int(c) for c in open(f"/proc/{p}/task/{p}/children").read().split()]
        except OSError: pass
    return total
t = {k: [] for k in daemons}
peak = {k: 0 for k in daemons}
print(f"image: {img}, 8 layers, {size/2**20:.1f} MiB compressed")
for i in range(runs):
    for name in (list(daemons) if i % 2 == 0 else list(daemons)[::-1]):
        sock, pid = daemons[name]
        docker(sock, "rmi", "-f", img, check=False)
        done = threading.Event()
        def sample():
            while not done.is_set():
                peak[name] = max(peak[name], tree_rss(pid)); time.sleep(0.02)
        th = threading.Thread(target=sample); th.start()
        t0 = time.perf_counter(); docker(sock, "pull", "-q", img); dt = time.perf_counter() - t0
        done.set(); th.join()
        t[name].append(dt)
        docker(sock, "run", "--rm", "--network", "none", img, "true")
for name in daemons:
    m = statistics.median(t[name])
    print(f"{name}: pull median of {runs} {m:.2f} s ({size/2**20/m:.0f} MiB/s compressed), runs {', '.join(f'{x:.2f}' for x in t[name])}; peak RSS during pulls {peak[name]/1024:.1f} MiB")
mb, md = statistics.median(t["berthd"]), statistics.median(t["dockerd"])
print(f"berthd pulls {md/mb:.2f}x as fast as dockerd")
# Archives both ways: dockerd's `docker save` loads into berthd and berthd's into dockerd.
work = os.path.dirname(bsock)
for src, dst in (("dockerd", "berthd"), ("berthd", "dockerd")):
    tar = os.path.join(work, f"from-{src}.tar")
    docker(daemons[src][0], "save", "-o", tar, img)
    docker(daemons[dst][0], "rmi", "-f", img, check=False)
    out = docker(daemons[dst][0], "load", "-i", tar).decode().strip()
    docker(daemons[dst][0], "run", "--rm", "--network", "none", img, "true")
    print(f"{src} save -> {dst} load: {out}")
PY
