//! Review attacks on linking identities by hand (GoTrue's `/user/identities/*`), on the
//! provider tokens kept sealed for the PKCE exchange, and on Feathers' `/oauth/:provider`, with
//! an OpenID Connect provider answered by a script through the outbound HTTP port. Each test is
//! an attack: those that worked before their fix say so; the others hold, and stay as
//! regression tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::model::Timestamp;
use portcullis_shared::ports::{HttpError, HttpReply};
use portcullis_shared::signature::b64url;
use portcullis_shared::testing::{TestPorts, BEFORE_CALL};
use portcullis_shared::token::JwtKeys;
use portcullis_shared::App;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use support::mfa::ann_with_factor;
use support::idp::*;
use support::*;

/// The codes the scripted provider issued: code → (nonce, subject claims).
type Codes = Rc<RefCell<HashMap<String, (String, Value)>>>;

fn app_with_acme() -> (&'static App<TestPorts>, Codes) {
    app_with_acme_and(&[])
}

fn app_with_acme_and(extra: &[(&str, &str)]) -> (&'static App<TestPorts>, Codes) {
    let mut vars = vec![
        ("EXTERNAL_OIDC_PROVIDERS", "acme"),
        ("EXTERNAL_ACME_ENABLED", "true"),
        ("EXTERNAL_ACME_CLIENT_ID", "portcullis-app"),
        ("EXTERNAL_ACME_SECRET", "acme-secret"),
        ("EXTERNAL_ACME_URL", ISSUER),
        ("URI_ALLOW_LIST", "https://*.app.example.com/**"),
        ("SECURITY_MANUAL_LINKING_ENABLED", "true"),
    ];
    vars.extend_from_slice(extra);
    let app: &'static App<TestPorts> = Box::leak(Box::new(app_with(&vars)));
    let codes: Codes = Rc::default();
    let seen = Rc::clone(&codes);
    ports(app).http.answer_with(move |url, form| {
        let field = |k: &str| form.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string());
        let body = match url {
            "https://idp.example.com/.well-known/openid-configuration" => json!({
                "issuer": ISSUER, "authorization_endpoint": format!("{ISSUER}/auth"), "token_endpoint": format!("{ISSUER}/token"), "jwks_uri": format!("{ISSUER}/jwks"),
            }),
            "https://idp.example.com/jwks" => {
                json!({"keys": [public(provider_key(), "k1")]})
            }
            "https://idp.example.com/token" => {
                let Some((nonce, who)) = field("code").and_then(|c| seen.borrow_mut().remove(&c)) else {
                    return Ok(HttpReply { status: 400, body: json!({"error": "invalid_grant"}).to_string() });
                };
                let mut claims = json!({"iss": ISSUER, "aud": "portcullis-app", "iat": NOW_SECS, "exp": NOW_SECS + 600, "nonce": nonce});
                claims.as_object_mut().unwrap().extend(who.as_object().unwrap().clone());
                json!({"access_token": format!("access-of-{}", claims["sub"].as_str().unwrap()), "token_type": "Bearer", "id_token": provider_jws(&claims)})
            }
            _ => return Err(HttpError(format!("unexpected {url}"))),
        };
        Ok(HttpReply { status: 200, body: body.to_string() })
    });
    (app, codes)
}

/// The provider's consent for `who` to the flow at `provider_url`: the callback's path.
fn consent(codes: &Codes, provider_url: &str, who: Value) -> String {
    let q = query_of(provider_url);
    let code = format!("code-{}", q["state"]);
    codes.borrow_mut().insert(code.clone(), (q["nonce"].clone(), who));
    format!("/callback?code={code}&state={}", q["state"])
}

/// Starts a link flow for `token`'s account (`extra` query): the provider's URL.
fn start_link(app: &App<TestPorts>, token: &str, extra: &str) -> String {
    let r = get(app, &format!("/user/identities/authorize?provider=acme&skip_http_redirect=true{extra}"), Some(token));
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body["url"].as_str().unwrap().to_string()
}

/// Signs in through acme as `who` (implicit flow): the access token.
fn acme_sign_in(app: &App<TestPorts>, codes: &Codes, who: Value) -> String {
    let start = location(&get(app, "/authorize?provider=acme", None));
    let back = location(&get(app, &consent(codes, &start, who), None));
    fragment_of(&back)["access_token"].clone()
}

fn identities(app: &App<TestPorts>, token: &str) -> Vec<Value> {
    let me = get(app, "/user", Some(token));
    assert_eq!(me.status, 200, "{}", me.raw);
    me.body["identities"].as_array().unwrap().clone()
}

fn service_key(app: &App<TestPorts>) -> String {
    let keys = JwtKeys::new(&app.auth().config().jwt_secret, 0);
    let now = Timestamp(NOW_SECS * 1000);
    keys.sign_blocking(json!({"iss": "supabase", "role": "service_role"}), now, now.plus_secs(3600), None).unwrap()
}

/// Worked before its fix: two unlinks of an account's two identities at once each saw the other
/// identity still there, and both landed, leaving an account without a password no way in.
#[test]
fn two_unlinks_at_once_never_leave_the_account_without_a_way_in() {
    let (app, codes) = app_with_acme();
    let token = acme_sign_in(app, &codes, json!({"sub": "acme-1", "email": "ann@example.com", "email_verified": true}));
    let back = location(&get(app, &consent(&codes, &start_link(app, &token, ""), json!({"sub": "acme-2", "email": "ann@work.example.com", "email_verified": true})), None));
    assert!(fragment_of(&back).contains_key("access_token"), "{back}");
    let ids: Vec<String> = identities(app, &token).iter().map(|i| i["identity_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 2);
    let token: &'static str = Box::leak(token.into_boxed_str());
    let second = ids[1].clone();
    let inner: &'static RefCell<Option<Reply>> = Box::leak(Box::new(RefCell::new(None)));
    BEFORE_CALL.with(|h| {
        *h.borrow_mut() = Some(("remove_identity", Box::new(move || {
            *inner.borrow_mut() = Some(call(app, "DELETE", &format!("/user/identities/{second}"), &json!({}), Some(token)));
        })))
    });
    let outer = call(app, "DELETE", &format!("/user/identities/{}", ids[0]), &json!({}), Some(token));
    let inner = inner.borrow_mut().take().expect("the other unlink ran in the middle");
    let landed = [&outer, &inner].iter().filter(|r| r.status == 200).count();
    assert_eq!(landed, 1, "outer {} / inner {}", outer.raw, inner.raw);
    assert_eq!(identities(app, token).len(), 1, "the account keeps a way in");
}

/// Holds: a ban between the start of a link flow and its callback ends the session that asked,
/// so the identity does not land in the banned account (nor does the sign-in).
#[test]
fn a_ban_between_start_and_callback_links_nothing() {
    let (app, codes) = app_with_acme();
    let ann = confirmed_user(app, "ann@example.com", "anns pass 12");
    let token = ann["access_token"].as_str().unwrap();
    let id = ann["user"]["id"].as_str().unwrap();
    let url = start_link(app, token, "");
    let key = service_key(app);
    let r = call(app, "PUT", &format!("/admin/users/{id}"), &json!({"ban_duration": "1h"}), Some(&key));
    assert_eq!(r.status, 200, "{}", r.raw);
    let back = location(&get(app, &consent(&codes, &url, json!({"sub": "acme-ann", "email": "ann@example.com", "email_verified": true})), None));
    assert!(query_of(&back).contains_key("error"), "{back}");
    let user = call(app, "GET", &format!("/admin/users/{id}"), &Value::Null, Some(&key));
    let providers: Vec<&str> = user.body["identities"].as_array().unwrap().iter().map(|i| i["provider"].as_str().unwrap()).collect();
    assert_eq!(providers, ["email"], "{}", user.raw);
}

/// Worked before its fix: a `redirect` with a fragment (`/#access_token=<theirs>`) put a token
/// of the attacker's choosing ahead of the victim's in the URL Feathers' client reads, so a
/// victim who followed the attacker's link and signed in at the provider was signed in as the
/// attacker. A `redirect` with `#` is not a path, and is ignored.
#[test]
fn a_feathers_redirect_plants_no_token_in_the_fragment() {
    let (app, codes) = app_with_acme();
    for redirect in ["%2F%23access_token%3Dplanted", "%2Fok%23x%3D1%26access_token%3Dplanted"] {
        let r = get(app, &format!("/oauth/acme?redirect={redirect}"), None);
        assert_eq!(r.status, 303, "{}", r.raw);
        let back = location(&get(app, &consent(&codes, &location(&r), json!({"sub": "acme-v", "email": "v@example.com", "email_verified": true})), None));
        assert!(!back.contains("planted") && back.matches("access_token=").count() == 1, "{back}");
        assert!(back.starts_with("http://localhost:3000#access_token="), "{back}");
    }
}

/// Holds: an identity id of another account is not found, whoever asks.
#[test]
fn another_accounts_identity_is_not_unlinked_by_its_id() {
    let (app, codes) = app_with_acme();
    let ann = confirmed_user(app, "ann@example.com", "anns pass 12");
    let ann_token = ann["access_token"].as_str().unwrap();
    location(&get(app, &consent(&codes, &start_link(app, ann_token, ""), json!({"sub": "acme-ann", "email": "ann@example.com", "email_verified": true})), None));
    let theirs = identities(app, ann_token)[1]["identity_id"].as_str().unwrap().to_string();
    let bob = confirmed_user(app, "bob@example.com", "bobs pass 12");
    let bob_token = bob["access_token"].as_str().unwrap();
    location(&get(app, &consent(&codes, &start_link(app, bob_token, ""), json!({"sub": "acme-bob", "email": "bob@example.com", "email_verified": true})), None));
    let r = call(app, "DELETE", &format!("/user/identities/{theirs}"), &json!({}), Some(bob_token));
    assert_eq!((r.status.as_u16(), error_code(&r)), (422, "identity_not_found"), "{}", r.raw);
    assert_eq!(identities(app, ann_token).len(), 2);
}

/// Worked before its fix (login CSRF for linking): Mallory starts a PKCE link flow for her
/// account and gets Ann to follow its URL; Ann, signed in at the provider, is sent straight
/// back, and the callback linked Ann's identity to Mallory's account, so Ann's later sign-ins
/// through the provider went to Mallory's account. The callback now links nothing: the
/// identity is linked at the exchange, which needs the verifier Mallory's client kept, and the
/// auth code went to Ann's browser (whose client cannot exchange it).
#[test]
fn a_link_flow_finished_in_someone_elses_browser_links_nothing() {
    let (app, codes) = app_with_acme();
    let mallory = confirmed_user(app, "mallory@example.com", "mallorys pass 1");
    let mallory_token = mallory["access_token"].as_str().unwrap();
    let verifier = "m".repeat(50);
    let challenge = b64url(&Sha256::digest(verifier.as_bytes()));
    let url = start_link(app, mallory_token, &format!("&code_challenge={challenge}&code_challenge_method=s256"));
    // Ann's identity (no account holds it yet): what Mallory wants in hers.
    let back = location(&get(app, &consent(&codes, &url, json!({"sub": "acme-ann", "email": "ann@example.com", "email_verified": true})), None));
    let code = query_of(&back)["code"].clone();
    assert_eq!(identities(app, mallory_token).len(), 1, "linked at the callback");
    // Ann's app exchanges the code with its own verifier: refused, and the code is used up.
    let anns = post(app, "/token?grant_type=pkce", &json!({"auth_code": code, "code_verifier": "a".repeat(50)}));
    assert_eq!(error_code(&anns), "bad_code_verifier", "{}", anns.raw);
    assert_eq!(identities(app, mallory_token).len(), 1);
    // Ann signs in through the provider: an account of her own, not Mallory's.
    let ann = acme_sign_in(app, &codes, json!({"sub": "acme-ann", "email": "ann@example.com", "email_verified": true}));
    let me = get(app, "/user", Some(&ann)).body;
    assert_ne!(me["id"], mallory["user"]["id"]);
    assert_eq!(me["email"], "ann@example.com");
}

/// Holds: a PKCE link flow's auth code is worth nothing without the verifier of the client that
/// started it (a wrong one uses it up, and links nothing), and the provider's tokens come only
/// with the right one, each exchange with its own flow's; the link lands at the exchange.
#[test]
fn a_link_flows_auth_code_is_its_clients_and_so_are_the_provider_tokens() {
    let (app, codes) = app_with_acme();
    let ann = confirmed_user(app, "ann@example.com", "anns pass 12");
    let token = ann["access_token"].as_str().unwrap();
    let verifier = "v".repeat(50);
    let challenge = b64url(&Sha256::digest(verifier.as_bytes()));
    let pkce = format!("&code_challenge={challenge}&code_challenge_method=s256");
    let finish = |who: Value| {
        let back = location(&get(app, &consent(&codes, &start_link(app, token, &pkce), who), None));
        assert!(!back.contains("access-of"), "no provider token at the target: {back}");
        query_of(&back)["code"].clone()
    };
    let first = finish(json!({"sub": "acme-1", "email": "ann@example.com", "email_verified": true}));
    let wrong = post(app, "/token?grant_type=pkce", &json!({"auth_code": first, "code_verifier": "w".repeat(50)}));
    assert_eq!(error_code(&wrong), "bad_code_verifier", "{}", wrong.raw);
    let again = post(app, "/token?grant_type=pkce", &json!({"auth_code": first, "code_verifier": verifier}));
    assert_eq!(error_code(&again), "flow_state_not_found", "{}", again.raw);
    let second = finish(json!({"sub": "acme-2", "email": "ann@example.com", "email_verified": true}));
    assert_eq!(identities(app, token).len(), 1, "acme-1 was never linked");
    let s = post(app, "/token?grant_type=pkce", &json!({"auth_code": second, "code_verifier": verifier}));
    assert_eq!(s.status, 200, "{}", s.raw);
    assert_eq!((s.body["user"]["id"].as_str(), s.body["provider_token"].as_str()), (ann["user"]["id"].as_str(), Some("access-of-acme-2")), "{}", s.raw);
    let subjects: Vec<&str> = s.body["user"]["identities"].as_array().unwrap().iter().map(|i| i["identity_data"]["sub"].as_str().unwrap_or("email")).collect();
    assert_eq!(subjects.len(), 2, "{}", s.raw);
    assert!(subjects.contains(&"acme-2"), "{subjects:?}");
    // A pending link whose session ended before the exchange links nothing.
    let url = start_link(app, token, &pkce);
    let back = location(&get(app, &consent(&codes, &url, json!({"sub": "acme-3", "email": "ann@example.com", "email_verified": true})), None));
    assert_eq!(post_auth(app, "/logout", token, &json!({})).status, 204);
    let late = post(app, "/token?grant_type=pkce", &json!({"auth_code": query_of(&back)["code"], "code_verifier": verifier}));
    assert!(late.status.is_client_error(), "{}", late.raw);
    let fresh = login(app, "ann@example.com", "anns pass 12");
    assert_eq!(identities(app, fresh.body["access_token"].as_str().unwrap()).len(), 2);
}

/// Holds: a stranger with an anonymous session links their identity (and leaves a PKCE link
/// waiting for its exchange), then moves the account to the owner's address; the owner's proof
/// of the mailbox is the account's first, which takes the identity, the pending link and the
/// stranger's session, so the stranger's provider account does not sign in to the owner's.
#[test]
fn identities_a_stranger_linked_before_the_first_proof_do_not_survive_it() {
    let (app, codes) = app_with_acme_and(&[("EXTERNAL_ANONYMOUS_USERS_ENABLED", "true")]);
    let anon = post(app, "/signup", &json!({}));
    assert_eq!(anon.status, 200, "{}", anon.raw);
    let token = anon.body["access_token"].as_str().unwrap();
    let back = location(&get(app, &consent(&codes, &start_link(app, token, ""), json!({"sub": "acme-stranger", "email": "stranger@example.com", "email_verified": true})), None));
    assert!(fragment_of(&back).contains_key("access_token"), "{back}");
    assert_eq!(identities(app, token).len(), 1);
    let verifier = "s".repeat(50);
    let challenge = b64url(&Sha256::digest(verifier.as_bytes()));
    let url = start_link(app, token, &format!("&code_challenge={challenge}&code_challenge_method=s256"));
    let waiting = query_of(&location(&get(app, &consent(&codes, &url, json!({"sub": "acme-stranger-2", "email": "stranger@example.com", "email_verified": true})), None)))["code"].clone();
    let r = put(app, "/user", token, &json!({"email": "victim@example.com"}));
    assert_eq!(r.status, 200, "{}", r.raw);
    let code = code_for(app, "victim@example.com");
    let v = post(app, "/verify", &json!({"type": "email_change", "email": "victim@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    let owner = v.body["access_token"].as_str().unwrap();
    let providers: Vec<String> = identities(app, owner).iter().map(|i| i["provider"].as_str().unwrap().to_string()).collect();
    assert_eq!(providers, ["email"]);
    let late = post(app, "/token?grant_type=pkce", &json!({"auth_code": waiting, "code_verifier": verifier}));
    assert_eq!(error_code(&late), "flow_state_not_found", "{}", late.raw);
    assert_eq!(identities(app, owner).len(), 1);
    let stranger = acme_sign_in(app, &codes, json!({"sub": "acme-stranger", "email": "stranger@example.com", "email_verified": true}));
    assert_ne!(get(app, "/user", Some(&stranger)).body["id"], v.body["user"]["id"]);
}

/// Holds: a provider's refusal (`error`, `error_description`, which whoever crafts the callback
/// URL chooses) cannot add parameters to the fragment or query the app reads: Feathers'
/// `#error=` and GoTrue's `error_description` carry it encoded, as one value.
#[test]
fn a_providers_refusal_adds_no_parameters_at_the_target() {
    let (app, _) = app_with_acme();
    let planted = "error=x%26access_token%3Dplanted%23access_token%3Dp2&error_description=d%26access_token%3Dp3%0Arefresh_token%3Dp4";
    let r = get(app, "/oauth/acme?redirect=%2Fhome", None);
    let state = query_of(&location(&r))["state"].clone();
    let back = location(&get(app, &format!("/callback?{planted}&state={state}"), None));
    let fragment = back.split_once('#').unwrap().1;
    let value = fragment.strip_prefix("error=").unwrap_or_else(|| panic!("{back}"));
    assert!(!value.contains(['&', '=', '#', '\n']), "{back}");
    let r = get(app, "/authorize?provider=acme&redirect_to=https%3A%2F%2Fshop.app.example.com%2Fdone", None);
    let state = query_of(&location(&r))["state"].clone();
    let back = location(&get(app, &format!("/callback?{planted}&state={state}"), None));
    let (query, fragment) = (query_of(&back), fragment_of(&back));
    for params in [&query, &fragment] {
        assert!(!params.contains_key("access_token") && !params.contains_key("refresh_token"), "{back}");
        assert!(!params.values().any(|v| v.contains('\n')), "{back}");
    }
}

/// Holds: Feathers' redirect base is the Referer's origin only when the allow-list allows it; a
/// look-alike host goes to the site (whose own page, without the path), and a Referer with
/// credentials counts as its host's origin.
#[test]
fn a_look_alike_referer_is_not_the_redirect_base() {
    let (app, _) = app_with_acme();
    for (referer, base) in [
        ("https://shop.app.example.com.evil.example/x", "http://localhost:3000"),
        ("https://evil.example/?https://shop.app.example.com/", "http://localhost:3000"),
        ("https://user:pw@shop.app.example.com/", "https://shop.app.example.com/done"),
    ] {
        let r = send(app, request("GET", "/oauth/acme?redirect=%2Fdone", b"", &[("referer", referer)]));
        let state = query_of(&location(&r))["state"].clone();
        let back = location(&get(app, &format!("/callback?error=access_denied&state={state}"), None));
        assert_eq!(back, format!("{base}#error=access_denied"), "{referer}");
    }
}

/// Worked before its fix: an `aal1` session of an account with a verified second factor (the
/// password alone) linked an identity, a way in that outlives the owner's password reset, where
/// changing the password or managing passkeys needs `aal2`; and unlinked the owner's.
#[test]
fn an_aal1_session_of_an_account_with_a_factor_links_and_unlinks_nothing() {
    let (app, codes) = app_with_acme();
    let (raised, _) = ann_with_factor(app);
    let aal2 = s(&raised, "access_token");
    let back = location(&get(app, &consent(&codes, &start_link(app, &aal2, ""), json!({"sub": "acme-ann", "email": "ann@example.com", "email_verified": true})), None));
    assert!(fragment_of(&back).contains_key("access_token"), "{back}");
    let aal1 = s(&login(app, "ann@example.com", "s3cret-pass").body, "access_token");
    let r = get(app, "/user/identities/authorize?provider=acme&skip_http_redirect=true", Some(&aal1));
    assert_eq!((r.status.as_u16(), error_code(&r)), (403, "insufficient_aal"), "{}", r.raw);
    let owners = identities(app, &aal1)[1]["identity_id"].as_str().unwrap().to_string();
    let r = call(app, "DELETE", &format!("/user/identities/{owners}"), &json!({}), Some(&aal1));
    assert_eq!((r.status.as_u16(), error_code(&r)), (403, "insufficient_aal"), "{}", r.raw);
    assert_eq!(identities(app, &aal2).len(), 2);
}
