// Entry module for e2e/enumeration_cost.test.js (never deployed, never timed): the built worker
// behind bench/count-d1.mjs, with the D1 binding under count-d1's wrapper wrapped once more, so
// that each round trip is also recorded with the request it belongs to and whether it happened
// before or after the answer.
//
// Why a second wrapper: count-d1 sets `x-d1-round-trips` once the worker's fetch has resolved,
// but the worker hands its after-the-answer work (storing a mail's code, sending it) to
// `ctx.waitUntil`, and wasm-bindgen runs that task in the same microtask drain as the fetch
// that spawned it, so its first D1 statement can be counted before the header is set. The answer
// is made when the worker calls `ctx.waitUntil` (worker/src/lib.rs: `app.handle`, then
// `wait_until`, then the response conversion), and the spawned task only starts after that call
// returns; so a round trip is "before the answer" if it is executed before that call.
//
// Each request's record: `GET /__d1-trips` answers all of them, oldest first, as
// { seq, path, before: [sql...], after: [sql...], settled, overlapped }. `settled` turns true
// when the request's waitUntil work has finished; `overlapped` is true if an earlier request's
// waitUntil work was still running when this one came in (its round trips could then be counted
// here). The proxied answer carries `x-d1-request` (its seq) and `x-d1-round-trips-before-answer`
// beside count-d1's `x-d1-round-trips`.
import { WorkerEntrypoint } from "cloudflare:workers";
import CountD1 from "../bench/count-d1.mjs";

// The Socket.IO connections' Durable Object, which the harness binds as SOCKETS.
export { SocketConnection } from "../worker/build/index.js";

const records = [];
let current = null;

/** One executed statement or batch, recorded against the current request. */
function trip(sql) {
  if (!current) return;
  (current.answered ? current.after : current.before).push(sql);
}

const short = (sql) => sql.replace(/\s+/g, " ").trim().slice(0, 72);

class Statement {
  constructor(inner, sql) {
    this.inner = inner;
    this.sql = sql;
  }
  bind(...args) {
    return new Statement(this.inner.bind(...args), this.sql);
  }
  first(column) {
    trip(this.sql);
    return this.inner.first(column);
  }
  run() {
    trip(this.sql);
    return this.inner.run();
  }
  all() {
    trip(this.sql);
    return this.inner.all();
  }
  raw(options) {
    trip(this.sql);
    return this.inner.raw(options);
  }
}

// worker-rs accepts a D1 binding by its constructor's name (count-d1 wraps this one, and the
// worker sees count-d1's, of the same name).
class D1Database {
  constructor(inner) {
    this.inner = inner;
  }
  prepare(sql) {
    return new Statement(this.inner.prepare(sql), short(sql));
  }
  batch(statements) {
    trip(`batch[${statements.map((s) => s.sql).join(" ; ")}]`);
    return this.inner.batch(statements.map((s) => s.inner));
  }
  exec(sql) {
    trip(`exec[${short(sql)}]`);
    return this.inner.exec(sql);
  }
}

// The worker keeps the binding the first request gave it (and count-d1 its wrapper), so this
// one is made once too.
let db;

export default class extends WorkerEntrypoint {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/__d1-trips") {
      const view = records.map(({ answered, pending, ...r }) => r);
      return new Response(JSON.stringify(view), { headers: { "content-type": "application/json" } });
    }
    const rec = {
      seq: records.length,
      path: `${request.method} ${url.pathname}`,
      before: [],
      after: [],
      answered: false,
      pending: 0,
      settled: false,
      overlapped: records.some((r) => !r.settled),
    };
    records.push(rec);
    current = rec;
    // The answer is made when the worker hands its after-the-answer work over.
    const ctx = this.ctx;
    const waitUntil = ctx.waitUntil.bind(ctx);
    ctx.waitUntil = (promise) => {
      rec.answered = true;
      rec.pending++;
      waitUntil(
        Promise.resolve(promise).finally(() => {
          if (--rec.pending === 0) rec.settled = true;
        }),
      );
    };
    db ??= new D1Database(this.env.DB);
    let response;
    try {
      response = await new CountD1(ctx, { ...this.env, DB: db }).fetch(request);
    } finally {
      // A request that handed nothing over is settled with its answer.
      if (!rec.answered) {
        rec.answered = true;
        rec.settled = true;
      }
    }
    const out = new Response(response.body, response);
    out.headers.set("x-d1-request", String(rec.seq));
    out.headers.set("x-d1-round-trips-before-answer", String(rec.before.length));
    return out;
  }
}
