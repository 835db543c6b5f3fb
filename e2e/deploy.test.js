// The deploy bundle: `wrangler deploy --dry-run` with the shipped wrangler.toml must package
// the built worker, its wasm, the bindings and the assets without contacting Cloudflare, and
// nothing that exists for tests: no storage contract endpoint or suite.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { root } from "./harness.js";

test("wrangler deploy --dry-run bundles the worker with its D1 and vars, and none of the storage contract", async () => {
  const out = mkdtempSync(path.join(tmpdir(), "portcullis-deploy-"));
  try {
    const { stdout } = await promisify(execFile)(
      path.join(root, "node_modules/.bin/wrangler"),
      ["deploy", "--dry-run", "--outdir", out],
      { cwd: root, env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" } },
    );
    assert.match(stdout, /env\.DB \(portcullis\)/);
    assert.match(stdout, /SMTP_HOST/);
    assert.match(stdout, /--dry-run: exiting now/);
    const files = readdirSync(out);
    assert.ok(files.includes("index.js"), files.join(", "));
    const wasm = files.find((f) => f.endsWith(".wasm"));
    assert.ok(wasm, `a wasm module in ${files.join(", ")}`);
    assert.ok(statSync(path.join(out, wasm)).size > 100_000);
    // Each marker is first shown to be findable, in the build that has the contract, so that
    // its absence from the deploy bundle means the contract is not there.
    const contractBuild = readFileSync(path.join(root, "worker/build-contract/index_bg.wasm"));
    const bundle = readFileSync(path.join(out, wasm));
    for (const marker of TEST_ONLY) {
      assert.ok(contractBuild.includes(marker), `the contract build lacks ${JSON.stringify(marker)}`);
      assert.ok(!bundle.includes(marker), `the deploy bundle contains ${JSON.stringify(marker)}`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

// Strings only the storage contract has: two of its check names and its row ids. (The route's
// path is no marker: the compiler turns that short comparison into integer compares; the e2e
// suites check that the deployable worker answers it 404. The test doubles of feature
// `testing` have no marker: no build of the worker compiles them, so none could be shown.)
const TEST_ONLY = [
  "contract-user-",
  "users: insert then read back by email and by id",
  "sessions: rotation marks the parent once and stores one successor",
];
