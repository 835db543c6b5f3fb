// The storage contract against real D1 in workerd: the same suite the memory store passes
// natively, served at POST /__contract by the e2e build of the worker (feature `contract`),
// which nothing deploys.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, call } from "./harness.js";

let worker;
before(async () => {
  worker = await startWorker({ build: "build-contract" });
});
after(async () => {
  await worker?.stop();
});

test("the D1 store passes the storage contract", async () => {
  const res = await call(`${worker.url}/__contract`, { method: "POST" });
  assert.equal(res.status, 200, res.text);
  assert.ok(res.json.length >= 12, `${res.json.length} checks`);
  for (const check of res.json) assert.ok(check.ok, `${check.name}: ${check.error}`);
});

test("running it again against the same database passes too", async () => {
  const res = await call(`${worker.url}/__contract`, { method: "POST" });
  assert.equal(res.status, 200, res.text);
  for (const check of res.json) assert.ok(check.ok, `${check.name}: ${check.error}`);
});
