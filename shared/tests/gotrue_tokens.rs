//! Access tokens, the resource check, the mailed link's redirect and request limits, through
//! the app with a fixed clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::model::Timestamp;
use portcullis_shared::testing::run_store_contract;
use serde_json::json;
use support::*;

fn access_token(app: &portcullis_shared::App<portcullis_shared::testing::TestPorts>) -> String {
    confirmed_user(app, "ann@example.com", "s3cret-pass");
    let r = login(app, "ann@example.com", "s3cret-pass");
    r.body["access_token"].as_str().unwrap().to_string()
}

#[test]
fn an_expired_access_token_is_refused_by_user_and_check() {
    let app = app();
    let token = access_token(&app);
    ports(&app).clock.advance_secs(3600 + 10 + 1); // lifetime plus leeway, plus one
    let me = get(&app, "/user", Some(&token));
    assert_eq!(me.status, 403);
    assert_eq!(error_code(&me), "bad_jwt");
    assert!(me.body["message"].as_str().unwrap().contains("expired"));
    let check = get(&app, "/api/check", Some(&token));
    assert_eq!(check.status, 401);
    assert_eq!(check.body["error"], "token expired");
}

#[test]
fn a_token_within_the_leeway_still_works() {
    let app = app();
    let token = access_token(&app);
    ports(&app).clock.advance_secs(3600 + 5);
    assert_eq!(get(&app, "/user", Some(&token)).status, 200);
}

#[test]
fn a_token_whose_session_does_not_exist_is_session_not_found() {
    let app = app();
    let real = access_token(&app);
    let claims = real.split('.').nth(1).unwrap();
    use base64::Engine as _;
    let mut body: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims).unwrap(),
    )
    .unwrap();
    body["session_id"] = json!("00000000-0000-4000-8000-000000000000");
    // `sign` sets exp and iat itself.
    body.as_object_mut().unwrap().retain(|k, _| k != "exp" && k != "iat");
    #[derive(serde::Serialize, serde::Deserialize, Clone)]
    struct Any(serde_json::Value);
    let now = Timestamp(1_700_000_000_000);
    let forged_but_signed = portcullis_shared::token::JwtKeys::new(&app.auth().config().jwt_secret, 0).sign_blocking(Any(body), now, now.plus_secs(60), None).unwrap();
    let me = get(&app, "/user", Some(&forged_but_signed));
    assert_eq!(me.status, 403);
    assert_eq!(error_code(&me), "session_not_found");
    let check = get(&app, "/api/check", Some(&forged_but_signed));
    assert_eq!(check.status, 401);
    assert_eq!(check.body["error"], "session ended");
}

#[test]
fn the_check_describes_the_tokens_subject() {
    let app = app();
    let token = access_token(&app);
    let r = get(&app, "/api/check", Some(&token));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["email"], "ann@example.com");
    assert_eq!(r.body["expires_at"], 1_700_000_000 + 3600);
    assert_eq!(r.body["session_id"].as_str().unwrap().len(), 36);
    let missing = get(&app, "/api/check", None);
    assert_eq!(missing.status, 401);
    assert_eq!(missing.headers["www-authenticate"], "Bearer");
}

fn link_redirect(app: &portcullis_shared::App<portcullis_shared::testing::TestPorts>, email: &str, redirect: &str) -> String {
    signup(app, email, "s3cret-pass");
    let token = link_token_for(app, email);
    let r = send(
        app,
        request("GET", &format!("/verify?token={token}&type=signup&redirect_to={redirect}"), b"", &[]),
    );
    assert_eq!(r.status, 303);
    r.headers["location"].to_str().unwrap().to_string()
}

#[test]
fn the_mailed_link_redirects_only_to_allowed_places() {
    let app = app_with(&[("URI_ALLOW_LIST", "https://app.example.com/auth/, myapp://callback")]);
    let to_site = link_redirect(&app, "a@example.com", "http%3A%2F%2Flocalhost%3A3000%2Fwelcome");
    assert!(to_site.starts_with("http://localhost:3000/welcome#access_token="), "{to_site}");
    let listed = link_redirect(&app, "b@example.com", "https%3A%2F%2Fapp.example.com%2Fauth%2Fdone");
    assert!(listed.starts_with("https://app.example.com/auth/done#access_token="), "{listed}");
    let exact = link_redirect(&app, "c@example.com", "myapp%3A%2F%2Fcallback");
    assert!(exact.starts_with("myapp://callback#"), "{exact}");
    let foreign = link_redirect(&app, "d@example.com", "https%3A%2F%2Fevil.example%2F");
    assert!(foreign.starts_with("http://localhost:3000#access_token="), "{foreign}");
    let lookalike = link_redirect(&app, "e@example.com", "http%3A%2F%2Flocalhost%3A3000.evil.example");
    assert!(lookalike.starts_with("http://localhost:3000#"), "{lookalike}");
}

#[test]
fn a_bad_link_redirects_with_the_error_in_the_fragment() {
    let app = app();
    let r = send(&app, request("GET", "/auth/v1/verify?token=nope&type=signup", b"", &[]));
    assert_eq!(r.status, 303);
    let location = r.headers["location"].to_str().unwrap();
    assert_eq!(
        location,
        "http://localhost:3000#error=access_denied&error_code=otp_expired&error_description=Email+link+is+invalid+or+has+expired"
    );
}

#[test]
fn a_body_declared_too_large_is_refused_before_parsing() {
    let app = app();
    let r = send(
        &app,
        request("POST", "/signup", b"{}", &[("content-length", "10485760"), API_VERSION]),
    );
    assert_eq!(r.status, 413);
    assert_eq!(error_code(&r), "request_too_large");
}

#[test]
fn preflight_and_cors_headers_let_browsers_call() {
    let app = app();
    // The site's own origin (SITE_URL); which origins may call is tests/cors.rs's subject.
    let pre = send(&app, request("OPTIONS", "/token", b"", &[("origin", "http://localhost:3000")]));
    assert_eq!(pre.status, 204);
    assert_eq!(pre.headers["access-control-allow-origin"], "http://localhost:3000");
    let r = send(&app, request("GET", "/health", b"", &[("origin", "http://localhost:3000")]));
    assert!(r.headers["access-control-expose-headers"].to_str().unwrap().contains("x-sb-error-code"));
}

#[test]
fn the_memory_store_passes_the_storage_contract() {
    let store = portcullis_shared::testing::MemoryStore::default();
    let results = pollster::block_on(run_store_contract(&store, "n1", Timestamp(1_700_000_000_000)));
    let names: Vec<&str> = results.iter().map(|(name, _)| *name).collect();
    // The 28 checks `run_store_contract` lists (shared/src/testing/contract/mod.rs): a check taken
    // out of the contract fails here; one added changes this number with it.
    assert_eq!(names.len(), 28, "{names:#?}");
    let distinct: std::collections::BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(distinct.len(), names.len(), "each check has its own name: {names:#?}");
    for (name, result) in results {
        assert!(result.is_ok(), "{name}: {result:?}");
    }
}

#[test]
fn the_requested_redirect_goes_into_the_mailed_link_only_when_allowed() {
    let app = app_with(&[("URI_ALLOW_LIST", "https://app.example.com/auth/")]);
    let body = json!({"email": "a@example.com", "password": "s3cret-pass"});
    let allowed = "/signup?redirect_to=https%3A%2F%2Fapp.example.com%2Fauth%2Fwelcome";
    send(&app, request("POST", allowed, body.to_string().as_bytes(), &[API_VERSION, JSON]));
    let text = sent_mails(&app).pop().unwrap().text;
    assert!(text.contains("&redirect_to=https%3A%2F%2Fapp.example.com%2Fauth%2Fwelcome"), "{text}");
    let foreign = "/recover?redirect_to=https%3A%2F%2Fevil.example%2F";
    send(&app, request("POST", foreign, br#"{"email":"a@example.com"}"#, &[API_VERSION, JSON]));
    let text = sent_mails(&app).pop().unwrap().text;
    assert!(text.contains("&redirect_to=http%3A%2F%2Flocalhost%3A3000\n"), "{text}");
}
