// The identity providers of e2e/identity_providers.js, tested on their own before a suite
// trusts them: jose as the relying party checks what oidc-provider issues (discovery, the
// id_token's signature and claims, a second client's audience, PKCE optional, a refresh token
// for offline_access), that a forged token does not verify, what the GitHub-like server
// answers, and, in headless Chromium, devInteractions' pages as `loginInBrowser` fills them.
// Every test stops the servers it starts.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { createHash } from "node:crypto";
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { launchChromium } from "./harness.js";
import {
  PORTCULLIS_CLIENT,
  PORTCULLIS_GITHUB_APP,
  forgeIdToken,
  loginInBrowser,
  pkcePair,
  startGithubLike,
  startOidcProvider,
} from "./identity_providers.js";

const ACCOUNTS = {
  alice: { email: "alice@example.com", email_verified: true, name: "Alice Example", preferred_username: "alice", picture: "https://example.com/alice.png" },
  mallory: { email: "victim@example.com", email_verified: false, name: "Mallory" },
};
const OTHER_CLIENT = {
  client_id: "another-app",
  client_secret: "another-app-secret",
  redirect_uris: ["http://127.0.0.1/another-callback"],
  token_endpoint_auth_method: "client_secret_basic",
};

/** A provider with ACCOUNTS (and `clients`), stopped when test `t` ends. */
async function provider(t, options = {}) {
  const op = await startOidcProvider({ accounts: ACCOUNTS, ...options });
  t.after(() => op.stop());
  return op;
}

/** jose's check of `idToken` against the keys the provider publishes at its jwks_uri. */
async function verify(op, idToken, audience = PORTCULLIS_CLIENT.client_id) {
  const discovery = await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json();
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
  return (await jwtVerify(idToken, jwks, { issuer: op.issuer, audience })).payload;
}

/** The lowercase hex SHA-256 of `raw`, as GoTrue's signInWithIdToken hashes the nonce. */
const sha256hex = (raw) => createHash("sha256").update(raw).digest("hex");

test("the discovery document names the issuer, its keys, the code flow and S256", async (t) => {
  const op = await provider(t);
  const res = await fetch(`${op.issuer}/.well-known/openid-configuration`);
  assert.equal(res.status, 200);
  const d = await res.json();
  assert.equal(d.issuer, op.issuer);
  assert.match(op.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(d.jwks_uri, `${op.issuer}/jwks`);
  assert.ok(d.response_types_supported.includes("code"));
  assert.deepEqual(d.code_challenge_methods_supported, ["S256"]);
  assert.ok(d.id_token_signing_alg_values_supported.includes("RS256"));
  assert.ok(d.id_token_signing_alg_values_supported.includes("ES256"));
  for (const claim of ["email", "email_verified", "name", "preferred_username", "picture"]) assert.ok(d.claims_supported.includes(claim), claim);
  const jwks = await (await fetch(d.jwks_uri)).json();
  assert.deepEqual(jwks.keys.map((k) => k.alg).sort(), ["ES256", "RS256"]);
  assert.ok(jwks.keys.every((k) => !("d" in k)), "no private parts published");
  assert.deepEqual(jwks, op.jwks);
});

test("idTokenFor: an RS256 id_token that verifies, with the nonce and the address in it", async (t) => {
  const op = await provider(t);
  const nonce = sha256hex("raw nonce the client keeps");
  const tokens = await op.idTokenFor({ sub: "alice", nonce });
  assert.equal(typeof tokens.access_token, "string");
  assert.equal(tokens.refresh_token, undefined, "no refresh token without offline_access");
  assert.equal(decodeProtectedHeader(tokens.id_token).alg, "RS256");
  const claims = await verify(op, tokens.id_token);
  assert.equal(claims.iss, op.issuer);
  assert.equal(claims.aud, PORTCULLIS_CLIENT.client_id);
  assert.equal(claims.sub, "alice");
  assert.equal(claims.nonce, nonce);
  assert.equal(claims.email, "alice@example.com");
  assert.equal(claims.email_verified, true);
  assert.equal(claims.name, "Alice Example");
  assert.equal(claims.preferred_username, "alice");
  assert.equal(claims.picture, "https://example.com/alice.png");
  // The access token works at userinfo too, for a relying party that asks there.
  const me = await fetch(`${op.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(me.status, 200);
  assert.equal((await me.json()).email, "alice@example.com");
});

test("scope openid alone keeps the address out of the id_token", async (t) => {
  const op = await provider(t);
  const claims = await verify(op, (await op.idTokenFor({ sub: "alice", nonce: "n", scope: "openid" })).id_token);
  assert.equal(claims.sub, "alice");
  assert.equal(claims.email, undefined);
  assert.equal(claims.email_verified, undefined);
});

test("an account that claims an address it has not verified gets email_verified false", async (t) => {
  const op = await provider(t);
  const claims = await verify(op, (await op.idTokenFor({ sub: "mallory", nonce: "n" })).id_token);
  assert.equal(claims.email, "victim@example.com");
  assert.equal(claims.email_verified, false);
  // setAccount changes what the next token says.
  op.setAccount("mallory", { email: "mallory@example.com", email_verified: true });
  const again = await verify(op, (await op.idTokenFor({ sub: "mallory", nonce: "n" })).id_token);
  assert.equal(again.email, "mallory@example.com");
  assert.equal(again.email_verified, true);
  assert.equal(again.name, undefined);
});

test("an unknown account gets no code, and an account with no address gets none in the token", async (t) => {
  const op = await provider(t);
  await assert.rejects(op.idTokenFor({ sub: "nobody", nonce: "n" }), /no account nobody/);
  op.setAccount("nobody", {});
  const claims = await verify(op, (await op.idTokenFor({ sub: "nobody", nonce: "n" })).id_token);
  assert.equal(claims.sub, "nobody");
  assert.equal(claims.email, undefined);
});

test("a second client's token carries its own audience, not Portcullis's", async (t) => {
  const op = await provider(t, { clients: [PORTCULLIS_CLIENT, OTHER_CLIENT] });
  const { id_token } = await op.idTokenFor({ sub: "alice", nonce: "n", clientId: OTHER_CLIENT.client_id });
  const claims = await verify(op, id_token, OTHER_CLIENT.client_id);
  assert.equal(claims.aud, OTHER_CLIENT.client_id);
  assert.equal(claims.email, "alice@example.com");
  await assert.rejects(verify(op, id_token, PORTCULLIS_CLIENT.client_id), { code: "ERR_JWT_CLAIM_VALIDATION_FAILED", claim: "aud" });
});

test("a client set to ES256 gets ES256 id_tokens, under the published EC key", async (t) => {
  const op = await provider(t, { clients: [{ ...PORTCULLIS_CLIENT, id_token_signed_response_alg: "ES256" }] });
  const { id_token } = await op.idTokenFor({ sub: "alice", nonce: "n" });
  const header = decodeProtectedHeader(id_token);
  assert.equal(header.alg, "ES256");
  assert.equal(header.kid, op.jwks.keys.find((k) => k.alg === "ES256").kid);
  assert.equal((await verify(op, id_token)).sub, "alice");
  // The same for every client of a provider started with alg ES256.
  const es = await provider(t, { alg: "ES256" });
  assert.equal(decodeProtectedHeader((await es.idTokenFor({ sub: "alice", nonce: "n" })).id_token).alg, "ES256");
});

test("PKCE is optional for a confidential client, and binding once used", async (t) => {
  const op = await provider(t, { clients: [PORTCULLIS_CLIENT, OTHER_CLIENT] });
  // With and without, for a client_secret_post and a client_secret_basic client.
  for (const clientId of [PORTCULLIS_CLIENT.client_id, OTHER_CLIENT.client_id]) {
    for (const pkce of [false, true]) {
      const tokens = await op.idTokenFor({ sub: "alice", nonce: "n", clientId, pkce });
      assert.equal((await verify(op, tokens.id_token, clientId)).sub, "alice", `${clientId} pkce=${pkce}`);
      assert.equal(typeof tokens.code_verifier, pkce ? "string" : "undefined");
    }
  }
  const pair = pkcePair();
  const missing = await op.codeFor({ sub: "alice", nonce: "n", codeChallenge: pair.challenge });
  assert.equal((await op.exchangeCode({ code: missing.code })).json.error, "invalid_grant", "a challenged code without its verifier");
  const wrong = await op.codeFor({ sub: "alice", nonce: "n", codeChallenge: pair.challenge });
  assert.equal((await op.exchangeCode({ code: wrong.code, codeVerifier: pkcePair().verifier })).json.error, "invalid_grant", "another verifier");
  const unasked = await op.codeFor({ sub: "alice", nonce: "n" });
  assert.equal((await op.exchangeCode({ code: unasked.code, codeVerifier: pair.verifier })).json.error, "invalid_grant", "a verifier for an unchallenged code");
  const right = await op.codeFor({ sub: "alice", nonce: "n", codeChallenge: pair.challenge });
  assert.equal((await op.exchangeCode({ code: right.code, codeVerifier: pair.verifier })).status, 200);
});

test("a code is good once, for its own client, and the answer names the issuer", async (t) => {
  const op = await provider(t, { clients: [PORTCULLIS_CLIENT, OTHER_CLIENT] });
  const { code, state, iss } = await op.codeFor({ sub: "alice", nonce: "n", state: "the-state" });
  assert.equal(state, "the-state");
  assert.equal(iss, op.issuer, "RFC 9207's iss in the authorization response");
  const other = await op.exchangeCode({ code, clientId: OTHER_CLIENT.client_id, redirectUri: PORTCULLIS_CLIENT.redirect_uris[0] });
  assert.equal(other.json.error, "invalid_grant", "another client's exchange");
  const { code: code2 } = await op.codeFor({ sub: "alice", nonce: "n" });
  assert.equal((await op.exchangeCode({ code: code2, clientSecret: "wrong" })).json.error, "invalid_client");
  const { code: code3 } = await op.codeFor({ sub: "alice", nonce: "n" });
  assert.equal((await op.exchangeCode({ code: code3 })).status, 200);
  assert.equal((await op.exchangeCode({ code: code3 })).json.error, "invalid_grant", "replayed");
});

test("offline_access brings a refresh token that the token endpoint takes", async (t) => {
  const op = await provider(t);
  const tokens = await op.idTokenFor({ sub: "alice", nonce: "n", scope: "openid email offline_access" });
  assert.equal(typeof tokens.refresh_token, "string");
  const res = await fetch(`${op.issuer}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: PORTCULLIS_CLIENT.client_id, client_secret: PORTCULLIS_CLIENT.client_secret }),
  });
  assert.equal(res.status, 200);
  const refreshed = await res.json();
  assert.equal((await verify(op, refreshed.id_token)).email, "alice@example.com");
});

test("setClient adds a redirect URI after the start, as a suite does once the worker runs", async (t) => {
  const op = await provider(t);
  await assert.rejects(op.codeFor({ sub: "alice", nonce: "n", redirectUri: "http://127.0.0.1:9/auth/v1/callback" }), /redirect_uri/);
  await op.setClient({ ...PORTCULLIS_CLIENT, redirect_uris: [...PORTCULLIS_CLIENT.redirect_uris, "http://127.0.0.1:9/auth/v1/callback"] });
  const { code } = await op.codeFor({ sub: "alice", nonce: "n", redirectUri: "http://127.0.0.1:9/auth/v1/callback" });
  assert.equal((await op.exchangeCode({ code, redirectUri: "http://127.0.0.1:9/auth/v1/callback" })).status, 200);
  await assert.rejects(op.setClient({ client_id: "bad", redirect_uris: ["not a url"] }), /client bad/);
});

test("forged id_tokens do not verify against the provider's keys", async (t) => {
  const op = await provider(t);
  const genuine = await verify(op, (await op.idTokenFor({ sub: "alice", nonce: "n" })).id_token);
  const claims = { ...genuine, sub: "mallory", email: "victim@example.com" };
  const jwks = createLocalJWKSet(op.jwks);
  const check = (jwt) => jwtVerify(jwt, jwks, { issuer: op.issuer, audience: PORTCULLIS_CLIENT.client_id });
  // Under the kid of the provider's own key, so the set picks that key and the signature fails.
  for (const alg of ["RS256", "ES256"]) {
    const kid = op.jwks.keys.find((k) => k.alg === alg).kid;
    await assert.rejects(check(await forgeIdToken(claims, { alg, kid })), { code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" }, alg);
    // Without a kid the set tries its one key of that type: the same failure.
    await assert.rejects(check(await forgeIdToken(claims, { alg })), { code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" }, `${alg} without kid`);
  }
  // A key set takes neither HS256 nor an unsigned token.
  await assert.rejects(check(await forgeIdToken(claims, { alg: "HS256", secret: PORTCULLIS_CLIENT.client_secret })), { code: "ERR_JOSE_NOT_SUPPORTED" });
  await assert.rejects(check(await forgeIdToken(claims, { alg: "none" })), { code: "ERR_JOSE_NOT_SUPPORTED" });
});

test("GitHub-like: a code for the chosen user, good once, and the user's addresses", async (t) => {
  const gh = await startGithubLike({
    users: {
      octocat: {
        id: 1,
        name: "The Octocat",
        email: "octocat@example.com",
        emails: [
          { email: "octocat@example.com", primary: true, verified: true, visibility: "public" },
          { email: "claimed@example.com", primary: false, verified: false, visibility: null },
        ],
      },
      hubot: { id: 2, name: "Hubot", email: null, emails: [{ email: "hubot@example.com", primary: true, verified: false, visibility: "private" }] },
    },
  });
  t.after(() => gh.stop());
  const redirectUri = "http://127.0.0.1:9/auth/v1/callback";
  const authorize = async (params) => {
    const q = new URLSearchParams({ client_id: PORTCULLIS_GITHUB_APP.client_id, redirect_uri: redirectUri, scope: "user:email", state: "s1", ...params });
    const res = await fetch(`${gh.url}/login/oauth/authorize?${q}`, { redirect: "manual" });
    assert.equal(res.status, 302);
    const to = new URL(res.headers.get("location"));
    assert.equal(`${to.origin}${to.pathname}`, redirectUri);
    assert.equal(to.searchParams.get("state"), params.state ?? "s1");
    return to.searchParams.get("code");
  };
  const exchange = async (code, { accept = "application/json", secret = PORTCULLIS_GITHUB_APP.client_secret } = {}) => {
    const res = await fetch(`${gh.url}/login/oauth/access_token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept },
      body: new URLSearchParams({ client_id: PORTCULLIS_GITHUB_APP.client_id, client_secret: secret, code, redirect_uri: redirectUri }),
    });
    assert.equal(res.status, 200, "GitHub answers errors with 200 too");
    return accept === "application/json" ? res.json() : Object.fromEntries(new URLSearchParams(await res.text()));
  };
  const api = (path, token, scheme = "Bearer") => fetch(`${gh.apiUrl}${path}`, { headers: { authorization: `${scheme} ${token}`, accept: "application/vnd.github+json" } });

  // Two users and no choice: no code.
  const none = await fetch(`${gh.url}/login/oauth/authorize?client_id=${PORTCULLIS_GITHUB_APP.client_id}&redirect_uri=${redirectUri}`, { redirect: "manual" });
  assert.equal(none.status, 400);

  gh.setNextUser("octocat");
  const code = await authorize({});
  const token = await exchange(code);
  assert.equal(token.token_type, "bearer");
  assert.equal(token.scope, "user:email");
  assert.match(token.access_token, /^gho_/);
  assert.deepEqual(await exchange(code), {
    error: "bad_verification_code",
    error_description: "The code passed is incorrect or expired.",
    error_uri: "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code",
  });

  const user = await api("/user", token.access_token);
  assert.equal(user.status, 200);
  assert.deepEqual(await user.json(), { login: "octocat", id: 1, name: "The Octocat", email: "octocat@example.com", avatar_url: "https://avatars.example.com/u/1" });
  const emails = await api("/user/emails", token.access_token, "token");
  assert.equal(emails.status, 200);
  assert.deepEqual(await emails.json(), [
    { email: "octocat@example.com", primary: true, verified: true, visibility: "public" },
    { email: "claimed@example.com", primary: false, verified: false, visibility: null },
  ]);

  // The `login` parameter picks another user; without Accept JSON the answer is a form.
  const hubot = await exchange(await authorize({ login: "hubot", state: "s2" }), { accept: "*/*" });
  assert.equal(hubot.token_type, "bearer");
  assert.equal((await (await api("/user", hubot.access_token)).json()).login, "hubot");
  assert.deepEqual((await (await api("/user/emails", hubot.access_token)).json()).map((e) => e.verified), [false]);

  // Wrong secret, unknown token, a token without user:email.
  assert.equal((await exchange(await authorize({}), { secret: "wrong" })).error, "incorrect_client_credentials");
  assert.equal((await api("/user", "gho_nothing")).status, 401);
  const narrow = await exchange(await authorize({ scope: "read:user" }));
  assert.equal((await api("/user", narrow.access_token)).status, 200);
  assert.equal((await api("/user/emails", narrow.access_token)).status, 404);
  assert.ok(gh.requests.includes("POST /login/oauth/access_token"));
});

test("in Chromium: devInteractions' pages as loginInBrowser fills them land on the redirect URI", async (t) => {
  // The client's redirect URI, served so that the browser has somewhere to land.
  const landed = [];
  const callback = http.createServer((req, res) => {
    // Chromium asks for /favicon.ico too.
    if (req.url.startsWith("/auth/v1/callback")) landed.push(req.url);
    res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>callback</title>signed in");
  });
  await new Promise((resolve) => callback.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise((resolve) => { callback.close(resolve); callback.closeAllConnections(); }));
  const redirectUri = `http://127.0.0.1:${callback.address().port}/auth/v1/callback`;
  const op = await provider(t, { clients: [{ ...PORTCULLIS_CLIENT, redirect_uris: [redirectUri] }] });
  const browser = await launchChromium();
  t.after(() => browser.close());

  const page = await browser.newPage();
  // What went out to other origins: devInteractions' page asks for a web font, which the
  // provider's CSP blocks (a request that fails with `csp` never left the browser).
  const elsewhere = [];
  const outside = (req) => ![op.issuer, new URL(redirectUri).origin].includes(new URL(req.url()).origin);
  page.on("requestfinished", (req) => outside(req) && elsewhere.push(req.url()));
  page.on("requestfailed", (req) => outside(req) && req.failure()?.errorText !== "csp" && elsewhere.push(req.url()));
  const { challenge, verifier } = pkcePair();
  const auth = new URL(`${op.issuer}/auth`);
  auth.search = new URLSearchParams({ client_id: PORTCULLIS_CLIENT.client_id, response_type: "code", redirect_uri: redirectUri, scope: "openid email", state: "browser-state", nonce: "browser-nonce", code_challenge: challenge, code_challenge_method: "S256" });
  await page.goto(auth.href);
  assert.match(page.url(), new RegExp(`^${op.issuer}/interaction/`));
  const url = new URL(await loginInBrowser(page, { sub: "alice" }));
  assert.equal(`${url.origin}${url.pathname}`, redirectUri);
  assert.equal(url.searchParams.get("state"), "browser-state");
  const code = url.searchParams.get("code");
  assert.ok(code);
  assert.equal(landed.length, 1);
  assert.equal(await page.textContent("body"), "signed in");
  assert.deepEqual(elsewhere, [], "the provider's pages load nothing from elsewhere");

  const { status, json } = await op.exchangeCode({ code, redirectUri, codeVerifier: verifier });
  assert.equal(status, 200);
  const claims = await verify(op, json.id_token);
  assert.equal(claims.nonce, "browser-nonce");
  assert.equal(claims.email, "alice@example.com");

  // The session remembers the grant: a second authorization skips both pages.
  auth.searchParams.set("state", "again");
  await page.goto(auth.href);
  assert.equal(new URL(page.url()).searchParams.get("state"), "again");
  assert.equal(landed.length, 2);
});
