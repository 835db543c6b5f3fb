//! GoTrue's PKCE flow (`flowType: 'pkce'`) through the app with a fixed clock: a mail asked for
//! with a code challenge carries a `pkce_` link, following it redirects with `?code=`, and only
//! the challenge's verifier exchanges that code, once, within five minutes, for a session.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::Digest as _;
use support::*;

const VERIFIER: &str = "a-verifier-of-forty-three-or-more-characters-0123456789";
const CALLBACK: &str = "http://localhost:3000/auth/callback";

fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

fn pkce(body: Value) -> Value {
    let mut body = body;
    body["code_challenge"] = json!(s256(VERIFIER));
    body["code_challenge_method"] = json!("s256");
    body
}

fn redirect_query() -> String {
    let target: String = form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect();
    format!("redirect_to={target}")
}

/// Follows the latest link mailed to `to`; returns the redirect.
fn follow(app: &portcullis_shared::App<portcullis_shared::testing::TestPorts>, to: &str, kind: &str) -> String {
    let token = link_token_for(app, to);
    let r = send(app, request("GET", &format!("/auth/v1/verify?token={token}&type={kind}&{}", redirect_query()), b"", &[]));
    assert_eq!(r.status, 303, "{}", r.raw);
    r.headers["location"].to_str().unwrap().to_string()
}

fn code_in(location: &str) -> String {
    let query = location.strip_prefix(&format!("{CALLBACK}?")).unwrap_or_else(|| panic!("no query: {location}"));
    assert!(!location.contains('#'), "a PKCE redirect carries no fragment: {location}");
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).expect("a code")
}

fn exchange(app: &portcullis_shared::App<portcullis_shared::testing::TestPorts>, code: &str, verifier: &str) -> Reply {
    post(app, "/token?grant_type=pkce", &json!({"auth_code": code, "code_verifier": verifier}))
}

#[test]
fn a_pkce_sign_up_link_redirects_with_a_code_that_the_verifier_exchanges_once() {
    let app = app();
    let r = post(&app, &format!("/signup?{}", redirect_query()), &pkce(json!({"email": "ann@example.com", "password": "s3cret-pass"})));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert!(r.body.get("access_token").is_none(), "no session before the mailbox is proven");
    assert!(link_token_for(&app, "ann@example.com").starts_with("pkce_"), "upstream's mark of a PKCE link");

    let location = follow(&app, "ann@example.com", "signup");
    let code = code_in(&location);
    assert!(!location.contains("access_token"), "the session does not travel in the redirect");

    let session = exchange(&app, &code, VERIFIER);
    assert_eq!(session.status, 200, "{}", session.raw);
    assert_eq!(session.body["token_type"], "bearer");
    assert_eq!(session.body["user"]["email"], "ann@example.com");
    assert!(session.body["user"]["email_confirmed_at"].is_string(), "the link confirmed the address");
    let me = get(&app, "/user", session.body["access_token"].as_str());
    assert_eq!(me.status, 200, "{}", me.raw);
    // The password the sign-up set is the account's.
    assert_eq!(login(&app, "ann@example.com", "s3cret-pass").status, 200);

    let again = exchange(&app, &code, VERIFIER);
    assert_eq!((again.status.as_u16(), error_code(&again)), (404, "flow_state_not_found"), "{}", again.raw);
    assert_eq!(again.body["message"], "invalid flow state, no valid flow state found");
}

#[test]
fn a_wrong_verifier_is_refused_and_uses_the_code_up() {
    let app = app();
    post(&app, "/signup", &pkce(json!({"email": "ann@example.com", "password": "s3cret-pass"})));
    let code = code_in(&follow(&app, "ann@example.com", "signup"));
    // Another client's verifier, or the challenge itself.
    for wrong in ["another-verifier-of-forty-three-or-more-characters-x", &s256(VERIFIER)] {
        let r = exchange(&app, &code, wrong);
        assert!(r.status.is_client_error(), "{}", r.raw);
    }
    let first = {
        post(&app, "/recover", &pkce(json!({"email": "ann@example.com"})));
        code_in(&follow(&app, "ann@example.com", "recovery"))
    };
    let r = exchange(&app, &first, "another-verifier-of-forty-three-or-more-characters-x");
    assert_eq!((r.status.as_u16(), error_code(&r)), (400, "bad_code_verifier"), "{}", r.raw);
    assert_eq!(r.body["message"], "code challenge does not match previously saved code verifier");
    let late = exchange(&app, &first, VERIFIER);
    assert_eq!((late.status.as_u16(), error_code(&late)), (404, "flow_state_not_found"), "one try per code");
    assert_eq!(exchange(&app, &code, VERIFIER).status, 404);
}

#[test]
fn an_auth_code_lives_five_minutes_from_the_link() {
    let app = app();
    post(&app, "/signup", &pkce(json!({"email": "ann@example.com", "password": "s3cret-pass"})));
    // The link may be followed any time the mailed code lives (`OTP_EXP`, ten minutes); the
    // auth code then has five minutes.
    ports(&app).clock.advance_secs(590);
    let code = code_in(&follow(&app, "ann@example.com", "signup"));
    ports(&app).clock.advance_secs(300);
    let r = exchange(&app, &code, VERIFIER);
    assert_eq!((r.status.as_u16(), error_code(&r)), (422, "flow_state_expired"), "{}", r.raw);
    assert_eq!(r.body["message"], "invalid flow state, flow state has expired");
    assert_eq!(exchange(&app, &code, VERIFIER).status, 404, "an expired code is gone");

    post(&app, "/otp", &pkce(json!({"email": "ann@example.com"})));
    let code = code_in(&follow(&app, "ann@example.com", "magiclink"));
    ports(&app).clock.advance_secs(299);
    assert_eq!(exchange(&app, &code, VERIFIER).status, 200);
}

#[test]
fn recovery_magic_link_and_resend_links_follow_pkce_and_plain_and_upper_case_methods_work() {
    let app = app();
    confirmed_user(&app, "ann@example.com", "s3cret-pass");
    post(&app, "/recover", &pkce(json!({"email": "ann@example.com"})));
    let session = exchange(&app, &code_in(&follow(&app, "ann@example.com", "recovery")), VERIFIER);
    assert_eq!(session.status, 200, "{}", session.raw);
    let token = session.body["access_token"].as_str().unwrap();
    let changed = put(&app, "/user", token, &json!({"password": "a new s3cret"}));
    assert_eq!(changed.status, 200, "a recovery session sets the password: {}", changed.raw);
    assert_eq!(login(&app, "ann@example.com", "a new s3cret").status, 200);

    ports(&app).clock.advance_secs(61);
    let plain = json!({"email": "ann@example.com", "code_challenge": VERIFIER, "code_challenge_method": "plain"});
    assert_eq!(post(&app, "/otp", &plain).status, 200);
    assert_eq!(exchange(&app, &code_in(&follow(&app, "ann@example.com", "magiclink")), VERIFIER).status, 200);

    let upper = json!({"email": "bob@example.com", "password": "s3cret-pass", "code_challenge": s256(VERIFIER), "code_challenge_method": "S256"});
    assert_eq!(post(&app, "/signup", &upper).status, 200);
    ports(&app).clock.advance_secs(61);
    // The re-sent link keeps the sign-up's challenge.
    assert_eq!(post(&app, "/resend", &json!({"type": "signup", "email": "bob@example.com"})).status, 200);
    assert_eq!(exchange(&app, &code_in(&follow(&app, "bob@example.com", "signup")), VERIFIER).status, 200);
}

#[test]
fn a_pkce_email_change_confirmed_on_both_addresses_ends_with_a_code_for_the_new_address() {
    let app = app();
    let s = confirmed_user(&app, "ann@example.com", "s3cret-pass");
    let token = s["access_token"].as_str().unwrap();
    let r = put(&app, &format!("/user?{}", redirect_query()), token, &pkce(json!({"email": "ann@new.example"})));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["new_email"], "ann@new.example");
    let first = follow(&app, "ann@example.com", "email_change");
    assert!(first.contains("message=Confirmation+link+accepted"), "{first}");
    let code = code_in(&follow(&app, "ann@new.example", "email_change"));
    let session = exchange(&app, &code, VERIFIER);
    assert_eq!(session.status, 200, "{}", session.raw);
    assert_eq!(session.body["user"]["email"], "ann@new.example");
}

#[test]
fn a_pkce_token_hash_posted_to_verify_signs_in_as_upstream_does() {
    let app = app();
    post(&app, "/signup", &pkce(json!({"email": "ann@example.com", "password": "s3cret-pass"})));
    let token_hash = link_token_for(&app, "ann@example.com");
    let r = post(&app, "/verify", &json!({"type": "signup", "token_hash": token_hash}));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert!(r.body["access_token"].is_string());
}

#[test]
fn a_bad_pkce_link_redirects_with_the_error_in_the_query_and_the_fragment() {
    let app = app();
    post(&app, "/signup", &pkce(json!({"email": "ann@example.com", "password": "s3cret-pass"})));
    let token = link_token_for(&app, "ann@example.com");
    let path = format!("/auth/v1/verify?token={token}&type=signup&{}", redirect_query());
    assert_eq!(send(&app, request("GET", &path, b"", &[])).status, 303);
    let again = send(&app, request("GET", &path, b"", &[]));
    let location = again.headers["location"].to_str().unwrap();
    let error = "error=access_denied&error_code=otp_expired&error_description=Email+link+is+invalid+or+has+expired";
    assert_eq!(location, format!("{CALLBACK}?{error}#{error}"));
}

#[test]
fn bad_pkce_parameters_are_400_and_change_nothing() {
    let app = app();
    confirmed_user(&app, "ann@example.com", "s3cret-pass");
    let session = login(&app, "ann@example.com", "s3cret-pass");
    let token = session.body["access_token"].as_str().unwrap().to_string();
    let mails = sent_mails(&app).len();
    let good = s256(VERIFIER);
    let cases: Vec<(Value, &str)> = vec![
        (json!({"code_challenge": good}), "PKCE flow requires code_challenge_method and code_challenge"),
        (json!({"code_challenge_method": "s256"}), "PKCE flow requires code_challenge_method and code_challenge"),
        (json!({"code_challenge": "short", "code_challenge_method": "s256"}), "code challenge has to be between 43 and 128 characters"),
        (json!({"code_challenge": "x".repeat(129), "code_challenge_method": "s256"}), "code challenge has to be between 43 and 128 characters"),
        (
            json!({"code_challenge": format!("{good}+/="), "code_challenge_method": "s256"}),
            "code challenge can only contain alphanumeric characters, hyphens, periods, underscores and tildes",
        ),
        (json!({"code_challenge": good, "code_challenge_method": "S512"}), "Invalid code_challenge_method"),
    ];
    for (params, message) in &cases {
        let with = |base: Value| {
            let mut b = base;
            for (k, v) in params.as_object().unwrap() {
                b[k] = v.clone();
            }
            b
        };
        let replies = [
            post(&app, "/signup", &with(json!({"email": "new@example.com", "password": "s3cret-pass"}))),
            post(&app, "/otp", &with(json!({"email": "ann@example.com"}))),
            post(&app, "/recover", &with(json!({"email": "ann@example.com"}))),
            post(&app, "/resend", &with(json!({"type": "signup", "email": "ann@example.com"}))),
            put(&app, "/user", &token, &with(json!({"email": "moved@example.com"}))),
        ];
        for r in replies {
            assert_eq!((r.status.as_u16(), error_code(&r)), (400, "validation_failed"), "{params}: {}", r.raw);
            assert_eq!(r.body["message"], *message, "{params}");
        }
    }
    for bad in [json!({"code_challenge": 5, "code_challenge_method": "s256"}), json!({"code_challenge": good, "code_challenge_method": ["s256"]})] {
        let mut body = bad;
        body["email"] = json!("new@example.com");
        body["password"] = json!("s3cret-pass");
        let r = post(&app, "/signup", &body);
        assert_eq!((r.status.as_u16(), error_code(&r)), (400, "bad_json"), "{}", r.raw);
    }
    assert_eq!(sent_mails(&app).len(), mails, "nothing was mailed");
    assert_eq!(ports(&app).store.all_users().len(), 1, "no account was created");
    assert_eq!(get(&app, "/user", Some(&token)).body["email"], "ann@example.com", "the address did not move");
}

#[test]
fn bad_pkce_grants_are_400_or_404_never_a_session() {
    let app = app();
    let raw = |body: &[u8]| send(&app, request("POST", "/token?grant_type=pkce", body, &[API_VERSION, JSON]));
    let r = raw(b"{\"auth_code\": ");
    assert_eq!((r.status.as_u16(), error_code(&r)), (400, "bad_json"), "{}", r.raw);
    for body in [json!({}), json!({"auth_code": "x"}), json!({"code_verifier": VERIFIER}), json!({"auth_code": "", "code_verifier": ""})] {
        let r = post(&app, "/token?grant_type=pkce", &body);
        assert_eq!((r.status.as_u16(), error_code(&r)), (400, "validation_failed"), "{body}: {}", r.raw);
        assert_eq!(r.body["message"], "invalid request: both auth code and code verifier should be non-empty");
    }
    for body in [json!({"auth_code": 1, "code_verifier": VERIFIER}), json!({"auth_code": "x", "code_verifier": {"a": 1}})] {
        let r = post(&app, "/token?grant_type=pkce", &body);
        assert_eq!((r.status.as_u16(), error_code(&r)), (400, "bad_json"), "{body}: {}", r.raw);
    }
    let long = exchange(&app, &"x".repeat(60_000), VERIFIER);
    assert_eq!((long.status.as_u16(), error_code(&long)), (404, "flow_state_not_found"), "{}", long.raw);
    let unknown = exchange(&app, "7f0f3b5e-2f4e-4a47-9d59-0d7a3c1b6e10", VERIFIER);
    assert_eq!(unknown.status, 404);
}

#[test]
fn without_a_challenge_links_still_bring_the_session_in_the_fragment() {
    let app = app();
    post(&app, "/signup", &json!({"email": "ann@example.com", "password": "s3cret-pass", "code_challenge": null, "code_challenge_method": null}));
    assert!(!link_token_for(&app, "ann@example.com").starts_with("pkce_"));
    let location = follow(&app, "ann@example.com", "signup");
    assert!(location.starts_with(&format!("{CALLBACK}#access_token=")), "{location}");
}

const STRANGER: &str = "a-strangers-verifier-of-forty-three-or-more-characters-99";

fn with_challenge(verifier: &str, body: Value) -> Value {
    let mut body = body;
    body["code_challenge"] = json!(s256(verifier));
    body["code_challenge_method"] = json!("s256");
    body
}

#[test]
fn a_strangers_challenge_on_the_owners_mail_gives_the_stranger_nothing_once_the_owners_page_tried() {
    let app = app();
    confirmed_user(&app, "ann@example.com", "ann's password");
    // The stranger asks for a recovery mail to Ann with the stranger's own challenge.
    post(&app, "/recover", &with_challenge(STRANGER, json!({"email": "ann@example.com"})));
    let code = code_in(&follow(&app, "ann@example.com", "recovery"));
    // Ann's page holds no verifier for it; auth-js sends an empty one. That spends the code.
    let mine = post(&app, "/token?grant_type=pkce", &json!({"auth_code": code, "code_verifier": ""}));
    assert_eq!((mine.status.as_u16(), error_code(&mine)), (400, "validation_failed"), "{}", mine.raw);
    let stolen = exchange(&app, &code, STRANGER);
    assert_eq!(stolen.status, 404, "a code seen by a page without its verifier is gone: {}", stolen.raw);
    let missing = post(&app, "/token?grant_type=pkce", &json!({"auth_code": "x"}));
    assert_eq!(missing.status, 400);
}

#[test]
fn a_pending_auth_code_dies_with_a_logout_everywhere_or_a_password_change() {
    let app = app();
    let s = confirmed_user(&app, "ann@example.com", "ann's password");
    let token = s["access_token"].as_str().unwrap().to_string();
    post(&app, "/otp", &with_challenge(STRANGER, json!({"email": "ann@example.com"})));
    let before_logout = code_in(&follow(&app, "ann@example.com", "magiclink"));
    assert_eq!(post_auth(&app, "/logout?scope=global", &token, &json!({})).status, 204);
    assert_eq!(exchange(&app, &before_logout, STRANGER).status, 404, "logout everywhere discards it");

    let again = login(&app, "ann@example.com", "ann's password").body;
    ports(&app).clock.advance_secs(61);
    post(&app, "/otp", &with_challenge(STRANGER, json!({"email": "ann@example.com"})));
    let before_change = code_in(&follow(&app, "ann@example.com", "magiclink"));
    let changed = put(&app, "/user", again["access_token"].as_str().unwrap(), &json!({"password": "a brand new password"}));
    assert_eq!(changed.status, 200, "{}", changed.raw);
    assert_eq!(exchange(&app, &before_change, STRANGER).status, 404, "a password change discards it");
}

#[test]
fn a_strangers_resend_neither_rebinds_nor_strips_the_owners_challenge() {
    for strangers in [Some(STRANGER), None] {
        let app = app();
        post(&app, "/signup", &pkce(json!({"email": "ann@example.com", "password": "s3cret-pass"})));
        ports(&app).clock.advance_secs(61);
        let body = match strangers {
            Some(v) => with_challenge(v, json!({"type": "signup", "email": "ann@example.com"})),
            None => json!({"type": "signup", "email": "ann@example.com"}),
        };
        assert_eq!(post(&app, "/resend", &body).status, 200);
        let location = follow(&app, "ann@example.com", "signup");
        assert!(!location.contains("access_token"), "no session in the redirect: {location}");
        let session = exchange(&app, &code_in(&location), VERIFIER);
        assert_eq!(session.status, 200, "the owner's verifier still exchanges it: {}", session.raw);
    }
}

#[test]
fn a_redirect_that_no_location_can_carry_or_that_brings_its_own_code_is_not_used() {
    let app = app();
    post(&app, "/signup", &pkce(json!({"email": "ann@example.com", "password": "s3cret-pass"})));
    let token = link_token_for(&app, "ann@example.com");
    let crlf = send(&app, request("GET", &format!("/auth/v1/verify?token={token}&type=signup&redirect_to=http%3A%2F%2Flocalhost%3A3000%2Fcb%0D%0Ax%3A%20y"), b"", &[]));
    assert_eq!(crlf.status, 303, "{}", crlf.raw);
    let location = crlf.headers["location"].to_str().unwrap();
    assert!(location.starts_with("http://localhost:3000?code="), "the site instead: {location}");

    post(&app, "/signup", &pkce(json!({"email": "bob@example.com", "password": "s3cret-pass"})));
    let token = link_token_for(&app, "bob@example.com");
    let planted = send(&app, request("GET", &format!("/auth/v1/verify?token={token}&type=signup&redirect_to=http%3A%2F%2Flocalhost%3A3000%2Fcb%3Fcode%3DEVIL%26next%3D%2Fhome"), b"", &[]));
    let location = planted.headers["location"].to_str().unwrap();
    assert!(location.starts_with("http://localhost:3000/cb?next=/home&code="), "{location}");
    assert!(!location.contains("EVIL"), "{location}");
}
