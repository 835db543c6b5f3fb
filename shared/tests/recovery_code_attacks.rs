//! Attacks on recovery codes (`/factors/recovery-codes*` and the other dialects' second steps
//! that take them): a code spent twice at once, across accounts, past the guess budget,
//! against a regeneration; a set that outlives what it stood beside; sessions it raised after
//! it changed; malformed second steps. A test that passes guards a property that held when the
//! attack was tried; a test that fails is an attack that worked (its message says so).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use http::Request;
use portcullis_shared::testing::TestPorts;
use portcullis_shared::App;
use serde_json::{json, Value};
use support::mfa::*;
use support::*;

type TestApp = App<TestPorts>;

const PW: &str = "s3cret-pass";
const ON: &[(&str, &str)] = &[("MFA_RECOVERY_CODES_ENROLL_ENABLED", "true"), ("MFA_RECOVERY_CODES_VERIFY_ENABLED", "true")];
const PATH: &str = "/factors/recovery-codes";
const TOTP_AUTH: &str = "mutation($t: String!, $c: String!, $f: String) { totpAuth(ticket: $t, code: $c, factorId: $f) { token refreshToken } }";
const TOKEN_AUTH: &str = "mutation($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { token refreshToken } }";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// An account (`email`, password `PW`) with a verified TOTP factor and a set of recovery codes:
/// its `aal2` token and refresh token, the factor, the set's id and codes.
struct Armed {
    token: String,
    factor: Enrolled,
    set: String,
    codes: Vec<String>,
}

fn armed(app: &TestApp, email: &str) -> Armed {
    let s1 = confirmed_user(app, email, PW);
    let token = s(&s1, "access_token");
    let factor = enroll(app, &token, "phone app");
    let c = challenge(app, &token, &factor.id);
    let r = verify(app, &token, &factor.id, &c, &code_now(app, &factor.secret, 0));
    assert_eq!(r.status, 200, "{}", r.raw);
    let token = s(&r.body, "access_token");
    let r = post_auth(app, PATH, &token, &json!({}));
    assert_eq!(r.status, 200, "{}", r.raw);
    let codes = r.body["codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    Armed { token, factor, set: s(&r.body, "id"), codes }
}

fn aal1(app: &TestApp, email: &str) -> String {
    let r = login(app, email, PW);
    assert_eq!(r.status, 200, "{}", r.raw);
    s(&r.body, "access_token")
}

fn use_code_req(token: &str, code: &str) -> Request<Vec<u8>> {
    let auth = format!("Bearer {token}");
    let body = json!({"code": code}).to_string();
    request("POST", &format!("{PATH}/verify"), body.as_bytes(), &[API_VERSION, JSON, ("authorization", auth.as_str())])
}

fn use_code(app: &TestApp, token: &str, code: &str) -> Reply {
    send(app, use_code_req(token, code))
}

fn feathers_ticket(app: &TestApp, email: &str) -> String {
    let first = call(app, "POST", "/authentication", &json!({"strategy": "local", "email": email, "password": PW}), None);
    assert_eq!(first.status, 401, "{}", first.raw);
    s(&first.body["data"], "ticket")
}

fn feathers_step_req(ticket: &str, code: &str, factor: &str) -> Request<Vec<u8>> {
    let body = json!({"strategy": "totp", "ticket": ticket, "code": code, "factorId": factor}).to_string();
    request("POST", "/authentication", body.as_bytes(), &[JSON])
}

fn feathers_step(app: &TestApp, ticket: &str, code: &str, factor: &str) -> Reply {
    send(app, feathers_step_req(ticket, code, factor))
}

fn graphql_ticket(app: &TestApp, email: &str) -> String {
    let g = gql(app, TOKEN_AUTH, json!({"u": email, "p": PW}));
    let t = s(&g.body["errors"][0]["extensions"], "ticket");
    assert!(!t.is_empty(), "{}", g.raw);
    t
}

fn refused(r: &Reply) -> bool {
    !r.status.is_success()
}

// ---------------------------------------------------------------------------------------------
// 1. One code, spent twice
// ---------------------------------------------------------------------------------------------

/// Two sessions (GoTrue's verify and a Feathers second step) present the same code at once;
/// their requests interleave at the budget. One of them may raise its session, not both.
#[test]
fn race_one_code_at_once_through_gotrue_and_feathers_raises_one_session() {
    let app = app_with(ON);
    let ann = armed(&app, "ann@example.com");
    let low = aal1(&app, "ann@example.com");
    let ticket = feathers_ticket(&app, "ann@example.com");
    let code = ann.codes[0].clone();
    ports(&app).store.pause_at_budgets(true);
    let replies = together(&app, vec![use_code_req(&low, &code), feathers_step_req(&ticket, &code, &ann.set)]);
    ports(&app).store.pause_at_budgets(false);
    let won = replies.iter().filter(|r| r.status.is_success()).count();
    assert_eq!(won, 1, "ATTACK WORKED: one recovery code raised {won} sessions: {} / {}", replies[0].raw, replies[1].raw);
    assert_eq!(get(&app, PATH, Some(&ann.token)).body["remaining"], 9);
}

/// The same ticket with two different codes at once: one second step, one code spent.
#[test]
fn race_one_feathers_ticket_with_two_codes_completes_once() {
    let app = app_with(ON);
    let ann = armed(&app, "ann@example.com");
    let ticket = feathers_ticket(&app, "ann@example.com");
    ports(&app).store.pause_at_budgets(true);
    let replies = together(&app, vec![feathers_step_req(&ticket, &ann.codes[0], &ann.set), feathers_step_req(&ticket, &ann.codes[1], &ann.set)]);
    ports(&app).store.pause_at_budgets(false);
    let won = replies.iter().filter(|r| r.status.is_success()).count();
    assert_eq!(won, 1, "ATTACK WORKED: one ticket completed {won} times: {} / {}", replies[0].raw, replies[1].raw);
    assert_eq!(get(&app, PATH, Some(&ann.token)).body["remaining"], 9, "a refused answer spent a code");
}

/// Regenerating while a verify of an old code is in flight: once the new set is out, no old
/// code raises anything.
#[test]
fn race_an_old_code_in_flight_does_not_land_after_the_regeneration() {
    let app = app_with(ON);
    let ann = armed(&app, "ann@example.com");
    let low = aal1(&app, "ann@example.com");
    let regen = {
        let auth = format!("Bearer {}", ann.token);
        request("POST", &format!("{PATH}/regenerate"), b"", &[API_VERSION, JSON, ("authorization", auth.as_str())])
    };
    ports(&app).store.pause_at_budgets(true);
    let replies = together(&app, vec![use_code_req(&low, &ann.codes[0]), regen]);
    ports(&app).store.pause_at_budgets(false);
    assert_eq!(replies[1].status, 200, "{}", replies[1].raw);
    assert!(refused(&replies[0]), "ATTACK WORKED: an old code landed after the regeneration answered: {}", replies[0].raw);
    let new = replies[1].body["codes"][0].as_str().unwrap();
    assert_eq!(use_code(&app, &aal1(&app, "ann@example.com"), new).status, 200);
}

/// Polls `first` `polls` times (it yields at each budget take, `pause_at_budgets`), answers
/// `second` whole, then finishes `first`: `second` lands between what `first` read before its
/// `polls`-th budget take and what it writes after.
fn between(app: &TestApp, first: Request<Vec<u8>>, polls: usize, second: Request<Vec<u8>>) -> (Reply, Reply) {
    use std::future::Future;
    use std::task::{Context, Waker};
    ports(app).store.pause_at_budgets(true);
    let mut a = Box::pin(app.handle(first));
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..polls {
        assert!(a.as_mut().poll(&mut cx).is_pending(), "the first request finished before the second came");
    }
    ports(app).store.pause_at_budgets(false);
    let b = send(app, second);
    let a = pollster::block_on(a);
    pollster::block_on(app.deliver(a.outbox));
    let raw = String::from_utf8(a.response.body().clone()).unwrap();
    let a = Reply { status: a.response.status(), headers: a.response.headers().clone(), body: serde_json::from_str(&raw).unwrap_or(Value::Null), raw };
    (a, b)
}

/// A code in flight (GoTrue's verify, a Feathers step), past reading the set and waiting on
/// the guess budget, while the owner removes her last factor, which takes the set: it does not
/// land after the removal answered.
#[test]
fn race_a_code_in_flight_does_not_land_after_the_last_factor_went() {
    let app = app_with(ON);
    let ann = armed(&app, "ann@example.com");
    let unenroll = |token: &str, factor: &str| {
        let auth = format!("Bearer {token}");
        request("DELETE", &format!("/factors/{factor}"), b"", &[API_VERSION, JSON, ("authorization", auth.as_str())])
    };
    // Two polls: the client throttle, then the guess budget (after the set was read).
    let low = aal1(&app, "ann@example.com");
    let (a, gone) = between(&app, use_code_req(&low, &ann.codes[0]), 2, unenroll(&ann.token, &ann.factor.id));
    assert_eq!(gone.status, 200, "{}", gone.raw);
    assert!(refused(&a), "ATTACK WORKED: a code of a removed set raised a GoTrue session: {}", a.raw);

    let bob = armed(&app, "bob@example.com");
    let ticket = feathers_ticket(&app, "bob@example.com");
    let (a, gone) = between(&app, feathers_step_req(&ticket, &bob.codes[0], &bob.set), 2, unenroll(&bob.token, &bob.factor.id));
    assert_eq!(gone.status, 200, "{}", gone.raw);
    assert!(refused(&a), "ATTACK WORKED: a code of a removed set completed a Feathers step: {}", a.raw);
}

/// The same against the regeneration: an old code waiting on the guess budget does not land
/// after the new codes went out.
#[test]
fn race_an_old_code_waiting_on_the_budget_does_not_land_after_the_regeneration() {
    let app = app_with(ON);
    let ann = armed(&app, "ann@example.com");
    let low = aal1(&app, "ann@example.com");
    let regen = {
        let auth = format!("Bearer {}", ann.token);
        request("POST", &format!("{PATH}/regenerate"), b"", &[API_VERSION, JSON, ("authorization", auth.as_str())])
    };
    let (a, regen) = between(&app, use_code_req(&low, &ann.codes[0]), 2, regen);
    assert_eq!(regen.status, 200, "{}", regen.raw);
    assert!(refused(&a), "ATTACK WORKED: an old code landed after the regeneration answered: {}", a.raw);
}

// ---------------------------------------------------------------------------------------------
// 2. Across accounts
// ---------------------------------------------------------------------------------------------

/// Bob has Ann's printed codes and his own password. Neither GoTrue's verify nor a second step
/// naming Ann's set (with Bob's ticket) raises Bob's session; nor does Ann's set id with Bob's
/// code.
#[test]
fn a_code_of_one_account_raises_no_session_of_another() {
    let app = app_with(ON);
    let ann = armed(&app, "ann@example.com");
    let bob = armed(&app, "bob@example.com");
    let low = aal1(&app, "bob@example.com");
    assert!(refused(&use_code(&app, &low, &ann.codes[0])), "ATTACK WORKED: Ann's code raised Bob's session");
    let ticket = feathers_ticket(&app, "bob@example.com");
    assert!(refused(&feathers_step(&app, &ticket, &ann.codes[0], &ann.set)), "ATTACK WORKED: Ann's set completed Bob's step");
    assert!(refused(&feathers_step(&app, &ticket, &ann.codes[0], &bob.set)), "ATTACK WORKED: Ann's code completed Bob's step");
    let ann_ticket = feathers_ticket(&app, "ann@example.com");
    assert!(refused(&feathers_step(&app, &ann_ticket, &bob.codes[0], &bob.set)), "ATTACK WORKED: Bob's set completed Ann's step");
    // Everyone's codes are all still there.
    assert_eq!(get(&app, PATH, Some(&ann.token)).body["remaining"], 10);
    assert_eq!(get(&app, PATH, Some(&bob.token)).body["remaining"], 10);
}

// ---------------------------------------------------------------------------------------------
// 3. The guess budget
// ---------------------------------------------------------------------------------------------

/// Wrong codes through Feathers, graphql-jwt and GoTrue spend one budget; regenerating (from
/// an aal2 session the attacker does not have anyway) does not refill it; the right code is
/// refused while it is spent, from every dialect.
#[test]
fn wrong_codes_through_every_dialect_spend_one_budget() {
    let app = app_with(&[ON[0], ON[1], ("OTP_MAX_WRONG_PER_ADDRESS", "3")]);
    let ann = armed(&app, "ann@example.com");
    let ticket = feathers_ticket(&app, "ann@example.com");
    assert_eq!(feathers_step(&app, &ticket, "aaaaaaaaaaaaaaaa", &ann.set).status, 401);
    let g = graphql_ticket(&app, "ann@example.com");
    let r = gql(&app, TOTP_AUTH, json!({"t": g, "c": "bbbbbbbbbbbbbbbb", "f": ann.set}));
    assert!(r.body["data"]["totpAuth"]["token"].is_null(), "{}", r.raw);
    assert_eq!(use_code(&app, &aal1(&app, "ann@example.com"), "cccccccccccccccc").status, 422);
    // Spent: the right code, anywhere.
    let regen = post_auth(&app, &format!("{PATH}/regenerate"), &ann.token, &json!({}));
    assert_eq!(regen.status, 200, "{}", regen.raw);
    let fresh: Vec<String> = regen.body["codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    let r = feathers_step(&app, &ticket, &fresh[0], &ann.set);
    assert!(refused(&r), "ATTACK WORKED: the budget was spent yet a Feathers step took a code: {}", r.raw);
    let r = gql(&app, TOTP_AUTH, json!({"t": g, "c": fresh[1], "f": ann.set}));
    assert!(r.body["data"]["totpAuth"]["token"].is_null(), "ATTACK WORKED: graphql-jwt took a code past the budget: {}", r.raw);
    let r = use_code(&app, &aal1(&app, "ann@example.com"), &fresh[2]);
    assert_eq!((r.status.as_u16(), error_code(&r)), (429, "mfa_recovery_codes_locked"), "{}", r.raw);
}

// ---------------------------------------------------------------------------------------------
// 4. A set that outlives what it stood beside
// ---------------------------------------------------------------------------------------------

/// The service role removes Ann's only factor (she lost her phone and called support). Her
/// recovery codes go with it: none raises a session afterwards, and the account is an account
/// without a second factor everywhere.
#[test]
fn the_service_roles_removal_of_the_last_factor_takes_the_set() {
    let app = app_with(ON);
    let ann = armed(&app, "ann@example.com");
    let user = claims(&ann.token)["sub"].as_str().unwrap().to_string();
    let key = service_role_key(&app);
    let gone = call(&app, "DELETE", &format!("/admin/users/{user}/factors/{}", ann.factor.id), &Value::Null, Some(&key));
    assert_eq!(gone.status, 200, "{}", gone.raw);
    let left = get(&app, &format!("/admin/users/{user}/factors"), Some(&key));
    assert_eq!(left.body, json!([]), "ATTACK WORKED: the set outlived the last factor: {}", left.raw);
    let r = use_code(&app, &aal1(&app, "ann@example.com"), &ann.codes[0]);
    assert!(refused(&r), "ATTACK WORKED: a code of a removed set raised a session: {}", r.raw);
    let feathers = call(&app, "POST", "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": PW}), None);
    assert_eq!(feathers.status, 201, "the account is stuck behind a set alone: {}", feathers.raw);
}

/// A session a code raised comes down to aal1 when the set is removed (the owner found her
/// phone, distrusts the printout); a pending Feathers ticket still owes its step while the TOTP
/// factor stays, and dies with it.
#[test]
fn removing_the_set_lowers_what_it_raised_and_leaves_the_account_guarded() {
    let app = app_with(ON);
    let ann = armed(&app, "ann@example.com");
    let low = login(&app, "ann@example.com", PW);
    let raised = use_code(&app, &s(&low.body, "access_token"), &ann.codes[0]);
    assert_eq!(raised.status, 200, "{}", raised.raw);
    let ticket = feathers_ticket(&app, "ann@example.com");
    let gone = call(&app, "DELETE", PATH, &Value::Null, Some(&ann.token));
    assert_eq!(gone.status, 200, "{}", gone.raw);
    let r = refresh(&app, &s(&raised.body, "refresh_token"));
    assert_eq!(claims(&s(&r.body, "access_token"))["aal"], "aal1", "ATTACK WORKED: a removed set's session kept aal2: {}", r.raw);
    let r = feathers_step(&app, &ticket, &ann.codes[1], &ann.set);
    assert!(refused(&r), "ATTACK WORKED: a removed set completed a step: {}", r.raw);
    let r = call(&app, "POST", "/authentication", &json!({"strategy": "totp", "ticket": ticket, "code": code_now(&app, &ann.factor.secret, 1)}), None);
    assert_eq!(r.status, 201, "the ticket should still take the TOTP code: {}", r.raw);
}

/// The owner regenerates because her printout was stolen. A session the thief raised with one
/// of the old codes must not stay at aal2: the regeneration is the owner's "these codes are
/// dead", and an aal2 session can remove her factors and change her password.
#[test]
fn regenerating_lowers_the_sessions_the_old_codes_raised() {
    let app = app_with(ON);
    let ann = armed(&app, "ann@example.com");
    // The thief: password and printout.
    let thief = login(&app, "ann@example.com", PW);
    let raised = use_code(&app, &s(&thief.body, "access_token"), &ann.codes[0]);
    assert_eq!(raised.status, 200, "{}", raised.raw);
    // The owner, from her own aal2 session (raised by her TOTP), regenerates.
    let regen = post_auth(&app, &format!("{PATH}/regenerate"), &ann.token, &json!({}));
    assert_eq!(regen.status, 200, "{}", regen.raw);
    let r = refresh(&app, &s(&raised.body, "refresh_token"));
    let aal = claims(&s(&r.body, "access_token"))["aal"].clone();
    assert_ne!(
        aal, "aal2",
        "ATTACK WORKED (medium): a session raised with a code of the old set stays aal2 after the owner regenerated \
         the set (it can remove her TOTP factor and change her password): {}",
        r.raw
    );
    let thief = s(&r.body, "access_token");
    let r = call(&app, "DELETE", &format!("/factors/{}", ann.factor.id), &Value::Null, Some(&thief));
    assert_eq!(r.status, 422, "the lowered session removed the factor: {}", r.raw);
}

/// The owner lost her phone, raised her session with a code and regenerates from it: her own
/// session keeps aal2 (the thief's, raised with another old code, does not).
#[test]
fn regenerating_from_a_session_a_code_raised_keeps_that_session() {
    let app = app_with(ON);
    let ann = armed(&app, "ann@example.com");
    let mine = use_code(&app, &aal1(&app, "ann@example.com"), &ann.codes[0]);
    assert_eq!(mine.status, 200, "{}", mine.raw);
    let mine = s(&mine.body, "access_token");
    let theirs = use_code(&app, &aal1(&app, "ann@example.com"), &ann.codes[1]);
    assert_eq!(theirs.status, 200, "{}", theirs.raw);
    let regen = post_auth(&app, &format!("{PATH}/regenerate"), &mine, &json!({}));
    assert_eq!(regen.status, 200, "{}", regen.raw);
    let again = post_auth(&app, &format!("{PATH}/regenerate"), &mine, &json!({}));
    assert_eq!(again.status, 200, "the regenerating session was lowered: {}", again.raw);
    let r = post_auth(&app, &format!("{PATH}/regenerate"), &s(&theirs.body, "access_token"), &json!({}));
    assert_eq!((r.status.as_u16(), error_code(&r)), (403, "insufficient_aal"), "{}", r.raw);
}

// ---------------------------------------------------------------------------------------------
// 5. Malformed second steps
// ---------------------------------------------------------------------------------------------

/// Second steps naming the set, with bodies no client sends: a 4xx, never a 5xx, and nothing
/// raised.
#[test]
fn malformed_second_steps_with_the_set_get_a_4xx() {
    let app = app_with(ON);
    let ann = armed(&app, "ann@example.com");
    let ticket = feathers_ticket(&app, "ann@example.com");
    for body in [
        json!({"strategy": "totp", "ticket": ticket, "code": 12345, "factorId": ann.set}),
        json!({"strategy": "totp", "ticket": ticket, "code": ann.codes[0], "factorId": 7}),
        json!({"strategy": "totp", "ticket": ticket, "code": "x".repeat(100_000), "factorId": ann.set}),
        json!({"strategy": "totp", "ticket": ticket, "code": "----    ----", "factorId": ann.set}),
        json!({"strategy": "totp", "ticket": ticket, "code": ann.codes[0], "factorId": ""}),
        json!({"strategy": "totp", "ticket": ticket, "code": ann.codes[0], "factorId": ann.factor.id}),
    ] {
        let r = call(&app, "POST", "/authentication", &body, None);
        assert!(r.status.is_client_error(), "{body}: {}", r.raw);
    }
    for vars in [json!({"t": ticket, "c": "\u{0}", "f": ann.set}), json!({"t": ticket, "c": ann.codes[0], "f": "x".repeat(10_000)})] {
        let r = gql(&app, TOTP_AUTH, vars.clone());
        assert!(r.status.as_u16() < 500 && r.body["data"]["totpAuth"]["token"].is_null(), "{vars}: {}", r.raw);
    }
    assert_eq!(get(&app, PATH, Some(&ann.token)).body["remaining"], 10);
}

// ---------------------------------------------------------------------------------------------
// 6. The other dialects' second steps with a code
// ---------------------------------------------------------------------------------------------



/// Ada: a passwordless account that turned on a TOTP factor and recovery codes through GoTrue
/// (a magic link); then a passwordless emailed sign-in that owes its second step: her GoTrue
/// aal2 token, the set's id and codes, and the sign-in's ticket.
fn ada_pending(app: &TestApp) -> (String, String, Vec<String>, String) {
    let token = s(&passwordless_ada_in_gotrue(app), "access_token");
    let f = enroll(app, &token, "");
    let r = verify(app, &token, &f.id, &challenge(app, &token, &f.id), &code_now(app, &f.secret, 0));
    assert_eq!(r.status, 200, "{}", r.raw);
    let token = s(&r.body, "access_token");
    let set = post_auth(app, PATH, &token, &json!({}));
    assert_eq!(set.status, 200, "{}", set.raw);
    let codes = set.body["codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    ports(app).clock.advance_secs(61);
    let polled = emailed_sign_in(app, "ada", "ada@example.com");
    assert_eq!(polled.status, 403, "{}", polled.raw);
    (token, s(&set.body, "id"), codes, s(&polled.body, "ticket"))
}

/// A passwordless ticket completed with a code: the session token then works at aal2 with
/// `mfa/recovery_code` in its `amr`; the ticket completes nothing again, the code is spent.
#[test]
fn a_passwordless_step_with_a_code_is_single_use_and_says_so_in_the_check() {
    let app = app_with(ON);
    let (token, set, codes, ticket) = ada_pending(&app);
    assert_eq!(pw(&app, "GET", "/auth/me", &Value::Null, Some(&ticket)).status, 401);
    let wrong = pw(&app, "POST", "/auth/second-factor", &json!({"ticket": ticket, "code": "aaaaaaaaaaaaaaaa", "factor_id": set}), None);
    assert_eq!(wrong.status, 401, "{}", wrong.raw);
    let done = pw(&app, "POST", "/auth/second-factor", &json!({"ticket": ticket, "code": codes[0], "factor_id": set}), None);
    assert_eq!(done.status, 200, "{}", done.raw);
    let c = check(&app, &ticket);
    assert_eq!(c.body["aal"], "aal2", "{}", c.raw);
    assert!(c.raw.contains("mfa/recovery_code"), "{}", c.raw);
    assert_eq!(get(&app, "/api/check?aal=aal2", Some(&ticket)).status, 200);
    let again = pw(&app, "POST", "/auth/second-factor", &json!({"ticket": ticket, "code": codes[1], "factor_id": set}), None);
    assert!(refused(&again), "ATTACK WORKED: a completed passwordless ticket took another code: {}", again.raw);
    assert_eq!(get(&app, PATH, Some(&token)).body["remaining"], 9);
    // The owner regenerates: the passwordless session the code raised is no full session now.
    let regen = post_auth(&app, &format!("{PATH}/regenerate"), &token, &json!({}));
    assert_eq!(regen.status, 200, "{}", regen.raw);
    let me = pw(&app, "GET", "/auth/me", &Value::Null, Some(&ticket));
    assert_eq!(me.status, 401, "ATTACK WORKED: a passwordless session an old code raised outlived the regeneration: {}", me.raw);
}

/// graphql-jwt's totpAuth with the set: single use, and its refresh token keeps aal2 only
/// while the set stands.
#[test]
fn a_graphql_step_with_a_code_is_single_use() {
    let app = app_with(&[ON[0], ON[1], ("GRAPHQL_JWT_LONG_RUNNING_REFRESH_TOKEN", "true")]);
    let ann = armed(&app, "ann@example.com");
    let t = graphql_ticket(&app, "ann@example.com");
    let r = gql(&app, TOTP_AUTH, json!({"t": t, "c": ann.codes[0], "f": ann.set}));
    assert!(r.body["data"]["totpAuth"]["token"].is_string(), "{}", r.raw);
    let again = gql(&app, TOTP_AUTH, json!({"t": t, "c": ann.codes[1], "f": ann.set}));
    assert!(again.body["data"]["totpAuth"]["token"].is_null(), "ATTACK WORKED: a graphql ticket completed twice: {}", again.raw);
    assert_eq!(get(&app, PATH, Some(&ann.token)).body["remaining"], 9);
}

/// Every recovery-code endpoint and second step, with bodies no client sends: never a 5xx.
#[test]
fn mangled_bodies_never_answer_5xx() {
    let app = app_with(ON);
    let ann = armed(&app, "ann@example.com");
    let low = aal1(&app, "ann@example.com");
    let ticket = feathers_ticket(&app, "ann@example.com");
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\"code\"".to_vec(),
        b"{\"code\": null}".to_vec(),
        b"{\"code\": \"\\u0000\"}".to_vec(),
        b"{\"code\": {\"$gt\": \"\"}}".to_vec(),
        format!("{{\"code\": \"{}\"}}", "\u{e4}".repeat(40)).into_bytes(),
        format!("{{\"code\": \"{}\"}}", "\u{212a}".repeat(16)).into_bytes(),
        b"{\"friendly_name\": null}".to_vec(),
        b"{\"friendly_name\": \"\\u0000\"}".to_vec(),
        vec![0xff, 0xfe, b'{'],
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
    ];
    let auth = format!("Bearer {low}");
    let owner = format!("Bearer {}", ann.token);
    for body in &bodies {
        for (path, who) in [("/verify", &auth), ("", &owner), ("/regenerate", &owner)] {
            let r = send(&app, request("POST", &format!("{PATH}{path}"), body, &[API_VERSION, JSON, ("authorization", who.as_str())]));
            assert!(r.status.as_u16() < 500, "{path} {}: {}", String::from_utf8_lossy(body), r.raw);
        }
        for path in ["/authentication", "/auth/second-factor", "/graphql"] {
            let r = send(&app, request("POST", path, body, &[JSON]));
            assert!(r.status.as_u16() < 500, "{path} {}: {}", String::from_utf8_lossy(body), r.raw);
        }
    }
    for (k, v) in [("ticket", json!(5)), ("ticket", json!(null)), ("factorId", json!([ann.set])), ("factorId", json!({"id": ann.set})), ("code", json!([ann.codes[0]]))] {
        let mut body = json!({"strategy": "totp", "ticket": ticket, "code": ann.codes[0], "factorId": ann.set});
        body[k] = v;
        let r = call(&app, "POST", "/authentication", &body, None);
        assert!(r.status.is_client_error(), "{body}: {}", r.raw);
    }
    assert_eq!(get(&app, PATH, Some(&ann.token)).body["remaining"], 10);
}
