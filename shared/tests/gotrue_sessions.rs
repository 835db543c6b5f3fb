//! GoTrue session lifecycle through the app: refresh rotation, logout scopes, recovery, email
//! sign-in, resend, email change, user updates and send limits, with a fixed clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use serde_json::json;
use support::*;

const PW: &str = "s3cret-pass";

fn live_sessions(app: &portcullis_shared::App<portcullis_shared::testing::TestPorts>) -> usize {
    ports(app).store.all_sessions().iter().filter(|s| s.is_active()).count()
}

#[test]
fn a_refresh_rotates_the_token_and_keeps_the_session() {
    let app = app();
    let first = confirmed_user(&app, "ann@example.com", PW);
    ports(&app).clock.advance_secs(30);
    let r = refresh(&app, &s(&first, "refresh_token"));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_ne!(s(&r.body, "refresh_token"), s(&first, "refresh_token"));
    assert_ne!(s(&r.body, "access_token"), s(&first, "access_token"));
    assert_eq!(r.body["expires_at"], 1_700_000_030 + 3600);
    assert_eq!(r.body["user"]["email"], "ann@example.com");
    assert_eq!(live_sessions(&app), 1);
    // The new access token belongs to the same session.
    assert_eq!(get(&app, "/user", Some(&s(&r.body, "access_token"))).status, 200);
    // And the successor refreshes again.
    ports(&app).clock.advance_secs(30);
    assert_eq!(refresh(&app, &s(&r.body, "refresh_token")).status, 200);
}

#[test]
fn a_repeated_refresh_within_the_window_returns_the_same_successor() {
    let app = app();
    let first = confirmed_user(&app, "ann@example.com", PW);
    let a = refresh(&app, &s(&first, "refresh_token"));
    ports(&app).clock.advance_secs(9);
    let b = refresh(&app, &s(&first, "refresh_token"));
    assert_eq!(b.status, 200, "{}", b.raw);
    assert_eq!(s(&a.body, "refresh_token"), s(&b.body, "refresh_token"));
    assert_eq!(live_sessions(&app), 1);
    assert_eq!(ports(&app).store.refresh_token_count(), 2, "one parent, one successor");
}

#[test]
fn a_replay_after_the_window_ends_the_whole_session() {
    let app = app();
    let first = confirmed_user(&app, "ann@example.com", PW);
    let next = refresh(&app, &s(&first, "refresh_token"));
    ports(&app).clock.advance_secs(11);
    let replay = refresh(&app, &s(&first, "refresh_token"));
    assert_eq!(replay.status, 400);
    assert_eq!(error_code(&replay), "refresh_token_already_used");
    // The family is dead: the successor, and the session's access tokens.
    let successor = refresh(&app, &s(&next.body, "refresh_token"));
    assert_eq!(error_code(&successor), "refresh_token_not_found");
    let me = get(&app, "/user", Some(&s(&next.body, "access_token")));
    assert_eq!(error_code(&me), "session_not_found");
    assert_eq!(get(&app, "/api/check", Some(&s(&next.body, "access_token"))).status, 401);
}

#[test]
fn the_reuse_window_is_configurable() {
    let app = app_with(&[("REFRESH_TOKEN_REUSE_INTERVAL", "0")]);
    let first = confirmed_user(&app, "ann@example.com", PW);
    refresh(&app, &s(&first, "refresh_token"));
    ports(&app).clock.advance_secs(1);
    assert_eq!(error_code(&refresh(&app, &s(&first, "refresh_token"))), "refresh_token_already_used");
}

#[test]
fn unknown_forged_and_missing_refresh_tokens_are_refused() {
    let app = app();
    let first = confirmed_user(&app, "ann@example.com", PW);
    let real = s(&first, "refresh_token");
    let (id, _) = real.split_once('.').unwrap();
    let forged = format!("{id}.{}", "A".repeat(43));
    for bad in ["", "garbage", "a.b", forged.as_str()] {
        let r = refresh(&app, bad);
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(error_code(&r), "refresh_token_not_found", "{bad}");
    }
    let missing = post(&app, "/token?grant_type=refresh_token", &json!({}));
    assert_eq!(error_code(&missing), "validation_failed");
    // The forged attempt did not disturb the real token.
    assert_eq!(refresh(&app, &real).status, 200);
}

#[test]
fn sessions_expire_after_their_lifetime_and_when_idle() {
    let app = app_with(&[("SESSION_TIMEBOX", "3600"), ("SESSION_INACTIVITY_TIMEOUT", "600")]);
    let first = confirmed_user(&app, "ann@example.com", PW);
    ports(&app).clock.advance_secs(500);
    let a = refresh(&app, &s(&first, "refresh_token"));
    assert_eq!(a.status, 200);
    ports(&app).clock.advance_secs(601);
    let idle = refresh(&app, &s(&a.body, "refresh_token"));
    assert_eq!(error_code(&idle), "session_expired");

    let app = app_with(&[("SESSION_TIMEBOX", "3600")]);
    let mut token = s(&confirmed_user(&app, "bob@example.com", PW), "refresh_token");
    for _ in 0..3 {
        ports(&app).clock.advance_secs(1000);
        let r = refresh(&app, &token);
        assert_eq!(r.status, 200);
        token = s(&r.body, "refresh_token");
    }
    ports(&app).clock.advance_secs(600);
    assert_eq!(error_code(&refresh(&app, &token)), "session_expired");
}

fn three_sessions(app: &portcullis_shared::App<portcullis_shared::testing::TestPorts>) -> Vec<serde_json::Value> {
    let mut v = vec![confirmed_user(app, "ann@example.com", PW)];
    v.push(login(app, "ann@example.com", PW).body);
    v.push(login(app, "ann@example.com", PW).body);
    v
}

#[test]
fn logout_local_ends_only_this_session_and_holds_at_once() {
    let app = app();
    let s3 = three_sessions(&app);
    let r = post_auth(&app, "/logout?scope=local", &s(&s3[0], "access_token"), &json!({}));
    assert_eq!(r.status, 204);
    assert!(r.raw.is_empty());
    assert_eq!(error_code(&get(&app, "/user", Some(&s(&s3[0], "access_token")))), "session_not_found");
    assert_eq!(get(&app, "/api/check", Some(&s(&s3[0], "access_token"))).status, 401);
    assert_eq!(error_code(&refresh(&app, &s(&s3[0], "refresh_token"))), "refresh_token_not_found");
    assert_eq!(get(&app, "/user", Some(&s(&s3[1], "access_token"))).status, 200);
    assert_eq!(live_sessions(&app), 2);
}

#[test]
fn logout_others_keeps_only_this_session() {
    let app = app();
    let s3 = three_sessions(&app);
    assert_eq!(post_auth(&app, "/logout?scope=others", &s(&s3[1], "access_token"), &json!({})).status, 204);
    assert_eq!(get(&app, "/user", Some(&s(&s3[1], "access_token"))).status, 200);
    for i in [0, 2] {
        assert_eq!(get(&app, "/api/check", Some(&s(&s3[i], "access_token"))).status, 401);
        assert_eq!(error_code(&refresh(&app, &s(&s3[i], "refresh_token"))), "refresh_token_not_found");
    }
}

#[test]
fn logout_global_is_the_default_and_ends_every_session() {
    let app = app();
    let s3 = three_sessions(&app);
    let other = confirmed_user(&app, "bob@example.com", PW);
    assert_eq!(post_auth(&app, "/logout", &s(&s3[2], "access_token"), &json!({})).status, 204);
    assert_eq!(live_sessions(&app), 1, "only the other account's session is left");
    assert_eq!(get(&app, "/user", Some(&s(&other, "access_token"))).status, 200);
    let again = post_auth(&app, "/logout", &s(&s3[2], "access_token"), &json!({}));
    assert_eq!(error_code(&again), "session_not_found");
    let bad = post_auth(&app, "/logout?scope=everywhere", &s(&other, "access_token"), &json!({}));
    assert_eq!(error_code(&bad), "validation_failed");
    let anon = post(&app, "/logout", &json!({}));
    assert_eq!(error_code(&anon), "no_authorization");
}

#[test]
fn recovery_signs_in_and_a_new_password_replaces_the_old_and_ends_other_sessions() {
    let app = app();
    let old = confirmed_user(&app, "ann@example.com", PW);
    let r = post(&app, "/recover", &json!({"email": "ann@example.com"}));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({}));
    let mail = sent_mails(&app).pop().unwrap();
    assert!(mail.subject.contains("Reset your password"));
    let code = code_for(&app, "ann@example.com");
    let v = post(&app, "/verify", &json!({"type": "recovery", "email": "ann@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    let token = s(&v.body, "access_token");
    let u = put(&app, "/user", &token, &json!({"password": "brand-new-pass"}));
    assert_eq!(u.status, 200, "{}", u.raw);
    assert_eq!(login(&app, "ann@example.com", PW).status, 400);
    assert_eq!(login(&app, "ann@example.com", "brand-new-pass").status, 200);
    assert_eq!(get(&app, "/user", Some(&token)).status, 200, "the session that changed it stays");
    assert_eq!(get(&app, "/api/check", Some(&s(&old, "access_token"))).status, 401, "older sessions end");
}

#[test]
fn recovery_for_an_unknown_address_looks_the_same_and_mails_nothing() {
    let app = app();
    confirmed_user(&app, "ann@example.com", PW);
    let known = post(&app, "/recover", &json!({"email": "ann@example.com"}));
    let unknown = post(&app, "/recover", &json!({"email": "nobody@example.com"}));
    assert_eq!((known.status, &known.raw), (unknown.status, &unknown.raw));
    assert_eq!(mails_to(&app, "nobody@example.com"), 0);
    // The send limit holds for both alike.
    let k2 = post(&app, "/recover", &json!({"email": "ann@example.com"}));
    let u2 = post(&app, "/recover", &json!({"email": "nobody@example.com"}));
    assert_eq!((k2.status, &k2.raw), (u2.status, &u2.raw));
    assert_eq!(k2.status, 429);
    assert_eq!(error_code(&k2), "over_email_send_rate_limit");
    assert_eq!(k2.body["message"], "For security purposes, you can only request this after 60 seconds.");
}

#[test]
fn the_send_limit_counts_down_and_then_lets_mail_go() {
    let app = app();
    confirmed_user(&app, "ann@example.com", PW);
    post(&app, "/recover", &json!({"email": "ann@example.com"}));
    ports(&app).clock.advance_secs(45);
    let r = post(&app, "/recover", &json!({"email": "ann@example.com"}));
    assert_eq!(r.body["message"], "For security purposes, you can only request this after 15 seconds.");
    ports(&app).clock.advance_secs(15);
    assert_eq!(post(&app, "/recover", &json!({"email": "ann@example.com"})).status, 200);
    assert_eq!(mails_to(&app, "ann@example.com"), 3, "confirmation and two recovery mails");
}

#[test]
fn email_sign_in_creates_the_account_and_the_code_signs_in() {
    let app = app();
    let r = post(&app, "/otp", &json!({"email": "new@example.com", "data": {"plan": "free"}}));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({}));
    let code = code_for(&app, "new@example.com");
    let v = post(&app, "/verify", &json!({"type": "email", "email": "new@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    assert!(v.body["user"]["email_confirmed_at"].is_string());
    assert_eq!(v.body["user"]["user_metadata"]["plan"], "free");
    // No password was set: password sign-in is refused.
    assert_eq!(error_code(&login(&app, "new@example.com", "")), "invalid_credentials");
}

#[test]
fn email_sign_in_without_create_user_reveals_nothing_for_unknown_addresses() {
    let app = app();
    let r = post(&app, "/otp", &json!({"email": "nobody@example.com", "create_user": false}));
    assert_eq!(r.status, 200);
    assert_eq!(mails_to(&app, "nobody@example.com"), 0);
    assert!(ports(&app).store.all_users().is_empty());
}

#[test]
fn an_existing_account_signs_in_with_the_magic_link_or_its_code() {
    let app = app();
    confirmed_user(&app, "ann@example.com", PW);
    post(&app, "/otp", &json!({"email": "ann@example.com", "create_user": false}));
    let token = link_token_for(&app, "ann@example.com");
    let v = post(&app, "/verify", &json!({"type": "magiclink", "token_hash": token}));
    assert_eq!(v.status, 200, "{}", v.raw);
    let claims = s(&v.body, "access_token");
    use base64::Engine as _;
    let payload: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(payload["amr"][0]["method"], "magiclink");
}

#[test]
fn resend_sends_a_new_signup_code_only_where_one_is_pending() {
    let app = app();
    signup(&app, "pending@example.com", PW);
    confirmed_user(&app, "done@example.com", PW);
    ports(&app).clock.advance_secs(60);
    for email in ["pending@example.com", "done@example.com", "nobody@example.com"] {
        let r = post(&app, "/resend", &json!({"type": "signup", "email": email}));
        assert_eq!(r.status, 200, "{email}");
        assert_eq!(r.body, json!({}));
    }
    assert_eq!(mails_to(&app, "pending@example.com"), 2);
    assert_eq!(mails_to(&app, "done@example.com"), 1);
    assert_eq!(mails_to(&app, "nobody@example.com"), 0);
    let code = code_for(&app, "pending@example.com");
    let v = post(&app, "/verify", &json!({"type": "signup", "email": "pending@example.com", "token": code}));
    assert_eq!(v.status, 200);
    let bad = post(&app, "/resend", &json!({"type": "recovery", "email": "pending@example.com"}));
    assert_eq!(error_code(&bad), "validation_failed");
}

#[test]
fn an_email_change_takes_effect_only_after_both_addresses_confirm_in_either_order() {
    for new_first in [true, false] {
        let app = app();
        let session = confirmed_user(&app, "ann@example.com", PW);
        let token = s(&session, "access_token");
        let r = put(&app, "/user", &token, &json!({"email": "Ann.New@Example.com"}));
        assert_eq!(r.status, 200, "{}", r.raw);
        assert_eq!(r.body["email"], "ann@example.com", "not changed yet");
        assert_eq!(r.body["new_email"], "ann.new@example.com");
        assert!(r.body["email_change_sent_at"].is_string(), "{}", r.raw);
        let (first, second) = match new_first {
            true => ("ann.new@example.com", "ann@example.com"),
            false => ("ann@example.com", "ann.new@example.com"),
        };
        let (first_code, second_code) = (code_for(&app, first), code_for(&app, second));
        let half = post(&app, "/verify", &json!({"type": "email_change", "email": first, "token": first_code}));
        assert_eq!(half.status, 200, "{}", half.raw);
        assert_eq!(half.body, json!({"msg": "Confirmation link accepted. Please proceed to confirm link sent to the other email", "code": "200"}));
        assert_eq!(login(&app, "ann@example.com", PW).status, 200, "not moved after one of two");
        let v = post(&app, "/verify", &json!({"type": "email_change", "email": second, "token": second_code}));
        assert_eq!(v.status, 200, "{}", v.raw);
        assert_eq!(v.body["user"]["email"], "ann.new@example.com");
        assert_eq!(login(&app, "ann@example.com", PW).status, 400);
        assert_eq!(login(&app, "ann.new@example.com", PW).status, 200);
        assert_eq!(get(&app, "/user", Some(&token)).body["email"], "ann.new@example.com");
        let told = sent_mails(&app).into_iter().rev().find(|m| m.to == "ann@example.com").unwrap();
        assert!(told.subject.contains("was changed"), "the old address is told: {}", told.subject);
        assert!(told.text.contains("ann.new@example.com"));
    }
}

#[test]
fn without_secure_email_change_the_new_address_alone_moves_the_account_and_the_old_is_told() {
    let app = app_with(&[("MAILER_SECURE_EMAIL_CHANGE_ENABLED", "false")]);
    let token = s(&confirmed_user(&app, "ann@example.com", PW), "access_token");
    let before = mails_to(&app, "ann@example.com");
    assert_eq!(put(&app, "/user", &token, &json!({"email": "ann.new@example.com"})).status, 200);
    assert_eq!(mails_to(&app, "ann@example.com"), before, "no code to the current address");
    let code = code_for(&app, "ann.new@example.com");
    let v = post(&app, "/verify", &json!({"type": "email_change", "email": "ann.new@example.com", "token": code}));
    assert_eq!(v.body["user"]["email"], "ann.new@example.com", "{}", v.raw);
    let told = sent_mails(&app).into_iter().rev().find(|m| m.to == "ann@example.com").unwrap();
    assert!(told.subject.contains("was changed"), "{}", told.subject);
}

#[test]
fn changing_to_a_taken_address_reveals_nothing_and_changes_nothing() {
    let app = app();
    let ann = confirmed_user(&app, "ann@example.com", PW);
    confirmed_user(&app, "bob@example.com", PW);
    let r = put(&app, "/user", &s(&ann, "access_token"), &json!({"email": "bob@example.com"}));
    assert_eq!(r.status, 200);
    let notice = sent_mails(&app).pop().unwrap();
    assert_eq!(notice.to, "bob@example.com");
    assert!(notice.subject.contains("already have an account"));
    assert_eq!(login(&app, "ann@example.com", PW).status, 200);
}

#[test]
fn metadata_updates_merge_and_null_removes_a_key() {
    let app = app();
    let token = s(&confirmed_user(&app, "ann@example.com", PW), "access_token");
    put(&app, "/user", &token, &json!({"data": {"a": 1, "b": {"c": true}}}));
    let r = put(&app, "/user", &token, &json!({"data": {"a": null, "d": "x"}}));
    assert_eq!(r.body["user_metadata"], json!({"b": {"c": true}, "d": "x"}));
}

#[test]
fn a_refused_update_changes_nothing() {
    let app = app();
    let token = s(&confirmed_user(&app, "ann@example.com", PW), "access_token");
    let weak = put(&app, "/user", &token, &json!({"password": "x", "data": {"a": 1}}));
    assert_eq!(error_code(&weak), "weak_password");
    let bad_email = put(&app, "/user", &token, &json!({"email": "nope", "password": "fine-new-pass"}));
    assert_eq!(error_code(&bad_email), "validation_failed");
    assert_eq!(login(&app, "ann@example.com", PW).status, 200, "the password did not change");
    assert_eq!(get(&app, "/user", Some(&token)).body["user_metadata"], json!({}));
    let anon = send(&app, request("PUT", "/user", b"{}", &[API_VERSION, JSON]));
    assert_eq!(error_code(&anon), "no_authorization");
}

#[test]
fn a_recovery_link_redirects_with_the_session_and_its_type() {
    let app = app();
    confirmed_user(&app, "ann@example.com", PW);
    post(&app, "/recover", &json!({"email": "ann@example.com"}));
    let token = link_token_for(&app, "ann@example.com");
    let r = send(&app, request("GET", &format!("/verify?token={token}&type=recovery"), b"", &[]));
    let location = r.headers["location"].to_str().unwrap();
    assert!(location.starts_with("http://localhost:3000#access_token="), "{location}");
    assert!(location.ends_with("&type=recovery"), "{location}");
}

#[test]
fn a_failed_resend_of_an_email_change_can_be_retried_at_once() {
    let app = app();
    let token = s(&confirmed_user(&app, "ann@example.com", PW), "access_token");
    put(&app, "/user", &token, &json!({"email": "ann.new@example.com"}));
    ports(&app).clock.advance_secs(60);
    ports(&app).mailer.fail.set(true);
    let failed = post(&app, "/resend", &json!({"type": "email_change", "email": "ann@example.com"}));
    assert_eq!(failed.status, 200, "the answer went out before the mail: {}", failed.raw);
    assert_eq!(ports(&app).errors.borrow().len(), 2, "both failed deliveries (new and current address) are logged");
    ports(&app).mailer.fail.set(false);
    let retry = post(&app, "/resend", &json!({"type": "email_change", "email": "ann@example.com"}));
    assert_eq!(retry.status, 200, "{}", retry.raw);
    assert_eq!(mails_to(&app, "ann.new@example.com"), 2);
    for address in ["ann.new@example.com", "ann@example.com"] {
        let code = code_for(&app, address);
        let v = post(&app, "/verify", &json!({"type": "email_change", "email": address, "token": code}));
        assert_eq!(v.status, 200, "{}", v.raw);
    }
    assert_eq!(login(&app, "ann.new@example.com", PW).status, 200);
}

#[test]
fn mails_are_limited_per_recipient_across_kinds() {
    let app = app_with(&[("SMTP_MAX_FREQUENCY", "0"), ("SMTP_MAX_PER_ADDRESS", "3")]);
    confirmed_user(&app, "ann@example.com", PW); // one mail
    assert_eq!(post(&app, "/recover", &json!({"email": "ann@example.com"})).status, 200);
    assert_eq!(post(&app, "/otp", &json!({"email": "ann@example.com"})).status, 200);
    let over = post(&app, "/recover", &json!({"email": "ann@example.com"}));
    assert_eq!((over.status.as_u16(), error_code(&over)), (429, "over_email_send_rate_limit"), "{}", over.raw);
    assert_eq!(mails_to(&app, "ann@example.com"), 3);
    // An unknown address is limited alike (the budget is taken before the lookup).
    for _ in 0..3 {
        assert_eq!(post(&app, "/recover", &json!({"email": "nobody@example.com"})).status, 200);
    }
    assert_eq!(post(&app, "/recover", &json!({"email": "nobody@example.com"})).status, 429);
    // The window passes.
    ports(&app).clock.advance_secs(3600);
    assert_eq!(post(&app, "/recover", &json!({"email": "ann@example.com"})).status, 200);
}

#[test]
fn a_mail_that_failed_gives_its_unit_of_the_recipients_budget_back() {
    let app = app_with(&[("SMTP_MAX_FREQUENCY", "0"), ("SMTP_MAX_PER_ADDRESS", "2")]);
    confirmed_user(&app, "ann@example.com", PW);
    ports(&app).mailer.fail.set(true);
    assert_eq!(post(&app, "/recover", &json!({"email": "ann@example.com"})).status, 200);
    ports(&app).mailer.fail.set(false);
    assert_eq!(post(&app, "/recover", &json!({"email": "ann@example.com"})).status, 200, "the failed mail did not count");
    assert_eq!(mails_to(&app, "ann@example.com"), 2);
}

#[test]
fn a_resend_never_revives_an_expired_email_change() {
    let app = app();
    let token = s(&confirmed_user(&app, "ann@example.com", PW), "access_token");
    assert_eq!(put(&app, "/user", &token, &json!({"email": "ann.new@example.com"})).status, 200);
    ports(&app).clock.advance_secs(601); // OTP_EXP is 600
    assert_eq!(post(&app, "/resend", &json!({"type": "email_change", "email": "ann@example.com"})).status, 200);
    assert_eq!(mails_to(&app, "ann.new@example.com"), 1, "no fresh code for a change that ran out");
}
