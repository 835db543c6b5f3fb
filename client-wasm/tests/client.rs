//! The client logic, natively, over a scripted transport and the memory store: what each call
//! sends, what it stores, and what it does with each kind of answer.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use portcullis_client::client::{
    take_from_fragment, Authenticator, Client, ClientError, FromUrl, HttpRequest, HttpResponse, MemoryStore, Options, TokenStore, Transport,
};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

type Script = Box<dyn Fn(&HttpRequest) -> Result<HttpResponse, String>>;

/// Answers by script, after yielding a few times (as a network would), so that calls made
/// together overlap.
struct Scripted {
    sent: Rc<RefCell<Vec<HttpRequest>>>,
    script: Script,
}

struct Yield(u8);
impl Future for Yield {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            Poll::Ready(())
        } else {
            self.0 -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

impl Transport for Scripted {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        self.sent.borrow_mut().push(req.clone());
        Yield(5).await;
        (self.script)(&req)
    }
}

/// A store that shares its contents with the test.
#[derive(Clone, Default)]
struct Shared(Rc<MemoryStore>);
impl TokenStore for Shared {
    fn get(&self, key: &str) -> Option<String> {
        self.0.get(key)
    }
    fn set(&self, key: &str, value: &str) -> Result<(), String> {
        self.0.set(key, value)
    }
    fn remove(&self, key: &str) {
        self.0.remove(key)
    }
}

fn result_body(token: &str, strategy: &str) -> String {
    json!({
        "accessToken": token,
        "authentication": {"strategy": strategy, "payload": {"iat": 1, "exp": 2, "aud": "a", "iss": "feathers", "sub": "u1", "jti": "s1"}},
        "user": {"id": "u1", "email": "ann@example.com", "avatar": "https://s.gravatar.com/avatar/x?s=60", "nickname": "Ann"}
    })
    .to_string()
}

fn ok(body: String) -> Result<HttpResponse, String> {
    Ok(HttpResponse { status: 201, body })
}

fn error(code: u16, name: &str, message: &str) -> Result<HttpResponse, String> {
    Ok(HttpResponse { status: code, body: json!({"name": name, "message": message, "code": code, "className": "x"}).to_string() })
}

struct Rig {
    client: Client<Scripted, Shared>,
    sent: Rc<RefCell<Vec<HttpRequest>>>,
    store: Shared,
}

fn rig(script: impl Fn(&HttpRequest) -> Result<HttpResponse, String> + 'static) -> Rig {
    let sent = Rc::new(RefCell::new(Vec::new()));
    let store = Shared::default();
    let transport = Scripted { sent: Rc::clone(&sent), script: Box::new(script) };
    let client = Client::new(Options::new("https://auth.example/"), transport, store.clone());
    Rig { client, sent, store }
}

fn body_of(req: &HttpRequest) -> Value {
    serde_json::from_str(req.body.as_deref().unwrap()).unwrap()
}

#[test]
fn authenticate_posts_the_strategy_and_stores_the_token_under_feathers_jwt() {
    let r = rig(|_| ok(result_body("tok-1", "local")));
    let data = json!({"strategy": "local", "email": "ann@example.com", "password": "pw"});
    let done = pollster::block_on(r.client.authenticate(&data.to_string())).unwrap();
    assert_eq!(done.result.access_token, "tok-1");
    let raw: Value = serde_json::from_str(&done.raw).unwrap();
    assert_eq!(raw["user"]["nickname"], "Ann", "the whole body reaches JavaScript");
    let sent = r.sent.borrow();
    assert_eq!(sent[0].method, "POST");
    assert_eq!(sent[0].url, "https://auth.example/authentication");
    assert_eq!(sent[0].authorization, None);
    assert_eq!(body_of(&sent[0]), data);
    assert_eq!(r.store.get("feathers-jwt").as_deref(), Some("tok-1"));
}

#[test]
fn a_failed_authenticate_rejects_with_the_servers_error() {
    let r = rig(|_| error(401, "NotAuthenticated", "Invalid login"));
    r.store.set("feathers-jwt", "old").unwrap();
    let e = pollster::block_on(r.client.authenticate(r#"{"strategy": "local"}"#)).unwrap_err();
    assert_eq!((e.name.as_str(), e.code, e.message.as_str()), ("NotAuthenticated", 401, "Invalid login"));
    assert!(e.body.unwrap().contains("\"className\""), "the whole error body is kept for JavaScript");
    assert_eq!(r.store.get("feathers-jwt"), None, "401 removes the stored token, as upstream");
}

#[test]
fn re_authenticate_sends_the_stored_token_through_the_jwt_strategy() {
    let r = rig(|req| {
        let token = serde_json::from_str::<Value>(req.body.as_deref().unwrap()).unwrap()["accessToken"].as_str().unwrap().to_string();
        ok(result_body(&token, "jwt"))
    });
    r.store.set("feathers-jwt", "stored-token").unwrap();
    let done = pollster::block_on(r.client.re_authenticate()).unwrap();
    assert_eq!(done.result.access_token, "stored-token");
    assert_eq!(body_of(&r.sent.borrow()[0]), json!({"strategy": "jwt", "accessToken": "stored-token"}));
}

#[test]
fn concurrent_re_authenticate_calls_share_one_request() {
    let r = rig(|_| ok(result_body("t", "jwt")));
    r.store.set("feathers-jwt", "t").unwrap();
    let (a, b, c) = pollster::block_on(futures_util::future::join3(
        r.client.re_authenticate(),
        r.client.re_authenticate(),
        r.client.re_authenticate(),
    ));
    assert_eq!(r.sent.borrow().len(), 1, "one request for three calls");
    assert_eq!(a.unwrap(), b.clone().unwrap());
    assert_eq!(b.unwrap(), c.unwrap());
    // Once answered, the next call asks again.
    pollster::block_on(r.client.re_authenticate()).unwrap();
    assert_eq!(r.sent.borrow().len(), 2);
}

#[test]
fn re_authenticate_without_a_token_rejects_without_asking() {
    let r = rig(|_| panic!("no request expected"));
    let e = pollster::block_on(r.client.re_authenticate()).unwrap_err();
    assert_eq!((e.name.as_str(), e.code), ("NotAuthenticated", 401));
    assert_eq!(e.message, "No accessToken found in storage");
}

#[test]
fn only_401_to_407_answers_remove_the_stored_token() {
    for (code, name, removed) in [
        (401, "NotAuthenticated", true),
        (403, "Forbidden", true),
        (404, "NotFound", true),
        (407, "GeneralError", true),
        (400, "BadRequest", false),
        (408, "Timeout", false),
        (429, "TooManyRequests", false),
        (500, "GeneralError", false),
    ] {
        let r = rig(move |_| error(code, name, "no"));
        r.store.set("feathers-jwt", "t").unwrap();
        let e = pollster::block_on(r.client.re_authenticate()).unwrap_err();
        assert_eq!(e.code, code);
        assert_eq!(r.store.get("feathers-jwt").is_none(), removed, "status {code}");
    }
}

#[test]
fn network_failures_and_non_feathers_answers_keep_the_token() {
    let r = rig(|_| Err("connection refused".into()));
    r.store.set("feathers-jwt", "t").unwrap();
    let e = pollster::block_on(r.client.re_authenticate()).unwrap_err();
    assert_eq!((e.name.as_str(), e.code), ("NetworkError", 0));
    assert!(e.message.contains("connection refused"));
    assert_eq!(r.store.get("feathers-jwt").as_deref(), Some("t"));

    let r = rig(|_| Ok(HttpResponse { status: 502, body: "<html>Bad gateway</html>".into() }));
    r.store.set("feathers-jwt", "t").unwrap();
    let e = pollster::block_on(r.client.re_authenticate()).unwrap_err();
    assert_eq!((e.name.as_str(), e.code), ("BadGateway", 502));
    assert_eq!(r.store.get("feathers-jwt").as_deref(), Some("t"));

    let r = rig(|_| Ok(HttpResponse { status: 201, body: "{\"accessToken\": 5}".into() }));
    let e = pollster::block_on(r.client.authenticate(r#"{"strategy": "local"}"#)).unwrap_err();
    assert!(e.message.contains("not an authentication result"), "{e:?}");
}

#[test]
fn logout_deletes_with_the_bearer_token_and_clears_the_store() {
    let r = rig(|_| Ok(HttpResponse { status: 200, body: result_body("t", "jwt") }));
    r.store.set("feathers-jwt", "t").unwrap();
    let done = pollster::block_on(r.client.logout()).unwrap().unwrap();
    assert_eq!(done.result.access_token, "t");
    let sent = r.sent.borrow();
    assert_eq!((sent[0].method, sent[0].url.as_str()), ("DELETE", "https://auth.example/authentication"));
    assert_eq!(sent[0].authorization.as_deref(), Some("Bearer t"));
    assert_eq!(r.store.get("feathers-jwt"), None);
}

#[test]
fn logout_of_a_dead_token_resolves_to_none_and_other_failures_reject() {
    let r = rig(|_| error(401, "NotAuthenticated", "Session has ended"));
    r.store.set("feathers-jwt", "t").unwrap();
    assert_eq!(pollster::block_on(r.client.logout()).unwrap(), None);
    assert_eq!(r.store.get("feathers-jwt"), None);

    let r = rig(|_| Err("offline".into()));
    r.store.set("feathers-jwt", "t").unwrap();
    assert_eq!(pollster::block_on(r.client.logout()).unwrap_err().name, "NetworkError");
    assert_eq!(r.store.get("feathers-jwt").as_deref(), Some("t"), "kept, to try again");

    let r = rig(|_| panic!("no request expected"));
    assert_eq!(pollster::block_on(r.client.logout()).unwrap(), None, "nothing to end");
}

#[test]
fn the_storage_key_can_be_changed() {
    let sent = Rc::new(RefCell::new(Vec::new()));
    let store = Shared::default();
    let transport = Scripted { sent, script: Box::new(|_| ok(result_body("tok", "local"))) };
    let options = Options { storage_key: "my-app-token".into(), ..Options::new("https://auth.example") };
    let client = Client::new(options, transport, store.clone());
    pollster::block_on(client.authenticate(r#"{"strategy": "local"}"#)).unwrap();
    assert_eq!(store.get("my-app-token").as_deref(), Some("tok"));
    assert_eq!(store.get("feathers-jwt"), None);
}

#[test]
fn a_token_in_the_url_fragment_is_used_when_none_is_stored() {
    let taken = Rc::new(Cell::new(0));
    let counter = Rc::clone(&taken);
    let sent = Rc::new(RefCell::new(Vec::new()));
    let transport = Scripted { sent: Rc::clone(&sent), script: Box::new(|_| ok(result_body("from-url", "jwt"))) };
    let store = Shared::default();
    let client = Client::with_fragment_source(
        Options::new("https://auth.example"),
        transport,
        store.clone(),
        // The fragment holds the token once: taking it removes it.
        Box::new(move || {
            counter.set(counter.get() + 1);
            (counter.get() == 1).then(|| FromUrl::Token("from-url".into()))
        }),
    );
    pollster::block_on(client.re_authenticate()).unwrap();
    assert_eq!(body_of(&sent.borrow()[0])["accessToken"], "from-url");
    assert_eq!(store.get("feathers-jwt").as_deref(), Some("from-url"), "stored once it worked");
    pollster::block_on(client.re_authenticate()).unwrap();
    assert_eq!(body_of(&sent.borrow()[1])["accessToken"], "from-url", "then the stored one");
    assert_eq!(taken.get(), 2);
}

/// Review attack (session fixation), which worked before its fix: a token in the URL fragment
/// won over the stored one, so a signed-in user who followed `https://app/#access_token=<the
/// attacker's>` was signed in as the attacker (and `#error=` signed them out). As Feathers'
/// client, the fragment counts only when no token is stored; it is taken out of the URL anyway.
#[test]
fn a_token_in_a_link_does_not_replace_the_stored_one() {
    let sent = Rc::new(RefCell::new(Vec::new()));
    let transport = Scripted { sent: Rc::clone(&sent), script: Box::new(|_| ok(result_body("mine", "jwt"))) };
    let store = Shared::default();
    store.set("feathers-jwt", "mine").unwrap();
    let next = Rc::new(RefCell::new(vec![Some(FromUrl::Error("planted".into())), Some(FromUrl::Token("attackers".into()))]));
    let source = Rc::clone(&next);
    let client = Client::with_fragment_source(Options::new("https://auth.example"), transport, store.clone(), Box::new(move || source.borrow_mut().pop().flatten()));
    pollster::block_on(client.re_authenticate()).unwrap();
    assert_eq!(body_of(&sent.borrow()[0])["accessToken"], "mine");
    pollster::block_on(client.re_authenticate()).unwrap();
    assert_eq!(body_of(&sent.borrow()[1])["accessToken"], "mine", "a planted refusal ends nothing");
    assert_eq!(store.get("feathers-jwt").as_deref(), Some("mine"));
    assert!(next.borrow().is_empty(), "both were taken out of the URL");
}

#[test]
fn a_sign_in_through_a_provider_replaces_the_stored_token_and_a_refusal_rejects() {
    let sent = Rc::new(RefCell::new(Vec::new()));
    let transport = Scripted { sent: Rc::clone(&sent), script: Box::new(|_| ok(result_body("fresh", "jwt"))) };
    let store = Shared::default();
    store.set("feathers-jwt", "stale").unwrap();
    let next = Rc::new(RefCell::new(vec![Some(FromUrl::Error("Signups not allowed for this instance".into())), Some(FromUrl::Token("fresh".into()))]));
    let source = Rc::clone(&next);
    let client = Client::with_fragment_source(Options::new("https://auth.example"), transport, store.clone(), Box::new(move || source.borrow_mut().pop().flatten()));
    assert_eq!(client.start_sign_in("git hub", Some("/app?x=1")), "https://auth.example/oauth/git%20hub?redirect=%2Fapp%3Fx%3D1");
    assert_eq!(store.get("feathers-jwt"), None, "the sign-in it starts replaces the stored token");
    pollster::block_on(client.re_authenticate()).unwrap();
    assert_eq!(body_of(&sent.borrow()[0])["accessToken"], "fresh");
    client.start_sign_in("github", None);
    let refused = pollster::block_on(client.re_authenticate()).unwrap_err();
    assert_eq!((refused.name.as_str(), refused.code, refused.message.as_str()), ("OauthError", 401, "Signups not allowed for this instance"));
    assert_eq!(store.get("feathers-jwt"), None, "a refused sign-in keeps no token");
    assert_eq!(sent.borrow().len(), 1, "nothing sent for a refusal");
    assert_eq!(client.sign_in_url("git hub", Some("/app?x=1")), "https://auth.example/oauth/git%20hub?redirect=%2Fapp%3Fx%3D1");
}

#[test]
fn fragments_lose_just_the_token_parameter() {
    assert_eq!(take_from_fragment("#access_token=abc", "access_token"), Some(("abc".into(), "#".into())));
    assert_eq!(take_from_fragment("#x=1&access_token=abc&y=2", "access_token"), Some(("abc".into(), "#x=1&y=2".into())));
    assert_eq!(take_from_fragment("#x=1", "access_token"), None);
    assert_eq!(take_from_fragment("#access_token=", "access_token"), None);
    assert_eq!(take_from_fragment("#x_access_token=evil", "access_token"), None, "another parameter's name");
    assert_eq!(take_from_fragment("#x_access_token=evil&access_token=abc", "access_token"), Some(("abc".into(), "#x_access_token=evil".into())));
    assert_eq!(take_from_fragment("access_token=abc", "access_token"), Some(("abc".into(), "".into())));
}

/// An authenticator that records the ceremonies it was given and answers with a fixed
/// credential, or refuses as a browser whose user cancelled.
#[derive(Default)]
struct FakeKey {
    seen: RefCell<Vec<(&'static str, Value)>>,
    cancel: bool,
}

impl Authenticator for FakeKey {
    async fn get(&self, ceremony: &str) -> Result<String, ClientError> {
        self.seen.borrow_mut().push(("get", serde_json::from_str(ceremony).unwrap()));
        match self.cancel {
            true => Err(ClientError { name: "NotAllowedError".into(), code: 0, message: "cancelled".into(), class_name: None, body: None }),
            false => Ok(json!({"id": "cred", "rawId": "cred", "type": "public-key", "response": {"signature": "c2ln"}}).to_string()),
        }
    }
    async fn create(&self, ceremony: &str) -> Result<String, ClientError> {
        self.seen.borrow_mut().push(("create", serde_json::from_str(ceremony).unwrap()));
        Ok(json!({"id": "new", "rawId": "new", "type": "public-key", "response": {"attestationObject": "bw"}}).to_string())
    }
}

fn ceremony(id: &str) -> Result<HttpResponse, String> {
    ok(json!({"challengeId": id, "publicKey": {"challenge": "Y2g", "rpId": "auth.example"}, "expiresAt": "2026-12-06T08:00:00Z"}).to_string())
}

#[test]
fn sign_in_with_passkey_answers_the_servers_ceremony_through_the_passkey_strategy() {
    let r = rig(|req| match req.url.as_str() {
        "https://auth.example/passkey-challenges" => ceremony("c-1"),
        _ => ok(result_body("tok-pk", "passkey")),
    });
    let key = FakeKey::default();
    let done = pollster::block_on(r.client.sign_in_with_passkey(&key)).unwrap();
    assert_eq!(done.result.access_token, "tok-pk");
    assert_eq!(r.store.get("feathers-jwt").as_deref(), Some("tok-pk"));
    let sent = r.sent.borrow();
    assert_eq!((sent[0].method, sent[0].url.as_str(), sent[0].authorization.as_deref()), ("POST", "https://auth.example/passkey-challenges", None));
    assert_eq!(body_of(&sent[0]), json!({}));
    assert_eq!(key.seen.borrow()[0].0, "get");
    assert_eq!(key.seen.borrow()[0].1["publicKey"]["challenge"], "Y2g", "the authenticator gets the whole ceremony");
    assert_eq!(sent[1].url, "https://auth.example/authentication");
    assert_eq!(
        body_of(&sent[1]),
        json!({"strategy": "passkey", "challengeId": "c-1", "credential": {"id": "cred", "rawId": "cred", "type": "public-key", "response": {"signature": "c2ln"}}})
    );
}

#[test]
fn a_security_key_takes_the_second_step_through_the_webauthn_strategy() {
    let r = rig(|req| match req.url.as_str() {
        "https://auth.example/second-factor-challenges" => ceremony("c-2"),
        _ => ok(result_body("tok-key", "webauthn")),
    });
    let key = FakeKey::default();
    let done = pollster::block_on(r.client.second_step_with_key("ticket \"1\"", Some("f-1"), &key)).unwrap();
    assert_eq!(done.result.access_token, "tok-key");
    assert_eq!(r.store.get("feathers-jwt").as_deref(), Some("tok-key"));
    let sent = r.sent.borrow();
    assert_eq!((sent[0].url.as_str(), sent[0].authorization.as_deref()), ("https://auth.example/second-factor-challenges", None));
    assert_eq!(body_of(&sent[0]), json!({"ticket": "ticket \"1\"", "factorId": "f-1"}));
    assert_eq!(key.seen.borrow()[0].0, "get");
    assert_eq!(
        body_of(&sent[1]),
        json!({"strategy": "webauthn", "ticket": "ticket \"1\"", "factorId": "f-1", "challengeId": "c-2",
               "credential": {"id": "cred", "rawId": "cred", "type": "public-key", "response": {"signature": "c2ln"}}})
    );
    drop(sent);
    let r = rig(|_| error(401, "NotAuthenticated", "Invalid or expired ticket; sign in again"));
    let e = pollster::block_on(r.client.second_step_with_key("old", None, &FakeKey::default())).unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (401, "Invalid or expired ticket; sign in again"));
    assert_eq!(body_of(&r.sent.borrow()[0]), json!({"ticket": "old"}));
}

#[test]
fn a_cancelled_passkey_ceremony_rejects_with_the_browsers_error_and_keeps_the_token() {
    let r = rig(|_| ceremony("c-1"));
    r.store.set("feathers-jwt", "kept").unwrap();
    let key = FakeKey { cancel: true, ..FakeKey::default() };
    let e = pollster::block_on(r.client.sign_in_with_passkey(&key)).unwrap_err();
    assert_eq!((e.name.as_str(), e.code), ("NotAllowedError", 0));
    assert_eq!(r.sent.borrow().len(), 1, "nothing is sent without a credential");
    assert_eq!(r.store.get("feathers-jwt").as_deref(), Some("kept"));
}

#[test]
fn a_refused_passkey_sign_in_rejects_with_the_servers_error() {
    let r = rig(|req| match req.url.as_str() {
        "https://auth.example/passkey-challenges" => ceremony("c-1"),
        _ => error(401, "NotAuthenticated", "Invalid login"),
    });
    let e = pollster::block_on(r.client.sign_in_with_passkey(&FakeKey::default())).unwrap_err();
    assert_eq!((e.name.as_str(), e.code, e.message.as_str()), ("NotAuthenticated", 401, "Invalid login"));
    let r = rig(|_| error(404, "NotFound", "Passkeys are disabled"));
    let e = pollster::block_on(r.client.sign_in_with_passkey(&FakeKey::default())).unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (404, "Passkeys are disabled"));
    let r = rig(|_| ok("{\"nothing\": 1}".into()));
    assert_eq!(pollster::block_on(r.client.sign_in_with_passkey(&FakeKey::default())).unwrap_err().code, 502);
}

#[test]
fn register_passkey_uses_the_stored_token_for_both_requests() {
    let r = rig(|req| match req.url.as_str() {
        "https://auth.example/passkey-registrations" => ceremony("c-2"),
        _ => ok(json!({"id": "p-1", "name": "Passkey", "createdAt": "2026-12-06T08:00:00Z", "lastUsedAt": null}).to_string()),
    });
    let key = FakeKey::default();
    let e = pollster::block_on(r.client.register_passkey(&key)).unwrap_err();
    assert_eq!((e.name.as_str(), e.code), ("NotAuthenticated", 401), "signed out");
    assert!(r.sent.borrow().is_empty());

    r.store.set("feathers-jwt", "tok").unwrap();
    let passkey: Value = serde_json::from_str(&pollster::block_on(r.client.register_passkey(&key)).unwrap()).unwrap();
    assert_eq!(passkey["id"], "p-1");
    let sent = r.sent.borrow();
    assert_eq!((sent[0].url.as_str(), sent[0].authorization.as_deref()), ("https://auth.example/passkey-registrations", Some("Bearer tok")));
    assert_eq!(key.seen.borrow()[0].0, "create");
    assert_eq!((sent[1].url.as_str(), sent[1].authorization.as_deref()), ("https://auth.example/passkey-credentials", Some("Bearer tok")));
    assert_eq!(body_of(&sent[1]), json!({"challengeId": "c-2", "credential": {"id": "new", "rawId": "new", "type": "public-key", "response": {"attestationObject": "bw"}}}));
    assert_eq!(r.store.get("feathers-jwt").as_deref(), Some("tok"));
}
