#!/usr/bin/env bash
# The berth CLI against berthd, beside the docker CLI against dockerd (Debian's docker.io) and
# Debian's podman (with storage and run roots of its own), in one run:
#   1. `run --rm --network none busybox true`, interleaved, RUNS times each;
#   2. `ps -a` with 1,000 containers (created, not started): `berth ps -a` against berthd,
#      `docker ps -a` against dockerd and against berthd. (podman is left out of this one:
#      creating its 1,000 containers alone takes minutes here.)
#
#   bench/cli-run.sh [RUNS]
set -euo pipefail
runs=${1:-30}
. "$(dirname "$0")/lib.sh" bc
(cd "$here" && cargo build --release -q -p berth)
load_busybox
setup_podman
python3 - "$rel/berth" "$bsock" "$dsock" "$runs" "${pod[@]}" <<'PY'
import concurrent.futures, os, statistics, subprocess, sys, time
berth, bsock, dsock, runs, pod = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
image = "docker.io/library/busybox:latest"
cmds = {
    "berth (berthd)": [berth, "-H", "unix://" + bsock, "run", "--rm", "--network", "none", "busybox", "true"],
    "docker (dockerd)": ["docker", "-H", "unix://" + dsock, "run", "--rm", "--network", "none", "busybox", "true"],
    "podman": pod + ["run", "--rm", "--pull", "never", "--network", "none", image, "true"],
}
def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({p.returncode}): {p.stderr.strip()}")
t = {k: [] for k in cmds}
for i in range(runs + 2):
    order = list(cmds) if i % 2 == 0 else list(cmds)[::-1]
    for name in order:
        t0 = time.perf_counter(); run(cmds[name]); dt = time.perf_counter() - t0
        if i >= 2: t[name].append(dt)
med = {k: statistics.median(v) * 1000 for k, v in t.items()}
for k, v in med.items():
    print(f"run --rm --network none busybox true, median of {runs}: {k} {v:.1f} ms (min {min(t[k])*1000:.1f})")
b = med["berth (berthd)"]
print(f"berth is {med['docker (dockerd)']/b:.1f}x faster than docker on dockerd, {med['podman']/b:.1f}x faster than podman")
# 2. ps -a with 1,000 containers
def create(sock):
    env = dict(os.environ, DOCKER_HOST="unix://" + sock)
    subprocess.run(["docker", "create", "--network", "none", "busybox", "true"], env=env, check=True, stdout=subprocess.DEVNULL)
for sock in (bsock, dsock):
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda i: create(sock), range(1000)))
ps = {
    "berth ps -a (berthd)": [berth, "-H", "unix://" + bsock, "ps", "-a"],
    "docker ps -a (berthd)": ["docker", "-H", "unix://" + bsock, "ps", "-a"],
    "docker ps -a (dockerd)": ["docker", "-H", "unix://" + dsock, "ps", "-a"],
}
t = {k: [] for k in ps}
for i in range(runs + 2):
    for name, cmd in ps.items():
        t0 = time.perf_counter(); run(cmd); dt = time.perf_counter() - t0
        if i >= 2: t[name].append(dt)
for k, v in t.items():
    print(f"{k} with 1,000 containers, median of {runs}: {statistics.median(v)*1000:.1f} ms")
PY
