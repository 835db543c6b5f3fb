// Entry module for the round-trip count only (never for timings): runs the built worker with its
// D1 binding wrapped so that each statement executed (first, run, all, raw) and each batch counts
// as one round trip, and reports the count in the response header `x-d1-round-trips`.
import { WorkerEntrypoint } from "cloudflare:workers";
import Portcullis from "../worker/build/index.js";

/** A prepared statement that reports each execution (first, run, all, raw) to `onTrip`. */
class Statement {
  constructor(inner, sql, onTrip) {
    this.inner = inner;
    this.sql = sql;
    this.onTrip = onTrip;
  }
  bind(...args) {
    return new Statement(this.inner.bind(...args), this.sql, this.onTrip);
  }
  first(column) {
    this.onTrip("statement", [this.sql]);
    return this.inner.first(column);
  }
  run() {
    this.onTrip("statement", [this.sql]);
    return this.inner.run();
  }
  all() {
    this.onTrip("statement", [this.sql]);
    return this.inner.all();
  }
  raw(options) {
    this.onTrip("statement", [this.sql]);
    return this.inner.raw(options);
  }
}

/**
 * A D1 binding that calls `onTrip(kind, sqls)` for each round trip: a statement executed
 * (`"statement"`, its SQL), a batch (`"batch"`, each statement's SQL) or an `"exec"`. Also
 * e2e/d1_trips.mjs's. worker-rs accepts a D1 binding by its constructor's name, so the class
 * keeps D1Database's.
 */
export class D1Database {
  constructor(inner, onTrip) {
    this.inner = inner;
    this.onTrip = onTrip;
  }
  prepare(sql) {
    return new Statement(this.inner.prepare(sql), sql, this.onTrip);
  }
  batch(statements) {
    this.onTrip("batch", statements.map((s) => s.sql));
    return this.inner.batch(statements.map((s) => s.inner));
  }
  exec(sql) {
    this.onTrip("exec", [sql]);
    return this.inner.exec(sql);
  }
}

// The worker builds its app once per isolate, keeping the D1 binding the first request gave it,
// so the wrapper is made once too and its counter reset per request (the bench counts one
// request at a time).
const counter = { n: 0 };
let wrapped;

export default class extends WorkerEntrypoint {
  async fetch(request) {
    wrapped ??= new D1Database(this.env.DB, () => counter.n++);
    counter.n = 0;
    const env = { ...this.env, DB: wrapped };
    const response = await new Portcullis(this.ctx, env).fetch(request);
    const out = new Response(response.body, response);
    out.headers.set("x-d1-round-trips", String(counter.n));
    return out;
  }
}
