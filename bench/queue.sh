#!/usr/bin/env bash
# Queue benchmark: N devices (default 10,000) registered through the event
# queue at the local redirection service, end to end (admin API → events →
# distributor and workers → Hawk-signed PUTs → outcomes). Prints the time from
# the register call until the queue is empty, and events per second.
#
#   bench/queue.sh                                   # SQLite, fresh data folder
#   DB=postgres bench/queue.sh                       # PostgreSQL, fresh database qbench
#   TOUCHLESS_BIN=/tmp/old/touchless bench/queue.sh  # another build, for before/after
#   QUEUENUM=32 bench/queue.sh                       # more workers than the default 16
#   QUEUE_LOG=/tmp/q.log TOUCHLESS_LOG=sqlx=debug N=200 bench/queue.sh   # every statement, to count them per event
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-10000}
bin=${TOUCHLESS_BIN:-$here/target/release/touchless}
[ -n "${TOUCHLESS_BIN:-}" ] || cargo build --release --manifest-path "$here/Cargo.toml" >&2
work=$(mktemp -d)
db_line=""
if [ "${DB:-sqlite}" = postgres ]; then
  psql -q -h 127.0.0.1 -U root -d postgres -c "DROP DATABASE IF EXISTS qbench" -c "CREATE DATABASE qbench" >&2
  db_line='database_url = "postgres://root@127.0.0.1:5432/qbench"'
fi
cat > "$work/touchless.toml" <<TOML
data_dir = "$work/data"
$db_line
[provisioning]
listen = "127.0.0.1:18190"
[admin]
listen = "127.0.0.1:18191"
token = "bench-token"
[redirect]
listen = "127.0.0.1:18192"
${QUEUENUM:+[daemon]
queuenum = $QUEUENUM}
TOML
"$bin" --config "$work/touchless.toml" serve > "$work/serve.out" 2> "${QUEUE_LOG:-$work/serve.err}" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:18191/healthz >/dev/null && break; sleep 0.1; done
python3 - "$N" <<'PY'
import json, sys, time, urllib.request
n = int(sys.argv[1])
base = "http://127.0.0.1:18191/api/v1"
def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer bench-token", "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")
call("POST", "/tenants", {"id": "qbench", "sip_host": "pbx.example.com"})
macs = [f"0004{i:08X}" for i in range(1, n + 1)]
for k in range(0, n, 1000):
    call("POST", "/devices", [{"mac": m, "model": "snomD717", "tenant": "qbench"} for m in macs[k:k + 1000]])
started = time.monotonic()
call("POST", "/devices/register", {"tenant": "qbench"})
while True:
    s = call("GET", "/events/summary")
    if s["pending"] + s["running"] == 0:
        break
    time.sleep(0.1)
took = time.monotonic() - started
bad = [d for d in call("GET", "/devices?tenant=qbench") if d["status"] != "registered"]
print(f"{n} devices registered through the queue in {took:.1f} s: {n / took:.0f} events/s; "
      f"failed {s['failed']}, not registered {len(bad)}")
PY
