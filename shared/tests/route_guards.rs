//! The route tables' guards, as an attacker probes them: path spellings that might slip past a
//! guard, tokens of one dialect at another's routes, other accounts' ids, switched-off
//! dialects. Each assertion states what must hold.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::testing::TestPorts;
use portcullis_shared::App;
use serde_json::{json, Value};
use support::*;

fn raw(app: &App<TestPorts>, method: &str, path: &str, body: &Value, auth: Option<&str>) -> Reply {
    call(app, method, path, body, auth)
}

/// A GoTrue user token, a Feathers token, a passwordless session token, a graphql-jwt token.
fn tokens(app: &App<TestPorts>) -> (String, String, String, String, String) {
    let session = confirmed_user(app, "ann@example.com", "correct horse");
    let gotrue = s(&session, "access_token");
    let user_id = s(&session["user"], "id");
    let r = raw(app, "POST", "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": "correct horse"}), None);
    assert_eq!(r.status, 201, "{}", r.raw);
    let feathers = s(&r.body, "accessToken");
    let r = raw(app, "POST", "/auth/registration", &json!({"username": "bobby", "session_platform": "cli"}), None);
    assert_eq!(r.status, 200, "{}", r.raw);
    let pwless = s(&r.body, "session_token");
    let q = json!({"query": "mutation($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { token } }",
                   "variables": {"u": "ann@example.com", "p": "correct horse"}});
    let r = raw(app, "POST", "/graphql", &q, None);
    let graphql = r.body["data"]["tokenAuth"]["token"].as_str().unwrap_or_default().to_string();
    assert!(!graphql.is_empty(), "{}", r.raw);
    (gotrue, feathers, pwless, graphql, user_id)
}

#[test]
fn admin_paths_with_tricks_never_reach_an_admin_handler_without_the_service_role() {
    let app = app();
    let (gotrue, feathers, pwless, graphql, id) = tokens(&app);
    let paths = [
        "/admin/users".to_string(), "/admin/users/".to_string(), format!("/admin/users/{id}"), format!("/admin/users/{id}/"),
        format!("/admin/users/{id}/factors"), "/admin/users//".to_string(), "//admin/users".to_string(),
        "/admin//users".to_string(), "/admin/users%2F".to_string(), format!("/admin/users%2F{id}"),
        "/auth/v1/admin/users".to_string(), "/auth/v1/admin/users/".to_string(), format!("/auth/v1/admin/users/{id}"),
        "/auth/v1//admin/users".to_string(), "/auth/v1/auth/v1/admin/users".to_string(), "/admin/generate_link".to_string(),
        "/admin/generate_link/".to_string(), "/invite".to_string(), "/invite/".to_string(), "/auth/v1/invite".to_string(),
    ];
    for token in [None, Some(gotrue.as_str()), Some(feathers.as_str()), Some(pwless.as_str()), Some(graphql.as_str())] {
        for path in &paths {
            for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
                let r = raw(&app, method, path, &json!({"email": "x@example.com", "type": "signup", "password": "correct horse"}), token);
                assert!(
                    !(r.status.is_success()) && r.status != 500,
                    "{method} {path} with {token:?} answered {}: {}", r.status, r.raw
                );
            }
        }
    }
}

#[test]
fn each_dialects_session_routes_take_only_its_own_tokens() {
    let app = app();
    let (gotrue, feathers, pwless, graphql, id) = tokens(&app);
    let service = {
        // Any JWT with role service_role under the GoTrue key would do; none of the user tokens is one.
        String::from("not-a-service-key")
    };
    let gotrue_routes = [("GET", "/user"), ("PUT", "/user"), ("GET", "/reauthenticate"), ("POST", "/logout"), ("POST", "/factors"), ("DELETE", "/user/identities/x")];
    for (m, p) in gotrue_routes {
        for t in [&feathers, &pwless, &graphql, &service] {
            for prefix in ["", "/auth/v1"] {
                let r = raw(&app, m, &format!("{prefix}{p}"), &json!({"data": {"x": 1}}), Some(t));
                assert!(!r.status.is_success() && r.status != 500, "{m} {prefix}{p}: {} {}", r.status, r.raw);
            }
        }
    }
    let feathers_routes = [("GET", format!("/users/{id}")), ("GET", format!("/users/{id}/")), ("PATCH", format!("/users/{id}")), ("DELETE", "/authentication".to_string())];
    for (m, p) in &feathers_routes {
        for t in [&gotrue, &pwless, &graphql] {
            let r = raw(&app, m, p, &json!({"password": "another horse"}), Some(t));
            assert!(!r.status.is_success() && r.status != 500, "{m} {p}: {} {}", r.status, r.raw);
        }
    }
    for (m, p) in [("GET", "/auth/me"), ("GET", "/auth/me/"), ("GET", "/auth/sessions"), ("POST", "/auth/logout"), ("PUT", "/auth/email")] {
        for t in [&gotrue, &feathers, &graphql] {
            let r = raw(&app, m, p, &json!({"email": "z@example.com"}), Some(t));
            assert!(!r.status.is_success() && r.status != 500, "{m} {p}: {} {}", r.status, r.raw);
        }
    }
}

#[test]
fn feathers_user_routes_refuse_another_accounts_id_in_any_spelling() {
    let app = app();
    let (_, _, _, _, victim) = tokens(&app);
    let r = raw(&app, "POST", "/users", &json!({"email": "mallory@example.com", "password": "mallory pass"}), None);
    assert_eq!(r.status, 201);
    let r = raw(&app, "POST", "/authentication", &json!({"strategy": "local", "email": "mallory@example.com", "password": "mallory pass"}), None);
    let t = s(&r.body, "accessToken");
    for p in [format!("/users/{victim}"), format!("/users/{victim}/"), format!("/users/{victim}//"), format!("/users//{victim}"), format!("/users/{victim}%2F")] {
        for m in ["GET", "PATCH", "DELETE"] {
            let r = raw(&app, m, &p, &json!({"password": "pwned pwned"}), Some(&t));
            assert!(!r.status.is_success() && r.status != 500, "{m} {p}: {} {}", r.status, r.raw);
        }
    }
    // The victim is still there and still signs in.
    assert_eq!(login(&app, "ann@example.com", "correct horse").status, 200);
}

#[test]
fn switched_off_dialects_answer_as_unknown_paths_and_refuse_their_tokens_at_the_check() {
    let app = app_with(&[("DIALECTS", "gotrue")]);
    for (m, p, b) in [
        ("POST", "/users", json!({"email": "a@example.com", "password": "correct horse"})),
        ("POST", "/users/", json!({"email": "a@example.com", "password": "correct horse"})),
        ("POST", "/authentication", json!({"strategy": "local", "email": "a@example.com", "password": "correct horse"})),
        ("POST", "/auth/registration", json!({"username": "bobby", "session_platform": "cli"})),
        ("POST", "/auth/registration/", json!({"username": "bobby", "session_platform": "cli"})),
        ("POST", "/graphql", json!({"query": "{ __typename }"})),
        ("POST", "/graphql/", json!({"query": "{ __typename }"})),
    ] {
        let r = raw(&app, m, p, &b, None);
        assert_eq!(r.status, 404, "{m} {p}: {}", r.raw);
    }
    assert!(!app.routes_to_socket("/socket.io/"));
}

#[test]
fn the_check_takes_no_service_role_key_and_no_unknown_path() {
    let app = app();
    let (gotrue, ..) = tokens(&app);
    assert_eq!(check(&app, &gotrue).status, 200);
    for p in ["/api/check/", "/api//check", "/API/check", "/api/check%2F"] {
        let r = get(&app, p, Some(&gotrue));
        assert_ne!(r.status, 200, "{p}: {}", r.raw);
    }
}
