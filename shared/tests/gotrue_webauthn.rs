//! WebAuthn factors through GoTrue's MFA API as auth-js's `mfa.webauthn.register` and
//! `authenticate` drive it, with the software authenticator of `support/authenticator.rs`:
//! the wire shapes, a registration and an assertion raising the session to `aal2`, and the
//! attacks: replayed assertions, a wrong origin, a counter that goes back, a credential id
//! another account holds, malformed bodies, and the switches off.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
#[path = "support/authenticator.rs"]
mod authenticator;

use authenticator::{assertion, es256, es256_other, registration, Creation, Getting};
use portcullis_shared::signature::{b64url, from_b64url, Key};
use serde_json::{json, Value};
use support::mfa::claims;
use support::*;

type TestApp = portcullis_shared::App<portcullis_shared::testing::TestPorts>;

const PW: &str = "s3cret-pass";
const ON: &[(&str, &str)] = &[
    ("MFA_WEB_AUTHN_ENROLL_ENABLED", "true"),
    ("MFA_WEB_AUTHN_VERIFY_ENABLED", "true"),
    ("WEBAUTHN_RP_ID", "example.com"),
    ("WEBAUTHN_RP_ORIGINS", "https://example.com, https://app.example.com"),
    ("WEBAUTHN_RP_DISPLAY_NAME", "Example"),
];

fn enroll(app: &TestApp, token: &str, name: &str) -> String {
    let r = post_auth(app, "/factors", token, &json!({"factor_type": "webauthn", "friendly_name": name}));
    assert_eq!(r.status, 200, "{}", r.raw);
    s(&r.body, "id")
}

/// A challenge as auth-js asks for it (with the rpId and rpOrigins the server must ignore).
fn challenge(app: &TestApp, token: &str, factor: &str) -> Value {
    let body = json!({"factorId": factor, "webauthn": {"rpId": "evil.test", "rpOrigins": ["https://evil.test"]}});
    let r = post_auth(app, &format!("/factors/{factor}/challenge"), token, &body);
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body
}

fn options(challenge: &Value) -> &Value {
    &challenge["webauthn"]["credential_options"]["publicKey"]
}

fn challenge_bytes(challenge: &Value) -> Vec<u8> {
    from_b64url(options(challenge)["challenge"].as_str().unwrap()).unwrap()
}

fn verify(app: &TestApp, token: &str, factor: &str, challenge_id: &str, kind: &str, response: Value) -> Reply {
    let body = json!({"challenge_id": challenge_id, "webauthn": {"type": kind, "rpId": "evil.test", "rpOrigins": ["https://evil.test"], "credential_response": response}});
    post_auth(app, &format!("/factors/{factor}/verify"), token, &body)
}

fn creation(key: Key, credential_id: &[u8], challenge: &Value) -> Creation {
    Creation { credential_id: credential_id.to_vec(), challenge: challenge_bytes(challenge), ..Creation::new(key) }
}

fn getting(key: Key, credential_id: &[u8], user_id: &str, challenge: &Value, count: u32) -> Getting {
    Getting {
        credential_id: credential_id.to_vec(),
        challenge: challenge_bytes(challenge),
        user_handle: Some(user_id.as_bytes().to_vec()),
        count,
        ..Getting::new(key)
    }
}

/// An account with a registered WebAuthn factor: its `aal2` session, the factor and user ids.
fn registered(app: &TestApp, email: &str, credential_id: &[u8]) -> (Value, String, String) {
    let session = confirmed_user(app, email, PW);
    let token = s(&session, "access_token");
    let factor = enroll(app, &token, "key");
    let c = challenge(app, &token, &factor);
    let r = verify(app, &token, &factor, &s(&c, "id"), "create", registration(&creation(es256(), credential_id, &c)));
    assert_eq!(r.status, 200, "{}", r.raw);
    let user_id = r.body["user"]["id"].as_str().unwrap().to_string();
    (r.body, factor, user_id)
}

/// A new password sign-in (`aal1`) and an assertion of `count` with a new challenge.
fn sign_in_with(app: &TestApp, email: &str, factor: &str, user_id: &str, count: u32) -> Reply {
    let token = s(&login(app, email, PW).body, "access_token");
    let c = challenge(app, &token, factor);
    verify(app, &token, factor, &s(&c, "id"), "request", assertion(&getting(es256(), b"credential-1", user_id, &c, count)))
}

#[test]
fn enrollment_and_the_create_options_are_upstreams_shapes() {
    let app = app_with(ON);
    let session = confirmed_user(&app, "ann@example.com", PW);
    let token = s(&session, "access_token");
    let r = post_auth(&app, "/factors", &token, &json!({"factor_type": "webauthn", "friendly_name": "yubikey"}));
    assert_eq!(r.status, 200, "{}", r.raw);
    let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 3, "{}", r.raw);
    assert_eq!((r.body["type"].as_str(), r.body["friendly_name"].as_str()), (Some("webauthn"), Some("yubikey")));
    let factor = s(&r.body, "id");

    let c = challenge(&app, &token, &factor);
    assert_eq!(c["type"], "webauthn");
    assert!(c["expires_at"].as_i64().unwrap() > 0);
    assert_eq!(c["webauthn"]["type"], "create");
    let o = options(&c);
    assert_eq!(o["rp"], json!({"id": "example.com", "name": "Example"}), "the configured party, not the client's");
    let user_id = session["user"]["id"].as_str().unwrap();
    assert_eq!(o["user"], json!({"id": b64url(user_id.as_bytes()), "name": "ann@example.com", "displayName": "ann@example.com"}));
    assert_eq!(challenge_bytes(&c).len(), 32);
    let algs: Vec<i64> = o["pubKeyCredParams"].as_array().unwrap().iter().map(|p| p["alg"].as_i64().unwrap()).collect();
    assert_eq!(algs, [-7, -8, -257]);
    assert!(o["pubKeyCredParams"].as_array().unwrap().iter().all(|p| p["type"] == "public-key"));
    assert_eq!(o["timeout"], 300_000);
    assert_eq!(o["attestation"], "none");
    assert_eq!(o["authenticatorSelection"]["userVerification"], "preferred");
    assert!(o.get("excludeCredentials").is_none(), "no verified credential to exclude yet");
    let other = challenge(&app, &token, &factor);
    assert_ne!(challenge_bytes(&other), challenge_bytes(&c), "each challenge its own bytes");
}

#[test]
fn a_registration_then_an_assertion_raise_sessions_to_aal2() {
    let app = app_with(ON);
    let (body, factor, user_id) = registered(&app, "ann@example.com", b"credential-1");
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["aal"], "aal2");
    assert!(access["amr"].as_array().unwrap().iter().any(|m| m["method"] == "mfa/webauthn"), "{access}");
    let listed = &body["user"]["factors"][0];
    assert_eq!((listed["factor_type"].as_str(), listed["status"].as_str()), (Some("webauthn"), Some("verified")));
    assert_eq!(listed["web_authn_aaguid"], "11111111-1111-1111-1111-111111111111");

    // A later sign-in: the request options name the factor's credential only.
    let token = s(&login(&app, "ann@example.com", PW).body, "access_token");
    assert_eq!(claims(&token)["aal"], "aal1");
    let c = challenge(&app, &token, &factor);
    assert_eq!(c["webauthn"]["type"], "request");
    let o = options(&c);
    assert_eq!(o["rpId"], "example.com");
    assert_eq!(o["allowCredentials"], json!([{"type": "public-key", "id": b64url(b"credential-1"), "transports": ["internal", "hybrid"]}]));
    assert_eq!(o["userVerification"], "preferred");
    assert_eq!(challenge_bytes(&c).len(), 32);
    let r = verify(&app, &token, &factor, &s(&c, "id"), "request", assertion(&getting(es256(), b"credential-1", &user_id, &c, 1)));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(claims(r.body["access_token"].as_str().unwrap())["aal"], "aal2");

    // A second factor's create options exclude the verified credential.
    let aal2 = s(&r.body, "access_token");
    let second = enroll(&app, &aal2, "backup key");
    let c = challenge(&app, &aal2, &second);
    assert_eq!(options(&c)["excludeCredentials"][0]["id"], b64url(b"credential-1"));
}

#[test]
fn an_assertion_is_taken_once_and_only_for_its_own_challenge() {
    let app = app_with(ON);
    let (_, factor, user_id) = registered(&app, "ann@example.com", b"credential-1");
    let token = s(&login(&app, "ann@example.com", PW).body, "access_token");
    let c = challenge(&app, &token, &factor);
    let response = assertion(&getting(es256(), b"credential-1", &user_id, &c, 1));
    assert_eq!(verify(&app, &token, &factor, &s(&c, "id"), "request", response.clone()).status, 200);

    let token = s(&login(&app, "ann@example.com", PW).body, "access_token");
    let again = verify(&app, &token, &factor, &s(&c, "id"), "request", response.clone());
    assert_eq!((again.status.as_u16(), error_code(&again)), (422, "mfa_ip_address_mismatch"), "{}", again.raw);
    let fresh = challenge(&app, &token, &factor);
    let replayed = verify(&app, &token, &factor, &s(&fresh, "id"), "request", response);
    assert_eq!((replayed.status.as_u16(), error_code(&replayed)), (422, "mfa_verification_failed"), "{}", replayed.raw);
    assert_eq!(replayed.body["message"], "Failed to validate WebAuthn MFA response");
}

#[test]
fn only_the_configured_origins_count_whatever_the_client_says() {
    let app = app_with(ON);
    let session = confirmed_user(&app, "ann@example.com", PW);
    let token = s(&session, "access_token");
    let factor = enroll(&app, &token, "key");
    let c = challenge(&app, &token, &factor);
    let evil = Creation { origin: "https://evil.test".into(), ..creation(es256(), b"credential-1", &c) };
    let r = verify(&app, &token, &factor, &s(&c, "id"), "create", registration(&evil));
    assert_eq!((r.status.as_u16(), error_code(&r)), (422, "mfa_verification_failed"), "{}", r.raw);

    let (_, factor, user_id) = registered(&app, "bob@example.com", b"credential-2");
    let token = s(&login(&app, "bob@example.com", PW).body, "access_token");
    let c = challenge(&app, &token, &factor);
    let g = Getting { origin: "https://evil.test".into(), ..getting(es256(), b"credential-2", &user_id, &c, 1) };
    let r = verify(&app, &token, &factor, &s(&c, "id"), "request", assertion(&g));
    assert_eq!((r.status.as_u16(), error_code(&r)), (422, "mfa_verification_failed"), "{}", r.raw);
    let g = Getting { origin: "https://app.example.com".into(), ..getting(es256(), b"credential-2", &user_id, &c, 1) };
    assert_eq!(verify(&app, &token, &factor, &s(&c, "id"), "request", assertion(&g)).status, 200, "a listed origin");
}

#[test]
fn a_counter_that_goes_back_is_refused_and_logged() {
    let app = app_with(ON);
    let (_, factor, user_id) = registered(&app, "ann@example.com", b"credential-1");
    assert_eq!(sign_in_with(&app, "ann@example.com", &factor, &user_id, 5).status, 200);
    for count in [5, 4, 0] {
        let r = sign_in_with(&app, "ann@example.com", &factor, &user_id, count);
        assert_eq!((r.status.as_u16(), error_code(&r)), (422, "mfa_verification_failed"), "count {count}: {}", r.raw);
    }
    let errors = ports(&app).errors.borrow();
    assert!(errors.iter().any(|(_, d)| d.contains("signature counter went from 5 to 4") && d.contains("cloned")), "{errors:?}");
    drop(errors);
    assert_eq!(sign_in_with(&app, "ann@example.com", &factor, &user_id, 6).status, 200);
}

#[test]
fn an_authenticator_without_a_counter_signs_in_again() {
    let app = app_with(ON);
    let (_, factor, user_id) = registered(&app, "ann@example.com", b"credential-1");
    for _ in 0..2 {
        let r = sign_in_with(&app, "ann@example.com", &factor, &user_id, 0);
        assert_eq!(r.status, 200, "{}", r.raw);
    }
}

#[test]
fn a_credential_id_belongs_to_one_account() {
    let app = app_with(ON);
    registered(&app, "ann@example.com", b"credential-1");
    let session = confirmed_user(&app, "bob@example.com", PW);
    let token = s(&session, "access_token");
    let factor = enroll(&app, &token, "key");
    let c = challenge(&app, &token, &factor);
    let r = verify(&app, &token, &factor, &s(&c, "id"), "create", registration(&creation(es256_other(), b"credential-1", &c)));
    assert_eq!((r.status.as_u16(), error_code(&r)), (422, "webauthn_credential_exists"), "{}", r.raw);
    let me = get(&app, "/user", Some(&token));
    assert_eq!(me.body["factors"][0]["status"], "unverified");
}

#[test]
fn malformed_answers_are_the_clients_400s() {
    let app = app_with(ON);
    let session = confirmed_user(&app, "ann@example.com", PW);
    let token = s(&session, "access_token");
    let factor = enroll(&app, &token, "key");
    let c = challenge(&app, &token, &factor);
    let id = s(&c, "id");
    let path = format!("/factors/{factor}/verify");
    let cases = [
        (json!({"challenge_id": id, "code": "123456"}), "WebAuthn config required"),
        (json!({"challenge_id": id, "webauthn": {"type": "bogus", "credential_response": {}}}), "WebAuthn type must be create or request"),
        (json!({"challenge_id": id, "webauthn": {"type": "create"}}), "credential_response required"),
        (json!({"challenge_id": id, "webauthn": {"type": "create", "credential_response": "not json"}}), "Invalid credential_response"),
        (json!({"challenge_id": id, "webauthn": {"type": "create", "credential_response": {"id": 1}}}), "Invalid credential_response"),
    ];
    for (body, message) in cases {
        let r = post_auth(&app, &path, &token, &body);
        assert_eq!((r.status.as_u16(), error_code(&r)), (400, "validation_failed"), "{body}: {}", r.raw);
        assert_eq!(r.body["message"], message, "{body}");
    }
    let mut bad = registration(&creation(es256(), b"credential-1", &c));
    bad["response"]["clientDataJSON"] = json!("%%%");
    let r = verify(&app, &token, &factor, &id, "create", bad);
    assert_eq!((r.status.as_u16(), error_code(&r)), (400, "validation_failed"), "{}", r.raw);
    let r = post_auth(&app, &path, &token, &json!({"challenge_id": id, "webauthn": 7}));
    assert_eq!((r.status.as_u16(), error_code(&r)), (400, "bad_json"), "{}", r.raw);
    let r = verify(&app, &token, &factor, &id, "request", assertion(&getting(es256(), b"credential-1", "x", &c, 1)));
    assert_eq!((r.status.as_u16(), error_code(&r)), (422, "mfa_verification_failed"), "the other ceremony: {}", r.raw);

    // The response as a string holding its JSON is taken too.
    let text = registration(&creation(es256(), b"credential-1", &c)).to_string();
    let r = verify(&app, &token, &factor, &id, "create", Value::String(text));
    assert_eq!(r.status, 200, "{}", r.raw);
}

#[test]
fn the_switches_and_the_relying_party_are_checked() {
    let app = app();
    let token = s(&confirmed_user(&app, "ann@example.com", PW), "access_token");
    let r = post_auth(&app, "/factors", &token, &json!({"factor_type": "webauthn"}));
    assert_eq!((r.status.as_u16(), error_code(&r)), (422, "mfa_webauthn_enroll_not_enabled"));
    assert_eq!(r.body["message"], "MFA enroll is disabled for WebAuthn");

    let enroll_only: Vec<(&str, &str)> = ON.iter().copied().filter(|(k, _)| *k != "MFA_WEB_AUTHN_VERIFY_ENABLED").collect();
    let app = app_with(&enroll_only);
    let token = s(&confirmed_user(&app, "ann@example.com", PW), "access_token");
    let factor = enroll(&app, &token, "key");
    let r = post_auth(&app, &format!("/factors/{factor}/challenge"), &token, &json!({}));
    assert_eq!((r.status.as_u16(), error_code(&r)), (422, "mfa_webauthn_verify_not_enabled"), "{}", r.raw);
    let r = post_auth(&app, &format!("/factors/{factor}/verify"), &token, &json!({"challenge_id": factor, "webauthn": {}}));
    assert_eq!((r.status.as_u16(), error_code(&r)), (422, "mfa_webauthn_verify_not_enabled"), "{}", r.raw);

    let vars = |extra: &[(&'static str, &'static str)]| {
        let mut v: Vec<(&str, &str)> = vec![("SITE_URL", "http://localhost:3000"), ("API_EXTERNAL_URL", "http://auth.test"), ("JWT_SECRET", "test-secret-test-secret-test-secret!")];
        v.extend_from_slice(extra);
        portcullis_shared::Config::from_lookup(|k| v.iter().find(|(n, _)| *n == k).map(|(_, x)| x.to_string()))
    };
    let e = vars(&[("MFA_WEB_AUTHN_ENROLL_ENABLED", "true")]).unwrap_err().to_string();
    assert!(e.contains("WEBAUTHN_RP_ID") && e.contains("WEBAUTHN_RP_ORIGINS"), "{e}");
    let e = vars(&[("WEBAUTHN_RP_ID", "example.com"), ("WEBAUTHN_RP_ORIGINS", "https://example.org")]).unwrap_err().to_string();
    assert!(e.contains("WEBAUTHN_RP_ORIGINS"), "{e}");
    let e = vars(&[("WEBAUTHN_RP_ID", "https://example.com"), ("WEBAUTHN_RP_ORIGINS", "https://example.com")]).unwrap_err().to_string();
    assert!(e.contains("WEBAUTHN_RP_ID"), "{e}");
    // A bare top-level name is no relying party a browser takes; plain http only on localhost.
    let e = vars(&[("WEBAUTHN_RP_ID", "com"), ("WEBAUTHN_RP_ORIGINS", "https://example.com")]).unwrap_err().to_string();
    assert!(e.contains("WEBAUTHN_RP_ID") && e.contains("top-level"), "{e}");
    let e = vars(&[("WEBAUTHN_RP_ID", "example.com"), ("WEBAUTHN_RP_ORIGINS", "http://example.com")]).unwrap_err().to_string();
    assert!(e.contains("WEBAUTHN_RP_ORIGINS") && e.contains("http only on localhost"), "{e}");
    let ok = vars(&[("WEBAUTHN_RP_ID", "localhost"), ("WEBAUTHN_RP_ORIGINS", "http://localhost:5173"), ("MFA_WEB_AUTHN_VERIFY_ENABLED", "1")]).unwrap();
    let rp = ok.mfa.relying_party.unwrap();
    assert_eq!((rp.id.as_str(), rp.origins.as_slice(), rp.name.as_str()), ("localhost", &["http://localhost:5173".to_string()][..], "Portcullis"));
}

/// The other dialects' second step takes a TOTP code: a WebAuthn factor is no factor for it,
/// whatever code comes with it.
#[test]
fn a_code_never_answers_a_webauthn_factor_in_a_second_step() {
    let app = app_with(ON);
    let (_, factor, _) = registered(&app, "ann@example.com", b"credential-1");
    let first = call(&app, "POST", "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": PW}), None);
    assert!(first.body["accessToken"].is_null(), "{}", first.raw);
    let ticket = s(&first.body["data"], "ticket");
    for body in [
        json!({"strategy": "totp", "ticket": ticket, "code": "123456", "factorId": factor}),
        json!({"strategy": "totp", "ticket": ticket, "code": "123456"}),
    ] {
        let r = call(&app, "POST", "/authentication", &body, None);
        assert!(r.body["accessToken"].is_null(), "{}", r.raw);
        assert_eq!(r.status, 400, "{}", r.raw);
    }
}
