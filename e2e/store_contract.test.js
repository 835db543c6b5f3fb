// The storage contract against real D1 in workerd: the same suite the memory store passes
// natively, served at POST /__contract by the e2e build of the worker (feature `contract`),
// which nothing deploys.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { useWorker, call, root } from "./harness.js";

const env = useWorker({ build: "build-contract" });

/** The names of the checks `run_store_contract` lists (shared/src/testing/contract/mod.rs), in its
 * order, read from its source: the D1 run must report every one of them, each passed. (The
 * native test of the memory store pins how many there are.) */
function contractChecks() {
  const source = readFileSync(path.join(root, "shared/src/testing/contract/mod.rs"), "utf8");
  const list = /pub async fn run_store_contract[^]*?vec!\[([^]*?)\n {4}\]/.exec(source)?.[1] ?? "";
  return [...list.matchAll(/^\s*\("([^"]+)",/gm)].map((m) => m[1]);
}

async function runContract() {
  const res = await call(`${env.worker.url}/__contract`, { method: "POST" });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.map((check) => check.name), contractChecks(), "the checks run against D1");
  for (const check of res.json) assert.equal(check.ok, true, `${check.name}: ${check.error}`);
}

test("the D1 store passes the storage contract", runContract);

test("running it again against the same database passes too", runContract);
