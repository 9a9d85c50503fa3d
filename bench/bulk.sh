#!/usr/bin/env bash
# Bulk operations at scale, one node: N devices (default 100,000) of one
# tenant, then
#   1. `register --all`: how long the call takes to be accepted (every event
#      committed), then how long the queue takes to register them all at the
#      local redirection service;
#   2. a tenant change (its SIP host) while phones fetch: how long until
#      sampled phones are served the new host, and the slowest fetch during
#      the change against the slowest before it;
#   3. removing all of the tenant's devices (`device remove --tenant`): they
#      are registered, so their deregistrations are queued first; how long
#      the call takes, how long until the view serves none of them, and the
#      server's RSS before and at its highest meanwhile (read every 0.2 s).
#
#   bench/bulk.sh                    # SQLite, 100,000 devices
#   DB=postgres bench/bulk.sh        # PostgreSQL, fresh database bbench
#   N=10000 bench/bulk.sh            # a quick look
#   TOUCHLESS_BIN=/tmp/old/touchless bench/bulk.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-100000}
bin=${TOUCHLESS_BIN:-$here/target/release/touchless}
[ -n "${TOUCHLESS_BIN:-}" ] || cargo build --release --manifest-path "$here/Cargo.toml" >&2
work=$(mktemp -d)
db_line=""
if [ "${DB:-sqlite}" = postgres ]; then
  psql -q -h 127.0.0.1 -U root -d postgres -c "DROP DATABASE IF EXISTS bbench" -c "CREATE DATABASE bbench" >&2
  db_line='database_url = "postgres://root@127.0.0.1:5432/bbench"'
fi
cat > "$work/touchless.toml" <<TOML
data_dir = "$work/data"
$db_line
[provisioning]
listen = "127.0.0.1:18590"
[admin]
listen = "127.0.0.1:18591"
token = "bench-token"
[redirect]
listen = "127.0.0.1:18592"
[auth]
schemes = ["digest", "basic"]
allow_basic_over_http = true
TOML
"$bin" --config "$work/touchless.toml" serve > "$work/serve.out" 2> "$work/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:18591/healthz >/dev/null && break; sleep 0.1; done
python3 - "$N" "$pid" <<'PY'
import base64, http.client, json, random, sys, threading, time
n, pid = int(sys.argv[1]), int(sys.argv[2])
H = {"Authorization": "Bearer bench-token", "Content-Type": "application/json"}
a = http.client.HTTPConnection("127.0.0.1", 18591, timeout=600)

def call(method, path, body=None):
    a.request(method, "/api/v1" + path, body=None if body is None else json.dumps(body), headers=H)
    r = a.getresponse()
    data = r.read()
    if r.status >= 300:
        sys.exit(f"{method} {path}: {r.status} {data[:300]!r}")
    return json.loads(data) if data else None

def rss():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024

def drained():
    s = call("GET", "/events/summary")
    return s["pending"] + s["running"] == 0, s

macs = [f"0004{i:08X}" for i in range(1, n + 1)]
call("POST", "/tenants", {"id": "bulk", "sip_host": "pbx.example.com", "prov_user": "prov-bulk",
                          "prov_pass": "s3cr3t-bulk", "prov_credentials": "tenant"})
t = time.monotonic()
for k in range(0, n, 1000):
    call("POST", "/devices", [{"mac": m, "model": "snomD717", "tenant": "bulk",
                               "lines": [{"extension": str(1000 + i), "sip_password": f"pw-{i}"}]}
                              for i, m in enumerate(macs[k:k + 1000], start=k)])
print(f"loaded {n} devices in {time.monotonic() - t:.1f} s; RSS {rss()} MB")

# 1. register --all
t = time.monotonic()
q = call("POST", "/devices/register", {"all": True})
accepted = time.monotonic() - t
while not drained()[0]:
    time.sleep(0.2)
took = time.monotonic() - t
s = drained()[1]
print(f"register --all: {q['queued']} queued, accepted in {accepted:.2f} s; "
      f"queue done in {took:.1f} s ({q['queued'] / took:.0f}/s), failed {s['failed']}")

# 2. a tenant change while phones fetch
auth = {"Authorization": "Basic " + base64.b64encode(b"prov-bulk:s3cr3t-bulk").decode()}
def fetch(p, mac):
    t = time.monotonic()
    p.request("GET", f"/prov/snomD717-{mac}.htm", headers=auth)
    r = p.getresponse()
    body = r.read()
    if r.status != 200:
        sys.exit(f"/prov {mac}: {r.status}")
    return time.monotonic() - t, body

slowest = {"before": 0.0, "during": 0.0}
phase = ["before"]
stop = threading.Event()
def fetcher():
    p = http.client.HTTPConnection("127.0.0.1", 18590, timeout=60)
    while not stop.is_set():
        d, _ = fetch(p, random.choice(macs))
        slowest[phase[0]] = max(slowest[phase[0]], d)
threads = [threading.Thread(target=fetcher) for _ in range(4)]
for th in threads:
    th.start()
time.sleep(2)
sample = random.sample(macs, 20)
p = http.client.HTTPConnection("127.0.0.1", 18590, timeout=60)
phase[0] = "during"
t = time.monotonic()
call("PATCH", "/tenants/bulk", {"sip_host": "pbx2.example.com"})
admin = time.monotonic() - t
left = set(sample)
while left:
    for m in list(left):
        if b"pbx2.example.com" in fetch(p, m)[1]:
            left.discard(m)
    if time.monotonic() - t > 60:
        sys.exit(f"{len(left)} sampled phones still served the old host after 60 s")
served = time.monotonic() - t
time.sleep(1)
stop.set()
for th in threads:
    th.join()
print(f"tenant change: admin call {admin * 1000:.1f} ms, 20 sampled phones served the new host "
      f"after {served * 1000:.0f} ms; slowest fetch before {slowest['before'] * 1000:.1f} ms, "
      f"during {slowest['during'] * 1000:.1f} ms")

# 3. remove the tenant's devices: deregistrations first
before = rss()
peak = [before]
done = threading.Event()
def watch():
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.2)
w = threading.Thread(target=watch)
w.start()
t = time.monotonic()
r = call("POST", "/devices/remove", {"tenant": "bulk"})
accepted = time.monotonic() - t
in_call = peak[0]
while call("GET", "/status")["devices"] > 0 or not drained()[0]:
    time.sleep(0.2)
took = time.monotonic() - t
done.set()
w.join()
print(f"remove --tenant of {n} registered devices: accepted in {accepted:.2f} s "
      f"({len(r['removed'])} removed at once, {len(r['deregistering'])} deregistering), "
      f"all gone in {took:.1f} s; "
      f"RSS before {before} MB, highest meanwhile {peak[0]} MB "
      f"(during the call {in_call} MB), after {rss()} MB")
PY
