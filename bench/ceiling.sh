#!/usr/bin/env bash
# The hot path's ceiling on this machine: bench/ceiling (a bare hyper server
# serving files from a HashMap behind one Basic pair, nothing else) pinned to
# CPU 1, first beside nginx, both serving the shared benchmark's static files
# (the highest ratio any hyper server reaches in bench/compare.sh's harness),
# then beside touchless, the bare server now serving touchless's own answers
# (how much of that ceiling touchless keeps, in one call). touchless renders
# its bodies from the registry (788 bytes for the first path, against 3,730
# for the static file), so only the same bodies make the second comparison
# like for like.
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
# What touchless answers for every path, as files for the bare server.
mkdir "$work/answers"
python3 - "$port" "$SCRATCH/data/paths.txt" "$work/answers" <<'PY'
import base64, http.client, os, sys
port, paths, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
auth = {"Authorization": "Basic " + base64.b64encode(b"prov:s3cr3t-prov").decode()}
for line in open(paths):
    name = line.strip().rsplit("/", 1)[-1]
    if not name:
        continue
    c.request("GET", "/prov/" + name, headers=auth)
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        sys.exit(f"/prov/{name}: touchless answered {r.status}")
    with open(os.path.join(out, name), "wb") as f:
        f.write(body)
PY
bare=
# start_bare DIR: (re)starts the bare server on DIR's files and waits for it.
start_bare() {
  [ -z "$bare" ] || { kill "$bare"; wait "$bare" 2>/dev/null || true; }
  taskset -c 1 "$here/target/release/ceiling" "$1" "$bare_port" &
  bare=$!
  for _ in $(seq 50); do
    curl -sf -o /dev/null -u prov:s3cr3t-prov "http://127.0.0.1:$bare_port/prov/$(head -1 "$SCRATCH/data/paths.txt" | sed 's|.*/||')" && return
    sleep 0.1
  done
}
trap '[ -z "$bare" ] || kill $bare 2>/dev/null; cleanup' EXIT
run() {
  WRK_CPU=0 CPU_MINE=wrk,nginx,timeout,taskset,touchless,ceiling "$shared/compare.sh" "$@" 2>&1 |
    grep -E "^ratio|^\| [AB] "
}
start_bare "$SCRATCH/data/prov"
echo "== nginx (A) against the bare hyper server (B), the same static files: the ceiling"
run nginx-pin "http://prov:s3cr3t-prov@127.0.0.1:$bare_port/prov/"
start_bare "$work/answers"
echo "== the bare hyper server (A) against touchless (B), touchless's bodies: what touchless keeps of it"
run "http://prov:s3cr3t-prov@127.0.0.1:$bare_port/prov/" "http://prov:s3cr3t-prov@127.0.0.1:$port/prov/"
