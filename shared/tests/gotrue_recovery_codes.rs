//! Recovery codes through GoTrue's `/factors/recovery-codes` API, as auth-js's
//! `mfa.recoveryCodes.*` calls it: a set of ten codes for an account with a verified factor,
//! shown once; one code raises an `aal1` session to `aal2`, once; regenerating replaces the
//! set; the set goes with the account's last other factor. And the attacks: a code replayed,
//! guessed past the budget, generated from `aal1`, used through another dialect's second step
//! without the ticket, malformed bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use serde_json::{json, Value};
use support::mfa::*;
use support::*;

type TestApp = portcullis_shared::App<portcullis_shared::testing::TestPorts>;

const PW: &str = "s3cret-pass";
const ON: &[(&str, &str)] = &[("MFA_RECOVERY_CODES_ENROLL_ENABLED", "true"), ("MFA_RECOVERY_CODES_VERIFY_ENABLED", "true")];
const PATH: &str = "/factors/recovery-codes";

/// Ann with a verified TOTP factor and a set of recovery codes: her `aal2` token, the
/// factor, and the set's body.
fn ann_with_codes(app: &TestApp) -> (String, Enrolled, Value) {
    let (aal2, f) = ann_with_factor(app);
    let token = s(&aal2, "access_token");
    let r = post_raw(app, PATH, &token, b"");
    assert_eq!(r.status, 200, "{}", r.raw);
    (token, f, r.body)
}

/// A POST with `body` as it is (auth-js sends none to generate).
fn post_raw(app: &TestApp, path: &str, token: &str, body: &[u8]) -> Reply {
    let auth = format!("Bearer {token}");
    send(app, request("POST", path, body, &[API_VERSION, JSON, ("authorization", auth.as_str())]))
}

fn codes(set: &Value) -> Vec<String> {
    set["codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect()
}

fn use_code(app: &TestApp, token: &str, code: &str) -> Reply {
    post_auth(app, &format!("{PATH}/verify"), token, &json!({"code": code}))
}

fn aal1(app: &TestApp) -> String {
    s(&login(app, "ann@example.com", PW).body, "access_token")
}

fn assert_refused(r: &Reply, status: u16, code: &str) {
    assert_eq!((r.status.as_u16(), error_code(r)), (status, code), "{}", r.raw);
}

#[test]
fn off_by_default() {
    let app = app();
    let (aal2, _) = ann_with_factor(&app);
    let token = s(&aal2, "access_token");
    assert_refused(&post_raw(&app, PATH, &token, b""), 422, "mfa_recovery_codes_enroll_not_enabled");
    assert_refused(&use_code(&app, &token, "0123456789abcdef"), 422, "mfa_recovery_codes_verify_not_enabled");
}

#[test]
fn a_set_is_ten_codes_shown_once_and_a_code_raises_a_session_once() {
    let app = app_with(ON);
    let (token, _, set) = ann_with_codes(&app);
    assert_eq!((set["type"].as_str(), set["friendly_name"].as_str(), set["total"].as_u64()), (Some("recovery_code"), Some("Recovery codes"), Some(10)));
    let all = codes(&set);
    assert_eq!(all.len(), 10);
    assert!(all.iter().all(|c| c.len() == 16 && c.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())), "{all:?}");
    let mut distinct = all.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 10);
    // The store holds none of them.
    let user_id = portcullis_shared::model::UserId::new(claims(&token)["sub"].as_str().unwrap());
    let stored = format!("{:?}", pollster::block_on(portcullis_shared::ports::Factors::of_user(&ports(&app).store, &user_id)).unwrap());
    assert!(all.iter().all(|c| !stored.contains(c.as_str())));

    let status = get(&app, PATH, Some(&token));
    assert_eq!(status.body, json!({"id": set["id"], "type": "recovery_code", "total": 10, "remaining": 10}), "{}", status.raw);
    let listed = get(&app, "/user", Some(&token)).body["factors"].clone();
    assert!(listed.as_array().unwrap().iter().any(|f| f["factor_type"] == "recovery_code" && f["status"] == "verified"), "{listed}");

    // A password session, then a code as a user types it: upper case, dashes, spaces.
    let other = aal1(&app);
    let lost = aal1(&app);
    let typed = format!(" {}-{} ", all[0][..8].to_uppercase(), &all[0][8..]);
    let r = use_code(&app, &other, &typed);
    assert_eq!(r.status, 200, "{}", r.raw);
    let raised = claims(&s(&r.body, "access_token"));
    assert_eq!(raised["aal"], "aal2");
    assert_eq!(raised["amr"][0]["method"], "mfa/recovery_code");
    assert_eq!(get(&app, PATH, Some(&token)).body["remaining"], 9);
    // The account's other aal1 sessions end, as with a factor's answer.
    assert_refused(&get(&app, "/user", Some(&lost)), 403, "session_not_found");

    // Used once: not again, from any session.
    let again = aal1(&app);
    assert_refused(&use_code(&app, &again, &all[0]), 422, "mfa_verification_failed");
    assert_eq!(use_code(&app, &again, &all[1]).status, 200);
}

#[test]
fn generating_needs_aal2_another_factor_and_no_set() {
    let app = app_with(ON);
    let plain = s(&confirmed_user(&app, "bob@example.com", PW), "access_token");
    assert_refused(&post_raw(&app, PATH, &plain, b""), 403, "insufficient_aal");
    let (token, _, _) = ann_with_codes(&app);
    assert_refused(&post_raw(&app, PATH, &token, b""), 422, "mfa_verified_factor_exists");
    assert_refused(&post_raw(&app, PATH, &aal1(&app), b""), 422, "mfa_verified_factor_exists");
    // A name is the set's own; another factor's is taken.
    let removed = call(&app, "DELETE", PATH, &Value::Null, Some(&token));
    assert_eq!(removed.status, 200, "{}", removed.raw);
    let r = post_auth(&app, PATH, &token, &json!({"friendly_name": "phone app"}));
    assert_refused(&r, 422, "mfa_factor_name_conflict");
    let r = post_auth(&app, PATH, &token, &json!({"friendly_name": "Backup codes"}));
    assert_eq!((r.status.as_u16(), r.body["friendly_name"].as_str()), (200, Some("Backup codes")), "{}", r.raw);
    assert_refused(&post_raw(&app, PATH, &aal1(&app), b""), 422, "mfa_verified_factor_exists");
    // From aal1, nothing else either: no regenerate, no removal.
    let low = aal1(&app);
    assert_refused(&post_raw(&app, &format!("{PATH}/regenerate"), &low, b""), 403, "insufficient_aal");
    assert_refused(&call(&app, "DELETE", PATH, &Value::Null, Some(&low)), 403, "insufficient_aal");
    // Recovery codes are not enrolled, challenged or verified as a factor.
    assert_refused(&post_auth(&app, "/factors", &token, &json!({"factor_type": "recovery_code"})), 400, "validation_failed");
    let set_id = s(&r.body, "id");
    assert_refused(&post_auth(&app, &format!("/factors/{set_id}/challenge"), &token, &json!({})), 400, "validation_failed");
}

#[test]
fn regenerating_replaces_every_code() {
    let app = app_with(ON);
    let (token, _, set) = ann_with_codes(&app);
    let old = codes(&set);
    let r = post_raw(&app, &format!("{PATH}/regenerate"), &token, b"");
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["id"], set["id"]);
    let new = codes(&r.body);
    assert!(new.iter().all(|c| !old.contains(c)));
    assert_refused(&use_code(&app, &aal1(&app), &old[3]), 422, "mfa_verification_failed");
    assert_eq!(use_code(&app, &aal1(&app), &new[3]).status, 200);
    let bob = s(&ann_with_factor_named(&app, "bob@example.com").0, "access_token");
    assert_refused(&post_raw(&app, &format!("{PATH}/regenerate"), &bob, b""), 404, "mfa_factor_not_found");
    assert_refused(&get(&app, PATH, Some(&bob)), 404, "mfa_factor_not_found");
}

/// Like `ann_with_factor`, for another address.
fn ann_with_factor_named(app: &TestApp, email: &str) -> (Value, Enrolled) {
    let token = s(&confirmed_user(app, email, PW), "access_token");
    let f = enroll(app, &token, "app");
    let c = challenge(app, &token, &f.id);
    let r = verify(app, &token, &f.id, &c, &code_now(app, &f.secret, 0));
    assert_eq!(r.status, 200, "{}", r.raw);
    (r.body, f)
}

#[test]
fn the_set_goes_with_the_last_other_factor_and_its_sessions_come_down() {
    let app = app_with(ON);
    let (token, f, set) = ann_with_codes(&app);
    let low = aal1(&app);
    let raised = use_code(&app, &low, &codes(&set)[0]);
    assert_eq!(raised.status, 200, "{}", raised.raw);
    let gone = call(&app, "DELETE", &format!("/factors/{}", f.id), &Value::Null, Some(&token));
    assert_eq!(gone.status, 200, "{}", gone.raw);
    let after = get(&app, "/user", Some(&token));
    assert_eq!(after.body["factors"], Value::Null, "{}", after.raw);
    let refreshed = refresh(&app, &s(&raised.body, "refresh_token"));
    assert_eq!(claims(&s(&refreshed.body, "access_token"))["aal"], "aal1", "{}", refreshed.raw);
    // No factor left: the password is enough everywhere again.
    let feathers = post(&app, "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": PW}));
    assert_eq!(feathers.status, 201, "{}", feathers.raw);
}

#[test]
fn wrong_codes_lock_the_set_for_a_while() {
    let app = app_with(&[ON[0], ON[1], ("OTP_MAX_WRONG_PER_ADDRESS", "3")]);
    let (_, _, set) = ann_with_codes(&app);
    let low = aal1(&app);
    for _ in 0..3 {
        assert_refused(&use_code(&app, &low, "aaaaaaaaaaaaaaaa"), 422, "mfa_verification_failed");
    }
    // Even the right code, once the budget is spent.
    assert_refused(&use_code(&app, &low, &codes(&set)[0]), 429, "mfa_recovery_codes_locked");
    ports(&app).clock.advance_secs(3601);
    let low = aal1(&app);
    assert_eq!(use_code(&app, &low, &codes(&set)[0]).status, 200);
}

#[test]
fn another_dialects_second_step_takes_a_recovery_code_with_its_ticket() {
    let app = app_with(ON);
    let (_, _, set) = ann_with_codes(&app);
    let first = post(&app, "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": PW}));
    assert_eq!(first.status, 401, "{}", first.raw);
    let listed = first.body["data"]["factors"].as_array().unwrap();
    assert!(listed.iter().any(|f| f["id"] == set["id"] && f["type"] == "recovery_code"), "{}", first.raw);
    let ticket = s(&first.body["data"], "ticket");
    let code = &codes(&set)[0];
    let step = |code: &str| post(&app, "/authentication", &json!({"strategy": "totp", "ticket": ticket, "code": code, "factorId": set["id"]}));
    let wrong = step("aaaaaaaaaaaaaaaa");
    assert_eq!((wrong.status.as_u16(), wrong.body["message"].as_str()), (401, Some("Invalid recovery code")), "{}", wrong.raw);
    let done = step(code);
    assert_eq!(done.status, 201, "{}", done.raw);
    assert!(done.body["accessToken"].is_string());
    // Without the code's set named, a code is a TOTP code.
    let again = post(&app, "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": PW}));
    let ticket = s(&again.body["data"], "ticket");
    let r = post(&app, "/authentication", &json!({"strategy": "totp", "ticket": ticket, "code": &codes(&set)[1]}));
    assert_eq!(r.status, 401, "{}", r.raw);
    // And a used code is used everywhere.
    assert_refused(&use_code(&app, &aal1(&app), code), 422, "mfa_verification_failed");
}

#[test]
fn malformed_bodies_get_a_4xx_never_a_5xx() {
    let app = app_with(ON);
    let (token, _, _) = ann_with_codes(&app);
    let low = aal1(&app);
    let verify = format!("{PATH}/verify");
    for (path, body) in [
        (verify.as_str(), &b"{not json"[..]),
        (verify.as_str(), br#"{"code": 12345}"#),
        (verify.as_str(), br#"["code"]"#),
        (PATH, br#"{"friendly_name": 7}"#),
        (PATH, b"{"),
    ] {
        let r = post_raw(&app, path, &low, body);
        assert_eq!(r.status, 400, "{path} {}: {}", String::from_utf8_lossy(body), r.raw);
    }
    assert_refused(&use_code(&app, &low, ""), 422, "mfa_verification_failed");
    assert_refused(&post_raw(&app, &verify, &low, b"{}"), 422, "mfa_verification_failed");
    assert_refused(&use_code(&app, &low, &"a".repeat(10_000)), 422, "mfa_verification_failed");
    let regenerated = post_auth(&app, &format!("{PATH}/regenerate"), &token, &json!({}));
    assert_eq!(regenerated.status, 200, "{}", regenerated.raw);
    call(&app, "DELETE", PATH, &Value::Null, Some(&token));
    assert_refused(&post_auth(&app, PATH, &token, &json!({"friendly_name": "x".repeat(300)})), 400, "validation_failed");
    assert_refused(&get(&app, PATH, None), 401, "no_authorization");
}
