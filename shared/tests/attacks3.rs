//! Attacks on the fixes of the second review round: a throttle that told which address a
//! username has, a change kept alive past its lifetime by re-sends, invisible characters in
//! the requester's words. Each test is the attack, asserting what a user must see; each failed
//! before its fix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::testing::TestPorts;
use portcullis_shared::App;
use serde_json::{json, Value};
use support::*;

fn from(app: &App<TestPorts>, client: &str, path: &str, body: &Value) -> Reply {
    send(app, request("POST", path, body.to_string().as_bytes(), &[API_VERSION, JSON, ("cf-connecting-ip", client)]))
}

/// `tokenAuth` through graphql-jwt, from `client`; the error message, or "ok".
fn token_auth(app: &App<TestPorts>, client: &str, username: &str, password: &str) -> String {
    let q = json!({"query": format!("mutation {{ tokenAuth(username: {username:?}, password: {password:?}) {{ token }} }}")});
    let r = from(app, client, "/graphql", &q);
    r.body["errors"][0]["message"].as_str().map_or_else(|| "ok".to_string(), str::to_string)
}

/// The token of the newest link to `path` mailed to `to`.
fn link_of(app: &App<TestPorts>, to: &str, path: &str) -> String {
    let mail = sent_mails(app).into_iter().rev().find(|m| m.to == to).expect("a mail");
    let at = mail.text.find(path).expect("a link") + path.len();
    mail.text[at..].split_whitespace().next().unwrap().to_string()
}

/// A passwordless account `username` whose address `email` is confirmed (it has no password).
fn passwordless_account(app: &App<TestPorts>, username: &str, email: &str) {
    let body = json!({"username": username, "email": email, "session_platform": "Laptop"});
    let r = send(app, request("POST", "/auth/registration", body.to_string().as_bytes(), &[JSON]));
    assert_eq!(r.status, 200, "{}", r.raw);
    let token = link_of(app, email, "/auth/email/confirm?token=");
    let done = send(app, request("POST", "/auth/email/confirm", format!("token={token}").as_bytes(), &[FORM]));
    assert_eq!(done.status, 200, "{}", done.raw);
}

/// Fix 3 (a username spends its account's address budget) makes the login throttle an oracle
/// of which address a username has, which the passwordless API otherwise keeps secret (a
/// sign-in request "answers the same whether or not the username and address belong
/// together"). From one client, `LOGIN_MAX_PER_CLIENT` (10) `tokenAuth` guesses by the username
/// use up `login:<client>:<the account's address>`; one more guess by a candidate address from
/// the same client is then refused as throttled exactly when the candidate is the account's
/// address, and checked as usual otherwise. It needs no password on the account (the throttle
/// comes first), takes only half the account's budget (the owner notices nothing; a passwordless
/// owner has no password to be refused), and costs one request per candidate. The same works
/// the other way round (use up the budget by an address, probe usernames).
#[test]
fn the_login_throttle_does_not_tell_which_address_a_username_has() {
    let app = app();
    passwordless_account(&app, "ada", "ada@example.com");
    let probe = |client: &str, candidate: &str| {
        for i in 0..10 {
            assert_eq!(token_auth(&app, client, "ada", &format!("guess {i}")), "Please enter valid credentials");
        }
        token_auth(&app, client, candidate, "guess x")
    };
    let right = probe("198.51.100.1", "ada@example.com");
    let wrong = probe("198.51.100.2", "zed@example.com");
    assert_eq!(right, wrong, "a guess by ada's address answers {right:?}, by any other address {wrong:?}: the throttle tells whose address it is");
    // Through GoTrue's password grant too: any dialect's sign-in by address is the probe.
    let gotrue = |client: &str, candidate: &str| {
        for i in 0..10 {
            token_auth(&app, client, "ada", &format!("guess {i}"));
        }
        from(&app, client, "/token?grant_type=password", &json!({"email": candidate, "password": "guess x"})).status.as_u16()
    };
    let (right, wrong) = (gotrue("198.51.100.3", "ada@example.com"), gotrue("198.51.100.4", "zed@example.com"));
    assert_eq!(right, wrong, "GoTrue answers {right} for ada's address and {wrong} for another");
}

/// Fix 4 (the sign-in page quotes the platform "without invisible characters", as the mail
/// does): `mail::quotable` replaces control characters and a fixed list of format characters,
/// but not the other default-ignorable ones. Hangul fillers (U+115F, U+3164, U+FFA0) pass
/// `is_valid_platform` (not control, not whitespace) and render as blank space, and tag
/// characters (U+E0000..U+E007F) render as nothing while carrying a hidden ASCII text: the
/// quote on the page can look empty, or hold words the owner cannot see.
#[test]
fn the_sign_in_page_shows_no_invisible_characters_of_the_requester() {
    let app = app();
    passwordless_account(&app, "ada", "ada@example.com");
    let hidden: String = "approve".chars().map(|c| char::from_u32(0xE0000 + c as u32).unwrap()).collect();
    let platform = format!("\u{3164}\u{115f}\u{ffa0}\u{e0001}{hidden}");
    let body = json!({"username": "ada", "email": "ada@example.com", "session_platform": platform});
    let asked = send(&app, request("POST", "/auth/login", body.to_string().as_bytes(), &[JSON]));
    assert_eq!(asked.status, 200, "{}", asked.raw);
    let link = link_of(&app, "ada@example.com", "/auth/confirm?token=");
    let page = send(&app, request("GET", &format!("/auth/confirm?token={link}"), b"", &[]));
    assert_eq!(page.status, 200);
    let invisible: Vec<String> = page
        .raw
        .chars()
        .filter(|c| matches!(*c as u32, 0x115f | 0x1160 | 0x3164 | 0xffa0 | 0xE0000..=0xE0FFF))
        .map(|c| format!("U+{:04X}", c as u32))
        .collect();
    assert!(invisible.is_empty(), "the page quotes the requester's invisible characters as sent: {invisible:?}");
}

/// Fix 1 (an email change is stored only while the session that asked is live) does not hold
/// for `/resend`: anyone may re-send a pending change, and the re-sent pair is stored with no
/// session condition (`send_email_change(user, None, ..)`), with a fresh expiry. So a change
/// asked through a stolen session outlives the owner's "sign out everywhere" and its own
/// `OTP_EXP`: the thief re-sends it every few minutes. Without secure email change (the
/// new-address code alone moves the account), the thief then moves the account to their
/// mailbox and is signed in, half an hour after the owner ended every session.
#[test]
fn a_change_asked_through_an_ended_session_is_not_kept_alive_by_resends() {
    let app = app_with(&[("MAILER_SECURE_EMAIL_CHANGE_ENABLED", "false")]);
    let stolen = confirmed_user(&app, "ann@example.com", "ann pass 1");
    // The thief, with Ann's fresh session, asks to move her account.
    let asked = put(&app, "/user", &s(&stolen, "access_token"), &json!({"email": "mallory@evil.test"}));
    assert_eq!(asked.status, 200, "{}", asked.raw);
    // Ann notices and signs out everywhere (and changes her password).
    let own = login(&app, "ann@example.com", "ann pass 1");
    assert_eq!(own.status, 200, "{}", own.raw);
    assert_eq!(put(&app, "/user", &s(&own.body, "access_token"), &json!({"password": "ann pass 2"})).status, 200);
    assert_eq!(post_auth(&app, "/logout?scope=global", &s(&own.body, "access_token"), &json!({})).status, 204);
    assert_eq!(get(&app, "/user", Some(&s(&stolen, "access_token"))).status.as_u16() / 100, 4, "the stolen session ended");
    // The thief keeps the change alive past its expiry with re-sends anyone may ask for.
    for _ in 0..4 {
        ports(&app).clock.advance_secs(480);
        assert_eq!(from(&app, "198.51.100.9", "/resend", &json!({"type": "email_change", "email": "ann@example.com"})).status, 200);
    }
    assert!(mails_to(&app, "mallory@evil.test") >= 1, "the change was mailed");
    let code = code_for(&app, "mallory@evil.test");
    let v = post(&app, "/verify", &json!({"type": "email_change", "email": "mallory@evil.test", "token": code}));
    let now = login(&app, "ann@example.com", "ann pass 2");
    assert!(
        v.status != 200 && now.status == 200,
        "32 minutes after Ann ended every session, the change the stolen session asked for moved her account \
         (verify answered {}: {}; Ann's sign-in answers {})",
        v.status,
        v.raw,
        now.status
    );
}
