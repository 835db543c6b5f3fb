//! Attacks on account integrity that two reviews found after its second round: each test is
//! the attack, asserting what a user must see; each failed before its fix. A change a
//! stranger's session asked for before the owner's first proof, a bounded budget per account
//! however it is named and a throttle that does not tell which address a username has, the
//! requester's words shown as theirs without invisible characters, the same cost for every
//! address, a change that re-sends cannot keep alive.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use portcullis_shared::testing::{TestPorts, BEFORE_CALL};
use portcullis_shared::App;
use serde_json::json;
use std::cell::RefCell;
use support::*;

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
/// username has (below), which the passwordless API hides. So an account with both (a
/// passwordless account with a confirmed address and a password, set here through recovery)
/// takes at most twice the bound, and no more, from any number of clients.
#[test]
fn an_accounts_guessing_budget_is_bounded_however_it_is_named() {
    let app = app_with(&[("LOGIN_MAX_PER_ACCOUNT", "3")]);
    // Ada's passwordless account, with her address confirmed, and a password she set.
    passwordless_account(&app, "ada", "ada@example.com");
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

/// The sign-in page the owner of the passwordless account `ada` is sent to, after a stranger
/// asked to sign in as `ada` with `platform` as the request's words.
fn sign_in_page_asked_as(app: &App<TestPorts>, platform: &str) -> Reply {
    passwordless_account(app, "ada", "ada@example.com");
    let body = json!({"username": "ada", "email": "ada@example.com", "session_platform": platform});
    let asked = send(app, request("POST", "/auth/login", body.to_string().as_bytes(), &[JSON]));
    assert_eq!(asked.status, 200, "{}", asked.raw);
    let link = link_of(app, "ada@example.com", "/auth/confirm?token=");
    let page = send(app, request("GET", &format!("/auth/confirm?token={link}"), b"", &[]));
    assert_eq!(page.status, 200);
    page
}

/// Claim 5: the requester's platform text is quoted as theirs, bounded and without invisible
/// characters. So it is in the mail; the page the mail's link opens, where the owner decides,
/// still makes it the subject of the site's own sentence ("<platform> asks to sign in as
/// ada") with the right-to-left override and the other invisible characters intact.
#[test]
fn the_sign_in_page_shows_the_platform_as_the_requesters_words_too() {
    let app = app();
    // A stranger who knows the name and address asks, in words of their choosing.
    let page = sign_in_page_asked_as(&app, "Portcullis security check\u{200b}: \u{202e}wolla");
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
        .sign_blocking(json!({"iss": "supabase", "role": "service_role"}), now, now.plus_secs(3600), None)
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

/// A passwordless account `username` whose address `email` is confirmed (it has no password).
fn passwordless_account(app: &App<TestPorts>, username: &str, email: &str) {
    let body = json!({"username": username, "email": email, "session_platform": "Laptop"});
    let r = send(app, request("POST", "/auth/registration", body.to_string().as_bytes(), &[JSON]));
    assert_eq!(r.status, 200, "{}", r.raw);
    let token = link_of(app, email, "/auth/email/confirm?token=");
    let done = send(app, request("POST", "/auth/email/confirm", format!("token={token}").as_bytes(), &[FORM]));
    assert_eq!(done.status, 200, "{}", done.raw);
}

/// Fix 3 (a username spends its account's address budget) makes the login throttle an oracle
/// of which address a username has, which the passwordless API otherwise keeps secret (a
/// sign-in request "answers the same whether or not the username and address belong
/// together"). From one client, `LOGIN_MAX_PER_CLIENT` (10) `tokenAuth` guesses by the username
/// use up `login:<client>:<the account's address>`; one more guess by a candidate address from
/// the same client is then refused as throttled exactly when the candidate is the account's
/// address, and checked as usual otherwise. It needs no password on the account (the throttle
/// comes first), takes only half the account's budget (the owner notices nothing; a passwordless
/// owner has no password to be refused), and costs one request per candidate. The same works
/// the other way round (use up the budget by an address, probe usernames).
#[test]
fn the_login_throttle_does_not_tell_which_address_a_username_has() {
    let app = app();
    passwordless_account(&app, "ada", "ada@example.com");
    let probe = |client: &str, candidate: &str| {
        for i in 0..10 {
            assert_eq!(token_auth(&app, client, "ada", &format!("guess {i}")), "Please enter valid credentials");
        }
        token_auth(&app, client, candidate, "guess x")
    };
    let right = probe("198.51.100.1", "ada@example.com");
    let wrong = probe("198.51.100.2", "zed@example.com");
    assert_eq!(right, wrong, "a guess by ada's address answers {right:?}, by any other address {wrong:?}: the throttle tells whose address it is");
    // Through GoTrue's password grant too: any dialect's sign-in by address is the probe.
    let gotrue = |client: &str, candidate: &str| {
        for i in 0..10 {
            token_auth(&app, client, "ada", &format!("guess {i}"));
        }
        from(&app, client, "/token?grant_type=password", &json!({"email": candidate, "password": "guess x"})).status.as_u16()
    };
    let (right, wrong) = (gotrue("198.51.100.3", "ada@example.com"), gotrue("198.51.100.4", "zed@example.com"));
    assert_eq!(right, wrong, "GoTrue answers {right} for ada's address and {wrong} for another");
}

/// Fix 4 (the sign-in page quotes the platform "without invisible characters", as the mail
/// does): `mail::quotable` replaces control characters and a fixed list of format characters,
/// but not the other default-ignorable ones. Hangul fillers (U+115F, U+3164, U+FFA0) pass
/// `is_valid_platform` (not control, not whitespace) and render as blank space, and tag
/// characters (U+E0000..U+E007F) render as nothing while carrying a hidden ASCII text: the
/// quote on the page can look empty, or hold words the owner cannot see.
#[test]
fn the_sign_in_page_shows_no_invisible_characters_of_the_requester() {
    let app = app();
    let hidden: String = "approve".chars().map(|c| char::from_u32(0xE0000 + c as u32).unwrap()).collect();
    let page = sign_in_page_asked_as(&app, &format!("\u{3164}\u{115f}\u{ffa0}\u{e0001}{hidden}"));
    let invisible: Vec<String> = page
        .raw
        .chars()
        .filter(|c| matches!(*c as u32, 0x115f | 0x1160 | 0x3164 | 0xffa0 | 0xE0000..=0xE0FFF))
        .map(|c| format!("U+{:04X}", c as u32))
        .collect();
    assert!(invisible.is_empty(), "the page quotes the requester's invisible characters as sent: {invisible:?}");
}

/// Fix 1 (an email change is stored only while the session that asked is live) does not hold
/// for `/resend`: anyone may re-send a pending change, and the re-sent pair is stored with no
/// session condition (`send_email_change(user, None, ..)`), with a fresh expiry. So a change
/// asked through a stolen session outlives the owner's "sign out everywhere" and its own
/// `OTP_EXP`: the thief re-sends it every few minutes. Without secure email change (the
/// new-address code alone moves the account), the thief then moves the account to their
/// mailbox and is signed in, half an hour after the owner ended every session.
#[test]
fn a_change_asked_through_an_ended_session_is_not_kept_alive_by_resends() {
    let app = app_with(&[("MAILER_SECURE_EMAIL_CHANGE_ENABLED", "false")]);
    let stolen = confirmed_user(&app, "ann@example.com", "ann pass 1");
    // The thief, with Ann's fresh session, asks to move her account.
    let asked = put(&app, "/user", &s(&stolen, "access_token"), &json!({"email": "mallory@evil.test"}));
    assert_eq!(asked.status, 200, "{}", asked.raw);
    // Ann notices and signs out everywhere (and changes her password).
    let own = login(&app, "ann@example.com", "ann pass 1");
    assert_eq!(own.status, 200, "{}", own.raw);
    assert_eq!(put(&app, "/user", &s(&own.body, "access_token"), &json!({"password": "ann pass 2"})).status, 200);
    assert_eq!(post_auth(&app, "/logout?scope=global", &s(&own.body, "access_token"), &json!({})).status, 204);
    assert_eq!(get(&app, "/user", Some(&s(&stolen, "access_token"))).status.as_u16() / 100, 4, "the stolen session ended");
    // The thief keeps the change alive past its expiry with re-sends anyone may ask for.
    for _ in 0..4 {
        ports(&app).clock.advance_secs(480);
        assert_eq!(from(&app, "198.51.100.9", "/resend", &json!({"type": "email_change", "email": "ann@example.com"})).status, 200);
    }
    assert!(mails_to(&app, "mallory@evil.test") >= 1, "the change was mailed");
    let code = code_for(&app, "mallory@evil.test");
    let v = post(&app, "/verify", &json!({"type": "email_change", "email": "mallory@evil.test", "token": code}));
    let now = login(&app, "ann@example.com", "ann pass 2");
    assert!(
        v.status != 200 && now.status == 200,
        "32 minutes after Ann ended every session, the change the stolen session asked for moved her account \
         (verify answered {}: {}; Ann's sign-in answers {})",
        v.status,
        v.raw,
        now.status
    );
}
