// auth-js's own tests, unchanged, against Portcullis: the `MFA` and `WebAuthn MFA` tests of
// upstream's test/GoTrueClient.test.ts, the `MFA Admin` tests of its test/GoTrueApi.test.ts and
// its passkey end-to-end test (test/passkey.e2e.test.ts, with its software authenticator), vendored in
// e2e/upstream/auth-js (README.md there: which commit, and the one edit, the server's URL).
// They run as upstream runs them (jest with ts-jest), against the client's own TypeScript source
// from the pinned npm package, in a child process; this file starts the worker configured as
// upstream's Supabase CLI config (test/supabase/config.toml) and asserts jest's outcome.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startWorker, root } from "./harness.js";

const suite = path.join(root, "e2e", "upstream", "auth-js");

// Which upstream tests run: jest's -t matches "<describe…> <test>" names: the top-level
// describe('MFA') and describe('WebAuthn MFA') of GoTrueClient.test.ts, and describe('MFA
// Admin') in GoTrueApi.test.ts, and all of passkey.e2e.test.ts (describe('Passkey end-to-end')).
const TEST_NAMES = "^(MFA |WebAuthn MFA |GoTrueAdminApi MFA Admin |Passkey end-to-end )";
const FILES = ["tests/GoTrueClient.test.ts", "tests/GoTrueApi.test.ts", "tests/passkey.e2e.test.ts"];

let worker;
let dir;

/** Runs a command to its end; resolves to { code, stdout, stderr }. */
function run(cmd, args, opts) {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d) => (stdout += d));
    proc.stderr.on("data", (d) => (stderr += d));
    proc.on("error", reject);
    proc.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "portcullis-authjs-"));
  // Upstream's key generator: one RS256 JWK with a random kid and key_ops ["sign", "verify"],
  // written to tests/supabase/signing_keys.json, where tests/lib/clients.ts reads it to sign
  // the anon, service-role and supabase_admin keys. The worker gets the same set as JWT_KEYS.
  mkdirSync(path.join(suite, "tests", "supabase"), { recursive: true }); // git keeps no empty folder
  const gen = await run(process.execPath, [path.join(suite, "tests", "generate-signing-keys.js")], { cwd: suite });
  assert.equal(gen.code, 0, gen.stderr);
  const keys = readFileSync(path.join(suite, "tests", "supabase", "signing_keys.json"), "utf8");
  worker = await startWorker({
    vars: {
      JWT_KEYS: keys,
      SITE_URL: "http://127.0.0.1:3000",
      MAILER_AUTOCONFIRM: "true",
      EXTERNAL_ANONYMOUS_USERS_ENABLED: "true",
      // Every request comes from this machine: no client address, and budgets no test reaches.
      RATE_LIMIT_HEADER: "none",
      CLIENT_MAX_ATTEMPTS: "1000000",
      LOGIN_MAX_PER_CLIENT: "100000",
      LOGIN_MAX_PER_ACCOUNT: "100000",
      RATE_LIMIT_ANONYMOUS_USERS: "100000",
      OTP_MAX_WRONG_PER_ADDRESS: "1000",
      // Upstream's test/supabase/config.toml: WebAuthn factors and passkeys on, for its
      // relying party.
      MFA_WEB_AUTHN_ENROLL_ENABLED: "true",
      MFA_WEB_AUTHN_VERIFY_ENABLED: "true",
      PASSKEY_ENABLED: "true",
      WEBAUTHN_RP_ID: "localhost",
      WEBAUTHN_RP_ORIGINS: "http://localhost:5173",
      WEBAUTHN_RP_DISPLAY_NAME: "auth-js tests",
    },
  });
});

after(async () => {
  await worker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("auth-js's own MFA, WebAuthn MFA, MFA Admin and passkey tests pass against Portcullis", { timeout: 300_000 }, async () => {
  const results = path.join(dir, "jest-results.json");
  const jest = path.join(root, "node_modules", ".bin", "jest");
  const { code, stdout, stderr } = await run(
    jest,
    [
      "--config", path.join(suite, "jest.config.js"),
      "--runInBand",
      "--ci",
      "--json", `--outputFile=${results}`,
      "-t", TEST_NAMES,
      ...FILES.map((f) => path.join(suite, f)),
    ],
    { cwd: root, env: { ...process.env, PORTCULLIS_GOTRUE_URL: `${worker.url}/auth/v1` } },
  );
  let report;
  try {
    report = JSON.parse(readFileSync(results, "utf8"));
  } catch (e) {
    assert.fail(`jest wrote no results (exit ${code}): ${e.message}\n${stdout}\n${stderr}`);
  }

  const tests = report.testResults.flatMap((file) =>
    file.assertionResults.map((t) => ({ file: path.basename(file.name), ...t })),
  );
  const failed = tests.filter((t) => t.status === "failed");
  for (const t of tests.filter((t) => t.status !== "pending" && t.status !== "skipped")) {
    console.log(`${t.status === "passed" ? "✔" : "✖"} ${t.file}: ${t.fullName}`);
  }
  for (const t of failed) console.log(`\n✖ ${t.file}: ${t.fullName}\n${t.failureMessages.join("\n")}`);
  // A file that did not run at all (a compile error, say) has a message and no tests.
  for (const file of report.testResults.filter((f) => f.status === "failed" && f.message)) {
    if (file.assertionResults.every((t) => t.status !== "failed")) console.log(`\n✖ ${file.name}\n${file.message}`);
  }

  assert.ok(report.numPassedTests + report.numFailedTests > 0, `no upstream test ran:\n${stderr}`);
  assert.equal(report.numFailedTestSuites, 0, `${report.numFailedTestSuites} test file(s) failed:\n${stderr}`);
  assert.deepEqual(failed.map((t) => t.fullName), [], "upstream tests failed (above)");
  assert.equal(code, 0, stderr);
});
