//! A WebAuthn factor (a security key) completes the second step outside GoTrue: Feathers'
//! `second-factor-challenges` service and `webauthn` strategy, graphql-jwt's
//! `webauthnChallenge` and `webauthnAuth`, and passwordless' `POST
//! /auth/second-factor/webauthn-challenge` then `POST /auth/second-factor` with the
//! assertion, driven by the software authenticator of `support/authenticator.rs`. And the
//! attacks: a replayed assertion, a wrong origin, another account's key, a used ticket, a
//! malformed credential.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
#[path = "support/authenticator.rs"]
mod authenticator;

use authenticator::{assertion, es256, es256_other, registration, Creation, Getting};
use portcullis_shared::signature::{from_b64url, Key};
use serde_json::{json, Value};
use support::*;

type TestApp = portcullis_shared::App<portcullis_shared::testing::TestPorts>;

const PW: &str = "s3cret-pass";
const ON: &[(&str, &str)] = &[
    ("MFA_WEB_AUTHN_ENROLL_ENABLED", "true"),
    ("MFA_WEB_AUTHN_VERIFY_ENABLED", "true"),
    ("WEBAUTHN_RP_ID", "example.com"),
    ("WEBAUTHN_RP_ORIGINS", "https://example.com"),
];
const TOKEN_AUTH: &str = "mutation($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { token } }";
const CHALLENGE: &str = "mutation($t: String!) { webauthnChallenge(ticket: $t) { challengeId publicKey expiresAt } }";
const AUTH: &str = "mutation($t: String!, $c: String!, $k: String!) { webauthnAuth(ticket: $t, challengeId: $c, credential: $k) { token payload } }";

/// Registers a WebAuthn factor of `key` with `credential_id` for the GoTrue session `token`;
/// the factor's id.
fn register(app: &TestApp, token: &str, key: Key, credential_id: &[u8]) -> String {
    let r = post_auth(app, "/factors", token, &json!({"factor_type": "webauthn", "friendly_name": "key"}));
    assert_eq!(r.status, 200, "{}", r.raw);
    let factor = s(&r.body, "id");
    let c = post_auth(app, &format!("/factors/{factor}/challenge"), token, &json!({}));
    let options = &c.body["webauthn"]["credential_options"]["publicKey"];
    let challenge = from_b64url(options["challenge"].as_str().unwrap()).unwrap();
    let creation = Creation { credential_id: credential_id.to_vec(), challenge, ..Creation::new(key) };
    let body = json!({"challenge_id": s(&c.body, "id"), "webauthn": {"type": "create", "credential_response": registration(&creation)}});
    let v = post_auth(app, &format!("/factors/{factor}/verify"), token, &body);
    assert_eq!(v.status, 200, "{}", v.raw);
    factor
}

/// An assertion of `key` for the `publicKey` options `options`, signed for `user_id`.
fn sign(key: Key, credential_id: &[u8], user_id: &str, options: &Value, count: u32) -> Getting {
    Getting {
        credential_id: credential_id.to_vec(),
        challenge: from_b64url(options["challenge"].as_str().unwrap()).unwrap(),
        user_handle: Some(user_id.as_bytes().to_vec()),
        count,
        ..Getting::new(key)
    }
}

fn graphql_ticket(app: &TestApp, email: &str) -> (String, Value) {
    let g = gql(app, TOKEN_AUTH, json!({"u": email, "p": PW}));
    let ext = g.body["errors"][0]["extensions"].clone();
    assert_eq!(ext["code"], "SECOND_FACTOR_REQUIRED", "{}", g.raw);
    (s(&ext, "ticket"), ext["factors"].clone())
}

fn challenge(app: &TestApp, ticket: &str) -> Value {
    let c = gql(app, CHALLENGE, json!({"t": ticket}));
    assert!(c.body["errors"].is_null(), "{}", c.raw);
    c.body["data"]["webauthnChallenge"].clone()
}

fn answer(app: &TestApp, ticket: &str, c: &Value, g: &Getting) -> Reply {
    gql(app, AUTH, json!({"t": ticket, "c": c["challengeId"], "k": assertion(g).to_string()}))
}

#[test]
fn graphql_jwt_completes_a_token_auth_with_a_security_key() {
    let app = app_with(ON);
    let session = confirmed_user(&app, "ann@example.com", PW);
    let user_id = s(&session["user"], "id");
    let factor = register(&app, &s(&session, "access_token"), es256(), b"key-1");
    let (ticket, factors) = graphql_ticket(&app, "ann@example.com");
    assert_eq!(factors, json!([{"id": factor, "type": "webauthn", "friendlyName": "key"}]));

    let c = challenge(&app, &ticket);
    let options = &c["publicKey"];
    assert_eq!(options["rpId"], "example.com");
    assert_eq!(options["allowCredentials"][0]["id"], portcullis_shared::signature::b64url(b"key-1"));
    // Another key, the wrong origin: refused, and the ticket still stands.
    let r = answer(&app, &ticket, &c, &sign(es256_other(), b"key-1", &user_id, options, 1));
    assert_eq!(r.body["errors"][0]["message"], "Invalid WebAuthn assertion", "{}", r.raw);
    let c = challenge(&app, &ticket);
    let elsewhere = Getting { origin: "https://evil.example".into(), ..sign(es256(), b"key-1", &user_id, &c["publicKey"], 1) };
    assert_eq!(answer(&app, &ticket, &c, &elsewhere).body["errors"][0]["message"], "Invalid WebAuthn assertion");

    let c = challenge(&app, &ticket);
    let good = sign(es256(), b"key-1", &user_id, &c["publicKey"], 1);
    let r = answer(&app, &ticket, &c, &good);
    assert!(r.body["errors"].is_null(), "{}", r.raw);
    let token = r.body["data"]["webauthnAuth"]["token"].as_str().unwrap().to_string();
    let checked = check(&app, &token);
    assert_eq!((checked.body["aal"].as_str(), checked.body["amr"][0]["method"].as_str()), (Some("aal2"), Some("mfa/webauthn")), "{}", checked.raw);
    // Single use: the assertion, and the ticket.
    let again = answer(&app, &ticket, &c, &good);
    assert!(again.body["data"]["webauthnAuth"].is_null(), "{}", again.raw);
    assert!(gql(&app, CHALLENGE, json!({"t": ticket})).body["data"]["webauthnChallenge"].is_null());
}

#[test]
fn a_malformed_credential_or_a_missing_factor_is_a_clear_error() {
    let app = app_with(ON);
    let session = confirmed_user(&app, "ann@example.com", PW);
    register(&app, &s(&session, "access_token"), es256(), b"key-1");
    let (ticket, _) = graphql_ticket(&app, "ann@example.com");
    let c = challenge(&app, &ticket);
    for credential in ["", "not json", "{}", "[1,2]", &"x".repeat(100_000)] {
        let r = gql(&app, AUTH, json!({"t": ticket, "c": c["challengeId"], "k": credential}));
        assert!(r.status.as_u16() < 500 && r.body["data"]["webauthnAuth"].is_null(), "{}", r.raw);
        assert!(r.body["errors"][0]["message"].is_string(), "{}", r.raw);
    }
    let r = gql(&app, "mutation { webauthnChallenge(ticket: \"nope\") { challengeId } }", json!({}));
    assert_eq!(r.body["errors"][0]["message"], "Invalid or expired ticket; sign in again", "{}", r.raw);
    // An account with only a TOTP factor has no key to challenge.
    let bob = confirmed_user(&app, "bob@example.com", PW);
    let f = support::mfa::enroll(&app, &s(&bob, "access_token"), "app");
    let code = support::mfa::code_now(&app, &f.secret, 0);
    let token = s(&bob, "access_token");
    let v = support::mfa::verify(&app, &token, &f.id, &support::mfa::challenge(&app, &token, &f.id), &code);
    assert_eq!(v.status, 200, "{}", v.raw);
    let (ticket, _) = graphql_ticket(&app, "bob@example.com");
    let r = gql(&app, CHALLENGE, json!({"t": ticket}));
    assert_eq!(r.body["errors"][0]["message"], "factorId must name one of the account's factors", "{}", r.raw);
}

#[test]
fn a_passwordless_sign_in_takes_its_second_step_with_a_security_key() {
    let app = app_with(ON);
    // Ada: a passwordless account that added a key through GoTrue (a mailed code).
    let v = passwordless_ada_in_gotrue(&app);
    let user_id = s(&v["user"], "id");
    register(&app, &s(&v, "access_token"), es256(), b"key-ada");

    // The emailed sign-in, allowed on its page; polling answers the ticket.
    ports(&app).clock.advance_secs(61);
    let polled = emailed_sign_in(&app, "ada", "ada@example.com");
    assert_eq!(polled.status, 403, "{}", polled.raw);
    let ticket = s(&polled.body, "ticket");

    let c = pw(&app, "POST", "/auth/second-factor/webauthn-challenge", &json!({"ticket": ticket}), None);
    assert_eq!(c.status, 200, "{}", c.raw);
    let g = sign(es256(), b"key-ada", &user_id, &c.body["public_key"], 1);
    let missing = pw(&app, "POST", "/auth/second-factor", &json!({"ticket": ticket, "credential": assertion(&g)}), None);
    assert_eq!(missing.status, 400, "{}", missing.raw);
    let done = pw(&app, "POST", "/auth/second-factor", &json!({"ticket": ticket, "challenge_id": c.body["challenge_id"], "credential": assertion(&g)}), None);
    assert_eq!(done.status, 200, "{}", done.raw);
    let me = get(&app, "/auth/me", Some(&ticket));
    assert_eq!(me.status, 200, "{}", me.raw);
    let replay = pw(&app, "POST", "/auth/second-factor", &json!({"ticket": ticket, "challenge_id": c.body["challenge_id"], "credential": assertion(&g)}), None);
    assert_eq!(replay.status, 401, "{}", replay.raw);
    for bad in [json!({}), json!({"ticket": 7}), json!({"ticket": ticket, "factor_id": ["x"]})] {
        let r = pw(&app, "POST", "/auth/second-factor/webauthn-challenge", &bad, None);
        assert!(r.status.is_client_error(), "{bad}: {}", r.raw);
    }
}

#[test]
fn feathers_webauthn_strategy_completes_a_local_sign_in_with_a_security_key() {
    let app = app_with(ON);
    let session = confirmed_user(&app, "ann@example.com", PW);
    let user_id = s(&session["user"], "id");
    let factor = register(&app, &s(&session, "access_token"), es256(), b"key-1");
    let first = post(&app, "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": PW}));
    assert_eq!((first.status.as_u16(), first.body["data"]["strategy"].as_str()), (401, Some("webauthn")), "{}", first.raw);
    assert_eq!(first.body["data"]["factors"][0]["id"], factor.as_str());
    let ticket = s(&first.body["data"], "ticket");

    let c = post(&app, "/second-factor-challenges", &json!({"ticket": ticket}));
    assert_eq!(c.status, 201, "{}", c.raw);
    let options = &c.body["publicKey"];
    assert_eq!(options["rpId"], "example.com");
    let strategy = |g: &Getting, challenge: &Value| {
        post(&app, "/authentication", &json!({"strategy": "webauthn", "ticket": ticket, "challengeId": challenge, "credential": assertion(g)}))
    };
    let wrong = strategy(&sign(es256_other(), b"key-1", &user_id, options, 1), &c.body["challengeId"]);
    assert_eq!((wrong.status.as_u16(), wrong.body["message"].as_str()), (401, Some("Invalid WebAuthn assertion")), "{}", wrong.raw);
    let c = post(&app, "/second-factor-challenges", &json!({"ticket": ticket}));
    let good = sign(es256(), b"key-1", &user_id, &c.body["publicKey"], 1);
    let done = strategy(&good, &c.body["challengeId"]);
    assert_eq!(done.status, 201, "{}", done.raw);
    assert_eq!(done.body["authentication"]["strategy"], "webauthn");
    let checked = check(&app, done.body["accessToken"].as_str().unwrap());
    assert_eq!(checked.body["aal"], "aal2", "{}", checked.raw);
    // Single use, and bad input is a 4xx.
    assert_eq!(strategy(&good, &c.body["challengeId"]).status, 401);
    for bad in [json!({"ticket": 7}), json!([]), json!({"ticket": ticket, "factorId": {}})] {
        let r = post(&app, "/second-factor-challenges", &bad);
        assert!(r.status.is_client_error(), "{bad}: {}", r.raw);
    }
    let r = post(&app, "/authentication", &json!({"strategy": "webauthn", "ticket": ticket, "challengeId": "x", "credential": "nope"}));
    assert!(r.status.is_client_error(), "{}", r.raw);
}
