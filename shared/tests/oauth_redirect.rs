//! GoTrue's sign-in through a provider's pages (`/authorize`, `/callback`, then
//! `grant_type=pkce` for auth-js's PKCE flow), with an OpenID Connect provider and a
//! GitHub-shaped one answered by scripts through the outbound HTTP port: where the browser is
//! sent, what comes back, and every forged, replayed or misdirected callback refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::ports::{HttpError, HttpReply};
use portcullis_shared::signature::b64url;
use portcullis_shared::testing::TestPorts;
use portcullis_shared::App;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use support::idp::*;
use support::*;

/// What the scripted providers know: the codes they issued (code → (nonce, subject claims)).
#[derive(Default)]
struct Idp {
    codes: HashMap<String, (String, Value)>,
    github_emails: Value,
}

fn app_with_idps(extra: &[(&str, &str)]) -> (App<TestPorts>, Rc<RefCell<Idp>>) {
    let mut vars = vec![
        ("EXTERNAL_OIDC_PROVIDERS", "acme"),
        ("EXTERNAL_ACME_ENABLED", "true"),
        ("EXTERNAL_ACME_CLIENT_ID", "portcullis-app"),
        ("EXTERNAL_ACME_SECRET", "acme-secret"),
        ("EXTERNAL_ACME_URL", ISSUER),
        ("EXTERNAL_GITHUB_ENABLED", "true"),
        ("EXTERNAL_GITHUB_CLIENT_ID", "gh-app"),
        ("EXTERNAL_GITHUB_SECRET", "gh-secret"),
        ("EXTERNAL_GITHUB_URL", "https://git.example.com"),
        ("URI_ALLOW_LIST", "https://*.app.example.com/**"),
    ];
    vars.extend_from_slice(extra);
    let app = app_with(&vars);
    let idp = Rc::new(RefCell::new(Idp::default()));
    let seen = Rc::clone(&idp);
    ports(&app).http.answer_with(move |url, form| {
        let field = |k: &str| form.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string());
        let body = match url {
            "https://idp.example.com/.well-known/openid-configuration" => json!({
                "issuer": ISSUER, "authorization_endpoint": format!("{ISSUER}/auth"), "token_endpoint": format!("{ISSUER}/token"), "jwks_uri": format!("{ISSUER}/jwks"),
            }),
            "https://idp.example.com/jwks" => {
                json!({"keys": [public(provider_key(), "k1")]})
            }
            "https://idp.example.com/token" => {
                assert_eq!((field("client_id").as_deref(), field("client_secret").as_deref()), (Some("portcullis-app"), Some("acme-secret")));
                assert_eq!(field("redirect_uri").as_deref(), Some("http://auth.test/callback"));
                assert!(field("code_verifier").is_some_and(|v| v.len() >= 43), "PKCE towards the provider");
                let Some((nonce, who)) = field("code").and_then(|c| seen.borrow_mut().codes.remove(&c)) else {
                    return Ok(HttpReply { status: 400, body: json!({"error": "invalid_grant"}).to_string() });
                };
                let mut claims = json!({"iss": ISSUER, "aud": "portcullis-app", "iat": NOW_SECS, "exp": NOW_SECS + 600, "nonce": nonce});
                claims.as_object_mut().unwrap().extend(who.as_object().unwrap().clone());
                json!({"access_token": "acme-access", "refresh_token": "acme-refresh", "token_type": "Bearer", "id_token": provider_jws(&claims)})
            }
            "https://git.example.com/login/oauth/access_token" => {
                assert_eq!(field("client_secret").as_deref(), Some("gh-secret"));
                match field("code").as_deref() {
                    Some("gh-code") => return Ok(HttpReply { status: 200, body: "access_token=gh-token&scope=user%3Aemail&token_type=bearer".into() }),
                    _ => json!({"error": "bad_verification_code"}),
                }
            }
            "https://git.example.com/api/v3/user" => {
                assert_eq!(field("authorization").as_deref(), Some("Bearer gh-token"));
                json!({"id": 4242, "login": "octo", "name": "Octo Cat", "email": null, "avatar_url": "https://git.example.com/a.png"})
            }
            "https://git.example.com/api/v3/user/emails" => seen.borrow().github_emails.clone(),
            _ => return Err(HttpError(format!("unexpected {url}"))),
        };
        Ok(HttpReply { status: 200, body: body.to_string() })
    });
    (app, idp)
}

/// `/authorize` for `acme`, then the provider's consent for `who`: the callback's path.
fn through_acme(app: &App<TestPorts>, idp: &Rc<RefCell<Idp>>, extra: &str, who: Value) -> String {
    let r = get(app, &format!("/authorize?provider=acme{extra}"), None);
    assert_eq!(r.status, 302, "{}", r.raw);
    let to = location(&r);
    assert!(to.starts_with("https://idp.example.com/auth?"), "{to}");
    let q = query_of(&to);
    assert_eq!((q["client_id"].as_str(), q["response_type"].as_str(), q["code_challenge_method"].as_str()), ("portcullis-app", "code", "S256"));
    assert_eq!(q["redirect_uri"], "http://auth.test/callback");
    let code = format!("code-{}", idp.borrow().codes.len());
    idp.borrow_mut().codes.insert(code.clone(), (q["nonce"].clone(), who));
    format!("/callback?code={code}&state={}", q["state"])
}

#[test]
fn the_implicit_flow_comes_back_with_the_session_and_the_provider_token_in_the_fragment() {
    let (app, idp) = app_with_idps(&[]);
    let callback = through_acme(&app, &idp, "&redirect_to=https%3A%2F%2Fshop.app.example.com%2Fdone", json!({"sub": "acme-1", "email": "ann@example.com", "email_verified": true}));
    let r = get(&app, &callback, None);
    assert_eq!(r.status, 302, "{}", r.raw);
    let to = location(&r);
    assert!(to.starts_with("https://shop.app.example.com/done#"), "{to}");
    let f = fragment_of(&to);
    assert_eq!((f["provider_token"].as_str(), f["provider_refresh_token"].as_str(), f["token_type"].as_str()), ("acme-access", "acme-refresh", "bearer"));
    let me = get(&app, "/user", Some(&f["access_token"]));
    assert_eq!((me.body["email"].as_str(), me.body["app_metadata"]["provider"].as_str()), (Some("ann@example.com"), Some("acme")), "{}", me.raw);
    // The callback again: its state is used up, and the browser goes to the site.
    let again = get(&app, &callback, None);
    assert_eq!(again.status, 303);
    let to = location(&again);
    assert!(to.starts_with("http://localhost:3000?") || to.starts_with("http://localhost:3000/?"), "{to}");
    assert_eq!(query_of(&to)["error_code"], "bad_oauth_state");
}

#[test]
fn the_pkce_flow_comes_back_with_a_code_only_the_verifier_exchanges() {
    let (app, idp) = app_with_idps(&[]);
    let verifier = "v".repeat(50);
    let challenge = b64url(&Sha256::digest(verifier.as_bytes()));
    let callback = through_acme(&app, &idp, &format!("&code_challenge={challenge}&code_challenge_method=s256&redirect_to=http%3A%2F%2F127.0.0.1%3A5173%2Fcb"), json!({"sub": "acme-2", "email": "bo@example.com", "email_verified": true}));
    let r = get(&app, &callback, None);
    let to = location(&r);
    assert!(to.starts_with("http://127.0.0.1:5173/cb?code="), "loopback targets are always allowed: {to}");
    let code = query_of(&to)["code"].clone();
    let wrong = post(&app, "/token?grant_type=pkce", &json!({"auth_code": code, "code_verifier": "w".repeat(50)}));
    assert_eq!(error_code(&wrong), "bad_code_verifier", "{}", wrong.raw);
    let callback = through_acme(&app, &idp, &format!("&code_challenge={challenge}&code_challenge_method=s256"), json!({"sub": "acme-2", "email": "bo@example.com", "email_verified": true}));
    let code = query_of(&location(&get(&app, &callback, None)))["code"].clone();
    let waiting = format!("{:?}", ports(&app).store);
    assert!(waiting.contains("provider_tokens: Some(") && !waiting.contains("acme-access"), "kept sealed, never in the clear");
    let s = post(&app, "/token?grant_type=pkce", &json!({"auth_code": code, "code_verifier": verifier}));
    assert_eq!(s.status, 200, "{}", s.raw);
    assert_eq!(s.body["user"]["identities"][0]["provider"], "acme");
    // The provider's tokens waited sealed for the exchange, and come with it.
    assert_eq!((s.body["provider_token"].as_str(), s.body["provider_refresh_token"].as_str()), (Some("acme-access"), Some("acme-refresh")));

}

#[test]
fn forged_states_foreign_targets_and_provider_refusals() {
    let (app, idp) = app_with_idps(&[]);
    for (callback, code) in [
        ("/callback?code=x", "bad_oauth_callback"),
        ("/callback?code=x&state=not-a-uuid", "bad_oauth_state"),
        ("/callback?code=x&state=6f1c1a52-4c1e-4c5b-9d7e-0f1a2b3c4d5e", "bad_oauth_state"),
    ] {
        let r = get(&app, callback, None);
        assert_eq!(r.status, 303, "{callback}");
        assert_eq!(query_of(&location(&r))["error_code"], code, "{callback}");
    }
    // A redirect_to outside the allow-list falls back to the site.
    let callback = through_acme(&app, &idp, "&redirect_to=https%3A%2F%2Fevil.example.com%2F%3F.app.example.com", json!({"sub": "acme-3", "email": "cy@example.com", "email_verified": true}));
    assert!(location(&get(&app, &callback, None)).starts_with("http://localhost:3000#"));
    // The provider refused: its words come back to the target, and the state is used up.
    let r = get(&app, "/authorize?provider=acme", None);
    let state = query_of(&location(&r))["state"].clone();
    let refused = get(&app, &format!("/callback?error=access_denied&error_description=User+said+no&state={state}"), None);
    let to = location(&refused);
    assert_eq!((query_of(&to)["error"].as_str(), fragment_of(&to)["error_description"].as_str()), ("access_denied", "User said no"), "{to}");
    // A code the provider does not know (or a token it signed for another flow's nonce).
    let r = get(&app, "/authorize?provider=acme", None);
    let state = query_of(&location(&r))["state"].clone();
    let to = location(&get(&app, &format!("/callback?code=made-up&state={state}"), None));
    assert_eq!(query_of(&to)["error_code"], "unexpected_failure", "{to}");
    let a = query_of(&location(&get(&app, "/authorize?provider=acme", None)));
    let b = query_of(&location(&get(&app, "/authorize?provider=acme", None)));
    idp.borrow_mut().codes.insert("for-b".into(), (b["nonce"].clone(), json!({"sub": "acme-4", "email": "di@example.com", "email_verified": true})));
    let to = location(&get(&app, &format!("/callback?code=for-b&state={}", a["state"]), None));
    assert_eq!(query_of(&to)["error"], "invalid_request", "a code of one flow finishes no other: {to}");
    assert!(ports(&app).store.all_users().iter().all(|u| u.email.as_deref() != Some("di@example.com")));
    // Unknown and unconfigured providers: upstream's words.
    let r = get(&app, "/authorize?provider=google", None);
    assert_eq!((r.status.as_u16(), r.body["msg"].as_str().or(r.body["message"].as_str())), (400, Some("Unsupported provider: provider is not enabled")), "{}", r.raw);
}

#[test]
fn github_signs_in_with_its_primary_address_and_only_a_verified_one_joins() {
    let (app, idp) = app_with_idps(&[]);
    let owner = confirmed_user(&app, "octo@example.com", "octo pass 12");
    idp.borrow_mut().github_emails = json!([{"email": "octo@example.com", "primary": true, "verified": false}, {"email": "other@example.com", "primary": false, "verified": true}]);
    // The client's own scope, state or request object cannot override the flow's; other
    // parameters go on to the provider.
    let r = get(&app, "/authorize?provider=github&scopes=repo&scope=admin&state=mine&request=x&login=octo", None);
    let to = location(&r);
    assert!(to.starts_with("https://git.example.com/login/oauth/authorize?"), "{to}");
    let sent: Vec<(String, String)> = form_urlencoded::parse(to.split_once('?').unwrap().1.as_bytes()).into_owned().collect();
    let named = |k: &str| sent.iter().filter(|(key, _)| key == k).map(|(_, v)| v.as_str()).collect::<Vec<_>>();
    assert_eq!((named("scope"), named("request"), named("login")), (vec!["user:email repo"], vec![], vec!["octo"]), "{to}");
    assert!(named("state").len() == 1 && named("state")[0] != "mine", "{to}");
    let state = query_of(&to)["state"].clone();
    let back = location(&get(&app, &format!("/callback?code=gh-code&state={state}"), None));
    let f = fragment_of(&back);
    let me = get(&app, "/user", Some(&f["access_token"]));
    assert_ne!(me.body["id"], owner["user"]["id"], "an unverified primary address joins nothing: {}", me.raw);
    assert_eq!(me.body["identities"][0]["identity_data"]["preferred_username"], "octo");
    // Verified now: a new identity would join; the same GitHub account keeps its own account.
    idp.borrow_mut().github_emails = json!([{"email": "octo@example.com", "primary": true, "verified": true}]);
    let state = query_of(&location(&get(&app, "/authorize?provider=github", None)))["state"].clone();
    let back = location(&get(&app, &format!("/callback?code=gh-code&state={state}"), None));
    assert_eq!(get(&app, "/user", Some(&fragment_of(&back)["access_token"])).body["id"], me.body["id"]);
}

#[test]
fn feathers_oauth_ends_at_the_app_with_a_feathers_token_in_the_fragment() {
    let (app, idp) = app_with_idps(&[]);
    let r = get(&app, "/oauth/acme?redirect=%2Fdashboard", None);
    assert_eq!(r.status, 303, "{}", r.raw);
    let q = query_of(&location(&r));
    idp.borrow_mut().codes.insert("f-1".into(), (q["nonce"].clone(), json!({"sub": "acme-f", "email": "fe@example.com", "email_verified": true})));
    // The provider's one redirect URI (the shared /callback) finishes it as Feathers.
    let back = get(&app, &format!("/callback?code=f-1&state={}", q["state"]), None);
    assert_eq!(back.status, 303, "{}", back.raw);
    let to = location(&back);
    let token = to.strip_prefix("http://localhost:3000/dashboard#access_token=").unwrap_or_else(|| panic!("{to}"));
    let auth = post(&app, "/authentication", &json!({"strategy": "jwt", "accessToken": token}));
    assert_eq!(auth.status, 201, "{}", auth.raw);
    assert_eq!(auth.body["user"]["email"], "fe@example.com");
    // Its own callback path answers a bad state at the site, in Feathers' words.
    let bad = get(&app, "/oauth/acme/callback?code=x&state=6f1c1a52-4c1e-4c5b-9d7e-0f1a2b3c4d5e", None);
    assert_eq!(location(&bad), "http://localhost:3000#error=OAuth%20state%20not%20found%20or%20expired");
    // A provider's refusal; a redirect that leaves the site is ignored.
    let r = get(&app, "/oauth/acme?redirect=%2F%2Fevil.example.com", None);
    let state = query_of(&location(&r))["state"].clone();
    let refused = get(&app, &format!("/oauth/acme/callback?error=access_denied&state={state}"), None);
    assert_eq!(location(&refused), "http://localhost:3000#error=access_denied");
    // Started from a page of an allowed origin, it goes back there; from another, to the site.
    for (referer, back_to) in [("https://shop.app.example.com/cart?x=1", "https://shop.app.example.com/orders#access_token="), ("https://evil.example.com/", "http://localhost:3000#access_token=")] {
        let r = send(&app, request("GET", "/oauth/acme?redirect=%2Forders", b"", &[("referer", referer)]));
        let q = query_of(&location(&r));
        idp.borrow_mut().codes.insert(format!("r-{referer}"), (q["nonce"].clone(), json!({"sub": "acme-f", "email": "fe@example.com", "email_verified": true})));
        let back = get(&app, &format!("/callback?code={}&state={}", form_urlencoded::byte_serialize(format!("r-{referer}").as_bytes()).collect::<String>(), q["state"]), None);
        assert!(location(&back).starts_with(back_to), "{referer}: {}", location(&back));
    }
    // Unknown providers are no route.
    assert_eq!(get(&app, "/oauth/nobody", None).status, 404);
}

/// Links `acme`'s `who` to the account of `token` by hand: the callback's location.
fn link_acme(app: &App<TestPorts>, idp: &Rc<RefCell<Idp>>, token: &str, who: Value) -> Reply {
    let r = get(app, "/user/identities/authorize?provider=acme&skip_http_redirect=true", Some(token));
    assert_eq!(r.status, 200, "{}", r.raw);
    let q = query_of(r.body["url"].as_str().unwrap());
    let code = format!("link-{}", q["state"]);
    idp.borrow_mut().codes.insert(code.clone(), (q["nonce"].clone(), who));
    get(app, &format!("/callback?code={code}&state={}", q["state"]), None)
}

#[test]
fn identities_are_linked_and_unlinked_by_hand_never_the_last_one_nor_anothers() {
    let (off, _) = app_with_idps(&[]);
    let ann = confirmed_user(&off, "ann@example.com", "anns pass 12");
    let token = ann["access_token"].as_str().unwrap();
    let r = get(&off, "/user/identities/authorize?provider=acme", Some(token));
    assert_eq!((r.status.as_u16(), error_code(&r)), (404, "manual_linking_disabled"), "{}", r.raw);

    let (app, idp) = app_with_idps(&[("SECURITY_MANUAL_LINKING_ENABLED", "true")]);
    let ann = confirmed_user(&app, "ann@example.com", "anns pass 12");
    let token = ann["access_token"].as_str().unwrap();
    // Linked: the provider's address need not be the account's.
    let back = link_acme(&app, &idp, token, json!({"sub": "acme-ann", "email": "ann@work.example.com", "email_verified": true}));
    let f = fragment_of(&location(&back));
    let me = get(&app, "/user", Some(&f["access_token"]));
    assert_eq!(me.body["id"], ann["user"]["id"], "{}", me.raw);
    let providers: Vec<&str> = me.body["identities"].as_array().unwrap().iter().map(|i| i["provider"].as_str().unwrap()).collect();
    assert_eq!(providers, ["email", "acme"]);
    // Again, or into another account: refused, at the target.
    let again = link_acme(&app, &idp, token, json!({"sub": "acme-ann", "email": "ann@work.example.com", "email_verified": true}));
    assert_eq!(query_of(&location(&again))["error_description"], "Identity is already linked");
    let bob = confirmed_user(&app, "bob@example.com", "bobs pass 12");
    let stolen = link_acme(&app, &idp, bob["access_token"].as_str().unwrap(), json!({"sub": "acme-ann", "email": "x@example.com", "email_verified": true}));
    assert_eq!(query_of(&location(&stolen))["error_description"], "Identity is already linked to another user");
    // A session that ended between the start and the callback links nothing.
    let r = get(&app, "/user/identities/authorize?provider=acme&skip_http_redirect=true", Some(bob["access_token"].as_str().unwrap()));
    let q = query_of(r.body["url"].as_str().unwrap());
    assert_eq!(post_auth(&app, "/logout", bob["access_token"].as_str().unwrap(), &json!({})).status, 204);
    idp.borrow_mut().codes.insert("late".into(), (q["nonce"].clone(), json!({"sub": "acme-bob", "email": "bob@example.com", "email_verified": true})));
    let late = get(&app, &format!("/callback?code=late&state={}", q["state"]), None);
    assert!(query_of(&location(&late)).contains_key("error"), "{}", location(&late));
    let bob_again = login(&app, "bob@example.com", "bobs pass 12");
    assert_eq!(get(&app, "/user", Some(bob_again.body["access_token"].as_str().unwrap())).body["identities"].as_array().unwrap().len(), 1);
    // Unlinked, then the email identity is the last and stays.
    let acme_id = me.body["identities"][1]["identity_id"].as_str().unwrap().to_string();
    let r = call(&app, "DELETE", "/user/identities/not-a-uuid", &json!({}), Some(token));
    assert_eq!((r.status.as_u16(), error_code(&r)), (404, "validation_failed"), "{}", r.raw);
    let r = call(&app, "DELETE", &format!("/user/identities/{acme_id}"), &json!({}), Some(token));
    assert_eq!((r.status.as_u16(), r.body.clone()), (200, json!({})), "{}", r.raw);
    let r = call(&app, "DELETE", &format!("/user/identities/{acme_id}"), &json!({}), Some(token));
    assert_eq!((r.status.as_u16(), error_code(&r)), (422, "single_identity_not_deletable"), "{}", r.raw);
    // An account a provider made has no other way in than that identity.
    let made = link_acme_sign_in(&app, &idp, json!({"sub": "acme-carl", "email": "carl@example.com", "email_verified": true}));
    let carl = get(&app, "/user", Some(&made)).body;
    let only = carl["identities"][0]["identity_id"].as_str().unwrap().to_string();
    let r = call(&app, "DELETE", &format!("/user/identities/{only}"), &json!({}), Some(&made));
    assert_eq!((r.status.as_u16(), error_code(&r)), (422, "single_identity_not_deletable"), "{}", r.raw);
}

/// Signs in through `acme` as `who` (the implicit flow): the access token.
fn link_acme_sign_in(app: &App<TestPorts>, idp: &Rc<RefCell<Idp>>, who: Value) -> String {
    let callback = through_acme(app, idp, "", who);
    fragment_of(&location(&get(app, &callback, None)))["access_token"].clone()
}

#[test]
fn apple_posts_its_callback_with_the_name_its_token_lacks() {
    let (app, idp) = app_with_idps(&[
        ("EXTERNAL_APPLE_ENABLED", "true"),
        ("EXTERNAL_APPLE_CLIENT_ID", "portcullis-app"),
        ("EXTERNAL_APPLE_SECRET", "acme-secret"),
        // The scripted issuer stands in for https://appleid.apple.com.
        ("EXTERNAL_APPLE_URL", ISSUER),
    ]);
    let to = location(&get(&app, "/authorize?provider=apple", None));
    let q = query_of(&to);
    assert_eq!(q["response_mode"], "form_post", "{to}");
    idp.borrow_mut().codes.insert("apple-1".into(), (q["nonce"].clone(), json!({"sub": "apple-ann", "email": "ann@privaterelay.example.com", "email_verified": true})));
    let user = json!({"name": {"firstName": "Ann", "lastName": "Apple"}, "email": "someone-else@example.com"}).to_string();
    let form: String = form_urlencoded::Serializer::new(String::new()).append_pair("code", "apple-1").append_pair("state", &q["state"]).append_pair("user", &user).finish();
    let back = send(&app, request("POST", "/callback", form.as_bytes(), &[FORM]));
    assert_eq!(back.status, 302, "{}", back.raw);
    let me = get(&app, "/user", Some(&fragment_of(&location(&back))["access_token"]));
    assert_eq!((me.body["email"].as_str(), me.body["user_metadata"]["full_name"].as_str()), (Some("ann@privaterelay.example.com"), Some("Ann Apple")), "{}", me.raw);
}
