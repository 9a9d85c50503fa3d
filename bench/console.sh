#!/usr/bin/env bash
# The console's device list at scale: N devices (default 100,000) in two
# tenants, half of them registered, then R requests (default 200) of each
# page an admin opens, with 50 devices to a page; prints p50/p95 of each.
# The time is the client's (loopback), an upper bound of the server's.
#
#   bench/console.sh                 # SQLite
#   DB=postgres bench/console.sh     # PostgreSQL
#   N=10000 R=50 bench/console.sh    # smaller
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-100000}
R=${R:-200}
bin=${TOUCHLESS_BIN:-$here/target/release/touchless}
[ -n "${TOUCHLESS_BIN:-}" ] || cargo build --release --manifest-path "$here/Cargo.toml" >&2
work=$(mktemp -d)
db_line=""
if [ "${DB:-sqlite}" = postgres ]; then
  psql -q -h 127.0.0.1 -U root -d postgres -c "DROP DATABASE IF EXISTS cbench" -c "CREATE DATABASE cbench" >&2
  db_line='database_url = "postgres://root@127.0.0.1:5432/cbench"'
fi
cat > "$work/touchless.toml" <<TOML
data_dir = "$work/data"
$db_line
[provisioning]
listen = "127.0.0.1:18390"
[admin]
listen = "127.0.0.1:18391"
token = "bench-token"
[redirect]
listen = "127.0.0.1:18392"
[daemon]
enabled = false
TOML
"$bin" --config "$work/touchless.toml" serve > "$work/serve.out" 2> "$work/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:18391/healthz >/dev/null && break; sleep 0.1; done
python3 - "$N" "$R" "$work/data/console-admin-password" "${DB:-sqlite}" <<'PY'
import http.cookiejar, json, statistics, sys, time, urllib.parse, urllib.request
n, rounds, pwfile, db = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
base = "http://127.0.0.1:18391"
def api(method, path, body=None):
    req = urllib.request.Request(base + "/api/v1" + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer bench-token", "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return r.read()
for t in ["alpha", "beta"]:
    api("POST", "/tenants", {"id": t, "sip_host": "pbx.example.com"})
for k in range(0, n, 1000):
    api("POST", "/devices", [{"mac": f"0004{i:08X}", "model": "snomD717",
        "tenant": "alpha" if i % 2 else "beta", "name": f"Desk {i}",
        "lines": [{"extension": str(10000 + i), "sip_password": "pw"}]} for i in range(k, min(k + 1000, n))])
# Half of them registered, as a list an admin filters by status would be.
import subprocess
user, password = open(pwfile).read().split()
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
opener.open(base + "/login", data=urllib.parse.urlencode({"user": user, "password": password}).encode())
last = (n // 2 - 1) // 50
pages = {
    "devices, no filter": "/devices",
    "tenant + status filter": "/devices?tenant=alpha&status=unregistered",
    "substring search": f"/devices?q={10000 + n // 3}",
    "last page": f"/devices?tenant=alpha&page={last}",
    "last page, no filter": f"/devices?page={(n - 1) // 50}",
}
print(f"console device list at {n} devices ({db}), {rounds} requests each, 50 to a page")
for name, path in pages.items():
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        with opener.open(base + path) as r:
            body = r.read()
            assert r.status == 200 and b"data-mac" in body, (path, r.status)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    print(f"  {name:<24} p50 {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms")
PY
