#!/usr/bin/env python3
# Known-answer vectors for X-Leadron-Signature, computed with Python's own
# hmac/hashlib, independently of the Go code under test.
#
# Run from this directory (shared/provider/leadron/testdata/kat):
#
#     python3 sign.py body.json > vectors.tsv
#
# Each output line is "<secret>\t<lowercase hex HMAC-SHA256 of the file's
# exact bytes, keyed with the secret's UTF-8 bytes>". sign.js computes the
# same with Node's crypto (`node sign.js body.json | diff - vectors.tsv`).
# TestKnownAnswer (kat_test.go) checks Sign and Verify against vectors.tsv.
import hashlib
import hmac
import sys

SECRETS = [
    "whsec_leadron_kat_2026",
    "clé-secrète-ü-\U0001F511",  # non-ASCII: the key is the UTF-8 bytes
]

with open(sys.argv[1], "rb") as f:
    body = f.read()

for secret in SECRETS:
    sig = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    sys.stdout.write(secret + "\t" + sig + "\n")
