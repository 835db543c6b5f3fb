import { Miniflare } from "miniflare";
import path from "node:path";
import WebSocket from "ws";
import { writeFileSync } from "node:fs";
import { freePort, root, wranglerVars } from "/work/main/e2e/harness.js";
const dir = process.argv[2] ?? "worker/build-contract";
const wasmRule = [{ type: "CompiledWasm", include: ["**/*.wasm"] }, { type: "ESModule", include: ["**/" + dir + "/*.js"] }];
const port = await freePort(), ip = await freePort();
const mf = new Miniflare({ modules: true, compatibilityDate: "2026-04-20", host: "127.0.0.1", port, cf: false, inspectorPort: ip,
  rootPath: root, scriptPath: path.join(root, dir, "index.js"), modulesRules: wasmRule, d1Databases: ["DB"],
  bindings: { ...wranglerVars(), JWT_SECRET: "x".repeat(40) } });
const url = (await mf.ready).toString().replace(/\/$/, "");
const list = await (await fetch(`http://127.0.0.1:${ip}/json`)).json();
const target = list.find((t) => t.title.includes("core:user"));
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((r) => ws.on("open", r));
let id = 0; const pending = new Map();
ws.on("message", (m) => { const d = JSON.parse(m); if (d.id && pending.has(d.id)) { pending.get(d.id)(d); pending.delete(d.id); } });
const send = (method, params = {}) => new Promise((r) => { const i = ++id; pending.set(i, r); ws.send(JSON.stringify({ id: i, method, params })); });
await send("Profiler.enable"); await send("Profiler.setSamplingInterval", { interval: 50 }); await send("Profiler.start");
const s = performance.now(); await (await fetch(url + (process.argv[3] ?? "/health"))).text(); console.log("first", performance.now() - s);
const { result } = await send("Profiler.stop");
const p = result.profile;
const nodes = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map(); for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map(), total = new Map();
for (let k = 0; k < p.samples.length; k++) {
  const ms = (p.timeDeltas[k + 1] ?? 0) / 1000;
  let n = nodes.get(p.samples[k]); const key = (x) => x.callFrame.functionName.slice(0, 110);
  self.set(key(n), (self.get(key(n)) ?? 0) + ms);
  const seen = new Set();
  for (let cur = n.id; cur !== undefined; cur = parent.get(cur)) { const kk = key(nodes.get(cur)); if (!seen.has(kk)) { seen.add(kk); total.set(kk, (total.get(kk) ?? 0) + ms); } }
}
console.log("SELF"); console.log([...self].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => v.toFixed(2).padStart(8) + " " + k).join("\n"));
console.log("TOTAL"); console.log([...total].sort((a, b) => b[1] - a[1]).slice(0, 45).map(([k, v]) => v.toFixed(2).padStart(8) + " " + k).join("\n"));
ws.close(); await mf.dispose();
