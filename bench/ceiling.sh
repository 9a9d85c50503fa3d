#!/usr/bin/env bash
# The hot path's ceiling on this machine: bench/ceiling (a bare hyper server
# serving the shared benchmark's files from a HashMap behind one Basic pair,
# nothing else) pinned to CPU 1, first beside nginx (the highest ratio any
# hyper server reaches in bench/compare.sh's harness), then beside touchless
# (how much of that ceiling touchless keeps, in one call).
#
#   bench/ceiling.sh                 # 3 rounds of 10 s each
#   ROUNDS=5 bench/ceiling.sh
# Needs what bench/compare.sh needs (apt-get install -y nginx wrk).
set -euo pipefail
export ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-10}
EXTRA_TOML='[limits]
requests_per_sec_per_ip = 100000000
requests_burst_per_ip = 100000000'
source "$(dirname "$0")/start.sh"
cargo build --release --manifest-path "$here/Cargo.toml" -p ceiling >&2
bare_port=${CEILING_PORT:-18093}
if ss -Htln "sport = :$bare_port" | grep -q .; then
  echo "port $bare_port is taken; stop what listens there first" >&2
  exit 1
fi
taskset -c 1 "$here/target/release/ceiling" "$SCRATCH/data/prov" "$bare_port" &
bare=$!
trap 'kill $bare 2>/dev/null; cleanup' EXIT
for _ in $(seq 50); do
  curl -sf -o /dev/null -u prov:s3cr3t-prov "http://127.0.0.1:$bare_port/prov/$(head -1 "$SCRATCH/data/paths.txt" | sed 's|.*/||')" && break
  sleep 0.1
done
run() {
  WRK_CPU=0 CPU_MINE=wrk,nginx,timeout,taskset,touchless,ceiling "$shared/compare.sh" "$@" 2>&1 |
    grep -E "^ratio|^\| [AB] "
}
echo "== nginx (A) against the bare hyper server (B): the ceiling"
run nginx-pin "http://prov:s3cr3t-prov@127.0.0.1:$bare_port/prov/"
echo "== the bare hyper server (A) against touchless (B): what touchless keeps of it"
run "http://prov:s3cr3t-prov@127.0.0.1:$bare_port/prov/" "http://prov:s3cr3t-prov@127.0.0.1:$port/prov/"
