// The e2e harness: the built worker in workerd (through Miniflare) with a real D1 database and
// a real mail catcher (maildev) that the worker reaches over SMTP through a Workers TCP socket.
// Each suite gets its own ports and an empty database; `useWorker` starts and stops them.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Miniflare } from "miniflare";
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** The [vars] of wrangler.toml (flat `KEY = "value"` lines), so tests run the shipped config. */
export function wranglerVars() {
  const toml = readFileSync(path.join(root, "wrangler.toml"), "utf8");
  const section = toml.split(/^\[vars\]\s*$/m)[1]?.split(/^\[/m)[0] ?? "";
  const vars = {};
  for (const m of section.matchAll(/^([A-Z0-9_]+)\s*=\s*"([^"]*)"/gm)) vars[m[1]] = m[2];
  return vars;
}

export async function startMailCatcher() {
  const smtpPort = await freePort();
  const webPort = await freePort();
  const bin = path.join(root, "node_modules", ".bin", "maildev");
  const proc = spawn(bin, ["--ip", "127.0.0.1", "--smtp", String(smtpPort), "--web", String(webPort)], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let log = "";
  proc.stdout.on("data", (d) => (log += d));
  proc.stderr.on("data", (d) => (log += d));
  const api = `http://127.0.0.1:${webPort}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${api}/api/email`)).ok) break;
    } catch {}
    if (proc.exitCode !== null) throw new Error(`maildev exited: ${log}`);
    await sleep(100);
  }
  return {
    smtpPort,
    api,
    /** Every mail to `to`, oldest first. */
    async mailsTo(to) {
      const all = await (await fetch(`${api}/api/email`)).json();
      return all.filter((m) => m.to.some((r) => r.address === to));
    },
    /** The newest mail to `to`, waiting briefly for it to arrive. */
    async latest(to, { after = 0 } = {}) {
      for (let i = 0; i < 50; i++) {
        const mails = await this.mailsTo(to);
        if (mails.length > after) return mails[mails.length - 1];
        await sleep(100);
      }
      throw new Error(`no mail to ${to}`);
    },
    async stop() {
      try {
        process.kill(-proc.pid, "SIGTERM");
      } catch {}
    },
  };
}

/**
 * Asserts that the worker mailed nothing to `to` (an address or a list of them), in a way that
 * fails when mail is broken rather than absent. After whatever the test did, a GoTrue sign-up
 * of a fresh address makes the worker mail that address; that mail must arrive (delivery works,
 * and a mail the test's earlier requests queued has had its turn) and the worker must have
 * logged no undelivered mail. Only then does an empty inbox for `to` mean that none was sent.
 */
export async function assertNothingMailed({ worker, mail }, to) {
  const witness = `witness-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const signUp = await call(`${worker.url}/auth/v1/signup`, { body: { email: witness, password: "witness password" } });
  assert.equal(signUp.status, 200, signUp.text);
  await mail.latest(witness);
  assert.doesNotMatch(worker.log(), /mail not delivered/, "a mail failed to go out");
  for (const address of [to].flat()) {
    assert.deepEqual((await mail.mailsTo(address)).map((m) => m.subject), [], `mail to ${address}`);
  }
}

export function codeIn(mail) {
  const m = /code is: (\d{6})/.exec(mail.text);
  if (!m) throw new Error(`no code in mail: ${mail.text}`);
  return m[1];
}

export function linkIn(mail) {
  const m = /(https?:\/\/\S+\/verify\?token=\S+)/.exec(mail.text);
  if (!m) throw new Error(`no link in mail: ${mail.text}`);
  return new URL(m[1]);
}

/** Splits a migration file into statements (no semicolons inside our SQL strings). */
function statements(sql) {
  return sql
    .split("\n")
    .map((l) => l.replace(/--.*$/, ""))
    .join("\n")
    .split(";")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Starts the worker; `vars` override wrangler.toml's; `log()` is what it has logged so far. Storage is fresh and in memory unless
 * `persist` names a directory, which lets a second worker see the first one's D1. `build` is
 * the folder under worker/: `build` (what deploys) or `build-contract` (the same worker with the
 * storage contract at POST /__contract, built by `scripts/build.sh --with-contract`). `entry`,
 * a module's path from the repository's root, is the entry module instead of the build's own:
 * one that wraps the built worker (it must export the build's `SocketConnection` too), such as
 * e2e/d1_trips.mjs. */
export async function startWorker({ mail, vars = {}, persist, build = "build", entry } = {}) {
  const bindings = {
    ...wranglerVars(),
    JWT_SECRET: "e2e-jwt-secret-e2e-jwt-secret-e2e-jwt",
    SMTP_PORT: String(mail?.smtpPort ?? 9),
    ...vars,
  };
  const port = await freePort();
  bindings.API_EXTERNAL_URL = `http://127.0.0.1:${port}`;
  let log = "";
  const mf = new Miniflare({
    // What the worker logs (console.error), for tests that check what reaches the log.
    handleRuntimeStdio(stdout, stderr) {
      stdout.on("data", (d) => (log += d));
      stderr.on("data", (d) => (log += d));
    },
    modules: true,
    rootPath: root,
    scriptPath: entry ? path.join(root, entry) : path.join(root, "worker", build, "index.js"),
    modulesRules: [
      { type: "CompiledWasm", include: ["**/*.wasm"] },
      // What an entry module imports: other .mjs modules, and the build, an ES module although
      // it ends in .js.
      ...(entry ? [{ type: "ESModule", include: ["**/*.mjs", "**/worker/build*/*.js"] }] : []),
    ],
    compatibilityDate: "2026-04-20",
    d1Databases: ["DB"],
    // Like wrangler.toml's [[durable_objects.bindings]]: one object per Socket.IO connection.
    durableObjects: { SOCKETS: "SocketConnection" },
    bindings,
    host: "127.0.0.1",
    port,
    cf: false,
    // public/, as `make dev` serves it (wrangler dev --assets public): the demo and guide pages
    // and the client package (built into public/pkg). A deploy publishes worker/build-assets.
    assets: { directory: path.join(root, "public"), routerConfig: { has_user_worker: true } },
    ...(persist
      ? { d1Persist: path.join(persist, "d1"), durableObjectsPersist: path.join(persist, "do") }
      : {}),
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  const db = await mf.getD1Database("DB");
  await migrate(db);
  return { url, db, mf, log: () => log, stop: () => mf.dispose() };
}

/**
 * Registers the suite's `before` and `after` hooks that start and stop what it runs against, and
 * returns the object `before` fills in: `mail` (a mail catcher, with `mail: true`), the workers
 * (by default one, `worker`, with `vars`, `build` and `entry` as for `startWorker`; or several,
 * named by `workers: { name: { vars, build, entry } }`, all sending mail to the one catcher) and `browser`
 * (headless Chromium, with `browser: true`). `ready(env)` runs last in the same hook: Node 20
 * starts a file's top-level `before` hooks without waiting for the one before, so a suite's own
 * hook would not see what this one starts.
 */
export function useWorker({ mail = false, browser = false, vars, build, entry, workers = { worker: { vars, build, entry } }, ready } = {}) {
  const env = { mail: null, browser: null, ...Object.fromEntries(Object.keys(workers).map((name) => [name, null])) };
  before(async () => {
    if (mail) env.mail = await startMailCatcher();
    // Side by side; each kept as soon as it runs, so that `after` stops it even if another failed.
    const started = await Promise.allSettled(
      Object.entries(workers).map(async ([name, opts]) => {
        env[name] = await startWorker({ mail: env.mail ?? undefined, ...opts });
      }),
    );
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    if (browser) env.browser = await launchChromium();
    await ready?.(env);
  });
  after(async () => {
    await env.browser?.close();
    for (const name of Object.keys(workers)) await env[name]?.stop();
    await env.mail?.stop();
  });
  return env;
}

/** Like `wrangler d1 migrations apply`: each file of migrations/ once, recorded in d1_migrations;
 * with `before`, only the files whose names sort before it (to test a migration on old data). */
export async function migrate(db, { before } = {}) {
  await db.prepare("CREATE TABLE IF NOT EXISTS d1_migrations (name TEXT PRIMARY KEY)").run();
  const dir = path.join(root, "migrations");
  const files = readdirSync(dir).filter((f) => f.endsWith(".sql") && (!before || f < before));
  for (const file of files.sort()) {
    if (await db.prepare("SELECT 1 FROM d1_migrations WHERE name = ?").bind(file).first()) continue;
    const sql = statements(readFileSync(path.join(dir, file), "utf8"));
    await db.batch([...sql.map((s) => db.prepare(s)), db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(file)]);
  }
}

/** POSTs `mib` MiB to `url` + `path` as a chunked body (no Content-Length) and returns the
 * answer's status and body; rejects if the connection closes without an answer. */
export function chunkedPost(url, path, mib) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let answered = false;
    let lastError;
    // A fresh connection each: one reused after an early 413 still owes the unread body.
    const req = http.request({ host: hostname, port, path, method: "POST", agent: false, headers: { "content-type": "application/json" } }, (res) => {
      answered = true;
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode, text }));
      res.on("error", reject);
    });
    // The worker may answer and close before the body is all sent.
    req.on("error", (e) => (e.code === "EPIPE" || e.code === "ECONNRESET" ? (lastError = e) : reject(e)));
    req.on("close", () => answered || reject(new Error(`${path}: no answer (${lastError?.code ?? "closed"})`)));
    const chunk = Buffer.alloc(1 << 20, 0x20);
    let sent = 0;
    const pump = () => {
      while (sent < mib) {
        sent++;
        if (!req.write(chunk)) return req.once("drain", pump);
      }
      req.end();
    };
    pump();
  });
}

/** Raw JSON request helper for the bad-input tables. */
export async function call(url, { method = "POST", body, headers = {}, raw } = {}) {
  const res = await fetch(url, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    redirect: "manual",
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, json, text };
}

/** A browser tab's localStorage for auth-js (`storage`), in memory; `items` is what it holds. */
export function memoryStorage() {
  const items = new Map();
  return {
    items,
    getItem: (k) => items.get(k) ?? null,
    setItem: (k, v) => void items.set(k, v),
    removeItem: (k) => void items.delete(k),
  };
}

/** Headless Chromium from Debian's package, with the flags docs/toolchain.md lists. */
export function launchChromium() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
}
