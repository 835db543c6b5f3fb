//! Attacks on account integrity that a review found after its second round: each test is the
//! attack, asserting what a user must see; each failed before its fix. A change a stranger's
//! session asked for before the owner's first proof, one budget per account however it is
//! named, the requester's words shown as theirs, the same cost for every address.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::testing::{TestPorts, BEFORE_CALL};
use portcullis_shared::App;
use serde_json::{json, Value};
use std::cell::RefCell;
use support::*;

fn from(app: &App<TestPorts>, client: &str, path: &str, body: &Value) -> Reply {
    send(app, request("POST", path, body.to_string().as_bytes(), &[API_VERSION, JSON, ("cf-connecting-ip", client)]))
}

/// Claim 1/4: a change a session asked for must not outlive the mailbox owner's first proof.
///
/// A stranger's anonymous account asks for the victim's address; the victim confirms it (the
/// first proof: the stranger's sessions end, the victim is signed in and sets a password). A
/// `PUT /user {email, password}` the stranger sent through the old session just before is
/// still hashing when the proof lands: its password write is refused (401), but the email
/// change it queued before hashing is stored after the answer anyway (the outbox is delivered
/// whatever the answer), unconditionally, after `first_proof` deleted the session's email-change
/// codes. It is a lone new-address code (the account had no address when it was asked for, so
/// no current-address half, even with secure email change on), and it moves the now verified
/// account to the stranger's address and signs the stranger in.
#[test]
fn an_email_change_asked_through_a_session_before_the_first_proof_does_not_outlive_it() {
    let app: &'static App<TestPorts> = Box::leak(Box::new(app_with(&[("EXTERNAL_ANONYMOUS_USERS_ENABLED", "true")])));
    let anon = post(app, "/signup", &json!({}));
    assert_eq!(anon.status, 200, "{}", anon.raw);
    let stranger = s(&anon.body, "access_token");
    assert_eq!(put(app, "/user", &stranger, &json!({"email": "victim@example.com"})).status, 200);
    let code = code_for(app, "victim@example.com");

    // The victim confirms while the stranger's next request is hashing its password.
    let proved: &'static RefCell<Option<Reply>> = Box::leak(Box::new(RefCell::new(None)));
    BEFORE_CALL.with(|h| {
        *h.borrow_mut() = Some(("set_password_hash", Box::new(move || {
            let v = post(app, "/verify", &json!({"type": "email_change", "email": "victim@example.com", "token": code}));
            *proved.borrow_mut() = Some(v);
        })))
    });
    let late = put(app, "/user", &stranger, &json!({"email": "mallory@evil.test", "password": "stranger pass 1"}));
    let v = proved.borrow_mut().take().expect("the owner's proof ran in the middle");
    assert_eq!(v.status, 200, "{}", v.raw);
    assert_eq!(v.body["user"]["email"], "victim@example.com");
    assert_eq!(error_code(&late), "session_not_found", "the change through the ended session is refused: {}", late.raw);

    // The account is the victim's now: she sets her password and uses it.
    let owner = s(&v.body, "access_token");
    assert_eq!(put(app, "/user", &owner, &json!({"password": "victim pass 1"})).status, 200);
    assert_eq!(login(app, "victim@example.com", "victim pass 1").status, 200);

    // Yet the refused request's email-change code may have reached the stranger's mailbox:
    // if it did, it must not move the verified account.
    if mails_to(app, "mallory@evil.test") == 0 {
        return;
    }
    let late_code = code_for(app, "mallory@evil.test");
    let taken = post(app, "/verify", &json!({"type": "email_change", "email": "mallory@evil.test", "token": late_code}));
    let now = get(app, "/user", Some(&owner));
    assert!(
        taken.status != 200 && now.body["email"] == "victim@example.com",
        "the stranger's code from before the proof moved the verified account to the stranger and signed them in \
         (verify answered {}; the account's address is now {})",
        taken.status, now.body["email"]
    );
}

/// The same without any hashing to widen the window: the worker answers `PUT /user {email}`
/// and stores the email-change code afterwards (`ctx.waitUntil`, `Auth::deliver`), with no
/// condition on the session that asked. A first proof that lands between the answer and that
/// write leaves the stranger a code that moves the verified account.
#[test]
fn an_email_change_stored_after_its_answer_does_not_outlive_a_first_proof_in_between() {
    let app = app_with(&[("EXTERNAL_ANONYMOUS_USERS_ENABLED", "true")]);
    let stranger = s(&post(&app, "/signup", &json!({})).body, "access_token");
    assert_eq!(put(&app, "/user", &stranger, &json!({"email": "victim@example.com"})).status, 200);
    let code = code_for(&app, "victim@example.com");
    // Answered, its outbox not yet delivered (the worker's waitUntil).
    let auth = format!("Bearer {stranger}");
    let body = json!({"email": "mallory@evil.test"}).to_string();
    let answer = pollster::block_on(app.handle(request("PUT", "/user", body.as_bytes(), &[API_VERSION, JSON, ("authorization", auth.as_str())])));
    assert_eq!(answer.response.status(), 200);
    let v = post(&app, "/verify", &json!({"type": "email_change", "email": "victim@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    let owner = s(&v.body, "access_token");
    assert_eq!(put(&app, "/user", &owner, &json!({"password": "victim pass 1"})).status, 200);
    pollster::block_on(app.deliver(answer.outbox));
    if mails_to(&app, "mallory@evil.test") == 0 {
        return;
    }
    let late_code = code_for(&app, "mallory@evil.test");
    let taken = post(&app, "/verify", &json!({"type": "email_change", "email": "mallory@evil.test", "token": late_code}));
    let now = get(&app, "/user", Some(&owner));
    assert!(
        taken.status != 200 && now.body["email"] == "victim@example.com",
        "a code stored after the first proof moved the verified account to the stranger (verify answered {}; the \
         account's address is now {})",
        taken.status, now.body["email"]
    );
}

/// `tokenAuth` through graphql-jwt, from `client`; the error message, or "ok".
fn token_auth(app: &App<TestPorts>, client: &str, username: &str, password: &str) -> String {
    let q = json!({"query": format!("mutation {{ tokenAuth(username: {username:?}, password: {password:?}) {{ token }} }}")});
    let r = from(app, client, "/graphql", &q);
    r.body["errors"][0]["message"].as_str().map_or_else(|| "ok".to_string(), str::to_string)
}

/// Password guesses of one account across clients are bounded by `LOGIN_MAX_PER_ACCOUNT` per
/// name the account is signed in by. graphql-jwt's `tokenAuth` takes a username or an address,
/// and each name has its budget: one budget for both would tell a guesser which address a
/// username has (`attacks3.rs`), which the passwordless API hides. So an account with both (a
/// passwordless account with a confirmed address and a password, set here through recovery)
/// takes at most twice the bound, and no more, from any number of clients.
#[test]
fn an_accounts_guessing_budget_is_bounded_however_it_is_named() {
    let app = app_with(&[("LOGIN_MAX_PER_ACCOUNT", "3")]);
    // Ada's passwordless account, with her address confirmed, and a password she set.
    let r = send(&app, request("POST", "/auth/registration", json!({"username": "ada", "email": "ada@example.com", "session_platform": "Laptop"}).to_string().as_bytes(), &[JSON]));
    assert_eq!(r.status, 200, "{}", r.raw);
    let mail = sent_mails(&app).into_iter().rev().find(|m| m.to == "ada@example.com").unwrap();
    let at = mail.text.find("/auth/email/confirm?token=").unwrap() + "/auth/email/confirm?token=".len();
    let link = mail.text[at..].split_whitespace().next().unwrap().to_string();
    assert_eq!(send(&app, request("POST", "/auth/email/confirm", format!("token={link}").as_bytes(), &[FORM])).status, 200);
    assert_eq!(post(&app, "/recover", &json!({"email": "ada@example.com"})).status, 200);
    let code = code_for(&app, "ada@example.com");
    let v = post(&app, "/verify", &json!({"type": "recovery", "email": "ada@example.com", "token": code}));
    assert_eq!(v.status, 200, "{}", v.raw);
    assert_eq!(put(&app, "/user", &s(&v.body, "access_token"), &json!({"password": "ada pass 1"})).status, 200);
    assert_eq!(token_auth(&app, "192.0.2.200", "ada", "ada pass 1"), "ok");

    // A guesser with many addresses: the account's budget by its username...
    for i in 0..3 {
        assert_eq!(token_auth(&app, &format!("198.51.100.{i}"), "ada", &format!("guess {i}")), "Please enter valid credentials");
    }
    assert_eq!(token_auth(&app, "198.51.100.50", "ada", "guess x"), "Too many attempts; try again later");
    // ...and by its address, through every dialect that takes one, together.
    let mut guesses = 3;
    for i in 0..6 {
        let client = format!("203.0.113.{i}");
        let checked = match i % 2 {
            0 => token_auth(&app, &client, "ada@example.com", &format!("guess {}", i + 3)) == "Please enter valid credentials",
            _ => error_code(&from(&app, &client, "/token?grant_type=password", &json!({"email": "ada@example.com", "password": format!("guess {}", i + 3)}))) == "invalid_credentials",
        };
        guesses += usize::from(checked);
    }
    assert_eq!(guesses, 6, "LOGIN_MAX_PER_ACCOUNT is 3 and the account has two names, yet {guesses} passwords were checked");
}

/// Claim 5: the requester's platform text is quoted as theirs, bounded and without invisible
/// characters. So it is in the mail; the page the mail's link opens, where the owner decides,
/// still makes it the subject of the site's own sentence ("<platform> asks to sign in as
/// ada") with the right-to-left override and the other invisible characters intact.
#[test]
fn the_sign_in_page_shows_the_platform_as_the_requesters_words_too() {
    let app = app();
    let r = send(&app, request("POST", "/auth/registration", json!({"username": "ada", "email": "ada@example.com", "session_platform": "Laptop"}).to_string().as_bytes(), &[JSON]));
    assert_eq!(r.status, 200, "{}", r.raw);
    let link_of = |path: &str| {
        let mail = sent_mails(&app).into_iter().rev().find(|m| m.to == "ada@example.com").unwrap();
        let at = mail.text.find(path).unwrap() + path.len();
        mail.text[at..].split_whitespace().next().unwrap().to_string()
    };
    let confirm = link_of("/auth/email/confirm?token=");
    assert_eq!(send(&app, request("POST", "/auth/email/confirm", format!("token={confirm}").as_bytes(), &[FORM])).status, 200);
    // A stranger who knows the name and address asks, in words of their choosing.
    let platform = "Portcullis security check\u{200b}: \u{202e}wolla";
    let body = json!({"username": "ada", "email": "ada@example.com", "session_platform": platform});
    let asked = send(&app, request("POST", "/auth/login", body.to_string().as_bytes(), &[JSON]));
    assert_eq!(asked.status, 200, "{}", asked.raw);
    let link = link_of("/auth/confirm?token=");
    let page = send(&app, request("GET", &format!("/auth/confirm?token={link}"), b"", &[]));
    assert_eq!(page.status, 200);
    assert!(
        !page.raw.contains('\u{202e}') && !page.raw.contains('\u{200b}'),
        "the page shows the requester's invisible characters (right-to-left override, zero-width space) as they sent them"
    );
    assert!(
        !page.raw.contains("wolla</span> asks to sign in as"),
        "the page makes the requester's words the subject of its own sentence: {}",
        page.raw.split("<body>").nth(1).unwrap_or_default()
    );
}

/// Claim 3 (no existence oracle): `/resend` answers alike whether or not the address has an
/// account. With `type: email_change`, an address whose account has a change pending costs the
/// client two throttled actions (the current address's claim, then the new address's, each
/// taking a unit of `client:<client>`), any other address one; and the second claim's refusal
/// is not swallowed. A client one unit short of its budget gets 429 for a registered address
/// and 200 for any other.
#[test]
fn resending_an_email_change_costs_the_same_for_every_address() {
    // Setting up (from the client `unknown`) takes 4 of its units; each probe has its own client.
    let app = app_with(&[("CLIENT_MAX_ATTEMPTS", "5")]);
    let ann = confirmed_user(&app, "ann@example.com", "ann pass 1");
    assert_eq!(put(&app, "/user", &s(&ann, "access_token"), &json!({"email": "ann.new@example.com"})).status, 200);
    ports(&app).clock.advance_secs(61);
    let probe = |client: &str, address: &str| {
        // Four throttled actions about nobody, then the probe.
        for i in 0..4 {
            assert_eq!(from(&app, client, "/recover", &json!({"email": format!("nobody{i}.{client}@example.net")})).status, 200);
        }
        from(&app, client, "/resend", &json!({"type": "email_change", "email": address})).status.as_u16()
    };
    let registered = probe("198.51.100.1", "ann@example.com");
    let new = probe("198.51.100.2", "zed@example.com");
    assert_eq!(registered, new, "/resend answers {registered} for an address with an account and {new} for one without");
}

/// Claim 1: the first proof of the mailbox is one step, so a change a stranger's session asks
/// for lands wholly before it (and is undone) or not at all. The service role's confirmation
/// (`PUT /admin/users/:id {email_confirm: true}`) is a first proof too, but not that step: it
/// clears the password, confirms the address, writes the metadata it was given, and only then
/// ends the sessions, in separate writes. A stranger's password change (Feathers `PATCH
/// /users/:id`, conditional only on the session being live) that lands in between survives on
/// the verified account.
#[test]
fn a_password_change_landing_inside_the_service_roles_confirmation_does_not_survive_it() {
    use portcullis_shared::model::Timestamp;
    use portcullis_shared::token::JwtKeys;
    let app: &'static App<TestPorts> = Box::leak(Box::new(app()));
    let r = call(app, "POST", "/users", &json!({"email": "victim@example.com", "password": "attacker pass"}), None);
    assert_eq!(r.status, 201, "{}", r.raw);
    let id = r.body["id"].as_str().unwrap().to_string();
    let f = call(app, "POST", "/authentication", &json!({"strategy": "local", "email": "victim@example.com", "password": "attacker pass"}), None);
    let stranger = s(&f.body, "accessToken");
    let now = Timestamp(1_700_000_000_000);
    let key = JwtKeys::new(&app.auth().config().jwt_secret, 0)
        .sign(json!({"iss": "supabase", "role": "service_role"}), now, now.plus_secs(3600), None)
        .unwrap();
    let patched: &'static RefCell<Option<Reply>> = Box::leak(Box::new(RefCell::new(None)));
    let path = format!("/users/{id}");
    BEFORE_CALL.with(|h| {
        *h.borrow_mut() = Some(("set_metadata", Box::new(move || {
            let p = call(app, "PATCH", &path, &json!({"password": "stranger new pass"}), Some(&stranger));
            *patched.borrow_mut() = Some(p);
        })))
    });
    // Support confirms the owner's address (and notes it in her metadata).
    let confirmed = call(app, "PUT", &format!("/admin/users/{id}"), &json!({"email_confirm": true, "user_metadata": {"verified_by": "support"}}), Some(&key));
    assert_eq!(confirmed.status, 200, "{}", confirmed.raw);
    assert!(confirmed.body["email_confirmed_at"].is_string());
    let p = patched.borrow_mut().take().expect("the stranger's change ran inside the confirmation");
    let l = login(app, "victim@example.com", "stranger new pass");
    assert_eq!(
        error_code(&l),
        "invalid_credentials",
        "the verified account took the password the stranger's session set during the confirmation (PATCH answered {}; sign-in answered {})",
        p.status,
        l.status
    );
}
