//! The storage contract's passkey checks: a ceremony's challenge comes back whole once and
//! expired ones go; a passkey is stored whole, only through a live session of its account,
//! under the account's cap and only where no passkey or WebAuthn factor of any account holds
//! its credential id; a sign-in moves the counter only from the value it checked; renaming and
//! removing touch the account's own only.

use super::support::{ensure, err, p256_key, refresh, rotation_user, session};
use crate::model::{LogoutScope, Passkey, PasskeyCeremony, PasskeyChallenge, PasskeyChallengeId, PasskeyId, Timestamp, UserId, WebauthnCredential};
use crate::ports::{Factors, PasskeyAdded, PasskeyUse, Passkeys, Sessions, Store};

fn passkey(id: &str, user_id: &UserId, credential_id: &[u8], now: Timestamp) -> Result<Passkey, String> {
    Ok(Passkey {
        id: PasskeyId::new(id),
        user_id: user_id.clone(),
        credential: WebauthnCredential {
            id: credential_id.to_vec(),
            public_key: p256_key()?,
            sign_count: 7,
            aaguid: [0xcd; 16],
            backup_eligible: true,
            transports: vec!["internal".into(), "hybrid".into()],
        },
        backed_up: false,
        friendly_name: "Passkey".into(),
        created_at: now,
        last_used_at: None,
    })
}

/// Challenges, uniqueness across passkeys and factors, the cap, the counter, rename, remove.
/// Runs after the factor checks: the credential id `credential-{nonce}` is a factor's.
pub(super) async fn passkeys<S: Store>(store: &S, nonce: &str, now: Timestamp) -> Result<(), String> {
    let ann = rotation_user(store, nonce, "pk-ann", now).await?;
    let bob = rotation_user(store, nonce, "pk-bob", now).await?;
    let (ann_s, bob_s) = (session(&ann, &format!("pk-s-ann-{nonce}"), now), session(&bob, &format!("pk-s-bob-{nonce}"), now));
    for s in [&ann_s, &bob_s] {
        let started = Sessions::start(store, s, &refresh(s, &format!("{}-rt", s.id), None, now), None, None).await.map_err(err)?;
        ensure!(started, "the session {} did not start", s.id);
    }

    let old = PasskeyChallenge {
        id: PasskeyChallengeId::new(format!("pk-old-{nonce}")),
        ceremony: PasskeyCeremony::Authentication,
        user_id: None,
        challenge: vec![1; 32],
        client: "203.0.113.9".into(),
        created_at: now.plus_secs(-600),
    };
    Passkeys::put_passkey_challenge(store, &old, now.plus_secs(-900)).await.map_err(err)?;
    let c = PasskeyChallenge {
        id: PasskeyChallengeId::new(format!("pk-c-{nonce}")),
        ceremony: PasskeyCeremony::Registration,
        user_id: Some(ann.id.clone()),
        challenge: (0u8..32).collect(),
        created_at: now,
        ..old.clone()
    };
    Passkeys::put_passkey_challenge(store, &c, now.plus_secs(-300)).await.map_err(err)?;
    let taken = Passkeys::take_passkey_challenge(store, &c.id).await.map_err(err)?;
    ensure!(taken.as_ref() == Some(&c), "the challenge came back as {taken:?}");
    ensure!(Passkeys::take_passkey_challenge(store, &c.id).await.map_err(err)?.is_none(), "a challenge was taken twice");
    ensure!(Passkeys::take_passkey_challenge(store, &old.id).await.map_err(err)?.is_none(), "an expired challenge was kept");

    let credential = format!("pk-credential-{nonce}").into_bytes();
    let p = passkey(&format!("pk-1-{nonce}"), &ann.id, &credential, now)?;
    let added = Passkeys::add_passkey(store, &p, 2, &ann_s.id).await.map_err(err)?;
    ensure!(added == PasskeyAdded::Stored, "the passkey was {added:?}");
    let own = Passkeys::passkeys_of(store, &ann.id).await.map_err(err)?;
    ensure!(own == vec![p.clone()], "the passkeys came back as {own:?}");
    let found = Passkeys::passkey_by_credential(store, &credential).await.map_err(err)?;
    ensure!(found.as_ref() == Some(&p), "by credential: {found:?}");
    ensure!(Factors::credential_taken(store, &credential).await.map_err(err)?, "a passkey's credential id is free for factors");

    let theirs = passkey(&format!("pk-2-{nonce}"), &bob.id, &credential, now)?;
    let added = Passkeys::add_passkey(store, &theirs, 2, &bob_s.id).await.map_err(err)?;
    ensure!(added == PasskeyAdded::CredentialTaken, "another account's credential id was {added:?}");
    let factors = passkey(&format!("pk-3-{nonce}"), &bob.id, format!("credential-{nonce}").as_bytes(), now)?;
    let added = Passkeys::add_passkey(store, &factors, 2, &bob_s.id).await.map_err(err)?;
    ensure!(added == PasskeyAdded::CredentialTaken, "a factor's credential id was {added:?}");
    let over = passkey(&format!("pk-4-{nonce}"), &ann.id, format!("pk-other-{nonce}").as_bytes(), now)?;
    let added = Passkeys::add_passkey(store, &over, 1, &ann_s.id).await.map_err(err)?;
    ensure!(added == PasskeyAdded::TooMany, "a passkey over the cap was {added:?}");
    // Only through a live session of the passkey's own account.
    let free = passkey(&format!("pk-5-{nonce}"), &bob.id, format!("pk-free-{nonce}").as_bytes(), now)?;
    let added = Passkeys::add_passkey(store, &free, 2, &ann_s.id).await.map_err(err)?;
    ensure!(added == PasskeyAdded::SessionEnded, "a passkey through another account's session was {added:?}");
    Sessions::revoke(store, &bob.id, &bob_s.id, LogoutScope::Local, now).await.map_err(err)?;
    let added = Passkeys::add_passkey(store, &free, 2, &bob_s.id).await.map_err(err)?;
    ensure!(added == PasskeyAdded::SessionEnded, "a passkey through an ended session was {added:?}");
    ensure!(Passkeys::passkeys_of(store, &bob.id).await.map_err(err)?.is_empty(), "refused passkeys were stored");

    let later = now.plus_secs(60);
    let stale = PasskeyUse { id: &p.id, checked_count: 6, sign_count: 9, backed_up: true, at: later };
    ensure!(!Passkeys::passkey_used(store, &stale).await.map_err(err)?, "a counter moved from a value it no longer had");
    let used = PasskeyUse { checked_count: 7, ..stale };
    ensure!(Passkeys::passkey_used(store, &used).await.map_err(err)?, "a sign-in was not recorded");
    let back = Passkeys::passkey_by_credential(store, &credential).await.map_err(err)?.ok_or("the passkey went")?;
    ensure!(back.credential.sign_count == 9 && back.backed_up && back.last_used_at == Some(later), "after a sign-in: {back:?}");

    ensure!(Passkeys::rename_passkey(store, &bob.id, &p.id, "mine").await.map_err(err)?.is_none(), "another account renamed it");
    let renamed = Passkeys::rename_passkey(store, &ann.id, &p.id, "Laptop").await.map_err(err)?;
    ensure!(renamed.as_ref().map(|r| r.friendly_name.as_str()) == Some("Laptop"), "renamed: {renamed:?}");
    ensure!(!Passkeys::remove_passkey(store, &bob.id, &p.id).await.map_err(err)?, "another account removed it");
    ensure!(Passkeys::remove_passkey(store, &ann.id, &p.id).await.map_err(err)?, "the passkey was not removed");
    ensure!(Passkeys::passkey_by_credential(store, &credential).await.map_err(err)?.is_none(), "a removed passkey is found");
    Ok(())
}
