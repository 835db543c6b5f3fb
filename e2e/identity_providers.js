// Identity providers for the sign-in-with-a-provider suites (issue "Sign in through identity
// providers"): a real OpenID Provider, oidc-provider (OpenID-certified, the code the tests
// trust to speak OIDC as the big providers do), and a small server shaped like GitHub's OAuth 2
// and REST API (GitHub signs in without OIDC: no id_token, the addresses come from the API).
// Both listen on 127.0.0.1 and keep everything in memory. Not a test file: suites import it.
import { Provider } from "oidc-provider";
import { SignJWT, exportJWK, generateKeyPair, base64url, calculateJwkThumbprint } from "jose";
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";

/** The client Portcullis is at the provider unless a test says otherwise. */
export const PORTCULLIS_CLIENT = Object.freeze({
  client_id: "portcullis",
  client_secret: "portcullis-oidc-client-secret",
  redirect_uris: ["http://127.0.0.1/callback"],
  token_endpoint_auth_method: "client_secret_post",
});

/** The accounts a provider knows unless a test says otherwise: one verified address. */
const DEFAULT_ACCOUNTS = {
  alice: { email: "alice@example.com", email_verified: true, name: "Alice Example", preferred_username: "alice" },
};

/**
 * Listens on 127.0.0.1 on a port the system picks and answers with the listener that
 * `makeListener(url)` makes once the address is known: the provider's issuer holds its port,
 * and a port found free first (`freePort`) could be taken before the provider binds it.
 */
async function listen(makeListener) {
  let listener = (_req, res) => res.writeHead(503).end();
  const server = http.createServer((req, res) => listener(req, res));
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const url = `http://127.0.0.1:${server.address().port}`;
  listener = await makeListener(url);
  return {
    url,
    // fetch keeps connections alive; close() alone would wait for them to time out.
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A private signing JWK of `alg` (RS256 or ES256), with its thumbprint as `kid`. */
async function signingKey(alg) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, alg, use: "sig", kid: await calculateJwkThumbprint(jwk) };
}

/**
 * oidc-provider's storage for one provider, in memory, with the clients among what it holds.
 * Clients live here rather than in the `clients` option because the option's clients never
 * change, and a suite needs to add a redirect URI once it knows it: the worker's callback
 * holds the worker's port, and the worker starts after the provider, whose issuer it is given.
 * The provider looks a client up again when its metadata changes (it caches by their hash).
 * (oidc-provider's own memory adapter is not among the package's exports.)
 */
function memoryAdapter(clients) {
  const store = new Map(); // `${model}:${id}` → { payload, expiresAt }
  const live = (key) => {
    const entry = store.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt && entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry.payload;
  };
  return (model) => ({
    async upsert(id, payload, expiresIn) {
      store.set(`${model}:${id}`, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : 0 });
    },
    async find(id) {
      if (model === "Client") return clients.get(id) && structuredClone(clients.get(id));
      return live(`${model}:${id}`);
    },
    async findByUid(uid) {
      for (const key of store.keys()) {
        if (key.startsWith(`${model}:`) && live(key)?.uid === uid) return live(key);
      }
      return undefined;
    },
    async findByUserCode(userCode) {
      for (const key of store.keys()) {
        if (key.startsWith(`${model}:`) && live(key)?.userCode === userCode) return live(key);
      }
      return undefined;
    },
    async consume(id) {
      const payload = live(`${model}:${id}`);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    },
    async destroy(id) {
      store.delete(`${model}:${id}`);
    },
    async revokeByGrantId(grantId) {
      for (const [key, { payload }] of store) if (payload.grantId === grantId) store.delete(key);
    },
  });
}

/** Cookies by name for one user agent of `idTokenFor`'s; paths and expiry beyond removal ignored. */
function cookieJar() {
  const cookies = new Map();
  return {
    header: () => [...cookies].map(([k, v]) => `${k}=${v}`).join("; "),
    take(res) {
      for (const line of res.headers.getSetCookie()) {
        const [pair, ...attrs] = line.split(";");
        const name = pair.slice(0, pair.indexOf("=")).trim();
        const value = pair.slice(pair.indexOf("=") + 1).trim();
        const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split("=")[1]) < Date.now()));
        if (expired || value === "") cookies.delete(name);
        else cookies.set(name, value);
      }
    },
  };
}

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A PKCE pair: a random verifier and its S256 challenge. */
export function pkcePair() {
  const verifier = base64url.encode(randomBytes(32));
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

/**
 * Starts oidc-provider on 127.0.0.1 with devInteractions (its own login and consent pages: any
 * password; the login is the account's `sub`), an RS256 and an ES256 signing key, and
 * `accounts` (`{ sub: claims }`) in memory. `clients` are oidc-provider client metadata
 * (`client_id`, `client_secret`, `redirect_uris`, `token_endpoint_auth_method`, and
 * `id_token_signed_response_alg` for one client's tokens); by default PORTCULLIS_CLIENT.
 * `alg` (RS256 or ES256) signs the id_tokens of clients that name no algorithm.
 *
 * Returns `{ issuer, url, provider, jwks, clients, setAccount(sub, claims),
 * setClient(metadata), codeFor(...), exchangeCode(...), idTokenFor(...), errors, stop() }`:
 * `issuer` and `url` are the same; `jwks` is the public key set it publishes; `errors` the
 * server errors it reported (a test that fails strangely can print them).
 */
export async function startOidcProvider({ clients = [PORTCULLIS_CLIENT], accounts = DEFAULT_ACCOUNTS, alg = "RS256" } = {}) {
  const accountMap = new Map(Object.entries(accounts).map(([sub, claims]) => [sub, { ...claims }]));
  const clientMap = new Map();
  const keys = [await signingKey("RS256"), await signingKey("ES256")];
  const errors = [];
  let provider;
  let issuer;

  const server = await listen(async (url) => {
    issuer = url;
    provider = new Provider(issuer, {
      adapter: memoryAdapter(clientMap),
      // Both published; a token's `alg` (the client's id_token_signed_response_alg) picks the key.
      jwks: { keys },
      findAccount(_ctx, sub) {
        if (!accountMap.has(sub)) return undefined;
        return {
          accountId: sub,
          // oidc-provider keeps only the claims of the granted scopes.
          claims: async () => ({ ...accountMap.get(sub), sub }),
        };
      },
      claims: {
        openid: ["sub"],
        email: ["email", "email_verified"],
        profile: ["name", "preferred_username", "picture"],
      },
      // With the default (true) an id_token issued alongside an access token carries only `sub`
      // and the relying party must ask the userinfo endpoint for the rest. GoTrue's
      // signInWithIdToken has nothing but the id_token, and Google, Apple and Azure put the
      // address in it, so the scopes' claims go in the id_token here.
      conformIdTokenClaims: false,
      features: {
        devInteractions: { enabled: true },
      },
      // The default error page imports a web font (see the CSP below) and wraps each field in
      // markup; this one is the fields alone, which `codeFor` quotes when it throws.
      renderError(ctx, out) {
        ctx.type = "html";
        ctx.body = `<!doctype html><meta charset="utf-8"><title>error</title>${Object.entries(out)
          .map(([k, v]) => `<pre>${k}: ${escapeHtml(v)}</pre>`)
          .join("")}`;
      },
      // PKCE: oidc-provider 9 takes only S256 (no `pkce.methods` any more, `plain` is refused)
      // and by default requires it only of public clients (token_endpoint_auth_method `none`)
      // and under FAPI 2.0. The same rule, spelled out: a confidential client such as
      // Portcullis may send a challenge or not, as GoTrue does with and without its PKCE flow,
      // and the suites see both work. A code issued for a challenge needs its verifier; a
      // verifier sent for a code issued without a challenge is refused too (invalid_grant).
      pkce: { required: (_ctx, client) => client.clientAuthMethod === "none" },
      // Short, for tests, but not so short that a slow run sees a code expire.
      ttl: {
        AccessToken: 600,
        AuthorizationCode: 120,
        IdToken: 600,
        Interaction: 600,
        Session: 3600,
        Grant: 3600,
        RefreshToken: 3600,
      },
      // Refresh tokens for clients that may have them and ask for offline_access (with
      // prompt=consent, which OIDC requires for that scope); id_tokens in `alg` for a client
      // that names none.
      clientDefaults: {
        grant_types: ["authorization_code", "refresh_token"],
        id_token_signed_response_alg: alg,
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    });
    provider.on("server_error", (_ctx, err) => errors.push(err));
    // devInteractions' page imports a web font from fonts.googleapis.com. The tests have no
    // network, and a browser test checks that pages load nothing from elsewhere; this keeps
    // Chromium from trying (the form needs no font).
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.response.is("html") && !ctx.response.get("content-security-policy")) {
        ctx.set("content-security-policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:");
      }
    });
    return provider.callback();
  });

  /** Adds or replaces a client; its metadata is checked now, as a static client's would be. */
  async function setClient(metadata) {
    clientMap.set(metadata.client_id, structuredClone(metadata));
    try {
      await provider.Client.find(metadata.client_id);
    } catch (err) {
      clientMap.delete(metadata.client_id);
      throw new Error(`client ${metadata.client_id}: ${err.error_description ?? err.message}`);
    }
  }
  for (const client of clients) await setClient(client);

  function clientFor(clientId) {
    const client = clientMap.get(clientId ?? clients[0]?.client_id);
    if (!client) throw new Error(`no client ${clientId}`);
    return client;
  }

  /**
   * An authorization code from a whole authorization-code flow over plain HTTP, as a user agent
   * with its own cookies: the authorization request, devInteractions' login form (login `sub`),
   * its consent form, and the redirect to the client, read from `Location` (nothing needs to
   * listen at the redirect URI). `codeChallenge` (S256) is optional, as for any confidential
   * client. Returns `{ code, state, iss, location }`; throws with the provider's error when it
   * redirects one, or answers with a page that is neither form.
   */
  async function codeFor({ sub, nonce, clientId, scope = "openid email profile", state = base64url.encode(randomBytes(12)), redirectUri, codeChallenge, prompt, extra = {} } = {}) {
    // devInteractions takes any login, and oidc-provider 9 answers a login that findAccount
    // does not know with a 500 (a TypeError in its consent check), so say so first.
    if (!accountMap.has(sub)) throw new Error(`no account ${sub} (setAccount makes one)`);
    const client = clientFor(clientId);
    const redirect = redirectUri ?? client.redirect_uris[0];
    const params = new URLSearchParams({ client_id: client.client_id, response_type: "code", redirect_uri: redirect, scope, state });
    if (nonce !== undefined) params.set("nonce", nonce);
    if (codeChallenge) {
      params.set("code_challenge", codeChallenge);
      params.set("code_challenge_method", "S256");
    }
    // OIDC drops offline_access unless the user is asked for consent.
    if (prompt ?? (scope.split(" ").includes("offline_access") ? "consent" : undefined)) {
      params.set("prompt", prompt ?? "consent");
    }
    for (const [k, v] of Object.entries(extra)) params.set(k, v);

    const jar = cookieJar();
    const go = async (url, init = {}) => {
      const res = await fetch(url, { ...init, redirect: "manual", headers: { ...init.headers, cookie: jar.header() } });
      jar.take(res);
      return res;
    };
    let res = await go(`${issuer}/auth?${params}`);
    for (let step = 0; step < 12; step++) {
      if (res.status >= 300 && res.status < 400) {
        const location = new URL(res.headers.get("location"), issuer);
        await res.body?.cancel();
        if (location.href.startsWith(redirect)) {
          const q = location.searchParams;
          if (q.get("error")) throw new Error(`provider: ${q.get("error")}: ${q.get("error_description")}`);
          return { code: q.get("code"), state: q.get("state"), iss: q.get("iss"), location: location.href };
        }
        res = await go(location);
        continue;
      }
      const html = await res.text();
      const form = /<form[^>]*action="([^"]+)"[^>]*>[\s\S]*?name="prompt" value="(login|consent)"/.exec(html);
      if (!form) throw new Error(`provider answered ${res.status}: ${html.replace(/<title>.*?<\/title>/, "").replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").trim().slice(0, 500)}`);
      const action = new URL(form[1].replaceAll("&amp;", "&"), issuer);
      const body = form[2] === "login" ? new URLSearchParams({ prompt: "login", login: sub, password: "any" }) : new URLSearchParams({ prompt: "consent" });
      res = await go(action, { method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded" } });
    }
    throw new Error("provider: too many steps without a redirect to the client");
  }

  /**
   * The token endpoint's answer to `code`, authenticating as the client does
   * (`client_secret_basic` or `client_secret_post`): `{ status, json }`.
   */
  async function exchangeCode({ code, clientId, redirectUri, codeVerifier, clientSecret } = {}) {
    const client = clientFor(clientId);
    const secret = clientSecret ?? client.client_secret;
    const body = new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirectUri ?? client.redirect_uris[0] });
    if (codeVerifier !== undefined) body.set("code_verifier", codeVerifier);
    const headers = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
    if ((client.token_endpoint_auth_method ?? "client_secret_basic") === "client_secret_basic") {
      // RFC 6749 2.3.1: each part form-encoded before base64.
      const enc = (s) => encodeURIComponent(s).replace(/%20/g, "+");
      headers.authorization = `Basic ${Buffer.from(`${enc(client.client_id)}:${enc(secret)}`).toString("base64")}`;
    } else {
      body.set("client_id", client.client_id);
      body.set("client_secret", secret);
    }
    const res = await fetch(`${issuer}/token`, { method: "POST", headers, body });
    return { status: res.status, json: await res.json() };
  }

  return {
    issuer,
    url: issuer,
    provider,
    /** The public keys, as the provider publishes them at its jwks_uri. */
    jwks: { keys: keys.map(({ kty, crv, n, e, x, y, alg, use, kid }) => JSON.parse(JSON.stringify({ kty, crv, n, e, x, y, alg, use, kid }))) },
    clients: clientMap,
    errors,
    /** Makes or replaces account `sub` with `claims` (email, email_verified, name, ...). */
    setAccount(sub, claims) {
      accountMap.set(sub, { ...claims });
    },
    setClient,
    codeFor,
    exchangeCode,
    /**
     * Tokens for account `sub` at client `clientId` (default: the first client) after a whole
     * authorization-code flow: `{ id_token, access_token, refresh_token?, code_verifier? }`.
     * `nonce` goes into the request as it is, so into the id_token's `nonce` (a test for
     * GoTrue's signInWithIdToken passes the SHA-256 hex of the nonce it then sends). `pkce:
     * true` sends an S256 challenge and the verifier. Scope `offline_access` adds a refresh token.
     */
    async idTokenFor({ sub, nonce, clientId, scope, pkce = false, redirectUri } = {}) {
      const pair = pkce ? pkcePair() : undefined;
      const { code } = await codeFor({ sub, nonce, clientId, scope, redirectUri, codeChallenge: pair?.challenge });
      const { status, json } = await exchangeCode({ code, clientId, redirectUri, codeVerifier: pair?.verifier });
      if (status !== 200) throw new Error(`token endpoint ${status}: ${json.error}: ${json.error_description}`);
      const { id_token, access_token, refresh_token } = json;
      return { id_token, access_token, ...(refresh_token ? { refresh_token } : {}), ...(pair ? { code_verifier: pair.verifier } : {}) };
    },
    stop: server.stop,
  };
}

/**
 * In a Playwright `page` on the provider's devInteractions login page: signs in as `sub` and
 * gives consent if asked (not when the session already has this client's grant), then waits
 * for the browser to leave the provider. Returns the URL it landed on (the client's redirect
 * URI with `code` and `state`).
 */
export async function loginInBrowser(page, { sub, password = "any" } = {}) {
  const origin = new URL(page.url()).origin;
  for (let step = 0; step < 4; step++) {
    if (new URL(page.url()).origin !== origin) return page.url();
    const prompt = await page.locator('form input[name="prompt"]').getAttribute("value");
    const here = page.url();
    if (prompt === "login") {
      await page.fill('input[name="login"]', sub);
      await page.fill('input[name="password"]', password);
    } else if (prompt !== "consent") {
      throw new Error(`provider page without a login or consent form: ${here}`);
    }
    await Promise.all([
      page.waitForURL((url) => url.href !== here, { waitUntil: "domcontentloaded" }),
      page.click('form button[type="submit"]'),
    ]);
  }
  if (new URL(page.url()).origin !== origin) return page.url();
  throw new Error(`still at the provider: ${page.url()}`);
}

/**
 * An id_token-shaped JWT signed by a key the provider never published (a fresh one each call),
 * for attack tests: `alg` RS256 or ES256, or HS256 with `secret` (the client secret, the old
 * algorithm-confusion trick), or `none` (no signature). `kid` may name a real key of the
 * provider's, as a forger would. `iat` and `exp` are filled in when `claims` lacks them, so
 * that only the signature is wrong.
 */
export async function forgeIdToken(claims, { alg = "RS256", kid, secret } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { iat: now, exp: now + 600, ...claims };
  if (alg === "none") {
    const part = (o) => base64url.encode(JSON.stringify(o));
    return `${part({ alg: "none", typ: "JWT", ...(kid ? { kid } : {}) })}.${part(payload)}.`;
  }
  let key;
  if (alg === "HS256") {
    if (!secret) throw new Error("HS256 needs a secret");
    key = new TextEncoder().encode(secret);
  } else {
    key = (await generateKeyPair(alg)).privateKey;
  }
  return new SignJWT(payload).setProtectedHeader({ alg, typ: "JWT", ...(kid ? { kid } : {}) }).sign(key);
}

/** The OAuth app Portcullis is at the GitHub-like server unless a test says otherwise. */
export const PORTCULLIS_GITHUB_APP = Object.freeze({
  client_id: "portcullis-github",
  client_secret: "portcullis-github-client-secret",
});

/** The users the GitHub-like server knows unless a test says otherwise. */
const DEFAULT_GITHUB_USERS = {
  octocat: {
    id: 583231,
    name: "The Octocat",
    email: "octocat@example.com",
    emails: [
      { email: "octocat@example.com", primary: true, verified: true, visibility: "public" },
      { email: "octocat-unverified@example.com", primary: false, verified: false, visibility: null },
    ],
  },
};

/** The body of a request, parsed as a form or as JSON (GitHub's token endpoint takes both). */
async function readBody(req) {
  let text = "";
  for await (const chunk of req) text += chunk;
  if (/json/i.test(req.headers["content-type"] ?? "")) {
    try {
      return JSON.parse(text);
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

/**
 * Starts a server shaped like GitHub as GoTrue's GitHub provider uses it, at GitHub
 * Enterprise's layout (the OAuth pages at the root, the REST API under /api/v3):
 *
 * - `GET /login/oauth/authorize?client_id&redirect_uri&scope&state`: approves at once and
 *   redirects (302) to `redirect_uri?code&state`, for the user named by the `login` parameter
 *   (GitHub's own hint), else the one `setNextUser` named, else the only user;
 * - `POST /login/oauth/access_token` (form or JSON; client_id and client_secret in the body or
 *   as Basic): `{ access_token, token_type: "bearer", scope }` as JSON with `Accept:
 *   application/json`, else form-encoded, as GitHub answers. A code is good once, for 10
 *   minutes, for its client and redirect URI; a wrong one gets GitHub's 200 with
 *   `{ error: "bad_verification_code" }`, wrong client credentials `incorrect_client_credentials`;
 * - `GET /api/v3/user`: `{ id, login, name, email, avatar_url }`, and `GET /api/v3/user/emails`:
 *   `[{ email, primary, verified, visibility }]` (only with scope `user` or `user:email`),
 *   with `Authorization: Bearer <token>` or `token <token>`; 401 `Bad credentials` otherwise.
 *
 * `users` maps a login to `{ id, name, email, avatar_url?, emails? }` (`emails` defaults to the
 * one public address, verified); `apps` are `{ client_id, client_secret }`. Returns `{ url,
 * apiUrl, setNextUser(login), setUser(login, user), requests, stop() }`; `requests` lists
 * `"METHOD path"` of every request, for tests that check what the relying party called.
 */
export async function startGithubLike({ users = DEFAULT_GITHUB_USERS, apps = [PORTCULLIS_GITHUB_APP] } = {}) {
  const userMap = new Map(Object.entries(users).map(([login, u]) => [login, { ...u }]));
  const codes = new Map(); // code → { login, clientId, redirectUri, scope, expiresAt }
  const tokens = new Map(); // token → { login, scope }
  const requests = [];
  let nextUser;
  // `/user` answered with a body of this many bytes, streamed (0: the user's JSON), and how
  // many of them went out before the reader hung up.
  let userBodyBytes = 0;
  const streamed = { written: 0, finished: false };

  const json = (res, status, body) => res.writeHead(status, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(body));
  const userJson = (login) => {
    const u = userMap.get(login);
    return { login, id: u.id, name: u.name ?? null, email: u.email ?? null, avatar_url: u.avatar_url ?? `https://avatars.example.com/u/${u.id}` };
  };
  const emailsOf = (login) => {
    const u = userMap.get(login);
    return u.emails ?? (u.email ? [{ email: u.email, primary: true, verified: true, visibility: "public" }] : []);
  };

  async function handle(req, res) {
    const url = new URL(req.url, "http://github.invalid");
    requests.push(`${req.method} ${url.pathname}`);

    if (req.method === "GET" && url.pathname === "/login/oauth/authorize") {
      const q = url.searchParams;
      const app = apps.find((a) => a.client_id === q.get("client_id"));
      // GitHub shows its own error page here rather than redirecting anywhere.
      if (!app) return res.writeHead(404, { "content-type": "text/plain" }).end("unknown client_id");
      const redirectUri = q.get("redirect_uri") ?? app.redirect_uri;
      if (!redirectUri) return res.writeHead(400, { "content-type": "text/plain" }).end("no redirect_uri");
      const login = q.get("login") ?? nextUser ?? (userMap.size === 1 ? [...userMap.keys()][0] : undefined);
      if (!userMap.has(login)) return res.writeHead(400, { "content-type": "text/plain" }).end(`no user ${login} to sign in`);
      const code = randomBytes(10).toString("hex");
      // GitHub grants the scopes asked for, written with commas in the token's answer.
      const scope = (q.get("scope") ?? "").split(/[\s,]+/).filter(Boolean).join(",");
      codes.set(code, { login, clientId: app.client_id, redirectUri, scope, expiresAt: Date.now() + 600_000 });
      const to = new URL(redirectUri);
      to.searchParams.set("code", code);
      if (q.has("state")) to.searchParams.set("state", q.get("state"));
      return res.writeHead(302, { location: to.href }).end();
    }

    if (req.method === "POST" && url.pathname === "/login/oauth/access_token") {
      const body = await readBody(req);
      let { client_id: clientId, client_secret: clientSecret } = body;
      const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? "");
      if (basic) [clientId, clientSecret] = Buffer.from(basic[1], "base64").toString().split(":");
      const answer = (fields) => {
        if (/application\/json/i.test(req.headers.accept ?? "")) return json(res, 200, fields);
        return res.writeHead(200, { "content-type": "application/x-www-form-urlencoded; charset=utf-8" }).end(new URLSearchParams(fields).toString());
      };
      const app = apps.find((a) => a.client_id === clientId);
      if (!app || app.client_secret !== clientSecret) {
        return answer({ error: "incorrect_client_credentials", error_description: "The client_id and/or client_secret passed are incorrect.", error_uri: "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials" });
      }
      const grant = codes.get(body.code);
      // Used or not: a code is gone after its first exchange, as GitHub's are.
      codes.delete(body.code);
      if (!grant || grant.expiresAt < Date.now() || grant.clientId !== clientId || (body.redirect_uri && body.redirect_uri !== grant.redirectUri)) {
        return answer({ error: "bad_verification_code", error_description: "The code passed is incorrect or expired.", error_uri: "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code" });
      }
      const token = `gho_${randomBytes(18).toString("hex")}`;
      tokens.set(token, { login: grant.login, scope: grant.scope });
      return answer({ access_token: token, token_type: "bearer", scope: grant.scope });
    }

    if (req.method === "GET" && (url.pathname === "/api/v3/user" || url.pathname === "/api/v3/user/emails")) {
      const auth = /^(?:Bearer|token) (.+)$/i.exec(req.headers.authorization ?? "");
      const token = auth && tokens.get(auth[1]);
      if (!token || !userMap.has(token.login)) return json(res, 401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" });
      if (url.pathname === "/api/v3/user" && userBodyBytes > 0) return streamUser(res, token.login);
      if (url.pathname === "/api/v3/user") return json(res, 200, userJson(token.login));
      const scopes = token.scope.split(",");
      // Listing the addresses takes `user:email` (or `user`); GitHub answers a token
      // without it as though the resource were not there.
      if (!scopes.includes("user:email") && !scopes.includes("user")) return json(res, 404, { message: "Not Found", documentation_url: "https://docs.github.com/rest", status: "404" });
      return json(res, 200, emailsOf(token.login));
    }

    return json(res, 404, { message: "Not Found" });
  }

  /** The user's JSON with a string of `userBodyBytes` padding, written as the reader takes it. */
  async function streamUser(res, login) {
    Object.assign(streamed, { written: 0, finished: false });
    const start = JSON.stringify(userJson(login)).slice(0, -1) + ',"bio":"';
    const chunk = Buffer.alloc(64 * 1024, "x");
    let closed = false;
    res.on("close", () => (closed = true));
    res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
    res.write(start);
    while (!closed && streamed.written < userBodyBytes) {
      const part = chunk.subarray(0, Math.min(chunk.length, userBodyBytes - streamed.written));
      streamed.written += part.length;
      if (!res.write(part)) await new Promise((resolve) => (closed ? resolve() : (res.once("drain", resolve), res.once("close", resolve))));
    }
    if (!closed) {
      streamed.finished = true;
      res.end('"}');
    }
  }

  const server = await listen(async () => (req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) json(res, 500, { message: String(err) });
    });
  });
  return {
    url: server.url,
    /** Where GoTrue's GitHub provider, given `url`, finds the REST API. */
    apiUrl: `${server.url}/api/v3`,
    requests,
    /** The user the next authorizations sign in (as a browser signed in at GitHub would). */
    setNextUser(login) {
      if (!userMap.has(login)) throw new Error(`no user ${login}`);
      nextUser = login;
    },
    /** `/user` answers with a body of `bytes` (0: as GitHub does); `streamed` says how much
     * of the last such body was written and whether all of it was. */
    setUserBodyBytes(bytes) {
      userBodyBytes = bytes;
    },
    streamed,
    /** Makes or replaces user `login`. */
    setUser(login, user) {
      userMap.set(login, { ...user });
    },
    stop: server.stop,
  };
}
