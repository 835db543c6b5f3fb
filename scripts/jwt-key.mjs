#!/usr/bin/env node
// Prints a new ES256 signing key for JWT_KEYS: a P-256 private JWK with a random kid,
// `alg: ES256` and `key_ops: ["sign", "verify"]`. JWT_KEYS is a JSON array of such keys; see the
// README's "Asymmetric signing keys" for rotating them. The output is a secret: put it in
// `wrangler secret put JWT_KEYS` (or .dev.vars), never in wrangler.toml.
import { generateKeyPairSync, randomUUID } from "node:crypto";

const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const jwk = { ...privateKey.export({ format: "jwk" }), kid: randomUUID(), alg: "ES256", key_ops: ["sign", "verify"] };
console.log(JSON.stringify(jwk));
