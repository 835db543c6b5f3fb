//! Attacks on second factors (GoTrue's MFA API and the rule that an account with a verified
//! factor gets no full session from a password alone in any dialect). Each test is an attack;
//! a test that passes guards a property that held when the attack was tried, a test that
//! fails is an attack that worked (see its message). The rule every test comes back to: an
//! attacker with the password alone (or the mailbox alone) never reaches `aal2`, and never a
//! token outside GoTrue (at most a second step's ticket there).
//!
//! Races are played two ways: a request whose store read came before another request's write
//! (the memory store's `serve_stale`, as `account_integrity.rs` does), and a request run
//! entirely inside another one, between its read and its write ([`HookPorts`]: ports whose
//! randomness runs a hook at a chosen call, the one point a flow passes between the two).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use http::Request;
use portcullis_shared::model::Mail;
use portcullis_shared::ports::{Clock as _, Ports, Rng};
use portcullis_shared::testing::{FixedClock, MemoryMailer, MemoryStore, RustCryptoSignatures, ScriptedHttp, SeededRng, TestPorts};
use portcullis_shared::totp;
use portcullis_shared::App;
use serde_json::{json, Value};
use std::cell::RefCell;
use support::mfa::*;
use support::*;

const PW: &str = "s3cret-pass";

// ---------------------------------------------------------------------------------------------
// Helpers (as in gotrue_mfa.rs)
// ---------------------------------------------------------------------------------------------

fn feathers_local(app: &App<TestPorts>, email: &str, password: &str) -> Reply {
    call(app, "POST", "/authentication", &json!({"strategy": "local", "email": email, "password": password}), None)
}

const TOKEN_AUTH: &str = "mutation($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { token refreshToken } }";
const LONG_REFRESH: &str = "mutation($r: String!) { refreshToken(refreshToken: $r) { token refreshToken } }";
const VERIFY_TOKEN: &str = "mutation($t: String!) { verifyToken(token: $t) { payload } }";

/// A request with `Authorization: <scheme> <token>` and no API version header (the other
/// dialects' shape).
fn with_token(method: &str, path: &str, body: &Value, token: &str) -> Request<Vec<u8>> {
    let auth = format!("Bearer {token}");
    let body = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
    request(method, path, &body, &[JSON, ("authorization", auth.as_str())])
}

/// The user object of `ann@example.com`, as stored.
fn stored_user(app: &App<TestPorts>, email: &str) -> portcullis_shared::model::User {
    ports(app).store.all_users().into_iter().find(|u| u.has_email(email)).unwrap()
}

/// What the session of a GoTrue access token has proven, as stored (`aal1`, `aal2`), or
/// `ended`: the store's word, whatever the token says.
fn store_aal(app: &App<TestPorts>, token: &str) -> String {
    let id = claims(token)["session_id"].as_str().unwrap().to_string();
    let session = ports(app).store.all_sessions().into_iter().find(|s| s.id.as_str() == id).unwrap();
    match session.revoked_at {
        Some(_) => "ended".into(),
        None => session.aal().as_str().into(),
    }
}

fn live_sessions(app: &App<TestPorts>) -> usize {
    ports(app).store.all_sessions().iter().filter(|s| s.revoked_at.is_none()).count()
}

// ---------------------------------------------------------------------------------------------
// HookPorts: the test ports, with randomness that runs a hook at a chosen call
// ---------------------------------------------------------------------------------------------

/// Randomness that, once armed, runs a hook just before the next fill of `len` bytes: a way to
/// land a whole request between a flow's read and its write when the flow draws randomness
/// between them (enrolling a factor draws its 20-byte secret after checking the account's
/// factors and before storing the new one).
struct HookRng {
    inner: SeededRng,
    hook: RefCell<Option<Hook>>,
}

/// The fill length a hook waits for, and what it runs.
type Hook = (usize, Box<dyn FnOnce()>);

impl Rng for HookRng {
    fn fill(&self, buf: &mut [u8]) {
        let due = {
            let mut hook = self.hook.borrow_mut();
            match hook.as_ref() {
                Some((len, _)) if *len == buf.len() => hook.take(),
                _ => None,
            }
        };
        if let Some((_, run)) = due {
            run();
        }
        self.inner.fill(buf);
    }
}

struct HookPorts {
    store: MemoryStore,
    mailer: MemoryMailer,
    clock: FixedClock,
    rng: HookRng,
    http: ScriptedHttp,
}

impl Ports for HookPorts {
    type Store = MemoryStore;
    type Mailer = MemoryMailer;
    type Clock = FixedClock;
    type Rng = HookRng;
    type Http = ScriptedHttp;
    type Signatures = RustCryptoSignatures;
    fn store(&self) -> &MemoryStore {
        &self.store
    }
    fn mailer(&self) -> &MemoryMailer {
        &self.mailer
    }
    fn clock(&self) -> &FixedClock {
        &self.clock
    }
    fn rng(&self) -> &HookRng {
        &self.rng
    }
    fn http(&self) -> &ScriptedHttp {
        &self.http
    }
    fn signatures(&self) -> &RustCryptoSignatures {
        &RustCryptoSignatures
    }
    fn log_error(&self, _: &str, detail: &str) {
        eprintln!("internal error: {detail}");
    }
}

fn hook_app() -> &'static App<HookPorts> {
    let ports = HookPorts {
        store: MemoryStore::default(),
        mailer: MemoryMailer::default(),
        clock: FixedClock::at(1_700_000_000_000),
        rng: HookRng { inner: SeededRng::new(42), hook: RefCell::new(None) },
        http: ScriptedHttp::default(),
    };
    Box::leak(Box::new(App::new(ports, config_with(&[])).unwrap()))
}

/// [`support::send`] for any ports.
fn send_to<P: Ports + 'static>(app: &App<P>, req: Request<Vec<u8>>) -> Reply {
    let answer = pollster::block_on(app.handle(req));
    pollster::block_on(app.deliver(answer.outbox));
    let res = answer.response;
    let raw = String::from_utf8(res.body().clone()).unwrap();
    Reply { status: res.status(), headers: res.headers().clone(), body: serde_json::from_str(&raw).unwrap_or(Value::Null), raw }
}

fn h_post(app: &App<HookPorts>, path: &str, bearer: Option<&str>, body: &Value) -> Reply {
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let mut headers = vec![API_VERSION, JSON];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    send_to(app, request("POST", path, body.to_string().as_bytes(), &headers))
}

fn h_code_for(app: &App<HookPorts>, to: &str) -> String {
    let mails: Vec<Mail> = app.auth().ports().mailer.sent.borrow().clone();
    let mail = mails.into_iter().rev().find(|m| m.to == to).expect("a mail");
    let at = mail.text.find("code is: ").expect("a code") + "code is: ".len();
    mail.text[at..at + 6].to_string()
}

fn h_confirmed(app: &App<HookPorts>, email: &str) -> Value {
    assert_eq!(h_post(app, "/signup", None, &json!({"email": email, "password": PW})).status, 200);
    let code = h_code_for(app, email);
    let r = h_post(app, "/verify", None, &json!({"type": "signup", "email": email, "token": code}));
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body
}

fn h_login(app: &App<HookPorts>, email: &str) -> String {
    let r = h_post(app, "/token?grant_type=password", None, &json!({"email": email, "password": PW}));
    assert_eq!(r.status, 200, "{}", r.raw);
    s(&r.body, "access_token")
}

fn h_enroll(app: &App<HookPorts>, token: &str, name: &str) -> Reply {
    h_post(app, "/factors", Some(token), &json!({"factor_type": "totp", "friendly_name": name}))
}

fn h_challenge(app: &App<HookPorts>, token: &str, factor: &str) -> String {
    let r = h_post(app, &format!("/factors/{factor}/challenge"), Some(token), &json!({}));
    assert_eq!(r.status, 200, "{}", r.raw);
    s(&r.body, "id")
}

fn h_code_now(app: &App<HookPorts>, secret: &str) -> String {
    code_at(app.auth().ports().clock.now().0, secret, 0)
}

// ---------------------------------------------------------------------------------------------
// Who has proven what: a password alone never reaches aal2
// ---------------------------------------------------------------------------------------------

/// The race below: the attacker (Ann's password, not her phone) enrolls a factor of their own
/// from a password session while Ann turns on hers. The enrollment checks that the account has
/// no verified factor (true: Ann's is not verified yet), Ann's answer lands (it ends the
/// attacker's session and drops the unverified factors it can see), and only then is the
/// attacker's factor stored. Returns the app and the attacker's factor (id, secret), if the
/// enrollment went through.
fn race_a_factor_in_beside_the_owners() -> (&'static App<HookPorts>, Option<(String, String)>) {
    let app = hook_app();
    let ann = h_confirmed(app, "ann@example.com");
    let ann_token = s(&ann, "access_token");
    let attacker = h_login(app, "ann@example.com");
    let ann_factor = h_enroll(app, &ann_token, "phone app");
    assert_eq!(ann_factor.status, 200, "{}", ann_factor.raw);
    let (ann_factor_id, ann_secret) = (s(&ann_factor.body, "id"), ann_factor.body["totp"]["secret"].as_str().unwrap().to_string());
    let ann_challenge = h_challenge(app, &ann_token, &ann_factor_id);
    let ann_code = h_code_now(app, &ann_secret);
    // Ann's answer lands between the attacker's check and the attacker's write (the secret's
    // 20 random bytes are drawn in between).
    let ann_verified: &'static RefCell<Option<Reply>> = Box::leak(Box::new(RefCell::new(None)));
    let hook: Box<dyn FnOnce()> = Box::new(move || {
        let body = json!({"challenge_id": ann_challenge, "code": ann_code});
        *ann_verified.borrow_mut() = Some(h_post(app, &format!("/factors/{ann_factor_id}/verify"), Some(&ann_token), &body));
    });
    *app.auth().ports().rng.hook.borrow_mut() = Some((totp::SECRET_BYTES, hook));
    let planted = h_enroll(app, &attacker, "attacker's phone");
    let ann_verified = ann_verified.borrow_mut().take().expect("the owner's verify ran inside the enrollment");
    assert_eq!(ann_verified.status, 200, "{}", ann_verified.raw);
    assert_eq!(claims(ann_verified.body["access_token"].as_str().unwrap())["aal"], "aal2");
    // (Should the flow ever draw 20 random bytes before its check, the hook would fire early and
    // this race would pass vacuously: revisit the hook's length then.)
    match planted.status.as_u16() {
        200 => (app, Some((s(&planted.body, "id"), planted.body["totp"]["secret"].as_str().unwrap().to_string()))),
        _ => (app, None), // Refused at its write: the race is closed.
    }
}

/// With the attacker's factor stored next to Ann's verified one, the password alone signs in
/// to GoTrue (`aal1`, as upstream) and verifies the attacker's own factor.
#[test]
fn race_a_factor_enrolled_by_a_password_session_while_the_owner_verifies_hers_must_not_reach_aal2() {
    let (app, planted) = race_a_factor_in_beside_the_owners();
    let Some((planted_id, planted_secret)) = planted else { return };
    let again = h_login(app, "ann@example.com");
    assert_eq!(claims(&again)["aal"], "aal1");
    let c = h_challenge(app, &again, &planted_id);
    let r = h_post(app, &format!("/factors/{planted_id}/verify"), Some(&again), &json!({"challenge_id": c, "code": h_code_now(app, &planted_secret)}));
    let aal = r.body["access_token"].as_str().map(|t| claims(t)["aal"].clone());
    assert_ne!(
        r.status, 200,
        "ATTACK WORKED: with the password alone the attacker verified a factor of their own next to the owner's verified one \
         and holds an {aal:?} session (it may now change the password and address and remove the owner's factor): {}",
        r.raw
    );
}

/// The owner's first factor drops the unverified factors enrolled before it (the attacker's
/// too), and ends the attacker's password session: nothing enrolled earlier survives to be
/// verified from `aal1`.
#[test]
fn unverified_factors_enrolled_before_the_first_verify_die_with_it_and_so_does_the_enrolling_session() {
    let app = app();
    let ann = confirmed_user(&app, "ann@example.com", PW);
    let token = s(&ann, "access_token");
    let attacker = s(&login(&app, "ann@example.com", PW).body, "access_token");
    let theirs = enroll(&app, &attacker, "attacker's phone");
    let their_challenge = challenge(&app, &attacker, &theirs.id);
    let mine = enroll(&app, &token, "phone app");
    let r = verify(&app, &token, &mine.id, &challenge(&app, &token, &mine.id), &code_now(&app, &mine.secret, 0));
    assert_eq!(r.status, 200, "{}", r.raw);
    // The attacker's session ended, the attacker's factor is gone with its challenge.
    assert_eq!(error_code(&get(&app, "/user", Some(&attacker))), "session_not_found");
    let again = s(&login(&app, "ann@example.com", PW).body, "access_token");
    let factors = get(&app, "/user", Some(&again)).body["factors"].clone();
    assert_eq!(factors.as_array().unwrap().len(), 1, "{factors}");
    assert_eq!(factors[0]["id"], mine.id.as_str());
    let late = verify(&app, &again, &theirs.id, &their_challenge, &code_now(&app, &theirs.secret, 0));
    assert_eq!((late.status.as_u16(), error_code(&late)), (404, "mfa_factor_not_found"), "{}", late.raw);
    let c = post_auth(&app, &format!("/factors/{}/challenge", theirs.id), &again, &json!({}));
    assert_eq!(c.status, 404, "{}", c.raw);
    // And from aal1 no new one can be enrolled.
    let more = post_auth(&app, "/factors", &again, &json!({"factor_type": "totp", "friendly_name": "x"}));
    assert_eq!((more.status.as_u16(), error_code(&more)), (403, "insufficient_aal"), "{}", more.raw);
}

/// The owner's verify races a Feathers password sign-in: the sign-in read the account (no
/// factor yet), hashed the password, and starts its session after the owner's answer ended
/// every `aal1` session. It must hand out no access token (at most a second step's ticket).
#[test]
fn race_a_feathers_sign_in_that_read_the_account_before_its_factor_was_verified_must_get_no_token() {
    let app = app();
    confirmed_user(&app, "ann@example.com", PW);
    let before = stored_user(&app, "ann@example.com");
    let _ = ann_with_factor_on(&app);
    assert!(stored_user(&app, "ann@example.com").mfa_enabled());
    ports(&app).store.serve_stale(before);
    let f = feathers_local(&app, "ann@example.com", PW);
    // Whatever it answered, a token it may have minted is dead at Portcullis.
    if let Some(token) = f.body["accessToken"].as_str() {
        assert_eq!(check(&app, token).body["error"], "session ended");
    }
    assert!(
        f.body["accessToken"].is_null(),
        "ATTACK WORKED (partly): a password alone got a signed 1-day Feathers access token for an account with a verified \
         factor; Portcullis refuses it on use, a resource server that verifies Feathers JWTs itself does not: {}",
        f.raw
    );
}

/// As above, for graphql-jwt's `tokenAuth` (long-running refresh tokens on).
#[test]
fn race_a_graphql_sign_in_that_read_the_account_before_its_factor_was_verified_must_get_no_token() {
    let app = app_with(&[("GRAPHQL_JWT_LONG_RUNNING_REFRESH_TOKEN", "true")]);
    confirmed_user(&app, "ann@example.com", PW);
    let before = stored_user(&app, "ann@example.com");
    let _ = ann_with_factor_on(&app);
    ports(&app).store.serve_stale(before);
    let r = gql(&app, TOKEN_AUTH, json!({"u": "ann@example.com", "p": PW}));
    if let Some(rt) = r.body["data"]["tokenAuth"]["refreshToken"].as_str() {
        let refreshed = gql(&app, LONG_REFRESH, json!({"r": rt}));
        assert!(refreshed.body["data"]["refreshToken"].is_null(), "{}", refreshed.raw);
    }
    assert!(
        r.body["data"]["tokenAuth"]["token"].is_null(),
        "ATTACK WORKED (partly): a password alone got a graphql-jwt token (and refresh token) for an account with a \
         verified factor: {}",
        r.raw
    );
}

/// Ann's verified factor on an already confirmed account (the caller made it): her aal2 body.
fn ann_with_factor_on(app: &App<TestPorts>) -> (Value, Enrolled) {
    let token = s(&login(app, "ann@example.com", PW).body, "access_token");
    let f = enroll(app, &token, "phone app");
    let c = challenge(app, &token, &f.id);
    let r = verify(app, &token, &f.id, &c, &code_now(app, &f.secret, 0));
    assert_eq!(r.status, 200, "{}", r.raw);
    (r.body, f)
}

/// Every session of every dialect that the account held before its factor was verified ends
/// with the verification, and none of their refresh roads starts another.
#[test]
fn sessions_of_every_dialect_end_when_the_first_factor_is_verified_and_do_not_refresh() {
    let app = app_with(&[("GRAPHQL_JWT_LONG_RUNNING_REFRESH_TOKEN", "true"), ("REFRESH_TOKEN_REUSE_INTERVAL", "0")]);
    let ann = confirmed_user(&app, "ann@example.com", PW);
    let user_id = s(&ann["user"], "id");
    let gotrue_other = login(&app, "ann@example.com", PW).body;
    let feathers = feathers_local(&app, "ann@example.com", PW);
    assert_eq!(feathers.status, 201, "{}", feathers.raw);
    let feathers_token = s(&feathers.body, "accessToken");
    let g = gql(&app, TOKEN_AUTH, json!({"u": "ann@example.com", "p": PW}));
    let (g_token, g_refresh) = (g.body["data"]["tokenAuth"]["token"].as_str().unwrap().to_string(), g.body["data"]["tokenAuth"]["refreshToken"].as_str().unwrap().to_string());
    let (aal2, _) = ann_with_factor_on(&app);

    assert_eq!(error_code(&refresh(&app, &s(&gotrue_other, "refresh_token"))), "refresh_token_not_found");
    assert_eq!(check(&app, &s(&gotrue_other, "access_token")).body["error"], "session ended");
    assert_eq!(check(&app, &feathers_token).body["error"], "session ended");
    assert_eq!(send(&app, with_token("GET", &format!("/users/{user_id}"), &Value::Null, &feathers_token)).status, 401);
    let jwt = send(&app, request("POST", "/authentication", json!({"strategy": "jwt", "accessToken": feathers_token}).to_string().as_bytes(), &[JSON]));
    assert_eq!(jwt.status, 401, "Feathers' jwt strategy re-authenticates nobody: {}", jwt.raw);
    assert_eq!(check(&app, &g_token).body["error"], "session ended");
    assert!(gql(&app, VERIFY_TOKEN, json!({"t": g_token})).body["data"]["verifyToken"].is_null());
    let r = gql(&app, LONG_REFRESH, json!({"r": g_refresh}));
    assert!(r.body["data"]["refreshToken"].is_null(), "{}", r.raw);
    // Only the session that answered lives, at aal2.
    assert_eq!(store_aal(&app, &s(&aal2, "access_token")), "aal2");
    assert_eq!(live_sessions(&app), 1);
    // And a password sign-in elsewhere is refused; GoTrue's gives aal1.
    assert_eq!(feathers_local(&app, "ann@example.com", PW).status, 401);
    assert!(gql(&app, TOKEN_AUTH, json!({"u": "ann@example.com", "p": PW})).body["data"]["tokenAuth"].is_null());
    assert_eq!(claims(&s(&login(&app, "ann@example.com", PW).body, "access_token"))["aal"], "aal1");
}




/// A passwordless account (username, confirmed address, no password) whose owner turns on a
/// factor through GoTrue (a magic link to the address): its session tokens end, and an emailed
/// sign-in (the mailbox alone) gets no session at collection, only a ticket that
/// `POST /auth/second-factor` and the factor's code turn into one.
#[test]
fn passwordless_sessions_end_and_its_email_sign_in_is_refused_once_the_account_has_a_factor() {
    let app = app();
    let r = pw(&app, "POST", "/auth/registration", &json!({"username": "ada", "email": "ada@example.com", "session_platform": "Laptop"}), None);
    assert_eq!(r.status, 200, "{}", r.raw);
    let link = link_of(&app, "ada@example.com", "/auth/email/confirm?token=");
    assert_eq!(send(&app, request("POST", "/auth/email/confirm", format!("token={link}").as_bytes(), &[FORM])).status, 200);
    let got = emailed_sign_in(&app, "ada", "ada@example.com");
    assert_eq!(got.status, 200, "{}", got.raw);
    let session_token = s(&got.body, "session_token");
    assert_eq!(pw(&app, "GET", "/auth/me", &Value::Null, Some(&session_token)).status, 200);
    // GoTrue: a magic link, then a factor.
    ports(&app).clock.advance_secs(61);
    assert_eq!(post(&app, "/otp", &json!({"email": "ada@example.com"})).status, 200);
    let code = code_for(&app, "ada@example.com");
    let v = post(&app, "/verify", &json!({"type": "email", "email": "ada@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    let token = s(&v.body, "access_token");
    let f = enroll(&app, &token, "");
    let r = verify(&app, &token, &f.id, &challenge(&app, &token, &f.id), &code_now(&app, &f.secret, 0));
    assert_eq!(r.status, 200, "{}", r.raw);
    // The session token ended; a new emailed sign-in starts nothing.
    assert_eq!(pw(&app, "GET", "/auth/me", &Value::Null, Some(&session_token)).status, 401);
    assert_eq!(check(&app, &session_token).status, 401);
    ports(&app).clock.advance_secs(61);
    let polled = emailed_sign_in(&app, "ada", "ada@example.com");
    assert_eq!((polled.status.as_u16(), polled.body["error"].as_str()), (403, Some("A second factor is required")), "{}", polled.raw);
    assert!(polled.body.get("session_token").is_none(), "{}", polled.raw);
    assert_eq!(polled.body["factors"][0]["id"], f.id.as_str());
    // The ticket is the session token, honoured nowhere until the step is taken.
    let ticket = s(&polled.body, "ticket");
    assert_eq!(pw(&app, "GET", "/auth/me", &Value::Null, Some(&ticket)).status, 401);
    assert_eq!(check(&app, &ticket).status, 401);
    let wrong = pw(&app, "POST", "/auth/second-factor", &json!({"ticket": ticket, "code": "000000"}), None);
    assert_eq!((wrong.status.as_u16(), wrong.body["error"].as_str()), (401, Some("Invalid TOTP code")), "{}", wrong.raw);
    let missing = pw(&app, "POST", "/auth/second-factor", &json!({"ticket": ticket}), None);
    assert_eq!(missing.status, 400, "{}", missing.raw);
    let done = pw(&app, "POST", "/auth/second-factor", &json!({"ticket": ticket, "code": code_now(&app, &f.secret, 0)}), None);
    assert_eq!((done.status.as_u16(), done.body["session_token"].as_str()), (200, Some(ticket.as_str())), "{}", done.raw);
    assert_eq!(pw(&app, "GET", "/auth/me", &Value::Null, Some(&ticket)).status, 200);
    assert_eq!(check(&app, &ticket).body["aal"], "aal2");
    ports(&app).clock.advance_secs(30);
    let again = pw(&app, "POST", "/auth/second-factor", &json!({"ticket": ticket, "code": code_now(&app, &f.secret, 0)}), None);
    assert_eq!(again.body["error"], "Invalid or expired ticket; sign in again", "{}", again.raw);
}

/// The mailbox alone (recovery link, magic link) is one factor: `aal1` in GoTrue, which may
/// change neither the password nor the address, nor remove the factor, nor sign in elsewhere.
#[test]
fn the_mailbox_alone_reaches_aal1_and_no_further() {
    let app = app();
    let (_, f) = ann_with_factor(&app);
    ports(&app).clock.advance_secs(61);
    assert_eq!(post(&app, "/recover", &json!({"email": "ann@example.com"})).status, 200);
    let code = code_for(&app, "ann@example.com");
    let v = post(&app, "/verify", &json!({"type": "recovery", "email": "ann@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    let token = s(&v.body, "access_token");
    assert_eq!(claims(&token)["aal"], "aal1");
    assert_eq!(error_code(&put(&app, "/user", &token, &json!({"password": "mallory-pass"}))), "insufficient_aal");
    assert_eq!(error_code(&put(&app, "/user", &token, &json!({"email": "mallory@evil.test"}))), "insufficient_aal");
    let gone = call(&app, "DELETE", &format!("/factors/{}", f.id), &Value::Null, Some(&token));
    assert_eq!(error_code(&gone), "insufficient_aal", "{}", gone.raw);
    let more = post_auth(&app, "/factors", &token, &json!({"factor_type": "totp", "friendly_name": "mallory"}));
    assert_eq!(error_code(&more), "insufficient_aal", "{}", more.raw);
    // The factor still guards the account: the password still works in GoTrue only.
    assert_eq!(feathers_local(&app, "ann@example.com", PW).status, 401);
    assert_eq!(store_aal(&app, &token), "aal1");
}

/// The attacker, with the password while the account has no factor yet, asks to move it to
/// their address (no secure email change: only the new address confirms). The owner then turns
/// on a factor, which ends the attacker's session. The change the attacker's session asked for
/// must not land afterwards: an account with a verified factor changes its address only from
/// an `aal2` session.
#[test]
fn an_email_change_asked_by_a_password_session_before_the_factor_must_not_land_after_it() {
    let app = app_with(&[("MAILER_SECURE_EMAIL_CHANGE_ENABLED", "false")]);
    confirmed_user(&app, "ann@example.com", PW);
    let attacker = s(&login(&app, "ann@example.com", PW).body, "access_token");
    let asked = put(&app, "/user", &attacker, &json!({"email": "mallory@evil.test"}));
    assert_eq!(asked.status, 200, "{}", asked.raw);
    let code = code_for(&app, "mallory@evil.test");
    let _ = ann_with_factor_on(&app);
    assert_eq!(check(&app, &attacker).body["error"], "session ended");
    let moved = post(&app, "/verify", &json!({"type": "email_change", "email": "mallory@evil.test", "token": code}));
    let user = ports(&app).store.all_users().into_iter().find(|u| u.mfa_enabled()).unwrap();
    assert_eq!(
        user.email.as_deref(),
        Some("ann@example.com"),
        "ATTACK WORKED: an address change a password session asked for before the factor was verified moved the account \
         afterwards (its session had ended; from aal1 the same change is refused): {}",
        moved.raw
    );
}

// ---------------------------------------------------------------------------------------------
// Codes: single use across challenges, sessions and concurrent answers; guess budgets
// ---------------------------------------------------------------------------------------------

#[test]
fn a_code_is_single_use_across_sessions_and_challenges_and_older_steps_die_with_it() {
    let app = app();
    let (aal2, f) = ann_with_factor(&app);
    let kept = s(&aal2, "access_token");
    ports(&app).clock.advance_secs(30);
    let one = s(&login(&app, "ann@example.com", PW).body, "access_token");
    let code = code_now(&app, &f.secret, 0);
    assert_eq!(verify(&app, &one, &f.id, &challenge(&app, &one, &f.id), &code).status, 200);
    // The same code from another (aal2, so still live) session, on its own challenge.
    let again = verify(&app, &kept, &f.id, &challenge(&app, &kept, &f.id), &code);
    assert_eq!(error_code(&again), "mfa_verification_failed", "{}", again.raw);
    let older = verify(&app, &kept, &f.id, &challenge(&app, &kept, &f.id), &code_now(&app, &f.secret, -1));
    assert_eq!(error_code(&older), "mfa_verification_failed", "{}", older.raw);
    // The next step's code is fresh; after it, it is spent for every session.
    let next_code = code_now(&app, &f.secret, 1);
    let next = verify(&app, &kept, &f.id, &challenge(&app, &kept, &f.id), &next_code);
    assert_eq!(next.status, 200, "{}", next.raw);
    let three = s(&login(&app, "ann@example.com", PW).body, "access_token");
    let spent = verify(&app, &three, &f.id, &challenge(&app, &three, &f.id), &next_code);
    assert_eq!(error_code(&spent), "mfa_verification_failed", "{}", spent.raw);
    let current = verify(&app, &three, &f.id, &challenge(&app, &three, &f.id), &code);
    assert_eq!(error_code(&current), "mfa_verification_failed", "the step before the last taken: {}", current.raw);
    assert_eq!(store_aal(&app, &three), "aal1");
}

/// Two answers with one code at once (two sessions, two challenges) interleave at the budget
/// takes: one raises its session, the other is refused and its session stays `aal1`.
#[test]
fn concurrent_answers_with_one_code_raise_exactly_one_session() {
    let app = app();
    let (_, f) = ann_with_factor(&app);
    ports(&app).clock.advance_secs(30);
    let one = s(&login(&app, "ann@example.com", PW).body, "access_token");
    let two = s(&login(&app, "ann@example.com", PW).body, "access_token");
    let (c1, c2) = (challenge(&app, &one, &f.id), challenge(&app, &two, &f.id));
    let code = code_now(&app, &f.secret, 0);
    ports(&app).store.pause_at_budgets(true);
    let replies = together(&app, vec![verify_req(&one, &f.id, &c1, &code), verify_req(&two, &f.id, &c2, &code)]);
    ports(&app).store.pause_at_budgets(false);
    let ok: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(ok.len(), 1, "{:?}", replies.iter().map(|r| &r.raw).collect::<Vec<_>>());
    let aals: Vec<String> = [&one, &two].iter().map(|t| store_aal(&app, t)).collect();
    assert_eq!(aals.iter().filter(|a| *a == "aal2").count(), 1, "{aals:?}");
    // The same challenge answered twice at once: once.
    ports(&app).clock.advance_secs(30);
    let three = s(&login(&app, "ann@example.com", PW).body, "access_token");
    let c = challenge(&app, &three, &f.id);
    let (a, b) = (code_now(&app, &f.secret, 0), code_now(&app, &f.secret, 1));
    ports(&app).store.pause_at_budgets(true);
    let replies = together(&app, vec![verify_req(&three, &f.id, &c, &a), verify_req(&three, &f.id, &c, &b)]);
    ports(&app).store.pause_at_budgets(false);
    assert_eq!(replies.iter().filter(|r| r.status == 200).count(), 1, "{:?}", replies.iter().map(|r| &r.raw).collect::<Vec<_>>());
}

/// Wrong codes are counted per account before they are compared: guesses sent at once do not
/// exceed the budget, and neither a new factor, a new challenge nor another client buys more.
#[test]
fn concurrent_guesses_stay_within_the_budget_and_nothing_resets_it() {
    let app = app_with(&[("OTP_MAX_WRONG_PER_ADDRESS", "3")]);
    let ann = confirmed_user(&app, "ann@example.com", PW);
    let token = s(&ann, "access_token");
    let f = enroll(&app, &token, "one");
    let right = code_now(&app, &f.secret, 0);
    let wrong: Vec<String> = (0..1_000_000).map(|n| format!("{n:06}")).filter(|c| {
        (-1..=1).all(|d| *c != code_now(&app, &f.secret, d))
    }).take(6).collect();
    let reqs = wrong.iter().map(|w| verify_req(&token, &f.id, &challenge(&app, &token, &f.id), w)).collect();
    ports(&app).store.pause_at_budgets(true);
    let replies = together(&app, reqs);
    ports(&app).store.pause_at_budgets(false);
    let codes: Vec<&str> = replies.iter().map(error_code).collect();
    assert_eq!(codes.iter().filter(|c| **c == "mfa_verification_failed").count(), 3, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == "over_request_rate_limit").count(), 3, "{codes:?}");
    // A new factor, a new challenge, another client: still over.
    let g = enroll(&app, &token, "two");
    let c = challenge(&app, &token, &g.id);
    assert_eq!(error_code(&verify(&app, &token, &g.id, &c, &code_now(&app, &g.secret, 0))), "over_request_rate_limit");
    let auth = format!("Bearer {token}");
    let elsewhere = send(&app, request("POST", &format!("/factors/{}/challenge", f.id), b"{}", &[API_VERSION, JSON, ("authorization", &auth), ("cf-connecting-ip", "203.0.113.50")]));
    let body = json!({"challenge_id": s(&elsewhere.body, "id"), "code": right}).to_string();
    let r = send(&app, request("POST", &format!("/factors/{}/verify", f.id), body.as_bytes(), &[API_VERSION, JSON, ("authorization", &auth), ("cf-connecting-ip", "203.0.113.50")]));
    assert_eq!(error_code(&r), "over_request_rate_limit", "{}", r.raw);
}

// ---------------------------------------------------------------------------------------------
// Other people's factors, and tokens of one dialect at another
// ---------------------------------------------------------------------------------------------

/// Bob reaching for Ann's factor sees exactly what he sees for a factor that does not exist
/// (so he learns nothing), and the service role's removal names the account it is for.
#[test]
fn anothers_factor_looks_like_no_factor_at_all() {
    let app = app();
    let (aal2, f) = ann_with_factor(&app);
    let ann_id = s(&aal2["user"], "id");
    let bob = confirmed_user(&app, "bob@example.com", PW);
    let bob_token = s(&bob, "access_token");
    let bob_id = s(&bob["user"], "id");
    let nobody = "7f0f3b5e-2f4e-4a47-9d59-0d7a3c1b6e10";
    let ann_challenge = challenge(&app, &s(&aal2, "access_token"), &f.id);
    let shape = |r: &Reply| (r.status.as_u16(), error_code(r).to_string(), r.body["message"].clone());
    let theirs = post_auth(&app, &format!("/factors/{}/challenge", f.id), &bob_token, &json!({}));
    let none = post_auth(&app, &format!("/factors/{nobody}/challenge"), &bob_token, &json!({}));
    assert_eq!(shape(&theirs), shape(&none));
    let theirs = verify(&app, &bob_token, &f.id, &ann_challenge, &code_now(&app, &f.secret, 1));
    let none = verify(&app, &bob_token, nobody, &ann_challenge, &code_now(&app, &f.secret, 1));
    assert_eq!(shape(&theirs), shape(&none));
    assert_eq!(theirs.status, 404);
    let theirs = call(&app, "DELETE", &format!("/factors/{}", f.id), &Value::Null, Some(&bob_token));
    let none = call(&app, "DELETE", &format!("/factors/{nobody}"), &Value::Null, Some(&bob_token));
    assert_eq!(shape(&theirs), shape(&none));
    // Bob's own factor with Ann's challenge: not found either.
    let bf = enroll(&app, &bob_token, "");
    let r = verify(&app, &bob_token, &bf.id, &ann_challenge, &code_now(&app, &bf.secret, 0));
    assert_eq!((r.status.as_u16(), error_code(&r)), (422, "mfa_factor_not_found"), "{}", r.raw);
    // The service role: Ann's factor under Bob's id is not found, and stays.
    let key = service_role_key(&app);
    let wrong = call(&app, "DELETE", &format!("/admin/users/{bob_id}/factors/{}", f.id), &Value::Null, Some(&key));
    assert_eq!(wrong.status, 404, "{}", wrong.raw);
    assert_eq!(get(&app, &format!("/admin/users/{ann_id}/factors"), Some(&key)).body.as_array().unwrap().len(), 1);
    let unknown = get(&app, &format!("/admin/users/{nobody}/factors"), Some(&key));
    assert_eq!(unknown.status, 404, "{}", unknown.raw);
    // Ann's factor and session are unharmed.
    assert_eq!(store_aal(&app, &s(&aal2, "access_token")), "aal2");
}

/// Tokens are taken only by the dialect that issued them: no other dialect's credential
/// reaches the MFA API, and GoTrue's `aal2` token reaches no other dialect's services.
#[test]
fn tokens_of_one_dialect_are_not_taken_by_another() {
    let app = app_with(&[("GRAPHQL_JWT_LONG_RUNNING_REFRESH_TOKEN", "true")]);
    let (aal2, _) = ann_with_factor(&app);
    let ann_id = s(&aal2["user"], "id");
    let gotrue = s(&aal2, "access_token");
    let r = send(&app, with_token("GET", &format!("/users/{ann_id}"), &Value::Null, &gotrue));
    assert_eq!(r.status, 401, "{}", r.raw);
    let r = send(&app, with_token("PATCH", &format!("/users/{ann_id}"), &json!({"password": "other-pass-123"}), &gotrue));
    assert_eq!(r.status, 401, "{}", r.raw);
    // Bob has no factor and a session in every dialect; none of them enrolls one.
    confirmed_user(&app, "bob@example.com", PW);
    let feathers = s(&feathers_local(&app, "bob@example.com", PW).body, "accessToken");
    let g = gql(&app, TOKEN_AUTH, json!({"u": "bob@example.com", "p": PW}));
    let graphql = g.body["data"]["tokenAuth"]["token"].as_str().unwrap().to_string();
    let graphql_refresh = g.body["data"]["tokenAuth"]["refreshToken"].as_str().unwrap().to_string();
    let bob_gotrue_refresh = s(&login(&app, "bob@example.com", PW).body, "refresh_token");
    for token in [&feathers, &graphql, &graphql_refresh, &bob_gotrue_refresh, &"garbage".to_string()] {
        let r = post_auth(&app, "/factors", token, &json!({"factor_type": "totp"}));
        assert!(r.status == 401 || r.status == 403, "{}", r.raw);
        assert!(r.body["id"].is_null(), "{}", r.raw);
    }
    // A GoTrue refresh token at graphql-jwt's long-running refresh, and the other way round.
    let r = gql(&app, LONG_REFRESH, json!({"r": bob_gotrue_refresh}));
    assert!(r.body["data"]["refreshToken"].is_null(), "{}", r.raw);
    assert_eq!(refresh(&app, &graphql_refresh).status, 400);
}

/// `/api/check` takes GoTrue's `aal1` session of an account with a factor (as upstream takes
/// its JWT): a resource server that relies on the check alone gets a full "yes" for a password
/// alone. It can require the second factor only if the answer says what the session has
/// proven (`aal`, read from the store, not the token) and whether the account could prove
/// more (`mfa_enabled`). The aal it reads must follow the store at once.
#[test]
fn the_check_tells_a_resource_server_what_the_session_has_proven() {
    let app = app();
    let (aal2, f) = ann_with_factor(&app);
    let aal1 = s(&login(&app, "ann@example.com", PW).body, "access_token");
    let c = check(&app, &aal1);
    assert_eq!(c.status, 200, "{}", c.raw);
    assert_eq!(
        (c.body["aal"].as_str(), c.body["mfa_enabled"].as_bool()),
        (Some("aal1"), Some(true)),
        "ATTACK WORKED: /api/check says yes to a password-only session of an account with a verified factor and gives the \
         resource server no way to tell it from an aal2 one: {}",
        c.raw
    );
    assert_eq!(c.body["amr"].as_array().unwrap().len(), 1);
    // A resource server that requires a second factor says so, and the check refuses the rest
    // with RFC 9470's step-up error.
    let stepped = get(&app, "/api/check?aal=aal2", Some(&aal1));
    assert_eq!((stepped.status.as_u16(), stepped.body["error"].as_str()), (401, Some("a second factor is required")), "{}", stepped.raw);
    let challenge = stepped.headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("error=\"insufficient_user_authentication\""), "{challenge}");
    assert_eq!(get(&app, "/api/check?aal=aal2", Some(&s(&aal2, "access_token"))).status, 200);
    assert_eq!(get(&app, "/api/check?aal=aal3", Some(&aal1)).status, 400);
    let c = check(&app, &s(&aal2, "access_token"));
    assert_eq!((c.body["aal"].as_str(), c.body["amr"][0]["method"].as_str()), (Some("aal2"), Some("totp")), "{}", c.raw);
    // The service role removes the factor: the aal2 JWT still says aal2, the check says aal1.
    let user_id = s(&aal2["user"], "id");
    let key = service_role_key(&app);
    assert_eq!(call(&app, "DELETE", &format!("/admin/users/{user_id}/factors/{}", f.id), &Value::Null, Some(&key)).status, 200);
    assert_eq!(claims(&s(&aal2, "access_token"))["aal"], "aal2");
    let c = check(&app, &s(&aal2, "access_token"));
    assert_eq!((c.body["aal"].as_str(), c.body["mfa_enabled"].as_bool()), (Some("aal1"), Some(false)), "{}", c.raw);
}

// ---------------------------------------------------------------------------------------------
// A stranger who registered the address first
// ---------------------------------------------------------------------------------------------

/// A stranger registers Ann's address through Feathers (which signs unverified accounts in)
/// and through GoTrue. No session they can get reaches the MFA API, so they cannot plant a
/// factor that would guard the account against its owner; Ann's first proof (a magic link)
/// leaves the account without one.
#[test]
fn a_stranger_who_registers_the_address_first_cannot_plant_a_factor() {
    let app = app();
    let r = call(&app, "POST", "/users", &json!({"email": "ann@example.com", "password": "stranger-pass"}), None);
    assert_eq!(r.status, 201, "{}", r.raw);
    let stranger = feathers_local(&app, "ann@example.com", "stranger-pass");
    assert_eq!(stranger.status, 201, "Feathers signs unverified accounts in: {}", stranger.raw);
    let feathers_token = s(&stranger.body, "accessToken");
    let r = post_auth(&app, "/factors", &feathers_token, &json!({"factor_type": "totp"}));
    assert!(r.status == 401 || r.status == 403, "{}", r.raw);
    assert_eq!(login(&app, "ann@example.com", "stranger-pass").status, 400, "GoTrue signs no unverified account in");
    let up = signup(&app, "ann@example.com", "stranger-pass");
    assert!(up.body["access_token"].is_null(), "{}", up.raw);
    assert!(ports(&app).store.all_users().iter().all(|u| u.mfa == portcullis_shared::model::MfaState::Off));
    // Ann proves the mailbox: a session, no factor, the stranger's session ended.
    ports(&app).clock.advance_secs(61);
    assert_eq!(post(&app, "/otp", &json!({"email": "ann@example.com"})).status, 200);
    let code = code_for(&app, "ann@example.com");
    let v = post(&app, "/verify", &json!({"type": "email", "email": "ann@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    assert!(v.body["user"].get("factors").is_none(), "{}", v.raw);
    assert_eq!(check(&app, &feathers_token).status, 401);
}

// ---------------------------------------------------------------------------------------------
// Malformed input
// ---------------------------------------------------------------------------------------------

/// Bodies of the wrong types and shapes, odd codes and ids, labels at and over the limit,
/// unicode: every answer is a 4xx (or a 200 where the input is fine), never a 5xx or a panic.
#[test]
fn malformed_mfa_input_never_answers_5xx() {
    let app = app_with(&[("OTP_MAX_WRONG_PER_ADDRESS", "1000")]);
    let ann = confirmed_user(&app, "ann@example.com", PW);
    let token = s(&ann, "access_token");
    let auth = format!("Bearer {token}");
    let raw = |method: &str, path: &str, body: &[u8], content_type: &str| {
        send(&app, request(method, path, body, &[API_VERSION, ("content-type", content_type), ("authorization", auth.as_str())]))
    };
    let bodies: Vec<&[u8]> = vec![
        b"", b"null", b"[]", b"\"totp\"", b"42", b"{", b"{\"factor_type\":null}", b"{\"factor_type\":\"TOTP\"}",
        b"{\"factor_type\":\"totp\",\"issuer\":5}", b"{\"factor_type\":\"totp\",\"friendly_name\":{}}",
        b"{\"factor_type\":\"totp\",\"friendly_name\":\"\\u0000\\n\\r\"}", b"{\"factor_type\":\"totp\",\"issuer\":\"\\ud800\"}",
        b"{\"factor_type\":\"totp\",\"factor_type\":\"phone\"}", b"\xff\xfe{}",
    ];
    for body in &bodies {
        for ct in ["application/json", "text/plain", "application/x-www-form-urlencoded"] {
            let r = raw("POST", "/factors", body, ct);
            assert!(r.status.as_u16() < 500, "{:?} {ct}: {}", String::from_utf8_lossy(body), r.raw);
        }
    }
    // Labels: 256 bytes of four-byte characters is fine, one more byte is not; a huge issuer.
    let at_limit = "𝄞".repeat(64);
    let r = post_auth(&app, "/factors", &token, &json!({"factor_type": "totp", "friendly_name": at_limit, "issuer": "Ünïcödé ✓ 𝄞"}));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert!(r.body["totp"]["uri"].as_str().unwrap().starts_with("otpauth://totp/%C3%9Cn"), "{}", r.raw);
    let f = Enrolled { id: s(&r.body, "id"), secret: r.body["totp"]["secret"].as_str().unwrap().to_string() };
    let over = post_auth(&app, "/factors", &token, &json!({"factor_type": "totp", "friendly_name": format!("{at_limit}x")}));
    assert_eq!(over.status, 400, "{}", over.raw);
    let huge = post_auth(&app, "/factors", &token, &json!({"factor_type": "totp", "friendly_name": "h", "issuer": "i".repeat(60_000)}));
    assert_eq!(huge.status, 400, "{}", huge.raw);
    let too_big = raw("POST", "/factors", &vec![b' '; 70_000], "application/json");
    assert!(too_big.status.is_client_error(), "{}", too_big.raw);
    // Codes and challenge ids.
    let c = challenge(&app, &token, &f.id);
    let right = code_now(&app, &f.secret, 0);
    let fullwidth: String = right.chars().map(|d| char::from_u32(0xFF10 + d.to_digit(10).unwrap()).unwrap()).collect();
    let arabic: String = right.chars().map(|d| char::from_u32(0x0660 + d.to_digit(10).unwrap()).unwrap()).collect();
    let long = "1".repeat(50_000);
    for code in [
        format!(" {right}"), format!("{right} "), format!("{} {}", &right[..3], &right[3..]), fullwidth, arabic,
        format!("{right}0"), right[..5].to_string(), "-12345".into(), "+12345".into(), "1e5000".into(), "\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}".into(), long,
    ] {
        let r = verify(&app, &token, &f.id, &c, &code);
        assert_eq!((r.status.as_u16(), error_code(&r)), (422, "mfa_verification_failed"), "{code:?}: {}", r.raw);
    }
    for challenge_id in ["", "not-a-uuid", "' OR 1=1 --", &"c".repeat(10_000), "7F0F3B5E-2F4E-4A47-9D59-0D7A3C1B6E10", &c.to_uppercase()] {
        let r = verify(&app, &token, &f.id, challenge_id, &right);
        assert!(r.status.is_client_error(), "{challenge_id:?}: {}", r.raw);
    }
    for body in [json!({"challenge_id": c, "code": ["1"]}), json!({"challenge_id": 5, "code": right}), json!({"challenge_id": c, "code": null})] {
        let r = post_auth(&app, &format!("/factors/{}/verify", f.id), &token, &body);
        assert!(r.status.is_client_error(), "{body}: {}", r.raw);
    }
    // Path ids.
    for id in [f.id.to_uppercase(), format!("{}%00", f.id), "%2e%2e".into(), "a".repeat(5_000), format!("%7B{}%7D", f.id), format!("urn:uuid:{}", f.id)] {
        for (method, path) in [("POST", format!("/factors/{id}/challenge")), ("POST", format!("/factors/{id}/verify")), ("DELETE", format!("/factors/{id}"))] {
            let r = raw(method, &path, b"{}", "application/json");
            assert!(r.status.is_client_error(), "{method} {path}: {}", r.raw);
        }
    }
}

/// An enrollment whose `otpauth://` URI does not fit a QR code (a long address and a long,
/// escaped issuer) is refused with a 4xx, and leaves no factor behind: no secret was shown for
/// it, so nobody can ever verify it, yet it would take the name and a place among the factors.
#[test]
fn an_enrollment_refused_for_its_qr_code_stores_no_factor() {
    let app = app();
    // 247 bytes: a local part of 64 escaped characters and a domain of CJK labels.
    let email = format!("{}@{}.{}.{}", "{".repeat(64), "漢".repeat(20), "漢".repeat(20), "漢".repeat(20));
    let ann = confirmed_user(&app, &email, PW);
    let token = s(&ann, "access_token");
    let r = post_auth(&app, "/factors", &token, &json!({"factor_type": "totp", "friendly_name": "phone", "issuer": "{".repeat(256)}));
    assert!(r.status.is_client_error(), "{}", r.raw);
    let user = get(&app, "/user", Some(&token));
    assert!(
        user.body.get("factors").is_none(),
        "BUG: the refused enrollment stored a factor nobody was shown the secret of (the name is taken, it counts \
         against the maximum, and the answer blamed the labels' length): {} / {}",
        r.raw,
        user.raw
    );
}

/// Removing the factor an `aal2` session was raised with lowers that session at once (the
/// check, a change of the way in, its next refresh); the account's other verified factor still
/// guards it, so the lowered session is an `aal1` one like any password session.
#[test]
fn removing_the_factor_a_session_used_lowers_it_at_once() {
    let app = app();
    let (aal2, f) = ann_with_factor(&app);
    let token = s(&aal2, "access_token");
    let second = enroll(&app, &token, "backup");
    ports(&app).clock.advance_secs(30);
    let r = verify(&app, &token, &second.id, &challenge(&app, &token, &second.id), &code_now(&app, &second.secret, 0));
    assert_eq!(r.status, 200, "{}", r.raw);
    let raised_with_second = s(&r.body, "access_token");
    let refresh_token = s(&r.body, "refresh_token");
    let key = service_role_key(&app);
    let user_id = s(&aal2["user"], "id");
    assert_eq!(call(&app, "DELETE", &format!("/admin/users/{user_id}/factors/{}", second.id), &Value::Null, Some(&key)).status, 200);
    assert_eq!(store_aal(&app, &raised_with_second), "aal1");
    assert!(stored_user(&app, "ann@example.com").mfa_enabled());
    assert_eq!(error_code(&put(&app, "/user", &raised_with_second, &json!({"password": "another-pass"}))), "insufficient_aal");
    let gone = call(&app, "DELETE", &format!("/factors/{}", f.id), &Value::Null, Some(&raised_with_second));
    assert_eq!(error_code(&gone), "insufficient_aal", "{}", gone.raw);
    let refreshed = refresh(&app, &refresh_token);
    assert_eq!(claims(&s(&refreshed.body, "access_token"))["aal"], "aal1", "{}", refreshed.raw);
}

// ---------------------------------------------------------------------------------------------
// The second steps outside GoTrue (Feathers' `totp` strategy, graphql-jwt's `totpAuth`)
// ---------------------------------------------------------------------------------------------

const TOTP_AUTH: &str = "mutation($t: String!, $c: String!, $f: String) { totpAuth(ticket: $t, code: $c, factorId: $f) { token refreshToken } }";

fn h_send_json(app: &App<HookPorts>, path: &str, body: &Value) -> Reply {
    send_to(app, request("POST", path, body.to_string().as_bytes(), &[JSON]))
}

/// The attacker's factor, stored next to Ann's verified one by the race above, is no second
/// step in the other dialects: their tickets take only verified factors.
#[test]
fn race_tickets_never_take_the_attackers_unverified_factor() {
    let (app, planted) = race_a_factor_in_beside_the_owners();
    let Some((planted_id, planted_secret)) = planted else { return };
    let local = json!({"strategy": "local", "email": "ann@example.com", "password": PW});
    let first = h_send_json(app, "/authentication", &local);
    assert!(first.body["accessToken"].is_null(), "{}", first.raw);
    let ticket = s(&first.body["data"], "ticket");
    let code = h_code_now(app, &planted_secret);
    let r = h_send_json(app, "/authentication", &json!({"strategy": "totp", "ticket": ticket, "code": code, "factorId": planted_id}));
    assert!(r.body["accessToken"].is_null(), "a ticket took the attacker's unverified factor: {}", r.raw);
    let r = h_send_json(app, "/authentication", &json!({"strategy": "totp", "ticket": ticket, "code": code}));
    assert!(r.body["accessToken"].is_null(), "{}", r.raw);
    let q = json!({"query": TOKEN_AUTH, "variables": {"u": "ann@example.com", "p": PW}});
    let first = h_send_json(app, "/graphql", &q);
    let ticket = s(&first.body["errors"][0]["extensions"], "ticket");
    let q = json!({"query": TOTP_AUTH, "variables": {"t": ticket, "c": code, "f": planted_id}});
    let r = h_send_json(app, "/graphql", &q);
    assert!(r.body["data"]["totpAuth"]["token"].is_null(), "{}", r.raw);
}

fn feathers_ticket(app: &App<TestPorts>) -> String {
    let first = feathers_local(app, "ann@example.com", PW);
    assert_eq!(first.status, 401, "{}", first.raw);
    s(&first.body["data"], "ticket")
}

fn totp_strategy(ticket: &str, code: &str) -> Request<Vec<u8>> {
    let body = json!({"strategy": "totp", "ticket": ticket, "code": code}).to_string();
    request("POST", "/authentication", body.as_bytes(), &[JSON])
}

/// A ticket is single use: two answers sent with it at once (each with a right code, of two
/// steps) must not both complete the sign-in.
#[test]
fn a_ticket_answered_twice_at_once_completes_one_sign_in() {
    let app = app();
    let (_, f) = ann_with_factor(&app);
    ports(&app).clock.advance_secs(30);
    let ticket = feathers_ticket(&app);
    let (a, b) = (code_now(&app, &f.secret, 0), code_now(&app, &f.secret, 1));
    ports(&app).store.pause_at_budgets(true);
    let replies = together(&app, vec![totp_strategy(&ticket, &a), totp_strategy(&ticket, &b)]);
    ports(&app).store.pause_at_budgets(false);
    let tokens: Vec<_> = replies.iter().filter_map(|r| r.body["accessToken"].as_str()).collect();
    assert_eq!(
        tokens.len(),
        1,
        "BUG (low): one single-use ticket completed two sign-ins (two access tokens, the session raised twice): {:?}",
        replies.iter().map(|r| &r.raw).collect::<Vec<_>>()
    );
}

/// A ticket is taken only by the dialect whose sign-in answered it, and the `aal1` session
/// behind it is honoured nowhere meanwhile.
#[test]
fn a_ticket_is_taken_only_in_its_own_dialect() {
    let app = app_with(&[("GRAPHQL_JWT_LONG_RUNNING_REFRESH_TOKEN", "true")]);
    let (_, f) = ann_with_factor(&app);
    ports(&app).clock.advance_secs(30);
    let feathers = feathers_ticket(&app);
    let r = gql(&app, TOTP_AUTH, json!({"t": feathers, "c": code_now(&app, &f.secret, 0)}));
    assert!(r.body["data"]["totpAuth"]["token"].is_null(), "a Feathers ticket at graphql-jwt: {}", r.raw);
    let g = gql(&app, TOKEN_AUTH, json!({"u": "ann@example.com", "p": PW}));
    let graphql = s(&g.body["errors"][0]["extensions"], "ticket");
    assert!(!graphql.is_empty(), "{}", g.raw);
    let r = send(&app, totp_strategy(&graphql, &code_now(&app, &f.secret, 0)));
    assert!(r.body["accessToken"].is_null(), "a graphql-jwt ticket at Feathers: {}", r.raw);
    let r = gql(&app, LONG_REFRESH, json!({"r": graphql}));
    assert!(r.body["data"]["refreshToken"].is_null(), "{}", r.raw);
    assert_eq!(error_code(&refresh(&app, &feathers)), "refresh_token_not_found");
    // Both still complete in their own dialect.
    let r = send(&app, totp_strategy(&feathers, &code_now(&app, &f.secret, 0)));
    assert!(r.body["accessToken"].is_string(), "{}", r.raw);
}

/// Wrong codes sent with tickets come out of the same per-account budget as GoTrue's verify,
/// and a ticket dies with its session (the owner's global logout).
#[test]
fn tickets_share_the_accounts_guess_budget_and_die_with_their_session() {
    let app = app_with(&[("OTP_MAX_WRONG_PER_ADDRESS", "3")]);
    let (aal2, f) = ann_with_factor(&app);
    ports(&app).clock.advance_secs(30);
    let ticket = feathers_ticket(&app);
    let wrong: Vec<String> = (0..1_000_000).map(|n| format!("{n:06}")).filter(|c| {
        (-1..=1).all(|d| *c != code_now(&app, &f.secret, d))
    }).take(3).collect();
    for w in &wrong {
        let r = send(&app, totp_strategy(&ticket, w));
        assert_eq!(r.status, 401, "{}", r.raw);
    }
    let token = s(&login(&app, "ann@example.com", PW).body, "access_token");
    let r = verify(&app, &token, &f.id, &challenge(&app, &token, &f.id), &code_now(&app, &f.secret, 0));
    assert_eq!(error_code(&r), "over_request_rate_limit", "{}", r.raw);
    ports(&app).clock.advance_secs(3600);
    let ticket = feathers_ticket(&app);
    let owner = refresh(&app, &s(&aal2, "refresh_token"));
    assert_eq!(post_auth(&app, "/logout?scope=global", &s(&owner.body, "access_token"), &json!({})).status, 204);
    let r = send(&app, totp_strategy(&ticket, &code_now(&app, &f.secret, 0)));
    assert!(r.body["accessToken"].is_null(), "{}", r.raw);
}
