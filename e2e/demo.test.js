// The demo page in headless Chromium (Playwright, Debian's /usr/bin/chromium) against the built
// worker in workerd, which serves the page and the wasm client package at /pkg/. A person's
// path: register, reload and stay signed in, sign out, sign in with a wrong and a right
// password. Screenshots go to e2e/artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { useWorker, call, root } from "./harness.js";

const artifacts = path.join(root, "e2e/artifacts");
const env = useWorker({ browser: true });

before(() => mkdirSync(artifacts, { recursive: true }));

const email = `demo-${Date.now() % 1e7}@example.com`;

async function openPage() {
  const page = await env.browser.newPage({ viewport: { width: 900, height: 640 } });
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  // 4xx answers the page expects (401, 409) are logged by Chromium as failed loads; only
  // other errors count.
  page.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && problems.push(m.text()));
  // The page loads only what the worker serves.
  page.on("request", (r) => !r.url().startsWith("data:") && new URL(r.url()).origin !== env.worker.url &&
    problems.push(`requested ${r.url()}`));
  await page.goto(`${env.worker.url}/`);
  return { page, problems };
}

const storedToken = (page) => page.evaluate(() => localStorage.getItem("feathers-jwt"));

test("register, reload and stay signed in, sign out, sign in again", async () => {
  const { page, problems } = await openPage();
  await page.locator("#signed-out").waitFor();
  assert.equal(await page.locator("#message").isVisible(), false, "no error for a first visit");

  await page.fill("#register-email", email);
  await page.fill("#register-password", "correct horse");
  await page.click("#register button");
  await page.locator("#signed-in").waitFor();
  assert.equal(await page.textContent("#user-email"), email);
  assert.match(await page.textContent("#how"), /Account created/);
  assert.match(await page.textContent("#expires"), /in 23 h 59 min|in 24 h 0 min/);
  const token = await storedToken(page);
  assert.ok(token, "the token is in localStorage under feathers-jwt");

  await page.reload();
  await page.locator("#signed-in").waitFor();
  assert.match(await page.textContent("#how"), /Still signed in/);
  assert.equal(await page.textContent("#user-email"), email);
  await page.screenshot({ path: path.join(artifacts, "demo-signed-in.png") });

  await page.click("#logout");
  await page.locator("#signed-out").waitFor();
  assert.match(await page.textContent("#message"), /signed out/);
  assert.equal(await storedToken(page), null, "logout cleared storage");
  const check = await call(`${env.worker.url}/api/check`, { method: "GET", headers: { authorization: `Bearer ${token}` } });
  assert.equal(check.status, 401, "the old token is dead on the server too");

  await page.reload();
  await page.locator("#signed-out").waitFor();

  await page.fill("#login-email", email);
  await page.fill("#login-password", "wrong password");
  await page.click("#login button");
  await page.locator("#message.error").waitFor();
  assert.match(await page.textContent("#message"), /do not match an account/);

  await page.fill("#register-email", email);
  await page.fill("#register-password", "another one");
  await page.click("#register button");
  await page.waitForFunction(() => /already exists/.test(document.getElementById("message").textContent));
  await page.screenshot({ path: path.join(artifacts, "demo-error.png") });

  await page.fill("#login-email", email);
  await page.fill("#login-password", "correct horse");
  await page.click("#login button");
  await page.locator("#signed-in").waitFor();
  assert.match(await page.textContent("#how"), /Signed in with email and password/);
  assert.deepEqual(problems, []);
  await page.close();
});

test("the package from /pkg/: concurrent reAuthenticate calls share one request", async () => {
  const { page } = await openPage();
  await page.locator("#signed-out, #signed-in").first().waitFor();
  let posts = 0;
  page.on("request", (r) => r.method() === "POST" && r.url().endsWith("/authentication") && posts++);
  const outcome = await page.evaluate(async (email) => {
    const { default: init, AuthClient } = await import("/pkg/portcullis_client.js");
    await init();
    const auth = new AuthClient({ baseUrl: location.origin, storageKey: "concurrency-test" });
    await auth.authenticate({ strategy: "local", email, password: "correct horse" });
    const results = await Promise.all([auth.reAuthenticate(), auth.reAuthenticate(), auth.reAuthenticate()]);
    return { tokens: results.map((r) => r.accessToken), stored: auth.accessToken };
  }, email);
  assert.equal(posts, 2, "one POST to sign in, one shared by three reAuthenticate calls");
  assert.equal(new Set(outcome.tokens).size, 1);
  assert.equal(outcome.tokens[0], outcome.stored);
  const wrong = await page.evaluate(async (email) => {
    const { AuthClient } = await import("/pkg/portcullis_client.js");
    return new AuthClient({ baseUrl: location.origin, storage: "memory" })
      .authenticate({ strategy: "local", email, password: "nope" })
      .catch((e) => ({ isError: e instanceof Error, name: e.name, code: e.code, message: e.message }));
  }, email);
  assert.deepEqual(wrong, { isError: true, name: "NotAuthenticated", code: 401, message: "Invalid login" });
  await page.close();
});
