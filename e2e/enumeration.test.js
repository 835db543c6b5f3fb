// No enumeration oracles, tried as an attacker would with the dialects' own clients: whether an
// address has an account (confirmed or pending) shows neither in what sign-up and sign-in answer
// nor in how long a request about the address takes (its mail goes out after the answer).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { GoTrueClient } from "@supabase/auth-js";
import { useWorker, startWorker, call, codeIn } from "./harness.js";

const env = useWorker({ mail: true });
let n = 0;
const fresh = (tag) => `${tag}-${Date.now() % 1e7}-${n++}@example.com`;
const gotrue = (w = env.worker) => new GoTrueClient({ url: `${w.url}/auth/v1`, autoRefreshToken: false, persistSession: false });

async function signUpAndConfirm(email, password, w = env.worker) {
  const client = gotrue(w);
  assert.equal((await client.signUp({ email, password })).error, null);
  const { error } = await client.verifyOtp({ email, token: codeIn(await env.mail.latest(email)), type: "signup" });
  assert.equal(error, null);
}

/** What a stranger learns by signing `email` up with a password of their own and signing in. */
async function probe(email) {
  const client = gotrue();
  const up = await client.signUp({ email, password: "probe password", options: { data: {} } });
  const inn = await client.signInWithPassword({ email, password: "probe password" });
  const u = up.data.user;
  return {
    signUp: { error: up.error?.code ?? null, session: up.data.session, confirmed: u?.email_confirmed_at ?? null, metadata: u?.user_metadata },
    signIn: { error: inn.error?.code ?? null, status: inn.error?.status, message: inn.error?.message },
    id: u?.id,
    createdAt: u?.created_at,
  };
}

test("sign-up then sign-in answers the same for a new, a pending and a registered address", async () => {
  // The owner signed up a moment ago (her sign-up's send slot is still taken); another owner
  // has a sign-up pending, with metadata.
  const registered = fresh("registered");
  await signUpAndConfirm(registered, "owner password");
  const pending = fresh("pending");
  assert.equal((await gotrue().signUp({ email: pending, password: "pending password", options: { data: { plan: "pro" } } })).error, null);
  const { results } = await env.worker.db.prepare("SELECT id, created_at FROM users WHERE email = ?").bind(pending).all();
  const pendingAccount = results[0];

  const started = Date.now();
  const seen = {};
  for (const [kind, email] of [["new", fresh("new")], ["pending", pending], ["registered", registered]]) seen[kind] = await probe(email);
  for (const kind of ["pending", "registered"]) {
    assert.deepEqual(seen[kind].signUp, seen.new.signUp, `${kind}: sign-up`);
    assert.deepEqual(seen[kind].signIn, seen.new.signIn, `${kind}: sign-in`);
    assert.ok(Date.parse(seen[kind].createdAt) >= started - 1000, `${kind}: created "now", like a new account`);
  }
  assert.deepEqual(seen.new.signUp, { error: null, session: null, confirmed: null, metadata: {} });
  assert.deepEqual(seen.new.signIn, { error: "invalid_credentials", status: 400, message: "Invalid login credentials" });
  assert.notEqual(seen.pending.id, pendingAccount.id, "the pending account's id is not shown");
});

/** A TCP server that accepts connections and never says a word: SMTP that hangs. */
async function tarpit() {
  const sockets = [];
  const server = createServer((s) => sockets.push(s));
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: server.address().port,
    connections: () => sockets.length,
    stop: () => {
      sockets.forEach((s) => s.destroy());
      server.close();
    },
  };
}

/** Settles with the request's outcome, or "no answer" after `ms`. */
const within = (ms, p) => Promise.race([p, sleep(ms).then(() => "no answer")]);

test("requests about a known address answer without waiting for their mail, in every dialect that mails", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "portcullis-enum-"));
  let first, second, pit;
  try {
    // Accounts made while mail works: a confirmed GoTrue one, a pending one, and a passwordless
    // one with its address attached.
    first = await startWorker({ persist: dir, mail: env.mail, vars: { SMTP_MAX_FREQUENCY: "0" } });
    const known = fresh("known");
    await signUpAndConfirm(known, "known password", first);
    const pending = fresh("pending");
    assert.equal((await gotrue(first).signUp({ email: pending, password: "pending password" })).error, null);
    const username = `enum${Date.now() % 1e7}`;
    const named = `${username}@example.com`;
    const reg = await call(`${first.url}/auth/registration`, { body: { username, email: named, session_platform: "Laptop" } });
    assert.equal(reg.status, 200, reg.text);
    const confirm = /\/auth\/email\/confirm\?token=(\S+)/.exec((await env.mail.latest(named)).text)[1];
    const attached = await call(`${first.url}/auth/email/confirm`, {
      raw: new URLSearchParams({ token: confirm }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(attached.status, 200, attached.text);
    await first.stop();
    first = null;

    // Now the mail server accepts and hangs: a request that waited for its mail would never
    // answer.
    pit = await tarpit();
    second = await startWorker({ persist: dir, vars: { SMTP_PORT: String(pit.port), SMTP_MAX_FREQUENCY: "0" } });
    const client = gotrue(second);
    const asks = [
      ["recover", () => client.resetPasswordForEmail(known)],
      ["otp without sign-up", () => client.signInWithOtp({ email: known, options: { shouldCreateUser: false } })],
      ["resend", () => client.resend({ type: "signup", email: pending })],
      ["passwordless login", () => call(`${second.url}/auth/login`, { body: { username, email: named, session_platform: "Phone" } })],
    ];
    for (const [name, ask] of asks) {
      const outcome = await within(5000, ask());
      assert.notEqual(outcome, "no answer", `${name} waited for its mail`);
      assert.ok(outcome.error === null || outcome.status === 200, `${name}: ${JSON.stringify(outcome.error ?? outcome.text)}`);
    }
    // The mails were still attempted, after the answers: one connection each.
    for (let i = 0; i < 50 && pit.connections() < asks.length; i++) await sleep(100);
    assert.equal(pit.connections(), asks.length);
  } finally {
    await first?.stop();
    await second?.stop();
    pit?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
