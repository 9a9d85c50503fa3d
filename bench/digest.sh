#!/usr/bin/env bash
# Digest against Basic, same client: bench/digest-load (a phone's Digest
# exchange: one challenge per connection, then nc=1,2,3… on that nonce)
# pinned to CPU 0, touchless pinned to CPU 1 with the shared benchmark's
# 10,000 devices. Alternates Basic and Digest ROUNDS times and prints the
# medians, the ratio Digest/Basic, and the generator's own CPU use.
#
#   bench/digest.sh                        # 5 rounds of 10 s, 64 connections
#   ROUNDS=1 DURATION=5 bench/digest.sh
set -euo pipefail
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
EXTRA_TOML='[limits]
requests_per_sec_per_ip = 100000000
requests_burst_per_ip = 100000000'
source "$(dirname "$0")/start.sh"
cargo build --release --manifest-path "$here/Cargo.toml" -p digest-load >&2
gen=$here/target/release/digest-load
paths=$SCRATCH/data/paths.txt
out=$(mktemp)
for r in $(seq "$ROUNDS"); do
  for mode in basic digest; do
    flag=""; [ $mode = basic ] && flag=--basic
    line=$(taskset -c 0 "$gen" "http://prov:s3cr3t-prov@127.0.0.1:$port/prov/" "$paths" \
      --conns "$CONNS" --secs "$DURATION" --threads 1 $flag)
    echo "round $r $line" | tee -a "$out"
  done
done
python3 - "$out" <<'PY'
import re, statistics, sys
rows = open(sys.argv[1]).read().splitlines()
rate = lambda m: statistics.median(float(re.search(r"(\d+) req/s", r).group(1)) for r in rows if re.search(rf"round \d+ {m}", r))
b, d = rate("basic"), rate("digest")
cpu = lambda m: statistics.median(float(re.search(r"cpu ([\d.]+) cores", r).group(1)) for r in rows if re.search(rf"round \d+ {m}", r))
p99 = lambda m: statistics.median(float(re.search(r"p99 ([\d.]+) ms", r).group(1)) for r in rows if re.search(rf"round \d+ {m}", r))
print(f"basic  median {b:.0f} req/s, p99 {p99('basic'):.3f} ms, generator {cpu('basic'):.2f} cores")
print(f"digest median {d:.0f} req/s, p99 {p99('digest'):.3f} ms, generator {cpu('digest'):.2f} cores")
print(f"ratio digest/basic (median): {d / b:.3f}")
PY
rm -f "$out"
