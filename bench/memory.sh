#!/usr/bin/env bash
# Memory at scale: loads N devices (default 100,000) into a node on SQLite,
# restarts it, and prints its RSS after the start and after every device's
# /prov file was fetched once, with the render cache's counters.
#
#   bench/memory.sh                  # 100,000 devices, per-device /prov credentials
#   SCOPE=tenant bench/memory.sh     # one shared pair per tenant
#   N=10000 bench/memory.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-100000}
SCOPE=${SCOPE:-device}
bin=${TOUCHLESS_BIN:-$here/target/release/touchless}
[ -n "${TOUCHLESS_BIN:-}" ] || cargo build --release --manifest-path "$here/Cargo.toml" >&2
work=$(mktemp -d)
cat > "$work/touchless.toml" <<TOML
data_dir = "$work/data"
[provisioning]
listen = "127.0.0.1:18480"
access_log = "off"
[admin]
listen = "127.0.0.1:18481"
token = "bench-token"
[redirect]
enabled = false
[daemon]
enabled = false
[auth]
schemes = ["basic"]
allow_basic_over_http = true
TOML
pid=
start() {
  "$bin" --config "$work/touchless.toml" serve > "$work/out" 2> "$work/err" &
  pid=$!
  for _ in $(seq 300); do curl -sf http://127.0.0.1:18481/healthz >/dev/null && return; sleep 0.1; done
  echo "node did not start" >&2; cat "$work/err" >&2; exit 1
}
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; sleep 0.5; rm -rf "$work"; }
trap cleanup EXIT
rss() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$pid/status"; }
status() { curl -s -H "Authorization: Bearer bench-token" http://127.0.0.1:18481/api/v1/status; }
start
echo "RSS empty: $(rss) MB"
python3 "$here/bench/memory.py" load http://127.0.0.1:18481 "$N" "$SCOPE"
echo "RSS after loading $N devices ($SCOPE scope): $(rss) MB"
kill "$pid"; wait "$pid" 2>/dev/null || true
start
sleep 2
echo "RSS after a start with $N devices: $(rss) MB"
python3 "$here/bench/memory.py" fetch http://127.0.0.1:18481 http://127.0.0.1:18480 "$N" "$SCOPE"
echo "RSS after every /prov fetched once: $(rss) MB"
echo "status: $(status)"
