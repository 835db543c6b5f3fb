//! The contract of the `Users` port: accounts round-trip, addresses and usernames stay unique,
//! updates land (confirmation, passwords, address moves, the service role's changes, pages), and
//! a deletion, hard or soft, takes everything that hangs off the account. What the other ports
//! must do is checked in their own files, even where a check needs an account.

use super::support::{code, ensure, err, refresh, rotation_user, session};
use crate::model::{AuthMethod, Dialect, Purpose, RefreshToken, Session, SessionId, Timestamp, User, UserId};
use crate::ports::{Codes, Sessions, StoreError, Users};

pub(super) async fn users_round_trip<U: Users>(users: &U, user: &User) -> Result<(), String> {
    users.insert(user).await.map_err(err)?;
    let by_email = users.by_email(user.email.as_deref().unwrap_or_default()).await.map_err(err)?;
    ensure!(by_email.as_ref() == Some(user), "by_email returned {by_email:?}");
    let by_id = users.by_id(&user.id).await.map_err(err)?;
    ensure!(by_id.as_ref() == Some(user), "by_id returned {by_id:?}");
    let none = users.by_email("nobody-at-all@example.com").await.map_err(err)?;
    ensure!(none.is_none(), "unknown email found {none:?}");
    Ok(())
}

pub(super) async fn users_conflict<U: Users>(users: &U, user: &User, nonce: &str) -> Result<(), String> {
    let twin = User { id: UserId::new(format!("contract-twin-{nonce}")), username: None, ..user.clone() };
    match users.insert(&twin).await {
        Err(StoreError::Conflict("email")) => {}
        other => return Err(format!("expected Conflict(\"email\"), got {other:?}")),
    }
    ensure!(users.by_id(&twin.id).await.map_err(err)?.is_none(), "the twin was stored");
    // Usernames are unique regardless of case; accounts without an address do not collide.
    let namesake = User {
        id: UserId::new(format!("contract-namesake-{nonce}")),
        email: None,
        username: user.username.as_ref().map(|n| n.to_uppercase()),
        ..user.clone()
    };
    match users.insert(&namesake).await {
        Err(StoreError::Conflict("username")) => {}
        other => return Err(format!("expected Conflict(\"username\"), got {other:?}")),
    }
    for i in 0..2 {
        let anonymous = User { id: UserId::new(format!("contract-noaddr{i}-{nonce}")), email: None, username: None, ..user.clone() };
        users.insert(&anonymous).await.map_err(|e| format!("a second account without an address: {e}"))?;
    }
    let found = users.by_username(&format!("contract_{nonce}").to_uppercase()).await.map_err(err)?;
    ensure!(found.as_ref().map(|u| &u.id) == Some(&user.id), "by_username in another case found {found:?}");
    Ok(())
}

pub(super) async fn users_updates<U: Users>(users: &U, user: &User, now: Timestamp) -> Result<(), String> {
    let later = now.plus_secs(5);
    users.confirm_email(&user.id, later).await.map_err(err)?;
    users.confirm_email(&user.id, later.plus_secs(5)).await.map_err(err)?;
    users.set_password_hash(&user.id, "$new$hash", later, None).await.map_err(err)?;
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
    users.set_password_hash(&user.id, "$new$hash", later, None).await.map_err(err)?;
    ensure!(!users.rehash_password(&user.id, "$other$hash", "$re$hash", later).await.map_err(err)?, "rehash replaced a hash it was not given");
    ensure!(users.rehash_password(&user.id, "$new$hash", "$re$hash", later).await.map_err(err)?, "rehash of the current hash did nothing");
    let u = users.by_id(&user.id).await.map_err(err)?.ok_or("user vanished")?;
    ensure!(u.password_hash.as_deref() == Some("$re$hash"), "rehash left {:?}", u.password_hash);
    // Later checks expect the account's password back.
    users.set_password_hash(&user.id, "$new$hash", later, None).await.map_err(err)?;
    Ok(())
}

pub(super) async fn users_email_change<U: Users>(users: &U, user: &User, nonce: &str, now: Timestamp) -> Result<(), String> {
    let other = rotation_user(users, nonce, "mover", now).await?;
    match users.set_email(&other.id, user.email.as_deref().unwrap_or_default(), true, now).await {
        Err(StoreError::Conflict("email")) => {}
        r => return Err(format!("moving onto a taken address: {r:?}")),
    }
    let target = format!("contract-moved-{nonce}@example.com");
    let later = now.plus_secs(3);
    users.set_email(&other.id, &target, true, later).await.map_err(err)?;
    users.set_metadata(&other.id, &serde_json::json!({"k": "v"}), later, None).await.map_err(err)?;
    let moved = users.by_email(&target).await.map_err(err)?.ok_or("not found at the new address")?;
    ensure!(moved.id == other.id, "another account at the new address");
    ensure!(moved.email_confirmed_at == Some(later), "confirmed_at {:?}", moved.email_confirmed_at);
    ensure!(moved.user_metadata == serde_json::json!({"k": "v"}), "metadata {}", moved.user_metadata);
    let old = other.email.as_deref().unwrap_or_default();
    ensure!(users.by_email(old).await.map_err(err)?.is_none(), "still found at the old address");
    Ok(())
}

pub(super) async fn users_delete<U: Users, S: Sessions, C: Codes>(
    users: &U,
    sessions: &S,
    codes: &C,
    nonce: &str,
    now: Timestamp,
) -> Result<(), String> {
    let user = rotation_user(users, nonce, "delete", now).await?;
    let s = session(&user, &format!("contract-del-session-{nonce}"), now);
    let t = refresh(&s, &format!("contract-del-rt-{nonce}"), None, now);
    ensure!(sessions.start(&s, &t, None, None).await.map_err(err)?, "start stored nothing");
    codes.put(&code(&user, &format!("contract-del-code-{nonce}"), &format!("del-link-{nonce}"), now)).await.map_err(err)?;
    ensure!(users.delete(&user.id).await.map_err(err)?, "delete of a stored account returned false");
    ensure!(users.by_id(&user.id).await.map_err(err)?.is_none(), "the account is still there");
    ensure!(sessions.get(&s.id).await.map_err(err)?.is_none(), "its session is still there");
    ensure!(sessions.refresh_token(&t.id).await.map_err(err)?.is_none(), "its refresh token is still there");
    ensure!(codes.for_user(&user.id, Purpose::Signup).await.map_err(err)?.is_none(), "its code is still there");
    ensure!(!users.delete(&user.id).await.map_err(err)?, "a second delete returned true");
    let again = User { id: UserId::new(format!("contract-del-again-{nonce}")), ..user.clone() };
    users.insert(&again).await.map_err(|e| format!("the freed address could not be used again: {e}"))?;
    Ok(())
}

pub(super) async fn users_admin<S: Users + Sessions>(store: &S, nonce: &str, now: Timestamp) -> Result<(), String> {
    // Newer than anything else stored, so they are the first page even in a shared database.
    let future = Timestamp(now.0 + 1_000_000_000_000);
    let mut made = Vec::new();
    for i in 0..3 {
        let u = User {
            id: UserId::new(format!("contract-page{i}-{nonce}")),
            email: Some(format!("contract-page{i}-{nonce}@example.com")),
            username: Some(format!("Page{i}_{nonce}")),
            password_hash: Some("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into()),
            is_anonymous: i == 1,
            app_metadata: serde_json::json!({"plan": i}),
            ..User::new(UserId::new(""), None, serde_json::json!({"i": i}), Timestamp(future.0 + i64::from(i)))
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
        id: SessionId::new(format!("contract-soft-s-{nonce}")),
        user_id: u.id.clone(),
        platform: "contract".into(),
        method: AuthMethod::Password,
        dialect: Some(Dialect::Gotrue),
        created_at: now,
        refreshed_at: now,
        last_active_at: now,
        revoked_at: None,
        second: None,
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
    ensure!(!store.start(&session, &token, None, None).await.map_err(err)?, "a session started for a banned account");
    store.set_banned_until(&u.id, Some(now), now).await.map_err(err)?;
    ensure!(store.start(&session, &token, None, None).await.map_err(err)?, "the session did not start once the ban ended");
    ensure!(store.soft_delete(&u.id, now).await.map_err(err)?, "soft_delete said no account");
    let late = Session { id: SessionId::new(format!("contract-soft-late-{nonce}")), ..session.clone() };
    let late_token = RefreshToken { id: format!("contract-soft-late-t-{nonce}"), session_id: late.id.clone(), ..token.clone() };
    ensure!(!store.start(&late, &late_token, None, None).await.map_err(err)?, "a session started for a soft-deleted account");
    let gone = store.by_id(&u.id).await.map_err(err)?.ok_or("a soft-deleted account is kept")?;
    ensure!(
        gone.deleted_at == Some(now) && gone.email.is_none() && gone.username.is_none() && gone.password_hash.is_none(),
        "not emptied: {gone:?}"
    );
    ensure!(gone.user_metadata == serde_json::json!({}) && gone.app_metadata == serde_json::json!({}), "metadata kept: {gone:?}");
    ensure!(store.get(&session.id).await.map_err(err)?.is_none(), "its session outlived it");
    ensure!(store.refresh_token(&token.id).await.map_err(err)?.is_none(), "its refresh token outlived it");
    let reuse = User { id: UserId::new(format!("contract-reuse-{nonce}")), ..made[0].clone() };
    let reuse = User { email: Some(moved.clone()), username: u.username.clone(), ..reuse };
    store.insert(&reuse).await.map_err(|e| format!("the address and username are not free again: {e}"))?;
    ensure!(!store.soft_delete(&UserId::new(format!("no-such-{nonce}")), now).await.map_err(err)?, "soft-deleted an unknown account");
    Ok(())
}
