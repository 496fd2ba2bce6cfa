#!/usr/bin/env bash
# The README's second command: installs what the tests need and runs every test of the
# workspace (unit and integration; the integration tests run real containers, so as root).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (the tests create namespaces, mounts and cgroups)" >&2; exit 1; }
[ -f ../shared/fixtures/make-image.py ] || { echo "test.sh: ../shared (test fixtures) is missing beside this checkout" >&2; exit 1; }
# runc: the tests run containers with another OCI runtime too; tzdata: times in other zones.
scripts/deps.sh runc tzdata
cargo test --workspace --no-fail-fast
