// No enumeration oracle in the work before the answer: GoTrue's sign-up (with mail confirmation,
// the default) and `/otp` (with create_user) cost the same D1 round trips before they answer for
// a new address, a registered confirmed one and a registered one whose sign-up is not confirmed.
// A round trip to D1 is the biggest part of such a request's time, so a registered address that
// cost one fewer (no insert) or one more would show in how long the answer takes.
//
// The worker runs behind e2e/d1_trips.mjs (bench/count-d1.mjs with each round trip recorded as
// before or after the answer). What happens after the answer, in ctx.waitUntil (storing the
// mailed code, sending the mail), is not compared: it differs by design (a confirmed address
// gets a notice, which stores no code) and cannot delay the answer. count-d1's own
// `x-d1-round-trips` header is not what is compared either: it is set once the worker's fetch
// resolves, by which time the waitUntil task may have run its first statement (the code's
// store), so it can count after-the-answer work.
//
// The send limit is lifted (SMTP_MAX_FREQUENCY=0) and each request comes from its own client,
// so no case is within a limit: every probe claims its mail and mails its address.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { useWorker, call, codeIn } from "./harness.js";

const accounts = {};
const env = useWorker({
  mail: true,
  entry: "e2e/d1_trips.mjs",
  vars: { SMTP_MAX_FREQUENCY: "0" },
  async ready(env) {
    // A confirmed account, and one whose sign-up is pending (its code mailed, never used).
    accounts.confirmed = fresh("confirmed");
    assert.equal((await request("/signup", { email: accounts.confirmed, password: "owner password" })).status, 200);
    const token = codeIn(await env.mail.latest(accounts.confirmed));
    const verified = await request("/verify", { type: "signup", email: accounts.confirmed, token });
    assert.equal(verified.status, 200, JSON.stringify(verified.json));
    accounts.unconfirmed = fresh("unconfirmed");
    assert.equal((await request("/signup", { email: accounts.unconfirmed, password: "pending password" })).status, 200);
    await env.mail.latest(accounts.unconfirmed);
  },
});

let n = 0;
function fresh(tag) {
  return `${tag}-${Date.now() % 1e7}-${n++}@example.com`;
}

/** The worker's record of request `seq`, once its after-the-answer work has finished. */
async function settled(seq) {
  for (let i = 0; i < 250; i++) {
    const rec = (await (await fetch(`${env.worker.url}/__d1-trips`)).json())[seq];
    if (rec?.settled) return rec;
    await sleep(20);
  }
  throw new Error(`request ${seq}: its waitUntil work did not finish`);
}

/**
 * POSTs `body` to GoTrue's `path` from a client of its own and waits until the request's
 * after-the-answer work is done (so that none of it runs into the next request). Returns the
 * answer and its D1 round trips: `before` and `after` the answer (the statements, in order) and
 * count-d1's header.
 */
async function request(path, body) {
  const res = await call(`${env.worker.url}/auth/v1${path}`, { body, headers: { "cf-connecting-ip": `198.51.100.${n++ % 250}` } });
  const rec = await settled(Number(res.headers.get("x-d1-request")));
  assert.equal(rec.overlapped, false, `${path}: an earlier request's waitUntil work ran into this one`);
  return { status: res.status, json: res.json, before: rec.before, after: rec.after, header: Number(res.headers.get("x-d1-round-trips")) };
}

/**
 * Asks `path` about each kind of address twice, interleaved; asserts that every answer is the
 * usual 200, that each probe mailed its address, and that every probe made the same D1 round
 * trips before its answer as the first (a new address).
 */
async function sameWorkBeforeTheAnswer(t, path, body) {
  const probes = [];
  for (const round of [1, 2]) {
    for (const [kind, email] of [["new", fresh("new")], ["confirmed", accounts.confirmed], ["unconfirmed", accounts.unconfirmed]]) {
      const mailed = (await env.mail.mailsTo(email)).length;
      const m = await request(path, body(email));
      assert.equal(m.status, 200, `${kind} #${round}: ${JSON.stringify(m.json)}`);
      // The mail went out before the request settled; it is the proof that the probe was not
      // within a send limit (which costs different round trips).
      assert.equal((await env.mail.mailsTo(email)).length, mailed + 1, `${kind} #${round}: mailed once`);
      // count-d1 counts every round trip up to its header, so at least those before the answer
      // and at most those of the whole request.
      assert.ok(m.header >= m.before.length && m.header <= m.before.length + m.after.length, `${kind} #${round}: header ${m.header}`);
      probes.push({ label: `${kind} #${round}`, ...m });
    }
  }
  for (const p of probes) {
    t.diagnostic(`${path} ${p.label}: ${p.before.length} before the answer, ${p.after.length} after (x-d1-round-trips ${p.header})`);
  }
  const [first] = probes;
  for (const p of probes.slice(1)) {
    assert.equal(p.before.length, first.before.length, `${path}: D1 round trips before the answer, ${p.label} against ${first.label}:\n` +
      `${p.label}: ${p.before.join("\n  ")}\n${first.label}: ${first.before.join("\n  ")}`);
    assert.deepEqual(p.before, first.before, `${path}: the statements before the answer, ${p.label} against ${first.label}`);
  }
  // The mailed code is stored after the answer, for a new address as for a registered one.
  for (const p of probes) assert.ok(!p.before.some((s) => s.includes("one_time_codes (id")), `${p.label}: code stored before the answer`);
}

test("sign-up costs a new, a confirmed and an unconfirmed address the same D1 round trips before the answer", async (t) => {
  await sameWorkBeforeTheAnswer(t, "/signup", (email) => ({ email, password: "probe password" }));
});

test("/otp with create_user costs a new, a confirmed and an unconfirmed address the same D1 round trips before the answer", async (t) => {
  await sameWorkBeforeTheAnswer(t, "/otp", (email) => ({ email, create_user: true }));
});
