//! CAPTCHA as upstream's `SECURITY_CAPTCHA_*`: with it on, GoTrue's sign-up, password sign-in,
//! `/otp`, `/recover` and `/resend` need a response the provider accepts (checked server side
//! through the outbound HTTP port, here a script standing in for hCaptcha); a verified person
//! gets past an account's guessing budget that a script cannot.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::ports::{HttpError, HttpReply};
use portcullis_shared::testing::TestPorts;
use portcullis_shared::App;
use serde_json::{json, Value};
use support::*;

const ON: [(&str, &str); 3] = [
    ("SECURITY_CAPTCHA_ENABLED", "true"),
    ("SECURITY_CAPTCHA_SECRET", "0x-the-secret"),
    ("SECURITY_CAPTCHA_VERIFY_URL", "https://captcha.test/siteverify"),
];

fn captcha_app(extra: &[(&str, &str)]) -> App<TestPorts> {
    let mut vars = ON.to_vec();
    vars.extend_from_slice(extra);
    let app = app_with(&vars);
    // The provider accepts the response "person" under this secret, and nothing else.
    ports(&app).http.answer_with(|url, form| {
        assert_eq!(url, "https://captcha.test/siteverify");
        let get = |k: &str| form.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        let success = get("secret") == Some("0x-the-secret") && get("response") == Some("person");
        Ok(HttpReply { status: 200, body: json!({"success": success, "error-codes": []}).to_string() })
    });
    app
}

fn with_captcha(body: Value, token: &str) -> Value {
    let mut body = body;
    body["gotrue_meta_security"] = json!({"captcha_token": token});
    body
}

#[test]
fn the_protected_endpoints_need_a_response_the_provider_accepts() {
    let app = captcha_app(&[]);
    let bodies = [
        ("/signup", json!({"email": "ann@example.com", "password": "ann pass 1"})),
        ("/token?grant_type=password", json!({"email": "ann@example.com", "password": "ann pass 1"})),
        ("/otp", json!({"email": "ann@example.com"})),
        ("/recover", json!({"email": "ann@example.com"})),
        ("/resend", json!({"type": "signup", "email": "ann@example.com"})),
        ("/signup", json!({})),
    ];
    for (path, body) in &bodies {
        let none = from(&app, "198.51.100.7", path, body);
        assert_eq!((none.status.as_u16(), error_code(&none)), (400, "captcha_failed"), "{path}: {}", none.raw);
        assert_eq!(none.body["message"], "captcha protection: request disallowed (no captcha response (captcha_token) found in request)");
        let bot = from(&app, "198.51.100.7", path, &with_captcha(body.clone(), "a script's guess"));
        assert_eq!((bot.status.as_u16(), error_code(&bot)), (400, "captcha_failed"), "{path}: {}", bot.raw);
    }
    assert!(ports(&app).store.all_users().is_empty(), "a refused sign-up wrote nothing");
    assert!(sent_mails(&app).is_empty(), "a refused request mailed nothing");
    let person = from(&app, "198.51.100.7", "/signup", &with_captcha(bodies[0].1.clone(), "person"));
    assert_eq!(person.status, 200, "{}", person.raw);
    let sent = ports(&app).http.requests.borrow().last().cloned().unwrap();
    assert!(sent.1.contains(&("remoteip".into(), "198.51.100.7".into())), "{sent:?}");
    // Endpoints upstream does not protect are as before.
    assert_eq!(from(&app, "198.51.100.7", "/verify", &json!({"type": "email", "email": "ann@example.com", "token": "000000"})).status, 403);
}

#[test]
fn a_provider_that_does_not_answer_lets_nothing_through() {
    let app = captcha_app(&[]);
    ports(&app).http.answer_with(|_, _| Err(HttpError("timed out".into())));
    let r = from(&app, "198.51.100.7", "/signup", &with_captcha(json!({"email": "ann@example.com", "password": "ann pass 1"}), "person"));
    assert_eq!((r.status.as_u16(), error_code(&r)), (400, "captcha_failed"), "{}", r.raw);
    ports(&app).http.answer_with(|_, _| Ok(HttpReply { status: 500, body: "<html>".into() }));
    let r = from(&app, "198.51.100.7", "/signup", &with_captcha(json!({"email": "ann@example.com", "password": "ann pass 1"}), "person"));
    assert_eq!(error_code(&r), "captcha_failed", "{}", r.raw);
    assert!(ports(&app).store.all_users().is_empty());
}

#[test]
fn a_verified_person_gets_past_an_accounts_guessing_budget() {
    let app = captcha_app(&[("LOGIN_MAX_PER_ACCOUNT", "3")]);
    let signup = from(&app, "203.0.113.9", "/signup", &with_captcha(json!({"email": "ann@example.com", "password": "ann pass 1"}), "person"));
    assert_eq!(signup.status, 200, "{}", signup.raw);
    let code = code_for(&app, "ann@example.com");
    assert_eq!(from(&app, "203.0.113.9", "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": code})).status, 200);
    // A guesser with many addresses, through Feathers (no CAPTCHA there), uses up the account.
    for i in 0..3 {
        let r = from(&app, &format!("198.51.100.{i}"), "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": "guess"}));
        assert_eq!(r.status, 401, "{}", r.raw);
    }
    let r = from(&app, "198.51.100.9", "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": "ann pass 1"}));
    assert_eq!(r.status, 429, "{}", r.raw);
    // Ann, with a response the provider accepts, signs in.
    let ann = from(&app, "203.0.113.9", "/token?grant_type=password", &with_captcha(json!({"email": "ann@example.com", "password": "ann pass 1"}), "person"));
    assert_eq!(ann.status, 200, "{}", ann.raw);
}

#[test]
fn captcha_on_without_its_secret_does_not_start() {
    let vars: std::collections::HashMap<&str, &str> = [
        ("SITE_URL", "http://localhost:3000"),
        ("API_EXTERNAL_URL", "http://auth.test"),
        ("JWT_SECRET", "test-secret-test-secret-test-secret!"),
        ("SECURITY_CAPTCHA_ENABLED", "true"),
    ]
    .into_iter()
    .collect();
    let e = portcullis_shared::config::Config::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap_err();
    assert!(e.to_string().contains("SECURITY_CAPTCHA_SECRET"), "{e}");
}
