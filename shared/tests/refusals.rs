//! Requests the app refuses before any dialect handler reads them, each in its dialect's own
//! error shape and with nothing done: bodies that are not the endpoint's content type (what a
//! web page can send cross-site without a preflight), headers the adapter could not convert,
//! and oversized bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::app::MALFORMED_HEADER_MARK;
use serde_json::json;
use support::*;

#[test]
fn json_sent_as_text_plain_is_415_in_every_dialect_and_does_nothing() {
    let app = app();
    let plain = ("content-type", "text/plain;charset=UTF-8");
    let signup = json!({"email": "csrf@example.com", "password": "csrf pass 1"}).to_string();
    let cases = [
        ("POST", "/auth/v1/signup", signup.clone()),
        ("POST", "/auth/v1/otp", json!({"email": "csrf@example.com"}).to_string()),
        ("POST", "/auth/v1/recover", json!({"email": "csrf@example.com"}).to_string()),
        ("POST", "/signup", signup.clone()),
        ("POST", "/users", signup.clone()),
        ("POST", "/graphql", json!({"query": "{ __typename }"}).to_string()),
        ("POST", "/auth/registration", json!({"username": "csrf_user", "session_platform": "P"}).to_string()),
    ];
    for (method, path, body) in cases {
        let r = send(&app, request(method, path, body.as_bytes(), &[API_VERSION, plain]));
        assert_eq!(r.status, 415, "{path}: {}", r.raw);
        let shape_ok = match path {
            "/users" => r.body["name"] == "UnsupportedMediaType" && r.body["code"] == 415,
            "/graphql" => r.body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("application/json")),
            "/auth/registration" => r.body["error"].as_str().is_some_and(|m| m.contains("application/json")),
            _ => r.body["code"] == "validation_failed",
        };
        assert!(shape_ok, "{path}: {}", r.raw);
    }
    assert!(ports(&app).store.all_users().is_empty(), "no account was made");
    assert!(sent_mails(&app).is_empty(), "no mail went out");
    // JSON with a charset, and `+json` types, are JSON.
    let ok = send(&app, request("POST", "/signup", signup.as_bytes(), &[API_VERSION, ("content-type", "application/json; charset=utf-8")]));
    assert_eq!(ok.status, 200, "{}", ok.raw);
    let vnd = send(&app, request("POST", "/graphql", br#"{"query": "{ __typename }"}"#, &[("content-type", "application/graphql-response+json")]));
    assert_eq!(vnd.status, 200, "{}", vnd.raw);
}

#[test]
fn the_confirmation_forms_take_only_forms() {
    let app = app();
    for path in ["/auth/confirm", "/auth/email/confirm"] {
        let r = send(&app, request("POST", path, br#"{"token": "x"}"#, &[JSON]));
        assert_eq!(r.status, 415, "{path}: {}", r.raw);
        assert!(r.body["error"].as_str().unwrap().contains("x-www-form-urlencoded"), "{}", r.raw);
    }
}

#[test]
fn a_header_the_adapter_could_not_convert_is_400_in_the_dialects_shape() {
    let app = app();
    let marked = (MALFORMED_HEADER_MARK, "1");
    let g = send(&app, request("POST", "/auth/v1/token?grant_type=password", b"{}", &[API_VERSION, JSON, marked]));
    assert_eq!((g.status.as_u16(), error_code(&g)), (400, "validation_failed"), "{}", g.raw);
    let f = send(&app, request("POST", "/authentication", b"{}", &[JSON, marked]));
    assert_eq!((f.status.as_u16(), f.body["name"].as_str()), (400, Some("BadRequest")), "{}", f.raw);
    let q = send(&app, request("POST", "/graphql", b"{}", &[JSON, marked]));
    assert_eq!(q.status, 400, "{}", q.raw);
    assert!(q.body["errors"][0]["message"].as_str().unwrap().contains("header"), "{}", q.raw);
}

#[test]
fn bodiless_requests_need_no_content_type() {
    let app = app();
    let token = s(&confirmed_user(&app, "ann@example.com", "ann pass 1"), "access_token");
    let auth = format!("Bearer {token}");
    let r = send(&app, request("POST", "/logout", b"", &[API_VERSION, ("authorization", &auth)]));
    assert_eq!(r.status, 204, "{}", r.raw);
}
