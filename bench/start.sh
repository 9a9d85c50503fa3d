# Sourced by the bench scripts: builds the release binary (or takes
# $TOUCHLESS_BIN), starts touchless
# pinned to CPU 1 on $port (admin on $admin_port) with $EXTRA_TOML appended to
# its config, loads the shared benchmark's 10,000 devices, and stops it on exit.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${SHARED_BENCH:-$here/../shared/bench}
export SCRATCH=${SCRATCH:-${TMPDIR:-/tmp}/provbench}
port=${PORT:-18090}
admin_port=${ADMIN_PORT:-18091}

bin=${TOUCHLESS_BIN:-$here/target/release/touchless}
[ -n "${TOUCHLESS_BIN:-}" ] || cargo build --release --manifest-path "$here/Cargo.toml" >&2
[ -s "$SCRATCH/data/devices.csv" ] || python3 "$shared/gen_files.py" --out "$SCRATCH/data" >&2

work=$(mktemp -d)
cat > "$work/touchless.toml" <<TOML
data_dir = "$work/data"
[provisioning]
listen = "0.0.0.0:$port"
access_log = "$work/access.log"
[admin]
listen = "127.0.0.1:$admin_port"
token = "bench-token"
[auth]
schemes = ["digest", "basic"]
allow_basic_over_http = true
${EXTRA_TOML:-}
TOML
# A server left over from another run on these ports would answer in this
# one's place (and its CPU would count as foreign): refuse to start instead.
for p in "$port" "$admin_port"; do
  if ss -Htln "sport = :$p" | grep -q .; then
    echo "port $p is taken (a server left over from another run?); stop it first" >&2
    rm -rf "$work"
    exit 1
  fi
done
taskset -c 1 "$bin" --config "$work/touchless.toml" serve > "$work/serve.out" 2> "$work/serve.err" &
pid=$!
cleanup() { kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$admin_port/healthz" >/dev/null && break; sleep 0.2; done
python3 "$here/bench/load_devices.py" "http://127.0.0.1:$admin_port" bench-token "$SCRATCH/data/devices.csv" >&2
sleep 1.5  # let the provisioning view pick up the devices
