//! Shared helpers for the integration tests: an app over the in-memory ports, request builders
//! and readers for what the mail catcher would show.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

pub mod idp;
pub mod mfa;

use http::{HeaderMap, Request, StatusCode};
use portcullis_shared::model::{Timestamp, User, UserId};
use portcullis_shared::ports::{Clock as _, Users as _};
use portcullis_shared::testing::{RustCryptoSignatures, TestPorts};
use portcullis_shared::token::{JwtKeys, TokenError, Verified};
use portcullis_shared::{App, Config};
use serde_json::Value;
use std::collections::HashMap;

pub const API_VERSION: (&str, &str) = ("x-supabase-api-version", "2024-01-01");
pub const JSON: (&str, &str) = ("content-type", "application/json");
pub const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

pub fn config_with(extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = [
        ("SITE_URL", "http://localhost:3000"),
        ("API_EXTERNAL_URL", "http://auth.test"),
        // As wrangler.toml: Cloudflare's edge sets it.
        ("RATE_LIMIT_HEADER", "CF-Connecting-IP"),
        ("JWT_SECRET", "test-secret-test-secret-test-secret!"),
        // Small Argon2 memory keeps the suite fast; the default parameters have their own test.
        ("ARGON2_M_KIB", "64"),
        ("ARGON2_T", "1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    Config::from_lookup(|k| vars.get(k).cloned()).unwrap()
}

pub fn app() -> App<TestPorts> {
    app_with(&[])
}

pub fn app_with(extra: &[(&str, &str)]) -> App<TestPorts> {
    App::new(TestPorts::default(), config_with(extra)).unwrap()
}

pub fn ports(app: &App<TestPorts>) -> &TestPorts {
    app.auth().ports()
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: String,
}

pub fn request(method: &str, path: &str, body: &[u8], headers: &[(&str, &str)]) -> Request<Vec<u8>> {
    let mut b = Request::builder()
        .method(method)
        .uri(format!("http://auth.test{path}"))
        .header("user-agent", "test-suite/1.0");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.to_vec()).unwrap()
}

pub fn send(app: &App<TestPorts>, req: Request<Vec<u8>>) -> Reply {
    let answer = pollster::block_on(app.handle(req));
    // As the worker does after answering.
    pollster::block_on(app.deliver(answer.outbox));
    let res = answer.response;
    let raw = String::from_utf8(res.body().clone()).unwrap();
    let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
    Reply {
        status: res.status(),
        headers: res.headers().clone(),
        body,
        raw,
    }
}

pub fn post(app: &App<TestPorts>, path: &str, body: &Value) -> Reply {
    send(app, request("POST", path, body.to_string().as_bytes(), &[API_VERSION, JSON]))
}

/// A GoTrue POST from the client at address `client` (`CF-Connecting-IP`, which the tests'
/// config believes).
pub fn from(app: &App<TestPorts>, client: &str, path: &str, body: &Value) -> Reply {
    send(app, request("POST", path, body.to_string().as_bytes(), &[API_VERSION, JSON, ("cf-connecting-ip", client)]))
}

/// The token in the newest mail's link to `path` for `to`.
pub fn link_of(app: &App<TestPorts>, to: &str, path: &str) -> String {
    let mail = sent_mails(app).into_iter().rev().find(|m| m.to == to).expect("a mail");
    let at = mail.text.find(path).expect("a link") + path.len();
    mail.text[at..].split_whitespace().next().unwrap().to_string()
}

pub fn get(app: &App<TestPorts>, path: &str, bearer: Option<&str>) -> Reply {
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let mut headers = vec![API_VERSION];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    send(app, request("GET", path, b"", &headers))
}

pub fn sent_mails(app: &App<TestPorts>) -> Vec<portcullis_shared::model::Mail> {
    ports(app).mailer.sent.borrow().clone()
}

/// The 6-digit code from the latest mail to `to`.
pub fn code_for(app: &App<TestPorts>, to: &str) -> String {
    let mail = sent_mails(app).into_iter().rev().find(|m| m.to == to).expect("a mail");
    let at = mail.text.find("code is: ").expect("a code in the mail") + "code is: ".len();
    mail.text[at..at + 6].to_string()
}

/// The link token from the latest mail to `to`.
pub fn link_token_for(app: &App<TestPorts>, to: &str) -> String {
    let mail = sent_mails(app).into_iter().rev().find(|m| m.to == to).expect("a mail");
    let at = mail.text.find("token=").expect("a link in the mail") + "token=".len();
    mail.text[at..].split('&').next().unwrap().to_string()
}

pub fn signup(app: &App<TestPorts>, email: &str, password: &str) -> Reply {
    post(app, "/signup", &serde_json::json!({"email": email, "password": password}))
}

/// Signs up and confirms; returns the session body.
pub fn confirmed_user(app: &App<TestPorts>, email: &str, password: &str) -> Value {
    assert_eq!(signup(app, email, password).status, 200);
    let code = code_for(app, email);
    let r = post(app, "/verify", &serde_json::json!({"type": "signup", "email": email, "token": code}));
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body
}

pub fn login(app: &App<TestPorts>, email: &str, password: &str) -> Reply {
    post(app, "/token?grant_type=password", &serde_json::json!({"email": email, "password": password}))
}

pub fn error_code(r: &Reply) -> &str {
    r.body["code"].as_str().unwrap_or_default()
}

pub fn put(app: &App<TestPorts>, path: &str, bearer: &str, body: &Value) -> Reply {
    let auth = format!("Bearer {bearer}");
    send(app, request("PUT", path, body.to_string().as_bytes(), &[API_VERSION, JSON, ("authorization", auth.as_str())]))
}

pub fn post_auth(app: &App<TestPorts>, path: &str, bearer: &str, body: &Value) -> Reply {
    let auth = format!("Bearer {bearer}");
    send(app, request("POST", path, body.to_string().as_bytes(), &[API_VERSION, JSON, ("authorization", auth.as_str())]))
}

pub fn refresh(app: &App<TestPorts>, token: &str) -> Reply {
    post(app, "/token?grant_type=refresh_token", &serde_json::json!({"refresh_token": token}))
}

pub fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

/// A JSON request (GoTrue's API version header, and `Bearer <auth>` if given); a null body is
/// no body.
pub fn call(app: &App<TestPorts>, method: &str, path: &str, body: &Value, auth: Option<&str>) -> Reply {
    let header = auth.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json"), API_VERSION];
    if let Some(h) = &header {
        headers.push(("authorization", h.as_str()));
    }
    let body = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
    send(app, request(method, path, &body, &headers))
}

/// `GET /api/check` with `token`.
pub fn check(app: &App<TestPorts>, token: &str) -> Reply {
    get(app, "/api/check", Some(token))
}

pub fn mails_to(app: &App<TestPorts>, to: &str) -> usize {
    sent_mails(app).iter().filter(|m| m.to == to).count()
}

/// [`JwtKeys`]' signing and verifying, blocking on the native signature port: what the tests
/// sign tokens with and check them by, as a resource server holding the keys would.
pub trait BlockingJwt {
    /// [`JwtKeys::sign`] with RustCrypto.
    fn sign_blocking<C: serde::Serialize>(&self, claims: C, iat: Timestamp, exp: Timestamp, typ: Option<&str>) -> Result<String, TokenError>;
    /// [`JwtKeys::verify`] with RustCrypto.
    fn verify_blocking<C: serde::de::DeserializeOwned + Clone>(&self, token: &str, now: Timestamp) -> Result<Verified<C>, TokenError>;
}

impl BlockingJwt for JwtKeys {
    fn sign_blocking<C: serde::Serialize>(&self, claims: C, iat: Timestamp, exp: Timestamp, typ: Option<&str>) -> Result<String, TokenError> {
        pollster::block_on(self.sign(&RustCryptoSignatures, claims, iat, exp, typ))
    }
    fn verify_blocking<C: serde::de::DeserializeOwned + Clone>(&self, token: &str, now: Timestamp) -> Result<Verified<C>, TokenError> {
        pollster::block_on(self.verify(&RustCryptoSignatures, token, now, |why| panic!("unusable key: {why}")))
    }
}

/// `POST /graphql` with this JSON body and these headers besides its `Content-Type`.
pub fn gql_with(app: &App<TestPorts>, body: &[u8], headers: &[(&str, &str)]) -> Reply {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    send(app, request("POST", "/graphql", body, &all))
}

/// A GraphQL document with its variables, as graphql-request sends it.
pub fn gql(app: &App<TestPorts>, query: &str, variables: Value) -> Reply {
    gql_with(app, serde_json::json!({"query": query, "variables": variables}).to_string().as_bytes(), &[])
}

/// An account with username `Ada`, address `ada@example.com` and password `correct horse`,
/// stored directly.
pub fn ada(app: &App<TestPorts>) -> User {
    let now = ports(app).clock.now();
    let hasher = portcullis_shared::password::PasswordHasher::new(app.auth().config().password_params).unwrap();
    let hash = hasher.hash(b"correct horse", b"0123456789abcdef").unwrap();
    let user = User {
        username: Some("Ada".into()),
        password_hash: Some(hash),
        email_confirmed_at: Some(now),
        ..User::new(UserId::new("ada-id"), Some("ada@example.com"), serde_json::json!({}), now)
    };
    pollster::block_on(ports(app).store.insert(&user)).unwrap();
    user
}

/// A JSON request without GoTrue's API-version header (the passwordless and Feathers APIs),
/// `Bearer <token>` if given; a null body is no body.
pub fn pw(app: &App<TestPorts>, method: &str, path: &str, body: &Value, token: Option<&str>) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    let body = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
    send(app, request(method, path, &body, &headers))
}

/// The single-use token of a passwordless confirmation page's form.
pub fn page_token(html: &str) -> String {
    let at = html.find("name=\"page\" value=\"").expect("a page token") + "name=\"page\" value=\"".len();
    html[at..].split('"').next().unwrap().to_string()
}

/// A passwordless emailed sign-in of `username` at `email` from a "Laptop", allowed on its
/// page; the poll's reply.
pub fn emailed_sign_in(app: &App<TestPorts>, username: &str, email: &str) -> Reply {
    let r = pw(app, "POST", "/auth/login", &serde_json::json!({"username": username, "email": email, "session_platform": "Laptop"}), None);
    assert_eq!(r.status, 200, "{}", r.raw);
    let link = link_of(app, email, "/auth/confirm?token=");
    let page = send(app, request("GET", &format!("/auth/confirm?token={link}"), b"", &[]));
    let body = format!("token={link}&page={}&decision=allow", page_token(&page.raw));
    assert_eq!(send(app, request("POST", "/auth/confirm", body.as_bytes(), &[FORM])).status, 200);
    pw(app, "GET", &format!("/auth/session/{}", s(&r.body, "auth_id")), &Value::Null, None)
}

/// Ada: a passwordless account (`ada`, `ada@example.com`, its address confirmed) that signs
/// into GoTrue a minute later with a mailed code; that GoTrue session's body.
pub fn passwordless_ada_in_gotrue(app: &App<TestPorts>) -> Value {
    let body = serde_json::json!({"username": "ada", "email": "ada@example.com", "session_platform": "Laptop"});
    let r = pw(app, "POST", "/auth/registration", &body, None);
    assert_eq!(r.status, 200, "{}", r.raw);
    let link = link_of(app, "ada@example.com", "/auth/email/confirm?token=");
    assert_eq!(send(app, request("POST", "/auth/email/confirm", format!("token={link}").as_bytes(), &[FORM])).status, 200);
    ports(app).clock.advance_secs(61);
    assert_eq!(post(app, "/otp", &serde_json::json!({"email": "ada@example.com"})).status, 200);
    let code = code_for(app, "ada@example.com");
    let v = post(app, "/verify", &serde_json::json!({"type": "email", "email": "ada@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    v.body
}

