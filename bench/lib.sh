# Sourced by the bench scripts: installs what they need, builds berth in release mode, and
# starts berthd and dockerd (Debian's docker.io) side by side, each with its own data root,
# exec root and socket (dockerd with its own containerd namespace and no bridge; berthd with
# its default bridge named $bbridge on 10.252.0.0/16, away from a real berth0). Sets
# here, rel, work, bsock, dsock, bpid, dpid, bbridge; everything goes on exit, berthd's bridge
# and iptables chains too (add more with
# `on_exit CMD`). Usage: . "$(dirname "$0")/lib.sh" PREFIX
# The caller may set, before sourcing: berthd_args (array: more berthd flags), dockerd_net_args
# (array: replaces dockerd's network flags, which turn its bridge, iptables and proxy off), and
# a function before_daemons, run after the build with $work and on_exit available.
# Binaries come from $CARGO_TARGET_DIR (default: the checkout's target/).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
need python3 python3; need dockerd docker.io; need curl curl
command -v docker >/dev/null || { echo "bench: needs a docker CLI on PATH" >&2; exit 1; }
(cd "$here" && cargo build --release -q -p berthd -p berth-shim --bins)
rel=${CARGO_TARGET_DIR:-$here/target}/x86_64-unknown-linux-gnu/release
work=$(mktemp -d "/tmp/${1:-bench}.XXXX")
bsock=$work/b.sock; dsock=$work/d.sock
bpid=; dpid=
bbridge=bnchb0
[ "${berthd_args+set}" ] || berthd_args=()
[ "${dockerd_net_args+set}" ] || dockerd_net_args=(--bridge none --iptables=false --ip6tables=false --ip-masq=false --userland-proxy=false)
extra_cleanup=()
on_exit() { extra_cleanup+=("$*"); }
# Removes table's chains whose names start with prefix, and every rule jumping to them.
drop_chains() {
  local t=$1 p=$2 rule
  iptables -w -t "$t" -S | grep -E -- "^-A .* -j $p" | while read -r rule; do
    # shellcheck disable=SC2086 # a rule of our own: words without quoting
    iptables -w -t "$t" -D ${rule#-A } || true
  done
  iptables -w -t "$t" -S | awk -v p="$p" '$1 == "-N" && index($2, p) == 1 {print $2}' | while read -r c; do
    iptables -w -t "$t" -F "$c" && iptables -w -t "$t" -X "$c" || true
  done
}
cleanup() {
  for s in "$bsock" "$dsock"; do
    [ -S "$s" ] && DOCKER_HOST=unix://$s docker ps -aq 2>/dev/null | xargs -r -n 50 env DOCKER_HOST=unix://$s docker rm -f >/dev/null 2>&1 || true
  done
  [ -z "$bpid$dpid" ] || { kill $bpid $dpid 2>/dev/null || true; wait $bpid $dpid 2>/dev/null || true; }
  for c in "${extra_cleanup[@]}"; do eval "$c" || true; done
  ip link del "$bbridge" 2>/dev/null || true
  drop_chains nat "BERTH-$bbridge-"; drop_chains filter "BERTH-$bbridge-"
  grep -E " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  for d in /sys/fs/cgroup/*/berth-bench /sys/fs/cgroup/berth-bench; do [ -d "$d" ] && rmdir "$d" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# Loads busybox:latest (../shared/fixtures/make-image.py: Debian's static busybox) into both
# daemons.
load_busybox() {
  local mk=$here/../shared/fixtures/make-image.py layout=$work/layout s id
  [ -f "$mk" ] || { echo "bench: needs ../shared/fixtures/make-image.py" >&2; exit 1; }
  python3 "$mk" busybox "$layout" >/dev/null
  # Docker 20.10 reads docker-archive's manifest.json, berth the OCI index: give the tar both, as
  # `docker save` of Docker 25+ does.
  python3 - "$layout" <<'PY'
import json, os, sys
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
blob = lambda dg: "blobs/sha256/" + dg.split(":", 1)[1]
m = json.load(open(os.path.join(d, blob(idx["manifests"][0]["digest"]))))
json.dump([{"Config": blob(m["config"]["digest"]), "RepoTags": ["busybox:latest"], "Layers": [blob(l["digest"]) for l in m["layers"]]}], open(os.path.join(d, "manifest.json"), "w"))
PY
  tar -C "$layout" -cf "$work/busybox.tar" .
  for s in "$bsock" "$dsock"; do
    id=$(DOCKER_HOST=unix://$s docker load -i "$work/busybox.tar" | awk '{print $NF}')
    DOCKER_HOST=unix://$s docker tag "$id" busybox:latest
  done
}
# Debian's podman with roots of its own under $work (storage, run, tmp, containers.conf): sets
# pod (its command line) and loads busybox into it (after load_busybox). Its containers get
# nofile and nproc limits of 1024: root on these machines lacks CAP_SYS_RESOURCE, so runc cannot
# raise them to podman's defaults (EPERM).
setup_podman() {
  need podman podman
  export CONTAINERS_CONF=$work/containers.conf
  printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "none"\n' >"$CONTAINERS_CONF"
  pod=(podman --root "$work/podman/root" --runroot "$work/podman/run" --tmpdir "$work/podman/tmp")
  on_exit '"${pod[@]}" rm -af >/dev/null 2>&1'
  # Each `docker exec` leaves a conmon waiting out podman's 300 s exit delay.
  on_exit "pkill -f -- 'conmon .*$work/podman/' || true"
  on_exit 'for d in /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done'
  "${pod[@]}" load -i "$work/busybox.tar" >/dev/null
  "${pod[@]}" tag "$("${pod[@]}" images -q | head -n1)" docker.io/library/busybox:latest
}
# podman's Docker-compatible API on $psock (after setup_podman), for the docker CLI; sets ppid.
start_podman_service() {
  psock=$work/p.sock
  "${pod[@]}" system service --time=0 "unix://$psock" >"$work/podman.log" 2>&1 &
  ppid=$!
  on_exit "kill $ppid; wait $ppid"
  for _ in $(seq 100); do DOCKER_HOST=unix://$psock docker version >/dev/null 2>&1 && break; sleep 0.2; done
}
if declare -F before_daemons >/dev/null; then before_daemons; fi
"$rel/berthd" --data-root "$work/bdata" --exec-root "$work/brun" -H "unix://$bsock" --pidfile "$work/b.pid" --cgroup-parent berth-bench \
  --bridge "$bbridge" --default-address-pool base=10.252.0.0/16,size=24 "${berthd_args[@]}" >"$work/berthd.log" 2>&1 &
bpid=$!
dockerd --data-root "$work/ddata" --exec-root "$work/drun" -H "unix://$dsock" --pidfile "$work/d.pid" "${dockerd_net_args[@]}" \
  --containerd-namespace bench --containerd-plugins-namespace bench-plugins >"$work/dockerd.log" 2>&1 &
dpid=$!
for s in "$bsock" "$dsock"; do
  for _ in $(seq 100); do DOCKER_HOST=unix://$s docker version >/dev/null 2>&1 && break; sleep 0.2; done
done
