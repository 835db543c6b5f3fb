// Signing in through identity providers, end to end with the real parts: the built worker in
// workerd with D1, oidc-provider (an OpenID-certified provider) configured as the `keycloak`
// preset and driven through its own login and consent pages in Chromium, a GitHub-shaped
// OAuth server, and @supabase/auth-js unchanged: `signInWithIdToken` with a token the provider
// issued, `signInWithOAuth` with PKCE to `exchangeCodeForSession`, the implicit flow's
// fragment, and the attacks: forged and replayed state, a target outside the allow-list,
// tokens for another client, from another key or with another nonce, and a provider account
// that claims an address it has not verified.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import { GoTrueClient } from "@supabase/auth-js";
import { startWorker, launchChromium, memoryStorage, call, root } from "./harness.js";
import { bundle } from "./app_page.js";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { startOidcProvider, startGithubLike, loginInBrowser, forgeIdToken, PORTCULLIS_CLIENT, PORTCULLIS_GITHUB_APP } from "./identity_providers.js";

// The app: a page on the loopback (where Chromium may go from the worker's redirect), which
// URI_ALLOW_LIST names by glob.
let APP;
let app;
let feathersBundle;
const OTHER_CLIENT = { client_id: "someone-elses-app", client_secret: "another-secret", redirect_uris: ["http://127.0.0.1/cb"], token_endpoint_auth_method: "client_secret_post" };
let idp, gh, worker, browser;

before(async () => {
  feathersBundle = await bundle([
    'export { feathers } from "@feathersjs/feathers";',
    'export { default as rest } from "@feathersjs/rest-client";',
    'export { default as authentication } from "@feathersjs/authentication-client";',
  ]);
  // The app's site: any page is the app's (a title only), /pkg/ the browser client as the
  // package ships it, /feathers.js Feathers' own client bundled.
  app = http.createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path.startsWith("/pkg/")) {
      const file = join(root, "public", path);
      const type = file.endsWith(".wasm") ? "application/wasm" : "text/javascript";
      return readFile(file).then((b) => res.writeHead(200, { "content-type": type }).end(b), () => res.writeHead(404).end());
    }
    if (path === "/feathers.js") return res.writeHead(200, { "content-type": "text/javascript" }).end(feathersBundle);
    res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>app</title>");
  });
  await new Promise((resolve) => app.listen(0, "127.0.0.1", resolve));
  APP = `http://localhost:${app.address().port}`;
  idp = await startOidcProvider({
    clients: [PORTCULLIS_CLIENT, OTHER_CLIENT],
    accounts: {
      alice: { email: "alice@example.com", email_verified: true, name: "Alice Example" },
      // Claims Bob's address without having verified it.
      mallory: { email: "bob@example.com", email_verified: false, name: "Not Bob" },
      // Carol: a verified address no account has yet.
      carol: { email: "carol@example.com", email_verified: true, name: "Carol" },
    },
  });
  gh = await startGithubLike();
  worker = await startWorker({
    vars: {
      MAILER_AUTOCONFIRM: "true",
      SECURITY_MANUAL_LINKING_ENABLED: "true",
      // Feathers' redirects go back to the site, where the app's pages are.
      SITE_URL: APP,
      URI_ALLOW_LIST: `${APP}/**`,
      EXTERNAL_KEYCLOAK_ENABLED: "true",
      EXTERNAL_KEYCLOAK_URL: idp.issuer,
      EXTERNAL_KEYCLOAK_CLIENT_ID: PORTCULLIS_CLIENT.client_id,
      EXTERNAL_KEYCLOAK_SECRET: PORTCULLIS_CLIENT.client_secret,
      EXTERNAL_GITHUB_ENABLED: "true",
      EXTERNAL_GITHUB_URL: gh.url,
      EXTERNAL_GITHUB_CLIENT_ID: PORTCULLIS_GITHUB_APP.client_id,
      EXTERNAL_GITHUB_SECRET: PORTCULLIS_GITHUB_APP.client_secret,
    },
  });
  await idp.setClient({ ...PORTCULLIS_CLIENT, redirect_uris: [`${worker.url}/callback`] });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await worker?.stop();
  await gh?.stop();
  await idp?.stop();
  app?.closeAllConnections();
  await new Promise((resolve) => (app ? app.close(resolve) : resolve()));
});

function client(flowType = "implicit") {
  return new GoTrueClient({ url: `${worker.url}/auth/v1`, flowType, storage: memoryStorage(), persistSession: true, autoRefreshToken: false, detectSessionInUrl: false });
}

const sha256hex = (s) => createHash("sha256").update(s).digest("hex");
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url"));

/** Opens `url` in Chromium, signs in at the provider's pages as `sub` when they show, and
 * returns the URL the browser was finally sent to on the app's origin (fragment included). */
async function inBrowser(url, sub) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const atApp = (u) => u.origin === APP;
  await page.goto(url);
  if (!atApp(new URL(page.url())) && sub) await loginInBrowser(page, { sub });
  await page.waitForURL(atApp);
  const landed = new URL(page.url());
  await context.close();
  return landed;
}

test("signInWithIdToken: a token the provider issued signs in, with its nonce", async () => {
  const raw = randomBytes(16).toString("hex");
  const { id_token } = await idp.idTokenFor({ sub: "alice", nonce: sha256hex(raw) });
  const auth = client();
  const { data, error } = await auth.signInWithIdToken({ provider: "keycloak", token: id_token, nonce: raw });
  assert.equal(error, null, error?.message);
  assert.equal(data.user.email, "alice@example.com");
  assert.equal(data.user.identities.at(-1).provider, "keycloak");
  assert.equal(claimsOf(data.session.access_token).amr[0].method, "oauth");
  const check = await call(`${worker.url}/api/check`, { method: "GET", headers: { authorization: `Bearer ${data.session.access_token}` } });
  assert.equal(check.status, 200);
  // The same person again is the same account.
  const again = await idp.idTokenFor({ sub: "alice", nonce: sha256hex("second") });
  const second = await client().signInWithIdToken({ provider: "keycloak", token: again.id_token, nonce: "second" });
  assert.equal(second.data.user.id, data.user.id);
});

test("signInWithIdToken refuses another client's token, another key's and another nonce", async () => {
  const raw = "the-nonce";
  const refused = async (token, nonce = raw) => (await client().signInWithIdToken({ provider: "keycloak", token, nonce })).error?.message;
  const others = await idp.idTokenFor({ sub: "alice", nonce: sha256hex(raw), clientId: OTHER_CLIENT.client_id });
  assert.match(await refused(others.id_token), /Unacceptable audience in id_token: \[someone-elses-app\]/);
  const kid = idp.jwks.keys[0].kid;
  const forged = await forgeIdToken({ iss: idp.issuer, aud: PORTCULLIS_CLIENT.client_id, sub: "alice", email: "alice@example.com", email_verified: true, nonce: sha256hex(raw) }, { kid });
  assert.equal(await refused(forged), "Bad ID token");
  const hs = await forgeIdToken({ iss: idp.issuer, aud: PORTCULLIS_CLIENT.client_id, sub: "alice", nonce: sha256hex(raw) }, { alg: "HS256", secret: PORTCULLIS_CLIENT.client_secret });
  assert.equal(await refused(hs), "Bad ID token");
  const good = await idp.idTokenFor({ sub: "alice", nonce: sha256hex(raw) });
  assert.equal(await refused(good.id_token, "another nonce"), "Nonces mismatch");
});

test("a provider account that claims an address it has not verified joins nothing", async () => {
  const bob = await client().signUp({ email: "bob@example.com", password: "bobs password 1" });
  assert.equal(bob.error, null);
  const { id_token } = await idp.idTokenFor({ sub: "mallory", nonce: sha256hex("m") });
  const { data, error } = await client().signInWithIdToken({ provider: "keycloak", token: id_token, nonce: "m" });
  assert.equal(error, null, error?.message);
  assert.notEqual(data.user.id, bob.data.user.id);
  assert.equal(data.user.email, "");
  const stillBob = await client().signInWithPassword({ email: "bob@example.com", password: "bobs password 1" });
  assert.equal(stillBob.data.user.id, bob.data.user.id);
});

test("signInWithOAuth with PKCE through the provider's pages in Chromium, then exchangeCodeForSession", async () => {
  const auth = client("pkce");
  const { data } = await auth.signInWithOAuth({ provider: "keycloak", options: { redirectTo: `${APP}/welcome`, skipBrowserRedirect: true } });
  const back = await inBrowser(data.url, "carol");
  assert.equal(back.origin + back.pathname, `${APP}/welcome`);
  const code = back.searchParams.get("code");
  assert.ok(code && !back.hash, `${back}`);
  const { data: session, error } = await auth.exchangeCodeForSession(code);
  assert.equal(error, null, error?.message);
  assert.equal(session.user.email, "carol@example.com");
  assert.equal(session.user.app_metadata.provider, "keycloak");
  // The code is good once.
  const again = await call(`${worker.url}/auth/v1/token?grant_type=pkce`, { body: { auth_code: code, code_verifier: "x".repeat(43) } });
  assert.equal(again.status, 404);
});

test("the implicit flow with GitHub: the session and provider_token in the fragment", async () => {
  const auth = client("implicit");
  const { data } = await auth.signInWithOAuth({ provider: "github", options: { redirectTo: `${APP}/gh`, skipBrowserRedirect: true } });
  const back = await inBrowser(data.url);
  const fragment = new URLSearchParams(back.hash.slice(1));
  assert.ok(fragment.get("access_token"), `${back}`);
  assert.ok(fragment.get("provider_token"));
  const { data: set, error } = await auth.setSession({ access_token: fragment.get("access_token"), refresh_token: fragment.get("refresh_token") });
  assert.equal(error, null, error?.message);
  assert.equal(set.user.email, "octocat@example.com");
  // An account GitHub made says so in its token, as upstream's.
  assert.deepEqual(claimsOf(fragment.get("access_token")).app_metadata, { provider: "github", providers: ["github"] });
  const user = await auth.getUser();
  assert.equal(user.data.user.identities.find((i) => i.provider === "github").identity_data.user_name, "octocat");
});

test("a forged or replayed state finishes nothing, and a foreign redirect_to falls back to the site", async () => {
  // Through the whole flow once, capturing the callback URL the provider sent the browser to.
  const start = await call(`${worker.url}/authorize?provider=github&redirect_to=${encodeURIComponent("https://evil.example.com/steal")}`, { method: "GET" });
  assert.equal(start.status, 302);
  const toProvider = await call(start.headers.get("location"), { method: "GET" });
  const callback = toProvider.headers.get("location");
  const first = await call(callback, { method: "GET" });
  assert.equal(first.status, 302);
  assert.ok(first.headers.get("location").startsWith(`${APP}#`), `to the site, not to evil.example.com: ${first.headers.get("location")}`);
  const replay = await call(callback, { method: "GET" });
  assert.equal(replay.status, 303);
  assert.equal(new URL(replay.headers.get("location")).searchParams.get("error_code"), "bad_oauth_state");
  const forged = await call(`${worker.url}/callback?code=x&state=${crypto.randomUUID()}`, { method: "GET" });
  assert.equal(new URL(forged.headers.get("location")).searchParams.get("error_code"), "bad_oauth_state");
});

/** GitHub's implicit flow without a browser: where the callback sends it, and what it says. */
async function githubFlow() {
  const start = await call(`${worker.url}/authorize?provider=github&redirect_to=${encodeURIComponent(`${APP}/gh`)}`, { method: "GET" });
  const toProvider = await call(start.headers.get("location"), { method: "GET" });
  const back = await call(toProvider.headers.get("location"), { method: "GET" });
  assert.ok(back.status === 302 || back.status === 303, `a redirect, not ${back.status}`);
  const landed = new URL(back.headers.get("location"));
  assert.equal(landed.origin + landed.pathname, `${APP}/gh`);
  return new URLSearchParams(landed.search || landed.hash.slice(1));
}

test("a provider's reply of 60 KiB is read whole; one without end costs the worker 64 KiB, and the sign-in fails cleanly", async () => {
  gh.setUserBodyBytes(60 * 1024);
  try {
    const fine = await githubFlow();
    assert.ok(fine.get("access_token"), `signed in: ${fine}`);
    assert.equal(gh.streamed.finished, true);
    gh.setUserBodyBytes(512 * 1024 * 1024);
    const said = await githubFlow();
    assert.ok(said.get("error"), `an error at redirect_to: ${said}`);
    assert.equal(said.get("access_token"), null);
    // The worker stopped reading at its limit and hung up: the provider never got far.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(gh.streamed.finished, false);
    assert.ok(gh.streamed.written < 32 * 1024 * 1024, `the provider wrote ${gh.streamed.written} bytes before the worker hung up`);
  } finally {
    gh.setUserBodyBytes(0);
  }
});

test("Feathers' own client picks up the token /oauth/:provider's redirect leaves in the fragment", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${APP}/start`);
  await page.goto(`${worker.url}/oauth/keycloak?redirect=${encodeURIComponent("/feathers-app")}`);
  await loginInBrowser(page, { sub: "alice" });
  await page.waitForURL((u) => u.origin === APP && u.pathname === "/feathers-app");
  assert.match(page.url(), /#access_token=/);
  await page.addScriptTag({ url: "/feathers.js" });
  const user = await page.evaluate(async (url) => {
    const app = AuthJs.feathers();
    app.configure(AuthJs.rest(url).fetch(window.fetch.bind(window)));
    app.configure(AuthJs.authentication());
    const result = await app.reAuthenticate();
    return { email: result.user.email, strategy: result.authentication.strategy, hash: location.hash, stored: !!localStorage.getItem("feathers-jwt") };
  }, worker.url);
  assert.deepEqual(user, { email: "alice@example.com", strategy: "jwt", hash: "", stored: true });
  await context.close();
});

test("the browser client's signInWith goes through the provider and reAuthenticate completes it", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const load = (p) => p.evaluate(async (url) => {
    const { default: init, AuthClient } = await import("/pkg/portcullis_client.js");
    await init();
    window.auth = new AuthClient({ baseUrl: url });
  }, worker.url);
  await page.goto(`${APP}/login`);
  await load(page);
  await page.evaluate(() => window.auth.signInWith("keycloak", { redirect: "/after-login?tab=1" }));
  await page.waitForURL((u) => u.origin !== APP);
  await loginInBrowser(page, { sub: "carol" });
  await page.waitForURL((u) => u.origin === APP && u.pathname === "/after-login");
  await load(page);
  const done = await page.evaluate(async () => {
    const r = await window.auth.reAuthenticate();
    return { email: r.user.email, search: location.search, hash: location.hash, stored: window.auth.accessToken === r.accessToken };
  });
  assert.deepEqual(done, { email: "carol@example.com", search: "?tab=1", hash: "", stored: true });
  // A refused sign-in comes back as an OauthError (signInWith forgets the stored token before
  // it leaves, so the fragment counts; a stored token would win over it, as in Feathers' client).
  await page.evaluate(() => localStorage.clear());
  await page.goto(`${APP}/after-login#error=Signups%20not%20allowed%20for%20this%20instance`);
  await load(page);
  const refused = await page.evaluate(() => window.auth.reAuthenticate().then(() => null, (e) => ({ name: e.name, code: e.code, message: e.message })));
  assert.deepEqual(refused, { name: "OauthError", code: 401, message: "Signups not allowed for this instance" });
  await context.close();
});

test("linkIdentity and unlinkIdentity: GitHub added to a password account, removed, never the last", async () => {
  const auth = client("implicit");
  const { data: signed, error: signUpError } = await auth.signUp({ email: "dana@example.com", password: "danas password 1" });
  assert.equal(signUpError, null, signUpError?.message);
  gh.setUser("dana", { id: 777001, name: "Dana", email: "dana@elsewhere.example.com", emails: [{ email: "dana@elsewhere.example.com", primary: true, verified: true, visibility: "public" }] });
  gh.setNextUser("dana");
  const { data, error } = await auth.linkIdentity({ provider: "github", options: { redirectTo: `${APP}/linked`, skipBrowserRedirect: true } });
  assert.equal(error, null, error?.message);
  const back = await inBrowser(data.url);
  gh.setNextUser("octocat");
  const fragment = new URLSearchParams(back.hash.slice(1));
  assert.ok(fragment.get("access_token"), `${back}`);
  const { data: me } = await auth.getUser();
  assert.equal(me.user.id, signed.user.id);
  assert.deepEqual(me.user.identities.map((i) => i.provider), ["email", "github"]);
  // Every later token names GitHub too, as upstream's app_metadata does: what a refreshed
  // session's user and its JWT (which row-level security policies read) say.
  const providersNow = async () => {
    const { data: refreshed, error: refreshError } = await auth.refreshSession();
    assert.equal(refreshError, null, refreshError?.message);
    assert.deepEqual(claimsOf(refreshed.session.access_token).app_metadata, refreshed.user.app_metadata);
    return refreshed.user.app_metadata;
  };
  assert.deepEqual(await providersNow(), { provider: "email", providers: ["email", "github"] });
  const { data: listed } = await auth.getUserIdentities();
  const github = listed.identities.find((i) => i.provider === "github");
  assert.equal((await auth.unlinkIdentity(github)).error, null);
  assert.deepEqual(await providersNow(), { provider: "email", providers: ["email"] });
  const email = listed.identities.find((i) => i.provider === "email");
  const last = await auth.unlinkIdentity(email);
  assert.equal(last.error?.code, "single_identity_not_deletable");
});
