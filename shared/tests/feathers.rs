//! The Feathers dialect through the app with a fixed clock: the users and authentication
//! services, tokens and their session, accounts shared with GoTrue, and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use base64::Engine as _;
use portcullis_shared::testing::TestPorts;
use portcullis_shared::App;
use serde_json::{json, Value};
use support::*;

fn fx(app: &App<TestPorts>, method: &str, path: &str, body: &[u8], token: Option<&str>) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    send(app, request(method, path, body, &headers))
}

fn json_fx(app: &App<TestPorts>, method: &str, path: &str, body: &Value, token: Option<&str>) -> Reply {
    fx(app, method, path, body.to_string().as_bytes(), token)
}

fn create_user(app: &App<TestPorts>, email: &str, password: &str) -> Reply {
    json_fx(app, "POST", "/users", &json!({"email": email, "password": password}), None)
}

fn local(app: &App<TestPorts>, email: &str, password: &str) -> Reply {
    json_fx(app, "POST", "/authentication", &json!({"strategy": "local", "email": email, "password": password}), None)
}

fn jwt(app: &App<TestPorts>, token: &str) -> Reply {
    json_fx(app, "POST", "/authentication", &json!({"strategy": "jwt", "accessToken": token}), None)
}

/// Registers and signs in; returns (user id, access token).
fn signed_in(app: &App<TestPorts>, email: &str) -> (String, String) {
    let r = create_user(app, email, "correct horse");
    assert_eq!(r.status, 201, "{}", r.raw);
    let a = local(app, email, "correct horse");
    assert_eq!(a.status, 201, "{}", a.raw);
    (s(&r.body, "id"), s(&a.body, "accessToken"))
}

fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}")).to_string()
}

/// Asserts a Feathers error body of class `name` with status `code` and the message.
fn assert_error(r: &Reply, code: u16, name: &str, message: &str) {
    assert_eq!(r.status.as_u16(), code, "{}", r.raw);
    assert_eq!(r.body["name"], name, "{}", r.raw);
    assert_eq!(r.body["code"], code, "{}", r.raw);
    assert!(r.body["className"].as_str().is_some_and(|c| !c.is_empty()), "{}", r.raw);
    assert!(r.body["message"].as_str().unwrap().contains(message), "{}", r.raw);
}

fn segment(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[test]
fn users_create_shows_id_email_and_avatar_but_never_the_password() {
    let app = app();
    let r = create_user(&app, " Test@Example.com", "correct horse");
    assert_eq!(r.status, 201, "{}", r.raw);
    let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["avatar", "email", "id"]);
    assert_eq!(r.body["email"], "test@example.com");
    // md5("test@example.com"), as Gravatar expects.
    assert_eq!(r.body["avatar"], "https://s.gravatar.com/avatar/55502f40dc8b7c769880b10874abc9d0?s=60");
    assert!(!r.raw.contains("correct horse") && !r.raw.contains("argon2"));
    // No confirmation by default: no mail, and the account signs in at once.
    assert!(sent_mails(&app).is_empty());
    assert_eq!(local(&app, "test@example.com", "correct horse").status, 201);
}

#[test]
fn a_taken_address_is_a_conflict() {
    let app = app();
    create_user(&app, "ann@example.com", "correct horse");
    let r = create_user(&app, "ANN@example.com", "another one");
    assert_error(&r, 409, "Conflict", "already exists");
    assert_eq!(r.body["className"], "conflict");
    assert_eq!(local(&app, "ann@example.com", "correct horse").status, 201, "the first password still works");
}

#[test]
fn local_strategy_issues_an_access_token_for_a_new_session() {
    let app = app();
    let (id, _) = signed_in(&app, "ann@example.com");
    let r = local(&app, "ann@example.com", "correct horse");
    assert_eq!(r.status, 201, "{}", r.raw);
    let token = s(&r.body, "accessToken");
    let header = segment(&token, 0);
    assert_eq!(header["alg"], "HS256");
    assert_eq!(header["typ"], "access");
    let payload = &r.body["authentication"]["payload"];
    assert_eq!(r.body["authentication"]["strategy"], "local");
    assert_eq!(payload, &segment(&token, 1), "the payload reported is the token's");
    assert_eq!(payload["sub"], id.as_str());
    assert_eq!(payload["aud"], "http://auth.test");
    assert_eq!(payload["iss"], "feathers");
    assert_eq!(payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap(), 86_400);
    let sessions = ports(&app).store.all_sessions();
    assert!(sessions.iter().any(|s| payload["jti"] == s.id.as_str()), "jti names a stored session");
    assert_eq!(r.body["user"], json!({"id": id, "email": "ann@example.com", "avatar": r.body["user"]["avatar"]}));
}

#[test]
fn wrong_or_missing_credentials_all_read_invalid_login() {
    let app = app();
    signed_in(&app, "ann@example.com");
    for body in [
        json!({"strategy": "local", "email": "ann@example.com", "password": "wrong password"}),
        json!({"strategy": "local", "email": "nobody@example.com", "password": "correct horse"}),
        json!({"strategy": "local", "email": "ann@example.com"}),
        json!({"strategy": "local", "password": "correct horse"}),
        json!({"strategy": "local", "email": "ann@example.com", "password": "x".repeat(5000)}),
    ] {
        let r = json_fx(&app, "POST", "/authentication", &body, None);
        assert_error(&r, 401, "NotAuthenticated", "Invalid login");
        assert_eq!(r.body["message"], "Invalid login");
    }
}

#[test]
fn jwt_strategy_returns_the_same_token_with_its_payload() {
    let app = app();
    let (id, token) = signed_in(&app, "ann@example.com");
    let r = jwt(&app, &token);
    assert_eq!(r.status, 201, "{}", r.raw);
    assert_eq!(r.body["accessToken"], token.as_str());
    assert_eq!(r.body["authentication"]["strategy"], "jwt");
    assert_eq!(r.body["authentication"]["accessToken"], token.as_str());
    assert_eq!(r.body["authentication"]["payload"], segment(&token, 1));
    assert_eq!(r.body["user"]["id"], id.as_str());
}

#[test]
fn logout_ends_the_session_everywhere() {
    let app = app();
    let (id, token) = signed_in(&app, "ann@example.com");
    let other = s(&local(&app, "ann@example.com", "correct horse").body, "accessToken");
    assert_eq!(get(&app, "/api/check", Some(&token)).status, 200);
    let r = fx(&app, "DELETE", "/authentication", b"", Some(&token));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["accessToken"], token.as_str());
    assert_eq!(r.body["user"]["id"], id.as_str());
    assert_error(&jwt(&app, &token), 401, "NotAuthenticated", "Session has ended");
    assert_eq!(get(&app, "/api/check", Some(&token)).status, 401);
    assert_error(&fx(&app, "GET", &format!("/users/{id}"), b"", Some(&token)), 401, "NotAuthenticated", "");
    assert_error(&fx(&app, "DELETE", "/authentication", b"", Some(&token)), 401, "NotAuthenticated", "");
    assert_eq!(jwt(&app, &other).status, 201, "the account's other session lives on");
}

#[test]
fn logout_by_id_must_name_the_header_token() {
    let app = app();
    let (_, token) = signed_in(&app, "ann@example.com");
    let r = fx(&app, "DELETE", "/authentication/someone-elses-token", b"", Some(&token));
    assert_error(&r, 401, "NotAuthenticated", "Invalid access token");
    assert_eq!(jwt(&app, &token).status, 201, "nothing was ended");
    assert_eq!(fx(&app, "DELETE", &format!("/authentication/{token}"), b"", Some(&token)).status, 200);
    let none = fx(&app, "DELETE", "/authentication", b"", None);
    assert_error(&none, 401, "NotAuthenticated", "no `strategy` set");
}

#[test]
fn the_header_token_may_be_bearer_jwt_or_bare() {
    let app = app();
    let (id, token) = signed_in(&app, "ann@example.com");
    for value in [format!("Bearer {token}"), format!("JWT {token}"), token.clone()] {
        let r = send(&app, request("GET", &format!("/users/{id}"), b"", &[("authorization", value.as_str())]));
        assert_eq!(r.status, 200, "{value}: {}", r.raw);
    }
    let r = send(&app, request("GET", &format!("/users/{id}"), b"", &[("authorization", &format!("Basic {token}"))]));
    assert_error(&r, 401, "NotAuthenticated", "Not authenticated");
}

#[test]
fn an_expired_token_reads_jwt_expired() {
    let app = app();
    let (_, token) = signed_in(&app, "ann@example.com");
    ports(&app).clock.advance_secs(86_400 + 60);
    let r = jwt(&app, &token);
    assert_error(&r, 401, "NotAuthenticated", "jwt expired");
    assert_eq!(r.body["data"]["name"], "TokenExpiredError");
    assert_eq!(get(&app, "/api/check", Some(&token)).body["error"], "token expired");
}

#[test]
fn forged_and_foreign_tokens_are_refused() {
    let app = app();
    let (_, token) = signed_in(&app, "ann@example.com");
    // Same claims, another key.
    let stranger = app_with(&[("JWT_SECRET", "another-secret-another-secret-12345")]);
    let (_, foreign) = signed_in(&stranger, "ann@example.com");
    assert_error(&jwt(&app, &foreign), 401, "NotAuthenticated", "invalid signature");
    // alg: none, with the real claims.
    let parts: Vec<&str> = token.split('.').collect();
    let none_header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"access"}"#);
    assert_error(&jwt(&app, &format!("{none_header}.{}.", parts[1])), 401, "NotAuthenticated", "invalid algorithm");
    assert_error(&jwt(&app, "not.a.jwt"), 401, "NotAuthenticated", "jwt malformed");
    assert_error(&jwt(&app, "garbage"), 401, "NotAuthenticated", "jwt malformed");
    // A GoTrue access token is ours but not a Feathers token.
    confirmed_user(&app, "bob@example.com", "correct horse");
    let gotrue = s(&login(&app, "bob@example.com", "correct horse").body, "access_token");
    assert_error(&jwt(&app, &gotrue), 401, "NotAuthenticated", "invalid token");
    // Signed with our key for another audience.
    let elsewhere = App::new(TestPorts::default(), config_with(&[("FEATHERS_JWT_AUDIENCE", "https://other.example")])).unwrap();
    let (_, other_aud) = signed_in(&elsewhere, "ann@example.com");
    assert_error(&jwt(&app, &other_aud), 401, "NotAuthenticated", "jwt audience invalid. expected: http://auth.test");
    assert_error(&jwt(&app, ""), 401, "NotAuthenticated", "No access token");
    assert_error(&json_fx(&app, "POST", "/authentication", &json!({"strategy": "jwt"}), None), 401, "NotAuthenticated", "No access token");
}

#[test]
fn strategies_must_be_named_and_known() {
    let app = app();
    let r = json_fx(&app, "POST", "/authentication", &json!({"email": "a@b.co", "password": "x"}), None);
    assert_error(&r, 401, "NotAuthenticated", "Invalid authentication information (no `strategy` set)");
    let r = json_fx(&app, "POST", "/authentication", &json!({"strategy": "oauth"}), None);
    assert_error(&r, 401, "NotAuthenticated", "strategy not allowed in authStrategies");
}

#[test]
fn malformed_and_mistyped_bodies_are_bad_requests() {
    let app = app();
    for (path, body) in [
        ("/users", &b"{\"email\": "[..]),
        ("/users", b""),
        ("/users", b"[]"),
        ("/users", br#"{"email": 5, "password": "correct horse"}"#),
        ("/users", br#"{"email": "a@b.co", "password": ["x"]}"#),
        ("/authentication", b"{nope"),
        ("/authentication", br#"{"strategy": 7}"#),
        ("/authentication", br#"{"strategy": "local", "email": {"$ne": null}, "password": "x"}"#),
    ] {
        let r = fx(&app, "POST", path, body, None);
        assert_error(&r, 400, "BadRequest", "");
        assert_eq!(r.body["className"], "bad-request");
    }
    assert!(ports(&app).store.all_users().is_empty(), "nothing was stored");
}

#[test]
fn users_create_checks_each_field() {
    let app = app();
    let long_email = format!("{}@example.com", "a".repeat(300));
    let cases = [
        (json!({"password": "correct horse"}), "email is required"),
        (json!({"email": "ann@example.com"}), "password is required"),
        (json!({"email": "not-an-address", "password": "correct horse"}), "Invalid email"),
        (json!({"email": long_email, "password": "correct horse"}), "Invalid email"),
        (json!({"email": "ann@example.com", "password": "short"}), "at least 6 characters"),
        (json!({"email": "ann@example.com", "password": "x".repeat(2000)}), "too long"),
    ];
    for (body, message) in cases {
        assert_error(&json_fx(&app, "POST", "/users", &body, None), 400, "BadRequest", message);
    }
    assert!(ports(&app).store.all_users().is_empty());
    let huge = format!(r#"{{"email": "a@b.co", "password": "{}"}}"#, "x".repeat(70_000));
    assert_error(&fx(&app, "POST", "/users", huge.as_bytes(), None), 413, "PayloadTooLarge", "too large");
}

#[test]
fn users_get_patch_and_remove_work_on_ones_own_account_only() {
    let app = app();
    let (ann, token) = signed_in(&app, "ann@example.com");
    let (bob, _) = signed_in(&app, "bob@example.com");
    let r = fx(&app, "GET", &format!("/users/{ann}"), b"", Some(&token));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["email"], "ann@example.com");
    for method in ["GET", "PATCH", "DELETE"] {
        let r = fx(&app, method, &format!("/users/{bob}"), br#"{"password": "taken over"}"#, Some(&token));
        assert_error(&r, 404, "NotFound", &format!("No record found for id '{bob}'"));
        let r = fx(&app, method, &format!("/users/{ann}"), br#"{"password": "taken over"}"#, None);
        assert_error(&r, 401, "NotAuthenticated", "Not authenticated");
    }
    assert_eq!(local(&app, "bob@example.com", "correct horse").status, 201, "bob is untouched");
    assert_error(&fx(&app, "GET", "/users", b"", Some(&token)), 405, "MethodNotAllowed", "Method `find` is not supported");
    for token in [Some(token.as_str()), None] {
        assert_error(&fx(&app, "DELETE", "/users", b"", token), 405, "MethodNotAllowed", "Method `remove` is not supported");
        assert_error(&fx(&app, "PATCH", "/users", b"{}", token), 405, "MethodNotAllowed", "Method `patch` is not supported");
    }
    assert_error(&fx(&app, "PUT", &format!("/users/{ann}"), b"{}", Some(&token)), 405, "MethodNotAllowed", "`update`");
    assert_error(&fx(&app, "GET", "/authentication", b"", Some(&token)), 405, "MethodNotAllowed", "`find`");
    assert_error(&fx(&app, "GET", "/users/a/b", b"", Some(&token)), 404, "NotFound", "Page not found");
}

#[test]
fn patching_the_password_ends_the_other_sessions() {
    let app = app();
    let (id, token) = signed_in(&app, "ann@example.com");
    let other = s(&local(&app, "ann@example.com", "correct horse").body, "accessToken");
    let path = format!("/users/{id}");
    assert_error(&json_fx(&app, "PATCH", &path, &json!({"email": "new@example.com"}), Some(&token)), 400, "BadRequest", "Only `password`");
    assert_error(&json_fx(&app, "PATCH", &path, &json!({"password": "short"}), Some(&token)), 400, "BadRequest", "at least 6");
    assert_error(&json_fx(&app, "PATCH", &path, &json!({}), Some(&token)), 400, "BadRequest", "password is required");
    assert_error(&fx(&app, "PATCH", &path, b"{", Some(&token)), 400, "BadRequest", "Malformed JSON");
    assert_eq!(jwt(&app, &other).status, 201, "refused patches changed nothing");
    let r = json_fx(&app, "PATCH", &path, &json!({"password": "battery staple"}), Some(&token));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["id"], id.as_str());
    assert!(!r.raw.contains("battery staple"));
    assert_error(&local(&app, "ann@example.com", "correct horse"), 401, "NotAuthenticated", "Invalid login");
    assert_eq!(local(&app, "ann@example.com", "battery staple").status, 201);
    assert_eq!(jwt(&app, &token).status, 201, "the session that changed it stays");
    assert_eq!(jwt(&app, &other).status, 401, "the other session ended");
}

#[test]
fn removing_the_account_ends_everything_and_frees_the_address() {
    let app = app();
    let (id, token) = signed_in(&app, "ann@example.com");
    let r = fx(&app, "DELETE", &format!("/users/{id}"), b"", Some(&token));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(jwt(&app, &token).status, 401);
    assert_error(&local(&app, "ann@example.com", "correct horse"), 401, "NotAuthenticated", "Invalid login");
    assert!(ports(&app).store.all_sessions().iter().all(|s| s.user_id.as_str() != id));
    assert_eq!(create_user(&app, "ann@example.com", "a new start").status, 201);
}

#[test]
fn a_feathers_sign_up_proves_no_mailbox_so_the_address_stays_unverified_everywhere() {
    let app = app();
    let (_, token) = signed_in(&app, "ann@example.com"); // Feathers signs in at once, as upstream
    assert!(sent_mails(&app).is_empty(), "no mail went out");
    let check = get(&app, "/api/check", Some(&token));
    assert_eq!(check.body["email_verified"], false, "{}", check.raw);
    // GoTrue answers as for any unconfirmed address (as for a wrong password, unless
    // REVEAL_EMAIL_NOT_CONFIRMED); graphql-jwt likewise.
    assert_eq!(error_code(&login(&app, "ann@example.com", "correct horse")), "invalid_credentials");
    let q = json!({"query": "mutation { tokenAuth(username: \"ann@example.com\", password: \"correct horse\") { token } }"});
    let g = send(&app, request("POST", "/graphql", q.to_string().as_bytes(), &[("content-type", "application/json")]));
    assert_eq!(g.body["errors"][0]["message"], "Please enter valid credentials", "{}", g.raw);
    // Proof of the mailbox (here a recovery code) verifies it for every dialect.
    assert_eq!(post(&app, "/recover", &json!({"email": "ann@example.com"})).status, 200);
    let code = code_for(&app, "ann@example.com");
    let r = post(&app, "/verify", &json!({"type": "recovery", "email": "ann@example.com", "token": code}));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert!(r.body["user"]["email_confirmed_at"].is_string());
    assert_eq!(get(&app, "/api/check", Some(&s(&r.body, "access_token"))).body["email_verified"], true);
    // The Feathers session from before the proof ends with it (it may have been a stranger's).
    assert_eq!(get(&app, "/api/check", Some(&token)).body["error"], "session ended");
}

#[test]
fn accounts_are_shared_with_gotrue() {
    let app = app();
    confirmed_user(&app, "bob@example.com", "gotrue pass");
    let r = local(&app, "bob@example.com", "gotrue pass");
    assert_eq!(r.status, 201, "a GoTrue account signs in with Feathers: {}", r.raw);
    let check = get(&app, "/api/check", Some(&s(&r.body, "accessToken")));
    assert_eq!(check.body["email_verified"], true, "{}", check.raw);
}

#[test]
fn feathers_tokens_pass_the_resource_check() {
    let app = app();
    let (id, token) = signed_in(&app, "ann@example.com");
    let r = get(&app, "/api/check", Some(&token));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["user_id"], id.as_str());
    assert_eq!(r.body["session_id"], segment(&token, 1)["jti"]);
    assert_eq!(r.body["expires_at"], segment(&token, 1)["exp"]);
}

#[test]
fn confirmation_can_be_required() {
    let app = app_with(&[("FEATHERS_REQUIRE_CONFIRMATION", "true")]);
    let r = create_user(&app, "ann@example.com", "correct horse");
    assert_eq!(r.status, 201, "{}", r.raw);
    assert_error(&local(&app, "ann@example.com", "correct horse"), 401, "NotAuthenticated", "Invalid login");
    let code = code_for(&app, "ann@example.com");
    assert_eq!(post(&app, "/verify", &json!({"type": "signup", "email": "ann@example.com", "token": code})).status, 200);
    assert_eq!(local(&app, "ann@example.com", "correct horse").status, 201);
    // With a mail step, a taken address looks like a new one (no enumeration).
    ports(&app).clock.advance_secs(61);
    let again = create_user(&app, "ann@example.com", "someone else");
    assert_eq!(again.status, 201, "{}", again.raw);
    assert_ne!(again.body["id"], r.body["id"]);
    assert_eq!(local(&app, "ann@example.com", "correct horse").status, 201, "the owner's password stands");
}

#[test]
fn an_unconfirmed_address_is_named_only_when_the_operator_asks() {
    let app = app_with(&[("FEATHERS_REQUIRE_CONFIRMATION", "true"), ("REVEAL_EMAIL_NOT_CONFIRMED", "true")]);
    assert_eq!(create_user(&app, "ann@example.com", "correct horse").status, 201);
    assert_error(&local(&app, "ann@example.com", "correct horse"), 401, "NotAuthenticated", "Email not confirmed");
    assert_error(&local(&app, "ann@example.com", "wrong horse"), 401, "NotAuthenticated", "Invalid login");
}

#[test]
fn closed_signups_are_forbidden() {
    let app = app_with(&[("DISABLE_SIGNUP", "true")]);
    assert_error(&create_user(&app, "ann@example.com", "correct horse"), 403, "Forbidden", "Signups are disabled");
}
