// The graphql-jwt dialect end to end with graphql-request (and graphql-js for the standard
// introspection query) against the built worker in workerd with D1 and the mail catcher:
// tokenAuth by username and by email, verifyToken, refreshToken, me with each header form,
// long-running refresh tokens, /api/check, and documents that must be refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GraphQLClient, ClientError, gql } from "graphql-request";
import { getIntrospectionQuery, buildClientSchema, printSchema } from "graphql";
import { useWorker, call } from "./harness.js";

const env = useWorker({ mail: true, workers: { worker: {}, longRunning: { vars: { GRAPHQL_JWT_LONG_RUNNING_REFRESH_TOKEN: "true" } } } });
let n = 0;
const unique = (tag) => `${tag}${Date.now() % 1e7}${n++}`;

const TOKEN_AUTH = gql`
  mutation TokenAuth($username: String!, $password: String!) {
    tokenAuth(username: $username, password: $password) { token payload refreshExpiresIn refreshToken }
  }
`;
const VERIFY = gql`mutation Verify($token: String!) { verifyToken(token: $token) { payload } }`;
const REFRESH = gql`mutation Refresh($token: String!) { refreshToken(token: $token) { token payload refreshExpiresIn } }`;
const ME = gql`{ me { id username email } }`;

const client = (w = env.worker, headers = {}) => new GraphQLClient(`${w.url}/graphql`, { headers });

/** An account with a username and a confirmed address with a password, made the way a user
 * would: passwordless registration with an email, the emailed confirmation, then a password
 * through GoTrue's recovery. */
async function account(w = env.worker) {
  const username = unique("ada");
  const email = `${username.toLowerCase()}@example.com`;
  const reg = await call(`${w.url}/auth/registration`, { body: { username, email, session_platform: "Laptop" } });
  assert.equal(reg.status, 200, reg.text);
  const confirm = (await env.mail.latest(email)).text.match(/https?:\/\/\S+\/auth\/email\/confirm\?token=(\S+)/)[1];
  const done = await call(`${w.url}/auth/email/confirm`, {
    raw: `token=${confirm}`,
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  assert.equal(done.status, 200, done.text);
  assert.equal((await call(`${w.url}/auth/v1/recover`, { body: { email } })).status, 200);
  const code = /code is: (\d{6})/.exec((await env.mail.latest(email, { after: 1 })).text)[1];
  const session = await call(`${w.url}/auth/v1/verify`, { body: { type: "recovery", email, token: code } });
  assert.equal(session.status, 200, session.text);
  const set = await call(`${w.url}/auth/v1/user`, {
    method: "PUT",
    body: { password: "correct horse" },
    headers: { authorization: `Bearer ${session.json.access_token}` },
  });
  assert.equal(set.status, 200, set.text);
  return { username, email };
}

/** The GraphQL errors of a refused request. */
async function errorsOf(promise) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof ClientError, String(e));
    return { status: e.response.status, errors: e.response.errors, data: e.response.data };
  }
  assert.fail("expected the request to be refused");
}

test("tokenAuth by username and by email, verifyToken, refreshToken, me, /api/check", async () => {
  const { username, email } = await account();
  const byName = (await client().request(TOKEN_AUTH, { username, password: "correct horse" })).tokenAuth;
  const byEmail = (await client().request(TOKEN_AUTH, { username: email, password: "correct horse" })).tokenAuth;
  for (const t of [byName, byEmail]) {
    assert.equal(t.payload.username, username);
    assert.equal(t.payload.exp - t.payload.origIat, 7200);
    assert.equal(t.refreshExpiresIn, t.payload.origIat + 7 * 86400);
    assert.equal(t.refreshToken, null);
  }
  const verified = (await client().request(VERIFY, { token: byName.token })).verifyToken;
  assert.deepEqual(verified.payload, byName.payload);

  const refreshed = (await client().request(REFRESH, { token: byName.token })).refreshToken;
  assert.equal(refreshed.payload.origIat, byName.payload.origIat, "origIat kept");
  assert.equal(refreshed.refreshExpiresIn, byName.payload.origIat + 7 * 86400);

  for (const headers of [
    { authorization: `JWT ${refreshed.token}` },
    { Authentication: `JWT ${refreshed.token}` },
    { authorization: `Bearer ${refreshed.token}` },
  ]) {
    const { me } = await client(env.worker, headers).request(ME);
    assert.deepEqual(me, { id: byName.payload.sub, username, email });
  }
  const check = await call(`${env.worker.url}/api/check`, { method: "GET", headers: { authorization: `JWT ${byName.token}` } });
  assert.equal(check.status, 200, check.text);
  assert.equal(check.json.username, username);
});

test("wrong credentials and forged tokens get upstream's errors with the field null", async () => {
  const { username } = await account();
  const wrong = await errorsOf(client().request(TOKEN_AUTH, { username, password: "wrong" }));
  assert.equal(wrong.status, 200);
  assert.equal(wrong.errors[0].message, "Please enter valid credentials");
  assert.deepEqual(wrong.errors[0].path, ["tokenAuth"]);
  assert.ok(wrong.errors[0].locations[0].line >= 1);
  assert.deepEqual(wrong.data, { tokenAuth: null });

  const real = (await client().request(TOKEN_AUTH, { username, password: "correct horse" })).tokenAuth.token;
  const [h, p] = real.split(".");
  for (const [token, message] of [
    ["garbage", "Error decoding signature"],
    [`${h}.${p}.${"A".repeat(43)}`, "Error decoding signature"],
    [`${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${p}.`, "Error decoding signature"],
  ]) {
    const r = await errorsOf(client().request(VERIFY, { token }));
    assert.equal(r.errors[0].message, message, token);
  }
  const me = await errorsOf(client(env.worker, { authorization: "JWT nonsense" }).request(ME));
  assert.equal(me.errors[0].message, "Error decoding signature");
  const anonymous = await errorsOf(client().request(ME));
  assert.equal(anonymous.errors[0].message, "You do not have permission to perform this action");
});

test("long-running refresh tokens rotate, and revokeToken ends the session", async () => {
  const { username } = await account(env.longRunning);
  const c = client(env.longRunning);
  const first = (await c.request(TOKEN_AUTH, { username, password: "correct horse" })).tokenAuth;
  assert.match(first.refreshToken, /^[\w-]{22}\.[\w-]{43}$/);
  const rotate = gql`mutation($r: String!) { refreshToken(refreshToken: $r) { token refreshToken payload } }`;
  const second = (await c.request(rotate, { r: first.refreshToken })).refreshToken;
  assert.notEqual(second.refreshToken, first.refreshToken);
  const revoke = gql`mutation($r: String!) { revokeToken(refreshToken: $r) { revoked } }`;
  const { revokeToken } = await c.request(revoke, { r: second.refreshToken });
  assert.ok(Math.abs(revokeToken.revoked - Date.now() / 1000) < 60);
  const after = await errorsOf(c.request(rotate, { r: second.refreshToken }));
  assert.equal(after.errors[0].message, "Invalid refresh token");
  const dead = await errorsOf(c.request(VERIFY, { token: second.token }));
  assert.equal(dead.errors[0].message, "Invalid token");
  const check = await call(`${env.longRunning.url}/api/check`, { method: "GET", headers: { authorization: `JWT ${second.token}` } });
  assert.equal(check.status, 401);
});

test("the standard introspection query works and describes the schema", async () => {
  const result = await client().request(getIntrospectionQuery());
  const sdl = printSchema(buildClientSchema(result));
  assert.match(sdl, /tokenAuth\(username: String!, password: String!\): ObtainJSONWebToken/);
  assert.match(sdl, /verifyToken\(token: String\): Verify/);
  assert.match(sdl, /scalar GenericScalar/);
  assert.match(sdl, /me: UserType/);
});

test("malformed, invalid, batched and oversized documents are refused with a clear error, never a 5xx", async () => {
  const url = `${env.worker.url}/graphql`;
  const deep = `{ __schema { types { fields { type { ${"ofType { ".repeat(14)} name ${"}".repeat(14)} } } } } }`;
  const cases = [
    ["malformed JSON", { raw: '{"query": ' }, 400, /invalid JSON/],
    ["batched", { body: [{ query: "{ me { id } }" }] }, 400, /Batch/],
    ["no query", { body: { variables: {} } }, 400, /Must provide query string/],
    ["syntax error", { body: { query: "mutation { tokenAuth(" } }, 400, /./],
    ["unknown field", { body: { query: "{ secrets }" } }, 400, /Unknown field/],
    ["wrong variable type", { body: { query: TOKEN_AUTH, variables: { username: 5, password: "x" } } }, 400, /username/],
    ["too deep", { body: { query: deep } }, 400, /nested too deep/],
    ["too many sign-ins", { body: { query: `mutation { ${[0, 1, 2, 3, 4].map((i) => `l${i}: tokenAuth(username: "a", password: "b") { token }`).join(" ")} }` } }, 400, /too complex/],
    ["oversized", { raw: JSON.stringify({ query: "{ me { id } }", pad: "x".repeat(70000) }) }, 413, /too large/],
    ["GET", { method: "GET" }, 405, /POST/],
  ];
  for (const [name, opts, status, message] of cases) {
    const r = await call(url, opts);
    assert.equal(r.status, status, `${name}: ${r.text}`);
    assert.match(r.json.errors[0].message, message, `${name}: ${r.text}`);
  }
});

/** Fragments that each spread the next twice: 2^levels selections of `leaf`. */
function fragmentBomb(levels, leaf) {
  let q = "query { ...F0 }\n";
  for (let i = 0; i < levels; i++) q += `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }\n`;
  return q + `fragment F${levels} on Query { ${leaf} }\n`;
}

test("hostile documents are refused with 400 while sign-ins sent at the same moment succeed", async (t) => {
  const a = await account();
  const hostile = [
    `mutation { tokenAuth(username: ${"[".repeat(2000)}"x"${"]".repeat(2000)}, password: "x") { token } }`,
    fragmentBomb(24, "me { id username }"),
    fragmentBomb(24, "__typename"),
  ];
  const signIns = Array.from({ length: 8 }, () => client().request(TOKEN_AUTH, { username: a.username, password: "correct horse" }));
  const refused = hostile.map((query) => call(`${env.worker.url}/graphql`, { body: { query } }));
  const started = Date.now();
  const answers = await Promise.all(refused);
  const took = Date.now() - started;
  for (const r of answers) {
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.errors[0].message, /nested too deeply|too many selections/);
  }
  for (const s of await Promise.all(signIns)) assert.ok(s.tokenAuth.token);
  // Not an assertion on time; the figure goes in the notes.
  t.diagnostic(`three hostile documents answered in ${took} ms (wall clock, with 8 sign-ins in flight)`);
});

test("tokenAuth guesses from one client are throttled: graphql-request sees the error, the owner elsewhere signs in", async () => {
  const a = await account();
  const from = (ip) => client(env.worker, { "cf-connecting-ip": ip });
  const guess = (ip, password) => from(ip).request(TOKEN_AUTH, { username: a.username, password }).then((d) => ({ data: d }), (e) => ({ errors: e.response?.errors }));
  for (let i = 0; i < 10; i++) {
    assert.equal((await guess("198.51.100.9", `guess ${i}`)).errors?.[0]?.message, "Please enter valid credentials");
  }
  assert.equal((await guess("198.51.100.9", "correct horse")).errors?.[0]?.message, "Too many attempts; try again later");
  assert.ok((await guess("203.0.113.11", "correct horse")).data?.tokenAuth?.token);
});
