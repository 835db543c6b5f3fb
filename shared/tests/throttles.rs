//! Throttles through the app: password checks per account and client, everything per client,
//! in each dialect's answer, and what the owner meets while a stranger hammers her account.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::testing::TestPorts;
use portcullis_shared::App;
use serde_json::json;
use support::*;

const STRANGER: &str = "198.51.100.7";
const OWNER: &str = "203.0.113.9";

fn gotrue_login(app: &App<TestPorts>, client: &str, password: &str) -> Reply {
    from(app, client, "/token?grant_type=password", &json!({"email": "ann@example.com", "password": password}))
}

#[test]
fn a_stranger_hammering_an_account_is_throttled_and_the_owner_is_not() {
    let app = app();
    confirmed_user(&app, "ann@example.com", "ann pass 1");
    for _ in 0..10 {
        assert_eq!(error_code(&gotrue_login(&app, STRANGER, "guess")), "invalid_credentials");
    }
    let throttled = gotrue_login(&app, STRANGER, "ann pass 1");
    assert_eq!((throttled.status.as_u16(), error_code(&throttled)), (429, "over_request_rate_limit"), "even the right password: {}", throttled.raw);
    // The other dialects count on the same budget.
    let f = from(&app, STRANGER, "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": "guess"}));
    assert_eq!((f.status.as_u16(), f.body["name"].as_str()), (429, Some("TooManyRequests")), "{}", f.raw);
    let q = json!({"query": "mutation { tokenAuth(username: \"ann@example.com\", password: \"guess\") { token } }"});
    let g = from(&app, STRANGER, "/graphql", &q);
    assert!(g.body["errors"][0]["message"].as_str().unwrap().contains("Too many attempts"), "{}", g.raw);
    // The owner, from her own client, signs in as ever.
    assert_eq!(gotrue_login(&app, OWNER, "ann pass 1").status, 200);
    // The window passes.
    ports(&app).clock.advance_secs(900);
    assert_eq!(gotrue_login(&app, STRANGER, "guess").status, 400);
}

#[test]
fn right_passwords_give_their_unit_back() {
    let app = app_with(&[("LOGIN_MAX_PER_CLIENT", "2")]);
    confirmed_user(&app, "ann@example.com", "ann pass 1");
    for _ in 0..5 {
        assert_eq!(gotrue_login(&app, OWNER, "ann pass 1").status, 200);
    }
}

#[test]
fn one_client_spraying_many_accounts_is_throttled() {
    let app = app_with(&[("CLIENT_MAX_ATTEMPTS", "5")]);
    for i in 0..5 {
        let r = from(&app, STRANGER, "/token?grant_type=password", &json!({"email": format!("user{i}@example.com"), "password": "guess"}));
        assert_eq!(error_code(&r), "invalid_credentials");
    }
    let r = from(&app, STRANGER, "/token?grant_type=password", &json!({"email": "user9@example.com", "password": "guess"}));
    assert_eq!(r.status, 429, "{}", r.raw);
    // Codes and mails count too, and other clients are untouched.
    assert_eq!(from(&app, STRANGER, "/recover", &json!({"email": "x@example.com"})).status, 429);
    assert_eq!(from(&app, STRANGER, "/verify", &json!({"type": "email", "email": "x@example.com", "token": "123456"})).status, 429);
    assert_eq!(from(&app, OWNER, "/recover", &json!({"email": "x@example.com"})).status, 200);
    let p = from(&app, STRANGER, "/auth/login", &json!({"username": "someone", "email": "x@example.com", "session_platform": "P"}));
    assert_eq!(p.status, 429, "{}", p.raw);
    assert!(p.body["error"].as_str().unwrap().contains("Too many"), "{}", p.raw);
}

#[test]
fn a_stranger_cannot_use_up_the_owners_recovery_mail() {
    let app = app_with(&[("SMTP_MAX_FREQUENCY", "0")]);
    confirmed_user(&app, "ann@example.com", "ann pass 1");
    let before = mails_to(&app, "ann@example.com");
    let mut answered = Vec::new();
    // Past its own five, the stranger keeps asking: refused requests must not count against
    // the recipient's budget either, or forty of them would use up the owner's thirty.
    for i in 0..40 {
        let path = if i % 2 == 0 { "/otp" } else { "/recover" };
        answered.push(from(&app, STRANGER, path, &json!({"email": "ann@example.com"})).status.as_u16());
    }
    assert_eq!(answered.iter().filter(|s| **s == 200).count(), 5, "one client causes at most five mails to one address an hour: {answered:?}");
    assert_eq!(mails_to(&app, "ann@example.com") - before, 5);
    // The owner's recovery, from her own client, still goes out.
    assert_eq!(from(&app, OWNER, "/recover", &json!({"email": "ann@example.com"})).status, 200);
    assert_eq!(mails_to(&app, "ann@example.com") - before, 6);
}

#[test]
fn one_ipv6_64_counts_as_one_client() {
    let app = app();
    confirmed_user(&app, "ann@example.com", "ann pass 1");
    for i in 0..10 {
        let r = from(&app, &format!("2001:db8::{i:x}"), "/token?grant_type=password", &json!({"email": "ann@example.com", "password": "guess"}));
        assert_eq!(error_code(&r), "invalid_credentials");
    }
    let r = from(&app, "2001:db8::ffff:1", "/token?grant_type=password", &json!({"email": "ann@example.com", "password": "guess"}));
    assert_eq!(r.status, 429, "another address of the same /64: {}", r.raw);
    let other = from(&app, "2001:db8:0:1::1", "/token?grant_type=password", &json!({"email": "ann@example.com", "password": "ann pass 1"}));
    assert_eq!(other.status, 200, "another /64 is another client: {}", other.raw);
}

/// A stranger signs an address up with a password of their choosing, then signs in with it
/// again and again. For a new address that password is now the (unconfirmed) account's; for a
/// registered one it is not. Both must be counted and throttled alike, or the answers tell
/// which addresses have accounts.
#[test]
fn signing_in_with_ones_own_sign_up_password_does_not_tell_new_addresses_from_registered_ones() {
    let app = app();
    confirmed_user(&app, "ann@example.com", "ann pass 1");
    let answers = |address: &str, client: &str| -> Vec<(u16, String)> {
        let r = from(&app, client, "/signup", &json!({"email": address, "password": "stranger pass"}));
        assert_eq!(r.status, 200, "{}", r.raw);
        (0..14)
            .map(|_| {
                let r = from(&app, client, "/token?grant_type=password", &json!({"email": address, "password": "stranger pass"}));
                (r.status.as_u16(), error_code(&r).to_string())
            })
            .collect()
    };
    let registered = answers("ann@example.com", "198.51.100.7");
    let new = answers("new@example.com", "198.51.100.8");
    assert_eq!(registered, new);
    assert_eq!(new.last().unwrap().0, 429, "{new:?}");
}

/// A guesser who claims a new client address for every guess (or has many) still gets only
/// `LOGIN_MAX_PER_ACCOUNT` guesses at one account per window, in every dialect; the owner keeps
/// her mailbox, and the window passes.
#[test]
fn guesses_at_one_account_are_bounded_across_clients() {
    let app = app_with(&[("LOGIN_MAX_PER_ACCOUNT", "20")]);
    confirmed_user(&app, "ann@example.com", "ann pass 1");
    let mut answers = Vec::new();
    for i in 0..30 {
        let client = format!("198.51.{}.{}", i / 200, i % 200 + 1);
        let r = match i % 3 {
            0 => from(&app, &client, "/token?grant_type=password", &json!({"email": "ann@example.com", "password": format!("guess {i}")})),
            1 => from(&app, &client, "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": format!("guess {i}")})),
            _ => from(&app, &client, "/graphql", &json!({"query": format!("mutation {{ tokenAuth(username: \"ann@example.com\", password: \"guess {i}\") {{ token }} }}")})),
        };
        answers.push(r.status.as_u16());
    }
    let refused = answers.iter().filter(|s| **s == 429 || **s == 200).count();
    assert!(answers[..20].iter().all(|s| *s != 429), "{answers:?}");
    assert_eq!(gotrue_login(&app, "203.0.113.50", "ann pass 1").status, 429, "even the owner's right password, from a new client: {answers:?}");
    assert!(refused >= 9, "{answers:?}");
    // The mailbox still lets her in.
    assert_eq!(from(&app, OWNER, "/otp", &json!({"email": "ann@example.com"})).status, 200);
    let code = code_for(&app, "ann@example.com");
    let v = from(&app, OWNER, "/verify", &json!({"type": "email", "email": "ann@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    ports(&app).clock.advance_secs(900);
    assert_eq!(gotrue_login(&app, OWNER, "ann pass 1").status, 200);
}

/// Right passwords of the owner do not use up her account's budget.
#[test]
fn the_owners_sign_ins_do_not_count_against_her_account() {
    let app = app_with(&[("LOGIN_MAX_PER_ACCOUNT", "3")]);
    confirmed_user(&app, "ann@example.com", "ann pass 1");
    for i in 0..6 {
        assert_eq!(gotrue_login(&app, &format!("203.0.113.{i}"), "ann pass 1").status, 200);
    }
}

/// Unless `RATE_LIMIT_HEADER` names it, a client address claimed by the request is not
/// believed: every request is the same client, however many addresses it claims.
#[test]
fn a_claimed_client_address_counts_only_where_the_deployment_trusts_its_header() {
    let app = app_with(&[("RATE_LIMIT_HEADER", "")]);
    confirmed_user(&app, "ann@example.com", "ann pass 1");
    let answers: Vec<u16> = (0..12)
        .map(|i| gotrue_login(&app, &format!("198.51.100.{i}"), "guess").status.as_u16())
        .collect();
    assert_eq!(answers[..10], [400; 10], "{answers:?}");
    assert_eq!(answers[10..], [429; 2], "each claimed address counted as a new client: {answers:?}");
    let trusting = app_with(&[("RATE_LIMIT_HEADER", "X-Real-IP")]);
    confirmed_user(&trusting, "ann@example.com", "ann pass 1");
    let via = |ip: &str| {
        let body = json!({"email": "ann@example.com", "password": "guess"}).to_string();
        send(&trusting, request("POST", "/token?grant_type=password", body.as_bytes(), &[API_VERSION, JSON, ("x-real-ip", ip), ("cf-connecting-ip", "1.1.1.1")]))
    };
    for _ in 0..10 {
        assert_eq!(via("198.51.100.1").status, 400);
    }
    assert_eq!(via("198.51.100.1").status, 429);
    assert_eq!(via("198.51.100.2").status, 400, "another client by the configured header");
}
