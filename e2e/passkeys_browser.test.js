// Passkeys in a real browser through GoTrue's API: auth-js (bundled with esbuild, unchanged,
// `experimental: { passkey: true }`) runs in headless Chromium on a page at
// http://localhost:5173 (served by Playwright's routing, a secure context; /auth/v1/* goes on
// to the worker), as e2e/webauthn_browser.test.js does, with Chromium's virtual authenticator
// (DevTools protocol WebAuthn.addVirtualAuthenticator) holding the passkey.
// `registerPasskey()` from a password session, then `signInWithPasskey()` in a fresh signed-out
// client gives an aal2 session whose method is `passkey`; the same passkey on an authenticator
// that cannot verify its user signs nobody in.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { useWorker } from "./harness.js";
import { ORIGIN, bundle, openAppPage } from "./app_page.js";

const env = useWorker({
  browser: true,
  vars: {
    MAILER_AUTOCONFIRM: "true",
    PASSKEY_ENABLED: "true",
    WEBAUTHN_RP_ID: "localhost",
    WEBAUTHN_RP_ORIGINS: ORIGIN,
  },
});

let script;
before(async () => {
  script = await bundle(['export { GoTrueClient } from "@supabase/auth-js";']);
});

/** The passkey authenticator the task names: a platform-like key that verifies its user. */
const VERIFYING = { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true };

/** A page at ORIGIN with auth-js loaded and a virtual authenticator with `options` attached. */
function openPage(options = VERIFYING) {
  return openAppPage({ browser: env.browser, workerUrl: env.worker.url, script, options });
}

/** The claims of a JWT, unchecked (the worker checked it). */
function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
}

/** Signs up `email` with a password and registers a passkey through auth-js on `page`. */
async function signUpWithPasskey(page, email) {
  return page.evaluate(async ({ url, email }) => {
    const memory = () => {
      const store = new Map();
      return { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v), removeItem: (k) => store.delete(k) };
    };
    const client = () => new AuthJs.GoTrueClient({ url: `${url}/auth/v1`, autoRefreshToken: false, persistSession: true, storage: memory(), experimental: { passkey: true } });
    const out = {};
    const auth = client();
    out.signUp = (await auth.signUp({ email, password: "a password for passkeys" })).error?.message ?? null;
    const reg = await auth.registerPasskey();
    out.register = reg.error ? `${reg.error.name}: ${reg.error.message}` : null;
    out.registered = reg.data;
    await auth.signOut();
    // A fresh client with nothing stored: the passkey alone signs in.
    const fresh = client();
    out.before = (await fresh.getSession()).data.session;
    const signIn = await fresh.signInWithPasskey();
    out.signIn = signIn.error ? `${signIn.error.name}: ${signIn.error.message}` : null;
    const session = (await fresh.getSession()).data.session;
    out.token = session?.access_token ?? null;
    out.email = session?.user?.email ?? null;
    out.aal = (await fresh.mfa.getAuthenticatorAssuranceLevel()).data;
    const list = await fresh.passkey.list();
    out.list = list.data;
    out.listError = list.error?.message ?? null;
    return out;
  }, { url: ORIGIN, email });
}

test("auth-js registers a passkey in Chromium and a fresh client signs in with it at aal2", async () => {
  const { context, page, cdp, authenticatorId } = await openPage();
  const email = `passkey-${Date.now() % 1e7}@example.com`;
  const r = await signUpWithPasskey(page, email);

  assert.equal(r.signUp, null);
  assert.equal(r.register, null, "registerPasskey");
  assert.equal(r.registered.friendly_name, "Passkey");
  assert.equal(r.before, null, "the fresh client starts signed out");
  assert.equal(r.signIn, null, "signInWithPasskey");
  assert.equal(r.email, email);
  const c = claims(r.token);
  assert.equal(c.aal, "aal2");
  assert.equal(c.amr[0].method, "passkey");
  assert.equal(r.aal.currentLevel, "aal2");
  assert.equal(r.listError, null);
  assert.deepEqual(r.list.map((p) => [p.id, p.friendly_name]), [[r.registered.id, "Passkey"]]);
  assert.ok(r.list[0].last_used_at, "the sign-in is recorded on the passkey");
  // The worker holds the same token's session as live, at aal2.
  const check = await fetch(`${env.worker.url}/api/check?aal=aal2`, { headers: { authorization: `Bearer ${r.token}` } });
  assert.equal(check.status, 200);
  // The authenticator made one discoverable credential for this account.
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  assert.equal(credentials.length, 1);
  assert.equal(credentials[0].isResidentCredential, true);
  await context.close();
});

test("the same passkey on an authenticator that cannot verify its user signs nobody in", async () => {
  // Register on a verifying authenticator, then copy the credential (its private key too) to
  // one without user verification: a stolen key without the user's PIN or biometric.
  const first = await openPage();
  const email = `passkey-nouv-${Date.now() % 1e7}@example.com`;
  const r = await signUpWithPasskey(first.page, email);
  assert.equal(r.register, null, "registerPasskey");
  const { credentials } = await first.cdp.send("WebAuthn.getCredentials", { authenticatorId: first.authenticatorId });
  await first.context.close();

  const { context, page, cdp, authenticatorId } = await openPage({ ...VERIFYING, hasUserVerification: false, isUserVerified: false });
  const [cred] = credentials;
  await cdp.send("WebAuthn.addCredential", {
    authenticatorId,
    credential: { credentialId: cred.credentialId, isResidentCredential: true, rpId: cred.rpId, privateKey: cred.privateKey, userHandle: cred.userHandle, signCount: cred.signCount },
  });
  const result = await page.evaluate(async ({ url, credentialId }) => {
    const b64url = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
    const post = async (path, body) => {
      const res = await fetch(`${url}/auth/v1${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-supabase-api-version": "2024-01-01" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    };
    const { body: opts } = await post("/passkeys/authentication/options", {});
    // A client that asks the authenticator not to verify the user (the worker asked for it),
    // naming the credential: Chromium refuses a discoverable request (no allowCredentials) on
    // an authenticator that cannot verify the user, before the worker could see anything.
    const assertion = await navigator.credentials.get({
      publicKey: {
        challenge: bytes(opts.options.challenge),
        rpId: opts.options.rpId,
        allowCredentials: [{ type: "public-key", id: bytes(credentialId) }],
        userVerification: "discouraged",
        timeout: 10000,
      },
    });
    const flags = new Uint8Array(assertion.response.authenticatorData)[32];
    const credential = {
      id: assertion.id,
      rawId: b64url(assertion.rawId),
      type: assertion.type,
      response: {
        clientDataJSON: b64url(assertion.response.clientDataJSON),
        authenticatorData: b64url(assertion.response.authenticatorData),
        signature: b64url(assertion.response.signature),
        userHandle: b64url(assertion.response.userHandle),
      },
      clientExtensionResults: {},
    };
    const verify = await post("/passkeys/authentication/verify", { challenge_id: opts.challenge_id, credential });
    return { userVerified: (flags & 0x04) !== 0, userPresent: (flags & 0x01) !== 0, verify };
  }, { url: ORIGIN, credentialId: Buffer.from(cred.credentialId, "base64").toString("base64url") });
  assert.equal(result.userPresent, true);
  assert.equal(result.userVerified, false, "the authenticator did not verify the user");
  assert.equal(result.verify.status, 400, JSON.stringify(result.verify.body));
  assert.equal(result.verify.body.code, "webauthn_verification_failed");
  assert.equal(result.verify.body.access_token, undefined);
  await context.close();
});
