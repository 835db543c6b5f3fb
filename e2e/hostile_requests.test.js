// Requests built to hurt the worker, sent raw: a header name with byte 0xff, a 20 MB chunked
// body with no Content-Length, JSON sent as text/plain. Each gets a 4xx in the dialect's shape,
// never a 5xx, and the chunked body is not buffered (workerd's memory stays where it was).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { connect } from "node:net";
import { chunkedPost, useWorker } from "./harness.js";

const env = useWorker();

/** Sends `raw` bytes over TCP to the worker and returns the response's status line and body. */
function rawRequest(raw) {
  const { hostname, port } = new URL(env.worker.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(raw));
    let data = Buffer.alloc(0);
    socket.on("data", (d) => (data = Buffer.concat([data, d])));
    socket.on("end", () => {
      const text = data.toString("latin1");
      resolve({ status: Number(text.split(" ")[1]), body: text.slice(text.indexOf("\r\n\r\n") + 4) });
    });
    socket.on("error", reject);
  });
}

test("a header name with byte 0xff is a 400 in the dialect's shape, not a 500", async () => {
  const body = '{"email":"a@example.com","password":"x"}';
  const head = `POST /auth/v1/token?grant_type=password HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\nx-bad`;
  const raw = Buffer.concat([Buffer.from(head, "latin1"), Buffer.from([0xff]), Buffer.from(`: 1\r\n\r\n${body}`, "latin1")]);
  const res = await rawRequest(raw);
  assert.ok(res.status === 400, `status ${res.status}: ${res.body}`);
  assert.match(res.body, /validation_failed|header/);
});

/** workerd processes started by this test process (Miniflare spawns them as its children; the
 * machine may run other people's), and the resident memory of one in KiB. */
function workerdPids() {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        return name === "workerd" && ppid === process.pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);

test("a 20 MB chunked body is answered 413 without being buffered", async (t) => {
  const paths = [["/auth/v1/signup", /request_too_large/], ["/authentication", /PayloadTooLarge/], ["/graphql", /too large/]];
  // Warm up first (the wasm instance, the body streams), so what follows measures the bodies.
  for (const [path] of paths) await chunkedPost(env.worker.url, path, 2);
  const pids = workerdPids();
  // Without the process there is nothing measured, and the check below would pass on nothing.
  assert.equal(pids.length, 1, `this suite's one workerd among its child processes: ${JSON.stringify(pids)}`);
  const before = Object.fromEntries(pids.map((p) => [p, rssKiB(p)]));
  for (const [path, shape] of paths) {
    const res = await chunkedPost(env.worker.url, path, 20);
    assert.equal(res.status, 413, `${path}: ${res.text}`);
    assert.match(res.text, shape);
  }
  const after = Object.fromEntries(pids.map((p) => [p, rssKiB(p)]));
  const grew = Math.max(...pids.map((p) => after[p] - before[p]));
  t.diagnostic(`workerd resident memory before/after three 20 MB bodies (KiB): ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
  // Any one of the bodies read whole would have added its 20 MiB; what it grows by otherwise
  // (V8's heap, socket buffers) has been seen between 4 and 17 MiB.
  assert.ok(grew < 20 * 1024, `workerd grew by ${grew} KiB`);
});

test("JSON sent as text/plain (what a web page can send cross-site without a preflight) is 415", async () => {
  const res = await fetch(`${env.worker.url}/auth/v1/otp`, {
    method: "POST",
    headers: { "content-type": "text/plain;charset=UTF-8" },
    body: JSON.stringify({ email: "csrf@example.com" }),
  });
  assert.equal(res.status, 415);
  assert.match(await res.text(), /application\/json/);
});
