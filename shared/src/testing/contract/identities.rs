//! The storage contract's provider identity checks: an identity is stored whole and found by
//! its provider's subject; a subject is held by one account at most, across all of them, and a
//! new account stored with its first identity is stored whole or not at all; a link lands only
//! while the account is as the flow saw it (address, confirmation, not deleted, the asking
//! session live); a sign-in is recorded; removal touches the account's own only; and a first
//! proof that forgets, a soft deletion and a deletion take the account's identities.

use super::support::{ensure, err, refresh, rotation_user, session};
use crate::model::{Identity, IdentityId, LogoutScope, Timestamp, User, UserId};
use crate::ports::{FirstProof, Identities, IdentityAdded, Sessions, Store, StoreError, StoreWhile, Users};

fn identity(id: &str, user_id: &UserId, provider: &str, subject: &str, at: Timestamp) -> Identity {
    Identity {
        id: IdentityId::new(id),
        user_id: user_id.clone(),
        provider: provider.into(),
        subject: subject.into(),
        email: Some(format!("{subject}@provider.example")),
        data: serde_json::json!({"sub": subject, "email_verified": true, "name": "Ünïcode", "n": 1}),
        created_at: at,
        updated_at: at,
        last_sign_in_at: Some(at),
    }
}

/// The account as it is stored now, with `session` (if one asked) live.
async fn seen<S: Users>(store: &S, user: &UserId, session: Option<&crate::model::SessionId>) -> Result<StoreWhile, String> {
    let u = Users::by_id(store, user).await.map_err(err)?.ok_or("the account vanished")?;
    Ok(StoreWhile::seen(&u, session))
}

/// The account's `providers` as stored now.
async fn providers_of<S: Users>(store: &S, user: &UserId) -> Result<Vec<String>, String> {
    Ok(Users::by_id(store, user).await.map_err(err)?.ok_or("the account vanished")?.providers)
}

async fn found<S: Identities>(store: &S, i: &Identity) -> Result<Option<Identity>, String> {
    Identities::identity(store, &i.provider, &i.subject).await.map_err(err)
}

/// Uniqueness across accounts, the new account stored with its identity, the conditions of a
/// link, a sign-in, removal.
pub(super) async fn identities<S: Store>(store: &S, nonce: &str, now: Timestamp) -> Result<(), String> {
    let ann = rotation_user(store, nonce, "id-ann", now).await?;
    let bob = rotation_user(store, nonce, "id-bob", now).await?;
    let (ann_s, bob_s) = (session(&ann, &format!("id-s-ann-{nonce}"), now), session(&bob, &format!("id-s-bob-{nonce}"), now));
    for s in [&ann_s, &bob_s] {
        let started = Sessions::start(store, s, &refresh(s, &format!("{}-rt", s.id), None, now), None, None).await.map_err(err)?;
        ensure!(started, "the session {} did not start", s.id);
    }

    // Oldest first, whatever the ids say.
    let first = identity(&format!("id-z-{nonce}"), &ann.id, "google", &format!("sub-ann-{nonce}"), now);
    let second = identity(&format!("id-a-{nonce}"), &ann.id, "github", &format!("sub-ann-{nonce}"), now.plus_secs(1));
    let added = Identities::add_identity(store, &first, &seen(store, &ann.id, Some(&ann_s.id)).await?).await.map_err(err)?;
    ensure!(added == IdentityAdded::Stored, "the identity was {added:?}");
    let added = Identities::add_identity(store, &second, &seen(store, &ann.id, None).await?).await.map_err(err)?;
    ensure!(added == IdentityAdded::Stored, "the same subject at another provider was {added:?}");
    let back = found(store, &first).await?;
    ensure!(back.as_ref() == Some(&first), "the identity came back as {back:?}");
    ensure!(Identities::identity(store, "gitlab", &first.subject).await.map_err(err)?.is_none(), "found at a provider it is not at");
    let own = Identities::identities_of(store, &ann.id).await.map_err(err)?;
    ensure!(own == vec![first.clone(), second.clone()], "the account's identities came back as {own:?}");
    let providers = providers_of(store, &ann.id).await?;
    ensure!(providers == ["google", "github"], "the account's providers after two links: {providers:?}");

    // One holder per subject: another account, or this one again under another id.
    let theirs = Identity { id: IdentityId::new(format!("id-theirs-{nonce}")), user_id: bob.id.clone(), ..first.clone() };
    let added = Identities::add_identity(store, &theirs, &seen(store, &bob.id, Some(&bob_s.id)).await?).await.map_err(err)?;
    ensure!(added == IdentityAdded::Taken, "another account's subject was {added:?}");
    let again = Identity { id: IdentityId::new(format!("id-again-{nonce}")), ..first.clone() };
    let added = Identities::add_identity(store, &again, &seen(store, &ann.id, None).await?).await.map_err(err)?;
    ensure!(added == IdentityAdded::Taken, "the account's own subject again was {added:?}");
    ensure!(Identities::identities_of(store, &bob.id).await.map_err(err)?.is_empty(), "a taken subject was stored");
    ensure!(found(store, &first).await?.as_ref() == Some(&first), "a refused link changed the holder's identity");

    // A new account with its first identity: whole, or nothing on either conflict.
    let new_user = |tag: &str| User {
        id: UserId::new(format!("contract-id-{tag}-{nonce}")),
        email: Some(format!("contract-id-{tag}-{nonce}@example.com")),
        email_confirmed_at: Some(now),
        ..ann.clone()
    };
    let carol = new_user("carol");
    let carols = Identity { id: IdentityId::new(format!("id-carol-{nonce}")), user_id: carol.id.clone(), ..first.clone() };
    match Identities::insert_with_identity(store, &carol, &carols).await {
        Err(StoreError::Conflict("identity")) => {}
        r => return Err(format!("a new account with a taken subject: {r:?}")),
    }
    ensure!(Users::by_id(store, &carol.id).await.map_err(err)?.is_none(), "the account of a taken subject was stored");
    ensure!(Users::by_email(store, carol.email.as_deref().unwrap_or_default()).await.map_err(err)?.is_none(), "its address was taken");
    let dave = User { email: ann.email.clone(), ..new_user("dave") };
    let daves = identity(&format!("id-dave-{nonce}"), &dave.id, "google", &format!("sub-dave-{nonce}"), now);
    match Identities::insert_with_identity(store, &dave, &daves).await {
        Err(StoreError::Conflict("email")) => {}
        r => return Err(format!("a new account with a taken address: {r:?}")),
    }
    ensure!(found(store, &daves).await?.is_none(), "the identity of an account with a taken address was stored");
    ensure!(Users::by_id(store, &dave.id).await.map_err(err)?.is_none(), "an account with a taken address was stored");
    let erin = User { made_by: Some("google".into()), ..new_user("erin") };
    let erins = identity(&format!("id-erin-{nonce}"), &erin.id, "google", &format!("sub-erin-{nonce}"), now);
    Identities::insert_with_identity(store, &erin, &erins).await.map_err(err)?;
    // Its providers are its identity's, whatever the account said.
    let stored = Users::by_id(store, &erin.id).await.map_err(err)?;
    ensure!(stored == Some(User { providers: vec!["google".into()], ..erin.clone() }), "the new account was not stored whole: {stored:?}");
    ensure!(Identities::identities_of(store, &erin.id).await.map_err(err)? == vec![erins.clone()], "the new account's identity");

    // A link lands only while the account is as seen.
    let later = now.plus_secs(5);
    let bobs = |tag: &str| identity(&format!("id-bob-{tag}-{nonce}"), &bob.id, "google", &format!("sub-bob-{tag}-{nonce}"), now);
    let before_move = seen(store, &bob.id, None).await?;
    Users::set_email(store, &bob.id, &format!("contract-id-bob-moved-{nonce}@example.com"), true, later).await.map_err(err)?;
    let added = Identities::add_identity(store, &bobs("moved"), &before_move).await.map_err(err)?;
    ensure!(added == IdentityAdded::Changed, "a link to an address the account left was {added:?}");
    let confirmed = seen(store, &bob.id, None).await?;
    Users::set_email(store, &bob.id, &format!("contract-id-bob-moved-{nonce}@example.com"), false, later).await.map_err(err)?;
    let added = Identities::add_identity(store, &bobs("unconfirmed"), &confirmed).await.map_err(err)?;
    ensure!(added == IdentityAdded::Changed, "a link seen confirmed, stored unconfirmed, was {added:?}");
    // An unconfirmed address as seen (NULL matching NULL) links.
    let unconfirmed = seen(store, &bob.id, Some(&bob_s.id)).await?;
    ensure!(unconfirmed.email_confirmed_at.is_none(), "set_email left the address confirmed");
    let added = Identities::add_identity(store, &bobs("as-seen"), &unconfirmed).await.map_err(err)?;
    ensure!(added == IdentityAdded::Stored, "a link to the unconfirmed address as seen was {added:?}");
    let other_session = StoreWhile { session: Some(ann_s.id.clone()), ..unconfirmed.clone() };
    let added = Identities::add_identity(store, &bobs("their-session"), &other_session).await.map_err(err)?;
    ensure!(added == IdentityAdded::Changed, "a link through another account's session was {added:?}");
    Sessions::revoke(store, &bob.id, &bob_s.id, LogoutScope::Local, later).await.map_err(err)?;
    let added = Identities::add_identity(store, &bobs("ended"), &unconfirmed).await.map_err(err)?;
    ensure!(added == IdentityAdded::Changed, "a link through an ended session was {added:?}");
    let gone = rotation_user(store, nonce, "id-gone", now).await?;
    ensure!(Users::soft_delete(store, &gone.id, later).await.map_err(err)?, "the soft deletion found no account");
    let deleted = seen(store, &gone.id, None).await?;
    let gones = identity(&format!("id-gone-{nonce}"), &gone.id, "google", &format!("sub-gone-{nonce}"), now);
    let added = Identities::add_identity(store, &gones, &deleted).await.map_err(err)?;
    ensure!(added == IdentityAdded::Changed, "a link to a soft-deleted account was {added:?}");
    let nobody = identity(&format!("id-nobody-{nonce}"), &UserId::new(format!("no-such-{nonce}")), "google", &format!("sub-nobody-{nonce}"), now);
    let added = Identities::add_identity(store, &nobody, &StoreWhile { email: None, email_confirmed_at: None, session: None }).await.map_err(err)?;
    ensure!(added == IdentityAdded::Changed, "a link to no account was {added:?}");
    for refused in [bobs("moved"), bobs("unconfirmed"), bobs("their-session"), bobs("ended"), gones, nobody] {
        ensure!(found(store, &refused).await?.is_none(), "a refused link was stored: {}", refused.id);
    }

    // A sign-in: what the provider said and when; `updated_at` moves only when that changed.
    let data = serde_json::json!({"sub": first.subject, "email_verified": false, "name": "Ann"});
    let email = format!("ann-{nonce}@provider.example");
    Identities::identity_used(store, &first.id, Some(&email), &data, later).await.map_err(err)?;
    let used = found(store, &first).await?.ok_or("the identity went")?;
    let want = Identity { email: Some(email.clone()), data: data.clone(), updated_at: later, last_sign_in_at: Some(later), ..first.clone() };
    ensure!(used == want, "after a sign-in: {used:?}");
    let latest = later.plus_secs(5);
    Identities::identity_used(store, &first.id, Some(&email), &data, latest).await.map_err(err)?;
    let used = found(store, &first).await?.ok_or("the identity went")?;
    ensure!(used == Identity { last_sign_in_at: Some(latest), ..want }, "after a sign-in that said the same: {used:?}");
    Identities::identity_used(store, &first.id, None, &data, latest).await.map_err(err)?;
    let used = found(store, &first).await?.ok_or("the identity went")?;
    ensure!(used.email.is_none() && used.updated_at == latest, "after a sign-in without an address: {used:?}");

    ensure!(!Identities::remove_identity(store, &bob.id, &first.id, 0).await.map_err(err)?, "another account removed it");
    ensure!(!Identities::remove_identity(store, &ann.id, &first.id, 2).await.map_err(err)?, "removed though the account keeps one other only");
    ensure!(Identities::remove_identity(store, &ann.id, &first.id, 1).await.map_err(err)?, "the identity was not removed");
    ensure!(found(store, &first).await?.is_none(), "a removed identity is found");
    ensure!(!Identities::remove_identity(store, &ann.id, &first.id, 0).await.map_err(err)?, "removed twice");
    ensure!(!Identities::remove_identity(store, &ann.id, &second.id, 1).await.map_err(err)?, "removed the last one");
    ensure!(Identities::identities_of(store, &ann.id).await.map_err(err)? == vec![second], "the removal took another identity");
    let providers = providers_of(store, &ann.id).await?;
    ensure!(providers == ["github"], "the account's providers after a removal: {providers:?}");
    // Two identities at one provider name it once; the removal of one keeps it.
    let third = identity(&format!("id-third-{nonce}"), &ann.id, "github", &format!("sub-ann-3-{nonce}"), now.plus_secs(2));
    let added = Identities::add_identity(store, &third, &seen(store, &ann.id, None).await?).await.map_err(err)?;
    ensure!(added == IdentityAdded::Stored, "a second identity at one provider was {added:?}");
    ensure!(providers_of(store, &ann.id).await? == ["github"], "a provider named twice");
    ensure!(Identities::remove_identity(store, &ann.id, &third.id, 1).await.map_err(err)?, "the third identity was not removed");
    ensure!(providers_of(store, &ann.id).await? == ["github"], "a provider dropped while an identity there remains");
    Ok(())
}

/// A first proof that forgets takes the account's identities, one that does not keeps them; a
/// soft deletion and a deletion take them, and free their subjects.
pub(super) async fn identities_go_with_the_account<S: Store>(store: &S, nonce: &str, now: Timestamp) -> Result<(), String> {
    let pat = rotation_user(store, nonce, "id-proof", now).await?;
    let link = identity(&format!("id-proof-{nonce}"), &pat.id, "google", &format!("sub-proof-{nonce}"), now);
    let added = Identities::add_identity(store, &link, &seen(store, &pat.id, None).await?).await.map_err(err)?;
    ensure!(added == IdentityAdded::Stored, "the identity was {added:?}");
    let later = now.plus_secs(1);
    Users::first_proof(store, &pat.id, FirstProof { new_email: None, forget: false }, later).await.map_err(err)?;
    ensure!(Identities::identities_of(store, &pat.id).await.map_err(err)? == vec![link.clone()], "a proof that does not forget took the identity");
    Users::first_proof(store, &pat.id, FirstProof { new_email: None, forget: true }, later).await.map_err(err)?;
    ensure!(Identities::identities_of(store, &pat.id).await.map_err(err)?.is_empty(), "a proof that forgets kept the identity");
    ensure!(providers_of(store, &pat.id).await?.is_empty(), "a proof that forgets kept the account's providers");
    ensure!(found(store, &link).await?.is_none(), "a forgotten identity is found");

    let relinked = Identity { id: IdentityId::new(format!("id-relinked-{nonce}")), ..link.clone() };
    let added = Identities::add_identity(store, &relinked, &seen(store, &pat.id, None).await?).await.map_err(err)?;
    ensure!(added == IdentityAdded::Stored, "linking again after the proof was {added:?}");
    ensure!(providers_of(store, &pat.id).await? == ["google"], "linking again after the proof");
    ensure!(Users::soft_delete(store, &pat.id, later).await.map_err(err)?, "the soft deletion found no account");
    ensure!(Identities::identities_of(store, &pat.id).await.map_err(err)?.is_empty(), "a soft deletion kept the identity");
    ensure!(providers_of(store, &pat.id).await?.is_empty(), "a soft deletion kept the account's providers");
    ensure!(found(store, &relinked).await?.is_none(), "a soft-deleted account's identity is found");

    // A first proof that forgets, and a soft deletion, clear who made an account.
    for (tag, soft) in [("rae", false), ("sam", true)] {
        let made = User {
            id: UserId::new(format!("contract-id-{tag}-{nonce}")),
            email: Some(format!("contract-id-{tag}-{nonce}@example.com")),
            made_by: Some("google".into()),
            ..pat.clone()
        };
        let its = identity(&format!("id-{tag}-{nonce}"), &made.id, "google", &format!("sub-{tag}-{nonce}"), now);
        Identities::insert_with_identity(store, &made, &its).await.map_err(err)?;
        let stored = Users::by_id(store, &made.id).await.map_err(err)?.ok_or("the made account vanished")?;
        ensure!(stored.made_by.as_deref() == Some("google"), "who made the account: {:?}", stored.made_by);
        match soft {
            false => Users::first_proof(store, &made.id, FirstProof { new_email: None, forget: true }, later).await.map_err(err)?,
            true => ensure!(Users::soft_delete(store, &made.id, later).await.map_err(err)?, "the soft deletion found no account"),
        }
        let after = Users::by_id(store, &made.id).await.map_err(err)?.ok_or("the made account vanished")?;
        ensure!(after.made_by.is_none() && after.providers.is_empty(), "after {}: {after:?}", if soft { "a soft deletion" } else { "a forgetting proof" });
    }

    // The subject is free again: a new account takes it, and its deletion frees it once more.
    let quinn = User {
        id: UserId::new(format!("contract-id-quinn-{nonce}")),
        email: Some(format!("contract-id-quinn-{nonce}@example.com")),
        ..pat.clone()
    };
    let quinns = Identity { id: IdentityId::new(format!("id-quinn-{nonce}")), user_id: quinn.id.clone(), ..link.clone() };
    Identities::insert_with_identity(store, &quinn, &quinns).await.map_err(|e| format!("the freed subject: {e}"))?;
    ensure!(found(store, &quinns).await?.as_ref() == Some(&quinns), "the freed subject's new identity");
    ensure!(Users::delete(store, &quinn.id).await.map_err(err)?, "the deletion found no account");
    ensure!(found(store, &quinns).await?.is_none(), "a deleted account's identity is found");
    ensure!(Identities::identities_of(store, &quinn.id).await.map_err(err)?.is_empty(), "a deleted account's identities are listed");
    Ok(())
}
