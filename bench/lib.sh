# Sourced by the bench scripts: installs what they need, builds berth in release mode, and
# starts berthd and dockerd (Debian's docker.io) side by side, each with its own data root,
# exec root and socket (dockerd with its own containerd namespace and no bridge). Sets
# here, rel, work, bsock, dsock, bpid, dpid; everything goes on exit (add more with
# `on_exit CMD`). Usage: . "$(dirname "$0")/lib.sh" PREFIX
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
need python3 python3; need dockerd docker.io; need curl curl
command -v docker >/dev/null || { echo "bench: needs a docker CLI on PATH" >&2; exit 1; }
(cd "$here" && cargo build --release -q -p berthd -p berth-shim --bins)
rel=$here/target/x86_64-unknown-linux-gnu/release
work=$(mktemp -d "/tmp/${1:-bench}.XXXX")
bsock=$work/b.sock; dsock=$work/d.sock
"$rel/berthd" --data-root "$work/bdata" --exec-root "$work/brun" -H "unix://$bsock" --pidfile "$work/b.pid" --cgroup-parent berth-bench >"$work/berthd.log" 2>&1 &
bpid=$!
dockerd --data-root "$work/ddata" --exec-root "$work/drun" -H "unix://$dsock" --pidfile "$work/d.pid" \
  --bridge none --iptables=false --ip6tables=false --ip-masq=false --userland-proxy=false \
  --containerd-namespace bench --containerd-plugins-namespace bench-plugins >"$work/dockerd.log" 2>&1 &
dpid=$!
extra_cleanup=()
on_exit() { extra_cleanup+=("$*"); }
cleanup() {
  for s in "$bsock" "$dsock"; do
    [ -S "$s" ] && DOCKER_HOST=unix://$s docker ps -aq 2>/dev/null | xargs -r -n 50 env DOCKER_HOST=unix://$s docker rm -f >/dev/null 2>&1 || true
  done
  kill "$bpid" "$dpid" 2>/dev/null || true
  wait "$bpid" "$dpid" 2>/dev/null || true
  for c in "${extra_cleanup[@]}"; do eval "$c" || true; done
  grep -E " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  for d in /sys/fs/cgroup/*/berth-bench /sys/fs/cgroup/berth-bench; do [ -d "$d" ] && rmdir "$d" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
for s in "$bsock" "$dsock"; do
  for _ in $(seq 100); do DOCKER_HOST=unix://$s docker version >/dev/null 2>&1 && break; sleep 0.2; done
done
