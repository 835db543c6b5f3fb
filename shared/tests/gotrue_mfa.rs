//! Second factors through GoTrue's MFA API, as auth-js's `mfa.*` calls it: enrolling a TOTP
//! factor, answering a challenge (the session goes to `aal2`), what an `aal1` session of such
//! an account may no longer do, and the attacks: replayed codes, guessing, challenges answered
//! twice or from elsewhere, and a password alone in the other dialects.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use serde_json::{json, Value};
use support::mfa::*;
use support::*;

const PW: &str = "s3cret-pass";

#[test]
fn enrolling_answers_the_secret_its_uri_and_a_qr_code_and_lists_the_factor_unverified() {
    let app = app();
    let ann = confirmed_user(&app, "ann@example.com", PW);
    let token = s(&ann, "access_token");
    let r = post_auth(&app, "/factors", &token, &json!({"factor_type": "totp"}));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["type"], "totp");
    assert_eq!(r.body["friendly_name"], "");
    let secret = r.body["totp"]["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32);
    assert_eq!(
        r.body["totp"]["uri"],
        format!("otpauth://totp/localhost:3000:ann@example.com?algorithm=SHA1&digits=6&issuer=localhost:3000&period=30&secret={secret}")
    );
    let qr = r.body["totp"]["qr_code"].as_str().unwrap();
    assert!(qr.starts_with("<svg") && qr.ends_with("</svg>"), "{qr}");
    let user = get(&app, "/user", Some(&token));
    let factors = user.body["factors"].as_array().unwrap();
    assert_eq!(factors.len(), 1);
    assert_eq!(factors[0]["id"], r.body["id"]);
    assert_eq!((factors[0]["status"].as_str(), factors[0]["factor_type"].as_str()), (Some("unverified"), Some("totp")));
    assert!(factors[0].get("friendly_name").is_none(), "an empty name is left out, as upstream");
    // The secret is sealed at rest: the store holds neither it nor its bytes.
    let user_id = portcullis_shared::model::UserId::new(s(&ann["user"], "id"));
    let stored = pollster::block_on(portcullis_shared::ports::Factors::of_user(&ports(&app).store, &user_id)).unwrap();
    let sealed = &stored[0].sealed_secret;
    assert!(!sealed.contains(secret) && sealed.starts_with("v1."), "{sealed}");
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
    assert!(!raw.windows(20).any(|w| w == unbase32(secret).as_slice()), "the raw secret is not in the sealed bytes");
    let issuer = post_auth(&app, "/factors", &token, &json!({"factor_type": "totp", "friendly_name": "work", "issuer": "Acme Corp"}));
    assert!(issuer.body["totp"]["uri"].as_str().unwrap().starts_with("otpauth://totp/Acme%20Corp:ann@example.com?"));
}

#[test]
fn a_right_code_raises_the_session_to_aal2_and_a_replayed_one_fails() {
    let app = app();
    let ann = confirmed_user(&app, "ann@example.com", PW);
    let token = s(&ann, "access_token");
    assert_eq!(claims(&token)["aal"], "aal1");
    let other = login(&app, "ann@example.com", PW).body;
    let f = enroll(&app, &token, "phone app");
    let c = challenge(&app, &token, &f.id);
    let wrong = verify(&app, &token, &f.id, &c, "000000");
    assert_eq!((wrong.status.as_u16(), error_code(&wrong)), (422, "mfa_verification_failed"), "{}", wrong.raw);
    assert_eq!(wrong.body["message"], "Invalid TOTP code entered");
    let code = code_now(&app, &f.secret, 0);
    let r = verify(&app, &token, &f.id, &c, &code);
    assert_eq!(r.status, 200, "{}", r.raw);
    let raised = claims(r.body["access_token"].as_str().unwrap());
    assert_eq!(raised["aal"], "aal2");
    assert_eq!(raised["session_id"], claims(&token)["session_id"], "the same session, raised");
    assert_eq!(raised["amr"][0]["method"], "totp");
    assert_eq!(raised["amr"][1]["method"], "otp", "then how the session began: the sign-up's code");
    assert_eq!(r.body["user"]["factors"][0]["status"], "verified");
    // The session's aal1 refresh token is gone; the new one keeps aal2.
    assert_eq!(error_code(&refresh(&app, &s(&ann, "refresh_token"))), "refresh_token_not_found");
    let refreshed = refresh(&app, &s(&r.body, "refresh_token"));
    assert_eq!(claims(refreshed.body["access_token"].as_str().unwrap())["aal"], "aal2");
    // The account's other aal1 session ended.
    assert_eq!(error_code(&get(&app, "/user", Some(&s(&other, "access_token")))), "session_not_found");
    // The same code, on a fresh challenge, fails: a code is single use.
    let aal2 = s(&r.body, "access_token");
    let again = verify(&app, &aal2, &f.id, &challenge(&app, &aal2, &f.id), &code);
    assert_eq!(error_code(&again), "mfa_verification_failed", "{}", again.raw);
    // So does the code of the step before it.
    let older = verify(&app, &aal2, &f.id, &challenge(&app, &aal2, &f.id), &code_now(&app, &f.secret, -1));
    assert_eq!(error_code(&older), "mfa_verification_failed", "{}", older.raw);
    // A challenge answered once takes no second answer.
    let twice = verify(&app, &aal2, &f.id, &c, &code_now(&app, &f.secret, 1));
    assert_eq!(error_code(&twice), "mfa_ip_address_mismatch", "{}", twice.raw);
}

#[test]
fn an_aal1_session_of_an_account_with_a_factor_may_not_change_its_way_in() {
    let app = app();
    let (_, f) = ann_with_factor(&app);
    let aal1 = login(&app, "ann@example.com", PW).body;
    let token = s(&aal1, "access_token");
    assert_eq!(claims(&token)["aal"], "aal1");
    assert_eq!(aal1["user"]["factors"][0]["status"], "verified", "auth-js reads nextLevel from these");
    let pw = put(&app, "/user", &token, &json!({"password": "another-pass"}));
    assert_eq!((pw.status.as_u16(), error_code(&pw)), (401, "insufficient_aal"), "{}", pw.raw);
    let mail = put(&app, "/user", &token, &json!({"email": "new@example.com"}));
    assert_eq!((mail.status.as_u16(), error_code(&mail)), (401, "insufficient_aal"), "{}", mail.raw);
    let meta = put(&app, "/user", &token, &json!({"data": {"theme": "dark"}}));
    assert_eq!(meta.status, 200, "metadata needs no second factor: {}", meta.raw);
    let more = post_auth(&app, "/factors", &token, &json!({"factor_type": "totp", "friendly_name": "second"}));
    assert_eq!((more.status.as_u16(), error_code(&more)), (403, "insufficient_aal"), "{}", more.raw);
    let gone = call(&app, "DELETE", &format!("/factors/{}", f.id), &Value::Null, Some(&token));
    assert_eq!((gone.status.as_u16(), error_code(&gone)), (422, "insufficient_aal"), "{}", gone.raw);
    // The second step, then the same change goes through.
    ports(&app).clock.advance_secs(30);
    let r = verify(&app, &token, &f.id, &challenge(&app, &token, &f.id), &code_now(&app, &f.secret, 0));
    assert_eq!(r.status, 200, "{}", r.raw);
    let aal2 = s(&r.body, "access_token");
    assert_eq!(put(&app, "/user", &aal2, &json!({"password": "another-pass"})).status, 200);
    let removed = call(&app, "DELETE", &format!("/factors/{}", f.id), &Value::Null, Some(&aal2));
    assert_eq!((removed.status.as_u16(), removed.body["id"].as_str()), (200, Some(f.id.as_str())), "{}", removed.raw);
    let after = login(&app, "ann@example.com", "another-pass").body;
    assert!(after["user"].get("factors").is_none(), "{after}");
}

#[test]
fn feathers_asks_for_the_second_step_and_its_totp_strategy_completes_it() {
    let app = app();
    let (_, f) = ann_with_factor(&app);
    let local = json!({"strategy": "local", "email": "ann@example.com", "password": PW});
    let first = post(&app, "/authentication", &local);
    assert_eq!((first.status.as_u16(), first.body["name"].as_str()), (401, Some("NotAuthenticated")), "{}", first.raw);
    assert_eq!(first.body["message"], "A second factor is required");
    assert_eq!(first.body["data"]["strategy"], "totp");
    assert_eq!(first.body["data"]["factors"][0]["id"], f.id.as_str());
    assert!(first.raw.find("accessToken").is_none(), "no token before the second step: {}", first.raw);
    let ticket = s(&first.body["data"], "ticket");
    let wrong = post(&app, "/authentication", &json!({"strategy": "totp", "ticket": ticket, "code": "000000"}));
    assert_eq!((wrong.status.as_u16(), wrong.body["message"].as_str()), (401, Some("Invalid TOTP code")), "{}", wrong.raw);
    ports(&app).clock.advance_secs(30);
    let done = post(&app, "/authentication", &json!({"strategy": "totp", "ticket": ticket, "code": code_now(&app, &f.secret, 0)}));
    assert_eq!(done.status, 201, "{}", done.raw);
    assert_eq!(done.body["authentication"]["strategy"], "totp");
    let token = s(&done.body, "accessToken");
    let checked = check(&app, &token);
    assert_eq!((checked.status.as_u16(), checked.body["aal"].as_str(), checked.body["dialect"].as_str()), (200, Some("aal2"), Some("feathers")));
    assert_eq!(checked.body["amr"][0]["method"], "totp");
    let jwt = post(&app, "/authentication", &json!({"strategy": "jwt", "accessToken": token}));
    assert_eq!(jwt.status, 201, "{}", jwt.raw);
    // The ticket is single use.
    ports(&app).clock.advance_secs(30);
    let again = post(&app, "/authentication", &json!({"strategy": "totp", "ticket": ticket, "code": code_now(&app, &f.secret, 0)}));
    assert_eq!((again.status.as_u16(), again.body["message"].as_str()), (401, Some("Invalid or expired ticket; sign in again")), "{}", again.raw);
    // And it expires: a ticket older than a challenge is refused.
    let late = s(&post(&app, "/authentication", &local).body["data"], "ticket");
    ports(&app).clock.advance_secs(301);
    let r = post(&app, "/authentication", &json!({"strategy": "totp", "ticket": late, "code": code_now(&app, &f.secret, 0)}));
    assert_eq!(r.body["message"], "Invalid or expired ticket; sign in again", "{}", r.raw);
    // A GoTrue refresh token is no Feathers ticket, nor the other way round.
    let gotrue = login(&app, "ann@example.com", PW).body;
    let r = post(&app, "/authentication", &json!({"strategy": "totp", "ticket": s(&gotrue, "refresh_token"), "code": "123456"}));
    assert_eq!(r.body["message"], "Invalid or expired ticket; sign in again", "{}", r.raw);
    let feathers_ticket = s(&post(&app, "/authentication", &local).body["data"], "ticket");
    assert_eq!(error_code(&refresh(&app, &feathers_ticket)), "refresh_token_not_found");
}

#[test]
fn graphql_jwt_asks_for_the_second_step_and_totp_auth_completes_it() {
    let app = app();
    let (aal2, f) = ann_with_factor(&app);
    let first = gql(&app, r#"mutation { tokenAuth(username: "ann@example.com", password: "s3cret-pass") { token } }"#, json!({}));
    let error = &first.body["errors"][0];
    assert_eq!(error["message"], "A second factor is required", "{}", first.raw);
    assert_eq!(error["extensions"]["code"], "SECOND_FACTOR_REQUIRED");
    assert!(first.body["data"]["tokenAuth"].is_null());
    let ticket = s(&error["extensions"], "ticket");
    ports(&app).clock.advance_secs(30);
    let done = gql(
        &app,
        "mutation($t: String!, $c: String!) { totpAuth(ticket: $t, code: $c) { token payload } }",
        json!({"t": ticket, "c": code_now(&app, &f.secret, 0)}),
    );
    let token = done.body["data"]["totpAuth"]["token"].as_str().unwrap_or_else(|| panic!("{}", done.raw)).to_string();
    assert_eq!(check(&app, &token).body["aal"], "aal2");
    let verified = gql(&app, "mutation($t: String!) { verifyToken(token: $t) { payload } }", json!({"t": token}));
    assert_eq!(verified.body["data"]["verifyToken"]["payload"]["username"], "ann@example.com", "{}", verified.raw);
    let replay = gql(&app, "mutation($t: String!, $c: String!) { totpAuth(ticket: $t, code: $c) { token } }", json!({"t": ticket, "c": "123456"}));
    assert_eq!(replay.body["errors"][0]["message"], "Invalid or expired ticket; sign in again", "{}", replay.raw);
    // The aal2 GoTrue session is a full one: /api/check takes it and says so.
    let checked = check(&app, &s(&aal2, "access_token"));
    assert_eq!((checked.status.as_u16(), checked.body["aal"].as_str(), checked.body["mfa_enabled"].as_bool()), (200, Some("aal2"), Some(true)));
}

#[test]
fn wrong_codes_are_budgeted_per_account_and_a_right_one_past_the_budget_waits() {
    let app = app_with(&[("OTP_MAX_WRONG_PER_ADDRESS", "3")]);
    let ann = confirmed_user(&app, "ann@example.com", PW);
    let token = s(&ann, "access_token");
    let f = enroll(&app, &token, "phone app");
    for _ in 0..3 {
        let c = challenge(&app, &token, &f.id);
        assert_eq!(error_code(&verify(&app, &token, &f.id, &c, "123456")), "mfa_verification_failed");
    }
    // A new challenge buys no new guesses; even the right code waits out the window.
    let c = challenge(&app, &token, &f.id);
    let r = verify(&app, &token, &f.id, &c, &code_now(&app, &f.secret, 0));
    assert_eq!((r.status.as_u16(), error_code(&r)), (429, "over_request_rate_limit"), "{}", r.raw);
    ports(&app).clock.advance_secs(3600);
    let c = challenge(&app, &token, &f.id);
    assert_eq!(verify(&app, &token, &f.id, &c, &code_now(&app, &f.secret, 0)).status, 200);
}

#[test]
fn a_challenge_expires_and_is_answered_only_from_where_it_was_asked() {
    let app = app();
    let ann = confirmed_user(&app, "ann@example.com", PW);
    let token = s(&ann, "access_token");
    let f = enroll(&app, &token, "");
    let c = challenge(&app, &token, &f.id);
    ports(&app).clock.advance_secs(301);
    let late = verify(&app, &token, &f.id, &c, &code_now(&app, &f.secret, 0));
    assert_eq!((late.status.as_u16(), error_code(&late)), (422, "mfa_challenge_expired"), "{}", late.raw);
    // Asked for from one address, answered from another.
    let auth = format!("Bearer {token}");
    let asked = send(&app, request("POST", &format!("/factors/{}/challenge", f.id), b"{}", &[API_VERSION, JSON, ("authorization", &auth), ("cf-connecting-ip", "203.0.113.9")]));
    let body = json!({"challenge_id": s(&asked.body, "id"), "code": code_now(&app, &f.secret, 0)}).to_string();
    let elsewhere = send(&app, request("POST", &format!("/factors/{}/verify", f.id), body.as_bytes(), &[API_VERSION, JSON, ("authorization", &auth), ("cf-connecting-ip", "198.51.100.7")]));
    assert_eq!(error_code(&elsewhere), "mfa_ip_address_mismatch", "{}", elsewhere.raw);
    // Someone else's challenge and factor are not found.
    let bob = confirmed_user(&app, "bob@example.com", PW);
    let bob_token = s(&bob, "access_token");
    let r = verify(&app, &bob_token, &f.id, &c, "123456");
    assert_eq!((r.status.as_u16(), error_code(&r)), (404, "mfa_factor_not_found"), "{}", r.raw);
    let bob_factor = enroll(&app, &bob_token, "");
    let r = verify(&app, &bob_token, &bob_factor.id, &c, "123456");
    assert_eq!((r.status.as_u16(), error_code(&r)), (422, "mfa_factor_not_found"), "{}", r.raw);
}

#[test]
fn bad_requests_get_upstreams_answers() {
    let app = app_with(&[("EXTERNAL_ANONYMOUS_USERS_ENABLED", "true"), ("MFA_MAX_ENROLLED_FACTORS", "2")]);
    let ann = confirmed_user(&app, "ann@example.com", PW);
    let token = s(&ann, "access_token");
    assert_eq!(error_code(&call(&app, "POST", "/factors", &json!({"factor_type": "totp"}), None)), "no_authorization");
    let bad_json = send(&app, request("POST", "/factors", b"{\"factor_type\":", &[API_VERSION, JSON, ("authorization", &format!("Bearer {token}"))]));
    assert_eq!((bad_json.status.as_u16(), error_code(&bad_json)), (400, "bad_json"));
    assert_eq!(error_code(&post_auth(&app, "/factors", &token, &json!({"factor_type": 5}))), "bad_json");
    assert_eq!(error_code(&post_auth(&app, "/factors", &token, &json!({"factor_type": "totp", "friendly_name": ["x"]}))), "bad_json");
    let none = post_auth(&app, "/factors", &token, &json!({}));
    assert_eq!((none.status.as_u16(), error_code(&none)), (400, "validation_failed"));
    let sms = post_auth(&app, "/factors", &token, &json!({"factor_type": "sms"}));
    assert_eq!(sms.body["message"], "factor_type needs to be totp, phone, or webauthn");
    for (kind, code) in [("phone", "mfa_phone_enroll_not_enabled"), ("webauthn", "mfa_webauthn_enroll_not_enabled")] {
        assert_eq!(error_code(&post_auth(&app, "/factors", &token, &json!({"factor_type": kind}))), code);
    }
    let long = post_auth(&app, "/factors", &token, &json!({"factor_type": "totp", "friendly_name": "x".repeat(300)}));
    assert_eq!((long.status.as_u16(), error_code(&long)), (400, "validation_failed"), "{}", long.raw);
    enroll(&app, &token, "one");
    let twin = post_auth(&app, "/factors", &token, &json!({"factor_type": "totp", "friendly_name": "one"}));
    assert_eq!((twin.status.as_u16(), error_code(&twin)), (422, "mfa_factor_name_conflict"));
    assert_eq!(twin.body["message"], "A factor with the friendly name \"one\" for this user already exists");
    let f = enroll(&app, &token, "two");
    let third = post_auth(&app, "/factors", &token, &json!({"factor_type": "totp", "friendly_name": "three"}));
    assert_eq!((third.status.as_u16(), error_code(&third)), (422, "too_many_enrolled_mfa_factors"));
    let c = challenge(&app, &token, &f.id);
    let empty = verify(&app, &token, &f.id, &c, "");
    assert_eq!((empty.status.as_u16(), error_code(&empty)), (400, "validation_failed"));
    let typed = post_auth(&app, &format!("/factors/{}/verify", f.id), &token, &json!({"challenge_id": c, "code": 123456}));
    assert_eq!(error_code(&typed), "bad_json");
    let missing = post_auth(&app, &format!("/factors/{}/verify", f.id), &token, &json!({"code": "123456"}));
    assert_eq!((missing.status.as_u16(), error_code(&missing)), (422, "mfa_factor_not_found"));
    let not_uuid = post_auth(&app, "/factors/not-a-uuid/verify", &token, &json!({}));
    assert_eq!((not_uuid.status.as_u16(), error_code(&not_uuid)), (404, "validation_failed"));
    let unknown = post_auth(&app, "/factors/7f0f3b5e-2f4e-4a47-9d59-0d7a3c1b6e10/challenge", &token, &json!({}));
    assert_eq!((unknown.status.as_u16(), error_code(&unknown)), (404, "mfa_factor_not_found"));
    let anonymous = post(&app, "/signup", &json!({}));
    let anon = s(&anonymous.body, "access_token");
    let r = post_auth(&app, "/factors", &anon, &json!({"factor_type": "totp"}));
    assert_eq!((r.status.as_u16(), error_code(&r)), (403, "no_authorization"));
    let off = app_with(&[("MFA_TOTP_ENROLL_ENABLED", "false")]);
    let t = s(&confirmed_user(&off, "ann@example.com", PW), "access_token");
    let r = post_auth(&off, "/factors", &t, &json!({"factor_type": "totp"}));
    assert_eq!((r.status.as_u16(), error_code(&r)), (422, "mfa_totp_enroll_not_enabled"));
}

#[test]
fn the_service_role_lists_and_removes_factors() {
    let app = app();
    let (aal2, f) = ann_with_factor(&app);
    let user_id = aal2["user"]["id"].as_str().unwrap().to_string();
    let key = service_role_key(&app);
    let list = get(&app, &format!("/admin/users/{user_id}/factors"), Some(&key));
    assert_eq!(list.status, 200, "{}", list.raw);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    let gone = call(&app, "DELETE", &format!("/admin/users/{user_id}/factors/{}", f.id), &Value::Null, Some(&key));
    assert_eq!((gone.status.as_u16(), gone.body["id"].as_str()), (200, Some(f.id.as_str())), "{}", gone.raw);
    assert_eq!(get(&app, &format!("/admin/users/{user_id}/factors"), Some(&key)).body, json!([]));
    // The session it raised is aal1 again at its next refresh, and the password signs in everywhere.
    let refreshed = refresh(&app, &s(&aal2, "refresh_token"));
    assert_eq!(claims(refreshed.body["access_token"].as_str().unwrap())["aal"], "aal1");
    let feathers = post(&app, "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": PW}));
    assert_eq!(feathers.status, 201, "{}", feathers.raw);
    let user_token = s(&aal2, "access_token");
    assert_eq!(error_code(&get(&app, &format!("/admin/users/{user_id}/factors"), Some(&user_token))), "not_admin");
}
