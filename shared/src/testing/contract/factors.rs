//! The storage contract's WebAuthn factor checks: a challenge keeps its bytes, a registration
//! stores the credential whole and only where no factor of any account holds its id, and an
//! assertion stores a counter only past the stored one; removing the last verified factor ends
//! the second steps never taken.

use super::support::{ensure, err, p256_key, refresh, rotation_user, session};
use crate::model::{Challenge, ChallengeId, Dialect, Factor, FactorId, FactorKind, Session, Timestamp, User, WebauthnCredential};
use crate::ports::{Answer, Enrolled, Factors, Progress, Sessions, Store};

/// An account with a live session and an unverified WebAuthn factor.
pub(super) async fn account<S: Store>(store: &S, nonce: &str, tag: &str, now: Timestamp) -> Result<(User, Session, Factor), String> {
    let user = rotation_user(store, nonce, tag, now).await?;
    let s = session(&user, &format!("wa-{tag}-{nonce}"), now);
    ensure!(Sessions::start(store, &s, &refresh(&s, &format!("wa-{tag}-{nonce}-t"), None, now), None, None).await.map_err(err)?, "no session");
    let factor = Factor {
        id: FactorId::new(format!("wa-{tag}-{nonce}")),
        user_id: user.id.clone(),
        friendly_name: "key".into(),
        kind: FactorKind::Webauthn,
        verified: false,
        sealed_secret: String::new(),
        last_step: None,
        created_at: now,
        updated_at: now,
        last_challenged_at: None,
        credential: None,
    };
    let stored = Factors::enroll(store, &factor, &s.id, 10, now.plus_secs(-3600)).await.map_err(err)?;
    ensure!(stored == Enrolled::Stored, "the factor was {stored:?}");
    Ok((user, s, factor))
}

/// A challenge of `factor` with its bytes, stored and read back whole.
pub(super) async fn challenge<S: Store>(store: &S, factor: &Factor, id: &str, now: Timestamp) -> Result<Challenge, String> {
    let c = Challenge {
        id: ChallengeId::new(id),
        factor_id: factor.id.clone(),
        created_at: now,
        verified_at: None,
        client: "203.0.113.9".into(),
        webauthn_challenge: Some((0u8..32).collect()),
    };
    Factors::challenge(store, &c, now.plus_secs(-300)).await.map_err(err)?;
    let back = Factors::get_challenge(store, &factor.id, &c.id).await.map_err(err)?;
    ensure!(back.as_ref() == Some(&c), "the challenge came back as {back:?}");
    Ok(c)
}

pub(super) async fn answer<S: Store>(store: &S, who: &(User, Session, Factor), c: &Challenge, progress: Progress<'_>, now: Timestamp) -> Result<bool, String> {
    let (user, s, factor) = who;
    let token = refresh(s, &format!("{}-answer", c.id.as_str()), None, now);
    let a = Answer {
        user_id: &user.id,
        factor_id: &factor.id,
        kind: factor.kind,
        challenge_id: &c.id,
        progress,
        made_after: now.plus_secs(-300),
        session_id: &s.id,
        refresh_token: &token,
        ticket: None,
        at: now,
    };
    Factors::answer(store, &a).await.map_err(err)
}

async fn factor_of<S: Store>(store: &S, who: &(User, Session, Factor)) -> Result<Factor, String> {
    let factors = Factors::of_user(store, &who.0.id).await.map_err(err)?;
    factors.into_iter().find(|f| f.id == who.2.id).ok_or_else(|| "the factor went".to_string())
}

/// Registration, uniqueness across accounts, and the counter.
pub(super) async fn webauthn_factors<S: Store>(store: &S, nonce: &str, now: Timestamp) -> Result<(), String> {
    let key = p256_key()?;
    let credential = WebauthnCredential {
        id: format!("credential-{nonce}").into_bytes(),
        public_key: key,
        sign_count: 3,
        aaguid: [0xab; 16],
        backup_eligible: true,
        transports: vec!["usb".into(), "nfc".into()],
    };
    let ann = account(store, nonce, "wa-ann", now).await?;
    let bob = account(store, nonce, "wa-bob", now).await?;
    ensure!(!Factors::credential_taken(store, &credential.id).await.map_err(err)?, "a credential nobody registered is taken");

    let c = challenge(store, &ann.2, &format!("wa-c1-{nonce}"), now).await?;
    ensure!(answer(store, &ann, &c, Progress::Register(&credential), now).await?, "the registration was refused");
    let stored = factor_of(store, &ann).await?;
    ensure!(stored.verified && stored.credential.as_ref() == Some(&credential), "the credential came back as {:?}", stored.credential);
    ensure!(Factors::credential_taken(store, &credential.id).await.map_err(err)?, "the registered credential is not taken");

    let c = challenge(store, &bob.2, &format!("wa-c2-{nonce}"), now).await?;
    ensure!(!answer(store, &bob, &c, Progress::Register(&credential), now).await?, "another account registered the same credential id");
    let theirs = factor_of(store, &bob).await?;
    ensure!(!theirs.verified && theirs.credential.is_none(), "the refused registration left {theirs:?}");

    let c = challenge(store, &ann.2, &format!("wa-c3-{nonce}"), now).await?;
    ensure!(!answer(store, &ann, &c, Progress::Counter(3), now).await?, "a counter that did not grow was taken");
    ensure!(answer(store, &ann, &c, Progress::Counter(4), now).await?, "a counter that grew was refused");
    let count = factor_of(store, &ann).await?.credential.map(|c| c.sign_count);
    ensure!(count == Some(4), "the counter is {count:?}");
    let c = challenge(store, &ann.2, &format!("wa-c4-{nonce}"), now).await?;
    ensure!(!answer(store, &ann, &c, Progress::Register(&credential), now).await?, "a verified factor registered again");

    // Removing the last verified factor ends the second steps never taken (sessions below aal2
    // outside GoTrue), lowers the one it raised, and leaves GoTrue's aal1 sessions. (An account
    // of its own: the passkeys check counts on Ann's credential staying registered.)
    let carol = account(store, nonce, "wa-carol", now).await?;
    let own = WebauthnCredential { id: format!("credential-carol-{nonce}").into_bytes(), ..credential.clone() };
    let c = challenge(store, &carol.2, &format!("wa-c5-{nonce}"), now).await?;
    ensure!(answer(store, &carol, &c, Progress::Register(&own), now).await?, "Carol's registration was refused");
    let pending = session(&carol.0, &format!("wa-pending-{nonce}"), now);
    let gotrue = Session { dialect: Some(Dialect::Gotrue), ..session(&carol.0, &format!("wa-gotrue-{nonce}"), now) };
    for s in [&pending, &gotrue] {
        let token = refresh(s, &format!("{}-t", s.id.as_str()), None, now);
        ensure!(Sessions::start(store, s, &token, None, None).await.map_err(err)?, "session {} did not start", s.id);
    }
    ensure!(Factors::remove(store, &carol.0.id, &carol.2.id, now).await.map_err(err)?, "the factor was not removed");
    let state = |s: &Session| {
        let id = s.id.clone();
        async move { Sessions::get(store, &id).await.map_err(err) }
    };
    let (p, g, raised) = (state(&pending).await?, state(&gotrue).await?, state(&carol.1).await?);
    ensure!(p.is_some_and(|p| p.revoked_at.is_some()), "a pending second step outlived the last factor");
    ensure!(g.is_some_and(|g| g.revoked_at.is_none()), "GoTrue's aal1 session ended with the factor");
    ensure!(raised.is_some_and(|r| r.revoked_at.is_none() && r.second.is_none()), "the raised session was not lowered");
    Ok(())
}
