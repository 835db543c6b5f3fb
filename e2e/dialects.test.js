// DIALECTS: a deployment serves only the dialects it lists. A GoTrue-only worker in workerd
// exposes no Feathers sign-up, graphql or passwordless API, while auth-js works as ever.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GoTrueClient } from "@supabase/auth-js";
import { useWorker, call } from "./harness.js";

const env = useWorker({ vars: { DIALECTS: "gotrue", MAILER_AUTOCONFIRM: "true" } });

test("a GoTrue-only deployment answers the other dialects' paths 404 and stores nothing", async () => {
  const feathers = await call(`${env.worker.url}/users`, { body: { email: "eve@example.com", password: "pass word 1" } });
  const unknown = await call(`${env.worker.url}/no-such-path`, { body: { email: "eve@example.com", password: "pass word 1" } });
  assert.equal(feathers.status, 404, feathers.text);
  assert.deepEqual(feathers.json, unknown.json, "not told apart from an unknown path");
  const graphql = await call(`${env.worker.url}/graphql`, { body: { query: "{ me { id } }" } });
  assert.equal(graphql.status, 404);
  const passwordless = await call(`${env.worker.url}/auth/registration`, { body: { username: "eve", session_platform: "P" } });
  assert.equal(passwordless.status, 404);
  const rows = await env.worker.db.prepare("SELECT count(*) AS n FROM users").first();
  assert.equal(rows.n, 0);
});

test("GoTrue itself works through auth-js, and /api/check takes its token", async () => {
  const auth = new GoTrueClient({ url: `${env.worker.url}/auth/v1`, persistSession: false, autoRefreshToken: false });
  const { data, error } = await auth.signUp({ email: "ann@example.com", password: "pass word 1" });
  assert.equal(error, null);
  const check = await call(`${env.worker.url}/api/check`, {
    method: "GET",
    headers: { authorization: `Bearer ${data.session.access_token}` },
  });
  assert.equal(check.status, 200, check.text);
  assert.equal(check.json.dialect, "gotrue");
});
