//! GoTrue's `grant_type=id_token` (auth-js `signInWithIdToken`) with an OpenID Connect
//! provider whose discovery document and keys a script serves through the outbound HTTP port,
//! and tokens signed by the signature port: who the token names signs in by the rules of
//! account integrity, and every forged, replayed or misdirected token is refused in upstream's
//! words.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::ports::{HttpError, HttpReply, Users as _};
use portcullis_shared::signature::{b64url, Alg};
use portcullis_shared::testing::TestPorts;
use portcullis_shared::App;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::idp::*;
use support::*;

fn idp_app(extra: &[(&str, &str)]) -> App<TestPorts> {
    let mut vars = vec![
        ("EXTERNAL_OIDC_PROVIDERS", "acme"),
        ("EXTERNAL_ACME_ENABLED", "true"),
        ("EXTERNAL_ACME_CLIENT_ID", "portcullis-app,portcullis-ios"),
        ("EXTERNAL_ACME_URL", ISSUER),
    ];
    vars.extend_from_slice(extra);
    let app = app_with(&vars);
    ports(&app).http.answer_with(|url, _| {
        let body = match url {
            "https://idp.example.com/.well-known/openid-configuration" => json!({
                "issuer": ISSUER, "authorization_endpoint": format!("{ISSUER}/auth"), "token_endpoint": format!("{ISSUER}/token"),
                "jwks_uri": format!("{ISSUER}/jwks"), "id_token_signing_alg_values_supported": ["ES256"],
            }),
            "https://idp.example.com/jwks" => {
                let mut public = public(provider_key(), "k1");
                public["use"] = "sig".into();
                json!({"keys": [public]})
            }
            _ => return Err(HttpError(format!("unexpected {url}"))),
        };
        Ok(HttpReply { status: 200, body: body.to_string() })
    });
    app
}

fn claims(sub: &str, email: &str, verified: bool, raw_nonce: &str) -> Value {
    json!({
        "iss": ISSUER, "aud": "portcullis-app", "sub": sub, "iat": NOW_SECS - 5, "exp": NOW_SECS + 600,
        "email": email, "email_verified": verified, "name": "Ann Example",
        "nonce": hex::encode(Sha256::digest(raw_nonce.as_bytes())),
    })
}

fn token(c: &Value) -> String {
    jws(json!({"alg": "ES256", "kid": "k1", "typ": "JWT"}), c, &provider_key(), Alg::Es256)
}

fn sign_in(app: &App<TestPorts>, id_token: &str, nonce: Option<&str>) -> Reply {
    let mut body = json!({"provider": "acme", "id_token": id_token});
    if let Some(n) = nonce {
        body["nonce"] = n.into();
    }
    post(app, "/token?grant_type=id_token", &body)
}

#[test]
fn a_provider_token_signs_in_a_new_account_with_the_verified_address() {
    let app = idp_app(&[]);
    let r = sign_in(&app, &token(&claims("acme-1", "Ann@Example.com", true, "n-1")), Some("n-1"));
    assert_eq!(r.status, 200, "{}", r.raw);
    let user = &r.body["user"];
    assert_eq!((user["email"].as_str(), user["app_metadata"]["provider"].as_str()), (Some("ann@example.com"), Some("acme")));
    assert!(user["email_confirmed_at"].is_string(), "the provider verified it");
    let identities = user["identities"].as_array().unwrap();
    assert_eq!(identities.len(), 1, "{identities:?}");
    assert_eq!((identities[0]["provider"].as_str(), identities[0]["id"].as_str()), (Some("acme"), Some("acme-1")));
    assert_eq!(identities[0]["identity_data"]["email_verified"], true);
    let access = r.body["access_token"].as_str().unwrap();
    let payload: Value = serde_json::from_slice(&portcullis_shared::signature::from_b64url(access.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(payload["amr"][0]["method"], "oauth");
    // The same identity again: the same account.
    let again = sign_in(&app, &token(&claims("acme-1", "ann@example.com", true, "n-2")), Some("n-2"));
    assert_eq!(again.body["user"]["id"], user["id"], "{}", again.raw);
    let me = get(&app, "/user", Some(again.body["access_token"].as_str().unwrap()));
    assert_eq!(me.body["identities"].as_array().unwrap().len(), 1, "{}", me.raw);
    assert_eq!(ports(&app).store.all_users().len(), 1);
    // Discovery and keys were fetched once and kept.
    assert_eq!(ports(&app).http.requests.borrow().len(), 2);
}

#[test]
fn forged_misdirected_and_replayed_nonce_tokens_are_refused_in_upstreams_words() {
    let app = idp_app(&[]);
    let good = claims("acme-1", "ann@example.com", true, "n-1");
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let oauth = |r: &Reply| (r.status.as_u16(), r.body["error"].as_str().unwrap_or("").to_string(), r.body["error_description"].as_str().unwrap_or("").to_string());
    let bad = |desc: &str| (400, "invalid request".to_string(), desc.to_string());
    // Another audience, another issuer, expired.
    assert_eq!(oauth(&sign_in(&app, &token(&with("aud", json!("someone-else"))), Some("n-1"))), bad("Unacceptable audience in id_token: [someone-else]"));
    assert_eq!(oauth(&sign_in(&app, &token(&with("iss", json!("https://evil.example.com"))), Some("n-1"))), bad("Bad ID token"));
    assert_eq!(oauth(&sign_in(&app, &token(&with("exp", json!(NOW_SECS - 3600))), Some("n-1"))), bad("Bad ID token"));
    // Signed by a key the provider does not publish, under its key id; HS256 with the client
    // id as the secret; no signature at all.
    let forged = jws(json!({"alg": "ES256", "kid": "k1"}), &good, &other_key(), Alg::Es256);
    assert_eq!(oauth(&sign_in(&app, &forged, Some("n-1"))), bad("Bad ID token"));
    let hmac = jws(json!({"alg": "HS256", "kid": "k1"}), &good, &json!({"kty": "oct", "k": b64url(b"portcullis-app")}), Alg::Hs256);
    assert_eq!(oauth(&sign_in(&app, &hmac, Some("n-1"))), bad("Bad ID token"));
    let none = format!("{}.{}.", b64url(br#"{"alg":"none"}"#), b64url(good.to_string().as_bytes()));
    assert_eq!(oauth(&sign_in(&app, &none, Some("n-1"))), bad("Bad ID token"));
    let tampered = {
        let t = token(&good);
        let parts: Vec<&str> = t.split('.').collect();
        format!("{}.{}.{}", parts[0], b64url(with("sub", json!("acme-2")).to_string().as_bytes()), parts[2])
    };
    assert_eq!(oauth(&sign_in(&app, &tampered, Some("n-1"))), bad("Bad ID token"));
    // The nonce: another one, or on one side only.
    assert_eq!(oauth(&sign_in(&app, &token(&good), Some("n-2"))), (400, "invalid nonce".into(), "Nonces mismatch".into()));
    let neither_or_both = "Passed nonce and nonce in id_token should either both exist or not.";
    assert_eq!(oauth(&sign_in(&app, &token(&good), None)), bad(neither_or_both));
    let mut no_nonce = good.clone();
    no_nonce.as_object_mut().unwrap().remove("nonce");
    assert_eq!(oauth(&sign_in(&app, &token(&no_nonce), Some("n-1"))), bad(neither_or_both));
    assert!(ports(&app).store.all_users().is_empty(), "nothing refused wrote anything");
    // A token for the second client id is accepted.
    assert_eq!(sign_in(&app, &token(&with("aud", json!("portcullis-ios"))), Some("n-1")).status, 200);
}

/// The claims of a GoTrue access token.
fn payload(access: &str) -> Value {
    serde_json::from_slice(&portcullis_shared::signature::from_b64url(access.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

/// Every token names the account's providers, as upstream's `app_metadata` does: the
/// provider's alone for an account it made, `email` first for one it joined; a refresh (whose
/// answer lists only what the account row says) and a password sign-in say the same.
#[test]
fn tokens_and_refreshes_name_the_accounts_providers() {
    let app = idp_app(&[]);
    let made = sign_in(&app, &token(&claims("acme-1", "ann@example.com", true, "n-1")), Some("n-1"));
    assert_eq!(made.status, 200, "{}", made.raw);
    let want = json!({"provider": "acme", "providers": ["acme"]});
    assert_eq!(payload(made.body["access_token"].as_str().unwrap())["app_metadata"], want);
    let refreshed = post(&app, "/token?grant_type=refresh_token", &json!({"refresh_token": made.body["refresh_token"]}));
    assert_eq!(refreshed.status, 200, "{}", refreshed.raw);
    assert_eq!(payload(refreshed.body["access_token"].as_str().unwrap())["app_metadata"], want);
    assert_eq!(refreshed.body["user"]["app_metadata"], want, "{}", refreshed.raw);
    // Its identity, and no `email` identity beside it: the account has none.
    let listed = |r: &Reply| -> Vec<String> {
        r.body["user"]["identities"].as_array().unwrap().iter().map(|i| i["provider"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(listed(&refreshed), ["acme"], "{}", refreshed.raw);
    let me = get(&app, "/user", Some(refreshed.body["access_token"].as_str().unwrap()));
    assert_eq!(me.body["app_metadata"], want, "{}", me.raw);

    // Bob's password account, joined by his verified identity: email first, in every token.
    confirmed_user(&app, "bob@example.com", "bobs pass 1");
    let joined = sign_in(&app, &token(&claims("acme-bob", "bob@example.com", true, "n")), Some("n"));
    let both = json!({"provider": "email", "providers": ["email", "acme"]});
    assert_eq!(payload(joined.body["access_token"].as_str().unwrap())["app_metadata"], both, "{}", joined.raw);
    let by_password = login(&app, "bob@example.com", "bobs pass 1");
    assert_eq!(payload(by_password.body["access_token"].as_str().unwrap())["app_metadata"], both, "{}", by_password.raw);
    assert_eq!(by_password.body["user"]["app_metadata"], both);
    assert_eq!(listed(&by_password), ["email", "acme"], "a password sign-in lists the identities too");
    // A password account without identities says `email`, as before.
    confirmed_user(&app, "cy@example.com", "cys pass 1");
    let cy = login(&app, "cy@example.com", "cys pass 1");
    assert_eq!(payload(cy.body["access_token"].as_str().unwrap())["app_metadata"], json!({"provider": "email", "providers": ["email"]}));
}

/// A first proof that forgets takes the identities a stranger linked, and their provider with
/// them from the session it starts: its token says `email`, as `GET /user` does.
#[test]
fn a_first_proof_that_forgets_leaves_no_provider_in_the_new_sessions_token() {
    let app = idp_app(&[("MAILER_AUTOCONFIRM", "false")]);
    let made = sign_in(&app, &token(&claims("acme-carol", "carol@example.com", false, "n")), Some("n"));
    assert_eq!(made.body["user"]["email"], "");
    let access = made.body["access_token"].as_str().unwrap();
    assert_eq!(put(&app, "/user", access, &json!({"email": "carol@example.com"})).status, 200);
    let code = code_for(&app, "carol@example.com");
    let v = post(&app, "/verify", &json!({"type": "email_change", "email": "carol@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    let want = json!({"provider": "email", "providers": ["email"]});
    assert_eq!(get(&app, "/user", v.body["access_token"].as_str()).body["app_metadata"], want);
    assert_eq!(v.body["user"]["app_metadata"], want, "{}", v.raw);
    assert_eq!(payload(v.body["access_token"].as_str().unwrap())["app_metadata"], want);
}

/// An account made by a one-time code (no password) keeps its `email` identity, first, when
/// a provider joins it: only an account a provider made goes without one. So the provider's
/// identity is not its last, and may be unlinked.
#[test]
fn a_passwordless_account_joined_by_a_provider_keeps_email_first() {
    let app = idp_app(&[("SECURITY_MANUAL_LINKING_ENABLED", "true")]);
    post(&app, "/otp", &json!({"email": "dan@example.com"}));
    let code = code_for(&app, "dan@example.com");
    let v = post(&app, "/verify", &json!({"type": "email", "email": "dan@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    let joined = sign_in(&app, &token(&claims("acme-dan", "dan@example.com", true, "n")), Some("n"));
    assert_eq!(joined.body["user"]["id"], v.body["user"]["id"]);
    let want = json!({"provider": "email", "providers": ["email", "acme"]});
    assert_eq!(payload(joined.body["access_token"].as_str().unwrap())["app_metadata"], want, "{}", joined.raw);
    let me = get(&app, "/user", joined.body["access_token"].as_str());
    assert_eq!(me.body["app_metadata"], want);
    let listed: Vec<&str> = me.body["identities"].as_array().unwrap().iter().map(|i| i["provider"].as_str().unwrap()).collect();
    assert_eq!(listed, ["email", "acme"]);
    let acme = me.body["identities"][1]["identity_id"].as_str().unwrap();
    let access = joined.body["access_token"].as_str();
    let unlinked = call(&app, "DELETE", &format!("/user/identities/{acme}"), &Value::Null, access);
    assert_eq!(unlinked.status, 200, "{}", unlinked.raw);
    assert_eq!(get(&app, "/user", access).body["app_metadata"], json!({"provider": "email", "providers": ["email"]}));
}

#[test]
fn an_unverified_address_never_joins_and_a_verified_one_is_a_first_proof() {
    let app = idp_app(&[("MAILER_AUTOCONFIRM", "false")]);
    // A stranger registered Ann's address first, with a password, and is signed in (as
    // Feathers would let them be); Bob's account is confirmed.
    let stranger = signup(&app, "ann@example.com", "strangers pass 1");
    assert_eq!(stranger.status, 200, "{}", stranger.raw);
    let bob = confirmed_user(&app, "bob@example.com", "bobs pass 1");
    let bob_id = bob["user"]["id"].as_str().unwrap().to_string();
    // A provider account that claims Bob's address without having verified it gets an account
    // of its own, without the address.
    let claimer = sign_in(&app, &token(&claims("acme-evil", "bob@example.com", false, "n")), Some("n"));
    assert_eq!(claimer.status, 200, "{}", claimer.raw);
    assert_ne!(claimer.body["user"]["id"].as_str(), Some(bob_id.as_str()));
    assert_eq!(claimer.body["user"]["email"], "");
    assert_eq!(login(&app, "bob@example.com", "bobs pass 1").status, 200, "Bob's account is untouched");
    // Bob's verified identity joins Bob's account, which keeps its password.
    let joined = sign_in(&app, &token(&claims("acme-bob", "bob@example.com", true, "n")), Some("n"));
    assert_eq!(joined.body["user"]["id"].as_str(), Some(bob_id.as_str()), "{}", joined.raw);
    assert_eq!(login(&app, "bob@example.com", "bobs pass 1").status, 200);
    // Ann's verified identity proves the mailbox the stranger registered: the stranger's
    // password is gone and the account is confirmed, Ann's.
    let ann = sign_in(&app, &token(&claims("acme-ann", "ann@example.com", true, "n")), Some("n"));
    assert_eq!(ann.status, 200, "{}", ann.raw);
    assert!(ann.body["user"]["email_confirmed_at"].is_string());
    let r = login(&app, "ann@example.com", "strangers pass 1");
    assert_eq!(error_code(&r), "invalid_credentials", "{}", r.raw);
    let stored = pollster::block_on(ports(&app).store.by_email("ann@example.com")).unwrap().unwrap();
    assert!(stored.password_hash.is_none());
}

#[test]
fn providers_not_configured_and_bad_bodies_get_clear_answers() {
    let app = idp_app(&[]);
    let r = post(&app, "/token?grant_type=id_token", &json!({"provider": "google", "id_token": "x"}));
    assert_eq!((r.status.as_u16(), error_code(&r)), (400, "provider_disabled"), "{}", r.raw);
    let r = post(&app, "/token?grant_type=id_token", &json!({"provider": "nobody", "id_token": "x"}));
    assert_eq!((r.status.as_u16(), error_code(&r)), (400, "validation_failed"), "{}", r.raw);
    let r = post(&app, "/token?grant_type=id_token", &json!({"provider": "acme"}));
    assert_eq!((r.status.as_u16(), r.body["message"].as_str()), (400, Some("id_token required")), "{}", r.raw);
    let r = post(&app, "/token?grant_type=id_token", &json!({"provider": "acme", "id_token": 7}));
    assert_eq!((r.status.as_u16(), error_code(&r)), (400, "bad_json"), "{}", r.raw);
    let r = send(&app, request("POST", "/token?grant_type=id_token", b"{\"provider\":", &[JSON]));
    assert_eq!(r.status, 400, "{}", r.raw);
    let long = "a".repeat(20_000);
    let r = sign_in(&app, &long, Some("n"));
    assert_eq!((r.status.as_u16(), r.body["error_description"].as_str()), (400, Some("Bad ID token")), "{}", r.raw);
    let r = sign_in(&app, &token(&claims("acme-1", "ann@example.com", true, "n")), Some(&"n".repeat(5000)));
    assert_eq!(r.status, 400, "{}", r.raw);
    // A provider that does not answer: a 500 naming an error id, and nothing written.
    ports(&app).http.answer_with(|_, _| Err(HttpError("timed out".into())));
    let fresh = idp_app(&[]);
    ports(&fresh).http.answer_with(|_, _| Err(HttpError("timed out".into())));
    let r = sign_in(&fresh, &token(&claims("acme-1", "ann@example.com", true, "n")), Some("n"));
    assert_eq!(r.status, 500, "{}", r.raw);
    assert!(ports(&fresh).store.all_users().is_empty());
    // /settings lists the provider.
    assert_eq!(get(&app, "/settings", None).body["external"]["acme"], true);
}
