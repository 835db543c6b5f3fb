//! The passwordless dialect through the app with a fixed clock: registration, emailed sign-in
//! with its page and polling, sessions from every dialect, and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::testing::TestPorts;
use portcullis_shared::App;
use serde_json::{json, Value};
use support::*;


fn register(app: &App<TestPorts>, username: &str, platform: &str) -> String {
    let r = pw(app, "POST", "/auth/registration", &json!({"username": username, "session_platform": platform}), None);
    assert_eq!(r.status, 200, "{}", r.raw);
    s(&r.body, "session_token")
}

/// A username account whose address `email` is confirmed. Confirming the first address ends
/// the registration's session: [`emailed_sign_in`] gets one.
fn account_with_email(app: &App<TestPorts>, username: &str, email: &str) {
    let r = pw(app, "POST", "/auth/registration", &json!({"username": username, "email": email, "session_platform": "Laptop"}), None);
    assert_eq!(r.status, 200, "{}", r.raw);
    let token = link_of(app, email, "/auth/email/confirm?token=");
    let done = send(app, request("POST", "/auth/email/confirm", format!("token={token}").as_bytes(), &[FORM]));
    assert_eq!(done.status, 200, "{}", done.raw);
    assert_eq!(pw(app, "GET", "/auth/me", &Value::Null, Some(&s(&r.body, "session_token"))).status, 401);
}

/// An emailed sign-in, allowed on its page; returns the session token collected.
fn emailed_sign_in(app: &App<TestPorts>, username: &str, email: &str, platform: &str) -> String {
    let r = login(app, username, email, platform);
    assert_eq!(r.status, 200, "{}", r.raw);
    let link = link_of(app, email, "/auth/confirm?token=");
    let page = send(app, request("GET", &format!("/auth/confirm?token={link}"), b"", &[]));
    assert_eq!(answer(app, &link, &page_token(&page.raw), "allow").status, 200);
    let got = poll(app, &s(&r.body, "auth_id"));
    assert_eq!(got.status, 200, "{}", got.raw);
    s(&got.body, "session_token")
}


fn answer(app: &App<TestPorts>, link: &str, page: &str, decision: &str) -> Reply {
    let body = format!("token={link}&page={page}&decision={decision}");
    send(app, request("POST", "/auth/confirm", body.as_bytes(), &[FORM]))
}

fn login(app: &App<TestPorts>, username: &str, email: &str, platform: &str) -> Reply {
    pw(app, "POST", "/auth/login", &json!({"username": username, "email": email, "session_platform": platform}), None)
}

fn poll(app: &App<TestPorts>, auth_id: &str) -> Reply {
    pw(app, "GET", &format!("/auth/session/{auth_id}"), &Value::Null, None)
}

const NOT_READY: &str = "The auth id is invalid, expired, or not yet authorized";

#[test]
fn registration_gives_a_session_token_that_works_everywhere() {
    let app = app();
    let token = register(&app, "Ada.L-1", "Ada's Laptop");
    assert!(token.len() > 60, "256-bit secret plus id");
    let me = pw(&app, "GET", "/auth/me", &Value::Null, Some(&token));
    assert_eq!(me.status, 200, "{}", me.raw);
    assert_eq!(me.body["username"], "Ada.L-1");
    assert!(me.body["email"].is_null());
    let check = get(&app, "/api/check", Some(&token));
    assert_eq!(check.status, 200, "{}", check.raw);
    assert_eq!(check.body["username"], "Ada.L-1");
    assert!(check.body["expires_at"].is_null());
    // Only a hash of the secret is stored.
    assert!(!format!("{:?}", ports(&app).store).contains(token.split_once('.').unwrap().1));
}

#[test]
fn usernames_are_unique_regardless_of_case() {
    let app = app();
    register(&app, "ada", "Phone");
    let r = pw(&app, "POST", "/auth/registration", &json!({"username": "ADA", "session_platform": "Phone"}), None);
    assert_eq!(r.status, 409);
    assert_eq!(r.body, json!({"error": "That username is taken"}));
    assert_eq!(ports(&app).store.all_users().len(), 1);
}

#[test]
fn bad_registrations_are_400_with_an_error_and_write_nothing() {
    let app = app();
    let long_platform = "p".repeat(65);
    let cases: Vec<(Value, &str)> = vec![
        (json!({"session_platform": "Phone"}), "username is required"),
        (json!({"username": "ada"}), "session_platform is required"),
        (json!({"username": "ab", "session_platform": "Phone"}), "A username is 3 to 32"),
        (json!({"username": "a".repeat(33), "session_platform": "Phone"}), "A username is 3 to 32"),
        (json!({"username": "ada lovelace", "session_platform": "Phone"}), "A username is 3 to 32"),
        (json!({"username": "adä", "session_platform": "Phone"}), "A username is 3 to 32"),
        (json!({"username": "ada", "session_platform": ""}), "session_platform must be"),
        (json!({"username": "ada", "session_platform": "   "}), "session_platform must be"),
        (json!({"username": "ada", "session_platform": long_platform}), "session_platform must be"),
        (json!({"username": "ada", "session_platform": "Pho\u{7}ne"}), "session_platform must be"),
        (json!({"username": "ada", "session_platform": "Phone", "email": "nope"}), "not a valid email"),
        (json!({"username": 5, "session_platform": "Phone"}), "Malformed JSON"),
        (json!({"username": "ada", "session_platform": ["Phone"]}), "Malformed JSON"),
    ];
    for (body, msg) in cases {
        let r = pw(&app, "POST", "/auth/registration", &body, None);
        assert_eq!(r.status, 400, "{body}: {}", r.raw);
        assert!(r.body["error"].as_str().unwrap().contains(msg), "{body}: {}", r.raw);
    }
    let malformed = send(&app, request("POST", "/auth/registration", b"{\"username\":", &[JSON]));
    assert_eq!(malformed.status, 400);
    assert!(malformed.body["error"].as_str().unwrap().starts_with("Malformed JSON"));
    let huge = send(&app, request("POST", "/auth/registration", &vec![b' '; 70_000], &[JSON]));
    assert_eq!(huge.status, 413);
    assert_eq!(huge.body["error"], "Request body is too large");
    assert!(ports(&app).store.all_users().is_empty());
}

#[test]
fn an_address_given_at_registration_is_added_only_after_its_link_is_confirmed_by_post() {
    let app = app();
    let r = pw(&app, "POST", "/auth/registration", &json!({"username": "ada", "email": "Ada@Example.com", "session_platform": "Laptop"}), None);
    let token = s(&r.body, "session_token");
    let me = pw(&app, "GET", "/auth/me", &Value::Null, Some(&token));
    assert!(me.body["email"].is_null(), "not before confirmation");
    let link = link_of(&app, "ada@example.com", "/auth/email/confirm?token=");
    let page = send(&app, request("GET", &format!("/auth/email/confirm?token={link}"), b"", &[]));
    assert_eq!(page.status, 200);
    assert!(pw(&app, "GET", "/auth/me", &Value::Null, Some(&token)).body["email"].is_null(), "a GET confirms nothing");
    let done = send(&app, request("POST", "/auth/email/confirm", format!("token={link}").as_bytes(), &[FORM]));
    assert_eq!(done.status, 200);
    assert!(done.raw.contains("ada@example.com"));
    // A first address is a first proof: the session that asked for it (maybe a stranger's,
    // who typed someone else's address) ends, and the owner signs in through the mailbox.
    assert_eq!(pw(&app, "GET", "/auth/me", &Value::Null, Some(&token)).status, 401);
    let fresh = emailed_sign_in(&app, "ada", "ada@example.com", "Laptop");
    assert_eq!(pw(&app, "GET", "/auth/me", &Value::Null, Some(&fresh)).body["email"], "ada@example.com");
    let again = send(&app, request("POST", "/auth/email/confirm", format!("token={link}").as_bytes(), &[FORM]));
    assert_eq!(again.status, 400, "the link works once");
}

#[test]
fn an_emailed_sign_in_is_confirmed_on_its_page_and_collected_once() {
    let app = app();
    account_with_email(&app, "ada", "ada@example.com");
    let r = login(&app, "ADA", "ada@example.com", "Ada's Phone");
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["expiration_date"], 1_700_000_000 + 600);
    let auth_id = s(&r.body, "auth_id");
    assert_eq!(auth_id.len(), 36);
    assert_eq!(poll(&app, &auth_id).body, json!({"error": NOT_READY}));
    let link = link_of(&app, "ada@example.com", "/auth/confirm?token=");
    assert!(!link.contains(&auth_id), "the link does not carry the auth id");

    let page = send(&app, request("GET", &format!("/auth/confirm?token={link}"), b"", &[]));
    assert_eq!(page.status, 200);
    assert!(page.raw.contains("Ada&#39;s Phone") && page.raw.contains("<b>ada</b>"), "{}", page.raw);
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert!(page.headers["content-security-policy"].to_str().unwrap().contains("form-action 'self'"));
    assert_eq!(poll(&app, &auth_id).status, 400, "opening the page decides nothing");

    let done = answer(&app, &link, &page_token(&page.raw), "allow");
    assert_eq!(done.status, 200, "{}", done.raw);
    assert!(done.raw.contains("Sign-in allowed"));
    let got = poll(&app, &auth_id);
    assert_eq!(got.status, 200, "{}", got.raw);
    let token = s(&got.body, "session_token");
    assert_eq!(pw(&app, "GET", "/auth/me", &Value::Null, Some(&token)).body["username"], "ada");
    assert_eq!(poll(&app, &auth_id).status, 400, "collected once");
    assert_eq!(answer(&app, &link, &page_token(&page.raw), "allow").status, 400, "answered once");
}

#[test]
fn a_mismatched_name_and_address_get_the_same_answer_and_no_mail() {
    let app = app();
    account_with_email(&app, "ada", "ada@example.com");
    account_with_email(&app, "bob", "bob@example.com");
    let before = sent_mails(&app).len();
    for (user, email) in [("ada", "bob@example.com"), ("nobody", "ghost@example.com")] {
        let r = login(&app, user, email, "Phone");
        assert_eq!(r.status, 200);
        let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["auth_id", "expiration_date"]);
        assert_eq!(poll(&app, &s(&r.body, "auth_id")).status, 400);
    }
    assert_eq!(sent_mails(&app).len(), before);
}

#[test]
fn only_the_current_page_token_decides_and_a_refusal_is_final() {
    let app = app();
    account_with_email(&app, "ada", "ada@example.com");
    let auth_id = s(&login(&app, "ada", "ada@example.com", "Tablet").body, "auth_id");
    let link = link_of(&app, "ada@example.com", "/auth/confirm?token=");
    let first = page_token(&send(&app, request("GET", &format!("/auth/confirm?token={link}"), b"", &[])).raw);
    let second = page_token(&send(&app, request("GET", &format!("/auth/confirm?token={link}"), b"", &[])).raw);
    assert_eq!(answer(&app, &link, &first, "allow").status, 400, "an older page's token");
    assert_eq!(answer(&app, &link, "", "allow").status, 400, "no page token");
    let without = send(&app, request("POST", "/auth/confirm", format!("token={link}&decision=allow").as_bytes(), &[FORM]));
    assert_eq!(without.status, 400);
    assert_eq!(answer(&app, &link, &second, "maybe").status, 400);
    let refused = answer(&app, &link, &second, "deny");
    assert_eq!(refused.status, 200);
    assert!(refused.raw.contains("Sign-in refused"));
    assert_eq!(poll(&app, &auth_id).status, 400);
    let third = send(&app, request("GET", &format!("/auth/confirm?token={link}"), b"", &[]));
    assert_eq!(third.status, 400, "a refused request's link is dead");
}

#[test]
fn sign_in_requests_expire() {
    let app = app_with(&[("LOGIN_REQUEST_EXP", "120")]);
    account_with_email(&app, "ada", "ada@example.com");
    let r = login(&app, "ada", "ada@example.com", "Tablet");
    assert_eq!(r.body["expiration_date"], 1_700_000_000 + 120);
    let auth_id = s(&r.body, "auth_id");
    let link = link_of(&app, "ada@example.com", "/auth/confirm?token=");
    let page = page_token(&send(&app, request("GET", &format!("/auth/confirm?token={link}"), b"", &[])).raw);
    ports(&app).clock.advance_secs(120);
    assert_eq!(answer(&app, &link, &page, "allow").status, 400);
    assert_eq!(poll(&app, &auth_id).status, 400);
    // A confirmed request not collected in time is dead too.
    ports(&app).clock.advance_secs(60);
    let auth_id = s(&login(&app, "ada", "ada@example.com", "Tablet").body, "auth_id");
    let link = link_of(&app, "ada@example.com", "/auth/confirm?token=");
    let page = page_token(&send(&app, request("GET", &format!("/auth/confirm?token={link}"), b"", &[])).raw);
    assert_eq!(answer(&app, &link, &page, "allow").status, 200);
    ports(&app).clock.advance_secs(121);
    assert_eq!(poll(&app, &auth_id).status, 400);
}

#[test]
fn sign_in_mails_are_limited_per_address_alike_for_every_name() {
    let app = app();
    account_with_email(&app, "ada", "ada@example.com");
    assert_eq!(login(&app, "ada", "ada@example.com", "Phone").status, 200);
    let again = login(&app, "ada", "ada@example.com", "Phone");
    let stranger = login(&app, "nobody", "ada@example.com", "Phone");
    assert_eq!(again.status, 429);
    assert_eq!((again.status, &again.raw), (stranger.status, &stranger.raw));
    assert_eq!(again.body["error"], "Too many emails to this address; try again in 60 seconds");
}

#[test]
fn the_session_list_shows_every_dialects_sessions_and_ends_only_ones_own() {
    let app = app();
    account_with_email(&app, "ada", "ada@example.com");
    let laptop = emailed_sign_in(&app, "ada", "ada@example.com", "Laptop");
    // The same account signs in through GoTrue's email sign-in: its platform is the User-Agent.
    ports(&app).clock.advance_secs(60);
    post(&app, "/otp", &json!({"email": "ada@example.com", "create_user": false}));
    let code = code_for(&app, "ada@example.com");
    let gotrue = post(&app, "/verify", &json!({"type": "email", "email": "ada@example.com", "token": code}));
    assert_eq!(gotrue.status, 200, "{}", gotrue.raw);
    let other = register(&app, "bob", "Bob's Phone");

    let list = pw(&app, "GET", "/auth/sessions", &Value::Null, Some(&laptop));
    assert_eq!(list.status, 200, "{}", list.raw);
    let sessions = list.body["sessions"].as_array().unwrap().clone();
    let platforms: Vec<&str> = sessions.iter().map(|s| s["platform"].as_str().unwrap()).collect();
    assert_eq!(sessions.len(), 2, "{platforms:?}");
    assert!(platforms.contains(&"Laptop") && platforms.contains(&"test-suite/1.0"), "{platforms:?}");
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["platform"], "Laptop");
    for s in &sessions {
        assert!(s["created_at"].is_i64() && s["last_active_at"].is_i64() && s["id"].is_string());
    }

    let bobs_session = pw(&app, "GET", "/auth/me", &Value::Null, Some(&other)).body["session_id"].clone();
    let foreign = pw(&app, "DELETE", &format!("/auth/sessions/{}", bobs_session.as_str().unwrap()), &Value::Null, Some(&laptop));
    assert_eq!(foreign.status, 404);
    assert_eq!(foreign.body, json!({"error": "No such session"}));
    assert_eq!(pw(&app, "GET", "/auth/me", &Value::Null, Some(&other)).status, 200, "bob is still signed in");
    let unknown = pw(&app, "DELETE", "/auth/sessions/00000000-0000-4000-8000-000000000000", &Value::Null, Some(&laptop));
    assert_eq!(unknown.status, 404);

    let gotrue_id = sessions.iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_string();
    let ended = pw(&app, "DELETE", &format!("/auth/sessions/{gotrue_id}"), &Value::Null, Some(&laptop));
    assert_eq!(ended.status, 204);
    assert_eq!(error_code(&get(&app, "/user", Some(&s(&gotrue.body, "access_token")))), "session_not_found");
    assert_eq!(pw(&app, "DELETE", &format!("/auth/sessions/{gotrue_id}"), &Value::Null, Some(&laptop)).status, 404, "ended already");
}

#[test]
fn logout_ends_the_session_token_at_once() {
    let app = app();
    let token = register(&app, "ada", "Phone");
    assert_eq!(pw(&app, "POST", "/auth/logout", &Value::Null, Some(&token)).status, 204);
    let me = pw(&app, "GET", "/auth/me", &Value::Null, Some(&token));
    assert_eq!(me.status, 401);
    assert!(me.body["error"].as_str().unwrap().contains("session token"));
    assert_eq!(get(&app, "/api/check", Some(&token)).status, 401);
    assert_eq!(pw(&app, "POST", "/auth/logout", &Value::Null, Some(&token)).status, 401);
}

#[test]
fn bad_and_missing_session_tokens_are_401() {
    let app = app();
    let token = register(&app, "ada", "Phone");
    let (id, _) = token.split_once('.').unwrap();
    let forged = format!("{id}.{}", "A".repeat(43));
    for bad in [None, Some("garbage"), Some(forged.as_str()), Some("a.b")] {
        for (method, path) in [("GET", "/auth/me"), ("GET", "/auth/sessions"), ("POST", "/auth/logout"), ("PUT", "/auth/email")] {
            let r = pw(&app, method, path, &json!({"email": "x@example.com"}), bad);
            assert_eq!(r.status, 401, "{method} {path} {bad:?}: {}", r.raw);
            assert_eq!(r.headers["www-authenticate"], "Bearer");
        }
    }
    assert_eq!(pw(&app, "GET", "/auth/me", &Value::Null, Some(&token)).status, 200, "the real one still works");
}

#[test]
fn last_active_is_written_at_most_once_a_minute() {
    let app = app();
    let token = register(&app, "ada", "Phone");
    let last = |app: &App<TestPorts>| ports(app).store.all_sessions()[0].last_active_at.unix_seconds();
    ports(&app).clock.advance_secs(30);
    pw(&app, "GET", "/auth/me", &Value::Null, Some(&token));
    assert_eq!(last(&app), 1_700_000_000, "30 s later: not written");
    ports(&app).clock.advance_secs(31);
    pw(&app, "GET", "/auth/me", &Value::Null, Some(&token));
    assert_eq!(last(&app), 1_700_000_061, "61 s later: written");
    ports(&app).clock.advance_secs(59);
    pw(&app, "GET", "/auth/sessions", &Value::Null, Some(&token));
    assert_eq!(last(&app), 1_700_000_061, "59 s after the write: not written");
}

#[test]
fn the_page_escapes_what_the_requester_chose() {
    let app = app();
    account_with_email(&app, "ada", "ada@example.com");
    login(&app, "ada", "ada@example.com", "<script>alert(1)</script>\"");
    let link = link_of(&app, "ada@example.com", "/auth/confirm?token=");
    let page = send(&app, request("GET", &format!("/auth/confirm?token={link}"), b"", &[]));
    assert!(!page.raw.contains("<script>"), "{}", page.raw);
    assert!(page.raw.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;"));
}


#[test]
fn the_sign_in_mail_shows_the_platform_as_the_requesters_words_never_as_ours() {
    let app = app();
    account_with_email(&app, "ada", "ada@example.com");
    // What a stranger who knows the name and address could make the mail say.
    let platform = "<b>Portcullis Support</b>: \u{202e}approve";
    assert_eq!(login(&app, "ada", "ada@example.com", platform).status, 200);
    let mail = sent_mails(&app).into_iter().rev().find(|m| m.to == "ada@example.com").unwrap();
    assert!(!mail.subject.contains("Support") && !mail.subject.contains("approve"), "{}", mail.subject);
    assert_eq!(mail.subject, "Sign in to Portcullis?");
    // The text part: labelled as the requester's, quoted on a line of its own, without the
    // right-to-left override that would reorder what follows it.
    let shown = "> \u{201c}<b>Portcullis Support</b>: \u{fffd}approve\u{201d}";
    let lines: Vec<&str> = mail.text.lines().collect();
    let at = lines.iter().position(|l| *l == shown).unwrap_or_else(|| panic!("{}", mail.text));
    assert!(lines[at - 1].starts_with("The requester says it is"), "{}", mail.text);
    assert!(lines[at + 1].contains("not checked"), "{}", mail.text);
    assert!(!mail.text.contains('\u{202e}'));
    assert_eq!(mail.text.matches("Support").count(), 1, "only inside the quote: {}", mail.text);
    // The HTML part: the same, escaped.
    assert!(!mail.html.contains("<b>Portcullis") && !mail.html.contains('\u{202e}'), "{}", mail.html);
    assert!(mail.html.contains("The requester says it is"), "{}", mail.html);
    assert!(mail.html.contains("\u{201c}&lt;b&gt;Portcullis Support&lt;/b&gt;: \u{fffd}approve\u{201d}"), "{}", mail.html);
}
#[test]
fn bad_input_to_the_other_endpoints_is_a_4xx_with_an_error() {
    let app = app();
    let token = register(&app, "ada", "Phone");
    let cases: Vec<(&str, &str, Value, u16)> = vec![
        ("POST", "/auth/login", json!({"email": "a@example.com", "session_platform": "P"}), 400),
        ("POST", "/auth/login", json!({"username": "ada", "session_platform": "P"}), 400),
        ("POST", "/auth/login", json!({"username": "ada", "email": "a@example.com"}), 400),
        ("POST", "/auth/login", json!({"username": "ada", "email": "nope", "session_platform": "P"}), 400),
        ("POST", "/auth/login", json!({"username": "a", "email": "a@example.com", "session_platform": "P"}), 400),
        ("POST", "/auth/login", json!({"username": "ada", "email": 1, "session_platform": "P"}), 400),
        ("PUT", "/auth/email", json!({}), 400),
        ("PUT", "/auth/email", json!({"email": "nope"}), 400),
        ("PUT", "/auth/email", json!({"email": ["a@example.com"]}), 400),
        ("GET", "/auth/session/not-a-uuid", Value::Null, 400),
        ("GET", "/auth/nothing-here", Value::Null, 404),
        ("DELETE", "/auth/sessions", Value::Null, 404),
    ];
    for (method, path, body, status) in cases {
        let r = pw(&app, method, path, &body, Some(&token));
        assert_eq!(r.status, status, "{method} {path} {body}: {}", r.raw);
        assert!(r.body["error"].is_string(), "{method} {path}: {}", r.raw);
    }
    let bad_link = send(&app, request("GET", "/auth/confirm?token=nope", b"", &[]));
    assert_eq!(bad_link.status, 400);
    assert!(bad_link.raw.contains("invalid or has expired"));
    let no_token = send(&app, request("GET", "/auth/confirm", b"", &[]));
    assert_eq!(no_token.status, 400);
    assert_eq!(ports(&app).store.all_users().len(), 1);
}

#[test]
fn the_session_list_leaves_out_sessions_past_their_lifetime() {
    let app = app_with(&[("SESSION_TIMEBOX", "600")]);
    account_with_email(&app, "ada", "ada@example.com");
    emailed_sign_in(&app, "ada", "ada@example.com", "Laptop"); // started at 0 s
    ports(&app).clock.advance_secs(300);
    post(&app, "/otp", &json!({"email": "ada@example.com", "create_user": false}));
    let code = code_for(&app, "ada@example.com");
    let gotrue = post(&app, "/verify", &json!({"type": "email", "email": "ada@example.com", "token": code}));
    assert_eq!(gotrue.status, 200, "{}", gotrue.raw); // started at 300 s
    ports(&app).clock.advance_secs(100);
    let auth_id = s(&login(&app, "ada", "ada@example.com", "Phone").body, "auth_id");
    let link = link_of(&app, "ada@example.com", "/auth/confirm?token=");
    let page = send(&app, request("GET", &format!("/auth/confirm?token={link}"), b"", &[]));
    assert_eq!(answer(&app, &link, &page_token(&page.raw), "allow").status, 200);
    let phone = s(&poll(&app, &auth_id).body, "session_token"); // started at 400 s

    let platforms = |app: &App<TestPorts>| -> Vec<String> {
        let list = pw(app, "GET", "/auth/sessions", &Value::Null, Some(&phone));
        assert_eq!(list.status, 200, "{}", list.raw);
        let mut p: Vec<String> = list.body["sessions"].as_array().unwrap().iter().map(|s| s["platform"].as_str().unwrap().to_string()).collect();
        p.sort();
        p
    };
    assert_eq!(platforms(&app), ["Laptop", "Phone", "test-suite/1.0"]);
    ports(&app).clock.advance_secs(250); // 650 s: the laptop's session is past its 600 s
    assert_eq!(platforms(&app), ["Phone", "test-suite/1.0"]);
    ports(&app).clock.advance_secs(300); // 950 s: so is GoTrue's
    assert_eq!(platforms(&app), ["Phone"]);
}

fn confirm_email(app: &App<TestPorts>, to: &str) -> Reply {
    let token = link_of(app, to, "/auth/email/confirm?token=");
    send(app, request("POST", "/auth/email/confirm", format!("token={token}").as_bytes(), &[FORM]))
}

#[test]
fn replacing_an_address_needs_both_addresses_and_the_old_one_is_told() {
    let app = app();
    account_with_email(&app, "ada", "ada@example.com");
    let token = emailed_sign_in(&app, "ada", "ada@example.com", "Laptop");
    let r = pw(&app, "PUT", "/auth/email", &json!({"email": "ada.new@example.com"}), Some(&token));
    assert_eq!(r.status, 200, "{}", r.raw);
    let first = confirm_email(&app, "ada.new@example.com");
    assert_eq!(first.status, 200, "{}", first.raw);
    assert!(first.raw.contains("other address"), "{}", first.raw);
    assert_eq!(pw(&app, "GET", "/auth/me", &Value::Null, Some(&token)).body["email"], "ada@example.com", "not moved yet");
    let second = confirm_email(&app, "ada@example.com");
    assert_eq!(second.status, 200, "{}", second.raw);
    assert_eq!(pw(&app, "GET", "/auth/me", &Value::Null, Some(&token)).body["email"], "ada.new@example.com");
    let told = sent_mails(&app).into_iter().rev().find(|m| m.to == "ada@example.com").unwrap();
    assert!(told.subject.contains("was changed"), "{}", told.subject);
}

#[test]
fn without_secure_email_change_an_old_session_must_sign_in_again_to_replace_the_address() {
    let app = app_with(&[("MAILER_SECURE_EMAIL_CHANGE_ENABLED", "false")]);
    account_with_email(&app, "ada", "ada@example.com");
    let token = emailed_sign_in(&app, "ada", "ada@example.com", "Laptop");
    ports(&app).clock.advance_secs(86_400);
    let r = pw(&app, "PUT", "/auth/email", &json!({"email": "thief@example.com"}), Some(&token));
    assert_eq!(r.status, 403, "{}", r.raw);
    assert!(r.body["error"].as_str().unwrap().contains("sign in again"), "{}", r.raw);
    assert_eq!(mails_to(&app, "thief@example.com"), 0);
    // Adding a first address needs no re-authentication: there is nothing to take over.
    let bea = register(&app, "bea", "Phone");
    ports(&app).clock.advance_secs(86_400);
    assert_eq!(pw(&app, "PUT", "/auth/email", &json!({"email": "bea@example.com"}), Some(&bea)).status, 200);
}

/// A stranger registers a username and asks for the owner's address; the owner, shown which
/// account claims it, confirms. The stranger's session must not then pass as the owner's
/// verified address.
#[test]
fn a_first_address_confirmed_by_its_owner_ends_the_sessions_of_whoever_asked_for_it() {
    let app = app();
    let mallory = register(&app, "mallory", "Phone");
    assert_eq!(pw(&app, "PUT", "/auth/email", &json!({"email": "ann@example.com"}), Some(&mallory)).status, 200);
    let link = link_of(&app, "ann@example.com", "/auth/email/confirm?token=");
    let page = send(&app, request("GET", &format!("/auth/email/confirm?token={link}"), b"", &[]));
    assert_eq!(page.status, 200);
    assert!(page.raw.contains("<b>mallory</b>") && page.raw.contains("ann@example.com"), "the page names the account: {}", page.raw);
    let done = send(&app, request("POST", "/auth/email/confirm", format!("token={link}").as_bytes(), &[FORM]));
    assert_eq!(done.status, 200, "{}", done.raw);
    assert_eq!(pw(&app, "GET", "/auth/me", &Value::Null, Some(&mallory)).status, 401);
    let c = check(&app, &mallory);
    assert_eq!(c.status, 401, "the requester's session passes the check with the owner's address: {}", c.raw);
}
