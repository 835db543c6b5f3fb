//! What Portcullis does not offer answers as upstream GoTrue answers with the feature switched
//! off: phone numbers, OAuth providers, SSO/SAML, passkeys, identity linking, the
//! `web3` and `id_token` grants; and `/settings` says so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use serde_json::{json, Value};
use support::*;

fn assert_off(r: &Reply, status: u16, code: &str, message: &str) {
    assert_eq!((r.status.as_u16(), error_code(r)), (status, code), "{}", r.raw);
    assert_eq!(r.body["message"], message, "{}", r.raw);
}

#[test]
fn phone_numbers_get_upstreams_phone_provider_disabled() {
    let app = app();
    let s = confirmed_user(&app, "ann@example.com", "s3cret-pass");
    let token = s["access_token"].as_str().unwrap();
    assert_off(&post(&app, "/signup", &json!({"phone": "+15550100", "password": "s3cret-pass"})), 400, "phone_provider_disabled", "Phone signups are disabled");
    assert_off(&post(&app, "/token?grant_type=password", &json!({"phone": "+15550100", "password": "x"})), 422, "phone_provider_disabled", "Phone logins are disabled");
    assert_off(&post(&app, "/otp", &json!({"phone": "+15550100"})), 400, "phone_provider_disabled", "Unsupported phone provider");
    assert_off(&post(&app, "/resend", &json!({"type": "signup", "phone": "+15550100"})), 400, "phone_provider_disabled", "Phone logins are disabled");
    assert_off(&put(&app, "/user", token, &json!({"phone": "+15550100"})), 422, "phone_provider_disabled", "Phone logins are disabled");
    assert_eq!(ports(&app).store.all_users().len(), 1);
}

#[test]
fn oauth_sso_passkeys_and_the_other_grants_are_off() {
    let app = app();
    for (query, message) in [
        ("provider=github", "Unsupported provider: provider is not enabled"),
        ("provider=Google", "Unsupported provider: provider is not enabled"),
        ("provider=myspace", "Unsupported provider: Provider myspace could not be found"),
        ("", "Unsupported provider: Provider  could not be found"),
    ] {
        assert_off(&get(&app, &format!("/authorize?{query}"), None), 400, "validation_failed", message);
    }
    for (method, path) in [("POST", "/sso"), ("GET", "/sso/saml/metadata"), ("POST", "/sso/saml/acs")] {
        assert_off(&call(&app, method, path, &json!({"domain": "example.com"}), None), 404, "saml_provider_disabled", "SAML 2.0 is disabled");
    }
    assert_off(&post(&app, "/passkeys/authentication/options", &json!({})), 404, "passkey_disabled", "Passkeys are disabled");
    assert_off(&post(&app, "/token?grant_type=web3", &json!({"chain": "solana"})), 422, "web3_provider_disabled", "Web3 provider is disabled");
    assert_off(
        &post(&app, "/token?grant_type=id_token", &json!({"provider": "google", "id_token": "x.y.z"})),
        400,
        "provider_disabled",
        "Provider (issuer \"https://accounts.google.com\") is not enabled",
    );
    assert_off(
        &post(&app, "/token?grant_type=id_token", &json!({"provider": "nope", "id_token": "x.y.z"})),
        400,
        "validation_failed",
        "Custom OIDC provider \"nope\" not allowed",
    );
    assert_off(&post(&app, "/token?grant_type=id_token", &json!({"provider": "google"})), 400, "validation_failed", "id_token required");
    assert_off(&post(&app, "/token?grant_type=teleport", &json!({})), 400, "invalid_credentials", "unsupported_grant_type");
    let bad = post(&app, "/token?grant_type=id_token", &json!({"id_token": 5}));
    assert_eq!(error_code(&bad), "bad_json");
}

#[test]
fn identity_linking_answers_after_authentication() {
    let app = app_with(&[("EXTERNAL_ANONYMOUS_USERS_ENABLED", "true")]);
    let s = confirmed_user(&app, "ann@example.com", "s3cret-pass");
    let token = s["access_token"].as_str().unwrap();
    // Without a session, upstream's authentication answers first.
    assert_eq!(error_code(&get(&app, "/user/identities/authorize?provider=github", None)), "no_authorization");

    assert_off(&get(&app, "/user/identities/authorize?provider=github", Some(token)), 404, "manual_linking_disabled", "Manual linking is disabled");
    assert_off(&call(&app, "DELETE", "/user/identities/7f0f3b5e-2f4e-4a47-9d59-0d7a3c1b6e10", &Value::Null, Some(token)), 404, "manual_linking_disabled", "Manual linking is disabled");
}

#[test]
fn settings_say_what_is_offered() {
    let app = app();
    let r = get(&app, "/settings", None);
    assert_eq!(r.status, 200);
    let external = r.body["external"].as_object().unwrap();
    assert_eq!(external["email"], true);
    for (name, on) in external {
        if name != "email" {
            assert_eq!(*on, false, "{name}");
        }
    }
    for name in ["phone", "google", "github", "apple", "snapchat", "anonymous_users"] {
        assert!(external.contains_key(name), "{name}");
    }
    assert_eq!(r.body["saml_enabled"], false);
    assert_eq!(r.body["passkeys_enabled"], false);
    assert_eq!(r.body["sms_provider"], "");
}
