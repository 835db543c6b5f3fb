//! Passkeys through the Feathers dialect, with the software authenticator of
//! `support/authenticator.rs`: `passkey-registrations` and `passkey-credentials` register one
//! from a Feathers session, `passkey-challenges` and the `passkey` strategy sign in with it at
//! `aal2`; the errors are Feathers errors, bad input a clear 4xx (never a 5xx), and the attacks
//! the GoTrue suite tries are refused here too: replayed assertions and challenges, another
//! account's credential or challenge, no user verification, the switch off.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
#[path = "support/authenticator.rs"]
mod authenticator;

use authenticator::{assertion, es256, es256_other, registration, Creation, Getting};
use portcullis_shared::signature::{b64url, from_b64url, Key};
use serde_json::{json, Value};
use support::mfa::{ann_with_factor, claims, code_now};
use support::*;

type TestApp = portcullis_shared::App<portcullis_shared::testing::TestPorts>;

const ON: &[(&str, &str)] = &[
    ("PASSKEY_ENABLED", "true"),
    ("WEBAUTHN_RP_ID", "example.com"),
    ("WEBAUTHN_RP_ORIGINS", "https://example.com, https://app.example.com"),
    ("WEBAUTHN_RP_DISPLAY_NAME", "Example"),
];

fn fx(app: &TestApp, method: &str, path: &str, body: &[u8], token: Option<&str>) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    send(app, request(method, path, body, &headers))
}

fn json_fx(app: &TestApp, method: &str, path: &str, body: &Value, token: Option<&str>) -> Reply {
    fx(app, method, path, body.to_string().as_bytes(), token)
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}")).to_string()
}

/// A Feathers error of class `name` with status `code` and exactly `message`.
fn assert_error(r: &Reply, code: u16, name: &str, message: &str) {
    assert_eq!((r.status.as_u16(), r.body["name"].as_str(), r.body["message"].as_str()), (code, Some(name), Some(message)), "{}", r.raw);
    assert_eq!(r.body["code"], code, "{}", r.raw);
    assert!(r.body["className"].as_str().is_some_and(|c| !c.is_empty()), "{}", r.raw);
}

/// `POST /users` and a `local` sign-in: (user id, token).
fn signed_in(app: &TestApp, email: &str) -> (String, String) {
    let r = json_fx(app, "POST", "/users", &json!({"email": email, "password": "correct horse"}), None);
    assert_eq!(r.status, 201, "{}", r.raw);
    let a = json_fx(app, "POST", "/authentication", &json!({"strategy": "local", "email": email, "password": "correct horse"}), None);
    assert_eq!(a.status, 201, "{}", a.raw);
    (text(&r.body, "id"), text(&a.body, "accessToken"))
}

fn challenge_bytes(c: &Value) -> Vec<u8> {
    from_b64url(c["publicKey"]["challenge"].as_str().unwrap()).unwrap()
}

/// `passkey-registrations` `create` for `token`, 201.
fn start_registration(app: &TestApp, token: &str) -> Value {
    let r = json_fx(app, "POST", "/passkey-registrations", &json!({}), Some(token));
    assert_eq!(r.status, 201, "{}", r.raw);
    r.body
}

/// Registers a passkey of `key` with `credential_id` for `token`.
fn register(app: &TestApp, token: &str, key: Key, credential_id: &[u8]) -> Reply {
    let c = start_registration(app, token);
    let creation = Creation { credential_id: credential_id.to_vec(), challenge: challenge_bytes(&c), ..Creation::new(key) };
    json_fx(app, "POST", "/passkey-credentials", &json!({"challengeId": text(&c, "challengeId"), "credential": registration(&creation)}), Some(token))
}

/// `passkey-challenges` `create`, signed out, 201.
fn start_sign_in(app: &TestApp) -> Value {
    let r = json_fx(app, "POST", "/passkey-challenges", &json!({}), None);
    assert_eq!(r.status, 201, "{}", r.raw);
    r.body
}

fn getting(key: Key, credential_id: &[u8], user_id: &str, c: &Value, count: u32) -> Getting {
    Getting { credential_id: credential_id.to_vec(), challenge: challenge_bytes(c), user_handle: Some(user_id.as_bytes().to_vec()), count, ..Getting::new(key) }
}

/// The `passkey` strategy answering `c` with `g`.
fn strategy(app: &TestApp, c: &Value, g: &Getting) -> Reply {
    json_fx(app, "POST", "/authentication", &json!({"strategy": "passkey", "challengeId": text(c, "challengeId"), "credential": assertion(g)}), None)
}

/// A Feathers account with a passkey `credential_id` of `key`: (user id, password token).
fn with_passkey(app: &TestApp, email: &str, key: Key, credential_id: &[u8]) -> (String, String) {
    let (id, token) = signed_in(app, email);
    let r = register(app, &token, key, credential_id);
    assert_eq!(r.status, 201, "{}", r.raw);
    (id, token)
}

#[test]
fn a_passkey_registered_through_feathers_signs_in_at_aal2_with_the_passkey_strategy() {
    let app = app_with(ON);
    let (user_id, token) = signed_in(&app, "ann@example.com");

    let c = start_registration(&app, &token);
    let mut keys: Vec<&String> = c.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["challengeId", "expiresAt", "publicKey"]);
    let o = &c["publicKey"];
    assert_eq!(o["rp"], json!({"id": "example.com", "name": "Example"}));
    assert_eq!(o["user"], json!({"id": b64url(user_id.as_bytes()), "name": "ann@example.com", "displayName": "ann@example.com"}));
    assert_eq!(o["authenticatorSelection"]["userVerification"], "required");
    assert_eq!(o["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(challenge_bytes(&c).len(), 32);
    assert!(text(&c, "expiresAt").ends_with('Z') || text(&c, "expiresAt").contains('+'), "{c}");

    let creation = Creation { challenge: challenge_bytes(&c), ..Creation::new(es256()) };
    let r = json_fx(&app, "POST", "/passkey-credentials", &json!({"challengeId": text(&c, "challengeId"), "credential": registration(&creation)}), Some(&token));
    assert_eq!(r.status, 201, "{}", r.raw);
    assert_eq!(r.body["name"], "Passkey");
    assert_eq!(r.body["lastUsedAt"], Value::Null);
    let passkey_id = text(&r.body, "id");

    let s = start_sign_in(&app);
    assert_eq!(s["publicKey"], json!({"challenge": s["publicKey"]["challenge"], "rpId": "example.com", "timeout": 300_000, "userVerification": "required"}));
    let a = strategy(&app, &s, &getting(es256(), b"credential-1", &user_id, &s, 1));
    assert_eq!(a.status, 201, "{}", a.raw);
    assert_eq!(a.body["authentication"]["strategy"], "passkey");
    assert_eq!(a.body["user"]["email"], "ann@example.com");
    let passkey_token = text(&a.body, "accessToken");
    assert_eq!(a.body["authentication"]["payload"]["jti"], claims(&passkey_token)["jti"]);
    assert_ne!(passkey_token, token);

    // A Feathers token of a session at aal2 whose method is the passkey.
    let check = get(&app, "/api/check?aal=aal2", Some(&passkey_token));
    assert_eq!(check.status, 200, "{}", check.raw);
    assert_eq!(check.body["amr"][0]["method"], "passkey", "{}", check.raw);
    let jwt = json_fx(&app, "POST", "/authentication", &json!({"strategy": "jwt", "accessToken": passkey_token}), None);
    assert_eq!(jwt.status, 201, "{}", jwt.raw);

    let list = json_fx(&app, "GET", "/passkey-credentials", &Value::Null, Some(&passkey_token));
    assert_eq!(list.status, 200, "{}", list.raw);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0]["id"], passkey_id.as_str());
    assert!(list.body[0]["lastUsedAt"].is_string(), "{}", list.raw);
}

#[test]
fn switched_off_the_services_are_not_found_and_the_strategy_is_not_allowed() {
    let app = app();
    let (_, token) = signed_in(&app, "ann@example.com");
    assert_error(&json_fx(&app, "POST", "/passkey-challenges", &json!({}), None), 404, "NotFound", "Passkeys are disabled");
    assert_error(&json_fx(&app, "POST", "/passkey-registrations", &json!({}), Some(&token)), 404, "NotFound", "Passkeys are disabled");
    assert_error(&json_fx(&app, "GET", "/passkey-credentials", &Value::Null, Some(&token)), 404, "NotFound", "Passkeys are disabled");
    let body = json!({"strategy": "passkey", "challengeId": "0b8e4f1e-8f5e-4b8e-9e6e-0b8e4f1e8f5e", "credential": {}});
    assert_error(
        &json_fx(&app, "POST", "/authentication", &body, None),
        401,
        "NotAuthenticated",
        "Invalid authentication information (strategy not allowed in authStrategies)",
    );
}

#[test]
fn registering_needs_a_session_and_the_sign_in_challenge_does_not() {
    let app = app_with(ON);
    assert_error(&json_fx(&app, "POST", "/passkey-registrations", &json!({}), None), 401, "NotAuthenticated", "Not authenticated");
    assert_error(&json_fx(&app, "POST", "/passkey-credentials", &json!({}), None), 401, "NotAuthenticated", "Not authenticated");
    assert_error(&json_fx(&app, "GET", "/passkey-credentials", &Value::Null, None), 401, "NotAuthenticated", "Not authenticated");
    // Feathers' client sends its token with every call once signed in, even a stale one.
    let r = json_fx(&app, "POST", "/passkey-challenges", &json!({}), Some("stale.token.here"));
    assert_eq!(r.status, 201, "{}", r.raw);
    // Methods the services do not have.
    assert_eq!(json_fx(&app, "GET", "/passkey-challenges", &Value::Null, None).status, 405);
    assert_eq!(json_fx(&app, "PATCH", "/passkey-credentials/x", &json!({}), None).status, 405);
}

#[test]
fn bad_input_gets_a_clear_400_never_a_500() {
    let app = app_with(ON);
    let (_, token) = signed_in(&app, "ann@example.com");
    let uuid = "0b8e4f1e-8f5e-4b8e-9e6e-0b8e4f1e8f5e";
    let long = "a".repeat(5000);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("/authentication", b"{\"strategy\": \"passkey\",".to_vec(), "Malformed JSON"),
        ("/authentication", json!({"strategy": "passkey", "credential": {}}).to_string().into_bytes(), "challengeId is required"),
        ("/authentication", json!({"strategy": "passkey", "challengeId": uuid}).to_string().into_bytes(), "credential is required"),
        ("/authentication", json!({"strategy": "passkey", "challengeId": uuid, "credential": null}).to_string().into_bytes(), "credential is required"),
        ("/authentication", json!({"strategy": "passkey", "challengeId": long, "credential": {}}).to_string().into_bytes(), "challengeId must be a valid UUID"),
        ("/authentication", json!({"strategy": "passkey", "challengeId": 5, "credential": {}}).to_string().into_bytes(), "Malformed JSON"),
        ("/authentication", json!({"strategy": "passkey", "challengeId": [uuid], "credential": {}}).to_string().into_bytes(), "Malformed JSON"),
        ("/passkey-credentials", b"[1, 2".to_vec(), "Malformed JSON"),
        ("/passkey-credentials", b"\"a string\"".to_vec(), "Malformed JSON"),
        ("/passkey-credentials", json!({"credential": {}}).to_string().into_bytes(), "challengeId is required"),
        ("/passkey-credentials", json!({"challengeId": uuid}).to_string().into_bytes(), "credential is required"),
        ("/passkey-credentials", json!({"challengeId": "not-a-uuid", "credential": {}}).to_string().into_bytes(), "challengeId must be a valid UUID"),
        ("/passkey-credentials", json!({"challengeId": true, "credential": {}}).to_string().into_bytes(), "Malformed JSON"),
        ("/passkey-challenges", b"{oops".to_vec(), "Malformed JSON"),
        ("/passkey-registrations", b"{oops".to_vec(), "Malformed JSON"),
    ];
    for (path, body, message) in cases {
        let r = fx(&app, "POST", path, &body, Some(&token));
        assert_eq!((r.status.as_u16(), r.body["name"].as_str()), (400, Some("BadRequest")), "{path} {}: {}", String::from_utf8_lossy(&body[..body.len().min(80)]), r.raw);
        assert!(r.body["message"].as_str().unwrap().starts_with(message), "{path}: {}", r.raw);
    }

    // A credential that is no WebAuthn response (a string, an object of the wrong shape, huge
    // members) is refused after its challenge is taken: that challenge is then used up.
    for credential in [json!("text"), json!({"id": 5}), json!({"id": long, "rawId": long, "type": "public-key", "response": {"clientDataJSON": long}})] {
        let c = start_sign_in(&app);
        let body = json!({"strategy": "passkey", "challengeId": text(&c, "challengeId"), "credential": credential});
        assert_error(&json_fx(&app, "POST", "/authentication", &body, None), 400, "BadRequest", "Invalid credential response");
        let again = strategy(&app, &c, &getting(es256(), b"credential-1", "x", &c, 1));
        assert_error(&again, 401, "NotAuthenticated", "Invalid or expired passkey challenge; start again");

        let c = start_registration(&app, &token);
        let body = json!({"challengeId": text(&c, "challengeId"), "credential": credential});
        assert_error(&json_fx(&app, "POST", "/passkey-credentials", &body, Some(&token)), 400, "BadRequest", "Invalid credential response");
    }
    // Over the body limit: the app's own 413, before any parsing.
    let huge = json!({"strategy": "passkey", "challengeId": uuid, "credential": {"id": "a".repeat(70_000)}});
    assert_eq!(json_fx(&app, "POST", "/authentication", &huge, None).status, 413);
    // An unknown challenge and a sign-in challenge used for a registration.
    let unknown = json!({"challengeId": uuid, "credential": registration(&Creation::new(es256()))});
    assert_error(&json_fx(&app, "POST", "/passkey-credentials", &unknown, Some(&token)), 400, "BadRequest", "Challenge not found or already used");
    let s = start_sign_in(&app);
    let other = json!({"challengeId": text(&s, "challengeId"), "credential": registration(&Creation { challenge: challenge_bytes(&s), ..Creation::new(es256()) })});
    assert_error(&json_fx(&app, "POST", "/passkey-credentials", &other, Some(&token)), 400, "BadRequest", "Challenge not found or already used");
}

#[test]
fn a_replayed_assertion_signs_in_once() {
    let app = app_with(ON);
    let (user_id, _) = with_passkey(&app, "ann@example.com", es256(), b"credential-1");
    let c = start_sign_in(&app);
    let g = getting(es256(), b"credential-1", &user_id, &c, 1);
    assert_eq!(strategy(&app, &c, &g).status, 201);
    // The same answer again: its challenge is used up.
    assert_error(&strategy(&app, &c, &g), 401, "NotAuthenticated", "Invalid or expired passkey challenge; start again");
    // The same assertion for a new challenge: it signed the old one.
    let fresh = start_sign_in(&app);
    let body = json!({"strategy": "passkey", "challengeId": text(&fresh, "challengeId"), "credential": assertion(&g)});
    assert_error(&json_fx(&app, "POST", "/authentication", &body, None), 401, "NotAuthenticated", "Invalid login");
    // A counter that does not move on (a cloned authenticator) is refused too.
    let c = start_sign_in(&app);
    assert_error(&strategy(&app, &c, &getting(es256(), b"credential-1", &user_id, &c, 1)), 401, "NotAuthenticated", "Invalid login");
}

#[test]
fn another_accounts_credential_challenge_or_user_handle_gets_nobody_in() {
    let app = app_with(ON);
    let (ann, ann_token) = with_passkey(&app, "ann@example.com", es256(), b"credential-ann");
    let (bob, bob_token) = with_passkey(&app, "bob@example.com", es256_other(), b"credential-bob");

    // Ann's credential claiming to be Bob's account, and Bob's key signing for Ann's credential.
    let c = start_sign_in(&app);
    assert_error(&strategy(&app, &c, &getting(es256(), b"credential-ann", &bob, &c, 1)), 401, "NotAuthenticated", "Invalid login");
    let c = start_sign_in(&app);
    assert_error(&strategy(&app, &c, &getting(es256_other(), b"credential-ann", &ann, &c, 1)), 401, "NotAuthenticated", "Invalid login");
    // Bob registering Ann's credential id.
    assert_error(&register(&app, &bob_token, es256(), b"credential-ann"), 409, "Conflict", "This credential is already registered");
    // Bob answering Ann's registration challenge.
    let c = start_registration(&app, &ann_token);
    let creation = Creation { credential_id: b"credential-new".to_vec(), challenge: challenge_bytes(&c), ..Creation::new(es256_other()) };
    let r = json_fx(&app, "POST", "/passkey-credentials", &json!({"challengeId": text(&c, "challengeId"), "credential": registration(&creation)}), Some(&bob_token));
    assert_error(&r, 400, "BadRequest", "Challenge not found or already used");
    // A sign-in challenge another client asked for.
    let c = start_sign_in(&app);
    let body = json!({"strategy": "passkey", "challengeId": text(&c, "challengeId"), "credential": assertion(&getting(es256(), b"credential-ann", &ann, &c, 1))});
    let elsewhere = send(&app, request("POST", "/authentication", body.to_string().as_bytes(), &[JSON, ("cf-connecting-ip", "203.0.113.9")]));
    assert_error(&elsewhere, 401, "NotAuthenticated", "Invalid or expired passkey challenge; start again");
    // Bob cannot see or remove Ann's passkey.
    let ann_list = json_fx(&app, "GET", "/passkey-credentials", &Value::Null, Some(&ann_token));
    let ann_passkey = text(&ann_list.body[0], "id");
    let bob_list = json_fx(&app, "GET", "/passkey-credentials", &Value::Null, Some(&bob_token));
    assert_eq!(bob_list.body.as_array().unwrap().len(), 1);
    assert_ne!(bob_list.body[0]["id"], ann_passkey.as_str());
    let r = json_fx(&app, "DELETE", &format!("/passkey-credentials/{ann_passkey}"), &Value::Null, Some(&bob_token));
    assert_error(&r, 404, "NotFound", &format!("No record found for id '{ann_passkey}'"));
    assert_eq!(json_fx(&app, "DELETE", "/passkey-credentials/not-a-uuid", &Value::Null, Some(&bob_token)).status, 404);
    // Ann removes hers; it signs nobody in any more.
    let r = json_fx(&app, "DELETE", &format!("/passkey-credentials/{ann_passkey}"), &Value::Null, Some(&ann_token));
    assert_eq!((r.status.as_u16(), r.body["id"].as_str()), (200, Some(ann_passkey.as_str())), "{}", r.raw);
    let c = start_sign_in(&app);
    assert_error(&strategy(&app, &c, &getting(es256(), b"credential-ann", &ann, &c, 2)), 401, "NotAuthenticated", "Invalid login");
}

#[test]
fn an_assertion_without_user_verification_gets_no_session() {
    let app = app_with(ON);
    let (user_id, _) = with_passkey(&app, "ann@example.com", es256(), b"credential-1");
    let c = start_sign_in(&app);
    let g = Getting { flags: 0x01, ..getting(es256(), b"credential-1", &user_id, &c, 1) };
    assert_error(&strategy(&app, &c, &g), 401, "NotAuthenticated", "Invalid login");
}

#[test]
fn an_unverified_feathers_account_signs_in_with_its_passkey_where_its_password_would() {
    let app = app_with(ON);
    let (user_id, _) = with_passkey(&app, "ann@example.com", es256(), b"credential-1");
    // GoTrue waits for the proof of the mailbox, as for the password.
    let o = post(&app, "/passkeys/authentication/options", &json!({}));
    let g = Getting { credential_id: b"credential-1".to_vec(), challenge: from_b64url(o.body["options"]["challenge"].as_str().unwrap()).unwrap(), user_handle: Some(user_id.as_bytes().to_vec()), count: 1, ..Getting::new(es256()) };
    let r = post(&app, "/passkeys/authentication/verify", &json!({"challenge_id": o.body["challenge_id"], "credential": assertion(&g)}));
    assert_eq!((r.status.as_u16(), error_code(&r)), (403, "email_not_confirmed"), "{}", r.raw);
    // Feathers, as its `local` strategy does.
    let c = start_sign_in(&app);
    assert_eq!(strategy(&app, &c, &getting(es256(), b"credential-1", &user_id, &c, 2)).status, 201);
}

#[test]
fn an_account_with_a_second_factor_manages_passkeys_from_its_full_session() {
    let app = app_with(ON);
    // Ann (password `s3cret-pass`) with a TOTP factor, enrolled through GoTrue's API.
    let (_, f) = ann_with_factor(&app);
    // Feathers gives her no session for the password alone, only a ticket for the code.
    let local = json_fx(&app, "POST", "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": "s3cret-pass"}), None);
    assert_eq!(local.status, 401, "{}", local.raw);
    let ticket = text(&local.body["data"], "ticket");
    let totp = json_fx(&app, "POST", "/authentication", &json!({"strategy": "totp", "ticket": ticket, "code": code_now(&app, &f.secret, 1)}), None);
    assert_eq!(totp.status, 201, "{}", totp.raw);
    let full = text(&totp.body, "accessToken");
    let r = register(&app, &full, es256(), b"credential-1");
    assert_eq!(r.status, 201, "{}", r.raw);
    // The passkey's session is at aal2 too: it may manage passkeys as well.
    let user_id = text(&totp.body["user"], "id");
    let c = start_sign_in(&app);
    let a = strategy(&app, &c, &getting(es256(), b"credential-1", &user_id, &c, 1));
    assert_eq!(a.status, 201, "{}", a.raw);
    assert_eq!(json_fx(&app, "POST", "/passkey-registrations", &json!({}), Some(&text(&a.body, "accessToken"))).status, 201);
}
