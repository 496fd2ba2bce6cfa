#!/usr/bin/env bash
# berth-runtime against runc: `run` of the same busybox bundle executing `true`, interleaved,
# in one run. Prints both medians, the ratio, and each one's peak RSS.
#
#   bench/runtime-run.sh [RUNS]
#
# Installs what it needs (runc, busybox-static, time) from Debian when missing, and
# builds berth-runtime in release mode. Uses state roots of its own under /run.
set -euo pipefail
runs=${1:-100}
here=$(cd "$(dirname "$0")/.." && pwd)
need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
need runc runc; need python3 python3; need /usr/bin/time time
(cd "$here" && cargo build --release -q -p berth-runtime)
bin=$here/target/x86_64-unknown-linux-gnu/release/berth-runtime
work=$(mktemp -d /tmp/berth-bench.XXXXXX)
broot=/run/berth-bench-$$-b; rroot=/run/berth-bench-$$-r
cleanup() {
  "$bin" --root "$broot" list -q 2>/dev/null | xargs -r -n1 "$bin" --root "$broot" delete -f 2>/dev/null || true
  runc --root "$rroot" list -q 2>/dev/null | xargs -r -n1 runc --root "$rroot" delete -f 2>/dev/null || true
  rm -rf "$work" "$broot" "$rroot"
}
trap cleanup EXIT
mkdir -p "$work/bundle"
"$here/scripts/busybox-rootfs.sh" "$work/bundle/rootfs"
(cd "$work/bundle" && "$bin" spec)
python3 - "$work/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
json.dump(c, open(p, "w"))
PY
cd "$work/bundle"
python3 - "$bin" "$broot" "$rroot" "$runs" <<'PY'
import os, statistics, subprocess, sys, time
bin_, broot, rroot, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cmds = {"berth-runtime": [bin_, "--root", broot], "runc": ["runc", "--root", rroot]}
devnull = os.open(os.devnull, os.O_WRONLY)
def spawn(argv):
    """Runs argv to completion; returns (seconds, exit code, peak RSS in KiB)."""
    t0 = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
    _, status, ru = os.wait4(pid, 0)
    return time.perf_counter() - t0, os.waitstatus_to_exitcode(status), ru.ru_maxrss
times = {k: [] for k in cmds}
for i in range(runs + 5):
    order = list(cmds) if i % 2 == 0 else list(cmds)[::-1]  # interleave, alternating who goes first
    for name in order:
        dt, code, _ = spawn(cmds[name] + ["run", f"x{i}"])
        if code != 0:
            sys.exit(f"{name} run failed with exit code {code}")
        if i >= 5:  # warm-up runs are not counted
            times[name].append(dt * 1000)
rss = {}
for name, base in cmds.items():  # peak RSS of `create`: the runtime alone, not the container it would reap
    # (through /usr/bin/time, which forks a small process: posix_spawn's vfork would report
    # Python's own size)
    peaks = []
    for i in range(5):
        # (-o: a created init keeps the stdio it inherited, so no pipes here)
        rssfile = os.path.join(os.path.dirname(broot), f"berth-bench-rss-{os.getpid()}")
        subprocess.run(["/usr/bin/time", "-o", rssfile, "-f", "%M"] + base + ["create", f"m{i}"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        spawn(base + ["delete", "-f", f"m{i}"])
        peaks.append(int(open(rssfile).read().strip().splitlines()[-1]))
        os.unlink(rssfile)
    rss[name] = max(peaks)
b, r = statistics.median(times["berth-runtime"]), statistics.median(times["runc"])
print(f"`run` of a busybox bundle running `true`; {runs} interleaved runs each, medians:")
for name, med in (("berth-runtime", b), ("runc", r)):
    print(f"  {name:<14} {med:7.2f} ms   peak RSS {rss[name] / 1024:5.2f} MiB")
print(f"  berth-runtime takes {b / r:.2f} of runc's time ({r / b:.2f}x faster)")
PY
