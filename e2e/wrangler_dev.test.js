// `make dev` serves the worker through `wrangler dev`, whose proxy (a second workerd, in front of
// the worker's) forwards each request over a local connection. Started here with the command
// line `make dev` uses (scripts/wrangler-dev.sh), on its own ports and state folder: a body the
// worker refuses as too large gets the 413 in the dialect's shape, as in plain workerd (see
// hostile_requests.test.js), and not wrangler's 503 "Your worker restarted mid-request".
// And the throttles believe no CF-Connecting-IP a local client sends (RATE_LIMIT_HEADER none).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import path from "node:path";
import { chunkedPost, freePort, root } from "./harness.js";

const dev = { url: null, proc: null, log: "", dir: null };

before(async () => {
  dev.dir = mkdtempSync(path.join(tmpdir(), "portcullis-wrangler-dev-"));
  // Its own secrets file, so a developer's .dev.vars plays no part.
  writeFileSync(path.join(dev.dir, "test.env"), "JWT_SECRET=wrangler-dev-e2e-secret-wrangler-dev-e2e\n");
  // Migrated as make dev migrates it (scripts/dev.sh), into this suite's own state folder.
  execFileSync(path.join(root, "node_modules", ".bin", "wrangler"),
    ["d1", "migrations", "apply", "DB", "--local", "--persist-to", path.join(dev.dir, "state")],
    { cwd: root, stdio: "ignore", env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" } });
  const [port, inspector] = [await freePort(), await freePort()];
  const args = ["--port", String(port), "--inspector-port", String(inspector),
    "--persist-to", path.join(dev.dir, "state"), "--env-file", path.join(dev.dir, "test.env")];
  // Its own process group: wrangler runs node, two workerd and esbuild under it.
  dev.proc = spawn(path.join(root, "scripts", "wrangler-dev.sh"), args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  dev.proc.stdout.on("data", (d) => (dev.log += d));
  dev.proc.stderr.on("data", (d) => (dev.log += d));
  dev.url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (dev.proc.exitCode !== null) throw new Error(`wrangler dev exited: ${dev.log}`);
    try {
      if ((await fetch(`${dev.url}/health`)).ok) return;
    } catch {}
    await sleep(100);
  }
  throw new Error(`wrangler dev did not answer /health: ${dev.log}`);
});

after(async () => {
  if (dev.proc && dev.proc.exitCode === null) {
    const exited = new Promise((resolve) => dev.proc.once("exit", resolve));
    // wrangler stops on SIGINT; TERM (then KILL) the group if it has not within a few seconds.
    for (const signal of ["SIGINT", "SIGTERM", "SIGKILL"]) {
      try {
        process.kill(-dev.proc.pid, signal);
      } catch {}
      if (await Promise.race([exited.then(() => true), sleep(5000).then(() => false)])) break;
    }
  }
  if (dev.dir) rmSync(dev.dir, { recursive: true, force: true });
});

test("under wrangler dev a 20 MB chunked body gets the dialect's 413, never wrangler's 503", async () => {
  // Socket.IO's polling POST without a session is refused (400) by its own rules, after the body.
  const paths = [
    ["/auth/v1/signup", 413, /request_too_large/],
    ["/authentication", 413, /PayloadTooLarge/],
    ["/graphql", 413, /too large/],
    ["/socket.io/?EIO=4&transport=polling", 400, /Bad handshake method/],
  ];
  // Each lost answer is a race, so several tries a path (about a third were lost before).
  const wrong = [];
  for (const [route, status, shape] of paths) {
    for (let i = 0; i < 3; i++) {
      const res = await chunkedPost(dev.url, route, 20).catch((e) => ({ status: 0, text: e.message }));
      if (res.status !== status || !shape.test(res.text)) wrong.push(`${route}: ${res.status} ${res.text.slice(0, 100)}`);
    }
  }
  assert.deepEqual(wrong, [], `answers other than the dialect's:\n${wrong.join("\n")}`);
  assert.equal(dev.proc.exitCode, null, `wrangler dev stopped: ${dev.log}`);
});

test("under wrangler dev a client cannot pick its own address: CF-Connecting-IP is not believed", async () => {
  // Locally any client may send any CF-Connecting-IP; make dev believes none (RATE_LIMIT_HEADER
  // none), so guesses that each claim another address are still one client's, and that client
  // gets LOGIN_MAX_PER_CLIENT (10) guesses at an account, not LOGIN_MAX_PER_ACCOUNT (20).
  const email = `guessed-${Date.now()}@example.com`;
  const statuses = [];
  for (let i = 0; i < 12; i++) {
    const res = await fetch(`${dev.url}/auth/v1/token?grant_type=password`, {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": `203.0.113.${i + 1}` },
      body: JSON.stringify({ email, password: `guess ${i}` }),
    });
    statuses.push(`${res.status} ${(await res.json()).error_code}`);
  }
  assert.deepEqual(statuses, [...Array(10).fill("400 invalid_credentials"), ...Array(2).fill("429 over_request_rate_limit")]);
});

test("under wrangler dev the hourly purge runs on demand at /__scheduled, as make dev documents", async () => {
  const res = await fetch(`${dev.url}/__scheduled?cron=17+*+*+*+*`);
  assert.equal(res.status, 200, await res.text());
  for (let i = 0; i < 50 && !/portcullis purge:/.test(dev.log); i++) await sleep(100);
  assert.match(dev.log, /portcullis purge: sessions=\d+/);
});
