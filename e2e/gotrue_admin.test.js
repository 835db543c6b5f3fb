// GoTrue's admin API end to end: @supabase/auth-js `auth.admin` with a service-role key (made by
// scripts/service-role-key.mjs for the e2e secret) against the built worker in workerd, with D1
// and real SMTP into maildev. Deleting or banning an account ends its sessions in every dialect.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import path from "node:path";
import { GoTrueClient } from "@supabase/auth-js";
import { useWorker, startWorker, linkIn, call, root, assertNothingMailed } from "./harness.js";

let n = 0;
const fresh = (tag) => `${tag}-${Date.now()}-${n++}@example.com`;
const PASSWORD = "admin e2e password";
const SECRET = "e2e-jwt-secret-e2e-jwt-secret-e2e-jwt";
let admin, serviceKey;
const env = useWorker({
  mail: true,
  vars: { JWT_SECRET: SECRET },
  ready: () => {
    serviceKey = keyFor();
    admin = adminWith(serviceKey);
  },
});

/** A key from scripts/service-role-key.mjs; `told` gets what it printed for the operator. */
function keyFor(vars = {}, told = {}) {
  const run = spawnSync(process.execPath, [path.join(root, "scripts", "service-role-key.mjs")], {
    env: { ...process.env, JWT_SECRET: SECRET, ...vars },
    encoding: "utf8",
  });
  assert.equal(run.status, 0, run.stderr);
  told.stderr = run.stderr;
  return run.stdout.trim();
}

const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());

const userClient = () => new GoTrueClient({ url: `${env.worker.url}/auth/v1`, autoRefreshToken: false, persistSession: false });
const adminWith = (key) =>
  new GoTrueClient({ url: `${env.worker.url}/auth/v1`, headers: { Authorization: `Bearer ${key}` }, autoRefreshToken: false, persistSession: false }).admin;

test("the script mints keys with an id and a 90-day life and says how to rotate; a revoked id is refused", async () => {
  const told = {};
  const leaked = keyFor({}, told);
  const current = keyFor();
  const claims = claimsOf(leaked);
  assert.equal(claims.role, "service_role");
  assert.match(claims.jti, /^[A-Za-z0-9_-]{16,}$/);
  assert.notEqual(claimsOf(current).jti, claims.jti, "each key its own id");
  assert.equal(claims.exp - claims.iat, 90 * 86400);
  assert.match(told.stderr, new RegExp(`id \\(jti\\): ${claims.jti}`));
  assert.match(told.stderr, /SERVICE_ROLE_REVOKED_IDS/);
  assert.match(told.stderr, /SERVICE_ROLE_REQUIRE_ID/);
  const week = claimsOf(keyFor({ EXPIRES_IN_DAYS: "7" }));
  assert.equal(week.exp - week.iat, 7 * 86400);

  const worker = await startWorker({ vars: { JWT_SECRET: SECRET, SERVICE_ROLE_REVOKED_IDS: claims.jti } });
  try {
    const with_ = (key) => new GoTrueClient({ url: `${worker.url}/auth/v1`, headers: { Authorization: `Bearer ${key}` }, autoRefreshToken: false, persistSession: false }).admin;
    const refused = await with_(leaked).listUsers();
    assert.equal(refused.error?.code, "bad_jwt");
    assert.match(refused.error.message, /revoked/);
    assert.equal((await with_(current).listUsers()).error, null, "the other key still works");
  } finally {
    await worker.stop();
  }
});

test("create, list with pages, get, update and delete, as a Supabase backend does", async () => {
  const emails = [fresh("adm-a"), fresh("adm-b"), fresh("adm-c")];
  const ids = [];
  for (const email of emails) {
    const { data, error } = await admin.createUser({ email, password: PASSWORD, email_confirm: true, user_metadata: { name: email.slice(0, 5) }, app_metadata: { plan: "free" } });
    assert.equal(error, null);
    assert.equal(data.user.email, email);
    assert.ok(data.user.email_confirmed_at);
    assert.deepEqual(data.user.app_metadata, { provider: "email", providers: ["email"], plan: "free" });
    ids.push(data.user.id);
  }

  const page1 = await admin.listUsers({ page: 1, perPage: 2 });
  assert.equal(page1.error, null);
  assert.equal(page1.data.users.length, 2);
  assert.equal(page1.data.users[0].id, ids[2], "newest first");
  assert.equal(page1.data.nextPage, 2);
  assert.ok(page1.data.lastPage >= 2);
  assert.ok(page1.data.total >= 3);
  const page2 = await admin.listUsers({ page: 2, perPage: 2 });
  assert.equal(page2.data.users[0].id, ids[0]);
  // Creating mails nothing (checked after the listing, which the check's own sign-up would join).
  await assertNothingMailed(env, emails);

  const got = await admin.getUserById(ids[1]);
  assert.equal(got.data.user.email, emails[1]);

  const updated = await admin.updateUserById(ids[1], { user_metadata: { name: null, team: "blue" }, app_metadata: { plan: "pro" } });
  assert.equal(updated.error, null);
  assert.deepEqual(updated.data.user.user_metadata, { team: "blue" });
  assert.equal(updated.data.user.app_metadata.plan, "pro");

  const signedIn = await userClient().signInWithPassword({ email: emails[1], password: PASSWORD });
  assert.equal(signedIn.error, null);
  const banned = await admin.updateUserById(ids[1], { ban_duration: "24h" });
  assert.ok(banned.data.user.banned_until);
  const refused = await userClient().signInWithPassword({ email: emails[1], password: PASSWORD });
  assert.equal(refused.error.code, "user_banned");
  // auth-js reads GoTrue's session_not_found as "the session is gone".
  assert.equal((await userClient().getUser(signedIn.data.session.access_token)).error.name, "AuthSessionMissingError", "the ban ended the session");
  await admin.updateUserById(ids[1], { ban_duration: "none" });
  assert.equal((await userClient().signInWithPassword({ email: emails[1], password: PASSWORD })).error, null);

  const deleted = await admin.deleteUser(ids[0]);
  assert.equal(deleted.error, null);
  const gone = await admin.getUserById(ids[0]);
  assert.equal(gone.error.status, 404);
  assert.equal(gone.error.code, "user_not_found");
  const soft = await admin.deleteUser(ids[2], true);
  assert.equal(soft.error, null);
  assert.ok((await admin.getUserById(ids[2])).data.user.deleted_at);
});

test("deleting an account ends its sessions in every dialect", async () => {
  const email = fresh("adm-everywhere");
  const { data } = await admin.createUser({ email, password: PASSWORD, email_confirm: true });
  const gotrue = await userClient().signInWithPassword({ email, password: PASSWORD });
  const feathers = await call(`${env.worker.url}/authentication`, { body: { strategy: "local", email, password: PASSWORD } });
  assert.equal(feathers.status, 201, feathers.text);
  const graphql = await call(`${env.worker.url}/graphql`, {
    body: { query: "mutation($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { token } }", variables: { u: email, p: PASSWORD } },
  });
  const graphqlToken = graphql.json.data.tokenAuth.token;
  const bearer = (t) => ({ method: "GET", headers: { authorization: `Bearer ${t}` } });
  assert.equal((await call(`${env.worker.url}/api/check`, bearer(feathers.json.accessToken))).status, 200);

  assert.equal((await admin.deleteUser(data.user.id)).error, null);
  assert.equal((await userClient().getUser(gotrue.data.session.access_token)).error.name, "AuthSessionMissingError");
  assert.equal((await call(`${env.worker.url}/users/${data.user.id}`, bearer(feathers.json.accessToken))).status, 401);
  assert.equal((await call(`${env.worker.url}/api/check`, bearer(graphqlToken))).status, 401);
  const refresh = await userClient().refreshSession({ refresh_token: gotrue.data.session.refresh_token });
  assert.equal(refresh.error.code, "refresh_token_not_found");
});

test("generateLink hands out a link that works once; inviteUserByEmail mails one, and the invitee sets a password", async () => {
  const email = fresh("adm-link");
  const { data, error } = await admin.generateLink({ type: "signup", email, password: PASSWORD, options: { data: { from: "admin" } } });
  assert.equal(error, null);
  assert.equal(data.user.email, email);
  assert.equal(data.properties.verification_type, "signup");
  assert.match(data.properties.email_otp, /^\d{6}$/);
  await assertNothingMailed(env, email);
  const link = new URL(data.properties.action_link);
  const followed = await call(`${env.worker.url}${link.pathname}${link.search}`, { method: "GET" });
  assert.equal(followed.status, 303);
  assert.ok(new URLSearchParams(new URL(followed.headers.get("location")).hash.slice(1)).get("access_token"));
  assert.equal((await userClient().signInWithPassword({ email, password: PASSWORD })).error, null);
  const again = await userClient().verifyOtp({ token_hash: data.properties.hashed_token, type: "signup" });
  assert.equal(again.error.code, "otp_expired");

  const invitee = fresh("adm-invite");
  const invited = await admin.inviteUserByEmail(invitee, { data: { team: "red" }, redirectTo: "http://127.0.0.1:8787/welcome" });
  assert.equal(invited.error, null);
  assert.equal(invited.data.user.email, invitee);
  const mailed = await env.mail.latest(invitee);
  assert.match(mailed.subject, /invited/);
  const inviteLink = linkIn(mailed);
  assert.equal(inviteLink.searchParams.get("type"), "invite");
  const accepted = await call(`${env.worker.url}${inviteLink.pathname}${inviteLink.search}`, { method: "GET" });
  const location = new URL(accepted.headers.get("location"));
  assert.equal(location.origin + location.pathname, "http://127.0.0.1:8787/welcome");
  const fragment = new URLSearchParams(location.hash.slice(1));
  assert.equal(fragment.get("type"), "invite");
  const client = userClient();
  await client.setSession({ access_token: fragment.get("access_token"), refresh_token: fragment.get("refresh_token") });
  const me = await client.getUser();
  assert.deepEqual(me.data.user.user_metadata, { team: "red" });
  assert.equal((await client.updateUser({ password: PASSWORD })).error, null);
  assert.equal((await userClient().signInWithPassword({ email: invitee, password: PASSWORD })).error, null);
  const twice = await admin.inviteUserByEmail(invitee);
  assert.equal(twice.error.code, "email_exists");
});

test("nobody but the service role gets in, and bad input is a 4xx that changes nothing", async () => {
  const email = fresh("adm-outsider");
  await admin.createUser({ email, password: PASSWORD, email_confirm: true });
  const session = (await userClient().signInWithPassword({ email, password: PASSWORD })).data.session;
  const asUser = await adminWith(session.access_token).listUsers();
  assert.equal(asUser.error.code, "not_admin");
  assert.equal(asUser.error.status, 403);
  const anon = await adminWith(keyFor({})).listUsers();
  assert.equal(anon.error, null, "the script's key is a service-role key");
  const forged = await adminWith(execFileSync(process.execPath, [path.join(root, "scripts", "service-role-key.mjs")], { env: { ...process.env, JWT_SECRET: "not-the-secret-of-this-deployment" }, encoding: "utf8" }).trim()).listUsers();
  assert.equal(forged.error.code, "bad_jwt");
  assert.equal((await call(`${env.worker.url}/auth/v1/admin/users`, { method: "GET" })).status, 401);

  const headers = { authorization: `Bearer ${serviceKey}`, "x-supabase-api-version": "2024-01-01" };
  const before = (await admin.listUsers({ perPage: 1 })).data.total;
  for (const [raw, code] of [
    ['{"email": ', "bad_json"],
    ['{"email": 5}', "bad_json"],
    [JSON.stringify({ email: "x".repeat(300) + "@example.com" }), "validation_failed"],
    [JSON.stringify({ email: email, password: PASSWORD }), "email_exists"],
    [JSON.stringify({ email: fresh("adm-ban"), ban_duration: "forever" }), "validation_failed"],
    ["{}", "validation_failed"],
  ]) {
    const r = await call(`${env.worker.url}/auth/v1/admin/users`, { raw, headers });
    assert.ok(r.status >= 400 && r.status < 500, `${raw}: ${r.status} ${r.text}`);
    assert.equal(r.json.code, code, raw);
  }
  const typed = await call(`${env.worker.url}/auth/v1/admin/generate_link`, { body: { type: ["signup"], email }, headers });
  assert.equal(typed.json.code, "bad_json");
  const badId = await call(`${env.worker.url}/auth/v1/admin/users/not-a-uuid`, { method: "GET", headers });
  assert.equal(badId.status, 404);
  assert.equal(badId.json.message, "user_id must be an UUID");
  const badPage = await call(`${env.worker.url}/auth/v1/admin/users?per_page=0`, { method: "GET", headers });
  assert.equal(badPage.status, 400);
  assert.equal((await admin.listUsers({ perPage: 1 })).data.total, before, "nothing was created");
});
