// The Cron Trigger's purge against D1 in workerd: what has expired (ended or timed-out sessions
// with their tokens, refresh tokens used long ago, expired codes, auth codes, sign-in requests,
// spent budgets and send limits) goes, in bounded runs; what a live flow still needs stays, and
// still works. Rows are made through the API and then aged in the database, or written there
// directly, and the worker's `scheduled` handler is fired the way workerd fires a cron.
// This worker bounds sessions: a 1-day timebox and a 12-hour inactivity timeout.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { GoTrueClient } from "@supabase/auth-js";
import { useWorker, codeIn, call, root } from "./harness.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const env = useWorker({ mail: true, vars: { SESSION_TIMEBOX: "86400", SESSION_INACTIVITY_TIMEOUT: "43200" } });
let n = 0;
const fresh = (tag) => `purge-${tag}-${Date.now()}-${n++}@example.com`;
const newClient = () =>
  new GoTrueClient({ url: `${env.worker.url}/auth/v1`, autoRefreshToken: false, persistSession: false });
const refreshRaw = (token) => call(`${env.worker.url}/auth/v1/token?grant_type=refresh_token`, { body: { refresh_token: token } });
const tokenId = (token) => token.split(".")[0];

/** A new confirmed account with a session; returns its client, session and address. */
async function account(tag) {
  const email = fresh(tag);
  const client = newClient();
  assert.equal((await client.signUp({ email, password: "purge password" })).error, null);
  const { data, error } = await client.verifyOtp({ email, token: codeIn(await env.mail.latest(email)), type: "signup" });
  assert.equal(error, null);
  return { email, client, session: data.session, id: data.session.user.id };
}

/** The Cron Trigger of wrangler.toml's `[triggers]`. */
function shippedCron() {
  const toml = readFileSync(path.join(root, "wrangler.toml"), "utf8");
  const crons = /^\[triggers\]\s*\ncrons\s*=\s*\[\s*"([^"]+)"\s*\]/m.exec(toml)?.[1];
  assert.ok(crons, "wrangler.toml has a [triggers] cron");
  return crons;
}

/** Fires the worker's scheduled handler as workerd does for the shipped cron; returns the
 * counts it logged. */
async function purge() {
  const before = env.worker.log().length;
  const worker = await env.worker.mf.getWorker();
  const result = await worker.scheduled({ cron: shippedCron(), scheduledTime: new Date() });
  assert.equal(result.outcome, "ok", env.worker.log().slice(before));
  const line = /portcullis purge: ([^\n]*)/.exec(env.worker.log().slice(before))?.[1];
  assert.ok(line, `no purge line in the log: ${env.worker.log().slice(before)}`);
  return Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
}

const exists = async (table, where, ...args) =>
  Boolean(await env.worker.db.prepare(`SELECT 1 AS x FROM ${table} WHERE ${where}`).bind(...args).first());
const count = async (table, where = "1", ...args) =>
  (await env.worker.db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${where}`).bind(...args).first()).n;
const run = (sql, ...args) => env.worker.db.prepare(sql).bind(...args).run();

/** The purge's batch size and rounds per run, read from its source (worker/src/purge.rs). */
function bounds() {
  const source = readFileSync(path.join(root, "worker/src/purge.rs"), "utf8");
  const constant = (name) => Number(new RegExp(`const ${name}: u32 = ([\\d_]+);`).exec(source)?.[1].replaceAll("_", ""));
  return { batch: constant("BATCH"), rounds: constant("ROUNDS") };
}

test("the scheduled purge removes what expired and keeps what a live flow needs", async () => {
  const now = Date.now();
  // A live session that refreshed twice: the first token was used two days ago (its reuse
  // window long past), the second just now; the newest must still refresh afterwards.
  const live = await account("live");
  const first = live.session.refresh_token;
  const second = (await refreshRaw(first)).json.refresh_token;
  const third = (await refreshRaw(second)).json;
  assert.ok(third.refresh_token, "the second refresh worked");
  await run("UPDATE refresh_tokens SET used_at = ? WHERE id = ?", now - 2 * DAY, tokenId(first));
  // A code mailed just now, still to be used.
  assert.equal((await live.client.signInWithOtp({ email: live.email, options: { shouldCreateUser: false } })).error, null);
  const pending = codeIn(await env.mail.latest(live.email, { after: 1 }));

  // Sessions: signed out two days ago (gone, with its token), signed out just now (kept a
  // day), started three days ago (past the timebox), idle for 40 hours (past the inactivity
  // timeout), and started 40 hours ago but used an hour ago (kept).
  const ended = await account("ended");
  assert.equal((await ended.client.signOut({ scope: "local" })).error, null);
  await run("UPDATE sessions SET revoked_at = ? WHERE user_id = ?", now - 2 * DAY, ended.id);
  const endedRecently = await account("ended-recently");
  assert.equal((await endedRecently.client.signOut({ scope: "local" })).error, null);
  const old = await account("old");
  await run("UPDATE sessions SET created_at = ? WHERE user_id = ?", now - 3 * DAY, old.id);
  const idle = await account("idle");
  await run("UPDATE sessions SET created_at = ?1, refreshed_at = ?1, last_active_at = ?1 WHERE user_id = ?2", now - 40 * HOUR, idle.id);
  const busy = await account("busy");
  await run("UPDATE sessions SET created_at = ?1, refreshed_at = ?1, last_active_at = ?2 WHERE user_id = ?3", now - 40 * HOUR, now - HOUR, busy.id);

  // Codes: a recovery code that expired two days ago goes; the sign-up code of an account that
  // never confirmed stays however old (a retried sign-up reads it), as does the used sign-up
  // code of a confirmed account that expires in minutes.
  assert.equal((await busy.client.resetPasswordForEmail(busy.email)).error, null);
  await env.mail.latest(busy.email, { after: 1 });
  await run("UPDATE one_time_codes SET expires_at = ? WHERE user_id = ? AND purpose = 'recovery'", now - 2 * DAY, busy.id);
  const unconfirmed = fresh("unconfirmed");
  assert.equal((await newClient().signUp({ email: unconfirmed, password: "purge password" })).error, null);
  await env.mail.latest(unconfirmed);
  await run("UPDATE one_time_codes SET expires_at = ? WHERE sent_to = ?", now - 30 * DAY, unconfirmed);

  // What is written directly: auth codes, sign-in requests, budgets and send limits, each one
  // long expired and one live.
  const flow = (hash, expires) =>
    run("INSERT INTO flow_states (auth_code_hash, user_id, method, code_challenge, code_challenge_method, created_at, expires_at) " +
      "VALUES (?, ?, 'magiclink', 'challenge', 's256', ?, ?)", hash, live.id, expires - 300_000, expires);
  await flow("purge-flow-old", now - 2 * DAY);
  await flow("purge-flow-live", now + 300_000);
  const request = (id, expires) =>
    run("INSERT INTO login_requests (id, user_id, platform, link_hash, state, created_at, expires_at) VALUES (?1, ?2, 'Phone', ?1, 'pending', ?3, ?4)",
      id, live.id, expires - 600_000, expires);
  await request("purge-request-old", now - 2 * DAY);
  await request("purge-request-live", now + 600_000);
  await run("INSERT INTO budgets (key, window_start, used) VALUES ('purge:old', ?, 3), ('purge:live', ?, 3)", now - 3 * DAY, now - HOUR);
  await run("INSERT INTO send_limits (address, purpose, last_sent_at) VALUES ('old@purge.test', 'recovery', ?), ('live@purge.test', 'recovery', ?)",
    now - 3 * DAY, now - 10_000);
  // Second factors: an enrollment never finished, three days old, goes; a fresh one stays, and
  // of its challenges the one made three days ago goes.
  await run("INSERT INTO mfa_factors (id, user_id, friendly_name, factor_type, verified, secret, created_at, updated_at) " +
    "VALUES ('purge-factor-old', ?1, 'old', 'totp', 0, 'v1.sealed', ?2, ?2), ('purge-factor-live', ?1, 'live', 'totp', 0, 'v1.sealed', ?3, ?3)",
    live.id, now - 3 * DAY, now - 10_000);
  await run("INSERT INTO mfa_challenges (id, factor_id, created_at) VALUES ('purge-challenge-old', 'purge-factor-live', ?1), " +
    "('purge-challenge-live', 'purge-factor-live', ?2)", now - 3 * DAY, now - 10_000);

  const counts = await purge();

  assert.equal(await exists("refresh_tokens", "id = ?", tokenId(first)), false, "a token used two days ago");
  assert.equal(await exists("refresh_tokens", "id = ?", tokenId(second)), true, "a token used just now");
  assert.equal(await exists("sessions", "user_id = ?", ended.id), false, "a session ended two days ago");
  assert.equal(await exists("refresh_tokens", "id = ?", tokenId(ended.session.refresh_token)), false, "the ended session's token");
  assert.equal(await exists("sessions", "user_id = ?", endedRecently.id), true, "a session ended just now");
  assert.equal(await exists("sessions", "user_id = ?", old.id), false, "a session past its timebox");
  assert.equal(await exists("sessions", "user_id = ?", idle.id), false, "an idle session");
  assert.equal(await exists("sessions", "user_id = ?", busy.id), true, "a session in use");
  assert.equal(await exists("sessions", "user_id = ?", live.id), true, "the live session");
  assert.equal(await exists("one_time_codes", "user_id = ? AND purpose = 'recovery'", busy.id), false, "an expired code");
  assert.equal(await exists("one_time_codes", "sent_to = ?", unconfirmed), true, "an unconfirmed account's sign-up code");
  assert.equal(await exists("one_time_codes", "user_id = ? AND purpose = 'signup'", live.id), true, "a used code not yet expired");
  assert.equal(await exists("flow_states", "auth_code_hash = 'purge-flow-old'"), false, "an expired auth code");
  assert.equal(await exists("flow_states", "auth_code_hash = 'purge-flow-live'"), true, "a live auth code");
  assert.equal(await exists("login_requests", "id = 'purge-request-old'"), false, "an expired sign-in request");
  assert.equal(await exists("login_requests", "id = 'purge-request-live'"), true, "a live sign-in request");
  assert.equal(await exists("budgets", "key = 'purge:old'"), false, "a budget whose window passed");
  assert.equal(await exists("budgets", "key = 'purge:live'"), true, "a budget in its window");
  assert.equal(await exists("send_limits", "address = 'old@purge.test'"), false, "a send limit long past");
  assert.equal(await exists("send_limits", "address = 'live@purge.test'"), true, "a send limit still counting");
  assert.equal(await exists("mfa_factors", "id = 'purge-factor-old'"), false, "an enrollment never finished");
  assert.equal(await exists("mfa_factors", "id = 'purge-factor-live'"), true, "a fresh enrollment");
  assert.equal(await exists("mfa_challenges", "id = 'purge-challenge-old'"), false, "a challenge long expired");
  assert.equal(await exists("mfa_challenges", "id = 'purge-challenge-live'"), true, "a live challenge");
  assert.deepEqual(
    { ...counts, rounds: undefined },
    { sessions: 3, refresh_tokens: 1, codes: 1, flow_states: 1, login_requests: 1, budgets: 1, send_limits: 1, challenges: 1, factors: 1, rounds: undefined },
  );

  // What stayed still works: the live session refreshes, the pending code signs in.
  const refreshed = await refreshRaw(third.refresh_token);
  assert.equal(refreshed.status, 200, refreshed.text);
  const { data, error } = await newClient().verifyOtp({ email: live.email, token: pending, type: "email" });
  assert.equal(error, null);
  assert.equal(data.user.id, live.id);

  // A second run finds nothing more.
  const again = await purge();
  assert.deepEqual(
    { ...again, rounds: undefined },
    { sessions: 0, refresh_tokens: 0, codes: 0, flow_states: 0, login_requests: 0, budgets: 0, send_limits: 0, challenges: 0, factors: 0, rounds: undefined },
  );
});

test("a backlog goes in bounded runs, and the log says only counts", async () => {
  const { batch, rounds } = bounds();
  assert.ok(batch > 0 && rounds > 0, "BATCH and ROUNDS read from worker/src/purge.rs");
  const perRun = batch * rounds;
  const backlog = perRun + Math.floor(batch / 2);
  await run(
    "INSERT INTO budgets (key, window_start, used) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) " +
      "SELECT 'purge-bulk:' || i, ?2, 1 FROM n",
    backlog, Date.now() - 3 * DAY,
  );
  const first = await purge();
  assert.equal(first.budgets, perRun, "one run removes at most BATCH rows a round for ROUNDS rounds");
  assert.equal(first.rounds, rounds);
  assert.equal(await count("budgets", "key LIKE 'purge-bulk:%'"), backlog - perRun);
  const second = await purge();
  assert.equal(second.budgets, backlog - perRun, "the next run takes the rest");
  assert.equal(await count("budgets", "key LIKE 'purge-bulk:%'"), 0);
  assert.equal((await purge()).budgets, 0);
  assert.doesNotMatch(env.worker.log(), /purge-bulk|secret_hash|@purge\.test/, "the log names no key, address or secret");
});
