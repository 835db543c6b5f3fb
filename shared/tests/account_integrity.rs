//! Account integrity through the app with a fixed clock: what a stranger who reached an address
//! before its owner can still do once the owner proves the mailbox (nothing).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::testing::TestPorts;
use portcullis_shared::App;
use serde_json::json;
use support::*;


fn feathers_local(app: &App<TestPorts>, email: &str, password: &str) -> Reply {
    call(app, "POST", "/authentication", &json!({"strategy": "local", "email": email, "password": password}), None)
}


#[test]
fn a_strangers_session_on_a_pending_sign_up_ends_when_the_owner_signs_up_and_confirms() {
    let app = app();
    // The stranger starts a GoTrue sign-up of the victim's address (its mail goes unread) and
    // signs in through Feathers with the password they chose.
    assert_eq!(signup(&app, "victim@example.com", "attacker pass").status, 200);
    let f = feathers_local(&app, "victim@example.com", "attacker pass");
    assert_eq!(f.status, 201, "{}", f.raw);
    let attacker = s(&f.body, "accessToken");
    // The owner signs up herself and confirms.
    ports(&app).clock.advance_secs(3600);
    let owner = confirmed_user(&app, "victim@example.com", "victim pass");
    assert_eq!(check(&app, &attacker).body["error"], "session ended");
    let id = s(&owner["user"], "id");
    let p = call(&app, "PATCH", &format!("/users/{id}"), &json!({"password": "attacker again"}), Some(&attacker));
    assert_eq!(p.status, 401, "{}", p.raw);
    assert_eq!(login(&app, "victim@example.com", "attacker pass").status, 400);
    // The confirmation signed the owner in; her re-sign-up could not tell whose the pending
    // password was, so she sets hers now.
    let set = put(&app, "/user", &s(&owner, "access_token"), &json!({"password": "victim pass"}));
    assert_eq!(set.status, 200, "{}", set.raw);
    assert_eq!(login(&app, "victim@example.com", "victim pass").status, 200);
}

#[test]
fn a_feathers_pre_registration_loses_its_password_and_sessions_to_the_owners_magic_link() {
    let app = app();
    let r = call(&app, "POST", "/users", &json!({"email": "victim@example.com", "password": "attacker pass"}), None);
    assert_eq!(r.status, 201, "{}", r.raw);
    let attacker = s(&feathers_local(&app, "victim@example.com", "attacker pass").body, "accessToken");
    assert_eq!(post(&app, "/otp", &json!({"email": "victim@example.com"})).status, 200);
    let code = code_for(&app, "victim@example.com");
    let v = post(&app, "/verify", &json!({"type": "email", "email": "victim@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    // The owner is in, with a verified address.
    let owner = s(&v.body, "access_token");
    assert_eq!(check(&app, &owner).body["email_verified"], true);
    // The stranger's password and session are gone, in every dialect.
    assert_eq!(error_code(&login(&app, "victim@example.com", "attacker pass")), "invalid_credentials");
    assert_eq!(feathers_local(&app, "victim@example.com", "attacker pass").status, 401);
    assert_eq!(check(&app, &attacker).body["error"], "session ended");
    let q = json!({"query": "mutation { tokenAuth(username: \"victim@example.com\", password: \"attacker pass\") { token } }"});
    let g = call(&app, "POST", "/graphql", &q, None);
    assert_eq!(g.body["errors"][0]["message"], "Please enter valid credentials");
}

#[test]
fn recovery_of_a_pre_registered_address_drops_the_strangers_metadata_too() {
    let app = app();
    let body = json!({"email": "victim@example.com", "password": "attacker pass", "data": {"display_name": "Pay me"}});
    assert_eq!(post(&app, "/signup", &body).status, 200);
    assert_eq!(post(&app, "/recover", &json!({"email": "victim@example.com"})).status, 200);
    let code = code_for(&app, "victim@example.com");
    let v = post(&app, "/verify", &json!({"type": "recovery", "email": "victim@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    assert_eq!(v.body["user"]["user_metadata"], json!({}), "{}", v.raw);
    assert_eq!(error_code(&login(&app, "victim@example.com", "attacker pass")), "invalid_credentials");
}

#[test]
fn confirming_ones_own_sign_up_keeps_its_password_and_metadata() {
    let app = app();
    let body = json!({"email": "ann@example.com", "password": "ann pass 1", "data": {"display_name": "Ann"}});
    assert_eq!(post(&app, "/signup", &body).status, 200);
    let code = code_for(&app, "ann@example.com");
    let v = post(&app, "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    assert_eq!(v.body["user"]["user_metadata"]["display_name"], "Ann");
    assert_eq!(login(&app, "ann@example.com", "ann pass 1").status, 200);
}

#[test]
fn a_verified_accounts_sessions_survive_later_codes() {
    let app = app();
    let first = confirmed_user(&app, "ann@example.com", "ann pass 1");
    ports(&app).clock.advance_secs(61);
    assert_eq!(post(&app, "/otp", &json!({"email": "ann@example.com"})).status, 200);
    let code = code_for(&app, "ann@example.com");
    assert_eq!(post(&app, "/verify", &json!({"type": "email", "email": "ann@example.com", "token": code})).status, 200);
    assert_eq!(check(&app, &s(&first, "access_token")).status, 200, "only the first proof ends earlier sessions");
    assert_eq!(login(&app, "ann@example.com", "ann pass 1").status, 200, "and keeps the owner's password");
}

#[test]
fn a_gotrue_sign_up_of_a_live_feathers_account_changes_nothing_of_it() {
    let app = app();
    let r = call(&app, "POST", "/users", &json!({"email": "ann@example.com", "password": "ann pass 1"}), None);
    assert_eq!(r.status, 201, "{}", r.raw);
    let ann = s(&feathers_local(&app, "ann@example.com", "ann pass 1").body, "accessToken");
    // A stranger signs the address up through GoTrue with a password of their own.
    assert_eq!(signup(&app, "ann@example.com", "stranger pass").status, 200);
    assert_eq!(feathers_local(&app, "ann@example.com", "stranger pass").status, 401, "the stranger's password is not the account's");
    assert_eq!(feathers_local(&app, "ann@example.com", "ann pass 1").status, 201, "Ann's still is");
    assert_eq!(check(&app, &ann).status, 200, "and Ann is still signed in");
}

#[test]
fn confirming_a_strangers_later_sign_up_code_sets_no_password() {
    let app = app();
    assert_eq!(signup(&app, "victim@example.com", "victim pass").status, 200);
    ports(&app).clock.advance_secs(61);
    assert_eq!(signup(&app, "victim@example.com", "stranger pass").status, 200);
    // The only working code in the victim's mailbox is the one the stranger's attempt sent.
    let code = code_for(&app, "victim@example.com");
    let v = post(&app, "/verify", &json!({"type": "signup", "email": "victim@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    assert_eq!(login(&app, "victim@example.com", "stranger pass").status, 400);
    assert_eq!(feathers_local(&app, "victim@example.com", "stranger pass").status, 401);
}

#[test]
fn a_stranger_who_set_the_password_cannot_re_sign_up_to_keep_it_over_the_owners_attempt() {
    let app = app();
    assert_eq!(signup(&app, "victim@example.com", "stranger pass").status, 200);
    ports(&app).clock.advance_secs(61);
    assert_eq!(signup(&app, "victim@example.com", "victim pass").status, 200);
    ports(&app).clock.advance_secs(61);
    // The stranger knows the stored password: knowing it proves nothing about the mailbox.
    assert_eq!(signup(&app, "victim@example.com", "stranger pass").status, 200);
    let code = code_for(&app, "victim@example.com");
    assert_eq!(post(&app, "/verify", &json!({"type": "signup", "email": "victim@example.com", "token": code})).status, 200);
    assert_eq!(login(&app, "victim@example.com", "stranger pass").status, 400);
    assert_eq!(feathers_local(&app, "victim@example.com", "stranger pass").status, 401);
}

#[test]
fn a_feathers_pre_registration_cannot_re_sign_up_to_keep_its_password_over_the_owners_attempt() {
    let app = app();
    let r = call(&app, "POST", "/users", &json!({"email": "victim@example.com", "password": "stranger pass"}), None);
    assert_eq!(r.status, 201, "{}", r.raw);
    assert_eq!(signup(&app, "victim@example.com", "victim pass").status, 200);
    ports(&app).clock.advance_secs(61);
    assert_eq!(signup(&app, "victim@example.com", "stranger pass").status, 200);
    let code = code_for(&app, "victim@example.com");
    assert_eq!(post(&app, "/verify", &json!({"type": "signup", "email": "victim@example.com", "token": code})).status, 200);
    assert_eq!(feathers_local(&app, "victim@example.com", "stranger pass").status, 401);
    assert_eq!(login(&app, "victim@example.com", "stranger pass").status, 400);
}

#[test]
fn a_feathers_sign_in_that_read_the_strangers_password_before_the_proof_starts_no_session() {
    let app = app();
    let r = call(&app, "POST", "/users", &json!({"email": "victim@example.com", "password": "attacker pass"}), None);
    assert_eq!(r.status, 201, "{}", r.raw);
    // The stranger's sign-in reads the account (with their password) just before the owner's
    // code lands, and finishes hashing after it.
    let before_proof = ports(&app).store.all_users().into_iter().find(|u| u.has_email("victim@example.com")).unwrap();
    assert_eq!(post(&app, "/otp", &json!({"email": "victim@example.com"})).status, 200);
    let code = code_for(&app, "victim@example.com");
    let v = post(&app, "/verify", &json!({"type": "email", "email": "victim@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    let sessions_after_proof = ports(&app).store.all_sessions().len();
    ports(&app).store.serve_stale(before_proof);
    let f = feathers_local(&app, "victim@example.com", "attacker pass");
    assert_eq!(f.status, 401, "{}", f.raw);
    assert_eq!(f.body["name"], "NotAuthenticated");
    assert_eq!(ports(&app).store.all_sessions().len(), sessions_after_proof, "no session was stored");
}

/// What a stranger sees who signs `email` up with their own password and then signs in with it.
fn probe(app: &App<TestPorts>, email: &str) -> (u16, String, String) {
    let up = signup(app, email, "probe pass");
    let shown = format!("{} {}", up.body["created_at"], up.body["user_metadata"]);
    let r = login(app, email, "probe pass");
    (up.status.as_u16(), error_code(&r).to_string(), if up.body["id"].is_string() { shown } else { up.raw })
}

#[test]
fn sign_up_then_sign_in_answers_the_same_for_new_and_registered_addresses() {
    let app = app();
    confirmed_user(&app, "owner@example.com", "owner pass");
    let body = json!({"email": "pending@example.com", "password": "pending pass", "data": {"plan": "pro"}});
    assert_eq!(post(&app, "/signup", &body).status, 200);
    // The stranger probes a little later (outside the send limit's minute, and within it).
    ports(&app).clock.advance_secs(30);
    let fresh = probe(&app, "fresh@example.com");
    for taken in ["owner@example.com", "pending@example.com"] {
        let (status, code, shown) = probe(&app, taken);
        assert_eq!((status, code.as_str()), (fresh.0, fresh.1.as_str()), "{taken}");
        assert_eq!(shown, fresh.2, "{taken}: the decoy shows what a new account would");
    }
    assert_eq!(fresh, (200, "invalid_credentials".into(), fresh.2.clone()));
}

#[test]
fn a_re_sign_up_of_a_pending_address_shows_nothing_of_that_account() {
    let app = app();
    let body = json!({"email": "pending@example.com", "password": "pending pass", "data": {"plan": "pro"}});
    let first = post(&app, "/signup", &body);
    ports(&app).clock.advance_secs(61);
    let again = post(&app, "/signup", &json!({"email": "pending@example.com", "password": "other pass"}));
    assert_eq!(again.status, 200, "{}", again.raw);
    assert_ne!(again.body["id"], first.body["id"]);
    assert_ne!(again.body["created_at"], first.body["created_at"]);
    assert_eq!(again.body["user_metadata"], json!({}), "{}", again.raw);
}

#[test]
fn a_sign_up_within_a_minute_of_the_owners_is_answered_as_usual_and_mails_nothing() {
    let app = app();
    assert_eq!(signup(&app, "owner@example.com", "owner pass").status, 200);
    let code = code_for(&app, "owner@example.com");
    assert_eq!(post(&app, "/verify", &json!({"type": "signup", "email": "owner@example.com", "token": code})).status, 200);
    let before = mails_to(&app, "owner@example.com");
    ports(&app).clock.advance_secs(10);
    let r = signup(&app, "owner@example.com", "stranger pass");
    assert_eq!(r.status, 200, "not a 429 that a new address would not get: {}", r.raw);
    assert_eq!(mails_to(&app, "owner@example.com"), before, "and no second mail within the limit");
    // A pending sign-up retried within the minute keeps its code.
    assert_eq!(signup(&app, "ann@example.com", "ann pass 1").status, 200);
    let code = code_for(&app, "ann@example.com");
    assert_eq!(signup(&app, "ann@example.com", "ann pass 1").status, 200);
    assert_eq!(mails_to(&app, "ann@example.com"), 1);
    assert_eq!(post(&app, "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": code})).status, 200);
    assert_eq!(login(&app, "ann@example.com", "ann pass 1").status, 200);
}


#[test]
fn a_magic_link_drops_the_metadata_a_stranger_set_but_keeps_its_own_otps() {
    let app = app();
    let stranger = json!({"email": "victim@example.com", "password": "attacker pass", "data": {"display_name": "Pay me"}});
    assert_eq!(post(&app, "/signup", &stranger).status, 200);
    assert_eq!(post(&app, "/otp", &json!({"email": "victim@example.com", "data": {"plan": "mine"}})).status, 200);
    let code = code_for(&app, "victim@example.com");
    let v = post(&app, "/verify", &json!({"type": "email", "email": "victim@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    assert_eq!(v.body["user"]["user_metadata"], json!({}), "{}", v.raw);
    // An /otp that creates the account keeps its data, as upstream's signInWithOtp({ data }).
    assert_eq!(post(&app, "/otp", &json!({"email": "new@example.com", "data": {"plan": "trial"}})).status, 200);
    let code = code_for(&app, "new@example.com");
    let v = post(&app, "/verify", &json!({"type": "email", "email": "new@example.com", "token": code}));
    assert_eq!(v.body["user"]["user_metadata"]["plan"], "trial", "{}", v.raw);
}

#[test]
fn a_stolen_session_cannot_move_the_account_to_the_thiefs_address() {
    let app = app();
    let victim = confirmed_user(&app, "victim@example.com", "victim pass");
    let stolen = s(&victim, "access_token");
    let r = put(&app, "/user", &stolen, &json!({"email": "thief@example.com"}));
    assert_eq!(r.status, 200, "{}", r.raw);
    // The thief has the new address's code, and tries it with either address.
    let code = code_for(&app, "thief@example.com");
    let with_current = post(&app, "/verify", &json!({"type": "email_change", "email": "victim@example.com", "token": code}));
    assert_eq!(error_code(&with_current), "otp_expired", "a code only works with the address it went to");
    let half = post(&app, "/verify", &json!({"type": "email_change", "email": "thief@example.com", "token": code}));
    assert_eq!(half.status, 200, "{}", half.raw);
    assert!(half.body.get("access_token").is_none(), "no session from half a change: {}", half.raw);
    // The account stays with the victim: the thief cannot recover it through their address.
    assert_eq!(get(&app, "/user", Some(&stolen)).body["email"], "victim@example.com");
    assert_eq!(post(&app, "/recover", &json!({"email": "thief@example.com"})).status, 200);
    assert_eq!(mails_to(&app, "thief@example.com"), 1, "no recovery mail for an address the account does not have");
    // And the victim's mailbox was asked.
    let asked = sent_mails(&app).into_iter().rev().find(|m| m.to == "victim@example.com").unwrap();
    assert!(asked.subject.contains("Confirm the change of your address"), "{}", asked.subject);
}

#[test]
fn a_password_change_through_an_old_session_needs_a_nonce_from_the_mailbox() {
    let app = app();
    let ann = confirmed_user(&app, "ann@example.com", "ann pass 1");
    // A day later, still signed in (the access token refreshed, the session as old as it was).
    ports(&app).clock.advance_secs(86_400);
    let token = s(&refresh(&app, &s(&ann, "refresh_token")).body, "access_token");
    let r = put(&app, "/user", &token, &json!({"password": "thief pass"}));
    assert_eq!(r.status, 400, "{}", r.raw);
    assert_eq!(error_code(&r), "reauthentication_needed");
    let wrong = put(&app, "/user", &token, &json!({"password": "thief pass", "nonce": "123456"}));
    assert_eq!(error_code(&wrong), "reauthentication_not_valid", "no nonce was ever sent");
    assert_eq!(get(&app, "/reauthenticate", Some(&token)).status, 200);
    let nonce = code_for(&app, "ann@example.com");
    let guess = if nonce == "000000" { "111111" } else { "000000" };
    let wrong = put(&app, "/user", &token, &json!({"password": "thief pass", "nonce": guess}));
    assert_eq!((wrong.status.as_u16(), error_code(&wrong)), (422, "reauthentication_not_valid"));
    let ok = put(&app, "/user", &token, &json!({"password": "ann pass 2", "nonce": nonce}));
    assert_eq!(ok.status, 200, "{}", ok.raw);
    assert_eq!(login(&app, "ann@example.com", "ann pass 2").status, 200);
    let again = put(&app, "/user", &token, &json!({"password": "ann pass 3", "nonce": nonce}));
    assert_eq!(error_code(&again), "reauthentication_not_valid", "a nonce works once");
    // A fresh sign-in needs none; neither does anyone with REAUTHENTICATION_AFTER=0.
    let fresh = s(&login(&app, "ann@example.com", "ann pass 2").body, "access_token");
    assert_eq!(put(&app, "/user", &fresh, &json!({"password": "ann pass 3"})).status, 200);
}

#[test]
fn re_authentication_can_be_switched_off() {
    let app = app_with(&[("REAUTHENTICATION_AFTER", "0")]);
    let ann = confirmed_user(&app, "ann@example.com", "ann pass 1");
    ports(&app).clock.advance_secs(10 * 86_400);
    let token = s(&refresh(&app, &s(&ann, "refresh_token")).body, "access_token");
    assert_eq!(put(&app, "/user", &token, &json!({"password": "ann pass 2"})).status, 200);
}

#[test]
fn feathers_asks_for_a_fresh_sign_in_to_change_the_password_through_an_old_session() {
    let app = app_with(&[("REAUTHENTICATION_AFTER", "3600")]);
    let r = call(&app, "POST", "/users", &json!({"email": "ann@example.com", "password": "ann pass 1"}), None);
    let id = s(&r.body, "id");
    let old = s(&feathers_local(&app, "ann@example.com", "ann pass 1").body, "accessToken");
    ports(&app).clock.advance_secs(3601);
    let p = call(&app, "PATCH", &format!("/users/{id}"), &json!({"password": "thief pass"}), Some(&old));
    assert_eq!((p.status.as_u16(), p.body["name"].as_str()), (403, Some("Forbidden")), "{}", p.raw);
    let fresh = s(&feathers_local(&app, "ann@example.com", "ann pass 1").body, "accessToken");
    let p = call(&app, "PATCH", &format!("/users/{id}"), &json!({"password": "ann pass 2"}), Some(&fresh));
    assert_eq!(p.status, 200, "{}", p.raw);
}

/// The victim's sign-up within the send limit of a stranger's mails nothing, so the only
/// confirmation mail in her inbox is the stranger's: its code must no longer keep their password.
#[test]
fn a_victims_sign_up_under_the_send_limit_does_not_confirm_the_strangers_password() {
    let app = app();
    assert_eq!(signup(&app, "victim@example.com", "attacker pass").status, 200);
    // The stranger repeats this every MAIL_MIN_INTERVAL so the slot is always taken.
    ports(&app).clock.advance_secs(30);
    let mine = signup(&app, "victim@example.com", "victim pass");
    assert_eq!(mine.status, 200, "{}", mine.raw);
    // She confirms with the (only, fresh) confirmation mail in her inbox.
    let code = code_for(&app, "victim@example.com");
    let v = post(&app, "/verify", &json!({"type": "signup", "email": "victim@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    let stranger = login(&app, "victim@example.com", "attacker pass");
    assert_eq!(stranger.status, 400, "the stranger signs in to the victim's verified account: {}", stranger.raw);
}

/// Two email change requests in a row answer alike whether the first's target is registered
/// (whose owner gets a notice) or not: the current address's send slot is taken either way.
fn probe_change(app: &App<TestPorts>, token: &str, target: &str, n: usize) -> u16 {
    assert_eq!(put(app, "/user", token, &json!({"email": target})).status, 200);
    put(app, "/user", token, &json!({"email": format!("probe{n}@attacker.test")})).status.as_u16()
}

#[test]
fn an_email_change_request_tells_a_registered_address_from_a_new_one() {
    let app = app();
    confirmed_user(&app, "someone@example.com", "pass word 1");
    let token = s(&confirmed_user(&app, "me@attacker.test", "pass word 2"), "access_token");
    let registered = probe_change(&app, &token, "someone@example.com", 1);
    ports(&app).clock.advance_secs(61);
    let unknown = probe_change(&app, &token, "nobody@example.com", 2);
    assert_eq!(registered, unknown, "registered -> {registered}, unknown -> {unknown}");
}
