//! GoTrue sign-up, confirmation and login through the app, as auth-js would see them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use serde_json::json;
use support::*;

#[test]
fn signup_mails_a_code_and_link_and_returns_the_user_without_a_session() {
    let app = app();
    let r = signup(&app, " Ann@Example.com ", "s3cret-pass");
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["email"], "ann@example.com");
    assert!(r.body["email_confirmed_at"].is_null());
    assert!(r.body.get("access_token").is_none());
    assert_eq!(r.body["identities"].as_array().unwrap().len(), 1);
    assert!(!r.raw.contains("s3cret-pass") && !r.raw.contains("argon2"));
    let mails = sent_mails(&app);
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "ann@example.com");
    assert!(code_for(&app, "ann@example.com").bytes().all(|b| b.is_ascii_digit()));
    assert!(mails[0].text.contains("http://auth.test/auth/v1/verify?token="));
    assert!(mails[0].text.contains("type=signup&redirect_to=http%3A%2F%2Flocalhost%3A3000"));
}

#[test]
fn the_mailed_code_confirms_the_account_and_signs_in() {
    let app = app();
    signup(&app, "ann@example.com", "s3cret-pass");
    let code = code_for(&app, "ann@example.com");
    let r = post(&app, "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": code}));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["token_type"], "bearer");
    assert_eq!(r.body["expires_in"], 3600);
    assert_eq!(r.body["expires_at"], 1_700_000_000 + 3600);
    assert!(r.body["refresh_token"].as_str().unwrap().len() > 40);
    assert!(r.body["user"]["email_confirmed_at"].is_string());
    let me = get(&app, "/user", r.body["access_token"].as_str());
    assert_eq!(me.status, 200, "{}", me.raw);
    assert_eq!(me.body["id"], r.body["user"]["id"]);
    assert_eq!(me.body["identities"][0]["identity_data"]["email_verified"], true);
}

#[test]
fn the_access_token_carries_gotrue_claims_and_the_session() {
    let app = app();
    let s = confirmed_user(&app, "ann@example.com", "s3cret-pass");
    let token = s["access_token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine as _;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], s["user"]["id"]);
    assert_eq!(claims["aud"], "authenticated");
    assert_eq!(claims["role"], "authenticated");
    assert_eq!(claims["iss"], "http://auth.test/auth/v1");
    assert_eq!(claims["email"], "ann@example.com");
    assert_eq!(claims["aal"], "aal1");
    assert_eq!(claims["amr"][0]["method"], "otp");
    assert_eq!(claims["exp"], 1_700_000_000 + 3600);
    assert_eq!(claims["iat"], 1_700_000_000);
    assert!(claims["session_id"].as_str().unwrap().len() == 36);
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "HS256");
}

#[test]
fn the_link_token_confirms_once() {
    let app = app();
    signup(&app, "ann@example.com", "s3cret-pass");
    let token = link_token_for(&app, "ann@example.com");
    let r = post(&app, "/verify", &json!({"type": "signup", "token_hash": token}));
    assert_eq!(r.status, 200, "{}", r.raw);
    let again = post(&app, "/verify", &json!({"type": "signup", "token_hash": token}));
    assert_eq!(again.status, 403);
    assert_eq!(error_code(&again), "otp_expired");
}

#[test]
fn a_code_is_single_use() {
    let app = app();
    signup(&app, "ann@example.com", "s3cret-pass");
    let code = code_for(&app, "ann@example.com");
    let body = json!({"type": "signup", "email": "ann@example.com", "token": code});
    assert_eq!(post(&app, "/verify", &body).status, 200);
    let again = post(&app, "/verify", &body);
    assert_eq!(again.status, 403);
    assert_eq!(again.body["message"], "Token has expired or is invalid");
}

#[test]
fn a_wrong_code_is_403_otp_expired() {
    let app = app();
    signup(&app, "ann@example.com", "s3cret-pass");
    let right = code_for(&app, "ann@example.com");
    let wrong = if right == "000000" { "111111" } else { "000000" };
    let r = post(&app, "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": wrong}));
    assert_eq!(r.status, 403);
    assert_eq!(error_code(&r), "otp_expired");
    assert_eq!(r.headers["x-sb-error-code"], "otp_expired");
}

#[test]
fn a_code_dies_after_five_wrong_tries_even_for_the_right_digits() {
    let app = app();
    signup(&app, "ann@example.com", "s3cret-pass");
    let right = code_for(&app, "ann@example.com");
    let wrong = if right == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let r = post(&app, "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": wrong}));
        assert_eq!(r.status, 403);
    }
    let r = post(&app, "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": right}));
    assert_eq!(r.status, 403, "the sixth try must fail");
    // A new sign-up, once the send interval has passed, issues a fresh code that works.
    ports(&app).clock.advance_secs(60);
    assert_eq!(signup(&app, "ann@example.com", "s3cret-pass").status, 200);
    let fresh = code_for(&app, "ann@example.com");
    let r = post(&app, "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": fresh}));
    assert_eq!(r.status, 200);
}

#[test]
fn four_wrong_tries_still_leave_the_right_code_working() {
    let app = app();
    signup(&app, "ann@example.com", "s3cret-pass");
    let right = code_for(&app, "ann@example.com");
    let wrong = if right == "000000" { "111111" } else { "000000" };
    for _ in 0..4 {
        post(&app, "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": wrong}));
    }
    let r = post(&app, "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": right}));
    assert_eq!(r.status, 200);
}

#[test]
fn an_expired_code_is_rejected() {
    let app = app();
    signup(&app, "ann@example.com", "s3cret-pass");
    let code = code_for(&app, "ann@example.com");
    ports(&app).clock.advance_secs(600);
    let r = post(&app, "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": code}));
    assert_eq!(r.status, 403);
    assert_eq!(error_code(&r), "otp_expired");
}

#[test]
fn code_lifetime_and_tries_are_configurable() {
    let app = app_with(&[("OTP_EXP", "120"), ("OTP_MAX_ATTEMPTS", "1")]);
    signup(&app, "ann@example.com", "s3cret-pass");
    let right = code_for(&app, "ann@example.com");
    let wrong = if right == "000000" { "111111" } else { "000000" };
    post(&app, "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": wrong}));
    let r = post(&app, "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": right}));
    assert_eq!(r.status, 403);
    ports(&app).clock.advance_secs(60);
    assert_eq!(signup(&app, "ann@example.com", "s3cret-pass").status, 200);
    let fresh = code_for(&app, "ann@example.com");
    ports(&app).clock.advance_secs(121);
    let r = post(&app, "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": fresh}));
    assert_eq!(r.status, 403);
}

#[test]
fn signing_up_with_a_registered_address_reveals_nothing() {
    let app = app();
    let first = confirmed_user(&app, "ann@example.com", "s3cret-pass");
    let new = signup(&app, "bob@example.com", "another-pass");
    ports(&app).clock.advance_secs(60);
    let twin = signup(&app, "ann@example.com", "attacker-pass");
    assert_eq!(twin.status, 200);
    assert_ne!(twin.body["id"], first["user"]["id"], "a decoy id, not the real one");
    // Same shape as a genuine new sign-up: same keys, same identity structure.
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&twin.body), keys(&new.body));
    assert_eq!(keys(&twin.body["identities"][0]), keys(&new.body["identities"][0]));
    assert_eq!(twin.body["email_confirmed_at"], new.body["email_confirmed_at"]);
    // The owner is told; no code goes out; the password did not change.
    let last = sent_mails(&app).pop().unwrap();
    assert_eq!(last.to, "ann@example.com");
    assert!(last.subject.contains("already have an account"));
    assert!(!last.text.contains("code is"));
    assert_eq!(login(&app, "ann@example.com", "s3cret-pass").status, 200);
    assert_eq!(login(&app, "ann@example.com", "attacker-pass").status, 400);
    assert_eq!(ports(&app).store.all_users().len(), 2);
}

#[test]
fn re_signing_up_unconfirmed_sends_a_new_code_and_the_old_one_dies() {
    let app = app();
    signup(&app, "ann@example.com", "first-pass");
    let old = code_for(&app, "ann@example.com");
    ports(&app).clock.advance_secs(60);
    let r = signup(&app, "ann@example.com", "second-pass");
    assert_eq!(r.status, 200);
    let new = code_for(&app, "ann@example.com");
    if old != new {
        let r = post(&app, "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": old}));
        assert_eq!(r.status, 403, "the replaced code must not work");
    }
    let r = post(&app, "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": new}));
    assert_eq!(r.status, 200, "the newest code confirms the address and signs in");
    // But a second attempt with another password may be a stranger's, and the first may have
    // been one too: neither password survives; the owner sets one now that she is signed in.
    assert_eq!(login(&app, "ann@example.com", "second-pass").status, 400);
    assert_eq!(login(&app, "ann@example.com", "first-pass").status, 400);
    let set = put(&app, "/user", &s(&r.body, "access_token"), &json!({"password": "chosen-pass"}));
    assert_eq!(set.status, 200, "{}", set.raw);
    assert_eq!(login(&app, "ann@example.com", "chosen-pass").status, 200);
    assert_eq!(ports(&app).store.all_users().len(), 1);
}

#[test]
fn re_signing_up_with_the_same_password_is_the_same_attempt_and_keeps_it() {
    let app = app();
    signup(&app, "ann@example.com", "first-pass");
    ports(&app).clock.advance_secs(60);
    assert_eq!(signup(&app, "ann@example.com", "first-pass").status, 200);
    let code = code_for(&app, "ann@example.com");
    assert_eq!(post(&app, "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": code})).status, 200);
    assert_eq!(login(&app, "ann@example.com", "first-pass").status, 200);
}

#[test]
fn a_resent_confirmation_keeps_the_sign_ups_password() {
    let app = app();
    signup(&app, "ann@example.com", "first-pass");
    ports(&app).clock.advance_secs(60);
    assert_eq!(post(&app, "/resend", &json!({"type": "signup", "email": "ann@example.com"})).status, 200);
    let code = code_for(&app, "ann@example.com");
    assert_eq!(post(&app, "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": code})).status, 200);
    assert_eq!(login(&app, "ann@example.com", "first-pass").status, 200);
}

#[test]
fn login_refuses_unknown_users_and_wrong_passwords_alike() {
    let app = app();
    confirmed_user(&app, "ann@example.com", "s3cret-pass");
    let wrong = login(&app, "ann@example.com", "nope-nope");
    let unknown = login(&app, "nobody@example.com", "nope-nope");
    assert_eq!(wrong.status, 400);
    assert_eq!(wrong.raw, unknown.raw);
    assert_eq!(wrong.body["message"], "Invalid login credentials");
    assert_eq!(error_code(&wrong), "invalid_credentials");
}

#[test]
fn email_not_confirmed_is_said_only_to_the_right_password_and_only_when_the_operator_asks() {
    let app = app_with(&[("REVEAL_EMAIL_NOT_CONFIRMED", "true")]);
    signup(&app, "ann@example.com", "s3cret-pass");
    let right = login(&app, "ann@example.com", "s3cret-pass");
    assert_eq!(right.status, 400);
    assert_eq!(error_code(&right), "email_not_confirmed");
    let wrong = login(&app, "ann@example.com", "wrong-pass");
    assert_eq!(error_code(&wrong), "invalid_credentials");
}

#[test]
fn password_login_returns_a_session_and_each_login_is_a_new_session() {
    let app = app();
    confirmed_user(&app, "ann@example.com", "s3cret-pass");
    let a = login(&app, "ANN@example.com", "s3cret-pass");
    let b = login(&app, "ann@example.com", "s3cret-pass");
    assert_eq!(a.status, 200, "{}", a.raw);
    assert_ne!(a.body["refresh_token"], b.body["refresh_token"]);
    assert!(a.body["user"]["last_sign_in_at"].is_string());
    assert_eq!(ports(&app).store.refresh_token_count(), 3);
    let me = get(&app, "/auth/v1/user", a.body["access_token"].as_str());
    assert_eq!(me.status, 200);
    assert_eq!(me.body["email"], "ann@example.com");
}

#[test]
fn an_imported_django_hash_logs_in_and_is_upgraded_to_argon2id() {
    use portcullis_shared::model::{Timestamp, User, UserId};
    use portcullis_shared::ports::Users as _;
    let app = app();
    let imported = User {
        id: UserId::new("11111111-1111-4111-8111-111111111111"),
        email: Some("django@example.com".into()),
        username: None,
        // Django's pbkdf2_sha256 format: "hunter2", salt "seasalt", 1000 iterations.
        password_hash: Some("pbkdf2_sha256$1000$seasalt$aZOLUDnbVq4qfmIhIFCkAqvDNHspRzj9l43SgVe7GOM=".into()),
        email_confirmed_at: Some(Timestamp(1_600_000_000_000)),
        last_sign_in_at: None,
        created_at: Timestamp(1_600_000_000_000),
        updated_at: Timestamp(1_600_000_000_000),
        ..User::new(UserId::new(""), None, json!({}), Timestamp(1_600_000_000_000))
    };
    pollster::block_on(ports(&app).store.insert(&imported)).unwrap();
    assert_eq!(login(&app, "django@example.com", "hunter3").status, 400);
    let r = login(&app, "django@example.com", "hunter2");
    assert_eq!(r.status, 200, "{}", r.raw);
    let stored = ports(&app).store.all_users()[0].password_hash.clone().unwrap();
    assert!(stored.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{stored}");
    assert_eq!(login(&app, "django@example.com", "hunter2").status, 200);
}

#[test]
fn autoconfirm_signs_in_at_once_and_then_says_the_address_is_taken() {
    let app = app_with(&[("MAILER_AUTOCONFIRM", "true")]);
    let r = signup(&app, "ann@example.com", "s3cret-pass");
    assert_eq!(r.status, 200, "{}", r.raw);
    assert!(r.body["access_token"].is_string());
    assert!(sent_mails(&app).is_empty());
    let again = signup(&app, "ann@example.com", "s3cret-pass");
    assert_eq!(again.status, 422);
    assert_eq!(error_code(&again), "user_already_exists");
}

#[test]
fn disabled_signup_is_refused() {
    let app = app_with(&[("DISABLE_SIGNUP", "true")]);
    let r = signup(&app, "ann@example.com", "s3cret-pass");
    assert_eq!(r.status, 422);
    assert_eq!(error_code(&r), "signup_disabled");
    assert!(ports(&app).store.all_users().is_empty());
}

#[test]
fn a_failed_mail_is_logged_with_an_id_after_the_answer_and_the_user_can_retry_at_once() {
    let app = app();
    ports(&app).mailer.fail.set(true);
    // The answer does not wait for the mail, so it cannot tell (or time) whether one was due.
    let r = signup(&app, "ann@example.com", "s3cret-pass");
    assert_eq!(r.status, 200, "{}", r.raw);
    let logged = ports(&app).errors.borrow().clone();
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].0.len(), 16, "logged under an error id: {logged:?}");
    assert!(logged[0].1.contains("not delivered"), "{logged:?}");
    assert!(!logged[0].1.contains("s3cret-pass"));
    // Mail is back: signing up again at once (the failed send gave its slot back) sends a
    // working code to the same, still unconfirmed account.
    ports(&app).mailer.fail.set(false);
    assert_eq!(signup(&app, "ann@example.com", "s3cret-pass").status, 200);
    let code = code_for(&app, "ann@example.com");
    let v = post(&app, "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": code}));
    assert_eq!(v.status, 200);
    assert_eq!(ports(&app).store.all_users().len(), 1);
}

fn wrong_digits(right: &str) -> &'static str {
    if right == "000000" { "111111" } else { "000000" }
}

#[test]
fn wrong_guesses_are_budgeted_per_address_across_new_codes() {
    let app = app();
    confirmed_user(&app, "ann@example.com", "s3cret-pass");
    let verify = |code: &str| post(&app, "/verify", &json!({"type": "email", "email": "ann@example.com", "token": code}));
    // Two fresh codes, five wrong guesses each: the address's ten.
    for _ in 0..2 {
        ports(&app).clock.advance_secs(61);
        assert_eq!(post(&app, "/otp", &json!({"email": "ann@example.com"})).status, 200);
        let right = code_for(&app, "ann@example.com");
        for _ in 0..5 {
            assert_eq!(error_code(&verify(wrong_digits(&right))), "otp_expired");
        }
    }
    // A third code buys no new guesses: even its right digits are refused, as any wrong code is.
    ports(&app).clock.advance_secs(61);
    assert_eq!(post(&app, "/otp", &json!({"email": "ann@example.com"})).status, 200);
    let right = code_for(&app, "ann@example.com");
    let refused = verify(&right);
    assert_eq!((refused.status.as_u16(), error_code(&refused)), (403, "otp_expired"), "{}", refused.raw);
    // Its link still works (256 random bits, nothing to guess); after the window, codes do too.
    assert_eq!(post(&app, "/verify", &json!({"type": "magiclink", "token_hash": link_token_for(&app, "ann@example.com")})).status, 200);
    ports(&app).clock.advance_secs(3600);
    assert_eq!(post(&app, "/otp", &json!({"email": "ann@example.com"})).status, 200);
    assert_eq!(verify(&code_for(&app, "ann@example.com")).status, 200);
}

#[test]
fn right_guesses_do_not_use_up_the_budget() {
    let app = app_with(&[("OTP_MAX_WRONG_PER_ADDRESS", "2"), ("SMTP_MAX_PER_ADDRESS_CLIENT", "10")]);
    confirmed_user(&app, "ann@example.com", "s3cret-pass");
    for _ in 0..5 {
        ports(&app).clock.advance_secs(61);
        assert_eq!(post(&app, "/otp", &json!({"email": "ann@example.com"})).status, 200);
        let code = code_for(&app, "ann@example.com");
        assert_eq!(post(&app, "/verify", &json!({"type": "email", "email": "ann@example.com", "token": code})).status, 200);
    }
}
