#!/usr/bin/env bash
# A reboot storm at scale under the default limits: a fresh node (SQLite,
# redirection service and daemon on), `touchless phone storm --count N`
# (default 100,000): every phone registered through the queue at the local
# redirection service, then all booted at once (redirect, /ztprov, /prov).
# Prints the storm's JSON (phones/s, failures, p99 per stage), the time the
# registrations took, and the server's RSS at the end.
#
#   bench/storm.sh            # 100,000 phones
#   N=10000 bench/storm.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-100000}
bin=${TOUCHLESS_BIN:-$here/target/release/touchless}
[ -n "${TOUCHLESS_BIN:-}" ] || cargo build --release --manifest-path "$here/Cargo.toml" >&2
work=$(mktemp -d)
cat > "$work/touchless.toml" <<TOML
data_dir = "$work/data"
[provisioning]
listen = "127.0.0.1:18880"
access_log = "$work/access.log"
[admin]
listen = "127.0.0.1:18881"
token = "bench-token"
[redirect]
listen = "127.0.0.1:18882"
TOML
"$bin" --config "$work/touchless.toml" serve > "$work/out" 2> "$work/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:18881/healthz >/dev/null && break; sleep 0.1; done
start=$SECONDS
"$bin" --config "$work/touchless.toml" phone storm --count "$N" \
  --redirect http://127.0.0.1:18882 --json 2> "$work/storm.err" > "$work/storm.json"
registered=$(grep -o 'devices registered in [0-9.]* s' "$work/storm.err" | tail -1 || true)
echo "storm of $N phones (${registered:-registration time not reported}), $((SECONDS - start)) s in all"
cat "$work/storm.json"
echo
echo "server RSS after the storm: $(awk '/VmRSS/ {printf "%.0f MB", $2/1024}' "/proc/$pid/status")"
