#!/usr/bin/env bash
# Runs the fuzz targets (cargo fuzz, nightly; no sanitizer: the code is
# safe Rust, and what libFuzzer looks for here is a panic, a hang or
# runaway memory) and prints one line per target: executions, exec/s and
# libFuzzer's final cov/ft counters.
#
#   fuzz/run.sh                       # a smoke run: 10 s per target
#   TIME=1800 RUNS=10000000 fuzz/run.sh render_snom digest   # the long run, some targets
#   JOBS=2 fuzz/run.sh                # two targets at a time
#   MINIMIZE=1 fuzz/run.sh            # then `cargo fuzz cmin` each corpus
#
# Each target starts from seeds/<target> (hand-written) and corpus/<target>
# (committed, minimized) and adds what it finds to corpus/<target>. A crash
# leaves its input in artifacts/<target>/ and fails the run.
# Needs: rustup toolchain nightly, cargo install cargo-fuzz.
set -euo pipefail
cd "$(dirname "$0")"
TIME=${TIME:-10}
RUNS=${RUNS:-10000000}
JOBS=${JOBS:-1}
targets=${*:-$(cargo +nightly fuzz list)}
cargo +nightly fuzz build -s none >&2
mkdir -p logs
run() {
  local t=$1
  mkdir -p "corpus/$t" "seeds/$t"
  if cargo +nightly fuzz run -s none "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$TIME" -runs="$RUNS" -rss_limit_mb=1024 -timeout=5 \
      -print_final_stats=1 > "logs/$t.log" 2>&1; then
    status=ok
  else
    status=FAILED
  fi
  local execs speed last
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "logs/$t.log")
  speed=$(awk '/stat::average_exec_per_sec/ {print $2}' "logs/$t.log")
  last=$(grep -E '^#[0-9]+' "logs/$t.log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)
  printf '%-16s %-7s %12s execs %9s exec/s  %s\n' "$t" "$status" "${execs:-?}" "${speed:-?}" "$last"
  [ "$status" = ok ]
}
export -f run
export TIME RUNS
failed=0
if [ "$JOBS" -gt 1 ]; then
  printf '%s\n' $targets | xargs -P "$JOBS" -I{} bash -c 'run {}' || failed=1
else
  for t in $targets; do run "$t" || failed=1; done
fi
if [ "${MINIMIZE:-0}" = 1 ]; then
  for t in $targets; do
    cargo +nightly fuzz cmin -s none "$t" "corpus/$t" > "logs/$t.cmin.log" 2>&1 || true
    echo "$t: corpus minimized to $(ls "corpus/$t" | wc -l) inputs"
  done
fi
exit $failed
