// A web app's page for the browser suites: at upstream's test origin (http://localhost:5173,
// served by Playwright's routing, so a secure context without a server of its own), with
// client libraries bundled by esbuild as one global, the paths the app calls passed on to the
// worker (as a deployment behind one host does: Chromium refuses a public page's requests to
// loopback), and a DevTools virtual authenticator attached. Not a test file: the WebAuthn
// suites (webauthn_browser, passkeys_browser) import it.
import { build } from "esbuild";
import { root } from "./harness.js";

export const ORIGIN = "http://localhost:5173";

/** `exports` (lines of `export ... from "<package>"`) bundled for the browser as `AuthJs`. */
export async function bundle(exports) {
  const out = await build({
    stdin: { contents: exports.join("\n"), resolveDir: root },
    bundle: true,
    format: "iife",
    globalName: "AuthJs",
    platform: "browser",
    write: false,
    logLevel: "silent",
  });
  return out.outputFiles[0].text;
}

/**
 * A page at ORIGIN in a new context of `browser`, with `script` loaded, requests under
 * /auth/v1/ and to the paths `proxied` passed on to `workerUrl`, and a virtual authenticator of
 * `options` (DevTools `WebAuthn.addVirtualAuthenticator`).
 */
export async function openAppPage({ browser, workerUrl, script, proxied = [], options }) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.route(`${ORIGIN}/**`, async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname.startsWith("/auth/v1/") || proxied.includes(url.pathname)) {
      return route.fulfill({ response: await route.fetch({ url: `${workerUrl}${url.pathname}${url.search}` }) });
    }
    if (url.pathname === "/auth.js") return route.fulfill({ contentType: "text/javascript", body: script });
    return route.fulfill({ contentType: "text/html", body: '<!doctype html><title>app</title><script src="/auth.js"></script>' });
  });
  await page.goto(`${ORIGIN}/`);
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", { options });
  return { context, page, cdp, authenticatorId };
}
