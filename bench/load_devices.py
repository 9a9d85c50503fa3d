#!/usr/bin/env python3
"""Loads the shared benchmark's devices.csv into a running touchless via its admin API.

Usage: load_devices.py ADMIN_URL TOKEN devices.csv
Creates tenant "bench" (provisioning user prov / s3cr3t-prov, the credentials
compare.sh sends, shared by every phone of the tenant as nginx's auth_basic
does) and one device per CSV row with its SIP line, in bulk requests.
"""
import csv
import json
import sys
import urllib.request


def call(base, token, method, path, body):
    req = urllib.request.Request(
        f"{base}/api/v1{path}",
        method=method,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req) as r:
            return r.status
    except urllib.error.HTTPError as e:
        if e.code == 409:
            return e.code
        sys.exit(f"{method} {path}: {e.code} {e.read().decode()}")


def main():
    base, token, path = sys.argv[1], sys.argv[2], sys.argv[3]
    call(base, token, "POST", "/tenants", {
        "id": "bench", "name": "Benchmark", "sip_host": "pbx.example.com",
        "prov_user": "prov", "prov_pass": "s3cr3t-prov", "prov_credentials": "tenant",
    })
    with open(path) as f:
        rows = list(csv.DictReader(f))
    for i in range(0, len(rows), 1000):
        batch = [{
            "mac": r["mac"], "model": "snom" + r["model"], "tenant": "bench",
            "name": r["realname"],
            "lines": [{"extension": r["extension"], "sip_password": r["sip_password"],
                       "display_name": r["realname"]}],
        } for r in rows[i:i + 1000]]
        call(base, token, "POST", "/devices", batch)
    print(f"loaded {len(rows)} devices")


if __name__ == "__main__":
    main()
