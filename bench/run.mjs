// `make bench`: Portcullis side by side with its floor and its peer, in one run, as a table.
//
// - Portcullis: the built worker (worker/build, what deploys) in workerd through Miniflare, with
//   local D1. Not `wrangler dev`, whose inspector relay adds CPU to every D1 query.
// - The floor: an empty worker in the same workerd.
// - The peer: upstream FeathersJS v5 (bench/feathers-server.mjs) in its own Node process.
//
// CPU is each serving process's own accounting (utime + stime from /proc/<pid>/stat, which
// covers all its threads), read before and after a batch of requests, so the load generator's
// CPU is not counted. Batches are interleaved A/B/C in every round; the table gives the median
// over rounds with min-max. D1 round trips are counted in a separate instance whose D1 binding
// is wrapped (bench/count-d1.mjs) and never timed. Argon2id is measured alone in the e2e build
// (bench/argon2.mjs) against Debian's native `argon2`. With BENCH_ACCOUNTS=N (up to a million)
// it also fills D1 with N accounts, in steps, and measures sign-in and /api/check at each step.
// Every figure the issue asks for is printed with its target beside it. Not part of `make test`.
import { Miniflare } from "miniflare";
import { spawn, execFileSync } from "node:child_process";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import path from "node:path";
import { freePort, migrate, root, wranglerVars } from "../e2e/harness.js";
import { ARGON2_PARAMS, nativeArgon2Ms, workerArgon2Ms } from "./argon2.mjs";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CHECKS = Number(process.env.BENCH_CHECKS ?? 2000);
const LOGINS = Number(process.env.BENCH_LOGINS ?? 48);
const REFRESHES = Number(process.env.BENCH_REFRESHES ?? 200);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 0);
const CONCURRENCY = 8;
const TICK_MS = 1000 / Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());
const PASSWORD = "bench password 1";

// ---------------------------------------------------------------- processes and their CPU

/** utime + stime of `pid`, in milliseconds. */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** Our child processes named `comm`. */
function children(comm) {
  const found = new Set();
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && name === comm) found.add(Number(pid));
    } catch {}
  }
  return found;
}

const workerBindings = () => ({
  ...wranglerVars(),
  JWT_SECRET: "bench-jwt-secret-bench-jwt-secret-bench",
  MAILER_AUTOCONFIRM: "true",
  SMTP_PORT: "9",
  // Every bench request comes from one client: lift the throttles (their cost is still paid).
  CLIENT_MAX_ATTEMPTS: "10000000",
  LOGIN_MAX_PER_CLIENT: "100000",
});

// The built worker is an ES module even though it ends in .js (bench/count-d1.mjs imports it);
// the round-trip counters are .mjs modules that import one another.
const wasmRule = [
  { type: "CompiledWasm", include: ["**/*.wasm"] },
  { type: "ESModule", include: ["**/*.mjs", "**/worker/build/*.js", "**/worker/build-contract/*.js"] },
];

/** Starts a Miniflare instance; returns its URL, its workerd's pid and how long it took to the
 * first answer of `probe`. */
async function startMiniflare(options, probe = "/health") {
  const before = children("workerd");
  const port = await freePort();
  const t0 = performance.now();
  const mf = new Miniflare({ modules: true, compatibilityDate: "2026-04-20", host: "127.0.0.1", port, cf: false, ...options });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  const readyMs = performance.now() - t0;
  const first = await fetch(url + probe);
  await first.arrayBuffer();
  const coldMs = performance.now() - t0;
  const pid = [...children("workerd")].find((p) => !before.has(p));
  if (!pid) throw new Error("could not find the workerd process");
  return { mf, url, pid, coldMs, firstMs: coldMs - readyMs };
}

/** `vars` override the bench's bindings. */
async function startPortcullis(scriptPath = path.join(root, "worker/build/index.js"), vars = {}) {
  const w = await startMiniflare({
    rootPath: root,
    scriptPath,
    modulesRules: wasmRule,
    d1Databases: ["DB"],
    bindings: { ...workerBindings(), ...vars },
  });
  await migrate(await w.mf.getD1Database("DB"));
  return w;
}

/** JWT_KEYS with one new ES256 signing key, as scripts/jwt-key.mjs makes it. */
function es256Keys() {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return JSON.stringify([{ ...privateKey.export({ format: "jwk" }), kid: randomUUID(), alg: "ES256", key_ops: ["sign", "verify"] }]);
}

/** The empty worker; `withD1`: with a D1 binding as Portcullis has, which Miniflare serves
 * with a service of its own that starts with it. */
function startEmpty(withD1 = false) {
  return startMiniflare(
    {
      script: `export default { fetch() { return new Response("{}", { headers: { "content-type": "application/json" } }); } };`,
      ...(withD1 ? { d1Databases: ["DB"] } : {}),
    },
    "/",
  );
}

/** A JS worker that answers each request with the select `/api/check` makes (a session joined
 * with its account, by id) against its own local D1: in Miniflare, D1 runs in the same workerd
 * process, so its CPU is in every figure of a request that reads D1. This is that floor. */
async function startD1Floor() {
  const w = await startMiniflare(
    {
      d1Databases: ["DB"],
      script: `export default { async fetch(req, env) {
        const row = await env.DB.prepare("SELECT s.*, u.* FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?1").bind("s1").first();
        return Response.json({ ok: row !== null });
      } };`,
    },
    "/",
  );
  const db = await w.mf.getD1Database("DB");
  await migrate(db);
  await db.prepare("INSERT INTO users (id, email, created_at, updated_at) VALUES ('u1', 'floor@example.com', 0, 0)").run();
  await db.prepare("INSERT INTO sessions (id, user_id, method, created_at) VALUES ('s1', 'u1', 'password', 0)").run();
  return w;
}

/** An empty worker that imports the built worker's wasm module and never instantiates it: what
 * loading and compiling the module costs a cold start by itself. */
function startCompileOnly() {
  return startMiniflare(
    {
      modules: [
        { type: "ESModule", path: "index.mjs", contents: `import wasm from "./index_bg.wasm"; export default { fetch() { return new Response(String(wasm instanceof WebAssembly.Module)); } };` },
        { type: "CompiledWasm", path: "index_bg.wasm", contents: readFileSync(path.join(root, "worker/build/index_bg.wasm")) },
      ],
    },
    "/",
  );
}

async function startFeathers() {
  const port = await freePort();
  const t0 = performance.now();
  const proc = spawn(process.execPath, [path.join(root, "bench/feathers-server.mjs"), String(port)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise((resolve, reject) => {
    proc.stdout.on("data", (d) => String(d).includes("ready") && resolve());
    proc.on("exit", (code) => reject(new Error(`feathers exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  await (await fetch(`${url}/users/1`)).arrayBuffer();
  return { url, pid: proc.pid, coldMs: performance.now() - t0, stop: () => proc.kill("SIGTERM") };
}

// ---------------------------------------------------------------- load

const json = (body, headers = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

async function must(res) {
  const text = await res.text();
  if (!res.ok) throw new Error(`${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** `n` requests, `concurrency` at a time; `request(i)` returns [url, init]. */
async function load(n, concurrency, request) {
  let next = 0;
  const latencies = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const [url, init] = await request(i);
        const s = performance.now();
        await must(await fetch(url, init));
        latencies.push(performance.now() - s);
      }
    }),
  );
  return { wallMs: performance.now() - t0, latencies };
}

/** One measured batch: CPU of `pid` per request, requests/s, p50 and p99. */
async function batch(pid, n, concurrency, request) {
  const c0 = cpuMs(pid);
  const { wallMs, latencies } = await load(n, concurrency, request);
  const cpu = cpuMs(pid) - c0;
  latencies.sort((a, b) => a - b);
  const pct = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { cpuPerReq: cpu / n, rps: (n / wallMs) * 1000, p50: pct(0.5), p99: pct(0.99) };
}

// ---------------------------------------------------------------- statistics and the table

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** "median (min-max)" of `xs`. */
const summaryOf = (xs, digits = 2) => {
  const f = (x) => x.toFixed(digits);
  return `${f(median(xs))} (${f(Math.min(...xs))}-${f(Math.max(...xs))})`;
};

function summary(runs, key, digits = 2) {
  const xs = runs.map((r) => r[key]);
  return { median: median(xs), text: summaryOf(xs, digits) };
}

// ---------------------------------------------------------------- the run

async function gotrueSession(url, email) {
  const body = await must(await fetch(`${url}/signup`, json({ email, password: PASSWORD })));
  if (!body.access_token) throw new Error(`signup did not sign in: ${JSON.stringify(body)}`);
  return body;
}

async function feathersAccount(url) {
  const user = await must(await fetch(`${url}/users`, json({ email: "bench@example.com", password: PASSWORD })));
  const auth = await must(await fetch(`${url}/authentication`, json({ strategy: "local", email: "bench@example.com", password: PASSWORD })));
  return { id: user.id, token: auth.accessToken };
}

async function roundTrips() {
  // e2e/d1_trips.mjs: count-d1 with each round trip recorded as before or after the answer
  // (the work a request hands to waitUntil: mail, budget give-backs).
  const w = await startPortcullis(path.join(root, "e2e/d1_trips.mjs"));
  try {
    const count = async (label, url, init) => {
      const res = await fetch(w.url + url, init);
      const text = await res.text();
      if (!res.ok) throw new Error(`${label}: ${res.status} ${text}`);
      const seq = Number(res.headers.get("x-d1-request"));
      let rec;
      for (let i = 0; i < 250 && !rec?.settled; i++) {
        if (i) await new Promise((resolve) => setTimeout(resolve, 20));
        rec = (await (await fetch(`${w.url}/__d1-trips`)).json())[seq];
      }
      if (!rec?.settled || rec.overlapped) throw new Error(`${label}: its round trips could not be told apart`);
      return [label, `${rec.before.length} / ${rec.before.length + rec.after.length}`, text ? JSON.parse(text) : null];
    };
    const rows = [];
    const push = (row) => (rows.push(row.slice(0, 2)), row[2]);
    const s = push(await count("GoTrue POST /signup (confirms at once, signs in)", "/signup", json({ email: "rt@example.com", password: PASSWORD })));
    const bearer = (t, scheme = "Bearer") => ({ headers: { authorization: `${scheme} ${t}` } });
    push(await count("GoTrue POST /token (password)", "/token?grant_type=password", json({ email: "rt@example.com", password: PASSWORD })));
    push(await count("GoTrue POST /token (refresh_token)", "/token?grant_type=refresh_token", json({ refresh_token: s.refresh_token })));
    push(await count("GoTrue GET /user", "/user", bearer(s.access_token)));
    push(await count("GET /api/check (GoTrue token)", "/api/check", bearer(s.access_token)));
    const f = push(await count("Feathers POST /authentication (local)", "/authentication", json({ strategy: "local", email: "rt@example.com", password: PASSWORD })));
    push(await count("Feathers POST /authentication (jwt)", "/authentication", json({ strategy: "jwt", accessToken: f.accessToken })));
    push(await count("GET /api/check (Feathers token)", "/api/check", bearer(f.accessToken)));
    const tokenAuth = { query: `mutation { tokenAuth(username: "rt@example.com", password: "${PASSWORD}") { token } }` };
    const g = push(await count("graphql tokenAuth", "/graphql", json(tokenAuth)));
    const token = g.data.tokenAuth.token;
    push(await count("graphql verifyToken", "/graphql", json({ query: `mutation { verifyToken(token: "${token}") { payload } }` })));
    push(await count("graphql me", "/graphql", json({ query: "{ me { id } }" }, { authorization: `JWT ${token}` })));
    const p = push(await count("passwordless POST /auth/registration", "/auth/registration", json({ username: "rt_user", session_platform: "bench" })));
    push(await count("passwordless GET /auth/me", "/auth/me", bearer(p.session_token)));
    push(await count("GET /api/check (session token)", "/api/check", bearer(p.session_token)));
    return rows;
  } finally {
    await w.mf.dispose();
  }
}

/** Fragments that each spread the next twice: 2^levels selections of `leaf`. */
function fragmentBomb(levels, leaf) {
  let q = "query { ...F0 }\n";
  for (let i = 0; i < levels; i++) q += `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }\n`;
  return q + `fragment F${levels} on Query { ${leaf} }\n`;
}

/** CPU per request of hostile and limit-sized GraphQL documents (sequential), with the status
 * each gets: what a refused or the worst accepted document costs the worker. */
async function graphqlDocuments(w) {
  const { getIntrospectionQuery } = await import("graphql");
  const docs = [
    ["refused: a list literal nested 2,000 deep", `mutation { tokenAuth(username: ${"[".repeat(2000)}"x"${"]".repeat(2000)}, password: "x") { token } }`],
    ["refused: fragment bomb, 2^24 x me { id username }", fragmentBomb(24, "me { id username }")],
    ["refused: fragment bomb, 2^24 x __typename", fragmentBomb(24, "__typename")],
    ["refused: 4,002 tokens", `{ ${"a ".repeat(4000)} }`],
    ["refused: 300 x 1,000 spreads of an empty fragment", `{${"...{...F}".repeat(300)}} fragment F on Query{${"...X".repeat(1000)}} fragment X on Query{...on Query{...Y}}`],
    ["at the limits: 1,400 __typename fields (runs)", `{ ${"__typename ".repeat(1400)} }`],
    ["at the limits: a list literal nested 31 deep (invalid argument)", `mutation { tokenAuth(username: ${"[".repeat(30)}"x"${"]".repeat(30)}, password: "x") { token } }`],
    ["at the limits: 990 aliased __typename fields (runs)", `{ ${Array.from({ length: 990 }, (_, i) => `a${i}:__typename`).join(" ")} }`],
    ["at the limits: 2^9 x __typename through fragments (runs)", fragmentBomb(9, "__typename")],
    ["the full introspection query (runs)", getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true })],
  ];
  const rows = [];
  for (const [label, query] of docs) {
    const init = json({ query });
    const status = (await fetch(`${w.url}/graphql`, init).then(async (r) => (await r.arrayBuffer(), r.status)));
    const n = 20;
    const c0 = cpuMs(w.pid);
    for (let i = 0; i < n; i++) await (await fetch(`${w.url}/graphql`, init)).arrayBuffer();
    rows.push([label, Buffer.byteLength(query), status, ((cpuMs(w.pid) - c0) / n).toFixed(2)]);
  }
  return rows;
}

async function coldStarts() {
  const times = { portcullis: [], first: [], empty: [], emptyFirst: [], emptyD1: [], compileOnly: [], feathers: [] };
  for (let i = 0; i < 3; i++) {
    const p = await startPortcullis();
    times.portcullis.push(p.coldMs);
    times.first.push(p.firstMs);
    await p.mf.dispose();
    const e = await startEmpty();
    times.empty.push(e.coldMs);
    times.emptyFirst.push(e.firstMs);
    await e.mf.dispose();
    const d = await startEmpty(true);
    times.emptyD1.push(d.coldMs);
    await d.mf.dispose();
    const c = await startCompileOnly();
    times.compileOnly.push(c.coldMs);
    await c.mf.dispose();
    const f = await startFeathers();
    times.feathers.push(f.coldMs);
    f.stop();
  }
  return times;
}

/** Argon2id per hash, in the worker (the e2e build) and natively, over `ROUNDS` rounds; and
 * what building the app from its settings costs (the e2e build's POST /__contract/startup). */
async function argon2() {
  const w = await startPortcullis(path.join(root, "worker/build-contract/index.js"));
  try {
    const worker = [];
    const native = [];
    const startup = [];
    for (let r = 0; r < Math.max(3, ROUNDS); r++) {
      worker.push(await workerArgon2Ms(w, cpuMs, 10));
      native.push(nativeArgon2Ms(10));
      const c0 = cpuMs(w.pid);
      await must(await fetch(`${w.url}/__contract/startup?n=200`, { method: "POST" }));
      startup.push((cpuMs(w.pid) - c0) / 200);
    }
    return { worker: median(worker), native: median(native), workerText: summaryOf(worker), nativeText: summaryOf(native), startupText: summaryOf(startup) };
  } finally {
    await w.mf.dispose();
  }
}

/** Sign-in and /api/check CPU as D1 fills with accounts: steps of 10x up to `ACCOUNTS`. Every
 * account has an address, a username and a session, so both lookups run against full indexes. */
async function scale() {
  const steps = [];
  for (let n = 1000; n < ACCOUNTS; n *= 10) steps.push(n);
  steps.push(ACCOUNTS);
  const w = await startPortcullis();
  const db = await w.mf.getD1Database("DB");
  try {
    const session = await gotrueSession(w.url, "scale@example.com");
    const check = () => [`${w.url}/api/check`, { headers: { authorization: `Bearer ${session.access_token}` } }];
    const login = () => [`${w.url}/token?grant_type=password`, json({ email: "scale@example.com", password: PASSWORD })];
    const rows = [];
    let have = 0;
    for (const target of steps) {
      const t0 = performance.now();
      for (let from = have + 1; from <= target; from += 100_000) {
        const to = Math.min(target, from + 99_999);
        const range = `WITH RECURSIVE n(x) AS (SELECT ${from} UNION ALL SELECT x + 1 FROM n WHERE x < ${to})`;
        await db.prepare(`${range} INSERT INTO users (id, email, username, email_confirmed_at, created_at, updated_at)
          SELECT 'scale-' || x, 'scale-' || x || '@example.com', 'scale_' || x, 0, 0, 0 FROM n`).run();
        await db.prepare(`${range} INSERT INTO sessions (id, user_id, method, created_at)
          SELECT 'scale-s-' || x, 'scale-' || x, 'password', 0 FROM n`).run();
      }
      have = target;
      const filled = (performance.now() - t0) / 1000;
      await load(100, CONCURRENCY, check);
      const checks = [];
      const logins = [];
      for (let r = 0; r < 3; r++) {
        checks.push((await batch(w.pid, CHECKS / 2, CONCURRENCY, check)).cpuPerReq);
        logins.push((await batch(w.pid, 8, 1, login)).cpuPerReq);
      }
      rows.push([target.toLocaleString("en"), summaryOf(logins), summaryOf(checks), filled.toFixed(0)]);
      process.stderr.write(`bench: ${target} accounts measured\n`);
    }
    return rows;
  } finally {
    await w.mf.dispose();
  }
}

function gz(file) {
  const bytes = readFileSync(path.join(root, file));
  return { raw: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length };
}

async function main() {
  const started = performance.now();
  const portcullis = await startPortcullis();
  // The same worker signing GoTrue's access tokens with an ES256 key (JWT_KEYS), to compare
  // what verifying each kind of token costs a request.
  const es256 = await startPortcullis(undefined, { JWT_KEYS: es256Keys() });
  const empty = await startEmpty();
  const d1floor = await startD1Floor();
  const feathers = await startFeathers();
  try {
    const session = await gotrueSession(portcullis.url, "bench@example.com");
    const peer = await feathersAccount(feathers.url);
    const check = () => [`${portcullis.url}/api/check`, { headers: { authorization: `Bearer ${session.access_token}` } }];
    const esSession = await gotrueSession(es256.url, "bench@example.com");
    const alg = (token) => JSON.parse(Buffer.from(token.split(".")[0], "base64url")).alg;
    if (alg(session.access_token) !== "HS256" || alg(esSession.access_token) !== "ES256") throw new Error("bench: token algorithms are not HS256 and ES256");
    const userHs = () => [`${portcullis.url}/user`, { headers: { authorization: `Bearer ${session.access_token}` } }];
    const userEs = () => [`${es256.url}/user`, { headers: { authorization: `Bearer ${esSession.access_token}` } }];
    const floor = () => [`${empty.url}/`, {}];
    const d1 = () => [`${d1floor.url}/`, {}];
    const peerGet = () => [`${feathers.url}/users/${peer.id}`, { headers: { authorization: `Bearer ${peer.token}` } }];
    const login = () => [`${portcullis.url}/token?grant_type=password`, json({ email: "bench@example.com", password: PASSWORD })];
    const peerLogin = () => [`${feathers.url}/authentication`, json({ strategy: "local", email: "bench@example.com", password: PASSWORD })];
    let refreshToken = session.refresh_token;
    const refresh = async () => [
      `${portcullis.url}/token?grant_type=refresh_token`,
      json({ refresh_token: refreshToken }),
    ];
    // Refreshes form a chain: each answer's token is the next request's.
    const refreshBatch = async () => {
      const c0 = cpuMs(portcullis.pid);
      const lat = [];
      for (let i = 0; i < REFRESHES; i++) {
        const s = performance.now();
        const body = await must(await fetch(...(await refresh())));
        lat.push(performance.now() - s);
        refreshToken = body.refresh_token;
      }
      lat.sort((a, b) => a - b);
      return { cpuPerReq: (cpuMs(portcullis.pid) - c0) / REFRESHES, p50: lat[Math.floor(lat.length / 2)], p99: lat[Math.floor(lat.length * 0.99)] };
    };

    // Warm-up: JITs, caches, connections.
    await load(300, CONCURRENCY, check);
    await load(300, CONCURRENCY, floor);
    await load(300, CONCURRENCY, d1);
    await load(300, CONCURRENCY, peerGet);
    await load(300, CONCURRENCY, userHs);
    await load(300, CONCURRENCY, userEs);
    await load(4, 1, login);
    await load(4, 1, peerLogin);

    const runs = { check: [], floor: [], d1: [], peerGet: [], userHs: [], userEs: [], login: [], peerLogin: [], refresh: [] };
    for (let r = 0; r < ROUNDS; r++) {
      // Interleaved, with the order rotated each round.
      const checks = [
        ["check", portcullis.pid, check],
        ["floor", empty.pid, floor],
        ["d1", d1floor.pid, d1],
        ["peerGet", feathers.pid, peerGet],
      ];
      for (let k = 0; k < checks.length; k++) {
        const [name, pid, req] = checks[(k + r) % checks.length];
        runs[name].push(await batch(pid, CHECKS, CONCURRENCY, req));
      }
      const users = [
        ["userHs", portcullis.pid, userHs],
        ["userEs", es256.pid, userEs],
      ];
      for (let k = 0; k < users.length; k++) {
        const [name, pid, req] = users[(k + r) % users.length];
        runs[name].push(await batch(pid, CHECKS / 2, CONCURRENCY, req));
      }
      const logins = [
        ["login", portcullis.pid, login],
        ["peerLogin", feathers.pid, peerLogin],
      ];
      for (let k = 0; k < logins.length; k++) {
        const [name, pid, req] = logins[(k + r) % logins.length];
        runs[name].push(await batch(pid, LOGINS, 1, req));
      }
      runs.refresh.push(await refreshBatch());
      process.stderr.write(`bench: round ${r + 1}/${ROUNDS} done\n`);
    }

    const documents = await graphqlDocuments(portcullis);
    const trips = await roundTrips();
    const cold = await coldStarts();
    const hashing = await argon2();
    const scaled = ACCOUNTS > 0 ? await scale() : null;
    const worker = gz("worker/build/index_bg.wasm");
    const client = gz("client-wasm/pkg/portcullis_client_bg.wasm");

    const m = (name, key) => summary(runs[name], key);
    const lines = [];
    const row = (...cells) => lines.push(`| ${cells.join(" | ")} |`);
    lines.push(`Portcullis bench: ${ROUNDS} interleaved rounds; medians (min-max). CPU is the serving process's utime+stime.`);
    lines.push("");
    row("measure", "Portcullis (workerd)", "empty worker (workerd)", "Feathers v5 (Node)", "ratio", "target");
    row("---", "---", "---", "---", "---", "---");
    const loginCpu = m("login", "cpuPerReq");
    const peerLoginCpu = m("peerLogin", "cpuPerReq");
    row("login CPU ms/request (Argon2id m=19456 t=2 vs bcryptjs 10)", loginCpu.text, "", peerLoginCpu.text, `${(loginCpu.median / peerLoginCpu.median).toFixed(2)}x Feathers`, "at most 0.5x Feathers");
    row("login p50 ms", m("login", "p50").text, "", m("peerLogin", "p50").text, "", "");
    const { m: mk, t, p } = ARGON2_PARAMS;
    row(`Argon2id CPU ms/hash (m=${mk} t=${t} p=${p}), wasm in workerd vs native \`argon2\` (Debian)`, hashing.workerText, "", "", `${(hashing.worker / hashing.native).toFixed(2)}x native (${hashing.nativeText})`, "reported");
    const checkCpu = m("check", "cpuPerReq");
    const floorCpu = m("floor", "cpuPerReq");
    const peerCpu = m("peerGet", "cpuPerReq");
    row(
      "/api/check CPU ms/request (Feathers: GET /users/:id with jwt)",
      checkCpu.text,
      floorCpu.text,
      peerCpu.text,
      `${(checkCpu.median / floorCpu.median).toFixed(1)}x empty, ${(checkCpu.median / peerCpu.median).toFixed(2)}x Feathers`,
      "at most 1.0 ms",
    );
    const d1Cpu = m("d1", "cpuPerReq");
    row("one D1 select of a session and its account, CPU ms/request (a JS worker; Miniflare runs D1 in the same process)", d1Cpu.text, floorCpu.text, "", `/api/check's own share: ${(checkCpu.median - d1Cpu.median).toFixed(2)} ms`, "at most 1.0 ms own share");
    const rps = (name) => m(name, "rps").median;
    row(`/api/check requests/s (concurrency ${CONCURRENCY})`, summary(runs.check, "rps", 0).text, summary(runs.floor, "rps", 0).text, summary(runs.peerGet, "rps", 0).text, `${(rps("check") / rps("floor")).toFixed(2)}x empty, ${(rps("check") / rps("peerGet")).toFixed(2)}x Feathers`, "reported");
    row("/api/check p50 ms", m("check", "p50").text, m("floor", "p50").text, m("peerGet", "p50").text, "", "");
    row("/api/check p99 ms", m("check", "p99").text, m("floor", "p99").text, m("peerGet", "p99").text, "", "");
    const userHsCpu = m("userHs", "cpuPerReq");
    const userEsCpu = m("userEs", "cpuPerReq");
    row(`GoTrue GET /user CPU ms/request, HS256 token (concurrency ${CONCURRENCY})`, userHsCpu.text, "", "", "", "side by side");
    row(`GoTrue GET /user CPU ms/request, ES256 token (concurrency ${CONCURRENCY})`, userEsCpu.text, "", "", `${(userEsCpu.median - userHsCpu.median).toFixed(2)} ms over HS256`, "side by side");
    row("GoTrue refresh CPU ms/request (sequential)", m("refresh", "cpuPerReq").text, "", "", "", "");
    row("GoTrue refresh p50 / p99 ms", `${m("refresh", "p50").text} / ${m("refresh", "p99").text}`, "", "", "", "");
    const cs = (xs) => summaryOf(xs, 0);
    row("cold start to first answer, ms (3 starts)", cs(cold.portcullis), cs(cold.empty), cs(cold.feathers), `${(median(cold.portcullis) / median(cold.empty)).toFixed(2)}x empty; ${(median(cold.portcullis) / median(cold.emptyD1)).toFixed(2)}x the empty worker with a D1 binding (${cs(cold.emptyD1)})`, "at most 1.5x empty");
    row("of which the first request, ms (the rest: workerd start, loading and compiling the module)", cs(cold.first), cs(cold.emptyFirst), "", "", "");
    row("an empty worker that only imports (compiles) the same wasm module, cold start ms", cs(cold.compileOnly), cs(cold.empty), "", `compiling the module: +${(median(cold.compileOnly) - median(cold.empty)).toFixed(0)} ms`, "");
    row("building the app from its settings (config, keys), CPU ms, warm", hashing.startupText, "", "", "", "");
    row("worker wasm bytes, gzipped (zlib level 9)", `${worker.gzipped} (raw ${worker.raw})`, "", "", "", "at most 750000");
    row("browser client wasm bytes, gzipped (zlib level 9)", `${client.gzipped} (raw ${client.raw})`, "", "", "", "");
    lines.push("");
    lines.push("D1 round trips per request, before the answer / with the work after it (mail, budget give-backs), counted by wrapping the D1 binding (e2e/d1_trips.mjs); within a minute of the last use, so no activity write:");
    lines.push("");
    lines.push("| endpoint | D1 round trips | target |");
    lines.push("| --- | --- | --- |");
    const tripTargets = { "GoTrue POST /token (password)": "2 before the answer", "Feathers POST /authentication (local)": "2 before the answer", "graphql tokenAuth": "2 before the answer" };
    for (const [label, n] of trips) lines.push(`| ${label} | ${n} | ${tripTargets[label] ?? ""} |`);
    if (scaled) {
      lines.push("");
      lines.push(`Scale (BENCH_ACCOUNTS=${ACCOUNTS}): CPU ms/request as D1 fills with accounts, each with an address, a username and a session; medians of 3 batches (min-max). Target: flat as accounts grow.`);
      lines.push("");
      lines.push("| accounts | sign-in CPU ms/request | /api/check CPU ms/request | seconds to fill the step |");
      lines.push("| --- | --- | --- | --- |");
      for (const cells of scaled) lines.push(`| ${cells.join(" | ")} |`);
    }
    lines.push("");
    lines.push("GraphQL documents, each sent 20 times in a row (CPU ms per request of the workerd process):");
    lines.push("");
    lines.push("| document | bytes | status | CPU ms/request |");
    lines.push("| --- | --- | --- | --- |");
    for (const cells of documents) lines.push(`| ${cells.join(" | ")} |`);
    lines.push("");
    lines.push(`bench: finished in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    console.log(lines.join("\n"));
  } finally {
    await portcullis.mf.dispose();
    await es256.mf.dispose();
    await empty.mf.dispose();
    await d1floor.mf.dispose();
    feathers.stop();
  }
}

await main();
