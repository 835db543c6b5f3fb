// The deploy bundle: `wrangler deploy --dry-run` with the shipped wrangler.toml must package
// the built worker, its wasm, the bindings and the assets without contacting Cloudflare, and
// nothing that exists for tests: no storage contract endpoint or suite. The assets it
// publishes are worker/build-assets (scripts/deploy-assets.sh): the demo and guide pages only
// with DEPLOY_DEMO=1, and no page loads a script or style from another origin.
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
    // The assets come from the deploy folder, which holds no page unless DEPLOY_DEMO=1 built it.
    assert.match(stdout, new RegExp(`from the assets directory ${path.join(root, "worker/build-assets")}`));
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

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir, prefix = "") {
  return readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(dir, path.join(prefix, e.name)) : [path.join(prefix, e.name)]);
}

async function deployAssets(extraEnv) {
  const out = mkdtempSync(path.join(tmpdir(), "portcullis-assets-"));
  await promisify(execFile)(path.join(root, "scripts/deploy-assets.sh"), [out], {
    cwd: root,
    env: { ...process.env, DEPLOY_DEMO: "", ...extraEnv },
  });
  try {
    return filesUnder(out).sort();
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

test("make deploy publishes the demo and guide pages only when DEPLOY_DEMO=1 asks", async () => {
  const plain = await deployAssets({});
  assert.ok(plain.includes("socket.io/socket.io.js"), `what a Socket.IO server serves: ${plain.join(", ")}`);
  for (const f of plain) assert.match(f, /^socket\.io\//, `only /socket.io/ by default: ${f}`);
  const built = filesUnder(path.join(root, "worker/build-assets")).sort();
  assert.deepEqual(built, plain, "the build prepared the same folder wrangler.toml deploys");

  const demo = await deployAssets({ DEPLOY_DEMO: "1" });
  for (const f of ["index.html", "feathers-guide.html", "api.html", "pkg/portcullis_client.js", "vendor/feathers.js", "socket.io/socket.io.js"]) {
    assert.ok(demo.includes(f), `${f} in ${demo.join(", ")}`);
  }
});

test("no page under public/ loads a script or style from another origin", () => {
  const pages = readdirSync(path.join(root, "public")).filter((f) => f.endsWith(".html"));
  assert.ok(pages.length >= 3, pages.join(", "));
  for (const page of pages) {
    const html = readFileSync(path.join(root, "public", page), "utf8");
    const loaded = [
      ...[...html.matchAll(/<script\b[^>]*\bsrc\s*=\s*["']?([^"'\s>]+)/gi)].map((m) => m[1]),
      ...[...html.matchAll(/<link\b[^>]*\bhref\s*=\s*["']?([^"'\s>]+)/gi)].map((m) => m[1]),
      ...[...html.matchAll(/\bimport\s*(?:[^"'()]*?\bfrom\s*)?\(?\s*["']([^"']+)["']/g)].map((m) => m[1]),
      ...[...html.matchAll(/@import\s+(?:url\()?\s*["']?([^"')\s;]+)/gi)].map((m) => m[1]),
      ...[...html.matchAll(/loadScript\(\s*["'`]([^"'`]+)/g)].map((m) => m[1]),
    ];
    assert.ok(loaded.length > 0 || page === "api.html", `${page} loads something`);
    for (const url of loaded) {
      const sameOrigin = url.startsWith("data:") || (!/^[a-z][a-z0-9+.-]*:/i.test(url) && !url.startsWith("//"));
      assert.ok(sameOrigin, `${page} loads ${url} from another origin`);
    }
  }
});
