//! Requests that interleave: another request landing between two store calls of one flow,
//! and two mail queues (two isolates, or two requests in one) running at once. Each test is an
//! attack that worked before its fix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::model::Mail;
use portcullis_shared::ports::{MailError, Mailer, Ports};
use portcullis_shared::testing::{FixedClock, MemoryStore, RustCryptoSignatures, ScriptedHttp, SeededRng, TestPorts, BEFORE_CALL};
use portcullis_shared::app::Answer;
use portcullis_shared::flows::Outbox;
use portcullis_shared::App;
use http::StatusCode;
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use support::*;

fn feathers_local(app: &App<TestPorts>, email: &str, password: &str) -> Reply {
    call(app, "POST", "/authentication", &json!({"strategy": "local", "email": email, "password": password}), None)
}

/// A stranger's sign-in that stores its session while the owner's first proof of the mailbox
/// is under way (here: just before the password is cleared) does not survive the proof.
#[test]
fn a_sign_in_landing_during_the_first_proof_does_not_survive_it() {
    let app: &'static App<TestPorts> = Box::leak(Box::new(app()));
    let r = call(app, "POST", "/users", &json!({"email": "victim@example.com", "password": "attacker pass"}), None);
    assert_eq!(r.status, 201, "{}", r.raw);
    assert_eq!(post(app, "/otp", &json!({"email": "victim@example.com"})).status, 200);
    let code = code_for(app, "victim@example.com");
    let stolen: &'static RefCell<Option<String>> = Box::leak(Box::new(RefCell::new(None)));
    BEFORE_CALL.with(|h| {
        *h.borrow_mut() = Some(("first_proof", Box::new(move || {
            let f = feathers_local(app, "victim@example.com", "attacker pass");
            assert_eq!(f.status, 201, "{}", f.raw);
            *stolen.borrow_mut() = Some(s(&f.body, "accessToken"));
        })))
    });
    let v = post(app, "/verify", &json!({"type": "email", "email": "victim@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    assert!(v.body["user"]["email_confirmed_at"].is_string());
    let token = stolen.borrow().clone().expect("the hook ran");
    let c = check(app, &token);
    assert_eq!(c.body["error"], "session ended", "the stranger's session lives on the verified account: {}", c.raw);
}

/// A stranger registers the owner's address through Feathers, signs in (unverified, as
/// upstream allows) and changes the password. The change checks the session, hashes, and lands
/// only after the owner's first proof of the mailbox has ended that session: it must not land,
/// or the verified account would hold the stranger's password.
#[test]
fn a_password_change_in_flight_does_not_outlive_the_first_proof() {
    let app: &'static App<TestPorts> = Box::leak(Box::new(app()));
    let r = call(app, "POST", "/users", &json!({"email": "victim@example.com", "password": "attacker pass"}), None);
    assert_eq!(r.status, 201, "{}", r.raw);
    let id = r.body["id"].as_str().unwrap().to_string();
    let f = feathers_local(app, "victim@example.com", "attacker pass");
    let token = s(&f.body, "accessToken");
    assert_eq!(post(app, "/otp", &json!({"email": "victim@example.com"})).status, 200);
    let code = code_for(app, "victim@example.com");
    let proved: &'static RefCell<Option<Reply>> = Box::leak(Box::new(RefCell::new(None)));
    BEFORE_CALL.with(|h| {
        *h.borrow_mut() = Some(("set_password_hash", Box::new(move || {
            let v = post(app, "/verify", &json!({"type": "email", "email": "victim@example.com", "token": code}));
            *proved.borrow_mut() = Some(v);
        })))
    });
    let patch = call(app, "PATCH", &format!("/users/{id}"), &json!({"password": "stranger new pass"}), Some(&token));
    let v = proved.borrow_mut().take().expect("the owner's proof ran in the middle");
    assert_eq!(v.status, 200, "{}", v.raw);
    assert_eq!(patch.status, 401, "the change through the ended session: {}", patch.raw);
    for password in ["stranger new pass", "attacker pass"] {
        let l = login(app, "victim@example.com", password);
        assert_eq!(error_code(&l), "invalid_credentials", "the verified account took {password:?}: {}", l.raw);
    }
    // The owner, signed in by the proof, sets her own.
    let owner = s(&v.body, "access_token");
    assert_eq!(put(app, "/user", &owner, &json!({"password": "owner pass 1"})).status, 200);
    assert_eq!(login(app, "victim@example.com", "owner pass 1").status, 200);
}

// Two mail queues at once: PUT /user and POST /resend each issue a pair of email change codes
// and their queues interleave at await points (a mailer that yields). Pairs are stored whole and
// a new-address code moves the account only with its own pair's other half used.
struct SlowMailer {
    sent: &'static RefCell<Vec<Mail>>,
    yields: Cell<usize>,
}

struct YieldOnce(bool);
impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Mailer for SlowMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        for _ in 0..self.yields.get() {
            YieldOnce(false).await;
        }
        self.sent.borrow_mut().push(mail.clone());
        Ok(())
    }
}

struct Shared {
    store: &'static MemoryStore,
    clock: &'static FixedClock,
    rng: SeededRng,
    mailer: SlowMailer,
    http: ScriptedHttp,
}

impl Ports for Shared {
    type Store = MemoryStore;
    type Mailer = SlowMailer;
    type Clock = FixedClock;
    type Rng = SeededRng;
    type Http = ScriptedHttp;
    type Signatures = RustCryptoSignatures;
    fn http(&self) -> &ScriptedHttp {
        &self.http
    }
    fn signatures(&self) -> &RustCryptoSignatures {
        &RustCryptoSignatures
    }
    fn store(&self) -> &MemoryStore {
        self.store
    }
    fn mailer(&self) -> &SlowMailer {
        &self.mailer
    }
    fn clock(&self) -> &FixedClock {
        self.clock
    }
    fn rng(&self) -> &SeededRng {
        &self.rng
    }
    fn log_error(&self, _: &str, detail: &str) {
        panic!("unexpected internal error: {detail}");
    }
}

/// The answer's body, and the outbox it left (not delivered yet).
fn answer(app: &App<Shared>, method: &str, path: &str, body: &Value, bearer: Option<&str>) -> (Value, Outbox) {
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json"), API_VERSION];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    let Answer { response: res, outbox } = pollster::block_on(app.handle(request(method, path, body.to_string().as_bytes(), &headers)));
    assert!(res.status().is_success(), "{method} {path}: {}", String::from_utf8_lossy(res.body()));
    (serde_json::from_slice(res.body()).unwrap_or(Value::Null), outbox)
}

fn code_in(sent: &RefCell<Vec<Mail>>, to: &str) -> String {
    let mail = sent.borrow().iter().rev().find(|m| m.to == to).cloned().expect("a mail");
    let at = mail.text.find("code is: ").unwrap() + "code is: ".len();
    mail.text[at..at + 6].to_string()
}

#[test]
fn two_concurrent_email_change_pairs_never_let_a_new_address_code_alone_move_the_account() {
    let store: &'static MemoryStore = Box::leak(Box::default());
    let clock: &'static FixedClock = Box::leak(Box::new(FixedClock::at(1_700_000_000_000)));
    let sent: &'static RefCell<Vec<Mail>> = Box::leak(Box::default());
    let mk = |seed, yields| {
        let ports = Shared { store, clock, rng: SeededRng::new(seed), mailer: SlowMailer { sent, yields: Cell::new(yields) }, http: ScriptedHttp::default() };
        // No send limit, so both requests issue their pair within the same minute.
        App::new(ports, config_with(&[("SMTP_MAX_FREQUENCY", "0")])).unwrap()
    };
    let (a, b) = (mk(1, 3), mk(2, 1));
    let settle = |app: &App<Shared>, (body, outbox): (Value, Outbox)| {
        pollster::block_on(app.deliver(outbox));
        body
    };
    // The victim's account; the attacker holds a stolen session (younger than a day or not:
    // secure email change asks no re-authentication).
    settle(&a, answer(&a, "POST", "/signup", &json!({"email": "victim@example.com", "password": "victim pass"}), None));
    let code = code_in(sent, "victim@example.com");
    let session = settle(&a, answer(&a, "POST", "/verify", &json!({"type": "signup", "email": "victim@example.com", "token": code}), None));
    let stolen = s(&session, "access_token");
    // A first change request, so that a change is pending for /resend.
    settle(&a, answer(&a, "PUT", "/user", &json!({"email": "a0@attacker.test"}), Some(&stolen)));
    clock.advance_secs(61);
    // Sent together: their answers go out, then both outboxes are delivered concurrently.
    let (_, out_a) = answer(&a, "PUT", "/user", &json!({"email": "a1@attacker.test"}), Some(&stolen));
    clock.advance_ms(5);
    let (_, out_b) = answer(&b, "POST", "/resend", &json!({"type": "email_change", "email": "victim@example.com"}), None);
    let (mut qa, mut qb) = (pin!(a.deliver(out_a)), pin!(b.deliver(out_b)));
    let (mut da, mut db) = (false, false);
    pollster::block_on(std::future::poll_fn(|cx| {
        if !da {
            da = qa.as_mut().poll(cx).is_ready();
        }
        if !db {
            db = qb.as_mut().poll(cx).is_ready();
        }
        if da && db { Poll::Ready(()) } else { Poll::Pending }
    }));
    // The attacker uses the newest code in the a0 mailbox, nothing from the victim's.
    let code = code_in(sent, "a0@attacker.test");
    let v = settle(&b, answer(&b, "POST", "/verify", &json!({"type": "email_change", "email": "a0@attacker.test", "token": code}), None));
    let now = settle(&b, answer(&b, "GET", "/user", &Value::Null, Some(&stolen)));
    assert_eq!(now["email"], "victim@example.com", "moved without the current address: verify said {v}");
}

/// Two requests from two clients, answered by one app at once, each paused at every budget
/// it takes so that the other runs in between: each request's throttle keys name its own
/// client, and each one's mail comes back in its own outbox.
#[test]
fn two_interleaved_requests_never_mix_throttle_keys_or_mail() {
    let app = app();
    ports(&app).store.pause_at_budgets(true);
    let recover = |client: &str, email: &str| {
        request("POST", "/recover", json!({ "email": email }).to_string().as_bytes(), &[API_VERSION, JSON, ("cf-connecting-ip", client)])
    };
    // Both addresses have accounts, so both requests mail.
    for email in ["ann@example.com", "bob@example.com"] {
        ports(&app).store.pause_at_budgets(false);
        assert_eq!(signup(&app, email, "correct horse").status, 200);
        ports(&app).store.pause_at_budgets(true);
    }
    let (mut a, mut b) = (pin!(app.handle(recover("198.51.100.1", "ann@example.com"))), pin!(app.handle(recover("203.0.113.2", "bob@example.com"))));
    let (mut answer_a, mut answer_b) = (None, None);
    let mut turns = 0;
    pollster::block_on(std::future::poll_fn(|cx| {
        turns += 1;
        if answer_a.is_none() {
            if let Poll::Ready(x) = a.as_mut().poll(cx) {
                answer_a = Some(x);
            }
        }
        if answer_b.is_none() {
            if let Poll::Ready(x) = b.as_mut().poll(cx) {
                answer_b = Some(x);
            }
        }
        if answer_a.is_some() && answer_b.is_some() { Poll::Ready(()) } else { Poll::Pending }
    }));
    assert!(turns > 2, "the requests did not interleave ({turns} turns)");
    let (a, b) = (answer_a.unwrap(), answer_b.unwrap());
    assert_eq!((a.response.status(), b.response.status()), (StatusCode::OK, StatusCode::OK));
    assert_eq!(a.outbox.recipients(), ["ann@example.com"], "client A's outbox");
    assert_eq!(b.outbox.recipients(), ["bob@example.com"], "client B's outbox");
    let store = &ports(&app).store;
    assert_eq!(store.budget_used("client:198.51.100.1"), 1);
    assert_eq!(store.budget_used("client:203.0.113.2"), 1);
    assert_eq!(store.budget_used("mail:ann@example.com:198.51.100.1"), 1);
    assert_eq!(store.budget_used("mail:bob@example.com:203.0.113.2"), 1);
    assert_eq!(store.budget_used("mail:ann@example.com:203.0.113.2"), 0, "B's client charged for A's mail");
    assert_eq!(store.budget_used("mail:bob@example.com:198.51.100.1"), 0, "A's client charged for B's mail");
}
