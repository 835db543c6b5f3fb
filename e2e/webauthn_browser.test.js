// WebAuthn factors in a real browser: auth-js (bundled with esbuild, unchanged) runs in
// headless Chromium on a page at upstream's test origin (http://localhost:5173, served by
// Playwright's routing, so it is a secure context without a server of its own, passing
// /auth/v1/* on to the worker), with Chromium's virtual
// authenticator (DevTools protocol WebAuthn.addVirtualAuthenticator) as the security key.
// `mfa.webauthn.register` enrolls, challenges and verifies; a second sign-in reaches aal2 with
// `mfa.webauthn.authenticate`; the worker refuses an assertion from another origin; and
// graphql-request completes a `tokenAuth` of the same kind of account with the key
// (`webauthnChallenge`, then `webauthnAuth` with what Chromium signed), and Feathers' client
// in the page a `local` sign-in (`second-factor-challenges`, then the `webauthn` strategy).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { GraphQLClient, ClientError, gql } from "graphql-request";
import { useWorker } from "./harness.js";
import { ORIGIN, bundle, openAppPage } from "./app_page.js";

const env = useWorker({
  browser: true,
  vars: {
    MAILER_AUTOCONFIRM: "true",
    MFA_WEB_AUTHN_ENROLL_ENABLED: "true",
    MFA_WEB_AUTHN_VERIFY_ENABLED: "true",
    WEBAUTHN_RP_ID: "localhost",
    WEBAUTHN_RP_ORIGINS: ORIGIN,
  },
});

let script;
before(async () => {
  script = await bundle([
    'export { GoTrueClient } from "@supabase/auth-js";',
    'export { feathers } from "@feathersjs/feathers";',
    'export { default as rest } from "@feathersjs/rest-client";',
    'export { default as authentication } from "@feathersjs/authentication-client";',
  ]);
});

/** A security key: ctap2 over USB, resident keys, a user it verifies. */
const KEY = { protocol: "ctap2", transport: "usb", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true };

/** A page at ORIGIN with auth-js and Feathers' client loaded and a virtual security key. */
function openPage() {
  const proxied = ["/authentication", "/second-factor-challenges"];
  return openAppPage({ browser: env.browser, workerUrl: env.worker.url, script, proxied, options: KEY });
}

test("auth-js's mfa.webauthn.register and authenticate in Chromium with a virtual security key", async () => {
  const { context, page, cdp, authenticatorId } = await openPage();
  const email = `webauthn-${Date.now() % 1e7}@example.com`;
  const result = await page.evaluate(async ({ url, email }) => {
    const store = new Map();
    const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v), removeItem: (k) => store.delete(k) };
    const auth = new AuthJs.GoTrueClient({ url: `${url}/auth/v1`, autoRefreshToken: false, persistSession: true, storage });
    const out = {};
    const signUp = await auth.signUp({ email, password: "a password for keys" });
    out.signUp = signUp.error?.message ?? null;
    const reg = await auth.mfa.webauthn.register({ friendlyName: "virtual key", webauthn: { rpId: "localhost", rpOrigins: [location.origin] } });
    out.register = reg.error ? `${reg.error.name}: ${reg.error.message}` : null;
    out.aalAfterRegister = (await auth.mfa.getAuthenticatorAssuranceLevel()).data;
    const factors = (await auth.mfa.listFactors()).data;
    out.webauthnFactors = factors.webauthn.length;
    const factorId = factors.all[0]?.id;
    await auth.signOut();
    const second = new AuthJs.GoTrueClient({ url: `${url}/auth/v1`, autoRefreshToken: false, persistSession: true, storage: { ...storage } });
    out.signIn = (await second.signInWithPassword({ email, password: "a password for keys" })).error?.message ?? null;
    out.aalBefore = (await second.mfa.getAuthenticatorAssuranceLevel()).data;
    const authn = await second.mfa.webauthn.authenticate({ factorId, webauthn: { rpId: "localhost", rpOrigins: [location.origin] } });
    out.authenticate = authn.error ? `${authn.error.name}: ${authn.error.message}` : null;
    out.aalAfter = (await second.mfa.getAuthenticatorAssuranceLevel()).data;
    out.token = (await second.getSession()).data.session?.access_token;
    return out;
  }, { url: ORIGIN, email });

  assert.equal(result.signUp, null);
  assert.equal(result.register, null, "register");
  assert.deepEqual([result.aalAfterRegister.currentLevel, result.aalAfterRegister.nextLevel], ["aal2", "aal2"]);
  assert.equal(result.webauthnFactors, 1);
  assert.equal(result.signIn, null);
  assert.deepEqual([result.aalBefore.currentLevel, result.aalBefore.nextLevel], ["aal1", "aal2"]);
  assert.equal(result.authenticate, null, "authenticate");
  assert.equal(result.aalAfter.currentLevel, "aal2");
  assert.equal(result.aalAfter.currentAuthenticationMethods[0].method, "mfa/webauthn");
  const check = await fetch(`${env.worker.url}/api/check?aal=aal2`, { headers: { authorization: `Bearer ${result.token}` } });
  assert.equal(check.status, 200);
  // The key signed twice: its counter moved on, and the worker kept it.
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  assert.equal(credentials.length, 1);
  assert.ok(credentials[0].signCount >= 2, `signCount ${credentials[0].signCount}`);
  await context.close();
});

test("an assertion made for another origin is refused", async () => {
  const { context, page } = await openPage();
  const email = `webauthn-phish-${Date.now() % 1e7}@example.com`;
  const result = await page.evaluate(async ({ url, email }) => {
    const store = new Map();
    const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v), removeItem: (k) => store.delete(k) };
    const auth = new AuthJs.GoTrueClient({ url: `${url}/auth/v1`, autoRefreshToken: false, persistSession: true, storage });
    await auth.signUp({ email, password: "a password for keys" });
    const { data } = await auth.mfa.enroll({ factorType: "webauthn", friendlyName: "key" });
    const challenge = await auth.mfa.challenge({ factorId: data.id, webauthn: { rpId: "localhost", rpOrigins: [location.origin] } });
    const credential = await navigator.credentials.create(challenge.data.webauthn.credential_options);
    const json = credential.toJSON();
    // What a phishing page would send: the client data names its own origin.
    const clientData = JSON.parse(atob(json.response.clientDataJSON.replace(/-/g, "+").replace(/_/g, "/")));
    clientData.origin = "https://evil.example";
    json.response.clientDataJSON = btoa(JSON.stringify(clientData)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const token = (await auth.getSession()).data.session.access_token;
    const res = await fetch(`${url}/auth/v1/factors/${data.id}/verify`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "x-supabase-api-version": "2024-01-01" },
      body: JSON.stringify({ challenge_id: challenge.data.id, webauthn: { type: "create", credential_response: json } }),
    });
    return { status: res.status, body: await res.json() };
  }, { url: ORIGIN, email });
  assert.equal(result.status, 422, JSON.stringify(result.body));
  assert.equal(result.body.code, "mfa_verification_failed");
  await context.close();
});

test("graphql-request completes a tokenAuth with the security key: webauthnChallenge, then webauthnAuth", async () => {
  const { context, page } = await openPage();
  const email = `webauthn-gql-${Date.now() % 1e7}@example.com`;
  const registered = await page.evaluate(async ({ url, email }) => {
    const store = new Map();
    const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v), removeItem: (k) => store.delete(k) };
    const auth = new AuthJs.GoTrueClient({ url: `${url}/auth/v1`, autoRefreshToken: false, persistSession: true, storage });
    await auth.signUp({ email, password: "a password for keys" });
    const reg = await auth.mfa.webauthn.register({ friendlyName: "virtual key", webauthn: { rpId: "localhost", rpOrigins: [location.origin] } });
    return reg.error?.message ?? null;
  }, { url: ORIGIN, email });
  assert.equal(registered, null);

  const client = new GraphQLClient(`${env.worker.url}/graphql`);
  const first = await client
    .request(gql`mutation ($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { token } }`, { u: email, p: "a password for keys" })
    .catch((e) => e);
  assert.ok(first instanceof ClientError, String(first));
  const { ticket, factors } = first.response.errors[0].extensions;
  assert.deepEqual(factors.map((f) => f.type), ["webauthn"]);
  const { webauthnChallenge } = await client.request(
    gql`mutation ($t: String!) { webauthnChallenge(ticket: $t) { challengeId publicKey expiresAt } }`,
    { t: ticket },
  );
  // The browser signs what the worker asked for, as an app's page would.
  const credential = await page.evaluate(async (publicKey) => {
    const options = PublicKeyCredential.parseRequestOptionsFromJSON(publicKey);
    const assertion = await navigator.credentials.get({ publicKey: options });
    return JSON.stringify(assertion.toJSON());
  }, webauthnChallenge.publicKey);
  const done = await client.request(
    gql`mutation ($t: String!, $c: String!, $k: String!) { webauthnAuth(ticket: $t, challengeId: $c, credential: $k) { token payload } }`,
    { t: ticket, c: webauthnChallenge.challengeId, k: credential },
  );
  const check = await fetch(`${env.worker.url}/api/check?aal=aal2`, { headers: { authorization: `JWT ${done.webauthnAuth.token}` } });
  const checked = await check.json();
  assert.equal(check.status, 200, JSON.stringify(checked));
  assert.equal(checked.amr[0].method, "mfa/webauthn");
  // The same assertion again: refused, the ticket is spent.
  const again = await client
    .request(gql`mutation ($t: String!, $c: String!, $k: String!) { webauthnAuth(ticket: $t, challengeId: $c, credential: $k) { token } }`, {
      t: ticket,
      c: webauthnChallenge.challengeId,
      k: credential,
    })
    .catch((e) => e);
  assert.ok(again instanceof ClientError, String(again));
  await context.close();
});

test("Feathers' client completes a local sign-in with the security key through the webauthn strategy", async () => {
  const { context, page } = await openPage();
  const email = `webauthn-feathers-${Date.now() % 1e7}@example.com`;
  const result = await page.evaluate(async ({ url, email }) => {
    const store = new Map();
    const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v), removeItem: (k) => store.delete(k) };
    const auth = new AuthJs.GoTrueClient({ url: `${url}/auth/v1`, autoRefreshToken: false, persistSession: true, storage });
    await auth.signUp({ email, password: "a password for keys" });
    const reg = await auth.mfa.webauthn.register({ friendlyName: "virtual key", webauthn: { rpId: "localhost", rpOrigins: [location.origin] } });
    if (reg.error) return { register: reg.error.message };

    const app = AuthJs.feathers();
    app.configure(AuthJs.rest(url).fetch(window.fetch.bind(window)));
    app.configure(AuthJs.authentication({ storage: { getItem: () => null, setItem: () => {}, removeItem: () => {} } }));
    const out = {};
    try {
      await app.authenticate({ strategy: "local", email, password: "a password for keys" });
      out.local = "signed in without the key";
    } catch (e) {
      out.local = { name: e.name, strategy: e.data?.strategy, types: e.data?.factors?.map((f) => f.type) };
      out.ticket = e.data?.ticket;
    }
    const challenge = await app.service("second-factor-challenges").create({ ticket: out.ticket });
    const assertion = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(challenge.publicKey) });
    const done = await app.authenticate({ strategy: "webauthn", ticket: out.ticket, challengeId: challenge.challengeId, credential: assertion.toJSON() });
    out.strategy = done.authentication.strategy;
    out.token = done.accessToken;
    out.user = done.user.email;
    return out;
  }, { url: ORIGIN, email });
  assert.equal(result.register, undefined, result.register);
  assert.deepEqual(result.local, { name: "NotAuthenticated", strategy: "webauthn", types: ["webauthn"] });
  assert.equal(result.strategy, "webauthn");
  assert.equal(result.user, email);
  const check = await fetch(`${env.worker.url}/api/check?aal=aal2`, { headers: { authorization: `Bearer ${result.token}` } });
  const checked = await check.json();
  assert.equal(check.status, 200, JSON.stringify(checked));
  assert.equal(checked.amr[0].method, "mfa/webauthn");
  await context.close();
});
