#!/usr/bin/env node
// Prints a service-role key for Portcullis' GoTrue admin API: an HS256 JWT signed with
// JWT_SECRET (from the environment, else from .dev.vars), {"role": "service_role", "iss":
// "supabase"}, valid for ten years unless EXPIRES_IN_DAYS says otherwise. Treat it as the
// secret it is: it can read, change and delete every account.
import { createHmac } from "node:crypto";
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
const days = Number(process.env.EXPIRES_IN_DAYS ?? 3650);
const now = Math.floor(Date.now() / 1000);
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ iss: "supabase", role: "service_role", iat: now, exp: now + days * 86400 })}`;
const signature = createHmac("sha256", secret).update(body).digest("base64url");
console.log(`${body}.${signature}`);
