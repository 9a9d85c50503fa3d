#!/usr/bin/env python3
"""Memory benchmark helper: `load` or `fetch` against a running node.

Usage: memory.py load ADMIN_URL N SCOPE
       memory.py fetch ADMIN_URL PROV_URL N SCOPE
load: tenant "mem" with /prov credential scope SCOPE (device or tenant) and N
devices with one line each, in bulk requests of 1,000.
fetch: every device's /prov file once, with its own credentials (device scope,
read through the admin API) or the tenant's; exits non-zero on any failure.
"""
import base64
import http.client
import json
import sys
import urllib.parse

cmd, admin = sys.argv[1], sys.argv[2]


def conn(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


a = conn(admin)
H = {"Authorization": "Bearer bench-token", "Content-Type": "application/json"}


def call(method, path, body=None):
    a.request(method, "/api/v1" + path, body=None if body is None else json.dumps(body), headers=H)
    r = a.getresponse()
    data = r.read()
    if r.status >= 300:
        sys.exit(f"{method} {path}: {r.status} {data[:300]!r}")
    return json.loads(data) if data else None


def macs(n):
    return [f"0004{i:08X}" for i in range(1, n + 1)]


if cmd == "load":
    n, scope = int(sys.argv[3]), sys.argv[4]
    call("POST", "/tenants", {"id": "mem", "sip_host": "pbx.example.com", "prov_user": "prov-mem",
                              "prov_pass": "s3cr3t-mem", "prov_credentials": scope})
    ms = macs(n)
    for k in range(0, n, 1000):
        call("POST", "/devices", [{"mac": m, "model": "snomD717", "tenant": "mem",
                                   "lines": [{"extension": str(1000 + i), "sip_password": f"pw-{i}"}]}
                                  for i, m in enumerate(ms[k:k + 1000], start=k)])
else:
    prov, n, scope = sys.argv[3], int(sys.argv[4]), sys.argv[5]
    p = conn(prov)
    shared = "Basic " + base64.b64encode(b"prov-mem:s3cr3t-mem").decode()
    for m in macs(n):
        auth = shared
        if scope == "device":
            c = call("GET", f"/devices/{m}/credentials")
            auth = "Basic " + base64.b64encode(f"{c['prov_user']}:{c['prov_pass']}".encode()).decode()
        p.request("GET", f"/prov/snomD717-{m}.htm", headers={"Authorization": auth})
        r = p.getresponse()
        r.read()
        if r.status != 200:
            sys.exit(f"{m}: {r.status}")
