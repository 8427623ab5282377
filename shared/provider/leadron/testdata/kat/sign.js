// Known-answer vectors for X-Leadron-Signature, computed with Node's crypto,
// independently of the Go code under test: the same as sign.py.
//
// Run from this directory (shared/provider/leadron/testdata/kat):
//
//     node sign.js body.json | diff - vectors.tsv
"use strict";
const crypto = require("crypto");
const fs = require("fs");

const SECRETS = [
  "whsec_leadron_kat_2026",
  "clé-secrète-ü-\u{1F511}", // non-ASCII: the key is the UTF-8 bytes
];

const body = fs.readFileSync(process.argv[2]);
for (const secret of SECRETS) {
  const sig = crypto.createHmac("sha256", Buffer.from(secret, "utf8")).update(body).digest("hex");
  process.stdout.write(secret + "\t" + sig + "\n");
}
