#!/usr/bin/env bash
# Two builds of touchless side by side on the hot path: both started pinned to
# CPU 1 with the shared benchmark's 10,000 devices, then
# ../shared/bench/compare.sh runs the same wrk load on A and B alternately
# and prints the ratio B/A. Runs on this kind of machine swing by ±8% from
# one call to the next, so a change is only told apart from noise by both
# builds measured in one call.
#
#   bench/ab.sh OLD_BINARY NEW_BINARY      # ROUNDS, DURATION passed through
# Needs: apt-get install -y nginx wrk
set -euo pipefail
[ $# -eq 2 ] || { sed -n 2,9p "$0"; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${SHARED_BENCH:-$here/../shared/bench}
export SCRATCH=${SCRATCH:-${TMPDIR:-/tmp}/provbench}
[ -s "$SCRATCH/data/devices.csv" ] || python3 "$shared/gen_files.py" --out "$SCRATCH/data" >&2

pids=() dirs=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for d in "${dirs[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT
start() { # binary port: provisioning on port, admin on port+1, redirect on port+2
  local w
  w=$(mktemp -d)
  dirs+=("$w")
  cat > "$w/touchless.toml" <<TOML
data_dir = "$w/data"
[provisioning]
listen = "127.0.0.1:$2"
access_log = "$w/access.log"
[admin]
listen = "127.0.0.1:$(($2 + 1))"
token = "bench-token"
[redirect]
listen = "127.0.0.1:$(($2 + 2))"
[auth]
schemes = ["digest", "basic"]
allow_basic_over_http = true
[limits]
requests_per_sec_per_ip = 100000000
requests_burst_per_ip = 100000000
TOML
  taskset -c 1 "$1" --config "$w/touchless.toml" serve > "$w/serve.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$(($2 + 1))/healthz" >/dev/null && break; sleep 0.2; done
  python3 "$here/bench/load_devices.py" "http://127.0.0.1:$(($2 + 1))" bench-token "$SCRATCH/data/devices.csv" >&2
}
start "$1" 18190
start "$2" 18290
sleep 1.5  # let the provisioning views pick up the devices
WRK_CPU=0 CPU_MINE=wrk,timeout,taskset,touchless,"$(basename "$1" | cut -c1-15)","$(basename "$2" | cut -c1-15)" \
  "$shared/compare.sh" "http://prov:s3cr3t-prov@127.0.0.1:18190/prov/" "http://prov:s3cr3t-prov@127.0.0.1:18290/prov/"
