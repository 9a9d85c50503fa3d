#!/usr/bin/env python3
"""Bulk load N devices, then E single-device edits, against running nodes.

Usage: edits.py ADMIN_URL PROV_URL N E
ADMIN_URL is the node that takes the writes; PROV_URL the node whose /prov
must serve each change (another node on PostgreSQL). Prints the load time,
the admin call's p50/p99, and the p50/p99 from sending the edit until PROV_URL
serves the new revision.
"""
import base64
import http.client
import json
import sys
import time
import urllib.parse

admin, prov, n, edits = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])


def conn(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


a = conn(admin)
p = conn(prov)
auth_admin = {"Authorization": "Bearer bench-token", "Content-Type": "application/json"}
basic = "Basic " + base64.b64encode(b"prov-bench:s3cr3t-bench").decode()


def call(method, path, body=None):
    a.request(method, "/api/v1" + path, body=None if body is None else json.dumps(body), headers=auth_admin)
    r = a.getresponse()
    data = r.read()
    if r.status >= 300:
        sys.exit(f"{method} {path}: {r.status} {data[:300]!r}")
    return json.loads(data) if data else None


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] * 1000


call("POST", "/tenants", {"id": "bench", "sip_host": "pbx.example.com", "prov_user": "prov-bench",
                          "prov_pass": "s3cr3t-bench", "prov_credentials": "tenant"})
macs = [f"0004{i:08X}" for i in range(1, n + 1)]
t0 = time.monotonic()
for k in range(0, n, 1000):
    call("POST", "/devices", [{"mac": m, "model": "snomD717", "tenant": "bench",
                               "lines": [{"extension": str(1000 + i), "sip_password": "pw"}]}
                              for i, m in enumerate(macs[k:k + 1000], start=k)])
load = time.monotonic() - t0
print(f"bulk load: {n} devices in {load:.1f} s ({n / load:.0f}/s)", flush=True)

admin_t, served_t, polls = [], [], 0
for i in range(edits):
    mac = macs[(i * 7919) % n]
    t = time.monotonic()
    d = call("PATCH", f"/devices/{mac}", {"name": f"edit {i}"})
    admin_t.append(time.monotonic() - t)
    want = f"revision {d['revision']} -->".encode()
    while True:
        p.request("GET", f"/prov/snomD717-{mac}.htm", headers={"Authorization": basic})
        r = p.getresponse()
        body = r.read()
        polls += 1
        if r.status == 200 and want in body:
            break
        if time.monotonic() - t > 10:
            sys.exit(f"{mac}: revision {d['revision']} not served after 10 s")
        # A phone does not spin: poll every millisecond, so the poller does
        # not starve the node it measures (2 cores here).
        time.sleep(0.001)
    served_t.append(time.monotonic() - t)
print(f"{edits} edits: admin call p50 {pct(admin_t, .5):.1f} ms, p99 {pct(admin_t, .99):.1f} ms; "
      f"served p50 {pct(served_t, .5):.1f} ms, p99 {pct(served_t, .99):.1f} ms ({polls} fetches)")
