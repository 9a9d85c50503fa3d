#!/usr/bin/env bash
# What a flood of bad requests does to good ones, under the default limits.
#
# touchless (release, pinned to CPU 1) serves the shared benchmark's 10,000
# devices. A good client (wrk, valid Basic credentials, 4 connections paced to
# about 2,000 requests a second by bench/paced.lua) runs alone, then beside a
# flood of wrong passwords (the shared prov.lua in MODE=badauth, 64
# connections, as fast as it goes), both pinned to CPU 0. The flood comes from
# another loopback address (127.0.0.3, through a /32 local route this script
# adds and removes), so per-source limits can tell the two apart, as they would
# two hosts. Prints the good client's p99 before and during, and the flood's rate.
#
#   bench/flood.sh          # DURATION=10
# Needs: apt-get install -y wrk; root (for the route).
set -euo pipefail
DURATION=${DURATION:-10}
source "$(dirname "$0")/start.sh"
ip route add local 127.0.0.3 dev lo src 127.0.0.3 table local
trap 'ip route del local 127.0.0.3 dev lo src 127.0.0.3 table local 2>/dev/null; cleanup' EXIT
paths="$SCRATCH/data/paths.txt"
[ -s "$paths" ] || ls "$SCRATCH/data/prov" > "$paths"
wrk_run() {  # mode conns url label script
  PROV_PATHS="$paths" PROV_PREFIX=/prov/ PROV_MODE="$1" PROV_LABEL="$4" PROV_LUA="$shared/prov.lua" \
    timeout $((DURATION + 30)) taskset -c 0 wrk -t1 -c"$2" -d"${DURATION}s" --timeout 5s --latency \
    -s "$5" "$3" | grep '^RESULT'
}
echo "good client alone:"
wrk_run auth 4 "http://127.0.0.1:$port" good-alone "$here/bench/paced.lua"
echo "good client during the flood, and the flood:"
wrk_run badauth 64 "http://127.0.0.3:$port" flood "$shared/prov.lua" > "$work/flood.txt" &
flood=$!
sleep 1
wrk_run auth 4 "http://127.0.0.1:$port" good-during "$here/bench/paced.lua"
wait $flood
cat "$work/flood.txt"
echo "server RSS: $(ps -o rss= -p "$pid") KiB"
