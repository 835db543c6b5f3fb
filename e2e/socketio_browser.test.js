// Feathers over Socket.IO in headless Chromium (Playwright, Debian's /usr/bin/chromium): the
// Feathers guide's page (public/feathers-guide.html), the guide's client set-up unchanged with
// both scripts from the worker (@feathersjs/client's dist/feathers.js from npm at
// /vendor/feathers.js, where the guide has unpkg; /socket.io/socket.io.js), and the demo page
// with its Socket.io transport. Sign up, reload and stay signed in, sign out; neither page
// requests anything from another origin. Screenshots go to e2e/artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { useWorker, call, root } from "./harness.js";

const artifacts = path.join(root, "e2e/artifacts");
const env = useWorker({ browser: true });

before(() => mkdirSync(artifacts, { recursive: true }));

let n = 0;
const unique = (tag) => `${tag}-${Date.now() % 1e7}-${n++}@example.com`;
const storedToken = (page) => page.evaluate(() => localStorage.getItem("feathers-jwt"));

/** A page whose problems (page errors, console errors other than expected 4xx loads) are kept. */
async function newPage() {
  const context = await env.browser.newContext({ viewport: { width: 900, height: 640 } });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && problems.push(m.text()));
  // The pages load only what the worker serves. (Images aside: the guide shows the account's
  // Gravatar, the `avatar` Feathers' guide gives its users; an image runs no code.)
  page.on("request", (r) => r.resourceType() !== "image" && !r.url().startsWith("data:") &&
    new URL(r.url()).origin !== env.worker.url && problems.push(`requested ${r.url()}`));
  // What crossed the wire to /socket.io/: polling requests and WebSockets.
  const wire = { polls: 0, websocketFrames: 0 };
  page.on("request", (r) => r.url().includes("/socket.io/?") && r.url().includes("transport=polling") && wire.polls++);
  page.on("websocket", (ws) => ws.on("framereceived", () => wire.websocketFrames++));
  return { page, problems, wire };
}

async function openGuide(page) {
  await page.goto(`${env.worker.url}/feathers-guide.html`);
}

test("the Feathers guide's page: sign up over Socket.IO, reload and stay signed in, sign out", async () => {
  const { page, problems, wire } = await newPage();
  await openGuide(page);
  await page.locator(".login").waitFor();
  const email = unique("guide");
  await page.fill('[name="email"]', email);
  await page.fill('[name="password"]', "correct horse battery");
  await page.click("#signup");
  await page.locator(".chat").waitFor();
  assert.equal(await page.textContent("#email"), email);
  const token = await storedToken(page);
  assert.ok(token, "the token is in localStorage under feathers-jwt");
  assert.ok(wire.polls > 0 && wire.websocketFrames > 0, `long-polling, then the WebSocket: ${JSON.stringify(wire)}`);

  await page.reload();
  await page.locator(".chat").waitFor();
  assert.equal(await page.textContent("#email"), email, "still signed in after a reload");
  await page.screenshot({ path: path.join(artifacts, "feathers-guide-signed-in.png") });

  await page.click("#logout");
  await page.locator(".login").waitFor();
  assert.equal(await storedToken(page), null, "logout cleared storage");
  const rest = await call(`${env.worker.url}/authentication`, { body: { strategy: "jwt", accessToken: token } });
  assert.equal(rest.status, 401, "the old token is refused on REST");

  await page.fill('[name="email"]', email);
  await page.fill('[name="password"]', "wrong password");
  await page.click("#login");
  await page.locator("#error").waitFor();
  assert.match(await page.textContent("#error"), /Invalid login/);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test("the demo page over its Socket.io transport: register, reload and stay signed in, sign out", async () => {
  const { page, problems, wire } = await newPage();
  await page.goto(`${env.worker.url}/`);
  await page.locator("#signed-out").waitFor();
  await page.check("input[name=transport][value=socketio]");
  await page.waitForLoadState("load");
  await page.locator("#signed-out").waitFor();
  assert.equal(await page.isChecked("input[name=transport][value=socketio]"), true);

  const email = unique("demo-sock");
  await page.fill("#register-email", email);
  await page.fill("#register-password", "correct horse");
  await page.click("#register button");
  await page.locator("#signed-in").waitFor();
  assert.equal(await page.textContent("#user-email"), email);
  assert.match(await page.textContent("#transport"), /^Socket\.io/);

  await page.reload();
  await page.locator("#signed-in").waitFor();
  assert.match(await page.textContent("#how"), /Still signed in/);
  await page.waitForFunction(() => document.getElementById("transport").textContent === "Socket.io (websocket)");
  await page.screenshot({ path: path.join(artifacts, "demo-socketio-signed-in.png") });
  assert.ok(wire.websocketFrames > 0);

  await page.click("#logout");
  await page.locator("#signed-out").waitFor();
  assert.equal(await storedToken(page), null);
  assert.deepEqual(problems, []);
  await page.context().close();
});
