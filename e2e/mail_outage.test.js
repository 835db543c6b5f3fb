// When the mail server is down, sign-up still answers as usual (mail goes out after the answer,
// so neither its timing nor its status tells whether a mail was due), the failure is logged
// under an error id without secrets, its send slot is given back, and the account stays
// usable: once mail is back, signing up again at once sends a code that works.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { GoTrueClient } from "@supabase/auth-js";
import { startMailCatcher, startWorker, freePort, codeIn } from "./harness.js";

test("a failed confirmation mail is logged with an error id after the answer, and signing up again at once recovers", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "portcullis-outage-"));
  const email = `outage-${Date.now()}@example.com`;
  const password = "outage-password";
  let worker, mail;
  try {
    // Nothing listens on this port: the worker's SMTP connection is refused.
    const deadPort = await freePort();
    worker = await startWorker({ persist: dir, vars: { SMTP_PORT: String(deadPort) } });
    const down = new GoTrueClient({ url: `${worker.url}/auth/v1`, autoRefreshToken: false, persistSession: false });
    const answered = await down.signUp({ email, password });
    assert.equal(answered.error, null, "the answer does not wait for the mail");
    let logged = "";
    for (let i = 0; i < 50 && !/portcullis error [0-9a-f]{16}: signup mail not delivered/.test(logged); i++) {
      await sleep(100);
      logged = worker.log();
    }
    assert.match(logged, /portcullis error [0-9a-f]{16}: signup mail not delivered/);
    assert.doesNotMatch(logged, /outage-password/);
    assert.doesNotMatch(logged, /code is/);
    await worker.stop();

    mail = await startMailCatcher();
    worker = await startWorker({ persist: dir, mail });
    const up = new GoTrueClient({ url: `${worker.url}/auth/v1`, autoRefreshToken: false, persistSession: false });
    // Within the minute of the first attempt: its slot was given back, so this one mails.
    const again = await up.signUp({ email, password });
    assert.equal(again.error, null);
    const code = codeIn(await mail.latest(email));
    const verified = await up.verifyOtp({ email, token: code, type: "signup" });
    assert.equal(verified.error, null);
    assert.equal((await up.signInWithPassword({ email, password })).error, null);
    const { results } = await worker.db.prepare("SELECT count(*) AS n FROM users WHERE email = ?").bind(email).all();
    assert.equal(results[0].n, 1, "one account, not two");
  } finally {
    await worker?.stop();
    await mail?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
