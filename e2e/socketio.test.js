// Feathers over Socket.IO end to end with the official clients: socket.io-client +
// @feathersjs/socketio-client + @feathersjs/authentication-client against the built worker in
// workerd, each connection in its own Durable Object, over the default transports (long-polling,
// then the upgrade to a WebSocket) and over a WebSocket only. Then the protocol abused with raw
// HTTP and raw WebSockets: always an Engine.IO error, a Feathers error in the ack, or a closed
// connection, never a 5xx; and a closed connection leaves nothing stored.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { io } from "socket.io-client";
import { feathers } from "@feathersjs/feathers";
import socketio from "@feathersjs/socketio-client";
import authentication, { MemoryStorage } from "@feathersjs/authentication-client";
import WebSocket from "ws";
import { useWorker, startWorker, call } from "./harness.js";

let n = 0;
const unique = (tag) => `${tag}-${Date.now() % 1e7}-${n++}@example.com`;
const PASSWORD = "correct horse battery";
const sockets = [];

// Registered first, so the client sockets close before the worker stops.
after(() => {
  for (const s of sockets) s.close();
});
const env = useWorker({ mail: true });

/** A Feathers client app over Socket.IO, as the guide configures one (storage shared if given). */
function client({ transports, storage = new MemoryStorage(), url = env.worker.url } = {}) {
  const socket = io(url, { transports, reconnectionDelay: 100, reconnectionDelayMax: 200 });
  sockets.push(socket);
  const app = feathers();
  app.configure(socketio(socket));
  app.configure(authentication({ storage }));
  return { app, socket, storage };
}

const upgraded = (socket) =>
  new Promise((resolve) => {
    const engine = socket.io.engine;
    if (engine?.transport?.name === "websocket") return resolve("websocket");
    socket.io.on("open", () => socket.io.engine.once("upgrade", (t) => resolve(t.name)));
    engine?.once("upgrade", (t) => resolve(t.name));
  });

const rest = (p, opts = {}) => call(`${env.worker.url}${p}`, opts);

for (const [label, transports] of [
  ["the default transports (polling, then the upgrade)", undefined],
  ["a WebSocket only", ["websocket"]],
]) {
  test(`over ${label}: users.create, authenticate, users.get by the connection, logout, the old token refused`, async () => {
    const { app, socket } = client({ transports });
    const email = unique("sock");
    const user = await app.service("users").create({ email, password: PASSWORD });
    assert.deepEqual(Object.keys(user).sort(), ["avatar", "email", "id"]);
    const result = await app.authenticate({ strategy: "local", email, password: PASSWORD });
    assert.equal(result.user.id, user.id);
    assert.equal(result.authentication.strategy, "local");
    const token = result.accessToken;
    if (!transports) assert.equal(await upgraded(socket), "websocket", "the connection upgraded");
    assert.equal(socket.io.engine.transport.name, "websocket");

    // No token sent with the call: the connection is authenticated.
    const got = await app.service("users").get(user.id);
    assert.equal(got.email, email);
    // REST takes the same token, and GoTrue's endpoints do not.
    assert.equal((await rest(`/users/${user.id}`, { method: "GET", headers: { authorization: `Bearer ${token}` } })).status, 200);

    await app.logout();
    await assert.rejects(app.service("users").get(user.id), (e) => e.name === "NotAuthenticated" && e.code === 401);
    const after = await rest(`/users/${user.id}`, { method: "GET", headers: { authorization: `Bearer ${token}` } });
    assert.equal(after.status, 401, "the old token is refused on REST");
    const fresh = client({ transports });
    await assert.rejects(
      fresh.app.authenticate({ strategy: "jwt", accessToken: token }),
      (e) => e.name === "NotAuthenticated" && e.code === 401,
      "and on a new socket",
    );
  });
}

test("reAuthenticate after a reconnect: the new connection is authenticated with the stored token", async () => {
  const { app, socket, storage } = client();
  const email = unique("re");
  const user = await app.service("users").create({ email, password: PASSWORD });
  await app.authenticate({ strategy: "local", email, password: PASSWORD });
  const oldId = socket.id;
  const reconnected = new Promise((resolve) => socket.once("connect", resolve));
  // The engine connection drops (as on a network change); the client reconnects on its own
  // and authentication-client re-authenticates on the new connection.
  socket.io.engine.close();
  await reconnected;
  assert.notEqual(socket.id, oldId, "a new connection");
  assert.equal((await app.service("users").get(user.id)).id, user.id);
  const again = await app.reAuthenticate(true);
  assert.equal(again.authentication.strategy, "jwt");

  // A second page load: a new client with the same storage.
  const second = client({ storage });
  const restored = await second.app.reAuthenticate();
  assert.equal(restored.user.id, user.id);
  assert.equal((await second.app.service("users").get(user.id)).email, email);
});

test("a logout elsewhere, or a password change, ends the socket's authentication at its next call", async () => {
  const { app } = client();
  const email = unique("else");
  const user = await app.service("users").create({ email, password: PASSWORD });
  const { accessToken } = await app.authenticate({ strategy: "local", email, password: PASSWORD });
  const out = await rest("/authentication", { method: "DELETE", headers: { authorization: `Bearer ${accessToken}` } });
  assert.equal(out.status, 200);
  await assert.rejects(app.service("users").get(user.id), (e) => e.name === "NotAuthenticated");

  const second = client();
  await second.app.authenticate({ strategy: "local", email, password: PASSWORD });
  const other = await rest("/authentication", { body: { strategy: "local", email, password: PASSWORD } });
  const changed = await rest(`/users/${user.id}`, {
    method: "PATCH",
    body: { password: "an entirely new password" },
    headers: { authorization: `Bearer ${other.json.accessToken}` },
  });
  assert.equal(changed.status, 200, changed.text);
  await assert.rejects(second.app.service("users").get(user.id), (e) => e.name === "NotAuthenticated");
});

test("calls the services do not offer get Feathers errors in the ack", async () => {
  const { app } = client();
  await assert.rejects(app.service("messages").get(1), (e) => e.name === "NotFound" && /Service 'messages' not found/.test(e.message));
  await assert.rejects(app.service("users").find(), (e) => e.name === "MethodNotAllowed" && e.code === 405);
  await assert.rejects(app.service("users").create({ email: "not an address", password: PASSWORD }), (e) => e.name === "BadRequest");
  await assert.rejects(app.authenticate({ strategy: "local", email: unique("nobody"), password: PASSWORD }), (e) => e.message === "Invalid login");
});

// ---- the protocol, raw ----

const eio = (query = "") => `${env.worker.url}/socket.io/?EIO=4&transport=polling${query}`;

async function handshake(headers = {}) {
  const res = await fetch(eio(), { headers });
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.equal(text[0], "0");
  return JSON.parse(text.slice(1)).sid;
}

async function engineError(res, status, code) {
  const body = await res.text();
  assert.equal(res.status, status, body);
  if (code !== undefined) assert.equal(JSON.parse(body).code, code, body);
}

test("handshake errors use engine.io's codes", async () => {
  await engineError(await fetch(`${env.worker.url}/socket.io/?EIO=3&transport=polling`), 400, 5);
  await engineError(await fetch(`${env.worker.url}/socket.io/?EIO=4&transport=flash`), 400, 0);
  await engineError(await fetch(`${env.worker.url}/socket.io/?EIO=4`), 400, 0);
  await engineError(await fetch(eio(), { method: "POST", body: "40" }), 400, 2);
  await engineError(await fetch(`${env.worker.url}/socket.io/?EIO=4&transport=websocket`), 400, 3);
  await engineError(await fetch(eio("&sid=unknown")), 400, 1);
  await engineError(await fetch(eio(`&sid=${"A".repeat(32)}`)), 400, 1);
});

test("an error answered before a POST's body arrived leaves the kept-alive connection usable", async () => {
  // The body comes after the answer: unless it is read, workerd closes the connection under the
  // client's next request on it (fetch's pool then fails that request: "other side closed").
  const { hostname, port } = new URL(env.worker.url);
  for (const target of [eio(), eio("&sid=unknown"), eio(`&sid=${"A".repeat(32)}`)]) {
    const sock = connect(Number(port), hostname);
    let got = "";
    sock.on("data", (d) => (got += d));
    const closed = new Promise((resolve) => sock.on("close", resolve));
    await new Promise((resolve) => sock.on("connect", resolve));
    const { pathname, search } = new URL(target);
    sock.write(`POST ${pathname}${search} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n`);
    await sleep(100);
    sock.write("40");
    await sleep(50);
    sock.write(`GET /socket.io/?EIO=4 HTTP/1.1\r\nHost: x\r\n\r\n`);
    await Promise.race([closed, sleep(1500)]);
    sock.destroy();
    assert.deepEqual(got.match(/HTTP\/1\.1 \d{3}/g), ["HTTP/1.1 400", "HTTP/1.1 400"], `${target}: both requests answered`);
  }
});

test("a session id is its opener's: another client presenting it is told the session is unknown", async () => {
  const sid = await handshake({ "cf-connecting-ip": "198.51.100.1" });
  const post = await fetch(eio(`&sid=${sid}`), { method: "POST", body: "40", headers: { "cf-connecting-ip": "203.0.113.9" } });
  await engineError(post, 400, 1);
  await engineError(await fetch(eio(`&sid=${sid}`), { headers: { "cf-connecting-ip": "203.0.113.9" } }), 400, 1);
  // The opener's session is untouched.
  const own = await fetch(eio(`&sid=${sid}`), { method: "POST", body: "40", headers: { "cf-connecting-ip": "198.51.100.1" } });
  assert.equal(await own.text(), "ok");
  const poll = await fetch(eio(`&sid=${sid}`), { headers: { "cf-connecting-ip": "198.51.100.1" } });
  assert.match(await poll.text(), /^40\{"sid":"/);
});

test("an oversized body is 413 and closes the session; so does a malformed packet (after its ok)", async () => {
  let sid = await handshake();
  const big = await fetch(eio(`&sid=${sid}`), { method: "POST", body: "4" + "x".repeat(1_000_000) });
  await engineError(big, 413);
  await engineError(await fetch(eio(`&sid=${sid}`)), 400, 1);

  sid = await handshake();
  const bad = await fetch(eio(`&sid=${sid}`), { method: "POST", body: "9nonsense" });
  assert.equal(bad.status, 200);
  await engineError(await fetch(eio(`&sid=${sid}`)), 400, 1);

  sid = await handshake();
  await fetch(eio(`&sid=${sid}`), { method: "POST", body: "40" });
  await fetch(eio(`&sid=${sid}`));
  const malformed = await fetch(eio(`&sid=${sid}`), { method: "POST", body: '42["create","users",{' });
  assert.equal(malformed.status, 200);
  await engineError(await fetch(eio(`&sid=${sid}`)), 400, 1);
});

test("packets that are answered but never polled for cannot pile up: the flood closes the session", async () => {
  const sid = await handshake();
  const flood = Array.from({ length: 200 }, () => "40/other,").join("\x1e");
  assert.equal((await fetch(eio(`&sid=${sid}`), { method: "POST", body: flood })).status, 200);
  // Closed, with nothing held for it.
  await engineError(await fetch(eio(`&sid=${sid}`)), 400, 1);
});

test("a second poll at the same time closes the session; the first poll gets the close packet", async () => {
  const sid = await handshake();
  const first = fetch(eio(`&sid=${sid}`));
  await sleep(200);
  await engineError(await fetch(eio(`&sid=${sid}`)), 400, 3);
  assert.equal(await (await first).text(), "1");
  await engineError(await fetch(eio(`&sid=${sid}`)), 400, 1);
});

/** A raw WebSocket to the endpoint; `messages` collects what arrives. */
function rawSocket(query) {
  const ws = new WebSocket(`${env.worker.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket${query}`);
  const messages = [];
  let waiters = [];
  ws.on("message", (data, binary) => {
    messages.push(binary ? data : data.toString());
    waiters.forEach((w) => w());
    waiters = [];
  });
  const closed = new Promise((resolve) => ws.on("close", (code) => resolve(code)));
  const next = async (predicate, ms = 5000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = messages.findIndex(predicate);
      if (i >= 0) return messages.splice(i, 1)[0];
      if (Date.now() > deadline) throw new Error(`no such message in ${JSON.stringify(messages)}`);
      await Promise.race([new Promise((r) => waiters.push(r)), sleep(100)]);
    }
  };
  return { ws, messages, closed, next, opened: new Promise((r, j) => (ws.on("open", r), ws.on("error", j))) };
}

test("the upgrade: probe, noop to the waiting poll, 5; then polling for that session is refused", async () => {
  const sid = await handshake();
  await fetch(eio(`&sid=${sid}`), { method: "POST", body: "40" });
  assert.match(await (await fetch(eio(`&sid=${sid}`))).text(), /^40/);
  const waiting = fetch(eio(`&sid=${sid}`));
  const s = rawSocket(`&sid=${sid}`);
  await s.opened;
  s.ws.send("2probe");
  assert.equal(await s.next((m) => m === "3probe"), "3probe");
  assert.equal(await (await waiting).text(), "6", "the paused poll is flushed");
  s.ws.send("5");
  s.ws.send('420["get","users","x",{}]');
  assert.match(await s.next((m) => m.startsWith("430")), /NotAuthenticated/);
  await engineError(await fetch(eio(`&sid=${sid}`)), 400, 3);
  // A second WebSocket for the session is refused too.
  const second = rawSocket(`&sid=${sid}`);
  await assert.rejects(second.opened);
  s.ws.close();
});

test("a WebSocket from another client cannot take over a polling session", async () => {
  const sid = await handshake({ "cf-connecting-ip": "198.51.100.2" });
  const s = new WebSocket(`${env.worker.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket&sid=${sid}`, {
    headers: { "cf-connecting-ip": "203.0.113.2" },
  });
  const status = await new Promise((resolve) => {
    s.on("unexpected-response", (_req, res) => resolve(res.statusCode));
    s.on("open", () => resolve(101));
  });
  assert.equal(status, 400);
});

test("over a WebSocket: a flood is answered TooManyRequests, an oversized message closes with 1009", async () => {
  const s = rawSocket("");
  await s.opened;
  assert.match(await s.next((m) => m.startsWith("0{")), /"upgrades":\[\]/);
  s.ws.send("40");
  await s.next((m) => m.startsWith("40"));
  for (let i = 0; i < 40; i++) s.ws.send(`42${i}["get","users","x",{}]`);
  const acks = [];
  for (let i = 0; i < 40; i++) acks.push(JSON.parse((await s.next((m) => m.startsWith(`43${i}[`))).slice(`43${i}`.length)));
  const names = acks.map((a) => a[0].name);
  assert.equal(names.filter((x) => x === "TooManyRequests").length, 10, names.join());
  assert.equal(names.filter((x) => x === "NotAuthenticated").length, 30);

  s.ws.send("4" + "x".repeat(1_000_001));
  assert.equal(await s.closed, 1009);
});

test("binary frames are dropped and binary events refused in the ack", async () => {
  const s = rawSocket("");
  await s.opened;
  await s.next((m) => m.startsWith("0{"));
  s.ws.send("40");
  await s.next((m) => m.startsWith("40"));
  s.ws.send('451-7["create","users",{"_placeholder":true,"num":0}]');
  s.ws.send(Buffer.from([1, 2, 3]));
  assert.match(await s.next((m) => m.startsWith("437")), /BadRequest/);
  s.ws.send('428["get","users","x",{}]');
  assert.match(await s.next((m) => m.startsWith("438")), /NotAuthenticated/, "the connection still works");
  s.ws.close();
});

test("an idle connection closes after the ping timeout; the official client, answering pings, stays", async () => {
  const vars = { SOCKETIO_PING_INTERVAL: "1000", SOCKETIO_PING_TIMEOUT: "500" };
  const w = await startWorker({ mail: env.mail, vars });
  const url = (sid) => `${w.url}/socket.io/?EIO=4&transport=polling${sid ? `&sid=${sid}` : ""}`;
  try {
    const idle = JSON.parse((await (await fetch(url())).text()).slice(1));
    assert.equal(idle.pingInterval, 1000);
    assert.equal(idle.pingTimeout, 500);
    const { socket } = client({ url: w.url });
    const drops = [];
    socket.on("disconnect", (reason) => drops.push(reason));
    await new Promise((resolve) => socket.once("connect", resolve));
    await sleep(3500);
    assert.deepEqual(drops, [], "no ping timeout");
    assert.equal(socket.connected, true);
    socket.close();
    // `idle` never polled for its ping.
    await engineError(await fetch(url(idle.sid)), 400, 1);
  } finally {
    await w.stop();
  }
});

test("a closed connection leaves nothing stored: a new workerd over the same storage knows only the open one", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "portcullis-socket-"));
  let w = await startWorker({ mail: env.mail, persist: dir });
  const url = (sid) => `${w.url}/socket.io/?EIO=4&transport=polling${sid ? `&sid=${sid}` : ""}`;
  try {
    const open = async () => {
      const { sid } = JSON.parse((await (await fetch(url())).text()).slice(1));
      await fetch(url(sid), { method: "POST", body: "40" });
      assert.match(await (await fetch(url(sid))).text(), /^40/);
      return sid;
    };
    const kept = await open();
    const closed = await open();
    assert.equal(await (await fetch(url(closed), { method: "POST", body: "1" })).text(), "ok");
    await w.stop();
    w = await startWorker({ mail: env.mail, persist: dir });
    const post = await fetch(url(kept), { method: "POST", body: '421["find","users",{}]' });
    assert.equal(post.status, 200, "the open connection's state was stored");
    assert.match(await (await fetch(url(kept))).text(), /^431\[\{"className":"method-not-allowed"/);
    await engineError(await fetch(url(closed), { method: "POST", body: "3" }), 400, 1);
  } finally {
    await w.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the client bundle is served at /socket.io/socket.io.js, as a Socket.IO server does", async () => {
  for (const file of ["socket.io.js", "socket.io.min.js", "socket.io.js.map"]) {
    const res = await fetch(`${env.worker.url}/socket.io/${file}`);
    assert.equal(res.status, 200, file);
    const text = await res.text();
    if (file === "socket.io.js") assert.match(text, /Socket\.IO v4\.8\.4/);
  }
});
