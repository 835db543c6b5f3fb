//! Attacks on security keys completing second steps outside GoTrue (Feathers'
//! `second-factor-challenges` and `webauthn` strategy, graphql-jwt's `webauthnChallenge` and
//! `webauthnAuth`, passwordless' `POST /auth/second-factor/webauthn-challenge`) and on Feathers'
//! passkeys (`passkey-registrations`, `passkey-credentials`, `passkey-challenges`, the
//! `passkey` strategy), driven by the software authenticator of `support/authenticator.rs`. A
//! test that passes guards a property that held when the attack was tried; a test that fails is
//! an attack that worked (its message says so).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
#[path = "support/authenticator.rs"]
mod authenticator;

use authenticator::{assertion, es256, es256_other, registration, Creation, Getting};
use portcullis_shared::signature::{from_b64url, Key};
use portcullis_shared::testing::{TestPorts, BEFORE_CALL};
use portcullis_shared::App;
use serde_json::{json, Value};
use std::cell::RefCell;
use support::*;

type TestApp = App<TestPorts>;

const PW: &str = "s3cret-pass";
const ON: &[(&str, &str)] = &[
    ("MFA_WEB_AUTHN_ENROLL_ENABLED", "true"),
    ("MFA_WEB_AUTHN_VERIFY_ENABLED", "true"),
    ("PASSKEY_ENABLED", "true"),
    ("WEBAUTHN_RP_ID", "example.com"),
    ("WEBAUTHN_RP_ORIGINS", "https://example.com"),
];
const TOKEN_AUTH: &str = "mutation($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { token } }";
const GQL_CHALLENGE: &str = "mutation($t: String!) { webauthnChallenge(ticket: $t) { challengeId publicKey expiresAt } }";
const GQL_AUTH: &str = "mutation($t: String!, $c: String!, $k: String!) { webauthnAuth(ticket: $t, challengeId: $c, credential: $k) { token } }";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn fx(app: &TestApp, method: &str, path: &str, body: &Value, token: Option<&str>) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    send(app, request(method, path, body.to_string().as_bytes(), &headers))
}

fn raw_fx(app: &TestApp, path: &str, body: &[u8]) -> Reply {
    send(app, request("POST", path, body, &[("content-type", "application/json")]))
}

fn challenge_of(options: &Value) -> Vec<u8> {
    from_b64url(options["challenge"].as_str().unwrap_or_else(|| panic!("no challenge in {options}"))).unwrap()
}

/// Registers a WebAuthn factor of `key` with `credential_id` for the GoTrue session `token`.
fn register_factor(app: &TestApp, token: &str, key: Key, credential_id: &[u8]) -> String {
    let r = post_auth(app, "/factors", token, &json!({"factor_type": "webauthn", "friendly_name": "key"}));
    assert_eq!(r.status, 200, "{}", r.raw);
    let factor = s(&r.body, "id");
    let c = post_auth(app, &format!("/factors/{factor}/challenge"), token, &json!({}));
    let creation = Creation {
        credential_id: credential_id.to_vec(),
        challenge: challenge_of(&c.body["webauthn"]["credential_options"]["publicKey"]),
        ..Creation::new(key)
    };
    let body = json!({"challenge_id": s(&c.body, "id"), "webauthn": {"type": "create", "credential_response": registration(&creation)}});
    let v = post_auth(app, &format!("/factors/{factor}/verify"), token, &body);
    assert_eq!(v.status, 200, "{}", v.raw);
    factor
}

/// A confirmed account with a security key `credential_id`: (user id, GoTrue aal2 session).
fn with_key(app: &TestApp, email: &str, credential_id: &[u8]) -> (String, Value) {
    let session = confirmed_user(app, email, PW);
    register_factor(app, &s(&session, "access_token"), es256(), credential_id);
    (s(&session["user"], "id"), session)
}

fn sign(key: Key, credential_id: &[u8], user_id: &str, options: &Value, count: u32) -> Getting {
    Getting {
        credential_id: credential_id.to_vec(),
        challenge: challenge_of(options),
        user_handle: Some(user_id.as_bytes().to_vec()),
        count,
        ..Getting::new(key)
    }
}

/// Feathers' `local` sign-in of an account with a key: its ticket.
fn feathers_ticket(app: &TestApp, email: &str) -> String {
    let r = fx(app, "POST", "/authentication", &json!({"strategy": "local", "email": email, "password": PW}), None);
    assert_eq!(r.status, 401, "{}", r.raw);
    s(&r.body["data"], "ticket")
}

fn graphql_ticket(app: &TestApp, email: &str) -> String {
    let g = gql(app, TOKEN_AUTH, json!({"u": email, "p": PW}));
    s(&g.body["errors"][0]["extensions"], "ticket")
}

/// `second-factor-challenges` `create` for `ticket`: its body (`challengeId`, `publicKey`).
fn feathers_challenge(app: &TestApp, ticket: &str) -> Reply {
    fx(app, "POST", "/second-factor-challenges", &json!({"ticket": ticket}), None)
}

fn feathers_answer(app: &TestApp, ticket: &str, challenge: &Value, g: &Getting) -> Reply {
    fx(app, "POST", "/authentication", &json!({"strategy": "webauthn", "ticket": ticket, "challengeId": challenge, "credential": assertion(g)}), None)
}

/// `POST /users` and a `local` sign-in through Feathers (no proof of the mailbox): (id, token).
fn feathers_account(app: &TestApp, email: &str, password: &str) -> (String, String) {
    let r = fx(app, "POST", "/users", &json!({"email": email, "password": password}), None);
    assert_eq!(r.status, 201, "{}", r.raw);
    let a = fx(app, "POST", "/authentication", &json!({"strategy": "local", "email": email, "password": password}), None);
    assert_eq!(a.status, 201, "{}", a.raw);
    (s(&r.body, "id"), s(&a.body, "accessToken"))
}

/// `passkey-registrations` then `passkey-credentials` for `token`, the key `credential_id`.
fn register_passkey(app: &TestApp, token: &str, credential_id: &[u8]) -> Reply {
    let c = fx(app, "POST", "/passkey-registrations", &json!({}), Some(token));
    assert_eq!(c.status, 201, "{}", c.raw);
    let creation = Creation { credential_id: credential_id.to_vec(), challenge: challenge_of(&c.body["publicKey"]), ..Creation::new(es256()) };
    fx(app, "POST", "/passkey-credentials", &json!({"challengeId": c.body["challengeId"], "credential": registration(&creation)}), Some(token))
}

/// A Feathers `passkey` sign-in with the key `credential_id` of `user_id`.
fn feathers_passkey_sign_in(app: &TestApp, user_id: &str, credential_id: &[u8], count: u32) -> Reply {
    let c = fx(app, "POST", "/passkey-challenges", &json!({}), None);
    assert_eq!(c.status, 201, "{}", c.raw);
    let g = sign(es256(), credential_id, user_id, &c.body["publicKey"], count);
    fx(app, "POST", "/authentication", &json!({"strategy": "passkey", "challengeId": c.body["challengeId"], "credential": assertion(&g)}), None)
}

/// GoTrue's passkey sign-in with the key `credential_id` of `user_id`.
fn gotrue_passkey_sign_in(app: &TestApp, user_id: &str, credential_id: &[u8], count: u32) -> Reply {
    let o = post(app, "/passkeys/authentication/options", &json!({}));
    assert_eq!(o.status, 200, "{}", o.raw);
    let g = sign(es256(), credential_id, user_id, &o.body["options"], count);
    post(app, "/passkeys/authentication/verify", &json!({"challenge_id": o.body["challenge_id"], "credential": assertion(&g)}))
}

/// The owner proves the mailbox through GoTrue (an emailed code): the reply of `/verify`.
fn owner_proves(app: &TestApp, code: &str) -> Reply {
    post(app, "/verify", &json!({"type": "email", "email": "victim@example.com", "token": code}))
}

// ---------------------------------------------------------------------------------------------
// A stranger's passkey and the owner's first proof of the mailbox
// ---------------------------------------------------------------------------------------------

/// A stranger registers the owner's address through Feathers (no proof asked), signs in and
/// registers a passkey; the registration checks the session, verifies the credential, and
/// stores it just after the owner's first proof of the mailbox ended that session and removed
/// the account's passkeys. The passkey must not be stored, or it signs the stranger in to the
/// verified account, through GoTrue as well.
#[test]
fn a_passkey_registration_in_flight_does_not_outlive_the_first_proof() {
    let app: &'static TestApp = Box::leak(Box::new(app_with(ON)));
    let (user_id, token) = feathers_account(app, "victim@example.com", "stranger pass");
    assert_eq!(post(app, "/otp", &json!({"email": "victim@example.com"})).status, 200);
    let code = code_for(app, "victim@example.com");
    let proved: &'static RefCell<Option<Reply>> = Box::leak(Box::new(RefCell::new(None)));
    BEFORE_CALL.with(|h| {
        *h.borrow_mut() = Some(("add_passkey", Box::new(move || *proved.borrow_mut() = Some(owner_proves(app, &code)))));
    });
    let r = register_passkey(app, &token, b"stranger-key");
    let v = proved.borrow_mut().take().expect("the owner's proof ran in the middle");
    assert_eq!(v.status, 200, "{}", v.raw);
    let g = gotrue_passkey_sign_in(app, &user_id, b"stranger-key", 1);
    assert_ne!(g.status, 200, "the stranger's passkey signs in to the verified account through GoTrue: {}", g.raw);
    assert_ne!(r.status, 201, "a registration through a session the proof ended was stored: {}", r.raw);
}

/// A stranger's passkey sign-in (Feathers, unverified account) checks the assertion and records
/// the counter, and starts its session just after the owner's first proof of the mailbox ended
/// every session and removed the passkey. The session must not live on the verified account
/// (it could register a new passkey there and keep it).
#[test]
fn a_passkey_sign_in_in_flight_does_not_outlive_the_first_proof() {
    let app: &'static TestApp = Box::leak(Box::new(app_with(ON)));
    let (user_id, token) = feathers_account(app, "victim@example.com", "stranger pass");
    assert_eq!(register_passkey(app, &token, b"stranger-key").status, 201);
    assert_eq!(post(app, "/otp", &json!({"email": "victim@example.com"})).status, 200);
    let code = code_for(app, "victim@example.com");
    let proved: &'static RefCell<Option<Reply>> = Box::leak(Box::new(RefCell::new(None)));
    BEFORE_CALL.with(|h| {
        *h.borrow_mut() = Some(("start", Box::new(move || *proved.borrow_mut() = Some(owner_proves(app, &code)))));
    });
    let a = feathers_passkey_sign_in(app, &user_id, b"stranger-key", 1);
    let v = proved.borrow_mut().take().expect("the owner's proof ran in the middle");
    assert_eq!(v.status, 200, "{}", v.raw);
    if a.status == 201 {
        let stolen = s(&a.body, "accessToken");
        let me = fx(app, "GET", &format!("/users/{user_id}"), &Value::Null, Some(&stolen));
        assert_eq!(me.status, 401, "the stranger's passkey session lives on the verified account: {}", me.raw);
    }
    assert!(a.status.is_client_error(), "{}", a.raw);
}

/// Without a race the rule holds: the proof removes the stranger's passkey and ends the
/// stranger's session; GoTrue never took it before the proof.
#[test]
fn a_strangers_passkey_dies_with_the_proof_and_never_opened_gotrue() {
    let app = app_with(ON);
    let (user_id, token) = feathers_account(&app, "victim@example.com", "stranger pass");
    assert_eq!(register_passkey(&app, &token, b"stranger-key").status, 201);
    let g = gotrue_passkey_sign_in(&app, &user_id, b"stranger-key", 1);
    assert_eq!((g.status.as_u16(), error_code(&g)), (403, "email_not_confirmed"), "{}", g.raw);
    assert_eq!(post(&app, "/otp", &json!({"email": "victim@example.com"})).status, 200);
    assert_eq!(owner_proves(&app, &code_for(&app, "victim@example.com")).status, 200);
    assert_eq!(fx(&app, "GET", &format!("/users/{user_id}"), &Value::Null, Some(&token)).status, 401);
    assert_eq!(feathers_passkey_sign_in(&app, &user_id, b"stranger-key", 2).status, 401);
    assert_eq!(gotrue_passkey_sign_in(&app, &user_id, b"stranger-key", 3).status, 400);
}

// ---------------------------------------------------------------------------------------------
// Tickets across dialects, challenges across tickets and accounts
// ---------------------------------------------------------------------------------------------

/// A ticket works only in the dialect that issued it: Feathers' in graphql-jwt and passwordless,
/// graphql-jwt's in Feathers, a GoTrue refresh token anywhere.
#[test]
fn a_ticket_of_one_dialect_takes_no_step_in_another() {
    let app = app_with(ON);
    let (user_id, session) = with_key(&app, "ann@example.com", b"key-1");
    let feathers = feathers_ticket(&app, "ann@example.com");
    let graphql = graphql_ticket(&app, "ann@example.com");
    let gotrue = s(&session, "refresh_token");
    for ticket in [&graphql, &gotrue] {
        let c = feathers_challenge(&app, ticket);
        assert!(c.status.is_client_error(), "{}", c.raw);
    }
    for ticket in [&feathers, &gotrue] {
        let c = gql(&app, GQL_CHALLENGE, json!({"t": ticket}));
        assert!(c.body["data"]["webauthnChallenge"].is_null(), "{}", c.raw);
        let p = fx(&app, "POST", "/auth/second-factor/webauthn-challenge", &json!({"ticket": ticket}), None);
        assert_eq!(p.status, 401, "{}", p.raw);
    }
    // A challenge a Feathers ticket asked for, answered through graphql-jwt with its ticket.
    let c = feathers_challenge(&app, &feathers);
    let g = sign(es256(), b"key-1", &user_id, &c.body["publicKey"], 1);
    let r = gql(&app, GQL_AUTH, json!({"t": feathers, "c": c.body["challengeId"], "k": assertion(&g).to_string()}));
    assert!(r.body["data"]["webauthnAuth"].is_null(), "a Feathers ticket completed graphql-jwt's step: {}", r.raw);
    // Both tickets still stand in their own dialect.
    assert_eq!(feathers_answer(&app, &feathers, &c.body["challengeId"], &g).status, 201);
}

/// A challenge of one account's key answers nothing for another, and the other's key answers
/// nothing for the first.
#[test]
fn a_challenge_or_a_key_of_another_account_completes_nothing() {
    let app = app_with(ON);
    let (ann, _) = with_key(&app, "ann@example.com", b"key-ann");
    let (bob, _) = with_key(&app, "bob@example.com", b"key-bob");
    let ann_ticket = feathers_ticket(&app, "ann@example.com");
    let bob_ticket = feathers_ticket(&app, "bob@example.com");
    let ann_c = feathers_challenge(&app, &ann_ticket).body;
    let bob_c = feathers_challenge(&app, &bob_ticket).body;
    // Bob answers Ann's challenge (with his own key, or Ann's intercepted assertion).
    let ann_signed = sign(es256(), b"key-ann", &ann, &ann_c["publicKey"], 1);
    let r = feathers_answer(&app, &bob_ticket, &ann_c["challengeId"], &ann_signed);
    assert_eq!(r.status, 401, "Ann's challenge completed Bob's step: {}", r.raw);
    let r = feathers_answer(&app, &bob_ticket, &ann_c["challengeId"], &sign(es256(), b"key-bob", &bob, &ann_c["publicKey"], 1));
    assert_eq!(r.status, 401, "{}", r.raw);
    // Naming Ann's factor with Bob's ticket.
    let factors = fx(&app, "POST", "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": PW}), None);
    let ann_factor = s(&factors.body["data"]["factors"][0], "id");
    let r = fx(&app, "POST", "/second-factor-challenges", &json!({"ticket": bob_ticket, "factorId": ann_factor}), None);
    assert!(r.status.is_client_error(), "{}", r.raw);
    // Bob's own, as it should be.
    assert_eq!(feathers_answer(&app, &bob_ticket, &bob_c["challengeId"], &sign(es256(), b"key-bob", &bob, &bob_c["publicKey"], 1)).status, 201);
}

/// A challenge is answerable only from the client that asked for it.
#[test]
fn a_challenge_from_another_client_is_refused() {
    let app = app_with(ON);
    let (ann, _) = with_key(&app, "ann@example.com", b"key-1");
    let ticket = feathers_ticket(&app, "ann@example.com");
    let c = feathers_challenge(&app, &ticket).body;
    let g = sign(es256(), b"key-1", &ann, &c["publicKey"], 1);
    let body = json!({"strategy": "webauthn", "ticket": ticket, "challengeId": c["challengeId"], "credential": assertion(&g)});
    let elsewhere = send(&app, request("POST", "/authentication", body.to_string().as_bytes(), &[JSON, ("cf-connecting-ip", "203.0.113.9")]));
    assert_eq!(elsewhere.status, 401, "{}", elsewhere.raw);
}

// ---------------------------------------------------------------------------------------------
// Passkeys and factors are different keys
// ---------------------------------------------------------------------------------------------

/// A passkey's assertion is no answer to a factor's challenge, a factor's none to a passkey
/// sign-in, and a factor's challenge id means nothing to the `passkey` strategy.
#[test]
fn passkey_and_factor_assertions_do_not_cross() {
    let app = app_with(ON);
    let (ann, session) = with_key(&app, "ann@example.com", b"factor-key");
    // Ann's passkey, from her aal2 session.
    let o = post_auth(&app, "/passkeys/registration/options", &s(&session, "access_token"), &json!({}));
    assert_eq!(o.status, 200, "{}", o.raw);
    let creation = Creation { credential_id: b"passkey-key".to_vec(), challenge: challenge_of(&o.body["options"]), ..Creation::new(es256_other()) };
    let v = post_auth(&app, "/passkeys/registration/verify", &s(&session, "access_token"), &json!({"challenge_id": o.body["challenge_id"], "credential": registration(&creation)}));
    assert_eq!(v.status, 200, "{}", v.raw);

    let ticket = feathers_ticket(&app, "ann@example.com");
    let c = feathers_challenge(&app, &ticket).body;
    let passkey = Getting { key: es256_other(), ..sign(es256(), b"passkey-key", &ann, &c["publicKey"], 5) };
    assert_eq!(feathers_answer(&app, &ticket, &c["challengeId"], &passkey).status, 401, "a passkey answered the factor's challenge");
    // The factor's key, with user verification, to the passkey strategy.
    let pc = fx(&app, "POST", "/passkey-challenges", &json!({}), None).body;
    let factor = sign(es256(), b"factor-key", &ann, &pc["publicKey"], 6);
    let r = fx(&app, "POST", "/authentication", &json!({"strategy": "passkey", "challengeId": pc["challengeId"], "credential": assertion(&factor)}), None);
    assert_eq!(r.status, 401, "the factor's key signed in as a passkey: {}", r.raw);
    // The factor challenge's id to the passkey strategy.
    let factor = sign(es256(), b"factor-key", &ann, &c["publicKey"], 7);
    let r = fx(&app, "POST", "/authentication", &json!({"strategy": "passkey", "challengeId": c["challengeId"], "credential": assertion(&factor)}), None);
    assert!(r.status.is_client_error(), "{}", r.raw);
    assert!(r.body["accessToken"].is_null(), "{}", r.raw);
}

// ---------------------------------------------------------------------------------------------
// The key, its counter, the ticket's life
// ---------------------------------------------------------------------------------------------

/// The key removed (through GoTrue's aal2 session) between the challenge and the answer.
#[test]
fn a_key_removed_meanwhile_completes_no_step() {
    let app = app_with(ON);
    let session = confirmed_user(&app, "ann@example.com", PW);
    let ann = s(&session["user"], "id");
    let token = s(&session, "access_token");
    let factor = register_factor(&app, &token, es256(), b"key-1");
    let ticket = feathers_ticket(&app, "ann@example.com");
    let c = feathers_challenge(&app, &ticket).body;
    // Ann's aal2 session (its refresh gave a new access token at aal2).
    let relog = post(&app, "/token?grant_type=password", &json!({"email": "ann@example.com", "password": PW}));
    let aal1 = s(&relog.body, "access_token");
    let pc = post_auth(&app, &format!("/factors/{factor}/challenge"), &aal1, &json!({}));
    let g = sign(es256(), b"key-1", &ann, &pc.body["webauthn"]["credential_options"]["publicKey"], 1);
    let body = json!({"challenge_id": s(&pc.body, "id"), "webauthn": {"type": "request", "credential_response": assertion(&g)}});
    let aal2 = post_auth(&app, &format!("/factors/{factor}/verify"), &aal1, &body);
    assert_eq!(aal2.status, 200, "{}", aal2.raw);
    let d = send(&app, request("DELETE", &format!("/factors/{factor}"), b"", &[API_VERSION, ("authorization", &format!("Bearer {}", s(&aal2.body, "access_token")))]));
    assert_eq!(d.status, 200, "{}", d.raw);
    let r = feathers_answer(&app, &ticket, &c["challengeId"], &sign(es256(), b"key-1", &ann, &c["publicKey"], 2));
    assert_eq!(r.status, 401, "a removed key completed the step: {}", r.raw);
}

/// A counter that went back (a cloned key) is refused in every dialect's step.
#[test]
fn a_counter_that_went_back_is_refused() {
    let app = app_with(ON);
    let (ann, _) = with_key(&app, "ann@example.com", b"key-1");
    let ticket = feathers_ticket(&app, "ann@example.com");
    let c = feathers_challenge(&app, &ticket).body;
    assert_eq!(feathers_answer(&app, &ticket, &c["challengeId"], &sign(es256(), b"key-1", &ann, &c["publicKey"], 10)).status, 201);
    let ticket = graphql_ticket(&app, "ann@example.com");
    let c = gql(&app, GQL_CHALLENGE, json!({"t": ticket})).body["data"]["webauthnChallenge"].clone();
    let g = sign(es256(), b"key-1", &ann, &c["publicKey"], 10);
    let r = gql(&app, GQL_AUTH, json!({"t": ticket, "c": c["challengeId"], "k": assertion(&g).to_string()}));
    assert_eq!(r.body["errors"][0]["message"], "Invalid WebAuthn assertion", "a clone's counter was taken: {}", r.raw);
}

/// The ticket dies `MFA_CHALLENGE_EXPIRY_DURATION` after the password, whatever the challenge.
#[test]
fn an_expired_ticket_takes_no_step_even_with_a_fresh_challenge() {
    let app = app_with(ON);
    let (ann, _) = with_key(&app, "ann@example.com", b"key-1");
    let ticket = feathers_ticket(&app, "ann@example.com");
    ports(&app).clock.advance_secs(299);
    let c = feathers_challenge(&app, &ticket).body;
    ports(&app).clock.advance_secs(2);
    let r = feathers_answer(&app, &ticket, &c["challengeId"], &sign(es256(), b"key-1", &ann, &c["publicKey"], 1));
    assert_eq!(r.status, 401, "an expired ticket completed the step: {}", r.raw);
    assert!(feathers_challenge(&app, &ticket).status.is_client_error());
}

/// Wrong assertions through one dialect spend the account's budget for every dialect's step
/// and for passkeys.
#[test]
fn wrong_assertions_share_one_budget_across_dialects() {
    let app = app_with(&[ON, &[("OTP_MAX_WRONG_PER_ADDRESS", "3")]].concat());
    let (ann, _) = with_key(&app, "ann@example.com", b"key-1");
    let ticket = feathers_ticket(&app, "ann@example.com");
    for _ in 0..3 {
        let c = feathers_challenge(&app, &ticket).body;
        let wrong = sign(es256_other(), b"key-1", &ann, &c["publicKey"], 1);
        assert_eq!(feathers_answer(&app, &ticket, &c["challengeId"], &wrong).status, 401);
    }
    let ticket = graphql_ticket(&app, "ann@example.com");
    let c = gql(&app, GQL_CHALLENGE, json!({"t": ticket})).body["data"]["webauthnChallenge"].clone();
    let right = sign(es256(), b"key-1", &ann, &c["publicKey"], 1);
    let r = gql(&app, GQL_AUTH, json!({"t": ticket, "c": c["challengeId"], "k": assertion(&right).to_string()}));
    assert_eq!(r.body["errors"][0]["message"], "Too many attempts; try again later", "the budget reset across dialects: {}", r.raw);
}

// ---------------------------------------------------------------------------------------------
// Mangled bodies
// ---------------------------------------------------------------------------------------------

/// Mangled bodies to every new endpoint: a 4xx, never a 5xx.
#[test]
fn mangled_bodies_get_a_4xx() {
    let app = app_with(ON);
    let (_, _) = with_key(&app, "ann@example.com", b"key-1");
    let ticket = feathers_ticket(&app, "ann@example.com");
    let c = feathers_challenge(&app, &ticket).body;
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"{\"ticket\": 5}".to_vec(),
        b"{\"ticket\": null, \"factorId\": {}}".to_vec(),
        json!({"ticket": ticket, "factorId": "x".repeat(5000)}).to_string().into_bytes(),
        json!({"strategy": "webauthn", "ticket": ticket}).to_string().into_bytes(),
        json!({"strategy": "webauthn", "ticket": ticket, "challengeId": c["challengeId"], "credential": "{}"}).to_string().into_bytes(),
        json!({"strategy": "webauthn", "ticket": ticket, "challengeId": c["challengeId"], "credential": null}).to_string().into_bytes(),
        json!({"strategy": "webauthn", "ticket": ticket, "challengeId": c["challengeId"], "credential": {"id": 1, "response": []}}).to_string().into_bytes(),
        json!({"strategy": "webauthn", "ticket": ticket, "challengeId": 7, "credential": {}}).to_string().into_bytes(),
        json!({"strategy": "passkey", "challengeId": "not-a-uuid", "credential": {}}).to_string().into_bytes(),
        json!({"strategy": "passkey", "challengeId": c["challengeId"], "credential": {"rawId": "!!!", "response": {"userHandle": 5}}}).to_string().into_bytes(),
        b"{\"strategy\": \"webauthn\", \"credential\": {\"a\": ".to_vec(),
    ];
    for path in ["/second-factor-challenges", "/authentication", "/passkey-challenges", "/auth/second-factor/webauthn-challenge", "/auth/second-factor"] {
        for body in &bodies {
            let r = raw_fx(&app, path, body);
            // `passkey-challenges` takes any body (it reads none), and a body with the ticket
            // is a fine request for a challenge, whatever else it holds.
            let asks = path == "/passkey-challenges" || (path == "/second-factor-challenges" && body.windows(9).any(|w| w == b"\"ticket\":"));
            let fine = r.status.is_client_error() || (asks && r.status == 201);
            assert!(fine, "{path} {}: {} {}", String::from_utf8_lossy(body), r.status, r.raw);
        }
    }
}
