#!/usr/bin/env python3
"""Writes request lines for bench/miss_timing.sh: PATH<TAB>Authorization header.

Usage: digest_headers.py BASE_URL devices.csv MODE OUT
MODE wrong:   every registered device's file, the right user, a wrong password
MODE unknown: the same number of files of MACs nobody registered, the right
              user and password
One challenge is fetched first; its nonce serves every header (nonces are
stateless and nc is not tracked, so a header may be sent again and again
within the nonce's lifetime).
"""
import csv
import hashlib
import re
import sys
import urllib.error
import urllib.request


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def main():
    base, devices, mode, out = sys.argv[1:5]
    with open(devices) as f:
        rows = list(csv.DictReader(f))
    first = f"/prov/snom{rows[0]['model']}-{rows[0]['mac']}.htm"
    try:
        urllib.request.urlopen(base + first)
        sys.exit("expected a 401 challenge")
    except urllib.error.HTTPError as e:
        challenge = [v for k, v in e.headers.items() if k.lower() == "www-authenticate" and "MD5" in v][0]
    realm = re.search(r'realm="([^"]*)"', challenge).group(1)
    nonce = re.search(r'nonce="([^"]*)"', challenge).group(1)
    with open(out, "w") as f:
        for i, r in enumerate(rows):
            if mode == "wrong":
                mac, password = r["mac"], "wrong-password"
            else:
                # An OUI the benchmark's devices never use.
                mac, password = f"0A0B0C{i:06X}", "s3cr3t-prov"
            path = f"/prov/snom{r['model']}-{mac}.htm"
            ha1 = md5(f"prov:{realm}:{password}")
            ha2 = md5(f"GET:{path}")
            resp = md5(f"{ha1}:{nonce}:00000001:abcdef:auth:{ha2}")
            header = (f'Digest username="prov", realm="{realm}", nonce="{nonce}", uri="{path}", '
                      f'algorithm=MD5, qop=auth, nc=00000001, cnonce="abcdef", response="{resp}"')
            f.write(f"{path}\t{header}\n")


if __name__ == "__main__":
    main()
