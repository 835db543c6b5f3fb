// GoTrue's anonymous sign-in end to end: @supabase/auth-js `signInAnonymously` against the
// built worker in workerd (D1, maildev), then the conversion to a permanent account with
// `updateUser({ email })` and the mailed code; and the upstream answer while it is off.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GoTrueClient } from "@supabase/auth-js";
import { useWorker, codeIn, call } from "./harness.js";

const env = useWorker({ mail: true, workers: { on: { vars: { EXTERNAL_ANONYMOUS_USERS_ENABLED: "true" } }, off: {} } });
let n = 0;
const fresh = (tag) => `${tag}-${Date.now()}-${n++}@example.com`;
const client = (w) => new GoTrueClient({ url: `${w.url}/auth/v1`, autoRefreshToken: false, persistSession: false });

test("signInAnonymously gives a session; updateUser({ email }) and its code make the account permanent", async () => {
  const auth = client(env.on);
  const { data, error } = await auth.signInAnonymously({ options: { data: { cart: ["tea"] } } });
  assert.equal(error, null);
  assert.equal(data.user.is_anonymous, true);
  assert.equal(data.user.email, "");
  assert.deepEqual(data.user.identities, []);
  assert.deepEqual(data.user.user_metadata, { cart: ["tea"] });
  const claims = await auth.getClaims();
  assert.equal(claims.data.claims.is_anonymous, true);
  assert.equal(claims.data.claims.amr[0].method, "anonymous");

  const email = fresh("anon");
  const asked = await auth.updateUser({ email, password: "anonymous no more" });
  assert.equal(asked.error, null);
  assert.equal(asked.data.user.new_email, email);
  assert.equal(asked.data.user.is_anonymous, true, "until the code is used");
  const verified = await auth.verifyOtp({ email, token: codeIn(await env.mail.latest(email)), type: "email_change" });
  assert.equal(verified.error, null);
  assert.equal(verified.data.user.is_anonymous, false);
  assert.equal(verified.data.user.id, data.user.id, "the same account");
  assert.equal(verified.data.user.email, email);
  // What the anonymous session set before anyone proved the mailbox does not survive the proof
  // (upstream keeps it): whoever confirmed is signed in and sets their own.
  assert.deepEqual(verified.data.user.user_metadata, {});
  const stale = await client(env.on).signInWithPassword({ email, password: "anonymous no more" });
  assert.equal(stale.error?.code, "invalid_credentials");
  assert.equal((await auth.updateUser({ password: "the owner's own" })).error, null);
  const signedIn = await client(env.on).signInWithPassword({ email, password: "the owner's own" });
  assert.equal(signedIn.error, null);
  assert.equal(signedIn.data.user.is_anonymous, false);
});

test("a password alone does not convert an anonymous account, and bad input is a 4xx", async () => {
  const auth = client(env.on);
  await auth.signInAnonymously();
  const lone = await auth.updateUser({ password: "no address yet" });
  assert.equal(lone.error.code, "validation_failed");
  assert.equal(lone.error.status, 422);
  for (const [raw, code] of [['{"data": "x"}', "bad_json"], ['{"data": ', "bad_json"], ["[]", "bad_json"]]) {
    const r = await call(`${env.on.url}/auth/v1/signup`, { raw, headers: { "x-supabase-api-version": "2024-01-01" } });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.code, code);
  }
});

test("while it is off, upstream's answer and /settings say so", async () => {
  const { error } = await client(env.off).signInAnonymously();
  assert.equal(error.code, "anonymous_provider_disabled");
  assert.equal(error.status, 422);
  assert.equal(error.message, "Anonymous sign-ins are disabled");
  const settings = await call(`${env.off.url}/auth/v1/settings`, { method: "GET" });
  assert.equal(settings.json.external.anonymous_users, false);
  assert.equal((await call(`${env.on.url}/auth/v1/settings`, { method: "GET" })).json.external.anonymous_users, true);
});
