#!/usr/bin/env bash
# The README's first command: installs what berth needs, builds it, installs berth-runtime to
# /usr/local/bin, and runs a first container (busybox, made from Debian's busybox-static; no
# registry is needed). Safe to run again. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "setup.sh: run as root (it installs packages and creates containers)" >&2; exit 1; }
scripts/deps.sh
cargo build --release -q -p berth-runtime
install -m 0755 target/x86_64-unknown-linux-gnu/release/berth-runtime /usr/local/bin/berth-runtime
bundle=/var/lib/berth/bundles/hello
if [ ! -x "$bundle/rootfs/bin/busybox" ]; then
  scripts/busybox-rootfs.sh "$bundle/rootfs"
fi
if [ ! -f "$bundle/config.json" ]; then
  (cd "$bundle" && berth-runtime spec)
  python3 - "$bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", "echo hello from a berth container: $(hostname), pid $$, $(id)"]
c["hostname"] = "berth"
json.dump(c, open(p, "w"), indent=2)
PY
fi
echo "+ berth-runtime run -b $bundle hello-$$"
berth-runtime run -b "$bundle" "hello-$$"
