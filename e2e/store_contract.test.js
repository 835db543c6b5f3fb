// The storage contract against real D1 in workerd: the same suite the memory store passes
// natively, served at POST /__contract by the e2e build of the worker (feature `contract`),
// which nothing deploys.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useWorker, call } from "./harness.js";

const env = useWorker({ build: "build-contract" });

test("the D1 store passes the storage contract", async () => {
  const res = await call(`${env.worker.url}/__contract`, { method: "POST" });
  assert.equal(res.status, 200, res.text);
  assert.ok(res.json.length >= 12, `${res.json.length} checks`);
  for (const check of res.json) assert.ok(check.ok, `${check.name}: ${check.error}`);
});

test("running it again against the same database passes too", async () => {
  const res = await call(`${env.worker.url}/__contract`, { method: "POST" });
  assert.equal(res.status, 200, res.text);
  for (const check of res.json) assert.ok(check.ok, `${check.name}: ${check.error}`);
});
