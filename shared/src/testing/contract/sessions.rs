//! The contract of the `Sessions` port: a start stores a session with its refresh or session
//! token under the conditions it is guarded by, reads give the session with its account,
//! refresh tokens rotate once, logout scopes end the right sessions, and touches are rationed.
//! Accounts are set up through `Users` but checked in `users`.

use super::support::{ensure, err, refresh, rotation_user, session};
use crate::model::{LogoutScope, Session, SessionId, SessionToken, Timestamp, User, UserId};
use crate::ports::{Sessions, StoreError, Users};

pub(super) async fn sessions_start<U: Users, S: Sessions>(
    users: &U,
    sessions: &S,
    user: &User,
    nonce: &str,
    now: Timestamp,
) -> Result<(), String> {
    let session = session(user, &format!("contract-session-{nonce}"), now.plus_secs(10));
    let token = refresh(&session, &format!("contract-rt-{nonce}"), None, now.plus_secs(10));
    ensure!(sessions.start(&session, &token, None, None).await.map_err(err)?, "start stored nothing");
    let got = sessions.get(&session.id).await.map_err(err)?;
    ensure!(got.as_ref() == Some(&session), "get returned {got:?}");
    ensure!(sessions.get(&SessionId::new("no-such-session")).await.map_err(err)?.is_none(), "unknown session found");
    let u = users.by_id(&user.id).await.map_err(err)?.ok_or("user vanished")?;
    ensure!(u.last_sign_in_at == Some(session.created_at), "last_sign_in_at {:?}", u.last_sign_in_at);
    let (t, s, u) = sessions.refresh_token(&token.id).await.map_err(err)?.ok_or("refresh_token found nothing")?;
    ensure!(t == token, "refresh_token returned {t:?}");
    ensure!(s == session && u.id == user.id, "refresh_token's session {s:?} or user {:?}", u.id);
    let (s, u) = sessions.with_user(&session.id).await.map_err(err)?.ok_or("with_user found nothing")?;
    ensure!(s == session && u.id == user.id, "with_user returned {s:?} of {:?}", u.id);
    ensure!(u.last_sign_in_at == Some(session.created_at), "with_user's user is stale: {:?}", u.last_sign_in_at);
    ensure!(sessions.with_user(&SessionId::new("no-such-session")).await.map_err(err)?.is_none(), "with_user found an unknown session");
    Ok(())
}

pub(super) async fn sessions_start_guarded<U: Users, S: Sessions>(
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
    ensure!(!sessions.start(&stale, &token, Some("$replaced$hash"), None).await.map_err(err)?, "a start with a replaced hash said it stored");
    ensure!(sessions.get(&stale.id).await.map_err(err)?.is_none(), "a start with a replaced hash stored its session");
    ensure!(sessions.refresh_token(&token.id).await.map_err(err)?.is_none(), "a start with a replaced hash stored its refresh token");
    let u = users.by_id(&user.id).await.map_err(err)?.ok_or("user vanished")?;
    ensure!(u.last_sign_in_at == before.last_sign_in_at, "a start with a replaced hash recorded a sign-in");
    let current = before.password_hash.clone().ok_or("the contract user has no password")?;
    let fresh = session(user, &format!("contract-guard-ok-{nonce}"), at);
    let token = refresh(&fresh, &format!("contract-guard-ok-rt-{nonce}"), None, at);
    ensure!(sessions.start(&fresh, &token, Some(&current), None).await.map_err(err)?, "a start with the current hash stored nothing");
    ensure!(sessions.refresh_token(&token.id).await.map_err(err)?.is_some(), "a start with the current hash lost its refresh token");
    Ok(())
}

pub(super) async fn sessions_rotate<S: Sessions>(sessions: &S, nonce: &str, now: Timestamp) -> Result<(), String> {
    // Sessions need their user; reuse the contract user created by the first check.
    let owner = User {
        id: UserId::new(format!("contract-user-{nonce}")),
        email: None,
        username: None,
        password_hash: None,
        email_confirmed_at: None,
        last_sign_in_at: None,
        user_metadata: serde_json::json!({}),
        created_at: now,
        updated_at: now,
        ..User::new(UserId::new(""), None, serde_json::json!({}), now)
    };
    let s = session(&owner, &format!("contract-rot-{nonce}"), now);
    let parent = refresh(&s, &format!("contract-rt-p-{nonce}"), None, now);
    ensure!(sessions.start(&s, &parent, None, None).await.map_err(err)?, "start stored nothing");
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

async fn live<S: Sessions>(sessions: &S, id: SessionId) -> Result<bool, StoreError> {
    Ok(sessions.get(&id).await?.is_some_and(|s| s.is_active()))
}

pub(super) async fn sessions_revoke<U: Users, S: Sessions>(users: &U, sessions: &S, nonce: &str, now: Timestamp) -> Result<(), String> {
    let user = rotation_user(users, nonce, "revoke", now).await?;
    let ids: Vec<SessionId> = (0..4).map(|i| SessionId::new(format!("contract-rv{i}-{nonce}"))).collect();
    for id in &ids {
        let s = session(&user, id.as_str(), now);
        ensure!(sessions.start(&s, &refresh(&s, &format!("{id}-rt"), None, now), None, None).await.map_err(err)?, "start stored nothing");
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
    let stranger = sessions.revoke(&UserId::new("someone-else"), &ids[2], LogoutScope::Global, at).await.map_err(err)?;
    ensure!(stranger == 0, "another user's logout ended {stranger} sessions");
    Ok(())
}

pub(super) async fn sessions_tokens<U: Users, S: Sessions>(users: &U, sessions: &S, nonce: &str, now: Timestamp) -> Result<(), String> {
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
    ensure!(sessions.start(&b, &refresh(&b, &format!("contract-tok-rt-{nonce}"), None, now), None, None).await.map_err(err)?, "start stored nothing");
    let (t, s, u) = sessions.session_token(&token.id).await.map_err(err)?.ok_or("session_token found nothing")?;
    ensure!(t == token && s == a && u.id == user.id, "session_token returned {t:?} with {s:?} of {:?}", u.id);
    ensure!(sessions.session_token("no-such-token").await.map_err(err)?.is_none(), "an unknown session token was found");
    let mut listed: Vec<SessionId> = sessions.list(&user.id).await.map_err(err)?.into_iter().map(|s| s.id).collect();
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
