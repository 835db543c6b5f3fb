//! The contract of `Users::first_proof` and of the writes a session asks for: the proof is one
//! step (password and metadata gone, every session ended with the codes its sessions asked for,
//! the address confirmed, or moved and confirmed, or nothing at all on a taken address), and a
//! write conditional on a session lands only while that session is live (`Codes::put_while`:
//! and while the account's address is as the request saw it).

use super::support::{code, ensure, err, refresh, rotation_user, session};
use crate::model::{CodeId, Purpose, Timestamp, User};
use crate::ports::{Codes, FirstProof, Sessions, StoreError, StoreWhile, Users};

pub(super) async fn first_proof<S: Users + Sessions + Codes>(store: &S, nonce: &str, now: Timestamp) -> Result<(), String> {
    let owner = rotation_user(store, nonce, "proof", now).await?;
    let other = rotation_user(store, nonce, "proof-other", now).await?;
    let (s1, s2) = (session(&owner, &format!("contract-proof-s1-{nonce}"), now), session(&owner, &format!("contract-proof-s2-{nonce}"), now));
    for (s, t) in [(&s1, "a"), (&s2, "b")] {
        ensure!(store.start(s, &refresh(s, &format!("contract-proof-rt{t}-{nonce}"), None, now), None, None).await.map_err(err)?, "start stored nothing");
    }
    let later = now.plus_secs(2);
    ensure!(store.set_password_hash(&owner.id, "$stranger$hash", later, Some(&s1.id)).await.map_err(err)?, "a live session's write did not land");
    ensure!(store.set_metadata(&owner.id, &serde_json::json!({"set": "by s1"}), later, Some(&s1.id)).await.map_err(err)?, "a live session's metadata did not land");
    ensure!(!store.set_metadata(&other.id, &serde_json::json!({"x": 1}), later, Some(&s1.id)).await.map_err(err)?, "another account's session wrote");
    let asked = |id: &str, purpose: Purpose| crate::model::OneTimeCode { purpose, ..code(&owner, &format!("contract-proof-{id}-{nonce}"), &format!("proof-link-{id}-{nonce}"), now) };
    store.put(&asked("reauth", Purpose::Reauthentication)).await.map_err(err)?;
    store.put(&asked("signup", Purpose::Signup)).await.map_err(err)?;
    // An email change a live session asked for, of the account as it is: stored.
    let seen = store.by_id(&owner.id).await.map_err(err)?.ok_or("the account vanished")?;
    let before_proof = StoreWhile::seen(&seen, Some(&s1.id));
    let change = asked("change", Purpose::EmailChange);
    ensure!(store.put_while(std::slice::from_ref(&change), &before_proof).await.map_err(err)?, "a live session's email change was not stored");
    ensure!(!store.put_while(&[asked("change-other", Purpose::EmailChange)], &StoreWhile { session: Some(s1.id.clone()), ..StoreWhile::seen(&other, None) }).await.map_err(err)?, "a code stored under another account's session");

    let proven = later.plus_secs(1);
    store.first_proof(&owner.id, FirstProof { new_email: None, forget: true }, proven).await.map_err(err)?;
    let u = store.by_id(&owner.id).await.map_err(err)?.ok_or("the account vanished")?;
    ensure!(u.password_hash.is_none() && u.user_metadata == serde_json::json!({}), "kept {:?} and {}", u.password_hash, u.user_metadata);
    ensure!(u.email_confirmed_at == Some(now) && !u.is_anonymous, "confirmation {:?}", u.email_confirmed_at);
    for s in [&s1, &s2] {
        let ended = store.get(&s.id).await.map_err(err)?.ok_or("a session vanished")?;
        ensure!(ended.revoked_at == Some(proven), "session {} revoked_at {:?}", s.id, ended.revoked_at);
    }
    ensure!(store.for_user(&owner.id, Purpose::Reauthentication).await.map_err(err)?.is_none(), "a session's re-authentication code survived");
    ensure!(store.for_user(&owner.id, Purpose::EmailChange).await.map_err(err)?.is_none(), "a session's email change survived");
    // Stored after the proof, what was asked before it is nothing: the session ended, and
    // the address is no longer as the request saw it.
    let late = asked("change-late", Purpose::EmailChange);
    ensure!(!store.put_while(std::slice::from_ref(&late), &before_proof).await.map_err(err)?, "an ended session's email change was stored");
    ensure!(store.for_user(&owner.id, Purpose::EmailChange).await.map_err(err)?.is_none(), "a refused put_while stored a code");
    let proven_state = store.by_id(&owner.id).await.map_err(err)?.ok_or("the account vanished")?;
    ensure!(store.put_while(std::slice::from_ref(&late), &StoreWhile::seen(&proven_state, None)).await.map_err(err)?, "a change of the account as it is now was refused");
    let kept = store.for_user(&owner.id, Purpose::Signup).await.map_err(err)?;
    ensure!(kept.map(|c| c.id) == Some(CodeId::new(format!("contract-proof-signup-{nonce}"))), "the proof took the sign-up code");

    // A session the proof ended writes nothing any more.
    ensure!(!store.set_password_hash(&owner.id, "$late$hash", proven, Some(&s1.id)).await.map_err(err)?, "an ended session's password landed");
    ensure!(!store.set_metadata(&owner.id, &serde_json::json!({"late": true}), proven, Some(&s2.id)).await.map_err(err)?, "an ended session's metadata landed");
    let u = store.by_id(&owner.id).await.map_err(err)?.ok_or("the account vanished")?;
    ensure!(u.password_hash.is_none() && u.user_metadata == serde_json::json!({}), "a late write landed: {:?} {}", u.password_hash, u.user_metadata);

    // The first address of an account without one: moved and confirmed in the same step, or,
    // onto a taken address, nothing at all.
    let fresh = User { id: crate::model::UserId::new(format!("contract-proof-anon-{nonce}")), email: None, email_confirmed_at: None, is_anonymous: true, password_hash: Some("$anon$hash".into()), ..owner.clone() };
    store.insert(&fresh).await.map_err(err)?;
    let taken = FirstProof { new_email: other.email.as_deref(), forget: true };
    match store.first_proof(&fresh.id, taken, proven).await {
        Err(StoreError::Conflict("email")) => {}
        r => return Err(format!("a proof onto a taken address: {r:?}")),
    }
    let untouched = store.by_id(&fresh.id).await.map_err(err)?.ok_or("the account vanished")?;
    ensure!(untouched == fresh, "a refused proof changed the account: {untouched:?}");
    let address = format!("contract-proof-new-{nonce}@example.com");
    store.first_proof(&fresh.id, FirstProof { new_email: Some(&address), forget: true }, proven).await.map_err(err)?;
    let moved = store.by_email(&address).await.map_err(err)?.ok_or("not found at its first address")?;
    ensure!(moved.id == fresh.id && moved.email_confirmed_at == Some(proven) && !moved.is_anonymous && moved.password_hash.is_none(), "{moved:?}");
    // An email change of the account as it was before its address was proven (none), stored
    // after: nothing, whoever asked.
    let stale = StoreWhile::seen(&fresh, None);
    let change = crate::model::OneTimeCode { purpose: Purpose::EmailChange, ..code(&fresh, &format!("contract-proof-stale-{nonce}"), &format!("proof-link-stale-{nonce}"), now) };
    ensure!(!store.put_while(std::slice::from_ref(&change), &stale).await.map_err(err)?, "an email change of the address as it was before the proof was stored");
    ensure!(store.for_user(&fresh.id, Purpose::EmailChange).await.map_err(err)?.is_none(), "a refused put_while stored a code");
    Ok(())
}
