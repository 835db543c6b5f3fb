// CAPTCHA as upstream's SECURITY_CAPTCHA_*, end to end: @supabase/auth-js sends
// `options.captchaToken`, the worker in workerd checks it with the provider over real HTTP (here a
// local stand-in for Turnstile's siteverify, at SECURITY_CAPTCHA_VERIFY_URL), and a verified
// person signs in to an account whose guessing budget a guesser with many addresses used up
// through another dialect, which has no CAPTCHA field and stays refused.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { GoTrueClient } from "@supabase/auth-js";
import { useWorker, freePort, codeIn, call } from "./harness.js";

const SECRET = "0x-e2e-turnstile-secret";
// The provider: accepts the response "person" under SECRET, refuses anything else, and can be
// made to fail (`provider.down`) as an outage would.
const provider = { port: await freePort(), seen: [], down: false };
const server = createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    const form = Object.fromEntries(new URLSearchParams(body));
    provider.seen.push({ path: req.url, type: req.headers["content-type"], form });
    if (provider.down) {
      res.writeHead(502).end("bad gateway");
      return;
    }
    const success = form.secret === SECRET && form.response === "person";
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ success, "error-codes": success ? [] : ["invalid-input-response"] }));
  });
});
await new Promise((resolve) => server.listen(provider.port, "127.0.0.1", resolve));
after(() => server.close());

const env = useWorker({
  mail: true,
  vars: {
    SECURITY_CAPTCHA_ENABLED: "true",
    SECURITY_CAPTCHA_PROVIDER: "turnstile",
    SECURITY_CAPTCHA_SECRET: SECRET,
    SECURITY_CAPTCHA_VERIFY_URL: `http://127.0.0.1:${provider.port}/turnstile/v0/siteverify`,
    LOGIN_MAX_PER_ACCOUNT: "3",
  },
});

let n = 0;
const fresh = (tag) => `${tag}-${Date.now()}-${n++}@example.com`;
/** auth-js as a browser at client address `ip` would use it. */
const client = (ip = `198.51.100.${n++ % 250}`) =>
  new GoTrueClient({ url: `${env.worker.url}/auth/v1`, autoRefreshToken: false, persistSession: false, headers: { "cf-connecting-ip": ip } });

async function confirmedAccount(email, password) {
  const gotrue = client();
  const { error } = await gotrue.signUp({ email, password, options: { captchaToken: "person" } });
  assert.equal(error, null);
  const { error: e2 } = await gotrue.verifyOtp({ email, token: codeIn(await env.mail.latest(email)), type: "signup" });
  assert.equal(e2, null);
}

test("sign-up needs a response the provider accepts, checked server side with the secret", async () => {
  const email = fresh("captcha");
  const gotrue = client("203.0.113.40");
  const none = await gotrue.signUp({ email, password: "a good password" });
  assert.equal(none.error?.status, 400);
  assert.equal(none.error?.code, "captcha_failed");
  const bot = await gotrue.signUp({ email, password: "a good password", options: { captchaToken: "a script's guess" } });
  assert.equal(bot.error?.code, "captcha_failed");
  provider.seen.length = 0;
  const person = await gotrue.signUp({ email, password: "a good password", options: { captchaToken: "person" } });
  assert.equal(person.error, null);
  assert.equal(person.data.user.email, email);
  assert.deepEqual(provider.seen, [{
    path: "/turnstile/v0/siteverify",
    type: "application/x-www-form-urlencoded",
    form: { secret: SECRET, response: "person", remoteip: "203.0.113.40" },
  }]);
});

test("a password sign-in, /otp and /recover carry the response too", async () => {
  const email = fresh("owner");
  await confirmedAccount(email, "owner password");
  const gotrue = client();
  assert.equal((await gotrue.signInWithPassword({ email, password: "owner password" })).error?.code, "captcha_failed");
  assert.equal((await gotrue.signInWithOtp({ email })).error?.code, "captcha_failed");
  assert.equal((await gotrue.resetPasswordForEmail(email)).error?.code, "captcha_failed");
  const signedIn = await gotrue.signInWithPassword({ email, password: "owner password", options: { captchaToken: "person" } });
  assert.equal(signedIn.error, null);
  assert.equal(signedIn.data.user.email, email);
});

test("with the provider down nothing gets through, and the answer says why", async () => {
  const email = fresh("outage");
  await confirmedAccount(email, "owner password");
  provider.down = true;
  try {
    const { error } = await client().signInWithPassword({ email, password: "owner password", options: { captchaToken: "person" } });
    assert.equal(error?.status, 400);
    assert.equal(error?.code, "captcha_failed");
    assert.match(error.message, /could not be completed/);
  } finally {
    provider.down = false;
  }
});

test("a guesser with many addresses uses up the account's budget; the owner, a verified person, still signs in", async () => {
  const email = fresh("guessed");
  await confirmedAccount(email, "owner password");
  // Feathers has no field for a CAPTCHA response: its sign-ins count against the account's
  // budget (LOGIN_MAX_PER_ACCOUNT 3 here), each from another client address.
  const feathers = (ip, password) =>
    call(`${env.worker.url}/authentication`, { body: { strategy: "local", email, password }, headers: { "cf-connecting-ip": ip } });
  const guesses = [];
  for (let i = 1; i <= 5; i++) guesses.push((await feathers(`192.0.2.${i}`, `guess ${i}`)).status);
  assert.deepEqual(guesses, [401, 401, 401, 429, 429]);
  // The right password from yet another address is refused too: the budget is the account's.
  assert.equal((await feathers("192.0.2.99", "owner password")).status, 429);
  // Through GoTrue the owner proves to be a person, and is not held to that budget.
  const owner = await client("203.0.113.77").signInWithPassword({ email, password: "owner password", options: { captchaToken: "person" } });
  assert.equal(owner.error, null);
  assert.equal(owner.data.user.email, email);
  // Proving it does not make a wrong password right.
  const wrong = await client("203.0.113.78").signInWithPassword({ email, password: "guess 6", options: { captchaToken: "person" } });
  assert.equal(wrong.error?.code, "invalid_credentials");
});
