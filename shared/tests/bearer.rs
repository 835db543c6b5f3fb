//! The one bearer road, through the app with a fixed clock: every dialect's credential is held
//! to the same session rules (ended, timebox, inactivity), a token of one dialect is refused by
//! another, and `/api/check` names the dialect of whatever it accepts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::model::Timestamp;
use portcullis_shared::testing::TestPorts;
use portcullis_shared::token::JwtKeys;
use portcullis_shared::App;
use serde_json::{json, Value};
use support::*;

const PW: &str = "correct horse battery";


/// One credential of each dialect for one account (GoTrue, Feathers, graphql-jwt) plus a
/// passwordless session token of another, all issued at the same moment.
struct Credentials {
    gotrue: String,
    feathers: String,
    graphql: String,
    passwordless: String,
}

fn credentials(app: &App<TestPorts>) -> Credentials {
    let gotrue = s(&confirmed_user(app, "ann@example.com", PW), "access_token");
    let f = call(app, "POST", "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": PW}), None);
    assert_eq!(f.status, 201, "{}", f.raw);
    let q = json!({"query": "mutation($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { token } }",
                   "variables": {"u": "ann@example.com", "p": PW}});
    let g = call(app, "POST", "/graphql", &q, None);
    assert!(g.body.get("errors").is_none(), "{}", g.raw);
    let r = call(app, "POST", "/auth/registration", &json!({"username": "bea", "session_platform": "Laptop"}), None);
    assert_eq!(r.status, 200, "{}", r.raw);
    Credentials {
        gotrue,
        feathers: s(&f.body, "accessToken"),
        graphql: g.body["data"]["tokenAuth"]["token"].as_str().unwrap().to_string(),
        passwordless: s(&r.body, "session_token"),
    }
}

/// What each dialect's own "who am I" says of its credential: true if it was accepted.
struct Verdicts {
    gotrue: Reply,
    feathers: Reply,
    graphql: Reply,
    passwordless: Reply,
}

fn use_each(app: &App<TestPorts>, c: &Credentials) -> Verdicts {
    let q = json!({"query": "mutation($t: String!) { verifyToken(token: $t) { payload } }", "variables": {"t": c.graphql}});
    Verdicts {
        gotrue: call(app, "GET", "/user", &Value::Null, Some(&c.gotrue)),
        feathers: call(app, "POST", "/authentication", &json!({"strategy": "jwt", "accessToken": c.feathers}), None),
        graphql: call(app, "POST", "/graphql", &q, None),
        passwordless: call(app, "GET", "/auth/me", &Value::Null, Some(&c.passwordless)),
    }
}

fn graphql_error(r: &Reply) -> String {
    r.body["errors"][0]["message"].as_str().unwrap_or_default().to_string()
}


#[test]
fn every_dialects_credential_works_and_the_check_names_its_dialect() {
    let app = app();
    let c = credentials(&app);
    let v = use_each(&app, &c);
    assert_eq!(v.gotrue.status, 200, "{}", v.gotrue.raw);
    assert_eq!(v.feathers.status, 201, "{}", v.feathers.raw);
    assert!(v.graphql.body.get("errors").is_none(), "{}", v.graphql.raw);
    assert_eq!(v.passwordless.status, 200, "{}", v.passwordless.raw);
    for (token, dialect) in [(&c.gotrue, "gotrue"), (&c.feathers, "feathers"), (&c.graphql, "graphql"), (&c.passwordless, "passwordless")] {
        let r = check(&app, token);
        assert_eq!(r.status, 200, "{dialect}: {}", r.raw);
        assert_eq!(r.body["dialect"], dialect);
    }
}

#[test]
fn the_session_timebox_holds_for_every_dialect() {
    let app = app_with(&[("SESSION_TIMEBOX", "1800")]);
    let c = credentials(&app);
    ports(&app).clock.advance_secs(1799);
    let v = use_each(&app, &c);
    assert_eq!((v.gotrue.status, v.feathers.status, v.passwordless.status), (200.try_into().unwrap(), 201.try_into().unwrap(), 200.try_into().unwrap()));
    assert!(v.graphql.body.get("errors").is_none(), "{}", v.graphql.raw);

    ports(&app).clock.advance_secs(1);
    let v = use_each(&app, &c);
    assert_eq!(v.gotrue.status, 403, "{}", v.gotrue.raw);
    assert_eq!(error_code(&v.gotrue), "session_not_found", "what makes auth-js drop the session");
    assert!(v.gotrue.body["message"].as_str().unwrap().contains("expired"), "{}", v.gotrue.raw);
    assert_eq!(v.feathers.status, 401, "{}", v.feathers.raw);
    assert_eq!(v.feathers.body["name"], "NotAuthenticated");
    assert_eq!(graphql_error(&v.graphql), "Invalid token");
    assert_eq!(v.passwordless.status, 401, "{}", v.passwordless.raw);
    assert!(v.passwordless.body["error"].as_str().unwrap().contains("expired"), "{}", v.passwordless.raw);
    for token in [&c.gotrue, &c.feathers, &c.graphql, &c.passwordless] {
        let r = check(&app, token);
        assert_eq!((r.status.as_u16(), r.body["error"].as_str()), (401, Some("session expired")), "{}", r.raw);
    }
}

#[test]
fn the_inactivity_timeout_holds_for_every_dialect_and_use_keeps_a_session_alive() {
    let app = app_with(&[("SESSION_INACTIVITY_TIMEOUT", "600")]);
    let c = credentials(&app);
    // Used every 5 minutes for half an hour: still alive (each use is recorded as activity).
    for _ in 0..6 {
        ports(&app).clock.advance_secs(300);
        let v = use_each(&app, &c);
        assert_eq!(v.gotrue.status, 200, "{}", v.gotrue.raw);
        assert_eq!(v.feathers.status, 201, "{}", v.feathers.raw);
        assert!(v.graphql.body.get("errors").is_none(), "{}", v.graphql.raw);
        assert_eq!(v.passwordless.status, 200, "{}", v.passwordless.raw);
    }
    // Then idle for the timeout: every one of them has ended.
    ports(&app).clock.advance_secs(600);
    let v = use_each(&app, &c);
    assert_eq!(error_code(&v.gotrue), "session_not_found", "{}", v.gotrue.raw);
    assert_eq!(v.feathers.status, 401, "{}", v.feathers.raw);
    assert_eq!(graphql_error(&v.graphql), "Invalid token");
    assert_eq!(v.passwordless.status, 401, "{}", v.passwordless.raw);
}

#[test]
fn graphql_me_and_refresh_meet_the_same_rules() {
    let app = app_with(&[("SESSION_TIMEBOX", "600")]);
    let c = credentials(&app);
    ports(&app).clock.advance_secs(600);
    let me = send(&app, request("POST", "/graphql", json!({"query": "{ me { id } }"}).to_string().as_bytes(),
        &[("content-type", "application/json"), ("authorization", &format!("JWT {}", c.graphql))]));
    assert_eq!(graphql_error(&me), "Invalid token", "{}", me.raw);
    let q = json!({"query": "mutation($t: String!) { refreshToken(token: $t) { token } }", "variables": {"t": c.graphql}});
    let r = call(&app, "POST", "/graphql", &q, None);
    assert_eq!(graphql_error(&r), "Invalid token", "{}", r.raw);
}

#[test]
fn a_token_of_one_dialect_is_refused_by_every_other() {
    let app = app();
    let c = credentials(&app);
    // GoTrue's /user with the others' tokens.
    for token in [&c.feathers, &c.graphql] {
        let r = call(&app, "GET", "/user", &Value::Null, Some(token));
        assert_eq!((r.status.as_u16(), error_code(&r)), (403, "bad_jwt"), "{}", r.raw);
    }
    let r = call(&app, "GET", "/user", &Value::Null, Some(&c.passwordless));
    assert_eq!((r.status.as_u16(), error_code(&r)), (403, "bad_jwt"), "{}", r.raw);
    // Feathers' jwt strategy with the others'.
    for token in [&c.gotrue, &c.graphql, &c.passwordless] {
        let r = call(&app, "POST", "/authentication", &json!({"strategy": "jwt", "accessToken": token}), None);
        assert_eq!(r.status, 401, "{}", r.raw);
        assert_eq!(r.body["name"], "NotAuthenticated");
    }
    // graphql-jwt's verifyToken with the others': signed by us, but not its payload.
    for token in [&c.gotrue, &c.feathers] {
        let q = json!({"query": "mutation($t: String!) { verifyToken(token: $t) { payload } }", "variables": {"t": token}});
        assert_eq!(graphql_error(&call(&app, "POST", "/graphql", &q, None)), "Invalid payload");
    }
    // The passwordless API with the JWTs.
    for token in [&c.gotrue, &c.feathers, &c.graphql] {
        let r = call(&app, "GET", "/auth/me", &Value::Null, Some(token));
        assert_eq!(r.status, 401, "{}", r.raw);
    }
}

#[test]
fn a_token_that_names_two_dialects_sessions_is_refused_everywhere() {
    let app = app();
    let c = credentials(&app);
    let session = check(&app, &c.gotrue).body["session_id"].as_str().unwrap().to_string();
    let sub = check(&app, &c.gotrue).body["user_id"].as_str().unwrap().to_string();
    let keys = JwtKeys::new(&app.auth().config().jwt_secret, 0);
    let now = Timestamp(1_700_000_000_000);
    let aud = app.auth().config().feathers_jwt_audience.clone();
    let both = json!({"sub": sub, "session_id": session, "jti": session, "aud": aud, "iss": "feathers"});
    let token = keys.sign_blocking(both, now, now.plus_secs(600), None).unwrap();
    assert_eq!(check(&app, &token).body["error"], "invalid token");
    assert_eq!(error_code(&call(&app, "GET", "/user", &Value::Null, Some(&token))), "bad_jwt");
    let r = call(&app, "POST", "/authentication", &json!({"strategy": "jwt", "accessToken": token}), None);
    assert_eq!(r.status, 401, "{}", r.raw);
}

#[test]
fn a_session_of_another_account_is_not_borrowed_by_rewriting_sub() {
    let app = app();
    let c = credentials(&app);
    let session = check(&app, &c.gotrue).body["session_id"].as_str().unwrap().to_string();
    let keys = JwtKeys::new(&app.auth().config().jwt_secret, 0);
    let now = Timestamp(1_700_000_000_000);
    let token = keys.sign_blocking(json!({"sub": "someone-else", "session_id": session, "aud": "authenticated"}), now, now.plus_secs(600), None).unwrap();
    assert_eq!(check(&app, &token).body["error"], "session ended");
}

#[test]
fn logging_out_in_one_dialect_ends_the_token_in_all_that_accept_it() {
    let app = app();
    let c = credentials(&app);
    let r = send(&app, request("DELETE", "/authentication", b"", &[("authorization", &format!("Bearer {}", c.feathers))]));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(check(&app, &c.feathers).body["error"], "session ended");
    // The account's other sessions (GoTrue's, graphql's) live on.
    assert_eq!(check(&app, &c.gotrue).status, 200);
    assert_eq!(check(&app, &c.graphql).status, 200);
}

#[test]
fn a_short_inactivity_timeout_does_not_end_a_session_in_steady_use() {
    let app = app_with(&[("SESSION_INACTIVITY_TIMEOUT", "60")]);
    let c = credentials(&app);
    for _ in 0..10 {
        ports(&app).clock.advance_secs(20);
        let v = use_each(&app, &c);
        assert_eq!(v.gotrue.status, 200, "{}", v.gotrue.raw);
        assert_eq!(v.passwordless.status, 200, "{}", v.passwordless.raw);
    }
    ports(&app).clock.advance_secs(60);
    assert_eq!(use_each(&app, &c).passwordless.status, 401);
}


#[test]
fn a_graphql_refresh_token_is_not_exchanged_through_gotrue_to_escape_its_window() {
    let app = app_with(&[("GRAPHQL_JWT_LONG_RUNNING_REFRESH_TOKEN", "true"), ("GRAPHQL_JWT_REFRESH_EXP", "3600")]);
    confirmed_user(&app, "ann@example.com", PW);
    let q = json!({"query": "mutation($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { refreshToken } }",
                   "variables": {"u": "ann@example.com", "p": PW}});
    let g = call(&app, "POST", "/graphql", &q, None);
    let rt = g.body["data"]["tokenAuth"]["refreshToken"].as_str().unwrap().to_string();
    ports(&app).clock.advance_secs(3601);
    let again = json!({"query": "mutation($r: String!) { refreshToken(refreshToken: $r) { token } }", "variables": {"r": rt}});
    assert_eq!(graphql_error(&call(&app, "POST", "/graphql", &again, None)), "Refresh token is expired");
    // GoTrue's refresh grant does not take another dialect's refresh token.
    let r = refresh(&app, &rt);
    assert_eq!((r.status.as_u16(), error_code(&r)), (400, "refresh_token_not_found"), "{}", r.raw);
}

#[test]
fn a_gotrue_refresh_token_is_not_taken_by_graphql() {
    let app = app_with(&[("GRAPHQL_JWT_LONG_RUNNING_REFRESH_TOKEN", "true")]);
    let body = confirmed_user(&app, "ann@example.com", PW);
    let rt = s(&body, "refresh_token");
    let q = json!({"query": "mutation($r: String!) { refreshToken(refreshToken: $r) { token } }", "variables": {"r": rt}});
    assert_eq!(graphql_error(&call(&app, "POST", "/graphql", &q, None)), "Invalid refresh token");
    let revoke = json!({"query": "mutation($r: String!) { revokeToken(refreshToken: $r) { revoked } }", "variables": {"r": rt}});
    assert_eq!(graphql_error(&call(&app, "POST", "/graphql", &revoke, None)), "Invalid refresh token");
    assert_eq!(refresh(&app, &rt).status, 200, "still good where it belongs");
}

#[test]
fn even_a_one_second_inactivity_timeout_holds_a_session_in_steady_use() {
    let app = app_with(&[("SESSION_INACTIVITY_TIMEOUT", "1")]);
    let c = credentials(&app);
    for _ in 0..30 {
        ports(&app).clock.advance_ms(100);
        assert_eq!(use_each(&app, &c).passwordless.status, 200);
    }
    ports(&app).clock.advance_ms(1000);
    assert_eq!(use_each(&app, &c).passwordless.status, 401);
}

#[test]
fn a_gotrue_only_deployment_serves_no_other_dialect_and_takes_none_of_their_tokens() {
    let app = app_with(&[("DIALECTS", "gotrue")]);
    let body = confirmed_user(&app, "ann@example.com", PW);
    let users = call(&app, "POST", "/users", &json!({"email": "eve@example.com", "password": PW}), None);
    let unknown = call(&app, "POST", "/no-such-path", &json!({"email": "eve@example.com", "password": PW}), None);
    assert_eq!(users.status, 404, "{}", users.raw);
    assert_eq!((&users.body, &users.headers), (&unknown.body, &unknown.headers), "not told apart from an unknown path");
    let auth = call(&app, "POST", "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": PW}), None);
    assert_eq!(auth.status, 404);
    let q = json!({"query": "mutation { tokenAuth(username: \"ann@example.com\", password: \"x\") { token } }"});
    assert_eq!(call(&app, "POST", "/graphql", &q, None).status, 404);
    let reg = call(&app, "POST", "/auth/registration", &json!({"username": "eve", "session_platform": "P"}), None);
    assert_eq!(reg.status, 404);
    assert!(ports(&app).store.all_users().iter().all(|u| u.email.as_deref() != Some("eve@example.com")), "nothing stored");
    // GoTrue works, at both mounts, and so does the check for its tokens.
    let token = s(&body, "access_token");
    assert_eq!(call(&app, "GET", "/auth/v1/user", &Value::Null, Some(&token)).status, 200);
    assert_eq!(check(&app, &token).body["dialect"], "gotrue");
    // A Feathers-shaped token for a live session, signed with the real key, is not taken.
    let claims = check(&app, &token).body;
    let keys = JwtKeys::new(&app.auth().config().jwt_secret, 0);
    let now = Timestamp(1_700_000_000_000);
    let aud = app.auth().config().feathers_jwt_audience.clone();
    let feathers = keys
        .sign_blocking(json!({"sub": claims["user_id"], "jti": claims["session_id"], "aud": aud, "iss": "feathers"}), now, now.plus_secs(600), Some("access"))
        .unwrap();
    assert_eq!(check(&app, &feathers).body["error"], "invalid token");
}

#[test]
fn a_deployment_without_gotrue_answers_its_paths_404() {
    let app = app_with(&[("DIALECTS", "feathers,passwordless")]);
    for path in ["/signup", "/auth/v1/signup", "/token?grant_type=password"] {
        let r = call(&app, "POST", path, &json!({"email": "ann@example.com", "password": PW}), None);
        assert_eq!(r.status, 404, "{path}: {}", r.raw);
    }
    assert_eq!(call(&app, "GET", "/settings", &Value::Null, None).status, 404);
    let users = call(&app, "POST", "/users", &json!({"email": "ann@example.com", "password": PW}), None);
    assert_eq!(users.status, 201, "{}", users.raw);
}

#[test]
fn only_gotrue_tokens_verify_with_the_shared_secret_so_downstream_verifiers_take_no_other() {
    // A PostgREST-style resource server checks tokens with JWT_SECRET alone.
    let app = app();
    let c = credentials(&app);
    let downstream = JwtKeys::new(&app.auth().config().jwt_secret, 0);
    let now = Timestamp(1_700_000_000_000);
    assert!(downstream.verify_blocking::<Value>(&c.gotrue, now).is_ok());
    for (name, token) in [("feathers", &c.feathers), ("graphql", &c.graphql)] {
        let e = downstream.verify_blocking::<Value>(token, now).unwrap_err();
        assert_eq!(e, portcullis_shared::token::TokenError::BadSignature, "{name}");
    }
}

#[test]
fn a_gotrue_shaped_token_for_another_audience_is_refused() {
    let app = app();
    let c = credentials(&app);
    let subject = check(&app, &c.gotrue).body;
    let keys = JwtKeys::new(&app.auth().config().jwt_secret, 0);
    let now = Timestamp(1_700_000_000_000);
    let other = json!({"sub": subject["user_id"], "session_id": subject["session_id"], "aud": "service_role"});
    let token = keys.sign_blocking(other, now, now.plus_secs(600), None).unwrap();
    assert_eq!(error_code(&call(&app, "GET", "/user", &Value::Null, Some(&token))), "bad_jwt");
    assert_eq!(check(&app, &token).body["error"], "invalid token");
}

#[test]
fn an_oversized_body_does_not_tell_an_unserved_dialect_from_an_unknown_path() {
    let app = app_with(&[("DIALECTS", "gotrue")]);
    let big = vec![b'x'; 70 * 1024];
    let answer = |path: &str| send(&app, request("POST", path, &big, &[("content-type", "application/json"), API_VERSION]));
    let unknown = answer("/no-such-path");
    assert_eq!(unknown.status, 413);
    for path in ["/users", "/graphql", "/auth/registration"] {
        let r = answer(path);
        assert_eq!((r.status, &r.body), (unknown.status, &unknown.body), "{path}");
    }
}
