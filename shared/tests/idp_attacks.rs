//! Review attacks on sign-in through identity providers (GoTrue's `grant_type=id_token`,
//! `/authorize` and `/callback`), with OpenID Connect providers and a GitHub-shaped one answered
//! by scripts through the outbound HTTP port. Each test is an attack: those that worked before
//! their fix say so; the others hold, and stay as regression tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::model::User;
use portcullis_shared::ports::{Clock as _, HttpError, HttpReply, Identities as _, Users as _};
use portcullis_shared::signature::{b64url, Alg};
use portcullis_shared::testing::{TestPorts, BEFORE_CALL};
use portcullis_shared::App;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use support::idp::*;
use support::*;

const BETA_ISSUER: &str = "https://beta.example.com";
/// What the scripted providers publish and know.
struct Idp {
    /// acme's key set (its issuer's: twin shares it).
    acme_jwks: Value,
    /// acme's discovery document, if not the usual one.
    acme_discovery: Option<String>,
    /// acme's token endpoint's answer, if not the code exchange.
    acme_token_reply: Option<String>,
    /// The codes acme issued: code → (nonce, subject claims).
    codes: HashMap<String, (String, Value)>,
    github_user: Value,
    github_emails: Value,
}

fn app_with_idps(extra: &[(&str, &str)]) -> (App<TestPorts>, Rc<RefCell<Idp>>) {
    let mut vars = vec![
        ("EXTERNAL_OIDC_PROVIDERS", "acme,beta,twin"),
        ("EXTERNAL_ACME_ENABLED", "true"),
        ("EXTERNAL_ACME_CLIENT_ID", "portcullis-app,portcullis-ios"),
        ("EXTERNAL_ACME_SECRET", "acme-secret"),
        ("EXTERNAL_ACME_URL", ISSUER),
        ("EXTERNAL_BETA_ENABLED", "true"),
        ("EXTERNAL_BETA_CLIENT_ID", "beta-app"),
        ("EXTERNAL_BETA_URL", BETA_ISSUER),
        // The same issuer as acme, another client.
        ("EXTERNAL_TWIN_ENABLED", "true"),
        ("EXTERNAL_TWIN_CLIENT_ID", "twin-app"),
        ("EXTERNAL_TWIN_URL", ISSUER),
        ("EXTERNAL_GITHUB_ENABLED", "true"),
        ("EXTERNAL_GITHUB_CLIENT_ID", "gh-app"),
        ("EXTERNAL_GITHUB_SECRET", "gh-secret"),
        ("EXTERNAL_GITHUB_URL", "https://git.example.com"),
        ("URI_ALLOW_LIST", "https://*.app.example.com/**,https://exact.example.com,https://prefix.example.com/cb/"),
    ];
    vars.extend_from_slice(extra);
    let app = app_with(&vars);
    let idp = Rc::new(RefCell::new(Idp {
        acme_jwks: json!({"keys": [public(provider_key(), "k1")]}),
        acme_discovery: None,
        acme_token_reply: None,
        codes: HashMap::new(),
        github_user: json!({"id": 4242, "login": "octo", "name": "Octo Cat"}),
        github_emails: json!([]),
    }));
    let seen = Rc::clone(&idp);
    ports(&app).http.answer_with(move |url, form| {
        let field = |k: &str| form.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string());
        let discovery = |iss: &str| {
            json!({"issuer": iss, "authorization_endpoint": format!("{iss}/auth"), "token_endpoint": format!("{iss}/token"), "jwks_uri": format!("{iss}/jwks")}).to_string()
        };
        let body = match url {
            "https://idp.example.com/.well-known/openid-configuration" => seen.borrow().acme_discovery.clone().unwrap_or_else(|| discovery(ISSUER)),
            "https://idp.example.com/jwks" => seen.borrow().acme_jwks.to_string(),
            "https://beta.example.com/.well-known/openid-configuration" => discovery(BETA_ISSUER),
            "https://beta.example.com/jwks" => json!({"keys": [public(other_key(), "b1")]}).to_string(),
            "https://idp.example.com/token" => {
                if let Some(reply) = seen.borrow().acme_token_reply.clone() {
                    return Ok(HttpReply { status: 200, body: reply });
                }
                let Some((nonce, who)) = field("code").and_then(|c| seen.borrow_mut().codes.remove(&c)) else {
                    return Ok(HttpReply { status: 400, body: json!({"error": "invalid_grant"}).to_string() });
                };
                let mut claims = json!({"iss": ISSUER, "aud": "portcullis-app", "iat": NOW_SECS, "exp": NOW_SECS + 600, "nonce": nonce});
                claims.as_object_mut().unwrap().extend(who.as_object().unwrap().clone());
                json!({"access_token": "acme-access", "token_type": "Bearer", "id_token": acme_token(&claims)}).to_string()
            }
            "https://git.example.com/login/oauth/access_token" => match field("code").as_deref() {
                Some("gh-code") => "access_token=gh-token&token_type=bearer".to_string(),
                _ => json!({"error": "bad_verification_code"}).to_string(),
            },
            "https://git.example.com/api/v3/user" => seen.borrow().github_user.to_string(),
            "https://git.example.com/api/v3/user/emails" => seen.borrow().github_emails.to_string(),
            _ => return Err(HttpError(format!("unexpected {url}"))),
        };
        Ok(HttpReply { status: 200, body })
    });
    (app, idp)
}

fn acme_token(claims: &Value) -> String {
    jws(json!({"alg": "ES256", "kid": "k1", "typ": "JWT"}), claims, &provider_key(), Alg::Es256)
}

/// acme's claims for `sub` with `email` (verified or not) and the hash of nonce `n`.
fn claims(sub: &str, email: &str, verified: Value) -> Value {
    json!({
        "iss": ISSUER, "aud": "portcullis-app", "sub": sub, "iat": NOW_SECS - 5, "exp": NOW_SECS + 600,
        "email": email, "email_verified": verified, "nonce": hex::encode(Sha256::digest(b"n")),
    })
}

fn with(c: &Value, k: &str, v: Value) -> Value {
    let mut c = c.clone();
    c[k] = v;
    c
}

/// `grant_type=id_token` for `provider` with nonce `n`.
fn sign_in_as(app: &App<TestPorts>, provider: &str, id_token: &str) -> Reply {
    post(app, "/token?grant_type=id_token", &json!({"provider": provider, "id_token": id_token, "nonce": "n"}))
}

fn sign_in(app: &App<TestPorts>, id_token: &str) -> Reply {
    sign_in_as(app, "acme", id_token)
}

fn feathers_local(app: &App<TestPorts>, email: &str, password: &str) -> Reply {
    call(app, "POST", "/authentication", &json!({"strategy": "local", "email": email, "password": password}), None)
}

fn by_email(app: &App<TestPorts>, email: &str) -> Option<User> {
    pollster::block_on(ports(app).store.by_email(email)).unwrap()
}

/// Everything an account-changing request could have written: accounts, sessions, identities.
fn snapshot(app: &App<TestPorts>) -> String {
    let store = &ports(app).store;
    let mut users = store.all_users();
    users.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let mut sessions: Vec<String> = store.all_sessions().iter().map(|s| format!("{s:?}")).collect();
    sessions.sort();
    let identities: Vec<String> = users.iter().map(|u| format!("{:?}", pollster::block_on(store.identities_of(&u.id)).unwrap())).collect();
    format!("{users:?}\n{sessions:?}\n{identities:?}")
}

/// The `Location` header, if it is text: the worker drops header values that are not.
fn location(r: &Reply) -> String {
    r.headers.get("location").and_then(|l| l.to_str().ok()).unwrap_or_default().to_string()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `/authorize` for acme, then acme's consent for `who`: the callback's path.
fn through_acme(app: &App<TestPorts>, idp: &Rc<RefCell<Idp>>, extra: &str, who: Value) -> String {
    let r = get(app, &format!("/authorize?provider=acme{extra}"), None);
    assert_eq!(r.status, 302, "{}", r.raw);
    let q = query_of(&location(&r));
    let code = format!("code-{}", idp.borrow().codes.len());
    idp.borrow_mut().codes.insert(code.clone(), (q["nonce"].clone(), who));
    format!("/callback?code={code}&state={}", q["state"])
}

// Account integrity.

/// A stranger registers the owner's address through Feathers (which signs in unverified) and
/// keeps the token; the owner then signs in with a provider that verified the address. That is
/// the first proof of the mailbox: the stranger's session, password and metadata are gone.
#[test]
fn a_strangers_feathers_session_and_password_do_not_survive_the_owners_provider_sign_in() {
    let (app, _) = app_with_idps(&[]);
    let r = call(&app, "POST", "/users", &json!({"email": "ann@example.com", "password": "strangers pass 1"}), None);
    assert_eq!(r.status, 201, "{}", r.raw);
    let stranger = feathers_local(&app, "ann@example.com", "strangers pass 1");
    assert_eq!(stranger.status, 201, "{}", stranger.raw);
    let token = s(&stranger.body, "accessToken");
    assert_eq!(check(&app, &token).status, 200);
    let ann = sign_in(&app, &acme_token(&claims("acme-ann", "ann@example.com", json!(true))));
    assert_eq!(ann.status, 200, "{}", ann.raw);
    assert_eq!(ann.body["user"]["id"], r.body["id"], "the verified identity joins the account with its address");
    let c = check(&app, &token);
    assert_eq!(c.body["error"], "session ended", "the stranger's session lives on: {}", c.raw);
    assert_eq!(feathers_local(&app, "ann@example.com", "strangers pass 1").status, 401, "the stranger's password lives on");
    assert_eq!(error_code(&login(&app, "ann@example.com", "strangers pass 1")), "invalid_credentials");
    let stored = by_email(&app, "ann@example.com").unwrap();
    assert!(stored.password_hash.is_none() && stored.is_confirmed());
    // The owner's own session is the only live one.
    let live: Vec<_> = ports(&app).store.all_sessions().into_iter().filter(|s| s.revoked_at.is_none()).collect();
    assert_eq!(live.len(), 1);
}

/// The stranger signs in through Feathers while the owner's provider sign-in is proving the
/// mailbox (just before the proof lands): that session ends with the proof.
#[test]
fn a_strangers_sign_in_during_the_providers_first_proof_does_not_survive_it() {
    let (app, _) = app_with_idps(&[]);
    let app: &'static App<TestPorts> = Box::leak(Box::new(app));
    let r = call(app, "POST", "/users", &json!({"email": "ann@example.com", "password": "strangers pass 1"}), None);
    assert_eq!(r.status, 201, "{}", r.raw);
    let stolen: &'static RefCell<Option<String>> = Box::leak(Box::new(RefCell::new(None)));
    BEFORE_CALL.with(|h| {
        *h.borrow_mut() = Some(("first_proof", Box::new(move || {
            let f = feathers_local(app, "ann@example.com", "strangers pass 1");
            assert_eq!(f.status, 201, "{}", f.raw);
            *stolen.borrow_mut() = Some(s(&f.body, "accessToken"));
        })))
    });
    let ann = sign_in(app, &acme_token(&claims("acme-ann", "ann@example.com", json!(true))));
    assert_eq!(ann.status, 200, "{}", ann.raw);
    let token = stolen.borrow().clone().expect("the hook ran");
    assert_eq!(check(app, &token).body["error"], "session ended");
}

/// A provider's address in another case, or padded, is the same mailbox: it joins the account.
#[test]
fn a_verified_address_in_other_case_or_padded_joins_the_same_account() {
    let (app, _) = app_with_idps(&[]);
    let owner = confirmed_user(&app, "ann@example.com", "anns pass 12");
    let r = sign_in(&app, &acme_token(&claims("acme-ann", "  ANN@Example.COM ", json!(true))));
    assert_eq!(r.body["user"]["id"], owner["user"]["id"], "{}", r.raw);
    assert_eq!(ports(&app).store.all_users().len(), 1);
}

/// WORKED BEFORE ITS FIX. A provider verified a mailbox whose local part has the Kelvin sign
/// (U+212A), a different mailbox from `kim@example.com` to any mail server that tells them
/// apart; Unicode lowercasing makes it `kim@example.com`, so the identity joined Kim's
/// account, or claimed Kim's address as verified for an account of its own.
#[test]
fn a_verified_address_that_only_unicode_folding_makes_ascii_claims_nothing() {
    let (app, _) = app_with_idps(&[]);
    let kim = confirmed_user(&app, "kim@example.com", "kims pass 123");
    let r = sign_in(&app, &acme_token(&claims("acme-kelvin", "\u{212A}im@example.com", json!(true))));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_ne!(r.body["user"]["id"], kim["user"]["id"], "the look-alike joined Kim's account");
    assert_eq!(r.body["user"]["email"], "", "{}", r.raw);
    // Nobody holds kelly@example.com yet: the look-alike does not claim it either.
    let r = sign_in(&app, &acme_token(&claims("acme-kelvin-2", "\u{212A}elly@example.com", json!(true))));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert!(by_email(&app, "kelly@example.com").is_none(), "the look-alike holds Kelly's address");
    // Non-ASCII addresses without such folding keep working.
    let r = sign_in(&app, &acme_token(&claims("acme-zoe", "zoë@example.com", json!(true))));
    assert_eq!(r.body["user"]["email"], "zoë@example.com", "{}", r.raw);
}

/// `email_verified` is a boolean or the string `"true"`; nothing else verifies an address, so
/// nothing else joins an account.
#[test]
fn only_true_verifies_an_address() {
    let (app, _) = app_with_idps(&[]);
    let owner = confirmed_user(&app, "ann@example.com", "anns pass 12");
    for (i, v) in [json!("yes"), json!("TRUE"), json!(1), json!("1"), Value::Null, json!({"value": true}), json!([true])].into_iter().enumerate() {
        let r = sign_in(&app, &acme_token(&claims(&format!("acme-{i}"), "ann@example.com", v.clone())));
        assert_eq!(r.status, 200, "{v}: {}", r.raw);
        assert_ne!(r.body["user"]["id"], owner["user"]["id"], "{v} joined the account");
    }
    let r = sign_in(&app, &acme_token(&claims("acme-ann", "ann@example.com", json!("true"))));
    assert_eq!(r.body["user"]["id"], owner["user"]["id"], "{}", r.raw);
}

/// GitHub: only the primary address counts, as verified as GitHub says; a verified secondary
/// address (someone else's in the account, say) joins nothing.
#[test]
fn a_github_account_joins_only_through_a_verified_primary_address() {
    let (app, idp) = app_with_idps(&[]);
    let victim = confirmed_user(&app, "victim@example.com", "victims pass 1");
    let github = |emails: Value| {
        idp.borrow_mut().github_emails = emails;
        let state = query_of(&location(&get(&app, "/authorize?provider=github", None)))["state"].clone();
        let back = location(&get(&app, &format!("/callback?code=gh-code&state={state}"), None));
        get(&app, "/user", Some(&fragment_of(&back)["access_token"]))
    };
    let me = github(json!([{"email": "octo@example.com", "primary": true, "verified": false}, {"email": "victim@example.com", "primary": false, "verified": true}]));
    assert_eq!(me.status, 200, "{}", me.raw);
    assert_ne!(me.body["id"], victim["user"]["id"]);
    assert_eq!(me.body["email"], "", "{}", me.raw);
    assert_eq!(login(&app, "victim@example.com", "victims pass 1").status, 200);
}

/// The same subject at two providers is two identities, whose accounts have nothing in common.
#[test]
fn a_subject_shared_by_two_providers_is_two_identities() {
    let (app, idp) = app_with_idps(&[]);
    let acme = sign_in(&app, &acme_token(&claims("4242", "a@example.com", json!(true))));
    assert_eq!(acme.status, 200, "{}", acme.raw);
    idp.borrow_mut().github_emails = json!([{"email": "g@example.com", "primary": true, "verified": true}]);
    let state = query_of(&location(&get(&app, "/authorize?provider=github", None)))["state"].clone();
    let back = location(&get(&app, &format!("/callback?code=gh-code&state={state}"), None));
    let me = get(&app, "/user", Some(&fragment_of(&back)["access_token"]));
    assert_eq!(me.body["email"], "g@example.com", "{}", me.raw);
    assert_ne!(me.body["id"], acme.body["user"]["id"]);
    // And a beta token for subject 4242 is beta's own.
    let beta = jws(json!({"alg": "ES256", "kid": "b1"}), &json!({"iss": BETA_ISSUER, "aud": "beta-app", "sub": "4242", "iat": NOW_SECS, "exp": NOW_SECS + 600, "email": "b@example.com", "email_verified": true}), &other_key(), Alg::Es256);
    let r = post(&app, "/token?grant_type=id_token", &json!({"provider": "beta", "id_token": beta}));
    assert_eq!(r.body["user"]["email"], "b@example.com", "{}", r.raw);
    assert_eq!(ports(&app).store.all_users().len(), 3);
}

/// WORKED BEFORE ITS FIX (writes). A banned account's identity is refused, and the refusal
/// writes nothing: not the identity's sign-in, and not a first proof of a banned account's
/// mailbox. A soft-deleted account's identity went with it.
#[test]
fn banned_and_deleted_holders_sign_in_nowhere_and_refusals_write_nothing() {
    let (app, _) = app_with_idps(&[]);
    let store = &ports(&app).store;
    let now = ports(&app).clock.now();
    let first = sign_in(&app, &acme_token(&claims("acme-1", "ann@example.com", json!(true))));
    let ann = by_email(&app, "ann@example.com").unwrap();
    pollster::block_on(store.set_banned_until(&ann.id, Some(now.plus_secs(3600)), now)).unwrap();
    let before = snapshot(&app);
    ports(&app).clock.advance_secs(10);
    let r = sign_in(&app, &acme_token(&claims("acme-1", "ann@example.com", json!(true))));
    assert_eq!((r.status.as_u16(), error_code(&r)), (400, "user_banned"), "{}", r.raw);
    assert_eq!(snapshot(&app), before, "a refused sign-in wrote");
    // A banned account that a stranger registered: the owner's provider is refused, and the
    // refusal proves nothing.
    assert_eq!(signup(&app, "bo@example.com", "strangers pass 1").status, 200);
    let bo = by_email(&app, "bo@example.com").unwrap();
    pollster::block_on(store.set_banned_until(&bo.id, Some(now.plus_secs(3600)), now)).unwrap();
    let before = snapshot(&app);
    let r = sign_in(&app, &acme_token(&claims("acme-bo", "bo@example.com", json!(true))));
    assert_eq!(error_code(&r), "user_banned", "{}", r.raw);
    assert_eq!(snapshot(&app), before, "a refused sign-in wrote");
    // Through the PKCE flow, no auth code for the banned account.
    let verifier = "v".repeat(50);
    let challenge = b64url(&Sha256::digest(verifier.as_bytes()));
    let (app2, idp) = app_with_idps(&[]);
    assert_eq!(sign_in(&app2, &acme_token(&claims("acme-1", "ann@example.com", json!(true)))).status, 200);
    let ann2 = by_email(&app2, "ann@example.com").unwrap();
    pollster::block_on(ports(&app2).store.set_banned_until(&ann2.id, Some(now.plus_secs(3600)), now)).unwrap();
    let callback = through_acme(&app2, &idp, &format!("&code_challenge={challenge}&code_challenge_method=s256"), json!({"sub": "acme-1", "email": "ann@example.com", "email_verified": true}));
    let to = location(&get(&app2, &callback, None));
    assert!(!query_of(&to).contains_key("code"), "an auth code for a banned account: {to}");
    assert_eq!(query_of(&to)["error_code"], "user_banned", "{to}");
    // Soft-deleted: a later sign-in of its identity is a new account.
    let id = first.body["user"]["id"].clone();
    pollster::block_on(store.set_banned_until(&ann.id, None, now)).unwrap();
    assert!(pollster::block_on(store.soft_delete(&ann.id, now)).unwrap());
    let r = sign_in(&app, &acme_token(&claims("acme-1", "ann@example.com", json!(true))));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_ne!(r.body["user"]["id"], id);
}

/// With sign-ups off a provider creates no account, whatever it says of the address, in either
/// flow; it still signs in the account an identity joins.
#[test]
fn with_signups_disabled_providers_create_no_accounts() {
    let (app, _) = app_with_idps(&[]);
    let owner = confirmed_user(&app, "ann@example.com", "anns pass 12");
    let (off, idp_off) = app_with_idps(&[("DISABLE_SIGNUP", "true")]);
    for verified in [json!(true), json!(false)] {
        let r = sign_in(&off, &acme_token(&claims("acme-new", "new@example.com", verified)));
        assert_eq!((r.status.as_u16(), error_code(&r)), (422, "signup_disabled"), "{}", r.raw);
    }
    let callback = through_acme(&off, &idp_off, "", json!({"sub": "acme-new", "email": "new@example.com", "email_verified": true}));
    let to = location(&get(&off, &callback, None));
    assert_eq!(query_of(&to)["error_code"], "signup_disabled", "{to}");
    assert!(ports(&off).store.all_users().is_empty());
    assert!(ports(&off).store.all_sessions().is_empty());
    // The joining still works where sign-ups are on (and would where they are off).
    let r = sign_in(&app, &acme_token(&claims("acme-ann", "ann@example.com", json!(true))));
    assert_eq!(r.body["user"]["id"], owner["user"]["id"]);
}

/// Without an address a provider signs in only where it is `EMAIL_OPTIONAL`; an address that
/// is no address counts as none.
#[test]
fn identities_without_an_address_only_where_optional() {
    let (app, _) = app_with_idps(&[]);
    let mut c = claims("acme-1", "x", json!(true));
    c.as_object_mut().unwrap().remove("email");
    let r = sign_in(&app, &acme_token(&c));
    assert_eq!(r.status, 400, "{}", r.raw);
    let r = sign_in(&app, &acme_token(&with(&c, "email", json!("not an address"))));
    assert_eq!(r.status, 400, "{}", r.raw);
    assert!(ports(&app).store.all_users().is_empty());
    let (opt, _) = app_with_idps(&[("EXTERNAL_ACME_EMAIL_OPTIONAL", "true")]);
    let r = sign_in(&opt, &acme_token(&c));
    assert_eq!((r.status.as_u16(), r.body["user"]["email"].as_str()), (200, Some("")), "{}", r.raw);
}

// Tokens.

/// A token of one provider presented as another's: another issuer, or the same issuer for
/// another client. And tokens of other kinds where an `id_token` goes, and the other way.
#[test]
fn tokens_are_for_their_own_provider_and_client_only() {
    let (app, _) = app_with_idps(&[]);
    let beta_claims = json!({"iss": BETA_ISSUER, "aud": "beta-app", "sub": "b-1", "iat": NOW_SECS, "exp": NOW_SECS + 600, "email": "ann@example.com", "email_verified": true});
    let beta = jws(json!({"alg": "ES256", "kid": "b1"}), &beta_claims, &other_key(), Alg::Es256);
    assert_eq!(post(&app, "/token?grant_type=id_token", &json!({"provider": "acme", "id_token": beta})).status, 400);
    let acme_plain = {
        let mut c = claims("a-1", "ann@example.com", json!(true));
        c.as_object_mut().unwrap().remove("nonce");
        acme_token(&c)
    };
    assert_eq!(post(&app, "/token?grant_type=id_token", &json!({"provider": "beta", "id_token": acme_plain})).status, 400);
    let r = post(&app, "/token?grant_type=id_token", &json!({"provider": "twin", "id_token": acme_plain}));
    assert_eq!((r.status.as_u16(), r.body["error_description"].as_str()), (400, Some("Unacceptable audience in id_token: [portcullis-app]")), "{}", r.raw);
    // beta's claims signed with acme's key, as acme's issuer would have: not beta's key.
    let forged = jws(json!({"alg": "ES256", "kid": "b1"}), &beta_claims, &provider_key(), Alg::Es256);
    assert_eq!(post(&app, "/token?grant_type=id_token", &json!({"provider": "beta", "id_token": forged})).status, 400);
    // GitHub issues no id_token.
    let r = post(&app, "/token?grant_type=id_token", &json!({"provider": "github", "id_token": acme_plain}));
    assert_eq!(r.status, 400, "{}", r.raw);
    assert!(ports(&app).store.all_users().is_empty());
    // This service's own access token is no id_token, and an id_token is no access token.
    confirmed_user(&app, "bo@example.com", "bos pass 1234");
    let own = login(&app, "bo@example.com", "bos pass 1234");
    let r = post(&app, "/token?grant_type=id_token", &json!({"provider": "acme", "id_token": s(&own.body, "access_token")}));
    assert_eq!(r.status, 400, "{}", r.raw);
    let idt = acme_token(&claims("a-1", "ann@example.com", json!(true)));
    assert!(matches!(get(&app, "/user", Some(&idt)).status.as_u16(), 401 | 403));
    assert_eq!(check(&app, &idt).status, 401);
}

/// WORKED BEFORE ITS FIX. The provider's own access tokens, where they are JWTs for this
/// client (RFC 9068's `typ: at+jwt`; Keycloak's `typ: Bearer` claim), are no ID tokens: whoever
/// an access token was handed to (an API) could otherwise sign in as its user with it.
#[test]
fn the_providers_access_tokens_are_no_id_tokens() {
    let (app, _) = app_with_idps(&[]);
    let mut c = claims("acme-1", "ann@example.com", json!(true));
    c.as_object_mut().unwrap().remove("nonce");
    c["azp"] = "portcullis-app".into();
    c["scope"] = "openid email".into();
    let no_nonce = |t: &str| post(&app, "/token?grant_type=id_token", &json!({"provider": "acme", "id_token": t}));
    for typ in ["at+jwt", "application/at+JWT"] {
        let r = no_nonce(&jws(json!({"alg": "ES256", "kid": "k1", "typ": typ}), &c, &provider_key(), Alg::Es256));
        assert_eq!(r.status, 400, "{typ}: {}", r.raw);
    }
    for typ in ["Bearer", "Refresh", "Logout"] {
        let r = no_nonce(&acme_token(&with(&c, "typ", json!(typ))));
        assert_eq!(r.status, 400, "{typ}: {}", r.raw);
    }
    assert!(ports(&app).store.all_users().is_empty());
    // Keycloak's ID tokens say so.
    assert_eq!(no_nonce(&acme_token(&with(&c, "typ", json!("ID")))).status, 200);
}

/// Audiences: the token must name one of the provider's clients, and if it names the party it
/// was issued to (`azp`), that must be one too. (An `azp` that was not a string was ignored
/// before its fix.)
#[test]
fn audiences_and_authorized_parties_are_the_providers_clients() {
    let (app, _) = app_with_idps(&[]);
    let good = claims("acme-1", "ann@example.com", json!(true));
    for (aud, azp) in [
        (json!(["portcullis-app", "evil-app"]), json!("evil-app")),
        (json!(["evil-app"]), json!("portcullis-app")),
        (json!([]), Value::Null),
        (json!(42), Value::Null),
        (json!([["portcullis-app"]]), Value::Null),
        (json!(""), Value::Null),
        (json!("Portcullis-App"), Value::Null),
        (json!("portcullis-app"), json!("")),
        (json!("portcullis-app"), json!(7)),
    ] {
        let mut c = with(&good, "aud", aud.clone());
        if !azp.is_null() {
            c["azp"] = azp.clone();
        }
        let r = sign_in(&app, &acme_token(&c));
        assert_eq!(r.status, 400, "aud {aud} azp {azp}: {}", r.raw);
    }
    assert!(ports(&app).store.all_users().is_empty());
    let r = sign_in(&app, &acme_token(&with(&with(&good, "aud", json!(["portcullis-ios", "other"])), "azp", json!("portcullis-ios"))));
    assert_eq!(r.status, 200, "{}", r.raw);
}

/// Keys and algorithms: only the issuer's published signing keys, for their own algorithm;
/// never `none`, HS256, a key the token brings (`jwk`, `jku`), or one marked for encryption.
#[test]
fn only_the_issuers_published_signing_keys_verify() {
    let (app, _) = app_with_idps(&[]);
    let c = claims("acme-1", "ann@example.com", json!(true));
    let attacker = other_key();
    let refused = |t: &str, why: &str| {
        let r = sign_in(&app, t);
        assert_eq!((r.status.as_u16(), r.body["error_description"].as_str()), (400, Some("Bad ID token")), "{why}: {}", r.raw);
    };
    refused(&jws(json!({"alg": "ES256", "kid": "k1"}), &c, &attacker, Alg::Es256), "another key under the issuer's kid");
    refused(&jws(json!({"alg": "ES256"}), &c, &attacker, Alg::Es256), "another key, no kid");
    refused(&jws(json!({"alg": "ES256", "jwk": public(attacker.clone(), "x")}), &c, &attacker, Alg::Es256), "an embedded jwk");
    refused(&jws(json!({"alg": "ES256", "kid": "evil", "jku": "https://evil.example.com/jwks"}), &c, &attacker, Alg::Es256), "a jku");
    refused(&jws(json!({"alg": "RS256", "kid": "k1"}), &c, &provider_key(), Alg::Es256), "RS256 said, EC key");
    refused(&jws(json!({"alg": "es256", "kid": "k1"}), &c, &provider_key(), Alg::Es256), "alg in lower case");
    refused(&jws(json!({"alg": "ES256", "kid": "k1", "crit": ["exp"]}), &c, &provider_key(), Alg::Es256), "crit");
    refused(&jws(json!({"alg": ["ES256"], "kid": "k1"}), &c, &provider_key(), Alg::Es256), "alg as a list");
    let none = format!("{}.{}.", b64url(br#"{"alg":"none","kid":"k1"}"#), b64url(c.to_string().as_bytes()));
    refused(&none, "alg none");
    let good = acme_token(&c);
    let sig = good.rsplit('.').next().unwrap();
    refused(&format!("{}.{}.{sig}", b64url(br#"{"alg":"none","kid":"k1"}"#), b64url(c.to_string().as_bytes())), "alg none, signature kept");
    assert!(!ports(&app).http.requests.borrow().iter().any(|(u, _)| u.contains("evil")), "a jku was fetched");
    // The key set publishes an HMAC key under the issuer's kid (or a client id as one).
    for k in ["portcullis-app", "acme-secret"] {
        let oct = json!({"kty": "oct", "k": b64url(k.as_bytes()), "kid": "k1"});
        let (fresh, fresh_idp) = app_with_idps(&[]);
        fresh_idp.borrow_mut().acme_jwks = json!({"keys": [oct.clone(), public(provider_key(), "k1")]});
        let r = sign_in(&fresh, &jws(json!({"alg": "HS256", "kid": "k1"}), &c, &oct, Alg::Hs256));
        assert_eq!(r.status, 400, "HS256 with {k}: {}", r.raw);
        assert_eq!(sign_in(&fresh, &good).status, 200, "the EC key still verifies");
    }
    // The real key, marked for encryption or for another algorithm: no signing key at all.
    for marked in [json!({"use": "enc"}), json!({"alg": "RS256"}), json!({"key_ops": ["encrypt"], "use": "enc"})] {
        let (fresh, fresh_idp) = app_with_idps(&[]);
        let mut k = public(provider_key(), "k1");
        k.as_object_mut().unwrap().extend(marked.as_object().unwrap().clone());
        fresh_idp.borrow_mut().acme_jwks = json!({"keys": [k]});
        let r = sign_in(&fresh, &good);
        assert_eq!(r.status, 400, "{marked}: {}", r.raw);
        assert!(ports(&fresh).store.all_users().is_empty());
    }
    assert!(ports(&app).store.all_users().is_empty());
}

/// Unknown key ids fetch the key set anew at most once a minute, whoever sends them.
#[test]
fn unknown_key_ids_refetch_the_keys_at_most_once_a_minute() {
    let (app, _) = app_with_idps(&[]);
    let c = claims("acme-1", "ann@example.com", json!(true));
    assert_eq!(sign_in(&app, &acme_token(&c)).status, 200);
    let fetches = || ports(&app).http.requests.borrow().iter().filter(|(u, _)| u.ends_with("/jwks")).count();
    assert_eq!(fetches(), 1);
    ports(&app).clock.advance_secs(61);
    for i in 0..20 {
        let t = jws(json!({"alg": "ES256", "kid": format!("new-{i}")}), &c, &other_key(), Alg::Es256);
        assert_eq!(sign_in(&app, &t).status, 400);
    }
    assert_eq!(fetches(), 2, "each unknown kid fetched the keys");
}

/// Times: expired past the leeway, not yet valid, issued in the future, or not numbers.
/// WORKED BEFORE ITS FIX: an `exp` past `i64::MAX` seconds overflowed the leeway's addition
/// (a panic where overflow is checked, a wrapped, expired time where it is not).
#[test]
fn tokens_out_of_their_time_are_refused_and_odd_times_do_not_panic() {
    let (app, _) = app_with_idps(&[]);
    let c = claims("acme-1", "ann@example.com", json!(true));
    for (k, v) in [
        ("exp", json!(NOW_SECS - 61)),
        ("exp", json!(format!("{}", NOW_SECS + 600))),
        ("exp", Value::Null),
        ("exp", json!(-1e300)),
        ("nbf", json!(NOW_SECS + 61)),
        ("iat", json!(NOW_SECS + 61)),
    ] {
        let r = sign_in(&app, &acme_token(&with(&c, k, v.clone())));
        assert_eq!(r.status, 400, "{k} {v}: {}", r.raw);
    }
    assert!(ports(&app).store.all_users().is_empty());
    for v in [json!(1e300), json!(i64::MAX), json!(u64::MAX)] {
        let r = sign_in(&app, &acme_token(&with(&c, "exp", v.clone())));
        assert_eq!(r.status, 200, "exp {v}: {}", r.raw);
    }
    let r = sign_in(&app, &acme_token(&with(&with(&c, "nbf", json!(1e300)), "iat", json!(-1e300))));
    assert_eq!(r.status, 400, "{}", r.raw);
}

// The redirect flow.

/// Two callbacks with one state, the second landing while the first is finishing: one session.
#[test]
fn a_callback_replayed_while_the_first_is_under_way_finishes_nothing() {
    let (app, idp) = app_with_idps(&[]);
    let app: &'static App<TestPorts> = Box::leak(Box::new(app));
    let callback = through_acme(app, &idp, "", json!({"sub": "acme-1", "email": "ann@example.com", "email_verified": true}));
    // The provider would answer the replay's exchange too (a code it lets be used twice).
    let (nonce, who) = idp.borrow().codes.values().next().cloned().unwrap();
    let code = callback.split("code=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let replayed: &'static RefCell<Option<Reply>> = Box::leak(Box::new(RefCell::new(None)));
    let again = callback.clone();
    let idp2 = Rc::clone(&idp);
    BEFORE_CALL.with(|h| {
        *h.borrow_mut() = Some(("start", Box::new(move || {
            idp2.borrow_mut().codes.insert(code, (nonce, who));
            *replayed.borrow_mut() = Some(get(app, &again, None));
        })))
    });
    let first = get(app, &callback, None);
    assert!(fragment_of(&location(&first)).contains_key("access_token"), "{}", location(&first));
    let second = replayed.borrow_mut().take().expect("the hook ran");
    assert_eq!((second.status.as_u16(), query_of(&location(&second))["error_code"].as_str()), (303, "bad_oauth_state"));
    assert_eq!(ports(app).store.all_sessions().len(), 1);
}

/// A state is its provider's: GitHub's state with acme's code goes to GitHub, which refuses it;
/// and a PKCE flow's auth code is worth nothing without its verifier (and is then used up).
#[test]
fn states_and_auth_codes_finish_only_their_own_flow() {
    let (app, idp) = app_with_idps(&[]);
    let callback = through_acme(&app, &idp, "", json!({"sub": "acme-1", "email": "ann@example.com", "email_verified": true}));
    let acme_code = callback.split("code=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let gh_state = query_of(&location(&get(&app, "/authorize?provider=github", None)))["state"].clone();
    let to = location(&get(&app, &format!("/callback?code={acme_code}&state={gh_state}"), None));
    assert!(query_of(&to).contains_key("error"), "{to}");
    assert!(ports(&app).store.all_users().is_empty());
    assert!(!ports(&app).http.requests.borrow().iter().any(|(u, _)| u == "https://idp.example.com/token"), "acme's code went to acme");
    // PKCE: a stolen auth code without the verifier, or with another.
    let verifier = "v".repeat(50);
    let challenge = b64url(&Sha256::digest(verifier.as_bytes()));
    let callback = through_acme(&app, &idp, &format!("&code_challenge={challenge}&code_challenge_method=s256"), json!({"sub": "acme-1", "email": "ann@example.com", "email_verified": true}));
    let code = query_of(&location(&get(&app, &callback, None)))["code"].clone();
    let r = post(&app, "/token?grant_type=pkce", &json!({"auth_code": code}));
    assert_eq!(r.status, 400, "{}", r.raw);
    let r = post(&app, "/token?grant_type=pkce", &json!({"auth_code": code, "code_verifier": verifier}));
    assert!(r.status.is_client_error(), "a code survives a try without its verifier: {}", r.raw);
    assert!(ports(&app).store.all_sessions().is_empty());
}

/// WORKED BEFORE ITS FIX. `redirect_to` against the allow-list's globs, prefixes and the
/// loopback rule. A glob matched the raw text, where a browser reads the host otherwise: with
/// `https://*.app.example.com/**` allowed, `https://evil%2Ecom?.app.example.com/` (the host is
/// `evil.com`: a browser decodes it, and `?` ends it) and `https://16909060\.app.example.com/`
/// (1.2.3.4: `\` ends the host) matched, and the implicit flow's session went there in the
/// fragment.
#[test]
fn redirect_targets_are_judged_by_the_host_a_browser_goes_to() {
    let (app, _) = app_with_idps(&[]);
    let target_of = |redirect_to: &str| {
        let r = get(&app, &format!("/authorize?provider=acme&redirect_to={}", enc(redirect_to)), None);
        assert_eq!(r.status, 302, "{redirect_to}: {}", r.raw);
        let state = query_of(&location(&r))["state"].clone();
        let back = get(&app, &format!("/callback?error=access_denied&state={state}"), None);
        assert_eq!(back.status, 302, "{redirect_to}: {}", back.raw);
        location(&back)
    };
    for bad in [
        "https://evil%2Ecom?.app.example.com/",
        "https://evil%2ecom?.app.example.com/x",
        "https://16909060?.app.example.com/",
        "https://0x01020304?.app.example.com/",
        "https://evil%2Ecom\\.app.example.com/",
        "https://16909060\\.app.example.com/x",
        "https://evil\\@x.app.example.com/",
        "https://evil%2Ecom#.app.example.com/",
        "https://evil.com/.app.example.com/",
        "https://evil.com?.app.example.com/",
        "https://evil.com\\@x.app.example.com/",
        "https://x.app.example.com.evil.com/",
        "https://x.app.example.com@evil.com/",
        "https://exact.example.com.evil.com",
        "https://exact.example.com@evil.com",
        "https://exact.example.com%2F@evil.com",
        "https://prefix.example.com/cbevil",
        "https://prefix.example.com/c@evil.com/cb/",
        "//evil.com/x",
        "/\\evil.com",
        "https:evil.com",
        "javascript:alert(1)//127.0.0.1",
        "http://127.0.0.1.evil.com/",
        "http://127.0.0.1@evil.com/",
        "http://127.0.0.1:80@evil.com/",
        "http://[::1]@evil.com/",
        "http://evil.com#@127.0.0.1",
        "http://evil.com?@127.0.0.1/",
        "http://0.0.0.0:3000/",
        "http://[::ffff:127.0.0.1]/",
        "http://localhost.evil.com/",
        "http://localhost:3000@evil.com",
        "http://localhost:3000.evil.com",
        "http://127.1/",
        " https://evil.com",
    ] {
        let to = target_of(bad);
        assert!(to.starts_with("http://localhost:3000?"), "{bad:?} went to {to}");
    }
    for good in [
        "https://shop.app.example.com/done?x=1",
        "https://shop.app.example.com/a/b",
        "https://exact.example.com",
        "https://exact.example.com/x",
        "https://prefix.example.com/cb/deep",
        "http://127.0.0.1:5173/cb",
        "http://[::1]:8080/cb",
        "http://localhost:3000/welcome",
    ] {
        let to = target_of(good);
        assert!(to.starts_with(good), "{good:?} went to {to}");
    }
}

/// WORKED BEFORE ITS FIX. A target with characters no `Location` header carries (a loopback
/// target, which is always allowed, with a non-ASCII path) made the callback answer 200 with
/// an empty body, after it had started a session.
#[test]
fn a_target_with_non_ascii_characters_still_redirects() {
    let (app, idp) = app_with_idps(&[]);
    for target in ["http://127.0.0.1:5173/caf\u{e9}", "https://shop.app.example.com/caf\u{e9}"] {
        let callback = through_acme(&app, &idp, &format!("&redirect_to={}", enc(target)), json!({"sub": "acme-1", "email": "ann@example.com", "email_verified": true}));
        let r = get(&app, &callback, None);
        assert_eq!(r.status, 302, "{target}: {}", r.raw);
        let to = location(&r);
        assert!(to.starts_with(&target.replace('\u{e9}', "%C3%A9")), "{target}: {to}");
    }
}

// Hostile input.

/// Malformed and oversized requests to every endpoint: 4xx (or a redirect for callbacks),
/// never a 5xx, and no account, session or identity written.
#[test]
fn malformed_and_huge_requests_are_4xx_and_write_nothing() {
    let (app, _) = app_with_idps(&[]);
    // The provider's documents are fetched once, so a first request that needs them does not
    // stand out.
    let before = snapshot(&app);
    let b = |s: &str| b64url(s.as_bytes());
    let tail = format!("{}.{}", b(&claims("a", "ann@example.com", json!(true)).to_string()), b("sig"));
    let mut tokens: Vec<String> = vec![
        "a.b.c".into(),
        "..".into(),
        "...".into(),
        ".".into(),
        "a..".into(),
        "\u{e9}.\u{e9}.\u{e9}".into(),
        format!("{}.{tail}", b("[]")),
        format!("{}.{tail}", b("null")),
        format!("{}.{tail}", b("\"x\"")),
        format!("{}.{tail}", b(r#"{"alg":7}"#)),
        format!("{}.{tail}", b(r#"{"alg":"ES256","kid":7}"#)),
        format!("{}.{tail}", b("{\"alg\":\"ES256\",\"kid\":\"x\\u0000y\"}")),
        format!("{}.{tail}", b(&format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000)))),
        format!("{}.{}.{}", b(r#"{"alg":"ES256","kid":"k1"}"#), b(&format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000))), b("s")),
        format!("{}.{tail}.x", b(r#"{"alg":"ES256"}"#)),
        format!("{}.{tail}", "A".repeat(17_000)),
    ];
    tokens.push("x".repeat(100_000));
    for t in &tokens {
        let r = sign_in(&app, t);
        assert!(r.status.is_client_error(), "{}: {}", &t[..t.len().min(40)], r.raw);
    }
    for body in [
        json!({"provider": "acme", "id_token": ["a"]}),
        json!({"provider": 7, "id_token": "a.b.c"}),
        json!({"provider": "acme\u{0}", "id_token": "a.b.c"}),
        json!({"provider": "a".repeat(100_000), "id_token": "a.b.c"}),
        json!({"provider": "acme", "id_token": "a.b.c", "nonce": {"x": 1}}),
        json!({"provider": "acme", "id_token": "a.b.c", "link_identity": "yes"}),
        json!([]),
        Value::Null,
        json!("x"),
    ] {
        let r = post(&app, "/token?grant_type=id_token", &body);
        assert!(r.status.is_client_error(), "{body:.60}: {}", r.raw);
    }
    for raw in [&b"\xff\xfe"[..], b"{\"provider\":\"acme\",\"id_token\":\"", &vec![b'['; 1 << 20]] {
        let r = send(&app, request("POST", "/token?grant_type=id_token", raw, &[JSON, API_VERSION]));
        assert!(r.status.is_client_error(), "{}", r.raw);
    }
    let r = send(&app, request("POST", "/token?grant_type=id_token", b"provider=acme&id_token=a.b.c", &[FORM, API_VERSION]));
    assert!(r.status.is_client_error(), "{}", r.raw);
    // /authorize.
    let many: String = (0..100).map(|i| format!("&p{i}={}", "v".repeat(300))).collect();
    for q in [
        "",
        "provider=",
        "provider=%FF",
        "provider=acme&code_challenge=short&code_challenge_method=s256",
        "provider=acme&code_challenge_method=s256",
        &format!("provider=acme&code_challenge={}&code_challenge_method=weird", "c".repeat(43)),
        &format!("provider=acme&scopes={}", "a,".repeat(5000)),
        &format!("provider=acme&redirect_to={}", "x".repeat(20_000)),
        &format!("provider=acme{many}"),
        "provider=acme&redirect_to=%FF%FE",
        "provider=acme&state=mine&nonce=mine&client_id=evil&redirect_uri=https%3A%2F%2Fevil.com",
    ] {
        let r = get(&app, &format!("/authorize?{q}"), None);
        assert!(r.status.is_client_error() || r.status == 302, "{:.60}: {}", q, r.raw);
        if r.status == 302 {
            let to = location(&r);
            let q = query_of(&to);
            assert!(to.starts_with("https://idp.example.com/auth?"), "{to:.100}");
            assert_eq!((q["client_id"].as_str(), q["redirect_uri"].as_str()), ("portcullis-app", "http://auth.test/callback"));
            assert!(q["state"] != "mine" && q["nonce"] != "mine");
            assert!(to.len() < 20_000, "everything passed on: {}", to.len());
        }
    }
    // /callback: always a redirect.
    let state = query_of(&location(&get(&app, "/authorize?provider=acme", None)))["state"].clone();
    for q in [
        "state=%FF%FE&code=x".to_string(),
        format!("state={}&code=x", "a".repeat(10_000)),
        format!("state=6f1c1a52-4c1e-4c5b-9d7e-0f1a2b3c4d5e&code={}", "c".repeat(40_000)),
        format!("state={}&code=x", state.to_uppercase()),
        format!("state=%7B{state}%7D&code=x"),
        format!("state=urn:uuid:{state}&code=x"),
        format!("state={state}&error={}&error_description=%00%01{}", "e".repeat(10_000), "d".repeat(10_000)),
    ] {
        let r = get(&app, &format!("/callback?{q}"), None);
        assert!(matches!(r.status.as_u16(), 302 | 303), "{:.60}: {}", q, r.raw);
        assert!(location(&r).len() < 4096, "{:.60}: {}", q, location(&r).len());
    }
    for (body, ct) in [(&b"\xff\xfe=\xff"[..], FORM), (b"{\"state\": 1}", JSON), (&vec![b'&'; 1 << 20], FORM)] {
        let r = send(&app, request("POST", "/callback", body, &[ct]));
        assert!(r.status.as_u16() < 500, "{}", r.raw);
    }
    assert_eq!(snapshot(&app), before, "a refused request wrote");
}

/// A provider that answers with hostile documents (deep nesting, thousands of keys, huge
/// fields, values of the wrong type): refused without a panic, nothing written, and no secret
/// in the log.
#[test]
fn hostile_provider_answers_are_refused_and_leak_nothing() {
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let c = claims("acme-1", "ann@example.com", json!(true));
    let (app, idp) = app_with_idps(&[]);
    idp.borrow_mut().acme_discovery = Some(deep.clone());
    let r = sign_in(&app, &acme_token(&c));
    assert_eq!(r.status, 500, "{}", r.raw);
    let (app, idp) = app_with_idps(&[]);
    idp.borrow_mut().acme_jwks = serde_json::from_str(&format!(r#"{{"keys": [{}]}}"#, vec![public(other_key(), "b"); 5000].iter().map(Value::to_string).collect::<Vec<_>>().join(","))).unwrap();
    let r = sign_in(&app, &acme_token(&c));
    assert_eq!(r.status, 400, "{}", r.raw);
    // Redirect flow: the token endpoint's answer.
    for reply in [
        deep.clone(),
        json!({"access_token": "t", "id_token": 7}).to_string(),
        json!({"access_token": "t", "id_token": "a.b.c"}).to_string(),
        json!({"access_token": ["t"]}).to_string(),
        json!({"access_token": "t", "id_token": acme_token(&with(&c, "nonce", json!("not the flow's")))}).to_string(),
    ] {
        let (app, idp) = app_with_idps(&[]);
        idp.borrow_mut().acme_token_reply = Some(reply.clone());
        let state = query_of(&location(&get(&app, "/authorize?provider=acme", None)))["state"].clone();
        let r = get(&app, &format!("/callback?code=the-code&state={state}"), None);
        assert_eq!(r.status, 302, "{:.60}: {}", reply, r.raw);
        assert!(query_of(&location(&r)).contains_key("error"), "{}", location(&r));
        assert!(ports(&app).store.all_users().is_empty());
        for (_, detail) in ports(&app).errors.borrow().iter() {
            for secret in ["acme-secret", "the-code", &state] {
                assert!(!detail.contains(secret), "{secret} logged: {detail}");
            }
        }
    }
    // GitHub: huge fields are cut, odd ids refused.
    let (app, idp) = app_with_idps(&[]);
    idp.borrow_mut().github_user = json!({"id": 7, "login": "o".repeat(100_000), "name": {"x": 1}, "avatar_url": 5});
    idp.borrow_mut().github_emails = json!([{"email": "octo@example.com", "primary": true, "verified": true}]);
    let github = |app: &App<TestPorts>| {
        let state = query_of(&location(&get(app, "/authorize?provider=github", None)))["state"].clone();
        location(&get(app, &format!("/callback?code=gh-code&state={state}"), None))
    };
    let back = github(&app);
    let me = get(&app, "/user", Some(&fragment_of(&back)["access_token"]));
    assert_eq!(me.status, 200, "{back}");
    assert!(me.raw.len() < 10_000, "{}", me.raw.len());
    for user in [json!({"id": {"n": 1}}), json!({"id": ""}), json!([]), json!({"login": "x"})] {
        idp.borrow_mut().github_user = user.clone();
        let back = github(&app);
        assert!(query_of(&back).contains_key("error"), "{user}: {back}");
    }
    for emails in [json!({}), json!([{"email": 7, "primary": true, "verified": true}]), json!([{"primary": true, "verified": true}])] {
        idp.borrow_mut().github_user = json!({"id": 8});
        idp.borrow_mut().github_emails = emails.clone();
        let back = github(&app);
        assert!(query_of(&back).contains_key("error"), "{emails}: {back}");
    }
    for (_, detail) in ports(&app).errors.borrow().iter() {
        assert!(!detail.contains("gh-secret") && !detail.contains("gh-token"), "{detail}");
    }
}
