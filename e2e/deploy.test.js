// The deploy bundle: `wrangler deploy --dry-run` with the shipped wrangler.toml must package
// the built worker, its wasm, the bindings and the assets without contacting Cloudflare.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { root } from "./harness.js";

test("wrangler deploy --dry-run bundles the worker with its D1, KV and vars", async () => {
  const out = mkdtempSync(path.join(tmpdir(), "portcullis-deploy-"));
  try {
    const { stdout } = await promisify(execFile)(
      path.join(root, "node_modules/.bin/wrangler"),
      ["deploy", "--dry-run", "--outdir", out],
      { cwd: root, env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" } },
    );
    assert.match(stdout, /env\.DB \(portcullis\)/);
    assert.match(stdout, /env\.KV/);
    assert.match(stdout, /SMTP_HOST/);
    assert.match(stdout, /--dry-run: exiting now/);
    const files = readdirSync(out);
    assert.ok(files.includes("index.js"), files.join(", "));
    const wasm = files.find((f) => f.endsWith(".wasm"));
    assert.ok(wasm, `a wasm module in ${files.join(", ")}`);
    assert.ok(statSync(path.join(out, wasm)).size > 100_000);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
