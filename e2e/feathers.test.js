// The Feathers dialect end to end with Feathers' own client: @feathersjs/feathers +
// @feathersjs/rest-client (fetch) + @feathersjs/authentication-client against the built worker
// in workerd with D1 and the mail catcher. Then bad input with plain fetch: always a Feathers
// error, never a 5xx.
import { test } from "node:test";
import assert from "node:assert/strict";
import { feathers } from "@feathersjs/feathers";
import rest from "@feathersjs/rest-client";
import authentication from "@feathersjs/authentication-client";
import { AuthClient as GoTrueClient } from "@supabase/auth-js";
import { useWorker, startWorker, call, codeIn, assertNothingMailed } from "./harness.js";

const env = useWorker({ mail: true });
let n = 0;
const unique = (tag) => `${tag}-${Date.now() % 1e7}-${n++}@example.com`;

/** A Feathers client app as a Feathers web app would configure it (storage in memory). */
function client() {
  const app = feathers();
  app.configure(rest(env.worker.url).fetch(fetch));
  app.configure(authentication());
  return app;
}

const api = (path, opts = {}) => call(`${env.worker.url}${path}`, opts);

/** Asserts a Feathers error body, whatever the way it arrived. */
function isFeathersError(e, code, name) {
  assert.equal(e.code, code, JSON.stringify(e));
  assert.equal(e.name, name, JSON.stringify(e));
  assert.equal(typeof e.message, "string");
  assert.equal(typeof e.className, "string");
}

test("users.create -> authenticate -> reAuthenticate -> logout -> the old token refused", async () => {
  const app = client();
  const email = unique("ann");
  const user = await app.service("users").create({ email, password: "correct horse" });
  assert.deepEqual(Object.keys(user).sort(), ["avatar", "email", "id"]);
  assert.equal(user.email, email);
  assert.match(user.avatar, /^https:\/\/s\.gravatar\.com\/avatar\/[0-9a-f]{32}\?s=60$/);

  const result = await app.authenticate({ strategy: "local", email, password: "correct horse" });
  assert.equal(result.authentication.strategy, "local");
  assert.equal(result.user.id, user.id);
  const { accessToken } = result;
  const payload = result.authentication.payload;
  assert.equal(payload.sub, user.id);
  assert.equal(payload.iss, "feathers");
  assert.equal(payload.exp - payload.iat, 86400);
  assert.equal(JSON.parse(Buffer.from(accessToken.split(".")[0], "base64url")).typ, "access");
  assert.equal(await app.authentication.getAccessToken(), accessToken, "the client stored it");

  const again = await app.reAuthenticate(true);
  assert.equal(again.accessToken, accessToken);
  assert.equal(again.authentication.strategy, "jwt");
  assert.deepEqual(again.authentication.payload, payload);

  // Authenticated service calls carry the token in the header.
  assert.equal((await app.service("users").get(user.id)).email, email);
  const check = await api("/api/check", { method: "GET", headers: { authorization: `Bearer ${accessToken}` } });
  assert.equal(check.status, 200);
  assert.equal(check.json.user_id, user.id);

  const out = await app.logout();
  assert.equal(out.accessToken, accessToken);
  assert.equal(await app.authentication.getAccessToken(), null, "logout cleared storage");

  // A fresh client with the old token: refused by the jwt strategy, by the users service and
  // by /api/check.
  const stale = client();
  await assert.rejects(stale.authenticate({ strategy: "jwt", accessToken }), (e) => {
    isFeathersError(e, 401, "NotAuthenticated");
    return true;
  });
  const byHeader = await api(`/users/${user.id}`, { method: "GET", headers: { authorization: `Bearer ${accessToken}` } });
  isFeathersError(byHeader.json, 401, "NotAuthenticated");
  const after = await api("/api/check", { method: "GET", headers: { authorization: `Bearer ${accessToken}` } });
  assert.equal(after.status, 401);
});

test("a duplicate address and wrong passwords are Feathers errors", async () => {
  const app = client();
  const email = unique("bob");
  await app.service("users").create({ email, password: "correct horse" });
  await assert.rejects(app.service("users").create({ email, password: "other one" }), (e) => {
    isFeathersError(e, 409, "Conflict");
    return true;
  });
  await assert.rejects(app.authenticate({ strategy: "local", email, password: "wrong" }), (e) => {
    isFeathersError(e, 401, "NotAuthenticated");
    assert.equal(e.message, "Invalid login");
    return true;
  });
  await assert.rejects(app.authenticate({ strategy: "local", email: unique("nobody"), password: "x" }), (e) => e.message === "Invalid login");
});

test("the users service: password change, other accounts hidden, account removal", async () => {
  const app = client();
  const email = unique("cy");
  const user = await app.service("users").create({ email, password: "correct horse" });
  await app.authenticate({ strategy: "local", email, password: "correct horse" });
  const other = await client().service("users").create({ email: unique("dee"), password: "correct horse" });

  await assert.rejects(app.service("users").get(other.id), (e) => e.code === 404 && e.name === "NotFound");
  await assert.rejects(app.service("users").find(), (e) => e.code === 405 && e.name === "MethodNotAllowed");

  const patched = await app.service("users").patch(user.id, { password: "battery staple" });
  assert.equal(patched.id, user.id);
  await assert.rejects(client().authenticate({ strategy: "local", email, password: "correct horse" }), (e) => e.code === 401);
  await client().authenticate({ strategy: "local", email, password: "battery staple" });

  const removed = await app.service("users").remove(user.id);
  assert.equal(removed.id, user.id);
  await assert.rejects(app.reAuthenticate(true), (e) => e.code === 401);
  await assert.rejects(client().authenticate({ strategy: "local", email, password: "battery staple" }), (e) => e.code === 401);
});

test("a Feathers sign-up verifies no address: GoTrue refuses it until the mailbox is proven", async () => {
  // The attack: sign up someone else's address through Feathers, then use it where a
  // verified address counts.
  const email = unique("victim");
  const app = client();
  await app.service("users").create({ email, password: "attacker pass" });
  const { accessToken } = await app.authenticate({ strategy: "local", email, password: "attacker pass" });
  const check = await api("/api/check", { method: "GET", headers: { authorization: `Bearer ${accessToken}` } });
  assert.equal(check.status, 200, check.text);
  assert.equal(check.json.email_verified, false);
  const gotrue = new GoTrueClient({ url: `${env.worker.url}/auth/v1`, autoRefreshToken: false, persistSession: false });
  const { data, error } = await gotrue.signInWithPassword({ email, password: "attacker pass" });
  assert.equal(data.session, null);
  // As for a wrong password (REVEAL_EMAIL_NOT_CONFIRMED is off): nothing tells the address
  // was new.
  assert.equal(error?.code, "invalid_credentials");
  await assertNothingMailed(env, email);
});

test("a stranger's pending sign-up and Feathers session do not survive the owner confirming", async () => {
  // Its own worker, without the per-address send limit, so the owner can sign up at once.
  const w = await startWorker({ mail: env.mail, vars: { SMTP_MAX_FREQUENCY: "0" } });
  try {
    const email = unique("owner");
    const gotrue = () => new GoTrueClient({ url: `${w.url}/auth/v1`, autoRefreshToken: false, persistSession: false });
    const feathersClient = () => {
      const app = feathers();
      app.configure(rest(w.url).fetch(fetch));
      app.configure(authentication());
      return app;
    };
    // The stranger signs up the owner's address through GoTrue (the mail goes unread) and
    // signs in through Feathers with the password they chose.
    assert.equal((await gotrue().signUp({ email, password: "stranger pass" })).error, null);
    await env.mail.latest(email); // it goes out just after the answer
    const stranger = feathersClient();
    await stranger.authenticate({ strategy: "local", email, password: "stranger pass" });
    // Later the owner signs up herself and confirms with the code from her mailbox.
    const before = (await env.mail.mailsTo(email)).length;
    const owner = gotrue();
    assert.equal((await owner.signUp({ email, password: "owner pass 1" })).error, null);
    const code = codeIn(await env.mail.latest(email, { after: before }));
    const { data, error } = await owner.verifyOtp({ email, token: code, type: "signup" });
    assert.equal(error, null);
    assert.ok(data.session);
    // The stranger's session ended; the stranger's password is gone.
    const refused = (e) => (isFeathersError(e, 401, "NotAuthenticated"), true);
    await assert.rejects(stranger.reAuthenticate(true), refused);
    await assert.rejects(feathersClient().authenticate({ strategy: "local", email, password: "stranger pass" }), refused);
    // The confirmation signed the owner in; she sets her password (whose the pending one was,
    // nobody could tell) and uses it.
    assert.equal((await owner.updateUser({ password: "owner pass 1" })).error, null);
    assert.equal((await gotrue().signInWithPassword({ email, password: "owner pass 1" })).error, null);
  } finally {
    await w.stop();
  }
});

test("a Feathers account recovers its password through GoTrue, by real mail", async () => {
  const email = unique("eve");
  await client().service("users").create({ email, password: "correct horse" });
  const gotrue = new GoTrueClient({ url: `${env.worker.url}/auth/v1`, autoRefreshToken: false, persistSession: false });
  const { error } = await gotrue.resetPasswordForEmail(email);
  assert.equal(error, null);
  const m = await env.mail.latest(email);
  assert.match(m.subject, /password/i);
});

test("bad input gets a 4xx Feathers error, never a 5xx", async () => {
  const long = "x".repeat(300);
  const cases = [
    ["POST", "/users", { raw: "{\"email\": " }, 400],
    ["POST", "/users", { raw: "" }, 400],
    ["POST", "/users", { body: [] }, 400],
    ["POST", "/users", { body: { email: 5, password: "correct horse" } }, 400],
    ["POST", "/users", { body: { password: "correct horse" } }, 400],
    ["POST", "/users", { body: { email: "not-an-address", password: "correct horse" } }, 400],
    ["POST", "/users", { body: { email: `${long}@example.com`, password: "correct horse" } }, 400],
    ["POST", "/users", { body: { email: unique("p"), password: "p".repeat(5000) } }, 400],
    ["POST", "/users", { raw: JSON.stringify({ email: "a@b.co", password: "y".repeat(70000) }) }, 413],
    ["POST", "/authentication", { raw: "{nope" }, 400],
    ["POST", "/authentication", { body: { strategy: 7 } }, 400],
    ["POST", "/authentication", { body: {} }, 401],
    ["POST", "/authentication", { body: { strategy: "oauth" } }, 401],
    ["POST", "/authentication", { body: { strategy: "local", email: long, password: long } }, 401],
    ["POST", "/authentication", { body: { strategy: "jwt", accessToken: "garbage" } }, 401],
    ["POST", "/authentication", { body: { strategy: "jwt", accessToken: "a.b.c" } }, 401],
    ["POST", "/authentication", { body: { strategy: "jwt", accessToken: 12 } }, 400],
    ["DELETE", "/authentication", { headers: { authorization: "Bearer garbage" } }, 401],
    ["DELETE", "/authentication", {}, 401],
    ["GET", "/users", {}, 405],
    ["GET", "/users/some-id", {}, 401],
    ["PUT", "/users/some-id", { body: {} }, 405],
    ["GET", "/users/a/b", {}, 404],
  ];
  for (const [method, path, opts, status] of cases) {
    const r = await api(path, { method, ...opts });
    assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(opts).slice(0, 80)}: ${r.text}`);
    isFeathersError(r.json, status, r.json?.name);
  }
});

test("Feathers local sign-in is throttled per account and client: TooManyRequests, and the owner elsewhere is not", async () => {
  const email = unique("hammered");
  await client().service("users").create({ email, password: "owner pass" });
  const from = (ip) => {
    const app = feathers();
    app.configure(rest(env.worker.url).fetch((url, init) => fetch(url, { ...init, headers: { ...init?.headers, "cf-connecting-ip": ip } })));
    app.configure(authentication());
    return app;
  };
  const stranger = from("198.51.100.8");
  for (let i = 0; i < 10; i++) {
    await assert.rejects(stranger.authenticate({ strategy: "local", email, password: `guess ${i}` }), (e) => (isFeathersError(e, 401, "NotAuthenticated"), true));
  }
  await assert.rejects(stranger.authenticate({ strategy: "local", email, password: "owner pass" }), (e) => (isFeathersError(e, 429, "TooManyRequests"), true));
  const { accessToken } = await from("203.0.113.10").authenticate({ strategy: "local", email, password: "owner pass" });
  assert.ok(accessToken);
});
