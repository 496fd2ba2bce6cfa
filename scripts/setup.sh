#!/usr/bin/env bash
# The README's first command: installs what berth needs, builds it in release mode, installs
# berthd, berth-shim, berth-shim-serve, berth-proxy, berth-init, berth-runtime and the berth CLI
# to /usr/local/bin, starts berthd (a systemd unit where systemd runs, else in the background),
# makes busybox:latest from Debian's busybox-static (no registry needed) and runs a first
# container with the berth CLI (through berthd's API). Safe to run again: a running berthd is
# replaced, its containers keep running.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "setup.sh: run as root (it installs packages, a daemon and containers)" >&2; exit 1; }
scripts/deps.sh
cargo build --release -q -p berthd -p berth-shim -p berth-runtime -p berth --bins
rel=target/x86_64-unknown-linux-gnu/release
for b in berthd berth-shim berth-shim-serve berth-proxy berth-init berth-runtime berth; do
  install -m 0755 "$rel/$b" "/usr/local/bin/$b.new" && mv -f "/usr/local/bin/$b.new" "/usr/local/bin/$b"
done
sock=/run/berth/berth.sock
if [ -d /run/systemd/system ]; then
  cat >/etc/systemd/system/berthd.service <<'UNIT'
[Unit]
Description=berth container engine (Docker Engine API on /run/berth/berth.sock)
After=network.target

[Service]
ExecStart=/usr/local/bin/berthd
KillMode=process
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  systemctl enable -q berthd
  systemctl restart berthd
  echo "berthd: systemd unit berthd.service (journalctl -u berthd for its log)"
else
  if [ -f /run/berth/berthd.pid ] && kill -0 "$(cat /run/berth/berthd.pid)" 2>/dev/null; then
    kill -TERM "$(cat /run/berth/berthd.pid)"
    for _ in $(seq 100); do kill -0 "$(cat /run/berth/berthd.pid 2>/dev/null || echo 0)" 2>/dev/null || break; sleep 0.1; done
  fi
  mkdir -p /run/berth
  # KillMode-like: a new session, so the daemon outlives this shell.
  setsid /usr/local/bin/berthd >>/var/log/berthd.log 2>&1 </dev/null &
  echo "berthd: started in the background, pid file /run/berth/berthd.pid, log /var/log/berthd.log"
fi
for _ in $(seq 100); do [ -S "$sock" ] && python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.connect('$sock')" 2>/dev/null && break; sleep 0.1; done
echo "berthd: listening on unix://$sock (docker CLI: DOCKER_HOST=unix://$sock docker ps)"
img=/var/lib/berth/busybox.tar
if [ ! -f "$img" ]; then
  tmp=$(mktemp -d)
  scripts/busybox-rootfs.sh "$tmp/rootfs"
  python3 scripts/busybox-image.py "$tmp/rootfs" "$img"
  rm -rf "$tmp"
fi
# The first container, through the berth CLI (which talks to berthd's API only).
[ -n "$(berth -H "unix://$sock" images -q busybox:latest)" ] || berth -H "unix://$sock" load -i "$img"
berth -H "unix://$sock" run --rm --network none busybox sh -c 'echo hello from a berth container: $(hostname), pid $$, $(id)'
