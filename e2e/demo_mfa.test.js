// The demo page's second step in headless Chromium: an account with a TOTP factor (enrolled
// through auth-js, as a Supabase app would) signs in with its password on the page, is asked for
// its authenticator app's code, and is signed in once it gives one (otplib computes the codes).
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { mkdirSync } from "node:fs";
import { GoTrueClient } from "@supabase/auth-js";
import { generate } from "otplib";
import { useWorker, memoryStorage, root } from "./harness.js";

const artifacts = path.join(root, "e2e/artifacts");
const env = useWorker({ browser: true, vars: { MAILER_AUTOCONFIRM: "true" } });
const code = (secret, steps = 0) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 * steps });

test("the demo page asks an account with a factor for its code, and signs it in with one", async () => {
  mkdirSync(artifacts, { recursive: true });
  const email = `demo-mfa-${Date.now() % 1e7}@example.com`;
  const auth = new GoTrueClient({ url: `${env.worker.url}/auth/v1`, autoRefreshToken: false, persistSession: true, storage: memoryStorage() });
  assert.equal((await auth.signUp({ email, password: "correct horse" })).error, null);
  const { data } = await auth.mfa.enroll({ factorType: "totp" });
  assert.equal((await auth.mfa.challengeAndVerify({ factorId: data.id, code: await code(data.totp.secret) })).error, null);

  const page = await env.browser.newPage({ viewport: { width: 900, height: 640 } });
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && problems.push(m.text()));
  await page.goto(`${env.worker.url}/`);
  await page.locator("#signed-out").waitFor();
  await page.fill("#login-email", email);
  await page.fill("#login-password", "correct horse");
  await page.click("#login button");
  await page.locator("#second-step").waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem("feathers-jwt")), null, "no token before the second step");
  assert.match(await page.textContent("#message"), /One more step/);

  await page.fill("#second-step-code", "000000");
  await page.click("#second-step button");
  await page.locator("#message", { hasText: "not right" }).waitFor();
  assert.equal(await page.locator("#second-step").isVisible(), true, "a wrong code leaves the step open");

  await page.fill("#second-step-code", await code(data.totp.secret, 1));
  await page.click("#second-step button");
  await page.locator("#signed-in").waitFor();
  assert.equal(await page.textContent("#user-email"), email);
  assert.match(await page.textContent("#how"), /authenticator app/);
  await page.screenshot({ path: path.join(artifacts, "demo-second-step.png") });
  const token = await page.evaluate(() => localStorage.getItem("feathers-jwt"));
  const check = await fetch(`${env.worker.url}/api/check`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal((await check.json()).aal, "aal2");

  await page.reload();
  await page.locator("#signed-in").waitFor();
  assert.match(await page.textContent("#how"), /Still signed in/);
  assert.deepEqual(problems, []);
  await page.close();
});
