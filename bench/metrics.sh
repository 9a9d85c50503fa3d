#!/usr/bin/env bash
# What the metrics cost the hot path: two touchless nodes, one with metrics
# off (A) and one with them on (B), both pinned to CPU 1 with the shared
# benchmark's 10,000 devices, Basic auth and the access log on; the shared
# compare.sh puts the same wrk load on each in turn and prints the ratio
# on/off (B/A) of the medians.
#
#   bench/metrics.sh                   # 5 rounds of 10 s each
#   ROUNDS=1 DURATION=5 bench/metrics.sh
set -euo pipefail
export ROUNDS=${ROUNDS:-5} DURATION=${DURATION:-10}
limits='[limits]
requests_per_sec_per_ip = 100000000
requests_burst_per_ip = 100000000'
PORT=18090 ADMIN_PORT=18091 EXTRA_TOML="$limits
[metrics]
enabled = false"
source "$(dirname "$0")/start.sh"
off_port=$port off_pid=$pid off_work=$work
# The first node holds the default redirection-service port.
PORT=18092 ADMIN_PORT=18093 TOUCHLESS_BIN=$bin EXTRA_TOML="$limits
[redirect]
listen = \"127.0.0.1:18094\""
source "$(dirname "$0")/start.sh"
trap 'kill $pid $off_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work" "$off_work"' EXIT
curl -sf -H 'Authorization: Bearer bench-token' "http://127.0.0.1:$admin_port/metrics" >/dev/null
WRK_CPU=0 CPU_MINE=wrk,nginx,timeout,taskset,touchless \
  "$shared/compare.sh" "http://prov:s3cr3t-prov@127.0.0.1:$off_port/prov/" \
  "http://prov:s3cr3t-prov@127.0.0.1:$port/prov/"
echo "(A = metrics off, B = metrics on: the ratio B/A is what the metrics leave of the rate)"
