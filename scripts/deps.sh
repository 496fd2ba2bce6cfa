#!/usr/bin/env bash
# Installs the Debian packages berth builds and runs with (and any given as arguments), when
# missing. Idempotent.
set -euo pipefail
want=(busybox-static libseccomp-dev pkg-config python3 tar gzip uidmap procps iptables iproute2 util-linux "$@")
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
