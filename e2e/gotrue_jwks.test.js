// GoTrue with asymmetric signing keys end to end: a deployment whose JWT_KEYS (a JWK set, as
// upstream's GOTRUE_JWT_KEYS) signs ES256 or RS256 access tokens with `kid`, whose tokens @supabase/auth-js
// `getClaims()` verifies through /auth/v1/.well-known/jwks.json without asking the server, and a
// key rotation across restarts of workerd over the same D1: add the next key, switch the signing
// key, remove the old one; old tokens work until their key is removed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { GoTrueClient } from "@supabase/auth-js";
import { startWorker, call, memoryStorage } from "./harness.js";

let dir;
let n = 0;

function esKey(kid, ops = ["sign", "verify"]) {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { ...privateKey.export({ format: "jwk" }), kid, alg: "ES256", key_ops: ops };
}
function rsaKey(kid, ops = ["sign", "verify"]) {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), kid, alg: "RS256", key_ops: ops };
}
const verifyOnly = (k) => ({ ...k, key_ops: ["verify"] });

/** An auth-js client of its own (its own JWKS cache), recording the URLs it fetches. */
function client(worker) {
  const fetched = [];
  const auth = new GoTrueClient({
    url: `${worker.url}/auth/v1`,
    storageKey: `jwks-e2e-${n++}`,
    storage: memoryStorage(),
    persistSession: true,
    autoRefreshToken: false,
    fetch: (url, init) => {
      fetched.push(new URL(url).pathname);
      return fetch(url, init);
    },
  });
  return { auth, fetched };
}

const header = (token) => JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString());

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), "portcullis-jwks-"));
});

after(() => rmSync(dir, { recursive: true, force: true }));

const start = (keys) => startWorker({ persist: dir, vars: { MAILER_AUTOCONFIRM: "true", JWT_KEYS: JSON.stringify(keys) } });

test("ES256 tokens verify through the JWKS with getClaims, and a rotation keeps old tokens until their key goes", async () => {
  const k1 = esKey("key-1");
  const k2 = esKey("key-2");
  const email = `jwks-${Date.now()}@example.com`;

  // 1. The first key signs.
  let worker = await start([k1]);
  let first;
  try {
    const { auth, fetched } = client(worker);
    const { data, error } = await auth.signUp({ email, password: "a jwks password" });
    assert.equal(error, null);
    first = data.session;
    assert.deepEqual(header(first.access_token), { alg: "ES256", kid: "key-1", typ: "JWT" });
    const claims = await auth.getClaims();
    assert.equal(claims.error, null);
    assert.equal(claims.data.claims.email, email);
    assert.ok(fetched.includes("/auth/v1/.well-known/jwks.json"), `fetched ${fetched}`);
    assert.ok(!fetched.includes("/auth/v1/user"), "verified locally, not by asking the server");
    const jwks = await call(`${worker.url}/auth/v1/.well-known/jwks.json`, { method: "GET" });
    assert.equal(jwks.headers.get("cache-control"), "public, max-age=600");
    assert.deepEqual(jwks.json.keys.map((k) => k.kid), ["key-1"]);
    assert.ok(!JSON.stringify(jwks.json).includes(k1.d), "no private part published");
    const root = await call(`${worker.url}/.well-known/jwks.json`, { method: "GET" });
    assert.deepEqual(root.json, jwks.json);
  } finally {
    await worker.stop();
  }

  // 2. The next key is listed (verify-only, private part and all: only its public part is
  //    published), then it signs while the old one stays listed.
  for (const keys of [[k1, { ...k2, key_ops: ["verify"] }], [verifyOnly(k1), k2]]) {
    worker = await start(keys);
    try {
      const published = (await call(`${worker.url}/auth/v1/.well-known/jwks.json`, { method: "GET" })).json.keys;
      assert.deepEqual(published.map((k) => k.kid).sort(), ["key-1", "key-2"]);
      assert.ok(published.every((k) => !("d" in k)));
      const { auth } = client(worker);
      await auth.setSession({ access_token: first.access_token, refresh_token: first.refresh_token });
      const me = await auth.getUser(first.access_token);
      assert.equal(me.error, null, "the old token still works on the server");
      const claims = await client(worker).auth.getClaims(first.access_token);
      assert.equal(claims.error, null, "and verifies through the JWKS");
    } finally {
      await worker.stop();
    }
  }

  // The switched worker signs with key 2.
  worker = await start([verifyOnly(k1), k2]);
  let second;
  try {
    const { auth } = client(worker);
    const { data, error } = await auth.signInWithPassword({ email, password: "a jwks password" });
    assert.equal(error, null);
    second = data.session;
    assert.equal(header(second.access_token).kid, "key-2");
    assert.equal((await client(worker).auth.getClaims(second.access_token)).error, null);
  } finally {
    await worker.stop();
  }

  // 3. The old key goes: its tokens with it, the new key's stay.
  worker = await start([k2]);
  try {
    const old = await client(worker).auth.getUser(first.access_token);
    assert.equal(old.error?.code, "bad_jwt");
    assert.equal(old.error.status, 403);
    assert.equal((await client(worker).auth.getUser(second.access_token)).error, null);
    const published = (await call(`${worker.url}/auth/v1/.well-known/jwks.json`, { method: "GET" })).json.keys;
    assert.deepEqual(published.map((k) => k.kid), ["key-2"]);
  } finally {
    await worker.stop();
  }
});

test("a malformed key set keeps the worker from serving tokens and says what to fix in the log", async () => {
  const worker = await startWorker({ vars: { JWT_KEYS: '[{"kty":"EC","kid":"x","alg":"ES256","key_ops":["sign"]}]' } });
  try {
    const r = await call(`${worker.url}/auth/v1/settings`, { method: "GET" });
    assert.equal(r.status, 500);
    assert.doesNotMatch(r.text, /kty|JWT_KEYS/, "the client learns nothing of the keys");
    assert.match(worker.log(), /JWT_KEYS is invalid: key "x" is not a usable JWK/);
  } finally {
    await worker.stop();
  }
});

test("RS256 keys (upstream's CLI default) sign tokens that getClaims verifies through the JWKS", async () => {
  const rsa = rsaKey("rsa-1");
  const worker = await startWorker({ vars: { MAILER_AUTOCONFIRM: "true", JWT_KEYS: JSON.stringify([rsa, verifyOnly(esKey("es-1"))]) } });
  try {
    const { auth, fetched } = client(worker);
    const email = `rsa-${Date.now()}@example.com`;
    const { data, error } = await auth.signUp({ email, password: "an rsa password" });
    assert.equal(error, null);
    assert.deepEqual(header(data.session.access_token), { alg: "RS256", kid: "rsa-1", typ: "JWT" });
    const claims = await auth.getClaims();
    assert.equal(claims.error, null);
    assert.equal(claims.data.claims.email, email);
    assert.ok(!fetched.includes("/auth/v1/user"), "verified with WebCrypto in the client, not by the server");
    assert.equal((await auth.getUser()).error, null);
    const refreshed = await auth.refreshSession();
    assert.equal(refreshed.error, null);
    assert.equal(header(refreshed.data.session.access_token).alg, "RS256");
    const published = (await call(`${worker.url}/auth/v1/.well-known/jwks.json`, { method: "GET" })).json.keys;
    const [pub] = published.filter((k) => k.kid === "rsa-1");
    assert.deepEqual({ kty: pub.kty, alg: pub.alg, n: pub.n, e: pub.e }, { kty: "RSA", alg: "RS256", n: rsa.n, e: rsa.e });
    for (const secret of ["d", "p", "q", "dp", "dq", "qi"]) assert.ok(!(secret in pub), `${secret} not published`);
  } finally {
    await worker.stop();
  }
});

test("a signing key whose private part is another key's signs nothing, and the log names it", async () => {
  // (An RSA key's d alone would not do: WebCrypto signs with its CRT members.)
  const key = { ...esKey("es-mixed"), d: esKey("other").d };
  const worker = await startWorker({ vars: { MAILER_AUTOCONFIRM: "true", JWT_KEYS: JSON.stringify([key]) } });
  try {
    const r = await call(`${worker.url}/auth/v1/signup`, { method: "POST", body: { email: `mixed-${Date.now()}@example.com`, password: "a mixed password" } });
    assert.equal(r.status, 500, r.text);
    assert.doesNotMatch(r.text, /es-mixed|JWT_KEYS/, "the client learns nothing of the keys");
    assert.match(worker.log(), /JWT_KEYS: key "es-mixed" cannot sign/);
    assert.ok(!worker.log().includes(key.d.slice(0, 16)), "no key material in the log");
  } finally {
    await worker.stop();
  }
});
