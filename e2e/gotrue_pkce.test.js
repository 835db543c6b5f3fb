// GoTrue's PKCE flow end to end: @supabase/auth-js with `flowType: 'pkce'` (what @supabase/ssr
// uses) against the built worker in workerd, with D1 and real SMTP into maildev. The mailed
// link redirects with `?code=`, and only the client that asked, holding the verifier in its
// storage, exchanges it (`exchangeCodeForSession`), once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GoTrueClient } from "@supabase/auth-js";
import { useWorker, linkIn, call, memoryStorage, assertNothingMailed } from "./harness.js";

const env = useWorker({ mail: true });
let n = 0;
const fresh = (tag) => `${tag}-${Date.now()}-${n++}@example.com`;
const CALLBACK = "http://127.0.0.1:8787/auth/callback";

/** A browser tab's client: PKCE, its own storage (where auth-js keeps the verifier). */
function tab() {
  const storage = memoryStorage();
  const client = new GoTrueClient({
    url: `${env.worker.url}/auth/v1`,
    flowType: "pkce",
    storage,
    persistSession: true,
    autoRefreshToken: false,
    detectSessionInUrl: false,
  });
  return { client, items: storage.items };
}

/** Follows the newest mailed link (as the mail reader's browser would) and returns the redirect. */
async function follow(email, { after = 0 } = {}) {
  const link = linkIn(await env.mail.latest(email, { after }));
  assert.match(link.searchParams.get("token"), /^pkce_/);
  const res = await call(`${env.worker.url}${link.pathname}${link.search}`, { method: "GET" });
  assert.equal(res.status, 303);
  return new URL(res.headers.get("location"));
}

function codeOf(location) {
  assert.equal(location.origin + location.pathname, CALLBACK);
  assert.equal(location.hash, "", "no session in the fragment");
  const code = location.searchParams.get("code");
  assert.ok(code, `a code in ${location}`);
  return code;
}

test("sign-up: the link's code is exchanged by the client that signed up, once", async () => {
  const { client, items } = tab();
  const email = fresh("pkce-signup");
  const password = "pkce sign-up password";
  const signUp = await client.signUp({ email, password, options: { emailRedirectTo: CALLBACK } });
  assert.equal(signUp.error, null);
  assert.equal(signUp.data.session, null);
  assert.ok([...items.keys()].some((k) => k.endsWith("-code-verifier")), "auth-js keeps the verifier");

  const code = codeOf(await follow(email));
  const { data, error } = await client.exchangeCodeForSession(code);
  assert.equal(error, null);
  assert.equal(data.session.user.email, email);
  assert.ok(data.session.user.email_confirmed_at);
  const me = await client.getUser();
  assert.equal(me.data.user.id, data.user.id);
  const signIn = await tab().client.signInWithPassword({ email, password });
  assert.equal(signIn.error, null, "the sign-up's password is the account's");

  // The code is spent; with any verifier it is not found.
  const again = await call(`${env.worker.url}/auth/v1/token?grant_type=pkce`, {
    body: { auth_code: code, code_verifier: "x".repeat(56) },
    headers: { "x-supabase-api-version": "2024-01-01" },
  });
  assert.equal(again.status, 404);
  assert.equal(again.json.code, "flow_state_not_found");
});

test("another client cannot exchange the code: it has no verifier, and a guessed one spends the code", async () => {
  const asker = tab();
  const email = fresh("pkce-stranger");
  await asker.client.signUp({ email, password: "pkce stranger password", options: { emailRedirectTo: CALLBACK } });
  const code = codeOf(await follow(email));

  const stranger = tab().client;
  const none = await stranger.exchangeCodeForSession(code);
  assert.equal(none.error.name, "AuthPKCECodeVerifierMissingError");
  const guessed = await call(`${env.worker.url}/auth/v1/token?grant_type=pkce`, {
    body: { auth_code: code, code_verifier: "a guessed verifier that is long enough to be one".padEnd(56, "x") },
    headers: { "x-supabase-api-version": "2024-01-01" },
  });
  assert.equal(guessed.status, 400);
  assert.equal(guessed.json.code, "bad_code_verifier");
  const late = await asker.client.exchangeCodeForSession(code);
  assert.equal(late.error.code, "flow_state_not_found", "one try per code");
  assert.equal(late.data.session, null);
});

test("recovery: the code signs in for PASSWORD_RECOVERY, and the new password takes", async () => {
  const email = fresh("pkce-recover");
  const first = tab();
  await first.client.signUp({ email, password: "the forgotten password", options: { emailRedirectTo: CALLBACK } });
  assert.equal((await first.client.exchangeCodeForSession(codeOf(await follow(email)))).error, null);

  const { client } = tab();
  const events = [];
  client.onAuthStateChange((event) => events.push(event));
  const before = (await env.mail.mailsTo(email)).length;
  const asked = await client.resetPasswordForEmail(email, { redirectTo: CALLBACK });
  assert.equal(asked.error, null);
  const code = codeOf(await follow(email, { after: before }));
  const { error } = await client.exchangeCodeForSession(code);
  assert.equal(error, null);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(events.includes("PASSWORD_RECOVERY"), `events: ${events}`);
  assert.equal((await client.updateUser({ password: "the remembered password" })).error, null);
  assert.equal((await tab().client.signInWithPassword({ email, password: "the remembered password" })).error, null);
});

test("magic link: signInWithOtp's link brings a code that signs in", async () => {
  const email = fresh("pkce-otp");
  const { client } = tab();
  const asked = await client.signInWithOtp({ email, options: { emailRedirectTo: CALLBACK } });
  assert.equal(asked.error, null);
  const { data, error } = await client.exchangeCodeForSession(codeOf(await follow(email)));
  assert.equal(error, null);
  assert.equal(data.user.email, email);
});

test("bad PKCE input is a 400 in GoTrue's shape and sends nothing", async () => {
  const email = fresh("pkce-bad");
  const headers = { "x-supabase-api-version": "2024-01-01" };
  for (const [body, message] of [
    [{ email, password: "pkce bad password", code_challenge: "short", code_challenge_method: "s256" }, "code challenge has to be between 43 and 128 characters"],
    [{ email, password: "pkce bad password", code_challenge: "x".repeat(43) }, "PKCE flow requires code_challenge_method and code_challenge"],
    [{ email, password: "pkce bad password", code_challenge: "x".repeat(43), code_challenge_method: "S512" }, "Invalid code_challenge_method"],
  ]) {
    const r = await call(`${env.worker.url}/auth/v1/signup`, { body, headers });
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(r.json, { code: "validation_failed", message });
  }
  const typed = await call(`${env.worker.url}/auth/v1/signup`, { body: { email, password: "pkce bad password", code_challenge: 7, code_challenge_method: "s256" }, headers });
  assert.equal(typed.status, 400);
  assert.equal(typed.json.code, "bad_json");
  for (const raw of ['{"auth_code": "x", ', "[]", '{"auth_code": "x", "code_verifier": 5}']) {
    const r = await call(`${env.worker.url}/auth/v1/token?grant_type=pkce`, { raw, headers });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.code, "bad_json");
  }
  await assertNothingMailed(env, email);
});
