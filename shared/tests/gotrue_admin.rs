//! GoTrue's admin API through the app with a fixed clock, as `supabase.auth.admin.*` calls it
//! with the service-role key: who may call it, each endpoint's answers and headers, bans and
//! deletion ending sessions in every dialect, and links handed out instead of mailed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::model::Timestamp;
use portcullis_shared::testing::TestPorts;
use portcullis_shared::token::JwtKeys;
use portcullis_shared::App;
use serde_json::{json, Value};
use support::*;

const PW: &str = "correct horse battery";
const NOW: Timestamp = Timestamp(1_700_000_000_000);

/// A key signed with the project's secret, as Supabase's service-role key is.
fn key_with(app: &App<TestPorts>, role: &str, expires_at: Timestamp) -> String {
    let keys = JwtKeys::new(&app.auth().config().jwt_secret, 0);
    keys.sign_blocking(json!({"iss": "supabase", "role": role}), NOW, expires_at, None).unwrap()
}

fn service_key(app: &App<TestPorts>) -> String {
    key_with(app, "service_role", NOW.plus_secs(10 * 365 * 86_400))
}

fn admin(app: &App<TestPorts>, method: &str, path: &str, body: &Value) -> Reply {
    call(app, method, path, body, Some(&service_key(app)))
}

fn create(app: &App<TestPorts>, body: &Value) -> Reply {
    admin(app, "POST", "/admin/users", body)
}

fn created(app: &App<TestPorts>, email: &str) -> Value {
    let r = create(app, &json!({"email": email, "password": PW, "email_confirm": true}));
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body
}

fn assert_error(r: &Reply, status: u16, code: &str) {
    assert_eq!((r.status.as_u16(), error_code(r)), (status, code), "{}", r.raw);
}

#[test]
fn only_the_service_role_gets_in() {
    let app = app();
    let user = s(&confirmed_user(&app, "ann@example.com", PW), "access_token");
    let other_secret = JwtKeys::new(&portcullis_shared::secret::Secret::new(b"another-secret-another-secret-123".to_vec()), 0)
        .sign_blocking(json!({"role": "service_role"}), NOW, NOW.plus_secs(600), None)
        .unwrap();
    let feathers = call(&app, "POST", "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": PW}), None);
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"role":"service_role","exp":9999999999}"#)
    });
    for path in ["/admin/users", "/auth/v1/admin/users"] {
        assert_error(&call(&app, "GET", path, &Value::Null, None), 401, "no_authorization");
        assert_error(&call(&app, "GET", path, &Value::Null, Some("garbage")), 403, "bad_jwt");
        assert_error(&call(&app, "GET", path, &Value::Null, Some(&user)), 403, "not_admin");
        assert_error(&call(&app, "GET", path, &Value::Null, Some(&key_with(&app, "anon", NOW.plus_secs(600)))), 403, "not_admin");
        assert_error(&call(&app, "GET", path, &Value::Null, Some(&key_with(&app, "service_role", NOW.plus_secs(-3600)))), 403, "bad_jwt");
        assert_error(&call(&app, "GET", path, &Value::Null, Some(&other_secret)), 403, "bad_jwt");
        assert_error(&call(&app, "GET", path, &Value::Null, Some(s(&feathers.body, "accessToken").as_str())), 403, "bad_jwt");
        assert_error(&call(&app, "GET", path, &Value::Null, Some(&unsigned)), 403, "bad_jwt");
        assert_eq!(call(&app, "GET", path, &Value::Null, Some(&key_with(&app, "supabase_admin", NOW.plus_secs(600)))).status, 200);
    }
    let r = call(&app, "GET", "/admin/users", &Value::Null, Some(&user));
    assert_eq!(r.body["message"], "User not allowed");
    for path in ["/admin/users", "/invite", "/admin/generate_link"] {
        let r = call(&app, "POST", path, &json!({"email": "x@example.com", "type": "invite"}), Some(&user));
        assert_error(&r, 403, "not_admin");
    }
    // The service-role key is no user's session.
    assert_error(&call(&app, "GET", "/user", &Value::Null, Some(&service_key(&app))), 403, "bad_jwt");
    assert_eq!(check(&app, &service_key(&app)).status, 401);
    assert_eq!(ports(&app).store.all_users().len(), 1, "nothing was created");
}

/// A service-role key with the id `jti`, as `scripts/service-role-key.mjs` mints them.
fn key_with_id(app: &App<TestPorts>, jti: &str) -> String {
    let keys = JwtKeys::new(&app.auth().config().jwt_secret, 0);
    keys.sign_blocking(json!({"iss": "supabase", "role": "service_role", "jti": jti}), NOW, NOW.plus_secs(90 * 86_400), None).unwrap()
}

#[test]
fn a_revoked_service_role_key_is_refused_and_the_others_still_work() {
    let app = app_with(&[("SERVICE_ROLE_REVOKED_IDS", " leaked-1 ,leaked-2,")]);
    for revoked in ["leaked-1", "leaked-2"] {
        let r = call(&app, "GET", "/admin/users", &Value::Null, Some(&key_with_id(&app, revoked)));
        assert_error(&r, 403, "bad_jwt");
        assert!(r.body["message"].as_str().unwrap().contains("revoked"), "{}", r.raw);
    }
    assert_eq!(call(&app, "GET", "/admin/users", &Value::Null, Some(&key_with_id(&app, "current"))).status, 200);
    // A key without an id (Supabase's own service-role key) still works unless ids are required.
    assert_eq!(call(&app, "GET", "/admin/users", &Value::Null, Some(&service_key(&app))).status, 200);
    // Without the setting the same key works.
    let unrevoked = app_with(&[]);
    assert_eq!(call(&unrevoked, "GET", "/admin/users", &Value::Null, Some(&key_with_id(&unrevoked, "leaked-1"))).status, 200);
}

#[test]
fn with_ids_required_a_key_without_one_is_refused() {
    let app = app_with(&[("SERVICE_ROLE_REQUIRE_ID", "true")]);
    let r = call(&app, "GET", "/admin/users", &Value::Null, Some(&service_key(&app)));
    assert_error(&r, 403, "bad_jwt");
    assert!(r.body["message"].as_str().unwrap().contains("revoked"), "{}", r.raw);
    assert_eq!(call(&app, "GET", "/admin/users", &Value::Null, Some(&key_with_id(&app, "k-2026"))).status, 200);
}

#[test]
fn create_sets_what_the_service_role_says_and_mails_nothing() {
    let app = app();
    let r = create(
        &app,
        &json!({"email": " Ann@Example.com ", "password": PW, "email_confirm": true,
                "user_metadata": {"name": "Ann"}, "app_metadata": {"plan": "pro", "provider": "email"}}),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["email"], "ann@example.com");
    assert!(r.body["email_confirmed_at"].is_string());
    assert_eq!(r.body["user_metadata"], json!({"name": "Ann"}));
    assert_eq!(r.body["app_metadata"], json!({"provider": "email", "providers": ["email"], "plan": "pro"}));
    assert!(r.body.get("banned_until").is_none());
    assert!(!r.raw.contains(PW) && !r.raw.contains("argon2"));
    assert_eq!(sent_mails(&app).len(), 0);
    assert_eq!(login(&app, "ann@example.com", PW).status, 200);

    let unconfirmed = create(&app, &json!({"email": "bob@example.com", "password": PW}));
    assert!(unconfirmed.body["email_confirmed_at"].is_null());
    assert_error(&login(&app, "bob@example.com", PW), 400, "invalid_credentials");
    let banned = create(&app, &json!({"email": "cy@example.com", "password": PW, "email_confirm": true, "ban_duration": "1h"}));
    assert_eq!(banned.body["banned_until"], NOW.plus_secs(3600).to_rfc3339());
    assert_error(&login(&app, "cy@example.com", PW), 400, "user_banned");
}

#[test]
fn bad_creates_are_4xx_and_create_nothing() {
    let app = app();
    created(&app, "ann@example.com");
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"email": "ann@example.com", "password": PW}), 422, "email_exists"),
        (json!({"email": "ANN@example.com "}), 422, "email_exists"),
        (json!({"password": PW}), 400, "validation_failed"),
        (json!({"email": ""}), 400, "validation_failed"),
        (json!({"email": "not an address"}), 400, "validation_failed"),
        (json!({"email": format!("{}@example.com", "a".repeat(300))}), 400, "validation_failed"),
        (json!({"email": "new@example.com", "password": "short"}), 422, "weak_password"),
        (json!({"email": "new@example.com", "password": "x".repeat(portcullis_shared::password::MAX_PASSWORD_BYTES + 1)}), 400, "validation_failed"),
        (json!({"email": "new@example.com", "ban_duration": "24"}), 400, "validation_failed"),
        (json!({"email": "new@example.com", "ban_duration": "forever"}), 400, "validation_failed"),
        (json!({"email": "new@example.com", "phone": "+15550100"}), 400, "validation_failed"),
        (json!({"email": "new@example.com", "password_hash": "$2a$10$abc"}), 400, "validation_failed"),
        (json!({"email": "new@example.com", "role": "service_role"}), 400, "validation_failed"),
        (json!({"email": "new@example.com", "id": "7f0f3b5e-2f4e-4a47-9d59-0d7a3c1b6e10"}), 400, "validation_failed"),
        (json!({"email": 5}), 400, "bad_json"),
        (json!({"email": "new@example.com", "email_confirm": "yes"}), 400, "bad_json"),
        (json!({"email": "new@example.com", "user_metadata": ["a"]}), 400, "bad_json"),
        (json!({"email": "new@example.com", "ban_duration": 3600}), 400, "bad_json"),
        (json!([]), 400, "bad_json"),
    ];
    for (body, status, code) in cases {
        let r = create(&app, &body);
        assert_error(&r, status, code);
    }
    let raw = send(&app, request("POST", "/admin/users", b"{\"email\": ", &[API_VERSION, JSON, ("authorization", &format!("Bearer {}", service_key(&app)))]));
    assert_error(&raw, 400, "bad_json");
    assert_eq!(ports(&app).store.all_users().len(), 1);
}

#[test]
fn the_list_pages_newest_first_with_upstreams_headers() {
    let app = app();
    for n in 0..3 {
        created(&app, &format!("u{n}@example.com"));
        ports(&app).clock.advance_secs(1);
    }
    let r = admin(&app, "GET", "/admin/users?page=1&per_page=2", &Value::Null);
    assert_eq!(r.status, 200, "{}", r.raw);
    let emails: Vec<&str> = r.body["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["u2@example.com", "u1@example.com"]);
    assert_eq!(r.body["aud"], "authenticated");
    assert_eq!(r.headers["x-total-count"], "3");
    assert_eq!(r.headers["link"], r#"</admin/users?page=2&per_page=2>; rel="next", </admin/users?page=2&per_page=2>; rel="last""#);
    let second = admin(&app, "GET", "/auth/v1/admin/users?per_page=2&page=2", &Value::Null);
    assert_eq!(second.body["users"].as_array().unwrap().len(), 1);
    assert_eq!(second.headers["link"], r#"</auth/v1/admin/users?page=2&per_page=2>; rel="last""#);
    // auth-js sends empty parameters when none are given: the defaults.
    let all = admin(&app, "GET", "/admin/users?page=&per_page=", &Value::Null);
    assert_eq!(all.body["users"].as_array().unwrap().len(), 3);
    assert_eq!(all.headers["link"], r#"</admin/users?page=1&per_page=>; rel="last""#);
    // A page size past the cap is the cap.
    let capped = admin(&app, "GET", "/admin/users?per_page=1000000", &Value::Null);
    assert_eq!(capped.status, 200);
    for bad in ["page=0", "per_page=0", "page=-1", "page=x", "per_page=99999999999"] {
        assert_error(&admin(&app, "GET", &format!("/admin/users?{bad}"), &Value::Null), 400, "validation_failed");
    }
}

#[test]
fn get_finds_by_id_and_says_what_is_wrong_with_others() {
    let app = app();
    let u = created(&app, "ann@example.com");
    let got = admin(&app, "GET", &format!("/admin/users/{}", s(&u, "id")), &Value::Null);
    assert_eq!(got.status, 200);
    assert_eq!(got.body["email"], "ann@example.com");
    let r = admin(&app, "GET", "/admin/users/not-a-uuid", &Value::Null);
    assert_error(&r, 404, "validation_failed");
    assert_eq!(r.body["message"], "user_id must be an UUID");
    let r = admin(&app, "GET", "/admin/users/7f0f3b5e-2f4e-4a47-9d59-0d7a3c1b6e10", &Value::Null);
    assert_error(&r, 404, "user_not_found");
    assert_eq!(r.body["message"], "User not found");
    assert_error(&admin(&app, "GET", &format!("/admin/users/{}/x", s(&u, "id")), &Value::Null), 404, "not_found");
    assert_error(&admin(&app, "PATCH", &format!("/admin/users/{}", s(&u, "id")), &json!({})), 404, "not_found");
}

#[test]
fn update_merges_metadata_and_sets_address_and_password_at_once() {
    let app = app();
    let u = created(&app, "ann@example.com");
    let path = format!("/admin/users/{}", s(&u, "id"));
    let session = login(&app, "ann@example.com", PW).body;
    assert_eq!(admin(&app, "PUT", &path, &json!({"user_metadata": {"a": 1, "b": 2}, "app_metadata": {"plan": "pro"}})).status, 200);
    let r = admin(&app, "PUT", &path, &json!({"user_metadata": {"a": null, "c": 3}, "app_metadata": {"plan": null, "tier": 1}}));
    assert_eq!(r.body["user_metadata"], json!({"b": 2, "c": 3}));
    assert_eq!(r.body["app_metadata"], json!({"provider": "email", "providers": ["email"], "tier": 1}));
    assert_eq!(get(&app, "/user", session["access_token"].as_str()).status, 200, "metadata changes end no session");

    let moved = admin(&app, "PUT", &path, &json!({"email": "ann@new.example"}));
    assert_eq!(moved.body["email"], "ann@new.example");
    assert!(moved.body["email_confirmed_at"].is_string(), "a confirmed account stays confirmed");
    assert_eq!(sent_mails(&app).len(), 0, "the service role's changes mail nothing");
    assert_eq!(login(&app, "ann@new.example", PW).status, 200);

    let changed = admin(&app, "PUT", &path, &json!({"password": "a new password"}));
    assert_eq!(changed.status, 200);
    assert_error(&get(&app, "/user", session["access_token"].as_str()), 403, "session_not_found");
    assert_error(&refresh(&app, session["refresh_token"].as_str().unwrap()), 400, "refresh_token_not_found");
    assert_eq!(login(&app, "ann@new.example", "a new password").status, 200);

    created(&app, "bob@example.com");
    assert_error(&admin(&app, "PUT", &path, &json!({"email": "bob@example.com", "user_metadata": {"z": 1}})), 422, "email_exists");
    assert_error(&admin(&app, "PUT", &path, &json!({"email": "nope", "user_metadata": {"z": 1}})), 400, "validation_failed");
    assert_error(&admin(&app, "PUT", &path, &json!({"password": "short", "user_metadata": {"z": 1}})), 422, "weak_password");
    assert_error(&admin(&app, "PUT", &path, &json!({"ban_duration": "1y", "user_metadata": {"z": 1}})), 400, "validation_failed");
    assert_error(&admin(&app, "PUT", &path, &json!({"user_metadata": "z"})), 400, "bad_json");
    let now = admin(&app, "GET", &path, &Value::Null).body;
    assert_eq!(now["email"], "ann@new.example");
    assert_eq!(now["user_metadata"], json!({"b": 2, "c": 3}), "a refused update changed nothing");
    assert_error(&admin(&app, "PUT", "/admin/users/7f0f3b5e-2f4e-4a47-9d59-0d7a3c1b6e10", &json!({})), 404, "user_not_found");
}

#[test]
fn an_unconfirmed_account_is_confirmed_only_when_asked() {
    let app = app();
    let u = create(&app, &json!({"email": "ann@example.com", "password": PW})).body;
    let path = format!("/admin/users/{}", s(&u, "id"));
    let moved = admin(&app, "PUT", &path, &json!({"email": "ann@new.example"}));
    assert!(moved.body["email_confirmed_at"].is_null());
    // Confirming is a first proof: the password goes unless the same request sets it.
    let confirmed = admin(&app, "PUT", &path, &json!({"email_confirm": true, "password": PW}));
    assert!(confirmed.body["email_confirmed_at"].is_string());
    assert_eq!(login(&app, "ann@new.example", PW).status, 200);
}

#[test]
fn a_ban_ends_every_session_in_every_dialect_and_refuses_sign_in_until_lifted() {
    let app = app();
    let u = created(&app, "ann@example.com");
    let path = format!("/admin/users/{}", s(&u, "id"));
    let gotrue = login(&app, "ann@example.com", PW).body;
    let feathers = call(&app, "POST", "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": PW}), None);
    let feathers_token = s(&feathers.body, "accessToken");

    let r = admin(&app, "PUT", &path, &json!({"ban_duration": "24h"}));
    assert_eq!(r.body["banned_until"], NOW.plus_secs(86_400).to_rfc3339());
    assert_eq!(get(&app, "/user", gotrue["access_token"].as_str()).status, 403);
    assert_eq!(check(&app, &s(&gotrue, "access_token")).status, 401);
    assert_eq!(call(&app, "GET", &format!("/users/{}", s(&u, "id")), &Value::Null, Some(&feathers_token)).status, 401);
    assert!(refresh(&app, gotrue["refresh_token"].as_str().unwrap()).status.is_client_error());
    let refused = login(&app, "ann@example.com", PW);
    assert_error(&refused, 400, "user_banned");
    assert_eq!(refused.body["message"], "User is banned");
    // Only the right password learns of the ban.
    assert_error(&login(&app, "ann@example.com", "a wrong password"), 400, "invalid_credentials");
    let f = call(&app, "POST", "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": PW}), None);
    assert_eq!(f.status, 401, "{}", f.raw);
    post(&app, "/otp", &json!({"email": "ann@example.com"}));
    let code = code_for(&app, "ann@example.com");
    assert_error(&post(&app, "/verify", &json!({"type": "email", "email": "ann@example.com", "token": code})), 400, "user_banned");

    ports(&app).clock.advance_secs(86_400);
    assert_eq!(login(&app, "ann@example.com", PW).status, 200, "a ban ends by itself");
    admin(&app, "PUT", &path, &json!({"ban_duration": "876000h"}));
    assert_error(&login(&app, "ann@example.com", PW), 400, "user_banned");
    let lifted = admin(&app, "PUT", &path, &json!({"ban_duration": "none"}));
    assert!(lifted.body.get("banned_until").is_none());
    assert_eq!(login(&app, "ann@example.com", PW).status, 200);
}

#[test]
fn deleting_an_account_ends_its_sessions_everywhere_and_frees_its_address() {
    for soft in [false, true] {
        let app = app();
        let u = created(&app, "ann@example.com");
        let id = s(&u, "id");
        let gotrue = login(&app, "ann@example.com", PW).body;
        let feathers = call(&app, "POST", "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": PW}), None);
        let body = if soft { json!({"should_soft_delete": true}) } else { Value::Null };
        let r = admin(&app, "DELETE", &format!("/admin/users/{id}"), &body);
        assert_eq!(r.status, 200, "{}", r.raw);
        assert_eq!(r.body, json!({}));
        assert_eq!(get(&app, "/user", gotrue["access_token"].as_str()).status, 403, "soft={soft}");
        assert_eq!(call(&app, "GET", &format!("/users/{id}"), &Value::Null, Some(&s(&feathers.body, "accessToken"))).status, 401);
        assert_error(&refresh(&app, gotrue["refresh_token"].as_str().unwrap()), 400, "refresh_token_not_found");
        assert_error(&login(&app, "ann@example.com", PW), 400, "invalid_credentials");
        let got = admin(&app, "GET", &format!("/admin/users/{id}"), &Value::Null);
        match soft {
            true => {
                assert_eq!(got.status, 200);
                assert_eq!(got.body["email"], "");
                assert_eq!(got.body["deleted_at"], NOW.to_rfc3339());
                assert_eq!(got.body["user_metadata"], json!({}));
            }
            false => assert_error(&got, 404, "user_not_found"),
        }
        assert_eq!(created(&app, "ann@example.com")["email"], "ann@example.com", "the address is free again");
        assert_error(&admin(&app, "DELETE", "/admin/users/7f0f3b5e-2f4e-4a47-9d59-0d7a3c1b6e10", &Value::Null), 404, "user_not_found");
        assert_error(&admin(&app, "DELETE", &format!("/admin/users/{id}"), &json!({"should_soft_delete": "yes"})), 400, "bad_json");
    }
}

#[test]
fn generated_links_are_handed_out_not_mailed_and_work_once() {
    let app = app();
    let r = admin(&app, "POST", "/admin/generate_link", &json!({"type": "signup", "email": "ann@example.com", "password": PW, "data": {"n": 1}}));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["email"], "ann@example.com");
    assert_eq!(r.body["user_metadata"], json!({"n": 1}));
    assert_eq!(r.body["verification_type"], "signup");
    assert_eq!(r.body["redirect_to"], "http://localhost:3000");
    let link = r.body["action_link"].as_str().unwrap();
    let hashed = r.body["hashed_token"].as_str().unwrap();
    assert!(link.starts_with(&format!("http://auth.test/auth/v1/verify?token={hashed}&type=signup&redirect_to=")), "{link}");
    assert_eq!(r.body["email_otp"].as_str().unwrap().len(), 6);
    assert_eq!(sent_mails(&app).len(), 0, "nothing mailed");
    let v = post(&app, "/verify", &json!({"type": "signup", "token_hash": hashed}));
    assert_eq!(v.status, 200, "{}", v.raw);
    assert_eq!(login(&app, "ann@example.com", PW).status, 200, "the service role's password stays");
    assert_error(&post(&app, "/verify", &json!({"type": "signup", "token_hash": hashed})), 403, "otp_expired");

    let recovery = admin(&app, "POST", "/admin/generate_link", &json!({"type": "recovery", "email": "ann@example.com"}));
    assert_eq!(recovery.body["verification_type"], "recovery");
    let otp = recovery.body["email_otp"].as_str().unwrap();
    assert_eq!(post(&app, "/verify", &json!({"type": "recovery", "email": "ann@example.com", "token": otp})).status, 200);

    let magic = admin(&app, "POST", "/admin/generate_link?redirect_to=http%3A%2F%2Flocalhost%3A3000%2Fwelcome", &json!({"type": "magiclink", "email": "new@example.com"}));
    assert_eq!(magic.status, 200, "{}", magic.raw);
    assert_eq!(magic.body["redirect_to"], "http://localhost:3000/welcome");
    let follow = send(&app, request("GET", magic.body["action_link"].as_str().unwrap().trim_start_matches("http://auth.test"), b"", &[]));
    assert!(follow.headers["location"].to_str().unwrap().starts_with("http://localhost:3000/welcome#access_token="));

    let change = admin(&app, "POST", "/admin/generate_link", &json!({"type": "email_change_new", "email": "ann@example.com", "new_email": "ann@new.example"}));
    assert_eq!(change.body["verification_type"], "email_change");
    let moved = post(&app, "/verify", &json!({"type": "email_change", "token_hash": change.body["hashed_token"]}));
    assert_eq!(moved.body["user"]["email"], "ann@new.example", "{}", moved.raw);
    assert_eq!(sent_mails(&app).len(), 1, "only the notice to the old address");

    let invite = admin(&app, "POST", "/admin/generate_link", &json!({"type": "invite", "email": "ivy@example.com"}));
    assert_eq!(invite.body["verification_type"], "invite");
    assert_eq!(post(&app, "/verify", &json!({"type": "invite", "token_hash": invite.body["hashed_token"]})).status, 200);
}

#[test]
fn bad_link_requests_are_4xx_in_upstreams_words() {
    let app = app();
    created(&app, "ann@example.com");
    created(&app, "bob@example.com");
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (json!({"type": "recovery", "email": "nobody@example.com"}), 404, "user_not_found", "User with this email not found"),
        (json!({"type": "signup", "email": "ann@example.com", "password": PW}), 422, "email_exists", "A user with this email address has already been registered"),
        (json!({"type": "invite", "email": "ann@example.com"}), 422, "email_exists", "A user with this email address has already been registered"),
        (json!({"type": "signup", "email": "new@example.com"}), 400, "validation_failed", "Signup requires a valid password"),
        (json!({"type": "email_change_new", "email": "ann@example.com"}), 400, "validation_failed", "An email address is required"),
        (json!({"type": "email_change_new", "email": "ann@example.com", "new_email": "bob@example.com"}), 422, "email_exists", "A user with this email address has already been registered"),
        (json!({"type": "email_change_new", "email": "nobody@example.com", "new_email": "x@example.com"}), 404, "user_not_found", "User with this email not found"),
        (json!({"type": "teleport", "email": "ann@example.com"}), 400, "validation_failed", "Invalid email action link type requested"),
        (json!({"email": "ann@example.com"}), 400, "validation_failed", "Invalid email action link type requested"),
        (json!({"type": "magiclink"}), 400, "validation_failed", "An email address is required"),
        (json!({"type": "magiclink", "email": "not an address"}), 400, "validation_failed", "Unable to validate email address: invalid format"),
    ];
    for (body, status, code, message) in cases {
        let r = admin(&app, "POST", "/admin/generate_link", &body);
        assert_error(&r, status, code);
        assert_eq!(r.body["message"], message, "{body}");
    }
    assert_error(&admin(&app, "POST", "/admin/generate_link", &json!({"type": 1, "email": "ann@example.com"})), 400, "bad_json");
    assert_eq!(ports(&app).store.all_users().len(), 2, "nothing was created");
}

#[test]
fn an_invitation_mails_a_link_that_signs_in_and_then_a_password_is_set() {
    let app = app();
    let r = admin(&app, "POST", "/invite?redirect_to=http%3A%2F%2Flocalhost%3A3000%2Fset-password", &json!({"email": "ivy@example.com", "data": {"team": "red"}}));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["email"], "ivy@example.com");
    assert!(r.body["email_confirmed_at"].is_null());
    let mail = sent_mails(&app).pop().unwrap();
    assert!(mail.subject.contains("invited"), "{}", mail.subject);
    assert!(mail.text.contains("type=invite"));
    let token = link_token_for(&app, "ivy@example.com");
    let follow = send(&app, request("GET", &format!("/verify?token={token}&type=invite&redirect_to=http%3A%2F%2Flocalhost%3A3000%2Fset-password"), b"", &[]));
    let location = follow.headers["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("http://localhost:3000/set-password#access_token="), "{location}");
    assert!(location.ends_with("&type=invite"), "{location}");
    let fragment: std::collections::HashMap<String, String> =
        form_urlencoded::parse(location.split_once('#').unwrap().1.as_bytes()).into_owned().collect();
    let me = get(&app, "/user", Some(&fragment["access_token"]));
    assert!(me.body["email_confirmed_at"].is_string());
    assert_eq!(me.body["user_metadata"], json!({"team": "red"}), "the service role's data stays");
    assert_eq!(put(&app, "/user", &fragment["access_token"], &json!({"password": PW})).status, 200);
    assert_eq!(login(&app, "ivy@example.com", PW).status, 200);

    assert_error(&admin(&app, "POST", "/invite", &json!({"email": "ivy@example.com"})), 422, "email_exists");
    assert_error(&admin(&app, "POST", "/invite", &json!({})), 400, "validation_failed");
    assert_error(&admin(&app, "POST", "/invite", &json!({"email": "x@example.com", "data": 5})), 400, "bad_json");
    // An invitation lives a day.
    admin(&app, "POST", "/invite", &json!({"email": "late@example.com"}));
    ports(&app).clock.advance_secs(86_000);
    let token = link_token_for(&app, "late@example.com");
    assert_eq!(post(&app, "/verify", &json!({"type": "invite", "token_hash": token})).status, 200);
}

#[test]
fn a_soft_deleted_account_is_not_revived_by_a_code_that_was_on_its_way() {
    let app = app_with(&[("MAILER_SECURE_EMAIL_CHANGE_ENABLED", "false")]);
    let u = created(&app, "ann@example.com");
    let token = s(&login(&app, "ann@example.com", PW).body, "access_token");
    // The email change's code is stored after its answer; the deletion lands in between.
    let change = request("PUT", "/user", json!({"email": "ann2@example.com"}).to_string().as_bytes(), &[
        API_VERSION,
        JSON,
        ("authorization", &format!("Bearer {token}")),
    ]);
    let change = pollster::block_on(app.handle(change));
    assert_eq!(change.response.status(), 200);
    let key = format!("Bearer {}", service_key(&app));
    let delete = request("DELETE", &format!("/admin/users/{}", s(&u, "id")), br#"{"should_soft_delete": true}"#, &[API_VERSION, JSON, ("authorization", &key)]);
    let delete = pollster::block_on(app.handle(delete));
    assert_eq!(delete.response.status(), 200);
    pollster::block_on(app.deliver(change.outbox));
    pollster::block_on(app.deliver(delete.outbox));
    // The change was asked for the account as it was, through a session the deletion ended:
    // its code is not stored, and its mail does not go.
    assert_eq!(mails_to(&app, "ann2@example.com"), 0);
    let got = admin(&app, "GET", &format!("/admin/users/{}", s(&u, "id")), &Value::Null);
    assert_eq!(got.body["email"], "", "still deleted: {}", got.raw);
    assert_error(&admin(&app, "PUT", &format!("/admin/users/{}", s(&u, "id")), &json!({"email": "back@example.com"})), 404, "user_not_found");
    let again = admin(&app, "DELETE", &format!("/admin/users/{}", s(&u, "id")), &json!({"should_soft_delete": true}));
    assert_eq!(again.status, 200);
    assert_eq!(admin(&app, "GET", &format!("/admin/users/{}", s(&u, "id")), &Value::Null).body["deleted_at"], NOW.to_rfc3339());
}

#[test]
fn confirming_a_strangers_pre_registration_signs_the_stranger_out_and_drops_their_password() {
    let app = app();
    // A stranger registers Ann's address through Feathers, which signs in unverified.
    let pre = call(&app, "POST", "/users", &json!({"email": "ann@example.com", "password": "the stranger's password"}), None);
    assert_eq!(pre.status, 201, "{}", pre.raw);
    let signed = call(&app, "POST", "/authentication", &json!({"strategy": "local", "email": "ann@example.com", "password": "the stranger's password"}), None);
    let stranger = s(&signed.body, "accessToken");
    assert_eq!(check(&app, &stranger).status, 200);
    let r = admin(&app, "PUT", &format!("/admin/users/{}", s(&pre.body, "id")), &json!({"email_confirm": true}));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert!(r.body["email_confirmed_at"].is_string());
    assert_eq!(check(&app, &stranger).status, 401, "the stranger's session ended");
    assert_error(&login(&app, "ann@example.com", "the stranger's password"), 400, "invalid_credentials");
    // Setting a password in the same request keeps that one.
    let other = call(&app, "POST", "/users", &json!({"email": "bob@example.com", "password": "the stranger's password"}), None);
    admin(&app, "PUT", &format!("/admin/users/{}", s(&other.body, "id")), &json!({"email_confirm": true, "password": PW}));
    assert_eq!(login(&app, "bob@example.com", PW).status, 200);
}

#[test]
fn a_resend_after_the_service_role_moved_an_account_keeps_nobodys_password() {
    let app = app();
    let r = signup(&app, "typo@example.com", "the stranger's password");
    assert_eq!(r.status, 200);
    let id = ports(&app).store.all_users()[0].id.clone();
    admin(&app, "PUT", &format!("/admin/users/{id}"), &json!({"email": "real@example.com"}));
    ports(&app).clock.advance_secs(61);
    assert_eq!(post(&app, "/resend", &json!({"type": "signup", "email": "real@example.com"})).status, 200);
    let code = code_for(&app, "real@example.com");
    assert_eq!(post(&app, "/verify", &json!({"type": "signup", "email": "real@example.com", "token": code})).status, 200);
    assert_error(&login(&app, "real@example.com", "the stranger's password"), 400, "invalid_credentials");
}

#[test]
fn a_ban_too_long_to_print_ends_at_the_end_of_9999() {
    let app = app();
    let u = created(&app, "ann@example.com");
    let r = admin(&app, "PUT", &format!("/admin/users/{}", s(&u, "id")), &json!({"ban_duration": "99999999999999h"}));
    assert_eq!(r.body["banned_until"], "9999-12-31T23:59:59.000000Z");
    assert_error(&login(&app, "ann@example.com", PW), 400, "user_banned");
}
