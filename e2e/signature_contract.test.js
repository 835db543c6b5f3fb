// The signature contract against WebCrypto in workerd: the same suite RustCrypto passes
// natively (shared/tests/signatures.rs), served at POST /__contract/signatures by the e2e
// build of the worker (feature `contract`), which nothing deploys.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { useWorker, call, root } from "./harness.js";

const env = useWorker({ build: "build-contract" });

/** The names of the checks `run_signature_contract` lists, in its order, read from its source. */
function contractChecks() {
  const source = readFileSync(path.join(root, "shared/src/testing/contract/signatures.rs"), "utf8");
  const list = /pub async fn run_signature_contract[^]*?vec!\[([^]*?)\n {4}\]/.exec(source)?.[1] ?? "";
  return [...list.matchAll(/^\s*\("([^"]+)",/gm)].map((m) => m[1]);
}

test("WebCrypto in workerd passes the signature contract", async () => {
  const res = await call(`${env.worker.url}/__contract/signatures`, { method: "POST" });
  assert.equal(res.status, 200, res.text);
  const expected = contractChecks();
  assert.equal(expected.length, 3, "the checks are read from the source");
  assert.deepEqual(res.json.map((check) => check.name), expected);
  for (const check of res.json) assert.equal(check.ok, true, `${check.name}: ${check.error}`);
});
