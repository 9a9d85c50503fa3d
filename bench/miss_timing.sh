#!/usr/bin/env bash
# Does a miss cost what a wrong password costs, seen from outside? Digest MD5
# requests for the 10,000 registered files with a wrong password, against as
# many files of unregistered MACs with the right password, alternating, ROUNDS
# rounds of DURATION seconds each (wrk pinned to CPU 0, touchless to CPU 1).
# Prints each round and the medians; they should agree within a few percent.
#
#   ROUNDS=5 DURATION=5 bench/miss_timing.sh
set -euo pipefail
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
EXTRA_TOML='[limits]
requests_per_sec_per_ip = 100000000
requests_burst_per_ip = 100000000'
source "$(dirname "$0")/start.sh"
for mode in wrong unknown; do
  python3 "$here/bench/digest_headers.py" "http://127.0.0.1:$port" "$SCRATCH/data/devices.csv" "$mode" "$work/$mode.txt"
done
for r in $(seq "$ROUNDS"); do
  for mode in wrong unknown; do
    REQUESTS="$work/$mode.txt" LABEL="$mode" timeout $((DURATION + 30)) taskset -c 0 \
      wrk -t1 -c8 -d"${DURATION}s" --latency -s "$here/bench/replay.lua" "http://127.0.0.1:$port" \
      | grep '^RESULT' | tee -a "$work/results.txt"
  done
done
python3 - "$work/results.txt" <<'PY'
import json, statistics, sys
rows = [json.loads(l.split(" ", 1)[1]) for l in open(sys.argv[1])]
med = {m: {k: statistics.median(r[k] for r in rows if r["label"] == m) for k in ("rps", "p50_ms", "p99_ms")}
       for m in ("wrong", "unknown")}
for m, v in med.items():
    print(f"{m:8} median rps {v['rps']:.0f}  p50 {v['p50_ms']:.3f} ms  p99 {v['p99_ms']:.3f} ms")
print(f"unknown/wrong: rps {med['unknown']['rps'] / med['wrong']['rps']:.3f}, p50 {med['unknown']['p50_ms'] / med['wrong']['p50_ms']:.3f}")
PY
