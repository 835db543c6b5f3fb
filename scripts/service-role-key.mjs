#!/usr/bin/env node
// Prints a service-role key for Portcullis' GoTrue admin API: an HS256 JWT signed with
// JWT_SECRET (from the environment, else from .dev.vars), {"role": "service_role", "iss":
// "supabase", "jti": <a random id>}, valid for 90 days unless EXPIRES_IN_DAYS says otherwise.
// Only the key goes to stdout; its id, its expiry and how to rotate go to stderr. Treat it as
// the secret it is: it can read, change and delete every account. Its id is what
// SERVICE_ROLE_REVOKED_IDS names to revoke it without changing JWT_SECRET
// (docs/configuration.md, "Service-role keys").
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";

function secretFromDevVars() {
  try {
    const line = readFileSync(new URL("../.dev.vars", import.meta.url), "utf8")
      .split("\n")
      .find((l) => l.startsWith("JWT_SECRET="));
    return line?.slice("JWT_SECRET=".length).trim().replace(/^"(.*)"$/, "$1");
  } catch {
    return undefined;
  }
}

const secret = process.env.JWT_SECRET ?? secretFromDevVars();
if (!secret) {
  console.error("service-role-key: set JWT_SECRET (or put it in .dev.vars)");
  process.exit(1);
}
const days = Number(process.env.EXPIRES_IN_DAYS ?? 90);
if (!Number.isInteger(days) || days < 1 || days > 3650) {
  console.error("service-role-key: EXPIRES_IN_DAYS must be a whole number of days from 1 to 3650");
  process.exit(1);
}
const now = Math.floor(Date.now() / 1000);
const exp = now + days * 86400;
const jti = randomBytes(16).toString("base64url");
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ iss: "supabase", role: "service_role", jti, iat: now, exp })}`;
const signature = createHmac("sha256", secret).update(body).digest("base64url");
console.log(`${body}.${signature}`);
console.error(`service-role-key: id (jti): ${jti}
service-role-key: expires ${new Date(exp * 1000).toISOString()} (${days} days)
To rotate: mint the next key before then and give it to every caller; then revoke this one by
adding its id to SERVICE_ROLE_REVOKED_IDS (comma-separated, in wrangler.toml [vars]) and
deploying. Revoke a leaked key the same way at once. Supabase's own service-role key has no id:
once no caller uses it, set SERVICE_ROLE_REQUIRE_ID = "true" to refuse every key without one.`);
