// Entry module for the round-trip count only (never for timings): runs the built worker with its
// D1 binding wrapped so that each statement executed (first, run, all, raw) and each batch counts
// as one round trip, and reports the count in the response header `x-d1-round-trips`.
import { WorkerEntrypoint } from "cloudflare:workers";
import Portcullis from "../worker/build/index.js";

class Statement {
  constructor(inner, counter) {
    this.inner = inner;
    this.counter = counter;
  }
  bind(...args) {
    return new Statement(this.inner.bind(...args), this.counter);
  }
  first(column) {
    this.counter.n++;
    return this.inner.first(column);
  }
  run() {
    this.counter.n++;
    return this.inner.run();
  }
  all() {
    this.counter.n++;
    return this.inner.all();
  }
  raw(options) {
    this.counter.n++;
    return this.inner.raw(options);
  }
}

// worker-rs accepts a D1 binding by its constructor's name.
class D1Database {
  constructor(inner, counter) {
    this.inner = inner;
    this.counter = counter;
  }
  prepare(sql) {
    return new Statement(this.inner.prepare(sql), this.counter);
  }
  batch(statements) {
    this.counter.n++;
    return this.inner.batch(statements.map((s) => s.inner));
  }
  exec(sql) {
    this.counter.n++;
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
    wrapped ??= new D1Database(this.env.DB, counter);
    counter.n = 0;
    const env = { ...this.env, DB: wrapped };
    const response = await new Portcullis(this.ctx, env).fetch(request);
    const out = new Response(response.body, response);
    out.headers.set("x-d1-round-trips", String(counter.n));
    return out;
  }
}
