// What Portcullis does not offer, through @supabase/auth-js unchanged against the built worker
// in workerd: each call gets the error code and message upstream GoTrue sends with the feature
// switched off, so an app shows the right message.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GoTrueClient } from "@supabase/auth-js";
import { useWorker, codeIn, memoryStorage } from "./harness.js";

const env = useWorker({ mail: true });
const client = () => new GoTrueClient({ url: `${env.worker.url}/auth/v1`, autoRefreshToken: false, persistSession: false });

test("phone, id_token and SSO sign-ins get upstream's disabled answers", async () => {
  const auth = client();
  const cases = [
    [() => auth.signUp({ phone: "+15550100", password: "a phone password" }), "phone_provider_disabled", "Phone signups are disabled"],
    [() => auth.signInWithPassword({ phone: "+15550100", password: "a phone password" }), "phone_provider_disabled", "Phone logins are disabled"],
    [() => auth.signInWithOtp({ phone: "+15550100" }), "phone_provider_disabled", "Unsupported phone provider"],
    [() => auth.signInWithIdToken({ provider: "google", token: "x.y.z" }), "provider_disabled", 'Provider (issuer "https://accounts.google.com") is not enabled'],
    [() => auth.signInWithSSO({ domain: "example.com" }), "saml_provider_disabled", "SAML 2.0 is disabled"],
  ];
  for (const [attempt, code, message] of cases) {
    const { data, error } = await attempt();
    assert.equal(error?.code, code, message);
    assert.equal(error.message, message);
    assert.equal(data?.session ?? null, null);
  }
});

test("phone factors and identity linking answer as switched off, for a signed-in user", async () => {
  const auth = new GoTrueClient({ url: `${env.worker.url}/auth/v1`, autoRefreshToken: false, persistSession: true, storage: memoryStorage() });
  const email = `unoffered-${Date.now()}@example.com`;
  await auth.signUp({ email, password: "an unoffered password" });
  await auth.verifyOtp({ email, token: codeIn(await env.mail.latest(email)), type: "signup" });
  const phone = await auth.mfa.enroll({ factorType: "phone", phone: "+15550100" });
  assert.equal(phone.error.code, "mfa_phone_enroll_not_enabled");
  assert.equal(phone.error.message, "MFA enroll is disabled for Phone");
  const aal = await auth.mfa.getAuthenticatorAssuranceLevel();
  assert.equal(aal.data.currentLevel, "aal1");
  const linked = await auth.linkIdentity({ provider: "github", options: { skipBrowserRedirect: true } });
  assert.equal(linked.error.code, "manual_linking_disabled");
  assert.equal(linked.error.message, "Manual linking is disabled");
});
