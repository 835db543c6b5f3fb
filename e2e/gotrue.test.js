// GoTrue dialect end to end: @supabase/auth-js against the built worker in workerd, with D1
// and real SMTP into maildev.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GoTrueClient, AuthWeakPasswordError } from "@supabase/auth-js";
import { useWorker, startWorker, codeIn, linkIn, call } from "./harness.js";

let client;
const env = useWorker({
  mail: true,
  ready: ({ worker }) => {
    client = new GoTrueClient({ url: `${worker.url}/auth/v1`, autoRefreshToken: false, persistSession: false });
  },
});
let n = 0;
const fresh = (tag = "user") => `${tag}-${Date.now()}-${n++}@example.com`;

async function signUpAndConfirm(email, password) {
  const { error } = await client.signUp({ email, password });
  assert.equal(error, null);
  const code = codeIn(await env.mail.latest(email));
  const { data, error: e2 } = await client.verifyOtp({ email, token: code, type: "signup" });
  assert.equal(e2, null);
  return data.session;
}

test("sign-up, the mailed code, password sign-in, getUser and /api/check", async () => {
  const email = fresh("walk");
  const password = "correct horse battery";

  const signUp = await client.signUp({ email, password, options: { data: { name: "Walker" } } });
  assert.equal(signUp.error, null);
  assert.equal(signUp.data.session, null, "confirmation is on: no session yet");
  assert.equal(signUp.data.user.email, email);
  assert.equal(signUp.data.user.email_confirmed_at, null);
  assert.deepEqual(signUp.data.user.user_metadata, { name: "Walker" });

  const mailed = await env.mail.latest(email);
  assert.match(mailed.subject, /Confirm your sign-up/);
  assert.doesNotMatch(mailed.text + mailed.html, /correct horse/);
  const code = codeIn(mailed);

  // Before the confirmation, the right password answers as a wrong one would (upstream's
  // email_not_confirmed only with REVEAL_EMAIL_NOT_CONFIRMED).
  const early = await client.signInWithPassword({ email, password });
  assert.equal(early.error.code, "invalid_credentials");
  assert.equal(early.error.status, 400);

  const verified = await client.verifyOtp({ email, token: code, type: "signup" });
  assert.equal(verified.error, null);
  assert.ok(verified.data.session.access_token);
  assert.ok(verified.data.user.email_confirmed_at);

  const signIn = await client.signInWithPassword({ email, password });
  assert.equal(signIn.error, null);
  const session = signIn.data.session;
  assert.equal(session.token_type, "bearer");
  assert.equal(session.expires_in, 3600);
  assert.ok(session.refresh_token.length > 40);
  assert.equal(session.user.email, email);

  const got = await client.getUser(session.access_token);
  assert.equal(got.error, null);
  assert.equal(got.data.user.id, signUp.data.user.id);
  assert.equal(got.data.user.user_metadata.name, "Walker");

  const check = await call(`${env.worker.url}/api/check`, {
    method: "GET",
    headers: { authorization: `Bearer ${session.access_token}` },
  });
  assert.equal(check.status, 200);
  assert.equal(check.json.user_id, signUp.data.user.id);
  assert.equal(check.json.email, email);
  assert.equal(check.json.expires_at, session.expires_at);
  const claims = JSON.parse(Buffer.from(session.access_token.split(".")[1], "base64url"));
  assert.equal(check.json.session_id, claims.session_id);
  assert.equal(claims.sub, signUp.data.user.id);
});

test("the same flow works at the root mount too", async () => {
  const root = new GoTrueClient({ url: env.worker.url, autoRefreshToken: false, persistSession: false });
  const email = fresh("root");
  assert.equal((await root.signUp({ email, password: "root-password" })).error, null);
  const code = codeIn(await env.mail.latest(email));
  assert.equal((await root.verifyOtp({ email, token: code, type: "signup" })).error, null);
  assert.equal((await root.signInWithPassword({ email, password: "root-password" })).error, null);
});

test("the emailed link's token_hash confirms through verifyOtp, once", async () => {
  const email = fresh("link");
  await client.signUp({ email, password: "link-password" });
  const token_hash = linkIn(await env.mail.latest(email)).searchParams.get("token");
  const ok = await client.verifyOtp({ token_hash, type: "signup" });
  assert.equal(ok.error, null);
  assert.equal(ok.data.user.email, email);
  const again = await client.verifyOtp({ token_hash, type: "signup" });
  assert.equal(again.error.code, "otp_expired");
  assert.equal(again.error.status, 403);
});

test("the emailed link itself redirects to the site with the session in the fragment", async () => {
  const email = fresh("redirect");
  await client.signUp({ email, password: "redirect-password" });
  const link = linkIn(await env.mail.latest(email));
  const local = `${env.worker.url}${link.pathname}${link.search}`;
  const res = await call(local, { method: "GET" });
  assert.equal(res.status, 303);
  const location = new URL(res.headers.get("location"));
  assert.equal(location.origin + location.pathname, "http://127.0.0.1:8787/");
  const fragment = new URLSearchParams(location.hash.slice(1));
  assert.ok(fragment.get("access_token"));
  assert.equal(fragment.get("type"), "signup");
  const reused = await call(local, { method: "GET" });
  const err = new URLSearchParams(new URL(reused.headers.get("location")).hash.slice(1));
  assert.equal(err.get("error_code"), "otp_expired");
  assert.equal(err.get("access_token"), null);
});

test("wrong codes are refused and the fifth wrong try kills the code", async () => {
  const email = fresh("guess");
  await client.signUp({ email, password: "guess-password" });
  const right = codeIn(await env.mail.latest(email));
  const wrong = right === "000000" ? "111111" : "000000";
  for (let i = 0; i < 5; i++) {
    const r = await client.verifyOtp({ email, token: wrong, type: "signup" });
    assert.equal(r.error.code, "otp_expired");
    assert.equal(r.error.status, 403);
    assert.equal(r.error.message, "Token has expired or is invalid");
  }
  const late = await client.verifyOtp({ email, token: right, type: "signup" });
  assert.equal(late.error?.code, "otp_expired", "the right code after five wrong tries");
});

test("a concurrent burst of guesses gets exactly the allowed number of tries", async () => {
  const email = fresh("burst");
  await client.signUp({ email, password: "burst-password" });
  const right = codeIn(await env.mail.latest(email));
  const wrong = right === "000000" ? "111111" : "000000";
  await Promise.all(
    Array.from({ length: 20 }, () => client.verifyOtp({ email, token: wrong, type: "signup" })),
  );
  const { results } = await env.worker.db
    .prepare("SELECT c.attempts FROM one_time_codes c JOIN users u ON u.id = c.user_id WHERE u.email = ?")
    .bind(email)
    .all();
  assert.equal(results[0].attempts, 5);
  const r = await client.verifyOtp({ email, token: right, type: "signup" });
  assert.equal(r.error?.code, "otp_expired");
});

test("signing up again with a confirmed address reveals nothing and mails the owner", async () => {
  // The owner's account comes from an email sign-in plus a password (a sign-up would hold
  // the address's sign-up send slot for a minute).
  const email = fresh("taken");
  assert.equal((await client.signInWithOtp({ email })).error, null);
  const otp = codeIn(await env.mail.latest(email));
  const owner = new GoTrueClient({ url: `${env.worker.url}/auth/v1`, autoRefreshToken: false, persistSession: false });
  const signedIn = await owner.verifyOtp({ email, token: otp, type: "email" });
  assert.equal(signedIn.error, null);
  assert.equal((await owner.updateUser({ password: "owner-password" })).error, null);
  const before = (await env.mail.mailsTo(email)).length;

  const again = await client.signUp({ email, password: "intruder-password" });
  assert.equal(again.error, null);
  assert.equal(again.data.session, null);
  assert.notEqual(again.data.user.id, signedIn.data.user.id);
  assert.equal(again.data.user.identities.length, 1, "same shape as a new sign-up");
  const notice = await env.mail.latest(email, { after: before });
  assert.match(notice.subject, /already have an account/);
  assert.doesNotMatch(notice.text, /code is/);
  assert.equal((await client.signInWithPassword({ email, password: "intruder-password" })).error.code, "invalid_credentials");
  assert.equal((await client.signInWithPassword({ email, password: "owner-password" })).error, null);
  const { results } = await env.worker.db.prepare("SELECT count(*) AS n FROM users WHERE email = ?").bind(email).all();
  assert.equal(results[0].n, 1);
});

test("wrong password and unknown account give the same answer", async () => {
  const email = fresh("known");
  await signUpAndConfirm(email, "known-password");
  const wrong = await client.signInWithPassword({ email, password: "not-it-at-all" });
  const unknown = await client.signInWithPassword({ email: fresh("unknown"), password: "not-it-at-all" });
  for (const r of [wrong, unknown]) {
    assert.equal(r.error.code, "invalid_credentials");
    assert.equal(r.error.status, 400);
    assert.equal(r.error.message, "Invalid login credentials");
  }
});

test("a weak password is a weak_password error with reasons", async () => {
  const r = await client.signUp({ email: fresh("weak"), password: "12345" });
  assert.ok(r.error instanceof AuthWeakPasswordError, r.error?.constructor?.name);
  assert.equal(r.error.status, 422);
  assert.deepEqual(r.error.reasons, ["length"]);
});

test("getUser refuses garbage and missing tokens in GoTrue's words", async () => {
  const garbage = await client.getUser("not.a.jwt");
  assert.equal(garbage.error.status, 403);
  assert.equal(garbage.error.code, "bad_jwt");
  const res = await call(`${env.worker.url}/auth/v1/user`, { method: "GET" });
  assert.equal(res.status, 401);
  assert.equal(res.json.error_code, "no_authorization");
  assert.equal(res.headers.get("x-sb-error-code"), "no_authorization");
});

test("/api/check refuses missing, garbage and forged tokens with 401", async () => {
  const url = `${env.worker.url}/api/check`;
  const none = await call(url, { method: "GET" });
  assert.equal(none.status, 401);
  assert.equal(none.json.error, "missing bearer token");
  const garbage = await call(url, { method: "GET", headers: { authorization: "Bearer garbage" } });
  assert.equal(garbage.status, 401);
  // A token with valid claims signed by someone else.
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const forged = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: "x", session_id: "y", exp: 9999999999 })}.${"A".repeat(43)}`;
  const f = await call(url, { method: "GET", headers: { authorization: `Bearer ${forged}` } });
  assert.equal(f.status, 401);
  const none_alg = `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "x", session_id: "y", exp: 9999999999 })}.`;
  const n2 = await call(url, { method: "GET", headers: { authorization: `Bearer ${none_alg}` } });
  assert.equal(n2.status, 401);
});

test("errors come in the old format without the API version header", async () => {
  const res = await call(`${env.worker.url}/token?grant_type=password`, { body: { email: fresh(), password: "x-x-x-x-x" } });
  assert.equal(res.status, 400);
  assert.deepEqual(res.json, { code: 400, error_code: "invalid_credentials", msg: "Invalid login credentials" });
  assert.equal(res.headers.get("x-sb-error-code"), "invalid_credentials");
  assert.equal(res.headers.get("x-supabase-api-version"), null);
  const v = await call(`${env.worker.url}/token?grant_type=password`, {
    body: { email: fresh(), password: "x-x-x-x-x" },
    headers: { "x-supabase-api-version": "2024-01-01" },
  });
  assert.deepEqual(v.json, { code: "invalid_credentials", message: "Invalid login credentials" });
  assert.equal(v.headers.get("x-supabase-api-version"), "2024-01-01");
});

test("bad input gets a 4xx in GoTrue's shape and writes nothing", async () => {
  const u = env.worker.url;
  const long = "p".repeat(1025);
  const cases = [
    ["signup: malformed JSON", `${u}/signup`, { raw: '{"email": "a@b.co",' }, 400, "bad_json"],
    ["signup: empty body", `${u}/signup`, { raw: "" }, 400, "bad_json"],
    ["signup: array body", `${u}/signup`, { raw: "[1,2]" }, 400, "bad_json"],
    ["signup: email of wrong type", `${u}/signup`, { body: { email: 42, password: "secret-pass" } }, 400, "bad_json"],
    ["signup: password of wrong type", `${u}/signup`, { body: { email: "t@example.com", password: ["x"] } }, 400, "bad_json"],
    ["signup: data not an object", `${u}/signup`, { body: { email: "t@example.com", password: "secret-pass", data: "x" } }, 400, "bad_json"],
    // Upstream's router: no email and no phone is an anonymous sign-in, off by default.
    ["signup: missing email", `${u}/signup`, { body: { password: "secret-pass" } }, 422, "anonymous_provider_disabled"],
    ["signup: missing password", `${u}/signup`, { body: { email: "t@example.com" } }, 400, "validation_failed"],
    ["signup: not an email", `${u}/signup`, { body: { email: "not-an-email", password: "secret-pass" } }, 400, "validation_failed"],
    ["signup: over-long email", `${u}/signup`, { body: { email: `${"a".repeat(250)}@example.com`, password: "secret-pass" } }, 400, "validation_failed"],
    ["signup: empty password", `${u}/signup`, { body: { email: "t@example.com", password: "" } }, 422, "weak_password"],
    ["signup: over-long password", `${u}/signup`, { body: { email: "t@example.com", password: long } }, 400, "validation_failed"],
    ["signup: oversized body", `${u}/signup`, { body: { email: "t@example.com", password: "secret-pass", data: { pad: "x".repeat(70000) } } }, 413, "request_too_large"],
    ["verify: malformed JSON", `${u}/verify`, { raw: "{" }, 400, "bad_json"],
    ["verify: missing type", `${u}/verify`, { body: { email: "t@example.com", token: "123456" } }, 400, "validation_failed"],
    ["verify: unknown type", `${u}/verify`, { body: { type: "telepathy", email: "t@example.com", token: "123456" } }, 400, "validation_failed"],
    ["verify: missing token", `${u}/verify`, { body: { type: "signup", email: "t@example.com" } }, 400, "validation_failed"],
    ["verify: token of wrong type", `${u}/verify`, { body: { type: "signup", email: "t@example.com", token: 123456 } }, 400, "bad_json"],
    ["verify: over-long token", `${u}/verify`, { body: { type: "signup", email: "t@example.com", token: "1".repeat(5000) } }, 403, "otp_expired"],
    ["verify: unknown token_hash", `${u}/verify`, { body: { type: "signup", token_hash: "nope" } }, 403, "otp_expired"],
    ["token: unknown grant_type", `${u}/token?grant_type=magic`, { body: {} }, 400, "invalid_credentials"],
    ["token: missing grant_type", `${u}/token`, { body: {} }, 400, "invalid_credentials"],
    ["token: malformed JSON", `${u}/token?grant_type=password`, { raw: "{{" }, 400, "bad_json"],
    ["token: missing password", `${u}/token?grant_type=password`, { body: { email: "t@example.com" } }, 400, "invalid_credentials"],
    ["token: password of wrong type", `${u}/token?grant_type=password`, { body: { email: "t@example.com", password: 5 } }, 400, "bad_json"],
    ["token: over-long password", `${u}/token?grant_type=password`, { body: { email: "t@example.com", password: long } }, 400, "invalid_credentials"],
    ["unknown route", `${u}/auth/v1/nope`, { method: "GET" }, 404, "not_found"],
  ];
  const count = async () => (await env.worker.db.prepare("SELECT count(*) AS n FROM users").all()).results[0].n;
  const users = await count();
  for (const [name, url, opts, status, code] of cases) {
    const r = await call(url, opts);
    assert.equal(r.status, status, `${name}: ${r.text}`);
    assert.equal(r.json?.error_code, code, `${name}: ${r.text}`);
    assert.equal(r.json?.code, status, name);
    assert.equal(typeof r.json?.msg, "string", name);
    assert.equal(r.headers.get("x-sb-error-code"), code, name);
  }
  assert.equal(await count(), users, "no failed request created an account");
});

test("settings and health answer", async () => {
  const settings = await call(`${env.worker.url}/auth/v1/settings`, { method: "GET" });
  assert.equal(settings.status, 200);
  assert.equal(settings.json.external.email, true);
  assert.equal(settings.json.mailer_autoconfirm, false);
  const health = await call(`${env.worker.url}/health`, { method: "GET" });
  assert.equal(health.status, 200);
  assert.equal(health.json.name, "GoTrue");
});

test("browsers get CORS answers for the site's origin only, or for every origin by choice", async () => {
  const preflight = (url, origin) =>
    fetch(`${url}/auth/v1/token?grant_type=password`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type, apikey" },
    });
  // SITE_URL of wrangler.toml: the shipped demo's origin.
  const site = await preflight(env.worker.url, "http://127.0.0.1:8787");
  assert.equal(site.status, 204);
  assert.equal(site.headers.get("access-control-allow-origin"), "http://127.0.0.1:8787");
  assert.match(site.headers.get("access-control-allow-headers"), /authorization/);
  assert.match(site.headers.get("vary"), /Origin/);
  const stranger = await preflight(env.worker.url, "https://app.example.com");
  assert.equal(stranger.headers.get("access-control-allow-origin"), null);
  assert.equal(stranger.headers.get("access-control-allow-headers"), null);
  const worker = await startWorker({ vars: { CORS_ALLOWED_ORIGINS: "*" } });
  try {
    assert.equal((await preflight(worker.url, "https://app.example.com")).headers.get("access-control-allow-origin"), "*");
  } finally {
    await worker.stop();
  }
});

test("the deployable worker has no storage contract endpoint", async () => {
  const res = await call(`${env.worker.url}/__contract`, { method: "POST" });
  assert.equal(res.status, 404, res.text);
});

test("a stranger hammering one account from one client is throttled; the owner elsewhere signs in", async () => {
  const email = fresh("hammered");
  await signUpAndConfirm(email, "owner-password");
  const stranger = new GoTrueClient({ url: `${env.worker.url}/auth/v1`, autoRefreshToken: false, persistSession: false, headers: { "cf-connecting-ip": "198.51.100.7" } });
  for (let i = 0; i < 10; i++) {
    assert.equal((await stranger.signInWithPassword({ email, password: `guess-${i}` })).error?.code, "invalid_credentials");
  }
  const throttled = await stranger.signInWithPassword({ email, password: "owner-password" });
  assert.equal(throttled.error?.code, "over_request_rate_limit");
  assert.equal(throttled.error?.status, 429);
  const owner = new GoTrueClient({ url: `${env.worker.url}/auth/v1`, autoRefreshToken: false, persistSession: false, headers: { "cf-connecting-ip": "203.0.113.9" } });
  const { data, error } = await owner.signInWithPassword({ email, password: "owner-password" });
  assert.equal(error, null);
  assert.ok(data.session.access_token);
});
