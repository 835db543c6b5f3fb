//! The storage contract: one suite every storage backend must pass. The memory store runs it
//! natively (`cargo test`); the D1 store runs it inside workerd, in a worker built with the
//! `contract` feature for the e2e suite only (never in a deployed bundle).

use crate::model::{
    AuthMethod, Dialect, FlowState, LoginRequest, LoginState, LogoutScope, OneTimeCode, PkceChallenge, PkceMethod,
    Purpose, RefreshToken, Session, SessionToken, Timestamp, User,
};
use crate::ports::{Budgets, Codes, FlowStates, LoginRequests, SendLimits, Sessions, Store, StoreError, Users};

/// One named check of the storage contract and how it went.
pub type ContractResult = (&'static str, Result<(), String>);

macro_rules! ensure {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(format!($($msg)*));
        }
    };
}

fn err(e: StoreError) -> String {
    e.to_string()
}

/// Runs the storage contract against a backend. `nonce` makes ids and addresses unique, so the
/// suite can run repeatedly against a persistent database; `now` is the time it pretends.
pub async fn run_store_contract<S: Store>(store: &S, nonce: &str, now: Timestamp) -> Vec<ContractResult> {
    let (users, sessions, codes, limits, requests) = (store, store, store, store, store);
    let user = User {
        id: format!("contract-user-{nonce}"),
        email: Some(format!("contract-{nonce}@example.com")),
        username: Some(format!("Contract_{nonce}")),
        password_hash: Some("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into()),
        email_confirmed_at: None,
        last_sign_in_at: None,
        user_metadata: serde_json::json!({"name": "Contract", "n": 1}),
        created_at: now,
        updated_at: now,
        ..User::new(String::new(), None, serde_json::json!({}), now)
    };
    vec![
        ("users: insert then read back by email and by id", users_round_trip(users, &user).await),
        ("users: a second account with the same email is a conflict", users_conflict(users, &user, nonce).await),
        ("users: confirm and password changes are stored", users_updates(users, &user, now).await),
        ("sessions: start stores session and token and records the sign-in", sessions_start(users, sessions, &user, nonce, now).await),
        ("sessions: a start guarded by a replaced password stores nothing", sessions_start_guarded(users, sessions, &user, nonce, now).await),
        ("codes: put replaces the earlier code of the same purpose", codes_replace(codes, &user, nonce, now).await),
        ("codes: a pair is stored whole, replacing both purposes' codes; a keep can be forfeited", codes_pair(codes, &user, nonce, now).await),
        ("codes: tries are capped and counted atomically", codes_attempts(codes, &user, nonce, now).await),
        ("codes: a code is consumed once and never when expired", codes_consume(codes, &user, nonce, now).await),
        ("codes: the newest code sent to an address is found by it", codes_recipient(codes, &user, nonce, now).await),
        ("users: an address can move only to a free address", users_email_change(users, &user, nonce, now).await),
        ("sessions: rotation marks the parent once and stores one successor", sessions_rotate(sessions, nonce, now).await),
        ("sessions: logout scopes end the right sessions", sessions_revoke(users, sessions, nonce, now).await),
        ("send limits: one claim per interval, released claims free the slot", limits_claim(limits, nonce, now).await),
        ("budgets: counted per key and window, given back", budgets_take(store, nonce, now).await),
        ("sessions: token sessions are listed, touched at most once per interval", sessions_tokens(users, sessions, nonce, now).await),
        ("login requests: pages, one decision, one claim, nothing after expiry", login_requests(users, requests, nonce, now).await),
        ("users: deleting an account takes its sessions and codes and frees its address", users_delete(users, sessions, codes, nonce, now).await),
        ("users: service-role changes, pages newest first, soft deletion empties the account", users_admin(store, nonce, now).await),
        ("flow states: a code keeps its PKCE challenge; an auth code is taken once, and goes with its account", flow_states(store, nonce, now).await),
    ]
}

async fn users_delete<U: Users, S: Sessions, C: Codes>(
    users: &U,
    sessions: &S,
    codes: &C,
    nonce: &str,
    now: Timestamp,
) -> Result<(), String> {
    let user = rotation_user(users, nonce, "delete", now).await?;
    let s = session(&user, &format!("contract-del-session-{nonce}"), now);
    let t = refresh(&s, &format!("contract-del-rt-{nonce}"), None, now);
    ensure!(sessions.start(&s, &t, None).await.map_err(err)?, "start stored nothing");
    codes.put(&code(&user, &format!("contract-del-code-{nonce}"), &format!("del-link-{nonce}"), now)).await.map_err(err)?;
    ensure!(users.delete(&user.id).await.map_err(err)?, "delete of a stored account returned false");
    ensure!(users.by_id(&user.id).await.map_err(err)?.is_none(), "the account is still there");
    ensure!(sessions.get(&s.id).await.map_err(err)?.is_none(), "its session is still there");
    ensure!(sessions.refresh_token(&t.id).await.map_err(err)?.is_none(), "its refresh token is still there");
    ensure!(codes.for_user(&user.id, Purpose::Signup).await.map_err(err)?.is_none(), "its code is still there");
    ensure!(!users.delete(&user.id).await.map_err(err)?, "a second delete returned true");
    let again = User { id: format!("contract-del-again-{nonce}"), ..user.clone() };
    users.insert(&again).await.map_err(|e| format!("the freed address could not be used again: {e}"))?;
    Ok(())
}

async fn users_round_trip<U: Users>(users: &U, user: &User) -> Result<(), String> {
    users.insert(user).await.map_err(err)?;
    let by_email = users.by_email(user.email.as_deref().unwrap_or_default()).await.map_err(err)?;
    ensure!(by_email.as_ref() == Some(user), "by_email returned {by_email:?}");
    let by_id = users.by_id(&user.id).await.map_err(err)?;
    ensure!(by_id.as_ref() == Some(user), "by_id returned {by_id:?}");
    let none = users.by_email("nobody-at-all@example.com").await.map_err(err)?;
    ensure!(none.is_none(), "unknown email found {none:?}");
    Ok(())
}

async fn users_conflict<U: Users>(users: &U, user: &User, nonce: &str) -> Result<(), String> {
    let twin = User { id: format!("contract-twin-{nonce}"), username: None, ..user.clone() };
    match users.insert(&twin).await {
        Err(StoreError::Conflict("email")) => {}
        other => return Err(format!("expected Conflict(\"email\"), got {other:?}")),
    }
    ensure!(users.by_id(&twin.id).await.map_err(err)?.is_none(), "the twin was stored");
    // Usernames are unique regardless of case; accounts without an address do not collide.
    let namesake = User {
        id: format!("contract-namesake-{nonce}"),
        email: None,
        username: user.username.as_ref().map(|n| n.to_uppercase()),
        ..user.clone()
    };
    match users.insert(&namesake).await {
        Err(StoreError::Conflict("username")) => {}
        other => return Err(format!("expected Conflict(\"username\"), got {other:?}")),
    }
    for i in 0..2 {
        let anonymous = User { id: format!("contract-noaddr{i}-{nonce}"), email: None, username: None, ..user.clone() };
        users.insert(&anonymous).await.map_err(|e| format!("a second account without an address: {e}"))?;
    }
    let found = users.by_username(&format!("contract_{nonce}").to_uppercase()).await.map_err(err)?;
    ensure!(found.as_ref().map(|u| &u.id) == Some(&user.id), "by_username in another case found {found:?}");
    Ok(())
}

async fn users_updates<U: Users>(users: &U, user: &User, now: Timestamp) -> Result<(), String> {
    let later = now.plus_secs(5);
    users.confirm_email(&user.id, later).await.map_err(err)?;
    users.confirm_email(&user.id, later.plus_secs(5)).await.map_err(err)?;
    users.set_password_hash(&user.id, "$new$hash", later).await.map_err(err)?;
    let u = users.by_id(&user.id).await.map_err(err)?.ok_or("user vanished")?;
    ensure!(u.email_confirmed_at == Some(later), "confirmed_at {:?}, want the first confirmation", u.email_confirmed_at);
    ensure!(u.password_hash.as_deref() == Some("$new$hash"), "hash {:?}", u.password_hash);
    ensure!(u.updated_at == later, "updated_at {:?}", u.updated_at);
    users.clear_password(&user.id, later.plus_secs(1)).await.map_err(err)?;
    let cleared = users.by_id(&user.id).await.map_err(err)?.ok_or("user vanished")?;
    ensure!(cleared.password_hash.is_none(), "clear_password left {:?}", cleared.password_hash);
    ensure!(cleared.user_metadata == user.user_metadata, "clear_password touched metadata: {:?}", cleared.user_metadata);
    ensure!(cleared.email_confirmed_at == Some(later), "clear_password touched the confirmation");
    ensure!(!users.rehash_password(&user.id, "$new$hash", "$re$hash", later).await.map_err(err)?, "rehash brought back a cleared password");
    users.set_password_hash(&user.id, "$new$hash", later).await.map_err(err)?;
    ensure!(!users.rehash_password(&user.id, "$other$hash", "$re$hash", later).await.map_err(err)?, "rehash replaced a hash it was not given");
    ensure!(users.rehash_password(&user.id, "$new$hash", "$re$hash", later).await.map_err(err)?, "rehash of the current hash did nothing");
    let u = users.by_id(&user.id).await.map_err(err)?.ok_or("user vanished")?;
    ensure!(u.password_hash.as_deref() == Some("$re$hash"), "rehash left {:?}", u.password_hash);
    // Later checks expect the account's password back.
    users.set_password_hash(&user.id, "$new$hash", later).await.map_err(err)?;
    Ok(())
}

async fn sessions_start<U: Users, S: Sessions>(
    users: &U,
    sessions: &S,
    user: &User,
    nonce: &str,
    now: Timestamp,
) -> Result<(), String> {
    let session = session(user, &format!("contract-session-{nonce}"), now.plus_secs(10));
    let token = refresh(&session, &format!("contract-rt-{nonce}"), None, now.plus_secs(10));
    ensure!(sessions.start(&session, &token, None).await.map_err(err)?, "start stored nothing");
    let got = sessions.get(&session.id).await.map_err(err)?;
    ensure!(got.as_ref() == Some(&session), "get returned {got:?}");
    ensure!(sessions.get("no-such-session").await.map_err(err)?.is_none(), "unknown session found");
    let u = users.by_id(&user.id).await.map_err(err)?.ok_or("user vanished")?;
    ensure!(u.last_sign_in_at == Some(session.created_at), "last_sign_in_at {:?}", u.last_sign_in_at);
    let (t, s, u) = sessions.refresh_token(&token.id).await.map_err(err)?.ok_or("refresh_token found nothing")?;
    ensure!(t == token, "refresh_token returned {t:?}");
    ensure!(s == session && u.id == user.id, "refresh_token's session {s:?} or user {:?}", u.id);
    let (s, u) = sessions.with_user(&session.id).await.map_err(err)?.ok_or("with_user found nothing")?;
    ensure!(s == session && u.id == user.id, "with_user returned {s:?} of {:?}", u.id);
    ensure!(u.last_sign_in_at == Some(session.created_at), "with_user's user is stale: {:?}", u.last_sign_in_at);
    ensure!(sessions.with_user("no-such-session").await.map_err(err)?.is_none(), "with_user found an unknown session");
    Ok(())
}

async fn sessions_start_guarded<U: Users, S: Sessions>(
    users: &U,
    sessions: &S,
    user: &User,
    nonce: &str,
    now: Timestamp,
) -> Result<(), String> {
    let before = users.by_id(&user.id).await.map_err(err)?.ok_or("user vanished")?;
    let at = now.plus_secs(20);
    let stale = session(user, &format!("contract-guard-stale-{nonce}"), at);
    let token = refresh(&stale, &format!("contract-guard-stale-rt-{nonce}"), None, at);
    ensure!(!sessions.start(&stale, &token, Some("$replaced$hash")).await.map_err(err)?, "a start with a replaced hash said it stored");
    ensure!(sessions.get(&stale.id).await.map_err(err)?.is_none(), "a start with a replaced hash stored its session");
    ensure!(sessions.refresh_token(&token.id).await.map_err(err)?.is_none(), "a start with a replaced hash stored its refresh token");
    let u = users.by_id(&user.id).await.map_err(err)?.ok_or("user vanished")?;
    ensure!(u.last_sign_in_at == before.last_sign_in_at, "a start with a replaced hash recorded a sign-in");
    let current = before.password_hash.clone().ok_or("the contract user has no password")?;
    let fresh = session(user, &format!("contract-guard-ok-{nonce}"), at);
    let token = refresh(&fresh, &format!("contract-guard-ok-rt-{nonce}"), None, at);
    ensure!(sessions.start(&fresh, &token, Some(&current)).await.map_err(err)?, "a start with the current hash stored nothing");
    ensure!(sessions.refresh_token(&token.id).await.map_err(err)?.is_some(), "a start with the current hash lost its refresh token");
    Ok(())
}

fn session(user: &User, id: &str, at: Timestamp) -> Session {
    Session {
        dialect: Some(Dialect::Feathers),
        id: id.into(),
        user_id: user.id.clone(),
        platform: "Contract/1.0 (Ünïcode)".into(),
        method: AuthMethod::Password,
        created_at: at,
        refreshed_at: at,
        last_active_at: at,
        revoked_at: None,
    }
}

fn refresh(session: &Session, id: &str, parent: Option<&str>, at: Timestamp) -> RefreshToken {
    RefreshToken {
        id: id.into(),
        session_id: session.id.clone(),
        secret_hash: "ab".repeat(32),
        parent_id: parent.map(str::to_string),
        created_at: at,
        used_at: None,
    }
}

async fn rotation_user<U: Users>(users: &U, nonce: &str, tag: &str, now: Timestamp) -> Result<User, String> {
    let user = User {
        id: format!("contract-{tag}-{nonce}"),
        email: Some(format!("contract-{tag}-{nonce}@example.com")),
        username: None,
        password_hash: None,
        email_confirmed_at: Some(now),
        last_sign_in_at: None,
        user_metadata: serde_json::json!({}),
        created_at: now,
        updated_at: now,
        ..User::new(String::new(), None, serde_json::json!({}), now)
    };
    users.insert(&user).await.map_err(err)?;
    Ok(user)
}

async fn users_email_change<U: Users>(users: &U, user: &User, nonce: &str, now: Timestamp) -> Result<(), String> {
    let other = rotation_user(users, nonce, "mover", now).await?;
    match users.set_email(&other.id, user.email.as_deref().unwrap_or_default(), true, now).await {
        Err(StoreError::Conflict("email")) => {}
        r => return Err(format!("moving onto a taken address: {r:?}")),
    }
    let target = format!("contract-moved-{nonce}@example.com");
    let later = now.plus_secs(3);
    users.set_email(&other.id, &target, true, later).await.map_err(err)?;
    users.set_metadata(&other.id, &serde_json::json!({"k": "v"}), later).await.map_err(err)?;
    let moved = users.by_email(&target).await.map_err(err)?.ok_or("not found at the new address")?;
    ensure!(moved.id == other.id, "another account at the new address");
    ensure!(moved.email_confirmed_at == Some(later), "confirmed_at {:?}", moved.email_confirmed_at);
    ensure!(moved.user_metadata == serde_json::json!({"k": "v"}), "metadata {}", moved.user_metadata);
    let old = other.email.as_deref().unwrap_or_default();
    ensure!(users.by_email(old).await.map_err(err)?.is_none(), "still found at the old address");
    Ok(())
}

async fn sessions_rotate<S: Sessions>(sessions: &S, nonce: &str, now: Timestamp) -> Result<(), String> {
    // Sessions need their user; reuse the contract user created by the first check.
    let owner = User {
        id: format!("contract-user-{nonce}"),
        email: None,
        username: None,
        password_hash: None,
        email_confirmed_at: None,
        last_sign_in_at: None,
        user_metadata: serde_json::json!({}),
        created_at: now,
        updated_at: now,
        ..User::new(String::new(), None, serde_json::json!({}), now)
    };
    let s = session(&owner, &format!("contract-rot-{nonce}"), now);
    let parent = refresh(&s, &format!("contract-rt-p-{nonce}"), None, now);
    ensure!(sessions.start(&s, &parent, None).await.map_err(err)?, "start stored nothing");
    let child = refresh(&s, &format!("contract-rt-c-{nonce}"), Some(&parent.id), now.plus_secs(1));
    let first = sessions.rotate(&parent.id, &child, now.plus_secs(1)).await.map_err(err)?;
    ensure!(first == now.plus_secs(1), "first rotation used_at {first:?}");
    let second = sessions.rotate(&parent.id, &child, now.plus_secs(2)).await.map_err(err)?;
    ensure!(second == now.plus_secs(1), "a second rotation moved used_at to {second:?}");
    let stored = sessions.refresh_token(&child.id).await.map_err(err)?.map(|(t, _, _)| t);
    ensure!(stored.as_ref() == Some(&child), "successor {stored:?}");
    let (p, _, _) = sessions.refresh_token(&parent.id).await.map_err(err)?.ok_or("parent vanished")?;
    ensure!(p.used_at == Some(now.plus_secs(1)), "parent used_at {:?}", p.used_at);
    let s2 = sessions.get(&s.id).await.map_err(err)?.ok_or("session vanished")?;
    ensure!(s2.refreshed_at == now.plus_secs(2), "refreshed_at {:?}", s2.refreshed_at);
    Ok(())
}

async fn live<S: Sessions>(sessions: &S, id: String) -> Result<bool, StoreError> {
    Ok(sessions.get(&id).await?.is_some_and(|s| s.is_active()))
}

async fn sessions_revoke<U: Users, S: Sessions>(users: &U, sessions: &S, nonce: &str, now: Timestamp) -> Result<(), String> {
    let user = rotation_user(users, nonce, "revoke", now).await?;
    let ids: Vec<String> = (0..4).map(|i| format!("contract-rv{i}-{nonce}")).collect();
    for id in &ids {
        let s = session(&user, id, now);
        ensure!(sessions.start(&s, &refresh(&s, &format!("{id}-rt"), None, now), None).await.map_err(err)?, "start stored nothing");
    }
    let at = now.plus_secs(1);
    ensure!(sessions.revoke(&user.id, &ids[0], LogoutScope::Local, at).await.map_err(err)? == 1, "local ended other than one");
    ensure!(!live(sessions, ids[0].clone()).await.map_err(err)?, "local did not end the current session");
    ensure!(live(sessions, ids[1].clone()).await.map_err(err)?, "local ended another session");
    ensure!(sessions.revoke(&user.id, &ids[1], LogoutScope::Others, at).await.map_err(err)? == 2, "others ended other than two");
    ensure!(live(sessions, ids[1].clone()).await.map_err(err)?, "others ended the current session");
    ensure!(!live(sessions, ids[3].clone()).await.map_err(err)?, "others left one alive");
    ensure!(sessions.revoke(&user.id, &ids[1], LogoutScope::Global, at).await.map_err(err)? == 1, "global ended other than the last");
    ensure!(!live(sessions, ids[1].clone()).await.map_err(err)?, "global left the current session");
    let stranger = sessions.revoke("someone-else", &ids[2], LogoutScope::Global, at).await.map_err(err)?;
    ensure!(stranger == 0, "another user's logout ended {stranger} sessions");
    Ok(())
}

async fn codes_recipient<C: Codes>(codes: &C, user: &User, nonce: &str, now: Timestamp) -> Result<(), String> {
    let address = format!("contract-new-{nonce}@example.com");
    let mut c = code(user, &format!("c5-{nonce}"), &format!("l5-{nonce}"), now);
    c.purpose = Purpose::EmailChange;
    c.sent_to = address.clone();
    codes.put(&c).await.map_err(err)?;
    let got = codes.for_recipient(&address, Purpose::EmailChange).await.map_err(err)?;
    ensure!(got.as_ref() == Some(&c), "for_recipient returned {got:?}");
    ensure!(codes.for_recipient(&address, Purpose::Recovery).await.map_err(err)?.is_none(), "found under another purpose");
    Ok(())
}

async fn budgets_take<G: Budgets>(guesses: &G, nonce: &str, now: Timestamp) -> Result<(), String> {
    let address = format!("guess:contract-{nonce}@example.com");
    for i in 1..=3 {
        ensure!(guesses.take(&address, now.plus_secs(i), 3600, 3).await.map_err(err)?, "guess {i} of 3 refused");
    }
    ensure!(!guesses.take(&address, now.plus_secs(4), 3600, 3).await.map_err(err)?, "a fourth guess in the window passed");
    ensure!(guesses.take(&format!("other-{address}"), now.plus_secs(4), 3600, 3).await.map_err(err)?, "budgets are not per key");
    // The refused fourth was not counted: two given back leave two free, and no more.
    guesses.give_back(&address).await.map_err(err)?;
    guesses.give_back(&address).await.map_err(err)?;
    for i in 1..=2 {
        ensure!(guesses.take(&address, now.plus_secs(5), 3600, 3).await.map_err(err)?, "given-back guess {i} of 2 is not free again");
    }
    ensure!(!guesses.take(&address, now.plus_secs(6), 3600, 3).await.map_err(err)?, "more came back than was given");
    ensure!(guesses.take(&address, now.plus_secs(3601), 3600, 3).await.map_err(err)?, "the window did not start over");
    ensure!(guesses.take(&address, now.plus_secs(3602), 3600, 3).await.map_err(err)?, "the new window did not count from one");
    let other = format!("client:contract-{nonce}");
    ensure!(guesses.take_all(&[(&address, 3), (&other, 1)], now.plus_secs(3603), 3600).await.map_err(err)?, "take_all within both refused");
    ensure!(!guesses.take_all(&[(&address, 3), (&other, 2)], now.plus_secs(3604), 3600).await.map_err(err)?, "take_all over one passed");
    ensure!(guesses.take(&other, now.plus_secs(3605), 3600, 2).await.map_err(err)?, "a refused take_all counted the key that was within");
    ensure!(!guesses.take(&address, now.plus_secs(3606), 3600, 3).await.map_err(err)?, "a take_all that passed did not count every key");
    Ok(())
}

async fn limits_claim<L: SendLimits>(limits: &L, nonce: &str, now: Timestamp) -> Result<(), String> {
    let address = format!("contract-limit-{nonce}@example.com");
    ensure!(limits.claim(&address, Purpose::Recovery, now, 60).await.map_err(err)?.is_none(), "first claim refused");
    let again = limits.claim(&address, Purpose::Recovery, now.plus_secs(59), 60).await.map_err(err)?;
    ensure!(again == Some(now), "a second claim within the interval: {again:?}");
    ensure!(limits.claim(&address, Purpose::Signup, now, 60).await.map_err(err)?.is_none(), "purposes are not separate");
    ensure!(limits.claim(&address, Purpose::Recovery, now.plus_secs(60), 60).await.map_err(err)?.is_none(), "a claim after the interval refused");
    limits.release(&address, Purpose::Recovery, now.plus_secs(60)).await.map_err(err)?;
    ensure!(limits.claim(&address, Purpose::Recovery, now.plus_secs(61), 60).await.map_err(err)?.is_none(), "a released claim still blocks");
    Ok(())
}

fn code(user: &User, id: &str, link: &str, now: Timestamp) -> OneTimeCode {
    OneTimeCode {
        keeps_attempt: true,
        pair_id: None,
        id: id.into(),
        user_id: user.id.clone(),
        purpose: Purpose::Signup,
        code_hash: "c".repeat(64),
        link_hash: link.into(),
        sent_to: user.email.clone().unwrap_or_default(),
        created_at: now,
        expires_at: now.plus_secs(600),
        attempts: 0,
        used_at: None,
        pkce: None,
    }
}

async fn users_admin<S: Users + Sessions>(store: &S, nonce: &str, now: Timestamp) -> Result<(), String> {
    // Newer than anything else stored, so they are the first page even in a shared database.
    let future = Timestamp(now.0 + 1_000_000_000_000);
    let mut made = Vec::new();
    for i in 0..3 {
        let u = User {
            id: format!("contract-page{i}-{nonce}"),
            email: Some(format!("contract-page{i}-{nonce}@example.com")),
            username: Some(format!("Page{i}_{nonce}")),
            password_hash: Some("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into()),
            is_anonymous: i == 1,
            app_metadata: serde_json::json!({"plan": i}),
            ..User::new(String::new(), None, serde_json::json!({"i": i}), Timestamp(future.0 + i64::from(i)))
        };
        store.insert(&u).await.map_err(|e| format!("insert {i}: {e}"))?;
        made.push(u);
    }
    let (first, total) = store.page(0, 2).await.map_err(err)?;
    ensure!(total >= 3, "total {total}");
    let ids: Vec<&str> = first.iter().map(|u| u.id.as_str()).collect();
    ensure!(ids == [made[2].id.as_str(), made[1].id.as_str()], "first page {ids:?}");
    ensure!(first[1] == made[1], "a page's user reads back changed: {:?}", first[1]);
    let (second, _) = store.page(2, 1).await.map_err(err)?;
    ensure!(second.first().map(|u| u.id.as_str()) == Some(made[0].id.as_str()), "second page {second:?}");

    let u = &made[1];
    store.set_app_metadata(&u.id, &serde_json::json!({"plan": "pro"}), now).await.map_err(err)?;
    store.set_banned_until(&u.id, Some(now.plus_secs(60)), now).await.map_err(err)?;
    let moved = format!("contract-admin-moved-{nonce}@example.com");
    store.set_email(&u.id, &moved, false, now).await.map_err(err)?;
    let got = store.by_id(&u.id).await.map_err(err)?.ok_or("vanished")?;
    ensure!(got.app_metadata == serde_json::json!({"plan": "pro"}), "app_metadata {:?}", got.app_metadata);
    ensure!(got.banned_until == Some(now.plus_secs(60)) && got.is_banned(now), "banned_until {:?}", got.banned_until);
    ensure!(got.email.as_deref() == Some(moved.as_str()) && got.email_confirmed_at.is_none() && got.is_anonymous, "unconfirmed move {got:?}");
    store.confirm_email(&u.id, now).await.map_err(err)?;
    let got = store.by_id(&u.id).await.map_err(err)?.ok_or("vanished")?;
    ensure!(got.email_confirmed_at == Some(now) && !got.is_anonymous, "confirming left the account anonymous: {got:?}");
    store.set_email(&u.id, &moved, true, now).await.map_err(err)?;
    store.set_banned_until(&u.id, None, now).await.map_err(err)?;
    let got = store.by_id(&u.id).await.map_err(err)?.ok_or("vanished")?;
    ensure!(got.email_confirmed_at == Some(now) && !got.is_anonymous, "a confirmed address leaves the account anonymous: {got:?}");
    ensure!(got.banned_until.is_none(), "the ban was not lifted");

    let session = Session {
        id: format!("contract-soft-s-{nonce}"),
        user_id: u.id.clone(),
        platform: "contract".into(),
        method: AuthMethod::Password,
        dialect: Some(Dialect::Gotrue),
        created_at: now,
        refreshed_at: now,
        last_active_at: now,
        revoked_at: None,
    };
    let token = RefreshToken {
        id: format!("contract-soft-t-{nonce}"),
        session_id: session.id.clone(),
        secret_hash: "0".repeat(64),
        parent_id: None,
        created_at: now,
        used_at: None,
    };
    store.set_banned_until(&u.id, Some(now.plus_secs(60)), now).await.map_err(err)?;
    ensure!(!store.start(&session, &token, None).await.map_err(err)?, "a session started for a banned account");
    store.set_banned_until(&u.id, Some(now), now).await.map_err(err)?;
    ensure!(store.start(&session, &token, None).await.map_err(err)?, "the session did not start once the ban ended");
    ensure!(store.soft_delete(&u.id, now).await.map_err(err)?, "soft_delete said no account");
    let late = Session { id: format!("contract-soft-late-{nonce}"), ..session.clone() };
    let late_token = RefreshToken { id: format!("contract-soft-late-t-{nonce}"), session_id: late.id.clone(), ..token.clone() };
    ensure!(!store.start(&late, &late_token, None).await.map_err(err)?, "a session started for a soft-deleted account");
    let gone = store.by_id(&u.id).await.map_err(err)?.ok_or("a soft-deleted account is kept")?;
    ensure!(
        gone.deleted_at == Some(now) && gone.email.is_none() && gone.username.is_none() && gone.password_hash.is_none(),
        "not emptied: {gone:?}"
    );
    ensure!(gone.user_metadata == serde_json::json!({}) && gone.app_metadata == serde_json::json!({}), "metadata kept: {gone:?}");
    ensure!(store.get(&session.id).await.map_err(err)?.is_none(), "its session outlived it");
    ensure!(store.refresh_token(&token.id).await.map_err(err)?.is_none(), "its refresh token outlived it");
    let reuse = User { id: format!("contract-reuse-{nonce}"), ..made[0].clone() };
    let reuse = User { email: Some(moved.clone()), username: u.username.clone(), ..reuse };
    store.insert(&reuse).await.map_err(|e| format!("the address and username are not free again: {e}"))?;
    ensure!(!store.soft_delete(&format!("no-such-{nonce}"), now).await.map_err(err)?, "soft-deleted an unknown account");
    Ok(())
}

async fn flow_states<S: Users + Codes + FlowStates>(store: &S, nonce: &str, now: Timestamp) -> Result<(), String> {
    let user = rotation_user(store, nonce, "flow", now).await?;
    let challenge = PkceChallenge { method: PkceMethod::S256, challenge: format!("{}{nonce}", "c".repeat(43)) };
    let with_pkce = OneTimeCode {
        pkce: Some(challenge.clone()),
        ..code(&user, &format!("pk-{nonce}"), &format!("pk-link-{nonce}"), now)
    };
    Codes::put(store, &with_pkce).await.map_err(err)?;
    let got = store.by_link_hash(&with_pkce.link_hash).await.map_err(err)?;
    ensure!(got.as_ref() == Some(&with_pkce), "the code came back as {got:?}");
    let state = |n: &str| FlowState {
        auth_code_hash: format!("{n}-{nonce}"),
        user_id: user.id.clone(),
        method: AuthMethod::Recovery,
        challenge: PkceChallenge { method: PkceMethod::Plain, ..challenge.clone() },
        created_at: now,
        expires_at: now.plus_secs(300),
    };
    let (first, second) = (state("fs1"), state("fs2"));
    FlowStates::put(store, &first).await.map_err(err)?;
    FlowStates::put(store, &second).await.map_err(err)?;
    let taken = store.take(&first.auth_code_hash).await.map_err(err)?;
    ensure!(taken.as_ref() == Some(&first), "take returned {taken:?}");
    ensure!(store.take(&first.auth_code_hash).await.map_err(err)?.is_none(), "an auth code was taken twice");
    ensure!(store.take(&format!("none-{nonce}")).await.map_err(err)?.is_none(), "an unknown auth code was taken");
    ensure!(Users::delete(store, &user.id).await.map_err(err)?, "the account was not deleted");
    ensure!(store.take(&second.auth_code_hash).await.map_err(err)?.is_none(), "an auth code outlived its account");
    Ok(())
}

async fn codes_pair<C: Codes>(codes: &C, user: &User, nonce: &str, now: Timestamp) -> Result<(), String> {
    let half = |id: &str, purpose: Purpose, pair: &str| OneTimeCode {
        purpose,
        keeps_attempt: false,
        pair_id: Some(pair.to_string()),
        ..code(user, &format!("{id}-{nonce}"), &format!("{id}-link-{nonce}"), now)
    };
    let (a, b) = (half("pa1", Purpose::EmailChange, "p1"), half("pb1", Purpose::EmailChangeCurrent, "p1"));
    codes.put_pair(&a, &b).await.map_err(err)?;
    let (a2, b2) = (half("pa2", Purpose::EmailChange, "p2"), half("pb2", Purpose::EmailChangeCurrent, "p2"));
    codes.put_pair(&a2, &b2).await.map_err(err)?;
    let got_a = codes.for_user(&user.id, Purpose::EmailChange).await.map_err(err)?;
    let got_b = codes.for_user(&user.id, Purpose::EmailChangeCurrent).await.map_err(err)?;
    ensure!(got_a.as_ref() == Some(&a2) && got_b.as_ref() == Some(&b2), "the second pair did not replace the first: {got_a:?} {got_b:?}");
    ensure!(codes.by_link_hash(&a.link_hash).await.map_err(err)?.is_none(), "the first pair's code still resolves");
    let keeping = code(user, &format!("keep-{nonce}"), &format!("keep-link-{nonce}"), now);
    codes.put(&keeping).await.map_err(err)?;
    codes.forfeit_keep(&user.id, Purpose::Signup).await.map_err(err)?;
    let got = codes.for_user(&user.id, Purpose::Signup).await.map_err(err)?.ok_or("the code vanished")?;
    ensure!(!got.keeps_attempt, "forfeit_keep left keeps_attempt set");
    ensure!(got.id == keeping.id && got.used_at.is_none(), "forfeit_keep changed more than the keep: {got:?}");
    Ok(())
}

async fn codes_replace<C: Codes>(codes: &C, user: &User, nonce: &str, now: Timestamp) -> Result<(), String> {
    let first = code(user, &format!("c1-{nonce}"), &format!("l1-{nonce}"), now);
    let second = code(user, &format!("c2-{nonce}"), &format!("l2-{nonce}"), now.plus_secs(1));
    codes.put(&first).await.map_err(err)?;
    let got = codes.for_user(&user.id, Purpose::Signup).await.map_err(err)?;
    ensure!(got.as_ref() == Some(&first), "for_user returned {got:?}");
    codes.put(&second).await.map_err(err)?;
    let got = codes.for_user(&user.id, Purpose::Signup).await.map_err(err)?;
    ensure!(got.as_ref() == Some(&second), "after replace for_user returned {got:?}");
    ensure!(codes.by_link_hash(&first.link_hash).await.map_err(err)?.is_none(), "the replaced link still resolves");
    let by_link = codes.by_link_hash(&second.link_hash).await.map_err(err)?;
    ensure!(by_link.as_ref() == Some(&second), "by_link_hash returned {by_link:?}");
    Ok(())
}

async fn codes_attempts<C: Codes>(codes: &C, user: &User, nonce: &str, now: Timestamp) -> Result<(), String> {
    let c = code(user, &format!("c3-{nonce}"), &format!("l3-{nonce}"), now);
    codes.put(&c).await.map_err(err)?;
    for i in 0..3 {
        ensure!(codes.take_attempt(&c.id, now, 3).await.map_err(err)?, "try {} refused", i + 1);
    }
    ensure!(!codes.take_attempt(&c.id, now, 3).await.map_err(err)?, "a fourth try of three was allowed");
    let got = codes.for_user(&user.id, Purpose::Signup).await.map_err(err)?.ok_or("code vanished")?;
    ensure!(got.attempts == 3, "attempts {}", got.attempts);
    ensure!(!codes.take_attempt("no-such-code", now, 3).await.map_err(err)?, "a try on an unknown code");
    Ok(())
}

async fn codes_consume<C: Codes>(codes: &C, user: &User, nonce: &str, now: Timestamp) -> Result<(), String> {
    let c = code(user, &format!("c4-{nonce}"), &format!("l4-{nonce}"), now);
    codes.put(&c).await.map_err(err)?;
    let late = c.expires_at;
    ensure!(!codes.take_attempt(&c.id, late, 5).await.map_err(err)?, "a try at expiry was allowed");
    ensure!(!codes.consume(&c.id, late).await.map_err(err)?, "consumed at expiry");
    ensure!(codes.consume(&c.id, now).await.map_err(err)?, "a live code was not consumed");
    ensure!(!codes.consume(&c.id, now).await.map_err(err)?, "consumed twice");
    ensure!(!codes.take_attempt(&c.id, now, 5).await.map_err(err)?, "a try on a used code");
    let got = codes.for_user(&user.id, Purpose::Signup).await.map_err(err)?.ok_or("code vanished")?;
    ensure!(got.used_at == Some(now), "used_at {:?}", got.used_at);
    Ok(())
}

async fn sessions_tokens<U: Users, S: Sessions>(users: &U, sessions: &S, nonce: &str, now: Timestamp) -> Result<(), String> {
    let user = rotation_user(users, nonce, "tokens", now).await?;
    // A session stored before sessions recorded their dialect reads back without one.
    let a = Session { dialect: None, ..session(&user, &format!("contract-tok-a-{nonce}"), now) };
    let b = session(&user, &format!("contract-tok-b-{nonce}"), now.plus_secs(1));
    let token = SessionToken {
        id: format!("contract-st-{nonce}"),
        session_id: a.id.clone(),
        secret_hash: "cd".repeat(32),
        created_at: now,
    };
    ensure!(sessions.start_with_token(&a, &token).await.map_err(err)?, "the token session did not start");
    ensure!(sessions.start(&b, &refresh(&b, &format!("contract-tok-rt-{nonce}"), None, now), None).await.map_err(err)?, "start stored nothing");
    let (t, s, u) = sessions.session_token(&token.id).await.map_err(err)?.ok_or("session_token found nothing")?;
    ensure!(t == token && s == a && u.id == user.id, "session_token returned {t:?} with {s:?} of {:?}", u.id);
    ensure!(sessions.session_token("no-such-token").await.map_err(err)?.is_none(), "an unknown session token was found");
    let mut listed: Vec<String> = sessions.list(&user.id).await.map_err(err)?.into_iter().map(|s| s.id).collect();
    listed.sort();
    ensure!(listed == vec![a.id.clone(), b.id.clone()], "list returned {listed:?}");
    sessions.revoke(&user.id, &b.id, LogoutScope::Local, now).await.map_err(err)?;
    let listed = sessions.list(&user.id).await.map_err(err)?;
    ensure!(listed.len() == 1 && listed[0].id == a.id, "list after ending one: {listed:?}");
    // Touch: written when the last write is older than the interval, not otherwise.
    sessions.touch(&a.id, now.plus_secs(90), now.plus_secs(30)).await.map_err(err)?;
    let t1 = sessions.get(&a.id).await.map_err(err)?.ok_or("session vanished")?.last_active_at;
    ensure!(t1 == now.plus_secs(90), "first touch stored {t1:?}");
    sessions.touch(&a.id, now.plus_secs(100), now.plus_secs(40)).await.map_err(err)?;
    let t2 = sessions.get(&a.id).await.map_err(err)?.ok_or("session vanished")?.last_active_at;
    ensure!(t2 == t1, "a touch within the interval wrote {t2:?}");
    Ok(())
}

async fn login_requests<U: Users, R: LoginRequests>(users: &U, requests: &R, nonce: &str, now: Timestamp) -> Result<(), String> {
    let user = rotation_user(users, nonce, "login", now).await?;
    let request = |id: &str| LoginRequest {
        id: format!("{id}-{nonce}"),
        user_id: user.id.clone(),
        platform: "Contract Phone".into(),
        link_hash: format!("link-{id}-{nonce}"),
        page_hash: None,
        state: LoginState::Pending,
        created_at: now,
        expires_at: now.plus_secs(600),
    };
    let r = request("lr1");
    requests.put(&r).await.map_err(err)?;
    ensure!(requests.by_id(&r.id).await.map_err(err)?.as_ref() == Some(&r), "by_id differs");
    ensure!(requests.by_link_hash(&r.link_hash).await.map_err(err)?.as_ref() == Some(&r), "by_link_hash differs");
    ensure!(!requests.claim(&r.id, now).await.map_err(err)?, "a pending request was claimed");
    ensure!(!requests.decide(&r.id, "p1", LoginState::Confirmed, now).await.map_err(err)?, "decided without a page");
    ensure!(requests.show_page(&r.id, "p1", now).await.map_err(err)?, "page refused");
    ensure!(requests.show_page(&r.id, "p2", now).await.map_err(err)?, "second page refused");
    ensure!(!requests.decide(&r.id, "p1", LoginState::Confirmed, now).await.map_err(err)?, "an older page's token decided");
    ensure!(requests.decide(&r.id, "p2", LoginState::Confirmed, now).await.map_err(err)?, "the current page's token did not decide");
    ensure!(!requests.decide(&r.id, "p2", LoginState::Denied, now).await.map_err(err)?, "decided twice");
    ensure!(!requests.show_page(&r.id, "p3", now).await.map_err(err)?, "a page for a decided request");
    ensure!(requests.claim(&r.id, now).await.map_err(err)?, "a confirmed request was not claimed");
    ensure!(!requests.claim(&r.id, now).await.map_err(err)?, "claimed twice");
    let late = request("lr2");
    requests.put(&late).await.map_err(err)?;
    requests.show_page(&late.id, "q", now).await.map_err(err)?;
    ensure!(!requests.decide(&late.id, "q", LoginState::Confirmed, late.expires_at).await.map_err(err)?, "decided at expiry");
    let denied = request("lr3");
    requests.put(&denied).await.map_err(err)?;
    requests.show_page(&denied.id, "d", now).await.map_err(err)?;
    ensure!(requests.decide(&denied.id, "d", LoginState::Denied, now).await.map_err(err)?, "deny refused");
    ensure!(!requests.claim(&denied.id, now).await.map_err(err)?, "a denied request was claimed");
    let state = requests.by_id(&denied.id).await.map_err(err)?.map(|r| r.state);
    ensure!(state == Some(LoginState::Denied), "state {state:?}");
    Ok(())
}
