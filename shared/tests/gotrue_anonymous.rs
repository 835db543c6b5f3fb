//! GoTrue's anonymous sign-in through the app with a fixed clock: off by default, then an
//! account without address or password signed in at once, which becomes permanent once an
//! address is confirmed for it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use base64::Engine as _;
use serde_json::{json, Value};
use support::*;

const ON: (&str, &str) = ("EXTERNAL_ANONYMOUS_USERS_ENABLED", "true");

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[test]
fn anonymous_sign_in_is_off_unless_switched_on() {
    let app = app();
    for body in [json!({}), json!({"email": "", "phone": ""}), json!({"password": "s3cret-pass"})] {
        let r = post(&app, "/signup", &body);
        assert_eq!((r.status.as_u16(), error_code(&r)), (422, "anonymous_provider_disabled"), "{}", r.raw);
        assert_eq!(r.body["message"], "Anonymous sign-ins are disabled");
    }
    assert_eq!(ports(&app).store.all_users().len(), 0);
    assert_eq!(get(&app, "/settings", None).body["external"]["anonymous_users"], false);
    let on = app_with(&[ON]);
    assert_eq!(get(&on, "/settings", None).body["external"]["anonymous_users"], true);
}

#[test]
fn an_anonymous_sign_in_is_a_session_for_an_account_without_address() {
    let app = app_with(&[ON]);
    let r = post(&app, "/signup", &json!({"data": {"cart": 3}, "gotrue_meta_security": {"captcha_token": null}}));
    assert_eq!(r.status, 200, "{}", r.raw);
    let user = &r.body["user"];
    assert_eq!(user["is_anonymous"], true);
    assert_eq!(user["email"], "");
    assert_eq!(user["identities"], json!([]));
    assert_eq!(user["app_metadata"], json!({}));
    assert_eq!(user["user_metadata"], json!({"cart": 3}));
    let token = r.body["access_token"].as_str().unwrap();
    let c = claims(token);
    assert_eq!(c["is_anonymous"], true);
    assert_eq!(c["amr"][0]["method"], "anonymous");
    assert_eq!(c["role"], "authenticated");
    assert_eq!(get(&app, "/user", Some(token)).body["id"], user["id"]);
    assert_eq!(check(&app, token).status, 200);
    let refreshed = refresh(&app, r.body["refresh_token"].as_str().unwrap());
    assert_eq!(refreshed.status, 200);
    assert_eq!(claims(refreshed.body["access_token"].as_str().unwrap())["is_anonymous"], true);
    let reauth = get(&app, "/reauthenticate", Some(token));
    assert_eq!((reauth.status.as_u16(), error_code(&reauth)), (400, "validation_failed"), "{}", reauth.raw);
    assert_eq!(post_auth(&app, "/logout", token, &json!({})).status, 204);
    assert_eq!(sent_mails(&app).len(), 0);
}

#[test]
fn confirming_an_address_makes_the_account_permanent() {
    let app = app_with(&[ON]);
    let s = post(&app, "/signup", &json!({})).body;
    // A day later (the session refreshed): converting needs no re-authentication, since
    // there is nothing to prove but the session.
    ports(&app).clock.advance_secs(86_400 + 60);
    let refreshed = refresh(&app, s["refresh_token"].as_str().unwrap());
    assert_eq!(refreshed.status, 200, "{}", refreshed.raw);
    let token = refreshed.body["access_token"].as_str().unwrap().to_string();
    let lone = put(&app, "/user", &token, &json!({"password": "s3cret-pass"}));
    assert_eq!((lone.status.as_u16(), error_code(&lone)), (422, "validation_failed"), "{}", lone.raw);
    assert_eq!(lone.body["message"], "Updating password of an anonymous user without an email or phone is not allowed");
    let r = put(&app, "/user", &token, &json!({"email": "ann@example.com", "password": "s3cret-pass"}));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["new_email"], "ann@example.com");
    assert_eq!(r.body["is_anonymous"], true, "until the address is confirmed");
    assert_eq!(mails_to(&app, "ann@example.com"), 1, "one code: there is no current address to ask");
    assert_eq!(login(&app, "ann@example.com", "s3cret-pass").status, 400, "no address yet");

    let code = code_for(&app, "ann@example.com");
    let v = post(&app, "/verify", &json!({"type": "email_change", "email": "ann@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    let user = &v.body["user"];
    assert_eq!(user["is_anonymous"], false);
    assert_eq!(user["email"], "ann@example.com");
    assert_eq!(user["app_metadata"], json!({"provider": "email", "providers": ["email"]}));
    assert_eq!(user["identities"].as_array().unwrap().len(), 1);
    assert_eq!(user["id"], s["user"]["id"], "the same account");
    assert_eq!(claims(v.body["access_token"].as_str().unwrap())["is_anonymous"], false);
    // The password was set before anyone proved the mailbox, by whoever held the anonymous
    // session: it does not survive the proof (upstream keeps it). The one who confirmed is
    // signed in and sets their own.
    assert_eq!(error_code(&login(&app, "ann@example.com", "s3cret-pass")), "invalid_credentials");
    assert_eq!(user["user_metadata"], json!({}));
    let confirmed = v.body["access_token"].as_str().unwrap();
    assert_eq!(put(&app, "/user", confirmed, &json!({"password": "ann's own"})).status, 200);
    assert_eq!(login(&app, "ann@example.com", "ann's own").status, 200);
}

#[test]
fn anonymous_sign_ins_are_limited_per_client_and_by_disable_signup() {
    let app = app_with(&[ON, ("RATE_LIMIT_ANONYMOUS_USERS", "2")]);
    assert_eq!(post(&app, "/signup", &json!({})).status, 200);
    assert_eq!(post(&app, "/signup", &json!({})).status, 200);
    let third = post(&app, "/signup", &json!({}));
    assert_eq!((third.status.as_u16(), error_code(&third)), (429, "over_request_rate_limit"), "{}", third.raw);
    ports(&app).clock.advance_secs(3600);
    assert_eq!(post(&app, "/signup", &json!({})).status, 200, "the hour passed");
    assert_eq!(ports(&app).store.all_users().len(), 3);

    let closed = app_with(&[ON, ("DISABLE_SIGNUP", "true")]);
    let r = post(&closed, "/signup", &json!({}));
    assert_eq!((r.status.as_u16(), error_code(&r)), (422, "signup_disabled"), "{}", r.raw);
    assert_eq!(ports(&closed).store.all_users().len(), 0);
}

#[test]
fn bad_anonymous_sign_ins_are_400_and_create_nothing() {
    let app = app_with(&[ON]);
    for body in [json!({"data": "x"}), json!({"data": [1]}), json!({"email": 5})] {
        let r = post(&app, "/signup", &body);
        assert_eq!((r.status.as_u16(), error_code(&r)), (400, "bad_json"), "{}", r.raw);
    }
    let big = post(&app, "/signup", &json!({"data": {"pad": "x".repeat(70_000)}}));
    assert_eq!(big.status, 413);
    assert_eq!(ports(&app).store.all_users().len(), 0);
}

#[test]
fn the_anonymous_session_that_asked_for_an_address_ends_when_the_address_is_confirmed() {
    let app = app_with(&[ON]);
    // Someone converts an anonymous account to Ann's address; Ann confirms the mail.
    let s = post(&app, "/signup", &json!({})).body;
    let token = s["access_token"].as_str().unwrap().to_string();
    assert_eq!(put(&app, "/user", &token, &json!({"email": "ann@example.com", "password": "s3cret-pass"})).status, 200);
    let link = link_token_for(&app, "ann@example.com");
    let v = post(&app, "/verify", &json!({"type": "email_change", "token_hash": link}));
    assert_eq!(v.status, 200, "{}", v.raw);
    let r = get(&app, "/user", Some(&token));
    assert_eq!((r.status.as_u16(), error_code(&r)), (403, "session_not_found"), "the asking session ended: {}", r.raw);
    assert_eq!(refresh(&app, s["refresh_token"].as_str().unwrap()).status, 400);
    assert_eq!(get(&app, "/user", v.body["access_token"].as_str()).status, 200, "whoever confirmed is signed in");
}

#[test]
fn every_way_an_address_gets_confirmed_makes_the_account_permanent() {
    let app = app_with(&[ON]);
    let id = post(&app, "/signup", &json!({})).body["user"]["id"].as_str().unwrap().to_string();
    let keys = portcullis_shared::token::JwtKeys::new(&app.auth().config().jwt_secret, 0);
    let now = portcullis_shared::model::Timestamp(1_700_000_000_000);
    let service = keys.sign_blocking(json!({"role": "service_role"}), now, now.plus_secs(600), None).unwrap();
    let path = format!("/admin/users/{id}");
    assert_eq!(call(&app, "PUT", &path, &json!({"email": "bob@example.com"}), Some(&service)).body["is_anonymous"], true);
    let confirmed = call(&app, "PUT", &path, &json!({"email_confirm": true, "password": "s3cret-pass"}), Some(&service));
    assert_eq!(confirmed.body["is_anonymous"], false, "{}", confirmed.raw);
    let s = login(&app, "bob@example.com", "s3cret-pass");
    assert_eq!(claims(s.body["access_token"].as_str().unwrap())["is_anonymous"], false);
}
