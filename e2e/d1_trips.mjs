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
import CountD1, { D1Database } from "../bench/count-d1.mjs";

// The Socket.IO connections' Durable Object, which the harness binds as SOCKETS.
export { SocketConnection } from "../worker/build/index.js";

const records = [];
let current = null;

const short = (sql) => sql.replace(/\s+/g, " ").trim().slice(0, 72);

/** One executed statement, batch or exec (count-d1's `onTrip`), recorded against the current
 * request: a statement by its SQL, the others as `batch[sql ; sql]` and `exec[sql]`, each SQL
 * shortened. (count-d1 wraps this wrapper, and the worker sees count-d1's.) */
function trip(kind, sqls) {
  if (!current) return;
  const what = kind === "statement" ? short(sqls[0]) : `${kind}[${sqls.map(short).join(" ; ")}]`;
  (current.answered ? current.after : current.before).push(what);
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
    db ??= new D1Database(this.env.DB, trip);
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
