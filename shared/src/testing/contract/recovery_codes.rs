//! The storage contract's recovery-code checks: a set is stored only beside another verified
//! factor, from a live `aal2` session, once an account; each code answers once; a replacement
//! needs that session too, leaves only the new codes and lowers the other sessions the old
//! ones raised; the set goes with the last other factor, lowering the sessions it raised.

use super::factors::{account, answer, challenge};
use super::support::{ensure, err, p256_key, refresh, rotation_user, session};
use crate::model::{AuthMethod, Factor, FactorId, FactorKind, Session, Timestamp, WebauthnCredential};
use crate::ports::{CodesLeft, Factors, Progress, RecoveryCodesAdded, Sessions, Store};

fn set(of: &Session, id: &str, name: &str, now: Timestamp) -> Factor {
    Factor {
        id: FactorId::new(id),
        user_id: of.user_id.clone(),
        friendly_name: name.into(),
        kind: FactorKind::RecoveryCode,
        verified: true,
        sealed_secret: String::new(),
        last_step: None,
        created_at: now,
        updated_at: now,
        last_challenged_at: None,
        credential: None,
    }
}

/// Sets, codes, replacement and removal.
pub(super) async fn recovery_codes<S: Store>(store: &S, nonce: &str, now: Timestamp) -> Result<(), String> {
    let key = p256_key()?;
    let credential = WebauthnCredential {
        id: format!("rc-credential-{nonce}").into_bytes(),
        public_key: key,
        sign_count: 0,
        aaguid: [0; 16],
        backup_eligible: false,
        transports: Vec::new(),
    };
    // Dan: a verified factor, a session raised with it, and a password session below it.
    let dan = account(store, nonce, "rc-dan", now).await?;
    let c = challenge(store, &dan.2, &format!("rc-c1-{nonce}"), now).await?;
    ensure!(answer(store, &dan, &c, Progress::Register(&credential), now).await?, "the factor's registration was refused");
    let low = session(&dan.0, &format!("rc-low-{nonce}"), now);
    ensure!(Sessions::start(store, &low, &refresh(&low, &format!("rc-low-{nonce}-t"), None, now), None, None).await.map_err(err)?, "no aal1 session");
    let codes = set(&dan.1, &format!("rc-set-{nonce}"), "Recovery codes", now);
    let hashes: Vec<String> = ["h1", "h2", "h3"].iter().map(|h| format!("{h}-{nonce}")).collect();

    let added = store.add_recovery_codes(&codes, &hashes, &low.id).await.map_err(err)?;
    ensure!(added == RecoveryCodesAdded::Refused, "an aal1 session stored a set: {added:?}");
    let taken = set(&dan.1, &format!("rc-set-name-{nonce}"), "key", now);
    let added = store.add_recovery_codes(&taken, &hashes, &dan.1.id).await.map_err(err)?;
    ensure!(added == RecoveryCodesAdded::NameTaken, "a set took a factor's name: {added:?}");
    let added = store.add_recovery_codes(&codes, &hashes, &dan.1.id).await.map_err(err)?;
    ensure!(added == RecoveryCodesAdded::Stored, "the set was {added:?}");
    let second = set(&dan.1, &format!("rc-set-2-{nonce}"), "Other", now);
    let added = store.add_recovery_codes(&second, &hashes, &dan.1.id).await.map_err(err)?;
    ensure!(added == RecoveryCodesAdded::Exists, "a second set was {added:?}");
    let left = store.recovery_codes_left(&codes.id).await.map_err(err)?;
    ensure!(left == CodesLeft { total: 3, remaining: 3 }, "a new set has {left:?}");

    // Each code answers once, raising the aal1 session.
    let who = (dan.0.clone(), low.clone(), codes.clone());
    let c = challenge(store, &codes, &format!("rc-c2-{nonce}"), now).await?;
    ensure!(!answer(store, &who, &c, Progress::RecoveryCode(&format!("nope-{nonce}")), now).await?, "an unknown code was taken");
    ensure!(answer(store, &who, &c, Progress::RecoveryCode(&hashes[0]), now).await?, "a code was refused");
    let c = challenge(store, &codes, &format!("rc-c3-{nonce}"), now).await?;
    ensure!(!answer(store, &who, &c, Progress::RecoveryCode(&hashes[0]), now).await?, "a used code was taken again");
    let left = store.recovery_codes_left(&codes.id).await.map_err(err)?;
    ensure!(left == CodesLeft { total: 3, remaining: 2 }, "after one use the set has {left:?}");
    let raised = Sessions::get(store, &low.id).await.map_err(err)?;
    ensure!(raised.as_ref().and_then(|s| s.second.as_ref()).is_some_and(|st| st.factor_id == codes.id), "the session was not raised by the code");

    // A replacement, from an aal2 session only, leaves only the new codes.
    let stranger = rotation_user(store, nonce, "rc-eve", now).await?;
    let theirs = session(&stranger, &format!("rc-eve-{nonce}"), now);
    let fresh: Vec<String> = ["n1", "n2"].iter().map(|h| format!("{h}-{nonce}")).collect();
    ensure!(!store.replace_recovery_codes(&dan.0.id, &codes.id, &fresh, &theirs.id, now).await.map_err(err)?, "another account's session replaced the set");
    ensure!(store.replace_recovery_codes(&dan.0.id, &codes.id, &fresh, &dan.1.id, now).await.map_err(err)?, "the replacement was refused");
    let left = store.recovery_codes_left(&codes.id).await.map_err(err)?;
    ensure!(left == CodesLeft { total: 2, remaining: 2 }, "the replaced set has {left:?}");
    let lowered = Sessions::get(store, &low.id).await.map_err(err)?;
    ensure!(lowered.is_some_and(|s| s.second.is_none() && s.revoked_at.is_none()), "a session an old code raised kept aal2 after the replacement");
    let kept = Sessions::get(store, &dan.1.id).await.map_err(err)?;
    ensure!(kept.is_some_and(|s| s.second.is_some()), "the replacing session was lowered");
    let c = challenge(store, &codes, &format!("rc-c4-{nonce}"), now).await?;
    ensure!(!answer(store, &who, &c, Progress::RecoveryCode(&hashes[1]), now).await?, "a replaced code was taken");
    ensure!(answer(store, &who, &c, Progress::RecoveryCode(&fresh[1]), now).await?, "a new code was refused");

    // The set goes with the last other factor; the session it raised comes down.
    ensure!(Factors::remove(store, &dan.0.id, &dan.2.id, now).await.map_err(err)?, "the factor was not removed");
    let left = Factors::of_user(store, &dan.0.id).await.map_err(err)?;
    ensure!(left.is_empty(), "the set outlived the last other factor: {left:?}");
    let lowered = Sessions::get(store, &low.id).await.map_err(err)?;
    ensure!(lowered.is_some_and(|s| s.second.is_none() && s.revoked_at.is_none()), "the session the set raised was not lowered");

    // Never the only factor: a passkey's aal2 session of an account without one stores none.
    let fay = rotation_user(store, nonce, "rc-fay", now).await?;
    let passkey = Session { method: AuthMethod::Passkey, ..session(&fay, &format!("rc-fay-{nonce}"), now) };
    ensure!(Sessions::start(store, &passkey, &refresh(&passkey, &format!("rc-fay-{nonce}-t"), None, now), None, None).await.map_err(err)?, "no passkey session");
    let alone = set(&passkey, &format!("rc-set-fay-{nonce}"), "Recovery codes", now);
    let added = store.add_recovery_codes(&alone, &hashes, &passkey.id).await.map_err(err)?;
    ensure!(added == RecoveryCodesAdded::SoleFactor, "a set without another factor was {added:?}");
    Ok(())
}
