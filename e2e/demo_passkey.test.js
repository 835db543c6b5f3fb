// The demo page's passkeys in headless Chromium with a virtual authenticator (DevTools
// protocol WebAuthn.addVirtualAuthenticator: ctap2, a resident key, user verification): a person
// creates an account with a password, adds a passkey, signs out, and signs in with the passkey
// alone, through the portcullis-client package's registerPasskey and signInWithPasskey against
// the Feathers passkey services. WebAuthn needs a secure context and a domain for the relying
// party, so the page is at http://localhost:5173, where Playwright's routing hands every
// request to the worker (as a deployment behind one host does). And a security key as the
// second factor: an account whose key was registered through GoTrue's MFA API signs in on the
// demo page with its password, then the key (authenticateWithSecurityKey).
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { mkdirSync } from "node:fs";
import { useWorker, root } from "./harness.js";

const ORIGIN = "http://localhost:5173";
const artifacts = path.join(root, "e2e/artifacts");
const env = useWorker({
  browser: true,
  vars: {
    PASSKEY_ENABLED: "true",
    WEBAUTHN_RP_ID: "localhost",
    WEBAUTHN_RP_ORIGINS: ORIGIN,
    WEBAUTHN_RP_DISPLAY_NAME: "Portcullis demo",
    MFA_WEB_AUTHN_ENROLL_ENABLED: "true",
    MFA_WEB_AUTHN_VERIFY_ENABLED: "true",
    MAILER_AUTOCONFIRM: "true",
  },
});

async function openPage() {
  const context = await env.browser.newContext({ viewport: { width: 900, height: 720 } });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && problems.push(m.text()));
  await page.route(`${ORIGIN}/**`, async (route) => {
    const url = new URL(route.request().url());
    route.fulfill({ response: await route.fetch({ url: `${env.worker.url}${url.pathname}${url.search}` }) });
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  await page.goto(`${ORIGIN}/`);
  return { context, page, cdp, authenticatorId, problems };
}

test("create an account, add a passkey, sign out, and sign in with the passkey alone", async () => {
  mkdirSync(artifacts, { recursive: true });
  const { context, page, cdp, authenticatorId, problems } = await openPage();
  const email = `demo-passkey-${Date.now() % 1e7}@example.com`;
  await page.locator("#signed-out").waitFor();
  assert.equal(await page.locator("#passkey-signin").isVisible(), true);

  await page.fill("#register-email", email);
  await page.fill("#register-password", "correct horse");
  await page.click("#register button");
  await page.locator("#signed-in").waitFor();
  const passwordSession = await page.textContent("#session-id");

  await page.click("#add-passkey");
  await page.locator("#message", { hasText: "Passkey added" }).waitFor();
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  assert.equal(credentials.length, 1, "the authenticator holds the new passkey");
  assert.equal(credentials[0].isResidentCredential, true);
  // The same device again: the server's excludeCredentials makes the browser refuse it.
  await page.click("#add-passkey");
  await page.locator("#message", { hasText: "already holds a passkey" }).waitFor();

  await page.click("#logout");
  await page.locator("#signed-out").waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem("feathers-jwt")), null);

  await page.click("#passkey-signin");
  await page.locator("#signed-in").waitFor();
  assert.equal(await page.textContent("#user-email"), email);
  assert.match(await page.textContent("#how"), /passkey/);
  assert.notEqual(await page.textContent("#session-id"), passwordSession, "a new session");
  await page.screenshot({ path: path.join(artifacts, "demo-passkey.png") });

  // The stored token is the passkey session's: two factors in one gesture.
  const token = await page.evaluate(() => localStorage.getItem("feathers-jwt"));
  const check = await fetch(`${env.worker.url}/api/check`, { headers: { authorization: `Bearer ${token}` } });
  const body = await check.json();
  assert.equal(check.status, 200, JSON.stringify(body));
  assert.equal(body.aal, "aal2");
  assert.equal(body.amr[0].method, "passkey");

  // A reload keeps it, as for a password sign-in.
  await page.reload();
  await page.locator("#signed-in").waitFor();
  assert.match(await page.textContent("#how"), /Still signed in/);
  assert.deepEqual(problems, []);
  await context.close();
});

test("sign in with a password and a security key as the second factor", async () => {
  const { context, page, problems } = await openPage();
  const email = `demo-key-${Date.now() % 1e7}@example.com`;
  // The key is registered through GoTrue's MFA API from the same origin, as an app using
  // auth-js's mfa.webauthn.register would.
  const registered = await page.evaluate(async (email) => {
    const post = async (path, body, token) => {
      const headers = { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) };
      const res = await fetch(`/auth/v1${path}`, { method: "POST", headers, body: JSON.stringify(body) });
      return res.json();
    };
    const session = await post("/signup", { email, password: "correct horse" });
    const token = session.access_token;
    const factor = await post("/factors", { factor_type: "webauthn", friendly_name: "desk key" }, token);
    const challenge = await post(`/factors/${factor.id}/challenge`, {}, token);
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(challenge.webauthn.credential_options.publicKey);
    const credential = await navigator.credentials.create({ publicKey });
    const verified = await post(`/factors/${factor.id}/verify`, { challenge_id: challenge.id, webauthn: { type: "create", credential_response: credential.toJSON() } }, token);
    return verified.access_token ? null : JSON.stringify(verified);
  }, email);
  assert.equal(registered, null);

  await page.fill("#login-email", email);
  await page.fill("#login-password", "correct horse");
  await page.click("#login button");
  await page.locator("#second-step").waitFor();
  assert.equal(await page.locator("#second-step-key").isVisible(), true);
  assert.equal(await page.locator("#second-step-code").isVisible(), false, "no app code to ask for");
  await page.click("#second-step-key");
  await page.locator("#signed-in").waitFor();
  assert.equal(await page.textContent("#user-email"), email);
  assert.match(await page.textContent("#how"), /security key/);
  await page.screenshot({ path: path.join(artifacts, "demo-security-key.png") });

  const token = await page.evaluate(() => localStorage.getItem("feathers-jwt"));
  const check = await fetch(`${env.worker.url}/api/check?aal=aal2`, { headers: { authorization: `Bearer ${token}` } });
  const body = await check.json();
  assert.equal(check.status, 200, JSON.stringify(body));
  assert.equal(body.amr[0].method, "mfa/webauthn");
  assert.deepEqual(problems, []);
  await context.close();
});
