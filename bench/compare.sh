#!/usr/bin/env bash
# Side-by-side benchmark: touchless (release build, pinned to CPU 1) against the
# shared nginx baseline, with ../shared/bench/compare.sh. Prints the ratio.
#
#   bench/compare.sh                 # Basic auth, like-for-like with nginx auth_basic
#   MODE=flow bench/compare.sh       # phone-like 401-then-200 pairs
# Env is passed through to compare.sh (ROUNDS, DURATION, CONNS, MODE, CLOSE).
# Needs: apt-get install -y nginx wrk
#
# wrk is one source address at 100,000+ requests a second, which the default
# per-source limit (20,000/s) would turn away; nginx in the same harness has no
# limit_req. So the limit is set far above what wrk reaches: the limiter still
# runs on every request (its cost is measured), it just never says no.
set -euo pipefail
EXTRA_TOML='[limits]
requests_per_sec_per_ip = 100000000
requests_burst_per_ip = 100000000'
source "$(dirname "$0")/start.sh"
WRK_CPU=0 CPU_MINE=wrk,nginx,timeout,taskset,touchless \
  "$shared/compare.sh" nginx-pin "http://prov:s3cr3t-prov@127.0.0.1:$port/prov/"
echo "access log lines written: $(wc -l < "$work/access.log")"
