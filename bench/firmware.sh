#!/usr/bin/env bash
# Firmware images at once: SIZE_MB (default 100) served to CONNS (default 200)
# phones fetching it over and over for DURATION seconds (wrk, Basic auth with
# a tenant's /prov pair). Prints throughput, whole images served and the
# server's resident memory before, during (sampled) and at its peak (VmHWM).
#
#   bench/firmware.sh
#   SIZE_MB=300 CONNS=400 DURATION=30 bench/firmware.sh
# Needs: apt-get install -y wrk
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE_MB=${SIZE_MB:-100}
CONNS=${CONNS:-200}
DURATION=${DURATION:-20}
bin=${TOUCHLESS_BIN:-$here/target/release/touchless}
[ -n "${TOUCHLESS_BIN:-}" ] || cargo build --release --manifest-path "$here/Cargo.toml" >&2
work=$(mktemp -d)
mkdir -p "$work/firmware"
head -c "${SIZE_MB}M" /dev/urandom > "$work/firmware/image.bin"
cat > "$work/touchless.toml" <<TOML
data_dir = "$work/data"
[provisioning]
listen = "127.0.0.1:18580"
access_log = "off"
firmware_dir = "$work/firmware"
[admin]
listen = "127.0.0.1:18581"
token = "bench-token"
[redirect]
enabled = false
[daemon]
enabled = false
[auth]
schemes = ["basic"]
allow_basic_over_http = true
[limits]
requests_per_sec_per_ip = 100000000
requests_burst_per_ip = 100000000
TOML
"$bin" --config "$work/touchless.toml" serve > "$work/out" 2> "$work/err" &
pid=$!
sampler=
cleanup() { [ -n "$sampler" ] && kill "$sampler" 2>/dev/null; kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:18581/healthz >/dev/null && break; sleep 0.1; done
curl -sf -H 'authorization: Bearer bench-token' -H 'content-type: application/json' \
  -d '{"id":"acme","name":"Acme","sip_host":"pbx.example.com","prov_user":"prov","prov_pass":"s3cr3t-prov","prov_credentials":"tenant"}' \
  http://127.0.0.1:18581/api/v1/tenants > /dev/null
sleep 1.2  # the view picks the tenant up
url=http://127.0.0.1:18580/firmware/image.bin
auth="authorization: Basic $(printf prov:s3cr3t-prov | base64)"
# A range first: what a phone resuming a download asks.
code=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -H "$auth" -H 'range: bytes=1000-1999' "$url")
[ "$code" = "206 1000" ] || { echo "range request answered $code" >&2; exit 1; }
rss() { awk '/^VmRSS/ {print int($2/1024)}' "/proc/$pid/status"; }
before=$(rss)
( max=0; while sleep 0.2; do r=$(rss); [ "$r" -gt "$max" ] && max=$r && echo "$max" > "$work/max"; done ) &
sampler=$!
out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 120s -H "$auth" "$url")
kill "$sampler" 2>/dev/null; sampler=
peak=$(awk '/^VmHWM/ {print int($2/1024)}' "/proc/$pid/status")
after=$(rss)
requests=$(echo "$out" | awk '/requests in/ {print $1}')
transfer=$(echo "$out" | awk '/Transfer\/sec/ {print $2}')
errors=$(echo "$out" | grep -E 'Non-2xx|Socket errors' || true)
echo "image ${SIZE_MB} MB, ${CONNS} concurrent fetches for ${DURATION} s"
echo "  whole images served: ${requests}   throughput: ${transfer}/s"
[ -n "$errors" ] && echo "  $errors"
echo "  RSS before: ${before} MB   sampled max during: $(cat "$work/max" 2>/dev/null || echo "$before") MB   peak (VmHWM): ${peak} MB   after: ${after} MB"
