#!/usr/bin/env bash
# All of the scale benchmarks in one call, one table at the end:
#   bulk load, single-device edits (admin p99 and until served) on SQLite and
#   on PostgreSQL (served by a second node), registration through the queue on
#   both, `register --all`, a tenant change and removing a tenant's devices
#   at N devices on both (bench/bulk.sh), memory after a start and after
#   every /prov fetched once (bench/memory.sh), the hot path against nginx
#   (bench/compare.sh, kept-alive and with a new connection per request),
#   Digest against Basic with a phone-like client (bench/digest.sh), a reboot
#   storm of N phones under the default limits (bench/storm.sh), ten
#   minutes of mixed load (bench/soak.sh), and the queue against the
#   fault-injecting fake cloud at 20 ms latency with 16, 64 and 256 workers
#   (the queue_latency bench). About 30 minutes at full scale on 2 cores (27 on a 2-vCPU EPYC).
#
#   bench/scale.sh                         # 100,000 devices, 1,000 edits, 10,000 queued, 5 rounds vs nginx
#   N=10000 E=100 Q=2000 ROUNDS=1 bench/scale.sh   # a quick look
# Needs what the scripts it runs need (PostgreSQL on 127.0.0.1, nginx and wrk).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export N=${N:-100000} E=${E:-1000}
Q=${Q:-10000}
ROUNDS=${ROUNDS:-5}
cargo build --release --manifest-path "$here/Cargo.toml" >&2
export TOUCHLESS_BIN=$here/target/release/touchless
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for db in sqlite postgres; do
  echo "== edits on $db" >&2
  DB=$db bash "$here/bench/edits.sh" | tee "$out/edits-$db" >&2
  echo "== queue on $db" >&2
  DB=$db N=$Q bash "$here/bench/queue.sh" | tee "$out/queue-$db" >&2
  echo "== bulk operations on $db" >&2
  DB=$db N=$N bash "$here/bench/bulk.sh" | tee "$out/bulk-$db" >&2
done
echo "== memory" >&2
N=$N bash "$here/bench/memory.sh" | tee "$out/memory" >&2
echo "== hot path vs nginx" >&2
ROUNDS=$ROUNDS DURATION=10 bash "$here/bench/compare.sh" 2>&1 | tee "$out/compare" >&2
echo "== hot path vs nginx, a new connection per request" >&2
CLOSE=1 ROUNDS=$ROUNDS DURATION=8 bash "$here/bench/compare.sh" 2>&1 | tee "$out/close" >&2
echo "== storm" >&2
N=$N bash "$here/bench/storm.sh" | tee "$out/storm" >&2
echo "== ten minutes of mixed load" >&2
N=$N MINUTES=${MINUTES:-10} bash "$here/bench/soak.sh" | tee "$out/soak" >&2
echo "== queue against a cloud at 20 ms latency" >&2
for db in sqlite postgres; do
  DB=$db N=$((Q * 2)) cargo bench --manifest-path "$here/Cargo.toml" -p touchless-server --bench queue_latency 2>/dev/null \
    | tee "$out/latency-$db" >&2 || true
done
echo "== digest vs basic" >&2
ROUNDS=$ROUNDS DURATION=10 bash "$here/bench/digest.sh" 2>&1 | tee "$out/digest" >&2
python3 - "$out" "$N" "$E" "$Q" <<'PY'
import re, sys, pathlib
out, n, e, q = pathlib.Path(sys.argv[1]), *sys.argv[2:]
def grab(name, pattern, default=("?",) * 4):
    try:
        m = re.search(pattern, (out / name).read_text())
    except FileNotFoundError:
        return default
    return m.groups() if m else default
rows = []
for db in ["sqlite", "postgres"]:
    load = grab(f"edits-{db}", r"bulk load: \d+ devices in ([\d.]+) s")
    ed = grab(f"edits-{db}", r"admin call p50 ([\d.]+) ms, p99 ([\d.]+) ms; served p50 ([\d.]+) ms, p99 ([\d.]+) ms")
    rss = grab(f"edits-{db}", r"after load and edits: (\d+) MB")
    qu = grab(f"queue-{db}", r"in ([\d.]+) s: (\d+) events/s")
    served = "by node B" if db == "postgres" else "same node"
    rows += [
        (f"{db}: bulk load {n} devices", f"{load[0]} s", "< 15 s"),
        (f"{db}: {e} edits, admin call p99", f"{ed[1]} ms", "< 20 ms"),
        (f"{db}: {e} edits, served p99 ({served})", f"{ed[3]} ms", "< 50 ms"),
        (f"{db}: RSS of the serving node after load and edits", f"{rss[0]} MB", "< 150 MB"),
        (f"{db}: {q} devices registered through the queue", f"{qu[0]} s ({qu[1]}/s)", "< 10 s for 10,000"),
    ]
    ra = grab(f"bulk-{db}", r"register --all: (\d+) queued, accepted in ([\d.]+) s; queue done in ([\d.]+) s")
    tc = grab(f"bulk-{db}", r"admin call ([\d.]+) ms, 20 sampled phones served the new host after (\d+) ms; "
              r"slowest fetch before ([\d.]+) ms, during ([\d.]+) ms")
    rm = grab(f"bulk-{db}", r"accepted in ([\d.]+) s \(.*\), all gone in ([\d.]+) s; "
              r"RSS before (\d+) MB, highest meanwhile (\d+) MB")
    rows += [
        (f"{db}: register --all of {ra[0]}: accepted, queue done", f"{ra[1]} s, {ra[2]} s", "< 5 s accepted"),
        (f"{db}: tenant change: admin call, all sampled phones served", f"{tc[0]} ms, {tc[1]} ms", "report"),
        (f"{db}: tenant change: slowest fetch before, during", f"{tc[2]} ms, {tc[3]} ms", "not blocked"),
        (f"{db}: remove --tenant of {n} registered: accepted, all gone", f"{rm[0]} s, {rm[1]} s", "bounded, report"),
        (f"{db}: remove --tenant: RSS before, highest meanwhile", f"{rm[2]} MB, {rm[3]} MB", "bounded, report"),
    ]
ratio = grab("compare", r"ratio B/A req/s \(median\): ([\d.]+)")
p99 = grab("compare", r"ratio B/A p50: [\d.]+\s+p99: ([\d.]+)")
rows += [("hot path vs nginx (Basic, access log), req/s", f"{ratio[0]}x", ">= 1.5x"),
         ("hot path vs nginx, p99 ratio", f"{p99[0]}", "<= 1.0")]
close = grab("close", r"ratio B/A req/s \(median\): ([\d.]+)")
rows += [("hot path vs nginx, new connection per request (CLOSE=1)", f"{close[0]}x", ">= 1.0x")]
start = grab("memory", r"after a start with \d+ devices: (\d+) MB")
fetched = grab("memory", r"after every /prov fetched once: (\d+) MB")
rows += [(f"RSS after a start with {n} devices", f"{start[0]} MB", "< 100 MB"),
         (f"RSS after every /prov fetched once", f"{fetched[0]} MB", "< 150 MB")]
dig = grab("digest", r"ratio digest/basic \(median\): ([\d.]+)")
cpu = grab("digest", r"digest median \d+ req/s, p99 [\d.]+ ms, generator ([\d.]+) cores")
rows += [("Digest / Basic, phone-like client (generator CPU)", f"{dig[0]}x ({cpu[0]} cores)", ">= 0.9x")]
try:
    import json
    raw = (out / "storm").read_text()
    st = json.loads(raw[raw.index("{"):raw.rindex("}") + 1])
    srss = grab("storm", r"RSS after the storm: (\d+) MB")
    p99 = "/".join(f"{st['stages'][k]['p99_ms']:.0f}" for k in ("redirect", "ztprov", "prov"))
    rows += [(f"storm of {n}: failures, phones/s", f"{st['failed']}, {st['phones_per_second']:.0f}/s", "0 failures"),
             ("storm p99 ms redirect/ztprov/prov, server RSS", f"{p99}, {srss[0]} MB", "report")]
except (FileNotFoundError, ValueError, KeyError):
    rows += [("storm", "?", "0 failures")]
soak = grab("soak", r"RSS minute 3: (\d+) MB, minute \d+: (\d+) MB \(([-+\d.]+)%\)")
mean = grab("soak", r"RSS mean of minute 3: (\d+) MB, of minute \d+: (\d+) MB \(([-+\d.]+)%\)")
rows += [("mixed load: RSS minute 3 -> last minute, at its end", f"{soak[0]} -> {soak[1]} MB ({soak[2]}%)", "<= +5%"),
         ("mixed load: RSS minute 3 -> last minute, its mean", f"{mean[0]} -> {mean[1]} MB ({mean[2]}%)", "<= +5%")]
for db in ["sqlite", "postgres"]:
    for c in ["16", "64", "256"]:
        lat = grab(f"latency-{db}", rf"(?m)^\s+{c}\s+[\d.]+s\s+[\d.]+\s+(\d+)\s+(\d+)\s+([\d.]+)")
        rows += [(f"{db}: queue, {c} workers, cloud at 20 ms (events/s of ideal)", f"{lat[0]}/{lat[1]} = {lat[2]}", ">= 0.80")]
w = max(len(r[0]) for r in rows)
print(f"{'measure':<{w}}  {'result':>16}  target")
for name, result, target in rows:
    print(f"{name:<{w}}  {result:>16}  {target}")
PY
