// make-jb-token.js writes the known-answer JourneyBee token (lead_created.jwt)
// with Node's jsonwebtoken, an implementation independent of this package.
// The token does not depend on the body; lead_created.json (a copy of
// ../events/lead_created.json) is the body it is paired with in kat_test.go.
//
// How to run (needs Node and the npm registry, not needed by `go test`):
//
//   mkdir -p /tmp/kat && cd /tmp/kat && npm init -y && npm i jsonwebtoken@9.0.3
//   NODE_PATH=/tmp/kat/node_modules node make-jb-token.js > lead_created.jwt
//
// (run the second line in this directory). jsonwebtoken 9.0.3 produced the
// checked-in token; HS256 over the same claims in the same order is
// deterministic, so re-running gives the same bytes.
const jwt = require('jsonwebtoken');

// The integration UUID used as the HMAC secret (UTF-8 bytes of the text).
const INTEGRATION_UUID = '3f0c6a8e-9b1d-4c2e-8f7a-5d4b3c2a1e0f';

const claims = {
  company_uuid: 'company_12345678-1234-5678-9012-123456789abc',
  user_uuid: 'user_87654321-4321-8765-2109-876543210987',
  event_id: 'lead_created',
  api_key: 'jb_api_1234567890abcdef',
  external_settings: {
    authorisation: [{ id: 'api_key', value: 'your_external_api_key' }],
  },
  iat: 4102444800, // 2100-01-01T00:00:00Z
  exp: 4102448400, // 2100-01-01T01:00:00Z
};

process.stdout.write(jwt.sign(claims, INTEGRATION_UUID, { algorithm: 'HS256' }) + '\n');
