//! The contract of the `Codes` port: one live code per account and purpose, pairs stored whole,
//! tries capped and counted atomically, single use before expiry, lookup by recipient. A code's
//! PKCE challenge is checked with the auth codes, in `flow_states`.

use super::support::{code, ensure, err};
use crate::model::{CodeId, OneTimeCode, Purpose, Timestamp, User};
use crate::ports::{Codes, StoreWhile, Users};

pub(super) async fn codes_replace<C: Codes>(codes: &C, user: &User, nonce: &str, now: Timestamp) -> Result<(), String> {
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

pub(super) async fn codes_pair<C: Codes + Users>(codes: &C, user: &User, nonce: &str, now: Timestamp) -> Result<(), String> {
    // Stored while the account is as it is now (the condition's refusals: `first_proof`).
    let stored = codes.by_id(&user.id).await.map_err(err)?.ok_or("the account vanished")?;
    let cond = StoreWhile::seen(&stored, None);
    let half = |id: &str, purpose: Purpose, pair: &str| OneTimeCode {
        purpose,
        keeps_attempt: false,
        pair_id: Some(pair.to_string()),
        ..code(user, &format!("{id}-{nonce}"), &format!("{id}-link-{nonce}"), now)
    };
    let (a, b) = (half("pa1", Purpose::EmailChange, "p1"), half("pb1", Purpose::EmailChangeCurrent, "p1"));
    ensure!(codes.put_while(&[a.clone(), b], &cond).await.map_err(err)?, "a pair whose condition holds was not stored");
    let (a2, b2) = (half("pa2", Purpose::EmailChange, "p2"), half("pb2", Purpose::EmailChangeCurrent, "p2"));
    ensure!(codes.put_while(&[a2.clone(), b2.clone()], &cond).await.map_err(err)?, "the second pair was not stored");
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

pub(super) async fn codes_attempts<C: Codes>(codes: &C, user: &User, nonce: &str, now: Timestamp) -> Result<(), String> {
    let c = code(user, &format!("c3-{nonce}"), &format!("l3-{nonce}"), now);
    codes.put(&c).await.map_err(err)?;
    for i in 0..3 {
        ensure!(codes.take_attempt(&c.id, now, 3).await.map_err(err)?, "try {} refused", i + 1);
    }
    ensure!(!codes.take_attempt(&c.id, now, 3).await.map_err(err)?, "a fourth try of three was allowed");
    let got = codes.for_user(&user.id, Purpose::Signup).await.map_err(err)?.ok_or("code vanished")?;
    ensure!(got.attempts == 3, "attempts {}", got.attempts);
    ensure!(!codes.take_attempt(&CodeId::new("no-such-code"), now, 3).await.map_err(err)?, "a try on an unknown code");
    Ok(())
}

pub(super) async fn codes_consume<C: Codes>(codes: &C, user: &User, nonce: &str, now: Timestamp) -> Result<(), String> {
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

pub(super) async fn codes_recipient<C: Codes>(codes: &C, user: &User, nonce: &str, now: Timestamp) -> Result<(), String> {
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
