// Second factors end to end: @supabase/auth-js `mfa.*` unchanged against the built worker in
// workerd (D1), with the authenticator app's codes computed by otplib from the enrolled secret;
// then the same account through Feathers' client (`totp` strategy) and graphql-request
// (`totpAuth`), and recovery codes (auth-js's experimental `mfa.recoveryCodes.*`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { GoTrueClient } from "@supabase/auth-js";
import { generate } from "otplib";
import { feathers } from "@feathersjs/feathers";
import rest from "@feathersjs/rest-client";
import authentication from "@feathersjs/authentication-client";
import { GraphQLClient, ClientError } from "graphql-request";
import { useWorker, memoryStorage } from "./harness.js";

const env = useWorker({
  vars: { MAILER_AUTOCONFIRM: "true", MFA_RECOVERY_CODES_ENROLL_ENABLED: "true", MFA_RECOVERY_CODES_VERIFY_ENABLED: "true" },
});
let n = 0;
const fresh = (tag) => `${tag}-${Date.now()}-${n++}@example.com`;
const client = () =>
  new GoTrueClient({
    url: `${env.worker.url}/auth/v1`,
    autoRefreshToken: false,
    persistSession: true,
    storage: memoryStorage(),
    experimental: { recoveryCodes: true },
  });
/** The code an authenticator app shows `steps` periods from now. */
const code = (secret, steps = 0) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 * steps });

test("enroll, challengeAndVerify with an authenticator's code, aal2, and a second sign-in asked for it", async () => {
  const auth = client();
  const email = fresh("mfa");
  const signedUp = await auth.signUp({ email, password: "a password for mfa" });
  assert.equal(signedUp.error, null);
  const enrolled = await auth.mfa.enroll({ factorType: "totp", friendlyName: "phone app" });
  assert.equal(enrolled.error, null);
  assert.ok(enrolled.data.totp.qr_code.startsWith("data:image/svg+xml;utf-8,<svg"), enrolled.data.totp.qr_code.slice(0, 60));
  assert.match(enrolled.data.totp.uri, /^otpauth:\/\/totp\/[^:]+:[^?]+\?algorithm=SHA1&digits=6&issuer=.+&period=30&secret=[A-Z2-7]{32}$/);
  const secret = enrolled.data.totp.secret;
  const factorId = enrolled.data.id;

  let listed = await auth.mfa.listFactors();
  assert.equal(listed.data.all.length, 1);
  assert.equal(listed.data.totp.length, 0, "unverified factors are in `all` only");
  let aal = await auth.mfa.getAuthenticatorAssuranceLevel();
  assert.deepEqual([aal.data.currentLevel, aal.data.nextLevel], ["aal1", "aal1"]);

  const wrong = await auth.mfa.challengeAndVerify({ factorId, code: "000000" });
  assert.match(wrong.error.message, /Invalid TOTP code/);
  const events = [];
  auth.onAuthStateChange((event) => events.push(event));
  const now = await code(secret);
  const verified = await auth.mfa.challengeAndVerify({ factorId, code: now });
  assert.equal(verified.error, null);
  assert.ok(events.includes("MFA_CHALLENGE_VERIFIED"), events.join());
  aal = await auth.mfa.getAuthenticatorAssuranceLevel();
  assert.deepEqual([aal.data.currentLevel, aal.data.nextLevel], ["aal2", "aal2"]);
  assert.equal(aal.data.currentAuthenticationMethods[0].method, "totp");
  listed = await auth.mfa.listFactors();
  assert.equal(listed.data.totp.length, 1);
  const claims = await auth.getClaims();
  assert.equal(claims.data.claims.aal, "aal2");

  // Elsewhere: a password gives aal1, and auth-js knows a second step is due.
  const other = client();
  assert.equal((await other.signInWithPassword({ email, password: "a password for mfa" })).error, null);
  aal = await other.mfa.getAuthenticatorAssuranceLevel();
  assert.deepEqual([aal.data.currentLevel, aal.data.nextLevel], ["aal1", "aal2"]);
  const refused = await other.updateUser({ password: "changed without the factor" });
  assert.equal(refused.error.code, "insufficient_aal");
  const replayed = await other.mfa.challengeAndVerify({ factorId, code: now });
  assert.match(replayed.error.message, /Invalid TOTP code/, "a code is single use");
  const next = await other.mfa.challengeAndVerify({ factorId, code: await code(secret, 1) });
  assert.equal(next.error, null);
  assert.equal((await other.updateUser({ password: "changed with the factor" })).error, null);
  const removed = await other.mfa.unenroll({ factorId });
  assert.equal(removed.error, null);
  assert.equal(removed.data.id, factorId);
  await other.refreshSession();
  listed = await other.mfa.listFactors();
  assert.equal(listed.data.all.length, 0);
});

test("an unverified factor is unenrolled from aal1, and bad input is a 4xx in GoTrue's shape", async () => {
  const auth = client();
  await auth.signUp({ email: fresh("mfa-bad"), password: "a password for mfa" });
  const enrolled = await auth.mfa.enroll({ factorType: "totp" });
  assert.equal(enrolled.error, null);
  const twin = await auth.mfa.enroll({ factorType: "totp" });
  assert.equal(twin.error.code, "mfa_factor_name_conflict");
  assert.equal((await auth.mfa.unenroll({ factorId: enrolled.data.id })).error, null);
  assert.equal((await auth.mfa.listFactors()).data.all.length, 0);
  const token = (await auth.getSession()).data.session.access_token;
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json", "x-supabase-api-version": "2024-01-01" };
  for (const [body, status, code] of [
    ['{"factor_type": ', 400, "bad_json"],
    ['{"factor_type": 7}', 400, "bad_json"],
    ['{"factor_type": "totp", "friendly_name": "' + "x".repeat(300) + '"}', 400, "validation_failed"],
    ["{}", 400, "validation_failed"],
  ]) {
    const r = await fetch(`${env.worker.url}/auth/v1/factors`, { method: "POST", headers, body });
    assert.equal(r.status, status, body.slice(0, 40));
    assert.equal((await r.json()).code, code);
  }
});

/** A new account with a verified TOTP factor: its address, the factor's id and secret. */
async function withFactor(tag) {
  const auth = client();
  const email = fresh(tag);
  await auth.signUp({ email, password: "a password for mfa" });
  const { data } = await auth.mfa.enroll({ factorType: "totp" });
  assert.equal((await auth.mfa.challengeAndVerify({ factorId: data.id, code: await code(data.totp.secret) })).error, null);
  return { email, factorId: data.id, secret: data.totp.secret };
}

test("Feathers' client completes a local sign-in of an account with a factor through the totp strategy", async () => {
  const { email, factorId, secret } = await withFactor("mfa-feathers");
  const app = feathers();
  app.configure(rest(env.worker.url).fetch(fetch));
  app.configure(authentication({ storage: memoryStorage() }));
  const refused = await app.authenticate({ strategy: "local", email, password: "a password for mfa" }).catch((e) => e);
  assert.equal(refused.name, "NotAuthenticated");
  assert.equal(refused.message, "A second factor is required");
  assert.equal(refused.data.strategy, "totp");
  assert.equal(refused.data.factors[0].id, factorId);
  // The code the enrollment used is spent; an authenticator shows the next one soon after.
  const signedIn = await app.authenticate({ strategy: "totp", ticket: refused.data.ticket, code: await code(secret, 1) });
  assert.equal(signedIn.authentication.strategy, "totp");
  assert.equal(signedIn.user.email, email);
  const again = await app.reAuthenticate(true);
  assert.equal(again.user.email, email, "the jwt strategy takes the completed session's token");
});

test("graphql-request completes a tokenAuth of an account with a factor through totpAuth", async () => {
  const { email, secret } = await withFactor("mfa-graphql");
  const gql = new GraphQLClient(`${env.worker.url}/graphql`);
  const first = await gql.request(`mutation($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { token } }`, { u: email, p: "a password for mfa" }).catch((e) => e);
  assert.ok(first instanceof ClientError, String(first));
  const ext = first.response.errors[0].extensions;
  assert.equal(ext.code, "SECOND_FACTOR_REQUIRED");
  const wrong = await gql.request(`mutation($t: String!) { totpAuth(ticket: $t, code: "000000") { token } }`, { t: ext.ticket }).catch((e) => e);
  assert.equal(wrong.response.errors[0].message, "Invalid TOTP code");
  const done = await gql.request(`mutation($t: String!, $c: String!) { totpAuth(ticket: $t, code: $c) { token payload } }`, {
    t: ext.ticket,
    c: await code(secret, 1),
  });
  assert.equal(done.totpAuth.payload.username, email);
  const check = await fetch(`${env.worker.url}/api/check`, { headers: { authorization: `JWT ${done.totpAuth.token}` } });
  const subject = await check.json();
  assert.deepEqual([check.status, subject.aal, subject.dialect], [200, "aal2", "graphql"]);
});

test("recovery codes: generated at aal2, one raises a password session to aal2 once, regenerated, removed", async () => {
  const auth = client();
  const email = fresh("mfa-recovery");
  await auth.signUp({ email, password: "a password for mfa" });
  const { data: factor } = await auth.mfa.enroll({ factorType: "totp" });
  assert.equal((await auth.mfa.challengeAndVerify({ factorId: factor.id, code: await code(factor.totp.secret) })).error, null);

  const generated = await auth.mfa.recoveryCodes.generate({ friendlyName: "Backup codes" });
  assert.equal(generated.error, null);
  assert.equal(generated.data.type, "recovery_code");
  assert.equal(generated.data.friendly_name, "Backup codes");
  assert.equal(generated.data.codes.length, 10);
  const codes = generated.data.codes;
  let status = await auth.mfa.recoveryCodes.getStatus();
  assert.deepEqual(status.data, { id: generated.data.id, type: "recovery_code", total: 10, remaining: 10 });
  assert.equal((await auth.mfa.listFactors()).data.recovery_code.length, 1);

  // The phone is lost: a password, then a code as the user types it from paper.
  const other = client();
  assert.equal((await other.signInWithPassword({ email, password: "a password for mfa" })).error, null);
  assert.equal((await other.mfa.recoveryCodes.generate()).error.code, "mfa_verified_factor_exists");
  const wrong = await other.mfa.recoveryCodes.verify({ code: "0000-0000-0000-0000" });
  assert.equal(wrong.error.code, "mfa_verification_failed");
  const typed = codes[0].toUpperCase().match(/.{4}/g).join("-");
  const used = await other.mfa.recoveryCodes.verify({ code: typed });
  assert.equal(used.error, null);
  const aal = await other.mfa.getAuthenticatorAssuranceLevel();
  assert.deepEqual([aal.data.currentLevel, aal.data.currentAuthenticationMethods[0].method], ["aal2", "mfa/recovery_code"]);
  status = await other.mfa.recoveryCodes.getStatus();
  assert.equal(status.data.remaining, 9);

  const third = client();
  await third.signInWithPassword({ email, password: "a password for mfa" });
  assert.equal((await third.mfa.recoveryCodes.verify({ code: codes[0] })).error.code, "mfa_verification_failed", "a code is single use");

  // From aal2, a new set: the old codes stop working.
  const regenerated = await other.mfa.recoveryCodes.regenerate();
  assert.equal(regenerated.error, null);
  assert.equal(regenerated.data.id, generated.data.id);
  assert.equal((await third.mfa.recoveryCodes.verify({ code: codes[1] })).error.code, "mfa_verification_failed");
  assert.equal((await third.mfa.recoveryCodes.verify({ code: regenerated.data.codes[1] })).error, null);
  const removed = await third.mfa.recoveryCodes.unenroll();
  assert.equal(removed.error, null);
  assert.equal((await third.mfa.recoveryCodes.getStatus()).error.code, "mfa_factor_not_found");
});
