// When the mail server is down, sign-up answers 5xx with an error id, the failure is logged
// without secrets, and the account stays usable: once mail is back, signing up again sends a
// code that works.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { GoTrueClient } from "@supabase/auth-js";
import { startMailCatcher, startWorker, freePort, codeIn } from "./harness.js";

test("a failed confirmation mail is a 500 with an error id, and signing up again recovers", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "portcullis-outage-"));
  const email = `outage-${Date.now()}@example.com`;
  const password = "outage-password";
  let worker, mail;
  try {
    // Nothing listens on this port: the worker's SMTP connection is refused.
    const deadPort = await freePort();
    worker = await startWorker({ persist: dir, vars: { SMTP_PORT: String(deadPort) } });
    const down = new GoTrueClient({ url: `${worker.url}/auth/v1`, autoRefreshToken: false, persistSession: false });
    const failed = await down.signUp({ email, password });
    // auth-js reports every 5xx as retryable, with our message (and its error id).
    assert.equal(failed.error?.name, "AuthRetryableFetchError");
    assert.equal(failed.error.status, 500);
    assert.match(failed.error.message, /^Internal server error \(error id: [0-9a-f]{16}\)$/);
    assert.doesNotMatch(failed.error.message, /outage-password/);
    await worker.stop();

    mail = await startMailCatcher();
    worker = await startWorker({ persist: dir, mail });
    const up = new GoTrueClient({ url: `${worker.url}/auth/v1`, autoRefreshToken: false, persistSession: false });
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
