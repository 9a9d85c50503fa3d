#!/usr/bin/env bash
# Side-by-side benchmark: touchless (release build, pinned to CPU 1) against the
# shared nginx baseline, with ../shared/bench/compare.sh. Prints the ratio.
#
#   bench/compare.sh                 # Basic auth, like-for-like with nginx auth_basic
#   MODE=flow bench/compare.sh       # phone-like 401-then-200 pairs
# Env is passed through to compare.sh (ROUNDS, DURATION, CONNS, MODE, CLOSE).
# Needs: apt-get install -y nginx wrk
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED_BENCH:-$here/../shared/bench}
export SCRATCH=${SCRATCH:-${TMPDIR:-/tmp}/provbench}
port=${PORT:-18090}
admin_port=${ADMIN_PORT:-18091}

cargo build --release --manifest-path "$here/Cargo.toml" >&2
[ -s "$SCRATCH/data/devices.csv" ] || python3 "$shared/gen_files.py" --out "$SCRATCH/data" >&2

work=$(mktemp -d)
cat > "$work/touchless.toml" <<TOML
data_dir = "$work/data"
[provisioning]
listen = "127.0.0.1:$port"
access_log = "$work/access.log"
[admin]
listen = "127.0.0.1:$admin_port"
token = "bench-token"
[auth]
schemes = ["digest", "basic"]
allow_basic_over_http = true
TOML
taskset -c 1 "$here/target/release/touchless" --config "$work/touchless.toml" serve > "$work/serve.out" 2> "$work/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$admin_port/healthz" >/dev/null && break; sleep 0.2; done
python3 "$here/bench/load_devices.py" "http://127.0.0.1:$admin_port" bench-token "$SCRATCH/data/devices.csv" >&2
sleep 1.5  # let the provisioning view pick up the devices
WRK_CPU=0 CPU_MINE=wrk,nginx,timeout,taskset,touchless \
  "$shared/compare.sh" nginx-pin "http://prov:s3cr3t-prov@127.0.0.1:$port/prov/"
echo "access log lines written: $(wc -l < "$work/access.log")"
