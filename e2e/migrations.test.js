// Migrations on data that existed before them, in D1 inside workerd: what an upgrade of a
// running deployment meets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Miniflare } from "miniflare";
import { migrate } from "./harness.js";

test("0005 gives every existing session a dialect, from its method where that decides it", async () => {
  const mf = new Miniflare({ modules: true, script: "export default { fetch() { return new Response(); } };", d1Databases: ["DB"] });
  try {
    const db = await mf.getD1Database("DB");
    await migrate(db, { before: "0005" });
    await db.prepare("INSERT INTO users (id, email, user_metadata, created_at, updated_at) VALUES ('u1', 'a@example.com', '{}', 1, 1)").run();
    const methods = ["password", "otp", "magiclink", "recovery", "email_change", "registration", "email_link"];
    await db.batch(
      methods.map((m) =>
        db.prepare("INSERT INTO sessions (id, user_id, method, created_at) VALUES (?1, 'u1', ?1, 1)").bind(m),
      ),
    );
    await migrate(db);
    const { results } = await db.prepare("SELECT method, dialect FROM sessions ORDER BY method").all();
    assert.deepEqual(Object.fromEntries(results.map((r) => [r.method, r.dialect])), {
      email_change: "gotrue",
      email_link: "passwordless",
      magiclink: "gotrue",
      otp: "gotrue",
      password: "gotrue",
      recovery: "gotrue",
      registration: "passwordless",
    });
  } finally {
    await mf.dispose();
  }
});
