#!/usr/bin/env node
// Prints a new ES256 signing key for JWT_KEYS: a P-256 private JWK with a random kid,
// `alg: ES256` and `key_ops: ["sign", "verify"]`; with `--rs256`, an RS256 key of 2048 bits
// instead (upstream's CLI default). JWT_KEYS is a JSON array of such keys; see the
// README's "Asymmetric signing keys" for rotating them. The output is a secret: put it in
// `wrangler secret put JWT_KEYS` (or .dev.vars), never in wrangler.toml.
import { generateKeyPairSync, randomUUID } from "node:crypto";

const rs256 = process.argv.includes("--rs256");
const { privateKey } = rs256
  ? generateKeyPairSync("rsa", { modulusLength: 2048 })
  : generateKeyPairSync("ec", { namedCurve: "P-256" });
const alg = rs256 ? "RS256" : "ES256";
const jwk = { ...privateKey.export({ format: "jwk" }), kid: randomUUID(), alg, key_ops: ["sign", "verify"] };
console.log(JSON.stringify(jwk));
