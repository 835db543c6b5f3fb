//! Passkeys through GoTrue's `/passkeys` API as auth-js's `registerPasskey`,
//! `signInWithPasskey` and `passkey.*` drive it, with the software authenticator of
//! `support/authenticator.rs`: the wire shapes; registering, listing, renaming and deleting;
//! signing in at `aal2` with amr `passkey`; and the attacks: replayed assertions and
//! challenges, a wrong origin, a counter that goes back, another account's credential or user
//! handle, a challenge from another client, no user verification, the `aal2` rule for accounts
//! with a second factor, the budget of failed assertions, malformed bodies, over-long names,
//! and the switch off.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
#[path = "support/authenticator.rs"]
mod authenticator;

use authenticator::{assertion, es256, es256_other, registration, Creation, Getting};
use portcullis_shared::ports::{Clock as _, Users as _};
use portcullis_shared::signature::{b64url, from_b64url, Key};
use serde_json::{json, Value};
use support::mfa::{claims, service_role_key};
use support::*;

type TestApp = portcullis_shared::App<portcullis_shared::testing::TestPorts>;

const PW: &str = "s3cret-pass";
const ON: &[(&str, &str)] = &[
    ("PASSKEY_ENABLED", "true"),
    ("MFA_WEB_AUTHN_ENROLL_ENABLED", "true"),
    ("MFA_WEB_AUTHN_VERIFY_ENABLED", "true"),
    ("WEBAUTHN_RP_ID", "example.com"),
    ("WEBAUTHN_RP_ORIGINS", "https://example.com, https://app.example.com"),
    ("WEBAUTHN_RP_DISPLAY_NAME", "Example"),
];

fn bytes(options: &Value) -> Vec<u8> {
    from_b64url(options["options"]["challenge"].as_str().unwrap()).unwrap()
}

fn registration_options(app: &TestApp, token: &str) -> Reply {
    post_auth(app, "/passkeys/registration/options", token, &json!({}))
}

/// Registers a passkey of `key` with `credential_id` for the session `token`.
fn register(app: &TestApp, token: &str, key: Key, credential_id: &[u8]) -> Reply {
    let o = registration_options(app, token);
    assert_eq!(o.status, 200, "{}", o.raw);
    let c = Creation { credential_id: credential_id.to_vec(), challenge: bytes(&o.body), ..Creation::new(key) };
    post_auth(app, "/passkeys/registration/verify", token, &json!({"challenge_id": s(&o.body, "challenge_id"), "credential": registration(&c)}))
}

fn authentication_options(app: &TestApp) -> Value {
    let r = post(app, "/passkeys/authentication/options", &json!({"gotrue_meta_security": {}}));
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body
}

fn getting(key: Key, credential_id: &[u8], user_id: &str, options: &Value, count: u32) -> Getting {
    Getting {
        credential_id: credential_id.to_vec(),
        challenge: bytes(options),
        user_handle: Some(user_id.as_bytes().to_vec()),
        count,
        ..Getting::new(key)
    }
}

fn answer(app: &TestApp, options: &Value, g: &Getting) -> Reply {
    post(app, "/passkeys/authentication/verify", &json!({"challenge_id": s(options, "challenge_id"), "credential": assertion(g)}))
}

/// A fresh sign-in with the passkey `credential_id` of `key`, its counter at `count`.
fn sign_in(app: &TestApp, key: Key, credential_id: &[u8], user_id: &str, count: u32) -> Reply {
    let o = authentication_options(app);
    answer(app, &o, &getting(key, credential_id, user_id, &o, count))
}

/// A confirmed account with a passkey: its session token and user id.
fn with_passkey(app: &TestApp, email: &str, credential_id: &[u8]) -> (String, String) {
    let session = confirmed_user(app, email, PW);
    let token = s(&session, "access_token");
    let r = register(app, &token, es256(), credential_id);
    assert_eq!(r.status, 200, "{}", r.raw);
    (token, session["user"]["id"].as_str().unwrap().to_string())
}

fn assert_error(r: &Reply, status: u16, code: &str, message: &str) {
    assert_eq!((r.status.as_u16(), error_code(r), r.body["msg"].as_str().or(r.body["message"].as_str()).unwrap_or_default()), (status, code, message), "{}", r.raw);
}

#[test]
fn off_by_default_with_upstreams_answer_before_any_session_check() {
    let app = app();
    assert_eq!(get(&app, "/settings", None).body["passkeys_enabled"], false);
    for (method, path) in [("POST", "/passkeys/authentication/options"), ("POST", "/passkeys/registration/options"), ("GET", "/passkeys"), ("DELETE", "/passkeys/x")] {
        let r = call(&app, method, path, &json!({}), None);
        assert_error(&r, 404, "passkey_disabled", "Passkeys are disabled");
    }
    let on = app_with(ON);
    assert_eq!(get(&on, "/settings", None).body["passkeys_enabled"], true);
    assert_eq!(call(&on, "GET", "/passkeys", &Value::Null, None).status, 401);
    assert_eq!(call(&on, "POST", "/passkeys/elsewhere", &json!({}), None).status, 404);
}

#[test]
fn passkeys_need_the_relying_party() {
    let vars = [("PASSKEY_ENABLED", "true")];
    let config = portcullis_shared::config::Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()));
    assert!(config.is_err());
}

#[test]
fn registration_options_are_go_webauthns_for_a_resident_verified_key() {
    let app = app_with(ON);
    let session = confirmed_user(&app, "ann@example.com", PW);
    let token = s(&session, "access_token");
    let r = registration_options(&app, &token);
    assert_eq!(r.status, 200, "{}", r.raw);
    let mut keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["challenge_id", "expires_at", "options"]);
    assert!(uuid::Uuid::parse_str(&s(&r.body, "challenge_id")).is_ok());
    let o = &r.body["options"];
    assert_eq!(o["rp"], json!({"id": "example.com", "name": "Example"}));
    let user_id = session["user"]["id"].as_str().unwrap();
    assert_eq!(o["user"], json!({"id": b64url(user_id.as_bytes()), "name": "ann@example.com", "displayName": "ann@example.com"}));
    assert_eq!(bytes(&r.body).len(), 32);
    assert_eq!(o["authenticatorSelection"], json!({"requireResidentKey": true, "residentKey": "required", "userVerification": "required"}));
    assert_eq!(o["attestation"], "none");
    assert!(o.get("excludeCredentials").is_none());

    assert_eq!(register(&app, &token, es256(), b"credential-1").status, 200);
    let again = registration_options(&app, &token);
    assert_eq!(again.body["options"]["excludeCredentials"], json!([{"type": "public-key", "id": b64url(b"credential-1")}]));
}

#[test]
fn register_list_rename_delete() {
    let app = app_with(ON);
    let token = s(&confirmed_user(&app, "ann@example.com", PW), "access_token");
    let r = register(&app, &token, es256(), b"credential-1");
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["friendly_name"], "Passkey");
    let id = s(&r.body, "id");
    assert!(r.body["created_at"].is_string());

    let list = get(&app, "/passkeys", Some(&token));
    assert_eq!(list.status, 200, "{}", list.raw);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0]["id"], id.as_str());
    assert!(list.body[0].get("last_used_at").is_none());

    let renamed = call(&app, "PATCH", &format!("/passkeys/{id}"), &json!({"friendly_name": "Laptop"}), Some(&token));
    assert_eq!(renamed.status, 200, "{}", renamed.raw);
    assert_eq!(renamed.body["friendly_name"], "Laptop");
    assert_eq!(get(&app, "/passkeys", Some(&token)).body[0]["friendly_name"], "Laptop");

    // Another account sees none of it and can touch none of it.
    let bob = s(&confirmed_user(&app, "bob@example.com", PW), "access_token");
    assert_eq!(get(&app, "/passkeys", Some(&bob)).body, json!([]));
    let r = call(&app, "PATCH", &format!("/passkeys/{id}"), &json!({"friendly_name": "mine"}), Some(&bob));
    assert_error(&r, 404, "validation_failed", "Passkey not found");
    assert_error(&call(&app, "DELETE", &format!("/passkeys/{id}"), &Value::Null, Some(&bob)), 404, "validation_failed", "Passkey not found");
    assert_error(&call(&app, "DELETE", "/passkeys/not-a-uuid", &Value::Null, Some(&token)), 404, "validation_failed", "Passkey not found");

    let deleted = call(&app, "DELETE", &format!("/passkeys/{id}"), &Value::Null, Some(&token));
    assert_eq!(deleted.status, 204, "{}", deleted.raw);
    assert_eq!(get(&app, "/passkeys", Some(&token)).body, json!([]));
    let user_id = claims(&token)["sub"].as_str().unwrap().to_string();
    assert_error(&sign_in(&app, es256(), b"credential-1", &user_id, 1), 400, "webauthn_verification_failed", "Credential verification failed");
}

#[test]
fn the_service_role_lists_and_removes_passkeys_even_with_passkeys_off() {
    let app = app_with(ON);
    let (token, user_id) = with_passkey(&app, "ann@example.com", b"credential-1");
    let key = service_role_key(&app);
    let list = get(&app, &format!("/admin/users/{user_id}/passkeys"), Some(&key));
    assert_eq!(list.status, 200, "{}", list.raw);
    let id = s(&list.body[0], "id");
    assert_eq!(list.body, get(&app, "/passkeys", Some(&token)).body);

    // Not the account itself, not an unknown account or passkey.
    assert_eq!(error_code(&get(&app, &format!("/admin/users/{user_id}/passkeys"), Some(&token))), "not_admin");
    assert_eq!(error_code(&call(&app, "DELETE", &format!("/admin/users/{user_id}/passkeys/{id}"), &Value::Null, Some(&token))), "not_admin");
    let stranger = "00000000-0000-4000-8000-000000000000";
    assert_eq!(error_code(&get(&app, &format!("/admin/users/{stranger}/passkeys"), Some(&key))), "user_not_found");
    let bob = with_passkey(&app, "bob@example.com", b"credential-2").1;
    let r = call(&app, "DELETE", &format!("/admin/users/{bob}/passkeys/{id}"), &Value::Null, Some(&key));
    assert_error(&r, 404, "validation_failed", "Passkey not found");
    let r = call(&app, "DELETE", &format!("/admin/users/{user_id}/passkeys/not-a-uuid"), &Value::Null, Some(&key));
    assert_error(&r, 404, "validation_failed", "Passkey not found");

    let gone = call(&app, "DELETE", &format!("/admin/users/{user_id}/passkeys/{id}"), &Value::Null, Some(&key));
    assert_eq!(gone.status, 204, "{}", gone.raw);
    assert_eq!(get(&app, &format!("/admin/users/{user_id}/passkeys"), Some(&key)).body, json!([]));
    assert_error(&sign_in(&app, es256(), b"credential-1", &user_id, 1), 400, "webauthn_verification_failed", "Credential verification failed");

    // Upstream's admin routes answer whether or not passkeys are on.
    let off = support::app();
    let user = s(&confirmed_user(&off, "cat@example.com", PW)["user"], "id");
    let list = get(&off, &format!("/admin/users/{user}/passkeys"), Some(&service_role_key(&off)));
    assert_eq!((list.status.as_u16(), &list.body), (200, &json!([])), "{}", list.raw);
}

#[test]
fn names_are_required_and_at_most_120_bytes() {
    let app = app_with(ON);
    let (token, _) = with_passkey(&app, "ann@example.com", b"credential-1");
    let id = s(&get(&app, "/passkeys", Some(&token)).body[0], "id");
    let path = format!("/passkeys/{id}");
    assert_eq!(call(&app, "PATCH", &path, &json!({"friendly_name": "é".repeat(60)}), Some(&token)).status, 200);
    let long = call(&app, "PATCH", &path, &json!({"friendly_name": "é".repeat(61)}), Some(&token));
    assert_error(&long, 400, "validation_failed", "friendly_name must be 120 characters or less");
    assert_error(&call(&app, "PATCH", &path, &json!({}), Some(&token)), 400, "validation_failed", "friendly_name is required");
    assert_eq!(call(&app, "PATCH", &path, &json!({"friendly_name": 5}), Some(&token)).status, 400);
    assert_eq!(call(&app, "PATCH", &path, &json!([1]), Some(&token)).status, 400);
}

#[test]
fn a_passkey_signs_in_at_aal2_with_amr_passkey() {
    let app = app_with(ON);
    let (_, user_id) = with_passkey(&app, "ann@example.com", b"credential-1");
    let o = authentication_options(&app);
    let keys: Vec<&String> = o["options"].as_object().unwrap().keys().collect();
    assert!(o["options"].get("allowCredentials").is_none(), "discoverable: no credentials named, {keys:?}");
    assert_eq!(o["options"]["rpId"], "example.com");
    assert_eq!(o["options"]["userVerification"], "required");

    let r = answer(&app, &o, &getting(es256(), b"credential-1", &user_id, &o, 1));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["user"]["id"], user_id.as_str());
    let token = s(&r.body, "access_token");
    let c = claims(&token);
    assert_eq!(c["aal"], "aal2");
    assert_eq!(c["amr"][0]["method"], "passkey");
    assert_eq!(check(&app, &token).status, 200);
    assert_eq!(get(&app, "/api/check?aal=aal2", Some(&token)).status, 200);
    assert_eq!(get(&app, "/user", Some(&token)).status, 200);
    let refreshed = refresh(&app, &s(&r.body, "refresh_token"));
    assert_eq!(refreshed.status, 200, "{}", refreshed.raw);
    assert_eq!(claims(&s(&refreshed.body, "access_token"))["aal"], "aal2");
    let used = &get(&app, "/passkeys", Some(&token)).body[0];
    assert!(used["last_used_at"].is_string(), "{used}");
}

#[test]
fn challenges_and_assertions_are_single_use() {
    let app = app_with(ON);
    let (_, user_id) = with_passkey(&app, "ann@example.com", b"credential-1");
    let o = authentication_options(&app);
    let g = getting(es256(), b"credential-1", &user_id, &o, 1);
    assert_eq!(answer(&app, &o, &g).status, 200);
    assert_error(&answer(&app, &o, &g), 400, "webauthn_challenge_not_found", "Challenge not found or already used");
    // The same signature for a new challenge does not verify; the same counter is refused.
    let fresh = authentication_options(&app);
    let body = json!({"challenge_id": s(&fresh, "challenge_id"), "credential": assertion(&g)});
    assert_error(&post(&app, "/passkeys/authentication/verify", &body), 400, "webauthn_verification_failed", "Credential verification failed");
    assert_error(&sign_in(&app, es256(), b"credential-1", &user_id, 1), 400, "webauthn_verification_failed", "Credential verification failed");
    assert_eq!(sign_in(&app, es256(), b"credential-1", &user_id, 2).status, 200);
}

#[test]
fn a_counter_that_goes_back_is_refused_and_reported() {
    let app = app_with(ON);
    let (_, user_id) = with_passkey(&app, "ann@example.com", b"credential-1");
    assert_eq!(sign_in(&app, es256(), b"credential-1", &user_id, 5).status, 200);
    assert_error(&sign_in(&app, es256(), b"credential-1", &user_id, 3), 400, "webauthn_verification_failed", "Credential verification failed");
    let errors = ports(&app).errors.borrow();
    assert!(errors.iter().any(|(_, d)| d.contains("signature counter went from 5 to 3") && d.contains("cloned")), "{errors:?}");
    drop(errors);
    assert_eq!(sign_in(&app, es256(), b"credential-1", &user_id, 6).status, 200);
}

#[test]
fn only_the_configured_origins_and_relying_party_count() {
    let app = app_with(ON);
    let token = s(&confirmed_user(&app, "ann@example.com", PW), "access_token");
    let o = registration_options(&app, &token);
    let evil = Creation { origin: "https://evil.test".into(), challenge: bytes(&o.body), ..Creation::new(es256()) };
    let r = post_auth(&app, "/passkeys/registration/verify", &token, &json!({"challenge_id": s(&o.body, "challenge_id"), "credential": registration(&evil)}));
    assert_error(&r, 400, "webauthn_verification_failed", "Credential verification failed");

    assert_eq!(register(&app, &token, es256(), b"credential-1").status, 200);
    let user_id = claims(&token)["sub"].as_str().unwrap().to_string();
    let o = authentication_options(&app);
    let g = Getting { origin: "https://evil.test".into(), ..getting(es256(), b"credential-1", &user_id, &o, 1) };
    assert_error(&answer(&app, &o, &g), 400, "webauthn_verification_failed", "Credential verification failed");
    let o = authentication_options(&app);
    let g = Getting { rp_id: "evil.test".into(), ..getting(es256(), b"credential-1", &user_id, &o, 1) };
    assert_error(&answer(&app, &o, &g), 400, "webauthn_verification_failed", "Credential verification failed");
    let o = authentication_options(&app);
    let g = Getting { origin: "https://app.example.com".into(), ..getting(es256(), b"credential-1", &user_id, &o, 1) };
    assert_eq!(answer(&app, &o, &g).status, 200);
}

#[test]
fn the_user_must_be_verified_and_the_handle_the_accounts() {
    let app = app_with(ON);
    let (_, ann) = with_passkey(&app, "ann@example.com", b"credential-1");
    let (_, bob) = with_passkey(&app, "bob@example.com", b"credential-2");
    let o = authentication_options(&app);
    let present_only = Getting { flags: 0x01, ..getting(es256(), b"credential-1", &ann, &o, 1) };
    assert_error(&answer(&app, &o, &present_only), 400, "webauthn_verification_failed", "Credential verification failed");
    // Ann's credential claiming to be Bob's, and one with no handle.
    assert_error(&sign_in(&app, es256(), b"credential-1", &bob, 2), 400, "webauthn_verification_failed", "Credential verification failed");
    let o = authentication_options(&app);
    let anonymous = Getting { user_handle: None, ..getting(es256(), b"credential-1", &ann, &o, 2) };
    assert_error(&answer(&app, &o, &anonymous), 400, "webauthn_verification_failed", "Credential verification failed");
    // Bob's credential id signed by another key.
    assert_error(&sign_in(&app, es256_other(), b"credential-2", &bob, 2), 400, "webauthn_verification_failed", "Credential verification failed");
    assert_error(&sign_in(&app, es256(), b"nobody's", &bob, 2), 400, "webauthn_verification_failed", "Credential verification failed");
    assert_eq!(sign_in(&app, es256(), b"credential-2", &bob, 2).status, 200);
}

#[test]
fn a_credential_id_is_one_accounts_passkey_or_factor() {
    let app = app_with(ON);
    let (_, _) = with_passkey(&app, "ann@example.com", b"credential-1");
    let bob = s(&confirmed_user(&app, "bob@example.com", PW), "access_token");
    assert_error(&register(&app, &bob, es256_other(), b"credential-1"), 422, "webauthn_credential_exists", "This credential is already registered");
    // Nor as a WebAuthn factor.
    let f = post_auth(&app, "/factors", &bob, &json!({"factor_type": "webauthn", "friendly_name": "key"}));
    let factor = s(&f.body, "id");
    let c = post_auth(&app, &format!("/factors/{factor}/challenge"), &bob, &json!({}));
    let challenge = from_b64url(c.body["webauthn"]["credential_options"]["publicKey"]["challenge"].as_str().unwrap()).unwrap();
    let creation = Creation { credential_id: b"credential-1".to_vec(), challenge, ..Creation::new(es256_other()) };
    let body = json!({"challenge_id": s(&c.body, "id"), "webauthn": {"type": "create", "credential_response": registration(&creation)}});
    let r = post_auth(&app, &format!("/factors/{factor}/verify"), &bob, &body);
    assert_eq!(r.status, 422, "{}", r.raw);
}

#[test]
fn with_a_verified_factor_managing_passkeys_needs_aal2() {
    let app = app_with(ON);
    let (aal1, user_id) = with_passkey(&app, "ann@example.com", b"credential-1");
    let id = s(&get(&app, "/passkeys", Some(&aal1)).body[0], "id");
    // A WebAuthn factor, verified in another session.
    let f = post_auth(&app, "/factors", &aal1, &json!({"factor_type": "webauthn", "friendly_name": "key"}));
    let factor = s(&f.body, "id");
    let c = post_auth(&app, &format!("/factors/{factor}/challenge"), &aal1, &json!({}));
    let challenge = from_b64url(c.body["webauthn"]["credential_options"]["publicKey"]["challenge"].as_str().unwrap()).unwrap();
    let creation = Creation { credential_id: b"factor-key".to_vec(), challenge, ..Creation::new(es256_other()) };
    let body = json!({"challenge_id": s(&c.body, "id"), "webauthn": {"type": "create", "credential_response": registration(&creation)}});
    assert_eq!(post_auth(&app, &format!("/factors/{factor}/verify"), &aal1, &body).status, 200);

    let password = s(&login(&app, "ann@example.com", PW).body, "access_token");
    assert_eq!(claims(&password)["aal"], "aal1");
    let words = "AAL2 session is required to manage passkeys when MFA is enabled";
    assert_error(&registration_options(&app, &password), 403, "insufficient_aal", words);
    assert_error(&call(&app, "DELETE", &format!("/passkeys/{id}"), &Value::Null, Some(&password)), 403, "insufficient_aal", words);
    assert_eq!(get(&app, "/passkeys", Some(&password)).status, 200);

    // A passkey session is at aal2: it may.
    let passkey = s(&sign_in(&app, es256(), b"credential-1", &user_id, 1).body, "access_token");
    assert_eq!(registration_options(&app, &passkey).status, 200);
    assert_eq!(call(&app, "DELETE", &format!("/passkeys/{id}"), &Value::Null, Some(&passkey)).status, 204);
}

#[test]
fn a_challenge_is_answered_only_from_its_client_and_account() {
    let app = app_with(ON);
    let (token, user_id) = with_passkey(&app, "ann@example.com", b"credential-1");
    let o = from(&app, "203.0.113.1", "/passkeys/authentication/options", &json!({})).body;
    let g = getting(es256(), b"credential-1", &user_id, &o, 1);
    let r = from(&app, "203.0.113.2", "/passkeys/authentication/verify", &json!({"challenge_id": s(&o, "challenge_id"), "credential": assertion(&g)}));
    assert_error(&r, 400, "webauthn_challenge_not_found", "Challenge not found or already used");

    // A registration challenge is its account's, and not a sign-in's.
    let reg = registration_options(&app, &token).body;
    let g = getting(es256(), b"credential-1", &user_id, &reg, 1);
    assert_error(&answer(&app, &reg, &g), 400, "webauthn_challenge_not_found", "Challenge not found or already used");
    let reg = registration_options(&app, &token).body;
    let bob = s(&confirmed_user(&app, "bob@example.com", PW), "access_token");
    let c = Creation { credential_id: b"credential-9".to_vec(), challenge: bytes(&reg), ..Creation::new(es256_other()) };
    let r = post_auth(&app, "/passkeys/registration/verify", &bob, &json!({"challenge_id": s(&reg, "challenge_id"), "credential": registration(&c)}));
    assert_error(&r, 400, "webauthn_challenge_not_found", "Challenge not found or already used");
}

#[test]
fn an_expired_challenge_is_refused() {
    let app = app_with(ON);
    let (_, user_id) = with_passkey(&app, "ann@example.com", b"credential-1");
    let o = authentication_options(&app);
    ports(&app).clock.advance_secs(301);
    assert_error(&answer(&app, &o, &getting(es256(), b"credential-1", &user_id, &o, 1)), 400, "webauthn_challenge_expired", "Challenge has expired");
}

#[test]
fn failed_assertions_count_against_the_accounts_budget() {
    let app = app_with(&[ON, &[("OTP_MAX_WRONG_PER_ADDRESS", "3")]].concat());
    let (_, user_id) = with_passkey(&app, "ann@example.com", b"credential-1");
    for _ in 0..3 {
        assert_eq!(sign_in(&app, es256_other(), b"credential-1", &user_id, 1).status, 400);
    }
    let r = sign_in(&app, es256(), b"credential-1", &user_id, 1);
    assert_eq!(r.status, 429, "{}", r.raw);
}

#[test]
fn a_banned_or_deleted_account_does_not_sign_in() {
    let app = app_with(ON);
    let (_, user_id) = with_passkey(&app, "ann@example.com", b"credential-1");
    let store = &ports(&app).store;
    let id = portcullis_shared::model::UserId::new(user_id.clone());
    let now = ports(&app).clock.now();
    pollster::block_on(store.set_banned_until(&id, Some(now.plus_secs(3600)), now)).unwrap();
    let r = sign_in(&app, es256(), b"credential-1", &user_id, 1);
    assert_eq!((r.status.as_u16(), error_code(&r)), (403, "user_banned"), "{}", r.raw);
    pollster::block_on(store.set_banned_until(&id, None, now)).unwrap();
    pollster::block_on(store.soft_delete(&id, now)).unwrap();
    assert_error(&sign_in(&app, es256(), b"credential-1", &user_id, 2), 400, "webauthn_verification_failed", "Credential verification failed");
}

#[test]
fn malformed_bodies_are_refused_in_upstreams_words_never_with_a_5xx() {
    let app = app_with(ON);
    let (token, _) = with_passkey(&app, "ann@example.com", b"credential-1");
    let uuid = "00000000-0000-4000-8000-000000000000";
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({}), 400, "validation_failed"),
        (json!({"challenge_id": uuid}), 400, "validation_failed"),
        (json!({"challenge_id": "nope", "credential": {}}), 400, "validation_failed"),
        (json!({"challenge_id": 5, "credential": {}}), 400, "bad_json"),
        (json!([1]), 400, "bad_json"),
        (json!({"challenge_id": uuid, "credential": {}}), 400, "webauthn_challenge_not_found"),
    ];
    for path in ["/passkeys/authentication/verify", "/passkeys/registration/verify"] {
        for (body, status, code) in &cases {
            let r = call(&app, "POST", path, body, Some(&token));
            assert_eq!((r.status.as_u16(), error_code(&r)), (*status, *code), "{path} {body}: {}", r.raw);
        }
        let r = send(&app, request("POST", path, b"{not json", &[("authorization", &format!("Bearer {token}")), ("content-type", "application/json")]));
        assert_eq!(r.status, 400, "{}", r.raw);
    }
    // Garbage credentials for live challenges: the challenge is spent, the answer a 400.
    for credential in [json!("text"), json!({"id": 1}), json!({"id": "!!", "rawId": "!!", "type": "public-key", "response": {}})] {
        let o = authentication_options(&app);
        let r = post(&app, "/passkeys/authentication/verify", &json!({"challenge_id": s(&o, "challenge_id"), "credential": credential}));
        assert_eq!((r.status.as_u16(), error_code(&r)), (400, "webauthn_verification_failed"), "{}", r.raw);
        let o = registration_options(&app, &token).body;
        let r = post_auth(&app, "/passkeys/registration/verify", &token, &json!({"challenge_id": s(&o, "challenge_id"), "credential": credential}));
        assert_eq!((r.status.as_u16(), error_code(&r)), (400, "webauthn_verification_failed"), "{}", r.raw);
    }
}

#[test]
fn an_account_has_at_most_the_configured_passkeys() {
    let app = app_with(&[ON, &[("PASSKEY_MAX_PASSKEYS_PER_USER", "1")]].concat());
    let (token, _) = with_passkey(&app, "ann@example.com", b"credential-1");
    assert_error(&registration_options(&app, &token), 422, "too_many_passkeys", "Maximum number of passkeys reached");
}
