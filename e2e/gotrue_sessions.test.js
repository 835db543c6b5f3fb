// GoTrue session lifecycle end to end with @supabase/auth-js: refresh rotation (and a burst of
// concurrent refreshes), sign-out scopes that hold at once, recovery, email sign-in, resend,
// email change and the mailed link's redirects. This worker uses a 1 s send interval and a
// 2 s refresh reuse window so that both can be crossed in a test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { GoTrueClient } from "@supabase/auth-js";
import { useWorker, startWorker, codeIn, linkIn, call, assertNothingMailed } from "./harness.js";

const ALLOWED = "http://127.0.0.1:3000/app/";
const env = useWorker({
  mail: true,
  vars: { SMTP_MAX_FREQUENCY: "1", REFRESH_TOKEN_REUSE_INTERVAL: "2", URI_ALLOW_LIST: ALLOWED },
});
let n = 0;
const fresh = (tag) => `${tag}-${Date.now()}-${n++}@example.com`;
const newClient = () =>
  new GoTrueClient({ url: `${env.worker.url}/auth/v1`, autoRefreshToken: false, persistSession: false });

/** A new confirmed account; returns a client signed in to it. */
async function account(tag, password = "first-password") {
  const email = fresh(tag);
  const client = newClient();
  assert.equal((await client.signUp({ email, password })).error, null);
  const code = codeIn(await env.mail.latest(email));
  const { data, error } = await client.verifyOtp({ email, token: code, type: "signup" });
  assert.equal(error, null);
  return { email, password, client, session: data.session };
}

async function signedIn(email, password) {
  const client = newClient();
  const { data, error } = await client.signInWithPassword({ email, password });
  assert.equal(error, null);
  return { client, session: data.session };
}

const check = (token) => call(`${env.worker.url}/api/check`, { method: "GET", headers: { authorization: `Bearer ${token}` } });
const refreshRaw = (token) => call(`${env.worker.url}/auth/v1/token?grant_type=refresh_token`, { body: { refresh_token: token } });

test("refreshSession rotates the token and a repeat within the window gets the same successor", async () => {
  const { client, session } = await account("refresh");
  const { data, error } = await client.refreshSession({ refresh_token: session.refresh_token });
  assert.equal(error, null);
  assert.notEqual(data.session.refresh_token, session.refresh_token);
  assert.equal((await client.getUser(data.session.access_token)).data.user.email, session.user.email);
  const repeat = await refreshRaw(session.refresh_token);
  assert.equal(repeat.status, 200);
  assert.equal(repeat.json.refresh_token, data.session.refresh_token);
});

test("a burst of 20 concurrent refreshes ends with one live successor and one session", async () => {
  const { session } = await account("burst");
  const answers = await Promise.all(Array.from({ length: 20 }, () => refreshRaw(session.refresh_token)));
  for (const a of answers) assert.equal(a.status, 200, a.text);
  assert.equal(new Set(answers.map((a) => a.json.refresh_token)).size, 1, "every tab got the same successor");
  const parent = session.refresh_token.split(".")[0];
  const children = await env.worker.db.prepare("SELECT count(*) AS n FROM refresh_tokens WHERE parent_id = ?").bind(parent).first();
  assert.equal(children.n, 1);
  const sessions = await env.worker.db
    .prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ? AND revoked_at IS NULL")
    .bind(session.user.id)
    .first();
  assert.equal(sessions.n, 1);
  assert.equal((await refreshRaw(answers[0].json.refresh_token)).status, 200, "the successor works");
});

test("a refresh token replayed after the window ends its session", async () => {
  const { session } = await account("replay");
  const next = await refreshRaw(session.refresh_token);
  await sleep(2200);
  const replay = await refreshRaw(session.refresh_token);
  assert.equal(replay.status, 400);
  assert.equal(replay.json.error_code, "refresh_token_already_used");
  assert.equal((await refreshRaw(next.json.refresh_token)).json.error_code, "refresh_token_not_found");
  assert.equal((await check(next.json.access_token)).status, 401);
});

test("signOut local ends only that session, at once", async () => {
  const a = await account("local");
  const b = await signedIn(a.email, a.password);
  assert.equal((await a.client.signOut({ scope: "local" })).error, null);
  const gone = await newClient().getUser(a.session.access_token);
  assert.equal(gone.error?.name, "AuthSessionMissingError");
  assert.equal((await check(a.session.access_token)).status, 401);
  assert.equal((await refreshRaw(a.session.refresh_token)).json.error_code, "refresh_token_not_found");
  assert.equal((await check(b.session.access_token)).status, 200);
});

test("signOut others keeps only the caller's session", async () => {
  const a = await account("others");
  const b = await signedIn(a.email, a.password);
  const c = await signedIn(a.email, a.password);
  assert.equal((await b.client.signOut({ scope: "others" })).error, null);
  assert.equal((await check(b.session.access_token)).status, 200);
  for (const s of [a.session, c.session]) {
    assert.equal((await check(s.access_token)).status, 401);
    assert.equal((await newClient().getUser(s.access_token)).error?.name, "AuthSessionMissingError");
  }
});

test("signOut global ends every session of the account", async () => {
  const a = await account("global");
  const b = await signedIn(a.email, a.password);
  assert.equal((await a.client.signOut()).error, null);
  for (const s of [a.session, b.session]) {
    assert.equal((await check(s.access_token)).status, 401);
    assert.equal((await refreshRaw(s.refresh_token)).json.error_code, "refresh_token_not_found");
  }
});

test("resetPasswordForEmail, the code, verifyOtp and updateUser set a new password", async () => {
  const a = await account("recover", "forgotten-password");
  const client = newClient();
  const before = (await env.mail.mailsTo(a.email)).length;
  assert.equal((await client.resetPasswordForEmail(a.email, { redirectTo: `${ALLOWED}reset` })).error, null);
  const mailed = await env.mail.latest(a.email, { after: before });
  assert.match(mailed.subject, /Reset your password/);
  assert.equal(linkIn(mailed).searchParams.get("redirect_to"), `${ALLOWED}reset`);
  const { data, error } = await client.verifyOtp({ email: a.email, token: codeIn(mailed), type: "recovery" });
  assert.equal(error, null);
  assert.ok(data.session.access_token);
  assert.equal((await client.updateUser({ password: "remembered-password" })).error, null);
  assert.equal((await newClient().signInWithPassword({ email: a.email, password: "forgotten-password" })).error?.code, "invalid_credentials");
  assert.equal((await newClient().signInWithPassword({ email: a.email, password: "remembered-password" })).error, null);
  assert.equal((await check(a.session.access_token)).status, 401, "the older session ended with the password change");
});

test("resetPasswordForEmail for an unknown address answers the same and mails nothing", async () => {
  const email = fresh("nobody");
  assert.equal((await newClient().resetPasswordForEmail(email)).error, null);
  await assertNothingMailed(env, email);
});

test("signInWithOtp creates the account, and the mailed code signs in", async () => {
  const email = fresh("otp");
  const client = newClient();
  assert.equal((await client.signInWithOtp({ email, options: { data: { plan: "trial" } } })).error, null);
  const { data, error } = await client.verifyOtp({ email, token: codeIn(await env.mail.latest(email)), type: "email" });
  assert.equal(error, null);
  assert.equal(data.user.email, email);
  assert.equal(data.user.user_metadata.plan, "trial");
  assert.ok(data.user.email_confirmed_at);
});

test("signInWithOtp with shouldCreateUser false creates nothing for an unknown address", async () => {
  const email = fresh("nocreate");
  assert.equal((await newClient().signInWithOtp({ email, options: { shouldCreateUser: false } })).error, null);
  await assertNothingMailed(env, email);
  const row = await env.worker.db.prepare("SELECT count(*) AS n FROM users WHERE email = ?").bind(email).first();
  assert.equal(row.n, 0);
});

test("resend is limited per address, then sends a fresh code that works", async () => {
  const email = fresh("resend");
  const client = newClient();
  await client.signUp({ email, password: "resend-password" });
  const first = await env.mail.latest(email);
  const early = await client.resend({ type: "signup", email });
  assert.equal(early.error?.status, 429);
  assert.equal(early.error?.code, "over_email_send_rate_limit");
  assert.match(early.error.message, /only request this after 1 seconds/);
  await sleep(1100);
  assert.equal((await client.resend({ type: "signup", email })).error, null);
  const second = await env.mail.latest(email, { after: 1 });
  assert.notEqual(second.id, first.id);
  const ok = await client.verifyOtp({ email, token: codeIn(second), type: "signup" });
  assert.equal(ok.error, null);
});

test("updateUser with a new email moves the account only once both addresses confirm, and tells the old one", async () => {
  const a = await account("move");
  const target = fresh("moved");
  const before = (await env.mail.mailsTo(a.email)).length;
  const asked = await a.client.updateUser({ email: target });
  assert.equal(asked.error, null);
  assert.equal(asked.data.user.email, a.email);
  assert.equal(asked.data.user.new_email, target);
  assert.ok(Date.parse(asked.data.user.email_change_sent_at) > Date.now() - 60_000);
  const toNew = codeIn(await env.mail.latest(target));
  const toCurrent = await env.mail.latest(a.email, { after: before });
  assert.match(toCurrent.subject, /Confirm the change of your address/);
  // The new address alone (what a thief with a stolen session has) moves nothing.
  const half = await newClient().verifyOtp({ email: target, token: toNew, type: "email_change" });
  assert.equal(half.error, null);
  assert.equal(half.data.session, null, "auth-js sees no session after the first of two");
  assert.equal((await a.client.getUser(a.session.access_token)).data.user.email, a.email);
  assert.equal((await newClient().signInWithPassword({ email: a.email, password: a.password })).error, null);
  // The current address agrees: the account moves.
  const { data, error } = await newClient().verifyOtp({ email: a.email, token: codeIn(toCurrent), type: "email_change" });
  assert.equal(error, null);
  assert.equal(data.user.email, target);
  assert.equal((await a.client.getUser(a.session.access_token)).data.user.email, target);
  assert.equal((await newClient().signInWithPassword({ email: target, password: a.password })).error, null);
  assert.equal((await newClient().signInWithPassword({ email: a.email, password: a.password })).error?.code, "invalid_credentials");
  const told = await env.mail.latest(a.email, { after: before + 1 });
  assert.match(told.subject, /was changed/);
  assert.match(told.text, new RegExp(target.replace(/[.]/g, "\\.")));
});

test("a password change through a day-old session needs reauthenticate()'s nonce", async () => {
  const w = await startWorker({ mail: env.mail, vars: { REAUTHENTICATION_AFTER: "1" } });
  try {
    const email = fresh("reauth");
    const client = new GoTrueClient({ url: `${w.url}/auth/v1`, autoRefreshToken: false, persistSession: false });
    assert.equal((await client.signUp({ email, password: "first-password" })).error, null);
    assert.equal((await client.verifyOtp({ email, token: codeIn(await env.mail.latest(email)), type: "signup" })).error, null);
    await sleep(1100); // the session is now older than REAUTHENTICATION_AFTER
    const refused = await client.updateUser({ password: "second-password" });
    assert.equal(refused.error?.code, "reauthentication_needed");
    assert.equal(refused.error?.status, 400);
    const before = (await env.mail.mailsTo(email)).length;
    assert.equal((await client.reauthenticate()).error, null);
    const nonce = codeIn(await env.mail.latest(email, { after: before }));
    const wrong = await client.updateUser({ password: "second-password", nonce: nonce === "000000" ? "111111" : "000000" });
    assert.equal(wrong.error?.code, "reauthentication_not_valid");
    assert.equal((await client.updateUser({ password: "second-password", nonce })).error, null);
    const again = new GoTrueClient({ url: `${w.url}/auth/v1`, autoRefreshToken: false, persistSession: false });
    assert.equal((await again.signInWithPassword({ email, password: "second-password" })).error, null);
  } finally {
    await w.stop();
  }
});

test("the mailed link redirects to an allowed redirect_to and never to a foreign one", async () => {
  const a = await account("links");
  await sleep(1100);
  await newClient().signInWithOtp({ email: a.email, options: { emailRedirectTo: `${ALLOWED}welcome` } });
  const link = linkIn(await env.mail.latest(a.email, { after: 1 }));
  assert.equal(link.searchParams.get("redirect_to"), `${ALLOWED}welcome`);
  link.searchParams.set("redirect_to", "https://evil.example/steal");
  const foreign = await call(`${env.worker.url}${link.pathname}${link.search}`, { method: "GET" });
  assert.equal(foreign.status, 303);
  assert.match(foreign.headers.get("location"), /^http:\/\/127\.0\.0\.1:8787#access_token=/);

  await sleep(1100);
  await newClient().signInWithOtp({ email: a.email, options: { emailRedirectTo: "https://evil.example/" } });
  const second = linkIn(await env.mail.latest(a.email, { after: 2 }));
  assert.equal(second.searchParams.get("redirect_to"), "http://127.0.0.1:8787", "a foreign redirect is not mailed");
  second.searchParams.set("redirect_to", `${ALLOWED}welcome`);
  const allowed = await call(`${env.worker.url}${second.pathname}${second.search}`, { method: "GET" });
  const location = new URL(allowed.headers.get("location"));
  assert.equal(`${location.origin}${location.pathname}`, `${ALLOWED}welcome`);
  const fragment = new URLSearchParams(location.hash.slice(1));
  assert.ok(fragment.get("access_token"));
  assert.equal(fragment.get("type"), "magiclink");
});

test("bad input to the lifecycle endpoints gets a 4xx in GoTrue's shape and changes nothing", async () => {
  const a = await account("badinput");
  const u = `${env.worker.url}/auth/v1`;
  const auth = { authorization: `Bearer ${a.session.access_token}` };
  const long = "p".repeat(1025);
  const cases = [
    ["refresh: malformed JSON", `${u}/token?grant_type=refresh_token`, { raw: "{" }, 400, "bad_json"],
    ["refresh: wrong type", `${u}/token?grant_type=refresh_token`, { body: { refresh_token: 7 } }, 400, "bad_json"],
    ["refresh: missing token", `${u}/token?grant_type=refresh_token`, { body: {} }, 400, "validation_failed"],
    ["refresh: over-long token", `${u}/token?grant_type=refresh_token`, { body: { refresh_token: "x".repeat(5000) } }, 400, "refresh_token_not_found"],
    ["logout: unknown scope", `${u}/logout?scope=galaxy`, { headers: auth }, 400, "validation_failed"],
    ["logout: no token", `${u}/logout`, {}, 401, "no_authorization"],
    ["logout: garbage token", `${u}/logout`, { headers: { authorization: "Bearer x.y.z" } }, 403, "bad_jwt"],
    ["recover: malformed JSON", `${u}/recover`, { raw: "nope" }, 400, "bad_json"],
    ["recover: missing email", `${u}/recover`, { body: {} }, 400, "validation_failed"],
    ["recover: not an email", `${u}/recover`, { body: { email: "nope" } }, 400, "validation_failed"],
    ["recover: over-long email", `${u}/recover`, { body: { email: `${"a".repeat(300)}@example.com` } }, 400, "validation_failed"],
    ["recover: email of wrong type", `${u}/recover`, { body: { email: ["a@example.com"] } }, 400, "bad_json"],
    ["otp: create_user of wrong type", `${u}/otp`, { body: { email: "x@example.com", create_user: "yes" } }, 400, "bad_json"],
    ["otp: data not an object", `${u}/otp`, { body: { email: "x@example.com", data: [1] } }, 400, "bad_json"],
    ["otp: missing email", `${u}/otp`, { body: { create_user: true } }, 400, "validation_failed"],
    ["resend: missing type", `${u}/resend`, { body: { email: a.email } }, 400, "validation_failed"],
    ["resend: unknown type", `${u}/resend`, { body: { type: "sms", email: a.email } }, 400, "validation_failed"],
    ["user: malformed JSON", `${u}/user`, { method: "PUT", raw: "{", headers: auth }, 400, "bad_json"],
    ["user: password of wrong type", `${u}/user`, { method: "PUT", body: { password: 5 }, headers: auth }, 400, "bad_json"],
    ["user: over-long password", `${u}/user`, { method: "PUT", body: { password: long }, headers: auth }, 400, "validation_failed"],
    ["user: short password", `${u}/user`, { method: "PUT", body: { password: "abc" }, headers: auth }, 422, "weak_password"],
    ["user: not an email", `${u}/user`, { method: "PUT", body: { email: "nope", data: { x: 1 } }, headers: auth }, 400, "validation_failed"],
    ["user: data not an object", `${u}/user`, { method: "PUT", body: { data: "x" }, headers: auth }, 400, "bad_json"],
    ["user: no token", `${u}/user`, { method: "PUT", body: {} }, 401, "no_authorization"],
    ["verify: recovery with a wrong code", `${u}/verify`, { body: { type: "recovery", email: a.email, token: "000000" } }, 403, "otp_expired"],
    ["verify: email_change with nothing pending", `${u}/verify`, { body: { type: "email_change", email: a.email, token: "123456" } }, 403, "otp_expired"],
    ["verify: invite (never issued)", `${u}/verify`, { body: { type: "invite", email: a.email, token: "123456" } }, 403, "otp_expired"],
  ];
  const state = async () =>
    JSON.stringify(await env.worker.db.prepare("SELECT email, password_hash, user_metadata FROM users WHERE id = ?").bind(a.session.user.id).first());
  const before = await state();
  for (const [name, url, opts, status, code] of cases) {
    const r = await call(url, opts);
    assert.equal(r.status, status, `${name}: ${r.text}`);
    assert.equal(r.json?.error_code, code, `${name}: ${r.text}`);
    assert.equal(r.headers.get("x-sb-error-code"), code, name);
  }
  assert.equal(await state(), before, "the account is unchanged");
  assert.equal((await check(a.session.access_token)).status, 200, "and its session still live");
});

test("wrong codes are budgeted per address: a new code buys no new guesses", async () => {
  const a = await account("budget");
  const wrong = (right) => (right === "000000" ? "111111" : "000000");
  let mails = (await env.mail.mailsTo(a.email)).length;
  for (let round = 0; round < 2; round++) {
    await sleep(1100);
    assert.equal((await newClient().signInWithOtp({ email: a.email, options: { shouldCreateUser: false } })).error, null);
    const right = codeIn(await env.mail.latest(a.email, { after: mails++ }));
    for (let i = 0; i < 5; i++) {
      const r = await newClient().verifyOtp({ email: a.email, token: wrong(right), type: "email" });
      assert.equal(r.error?.code, "otp_expired");
    }
  }
  await sleep(1100);
  assert.equal((await newClient().signInWithOtp({ email: a.email, options: { shouldCreateUser: false } })).error, null);
  const third = codeIn(await env.mail.latest(a.email, { after: mails++ }));
  const refused = await newClient().verifyOtp({ email: a.email, token: third, type: "email" });
  assert.equal(refused.error?.code, "otp_expired", "the right digits of a third code, past the address's budget");
  // The owner still signs in with her password.
  assert.equal((await newClient().signInWithPassword({ email: a.email, password: a.password })).error, null);
});
