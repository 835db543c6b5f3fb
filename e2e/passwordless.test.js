// The passwordless dialect end to end with plain fetch: the built worker in workerd with D1 and
// the mail catcher. Registration (whose first address, once confirmed, ends the registration's
// session), the emailed sign-in with its page and polling, the session list, logout, /api/check;
// and the second step an account with an authenticator app (enrolled through auth-js) owes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GoTrueClient } from "@supabase/auth-js";
import { generate } from "otplib";
import { useWorker, startWorker, call, assertNothingMailed, codeIn, memoryStorage } from "./harness.js";

const env = useWorker({ mail: true });
let n = 0;
const unique = (tag) => `${tag}${Date.now() % 1e7}${n++}`;

const api = (path, opts = {}) => call(`${env.worker.url}${path}`, opts);
const bearer = (token) => ({ authorization: `Bearer ${token}` });
const form = (fields) => ({
  raw: new URLSearchParams(fields).toString(),
  headers: { "content-type": "application/x-www-form-urlencoded" },
});

/** The link in the newest mail to `to` whose path is `path`, pointed at this worker. */
async function linkTo(to, path, after = 0) {
  const m = await env.mail.latest(to, { after });
  const found = m.text.match(/https?:\/\/\S+/g).map((u) => new URL(u)).find((u) => u.pathname === path);
  assert.ok(found, `a ${path} link in: ${m.text}`);
  return { url: `${env.worker.url}${found.pathname}${found.search}`, token: found.searchParams.get("token"), mail: m };
}

const pageToken = (html) => /name="page" value="([^"]+)"/.exec(html)?.[1];

/** An emailed sign-in of `username`, allowed on its page; returns the session token. */
async function signInByEmail(username, email, platform) {
  const before = (await env.mail.mailsTo(email)).length;
  const { auth_id } = (await api("/auth/login", { body: { username, email, session_platform: platform } })).json;
  const link = await linkTo(email, "/auth/confirm", before);
  const page = pageToken((await api(link.url.replace(env.worker.url, ""), { method: "GET" })).text);
  assert.equal((await api("/auth/confirm", { method: "POST", ...form({ token: link.token, page, decision: "allow" }) })).status, 200);
  const collected = await api(`/auth/session/${auth_id}`, { method: "GET" });
  assert.equal(collected.status, 200, collected.text);
  return collected.json.session_token;
}

test("registration, emailed sign-in through the page, polling, sessions, logout", async () => {
  const username = unique("ada");
  const email = `${username}@example.com`;

  // Register on a laptop, giving an address; it is attached once its link is confirmed.
  const reg = await api("/auth/registration", { body: { username, email, session_platform: "Ada's Laptop" } });
  assert.equal(reg.status, 200, reg.text);
  const laptop = reg.json.session_token;
  assert.ok(laptop.length > 60);
  const confirmEmail = await linkTo(email, "/auth/email/confirm");
  const emailPage = await api(confirmEmail.url.replace(env.worker.url, ""), { method: "GET" });
  assert.equal(emailPage.status, 200);
  assert.equal((await api("/auth/me", { method: "GET", headers: bearer(laptop) })).json.email, null, "GET confirms nothing");
  assert.match(emailPage.text, new RegExp(`the account <b>${username}</b>`), "the page names the account that claims the address");
  const attached = await api("/auth/email/confirm", { method: "POST", ...form({ token: confirmEmail.token }) });
  assert.equal(attached.status, 200, attached.text);
  // A first address is a first proof of the mailbox: the session that asked for it (it may be
  // a stranger's, who typed someone else's address) ends; the owner signs in by email.
  assert.equal((await api("/auth/me", { method: "GET", headers: bearer(laptop) })).status, 401);
  assert.equal((await api("/api/check", { method: "GET", headers: bearer(laptop) })).status, 401);

  // Sign in on a phone by email link.
  const mailsBefore = (await env.mail.mailsTo(email)).length;
  const login = await api("/auth/login", { body: { username: username.toUpperCase(), email, session_platform: "Ada's Phone" } });
  assert.equal(login.status, 200, login.text);
  const { auth_id, expiration_date } = login.json;
  assert.match(auth_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.ok(Math.abs(expiration_date - (Date.now() / 1000 + 600)) < 30);
  const pending = await api(`/auth/session/${auth_id}`, { method: "GET" });
  assert.equal(pending.status, 400);
  assert.deepEqual(pending.json, { error: "The auth id is invalid, expired, or not yet authorized" });

  const link = await linkTo(email, "/auth/confirm", mailsBefore);
  // The platform is the requester's words: quoted as theirs in the text, never in the subject.
  assert.doesNotMatch(link.mail.subject, /Phone/);
  assert.match(link.mail.text, /The requester says it is:\n> \u201cAda's Phone\u201d\n/);
  assert.ok(!link.url.includes(auth_id), "the mailed link is not the auth id");
  const page = await api(link.url.replace(env.worker.url, ""), { method: "GET" });
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type"), /text\/html/);
  assert.match(page.text, /Ada&#39;s Phone/);
  assert.equal((await api(`/auth/session/${auth_id}`, { method: "GET" })).status, 400, "opening the page decides nothing");

  const allowed = await api("/auth/confirm", { method: "POST", ...form({ token: link.token, page: pageToken(page.text), decision: "allow" }) });
  assert.equal(allowed.status, 200, allowed.text);
  assert.match(allowed.text, /Sign-in allowed/);
  const collected = await api(`/auth/session/${auth_id}`, { method: "GET" });
  assert.equal(collected.status, 200, collected.text);
  const phone = collected.json.session_token;
  assert.equal((await api(`/auth/session/${auth_id}`, { method: "GET" })).status, 400, "handed out once");

  // Only the live session is listed: the laptop's ended with the proof.
  const list = await api("/auth/sessions", { method: "GET", headers: bearer(phone) });
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.json.sessions.map((s) => [s.platform, s.current]), [["Ada's Phone", true]]);

  // The phone's token works at /api/check until logout.
  const check = await api("/api/check", { method: "GET", headers: bearer(phone) });
  assert.equal(check.status, 200, check.text);
  assert.equal(check.json.username, username);
  assert.equal(check.json.email, email);
  assert.equal((await api("/auth/logout", { method: "POST", headers: bearer(phone) })).status, 204);
  assert.equal((await api("/api/check", { method: "GET", headers: bearer(phone) })).status, 401);
  assert.equal((await api("/auth/me", { method: "GET", headers: bearer(phone) })).status, 401);
});

test("a refused sign-in never hands out a session, and stale page tokens decide nothing", async () => {
  const username = unique("bob");
  const email = `${username}@example.com`;
  await api("/auth/registration", { body: { username, email, session_platform: "Desk" } });
  const confirm = await linkTo(email, "/auth/email/confirm");
  await api("/auth/email/confirm", { method: "POST", ...form({ token: confirm.token }) });
  const before = (await env.mail.mailsTo(email)).length;
  const { auth_id } = (await api("/auth/login", { body: { username, email, session_platform: "Unknown tablet" } })).json;
  const link = await linkTo(email, "/auth/confirm", before);
  const first = pageToken((await api(link.url.replace(env.worker.url, ""), { method: "GET" })).text);
  const second = pageToken((await api(link.url.replace(env.worker.url, ""), { method: "GET" })).text);
  const stale = await api("/auth/confirm", { method: "POST", ...form({ token: link.token, page: first, decision: "allow" }) });
  assert.equal(stale.status, 400);
  const refused = await api("/auth/confirm", { method: "POST", ...form({ token: link.token, page: second, decision: "deny" }) });
  assert.equal(refused.status, 200);
  assert.match(refused.text, /refused/);
  assert.equal((await api(`/auth/session/${auth_id}`, { method: "GET" })).status, 400);
  const row = await env.worker.db.prepare("SELECT state FROM login_requests WHERE id = ?").bind(auth_id).first();
  assert.equal(row.state, "denied");
});

test("a name and address that do not match get the same answer and no mail", async () => {
  const username = unique("cat");
  const email = `${username}@example.com`;
  const r = await api("/auth/login", { body: { username, email, session_platform: "Phone" } });
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.json).sort(), ["auth_id", "expiration_date"]);
  assert.equal((await api(`/auth/session/${r.json.auth_id}`, { method: "GET" })).status, 400);
  await assertNothingMailed(env, email);
});

test("bad input gets a 4xx with {error} and writes nothing", async () => {
  const token = (await api("/auth/registration", { body: { username: unique("dan"), session_platform: "Phone" } })).json.session_token;
  const count = async () => (await env.worker.db.prepare("SELECT count(*) AS n FROM users").first()).n;
  const users = await count();
  const cases = [
    ["registration: malformed JSON", "/auth/registration", { raw: '{"username":' }, 400],
    ["registration: missing username", "/auth/registration", { body: { session_platform: "P" } }, 400],
    ["registration: missing platform", "/auth/registration", { body: { username: unique("e") } }, 400],
    ["registration: short username", "/auth/registration", { body: { username: "ab", session_platform: "P" } }, 400],
    ["registration: long username", "/auth/registration", { body: { username: "a".repeat(33), session_platform: "P" } }, 400],
    ["registration: bad characters", "/auth/registration", { body: { username: "ad a!", session_platform: "P" } }, 400],
    ["registration: long platform", "/auth/registration", { body: { username: unique("f"), session_platform: "p".repeat(65) } }, 400],
    ["registration: wrong type", "/auth/registration", { body: { username: 12345, session_platform: "P" } }, 400],
    ["registration: bad email", "/auth/registration", { body: { username: unique("g"), email: "nope", session_platform: "P" } }, 400],
    ["registration: oversized", "/auth/registration", { raw: JSON.stringify({ username: "x", pad: "y".repeat(70000) }) }, 413],
    ["login: malformed JSON", "/auth/login", { raw: "{" }, 400],
    ["login: missing email", "/auth/login", { body: { username: "abc", session_platform: "P" } }, 400],
    ["login: bad email", "/auth/login", { body: { username: "abc", email: "x", session_platform: "P" } }, 400],
    ["session: unknown id", "/auth/session/00000000-0000-4000-8000-000000000000", { method: "GET" }, 400],
    ["me: no token", "/auth/me", { method: "GET" }, 401],
    ["me: garbage token", "/auth/me", { method: "GET", headers: bearer("x.y") }, 401],
    ["email: missing", "/auth/email", { method: "PUT", body: {}, headers: bearer(token) }, 400],
    ["email: invalid", "/auth/email", { method: "PUT", body: { email: "nope" }, headers: bearer(token) }, 400],
    ["sessions: foreign id", "/auth/sessions/00000000-0000-4000-8000-000000000000", { method: "DELETE", headers: bearer(token) }, 404],
  ];
  for (const [name, path, opts, status] of cases) {
    const r = await api(path, opts);
    assert.equal(r.status, status, `${name}: ${r.text}`);
    assert.equal(typeof r.json?.error, "string", `${name}: ${r.text}`);
  }
  const taken = await api("/auth/registration", { body: { username: "DAN".concat("x"), session_platform: "P" } });
  assert.equal(taken.status, 200);
  const dup = await api("/auth/registration", { body: { username: "danX", session_platform: "P" } });
  assert.equal(dup.status, 409);
  assert.deepEqual(dup.json, { error: "That username is taken" });
  assert.equal(await count(), users + 1, "only the one good registration wrote an account");
});

test("replacing the address needs both addresses' links, and the old address is told", async () => {
  const username = unique("eve");
  const email = `${username}@example.com`;
  await api("/auth/registration", { body: { username, email, session_platform: "Laptop" } });
  const first = await linkTo(email, "/auth/email/confirm");
  await api("/auth/email/confirm", { method: "POST", ...form({ token: first.token }) });
  const token = await signInByEmail(username, email, "Laptop");
  // A thief with the session token asks to move the account to their own address.
  const thief = `${username}-thief@example.com`;
  const before = (await env.mail.mailsTo(email)).length;
  assert.equal((await api("/auth/email", { method: "PUT", body: { email: thief }, headers: bearer(token) })).status, 200);
  const theirs = await linkTo(thief, "/auth/email/confirm");
  const half = await api("/auth/email/confirm", { method: "POST", ...form({ token: theirs.token }) });
  assert.equal(half.status, 200, half.text);
  assert.match(half.text, /other address/);
  assert.equal((await api("/auth/me", { method: "GET", headers: bearer(token) })).json.email, email, "not moved by the thief's link");
  // The owner's mailbox was asked; had she agreed, the account would move and she would be told.
  const asked = await linkTo(email, "/auth/email/confirm", before);
  assert.match(asked.mail.subject, /Confirm the change of your address/);
  const done = await api("/auth/email/confirm", { method: "POST", ...form({ token: asked.token }) });
  assert.equal(done.status, 200, done.text);
  assert.equal((await api("/auth/me", { method: "GET", headers: bearer(token) })).json.email, thief);
  const told = await env.mail.latest(email, { after: before + 1 });
  assert.match(told.subject, /was changed/);
});

test("one client asking for many sign-in mails is throttled with a 429", async () => {
  const w = await startWorker({ mail: env.mail, vars: { CLIENT_MAX_ATTEMPTS: "3", SMTP_MAX_FREQUENCY: "0" } });
  try {
    const ask = (ip, i) => call(`${w.url}/auth/login`, { body: { username: `nobody${i}`, email: `nobody${i}@example.com`, session_platform: "P" }, headers: { "cf-connecting-ip": ip } });
    for (let i = 0; i < 3; i++) assert.equal((await ask("198.51.100.10", i)).status, 200);
    const over = await ask("198.51.100.10", 9);
    assert.equal(over.status, 429, over.text);
    assert.match(over.json.error, /Too many/);
    assert.equal((await ask("203.0.113.12", 9)).status, 200, "another client is not affected");
  } finally {
    await w.stop();
  }
});

test("an account with a second factor signs in by email only with its code: 403 with a ticket, then /auth/second-factor", async () => {
  const username = unique("mfa");
  const email = `${username}@example.com`;
  await api("/auth/registration", { body: { username, email, session_platform: "Laptop" } });
  const confirmEmail = await linkTo(email, "/auth/email/confirm");
  assert.equal((await api("/auth/email/confirm", { method: "POST", ...form({ token: confirmEmail.token }) })).status, 200);
  // The owner turns on an authenticator app through GoTrue (a magic code to the address).
  const auth = new GoTrueClient({ url: `${env.worker.url}/auth/v1`, autoRefreshToken: false, persistSession: true, storage: memoryStorage() });
  const before = (await env.mail.mailsTo(email)).length;
  assert.equal((await auth.signInWithOtp({ email, options: { shouldCreateUser: false } })).error, null);
  const otp = codeIn(await env.mail.latest(email, { after: before }));
  assert.equal((await auth.verifyOtp({ email, token: otp, type: "email" })).error, null);
  const { data } = await auth.mfa.enroll({ factorType: "totp" });
  const totp = (steps) => generate({ secret: data.totp.secret, epoch: Math.floor(Date.now() / 1000) + 30 * steps });
  assert.equal((await auth.mfa.challengeAndVerify({ factorId: data.id, code: await totp(0) })).error, null);

  const mails = (await env.mail.mailsTo(email)).length;
  const { auth_id } = (await api("/auth/login", { body: { username, email, session_platform: "Phone" } })).json;
  const link = await linkTo(email, "/auth/confirm", mails);
  const page = pageToken((await api(link.url.replace(env.worker.url, ""), { method: "GET" })).text);
  assert.equal((await api("/auth/confirm", { method: "POST", ...form({ token: link.token, page, decision: "allow" }) })).status, 200);
  const collected = await api(`/auth/session/${auth_id}`, { method: "GET" });
  assert.equal(collected.status, 403, collected.text);
  assert.equal(collected.json.error, "A second factor is required");
  assert.equal(collected.json.session_token, undefined);
  const ticket = collected.json.ticket;
  assert.equal((await api("/auth/me", { method: "GET", headers: bearer(ticket) })).status, 401, "not before the second step");
  const done = await api("/auth/second-factor", { body: { ticket, code: await totp(1) } });
  assert.equal(done.status, 200, done.text);
  assert.equal(done.json.session_token, ticket);
  const me = await api("/auth/me", { method: "GET", headers: bearer(ticket) });
  assert.equal(me.json.username, username);
  const check = await api("/api/check", { method: "GET", headers: bearer(ticket) });
  assert.equal(check.json.aal, "aal2");
});
