#!/usr/bin/env bash
# Incremental view at scale: loads N devices (default 100,000) through the
# bulk API, then makes E (default 1,000) single-device edits one after the
# other, timing the admin call and the time until /prov serves the change.
# On PostgreSQL the change must be served by a second node on the same
# database (it learns of it by NOTIFY). Prints RSS of the serving node too.
#
#   bench/edits.sh                 # SQLite, one node
#   DB=postgres bench/edits.sh     # PostgreSQL, edits through node A, served by node B
#   N=10000 E=200 bench/edits.sh   # smaller
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-100000}
E=${E:-1000}
bin=${TOUCHLESS_BIN:-$here/target/release/touchless}
[ -n "${TOUCHLESS_BIN:-}" ] || cargo build --release --manifest-path "$here/Cargo.toml" >&2
work=$(mktemp -d)
db_line=""
if [ "${DB:-sqlite}" = postgres ]; then
  psql -q -h 127.0.0.1 -U root -d postgres -c "DROP DATABASE IF EXISTS ebench" -c "CREATE DATABASE ebench" >&2
  db_line='database_url = "postgres://root@127.0.0.1:5432/ebench"'
fi
node() { # name prov admin redirect
  mkdir -p "$work/$1"
  cat > "$work/$1/touchless.toml" <<TOML
data_dir = "$work/$1/data"
$db_line
[provisioning]
listen = "127.0.0.1:$2"
[admin]
listen = "127.0.0.1:$3"
token = "bench-token"
[redirect]
enabled = $4
listen = "127.0.0.1:18292"
[daemon]
enabled = false
[auth]
schemes = ["digest", "basic"]
allow_basic_over_http = true
TOML
  "$bin" --config "$work/$1/touchless.toml" serve > "$work/$1/out" 2> "$work/$1/err" &
  echo $!
}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 1; rm -rf "$work"; }
trap cleanup EXIT
a=$(node a 18280 18281 true); pids+=("$a")
for _ in $(seq 100); do curl -sf http://127.0.0.1:18281/healthz >/dev/null && break; sleep 0.1; done
serve_pid=$a; serve_url=http://127.0.0.1:18280
if [ "${DB:-sqlite}" = postgres ]; then
  b=$(node b 18285 18286 false); pids+=("$b")
  for _ in $(seq 100); do curl -sf http://127.0.0.1:18286/healthz >/dev/null && break; sleep 0.1; done
  serve_pid=$b; serve_url=http://127.0.0.1:18285
fi
rss() { awk '/VmRSS/ {printf "%.0f MB", $2/1024}' "/proc/$1/status"; }
echo "serving node RSS before load: $(rss $serve_pid)"
python3 "$here/bench/edits.py" http://127.0.0.1:18281 "$serve_url" "$N" "$E"
echo "serving node RSS after load and edits: $(rss $serve_pid)"
