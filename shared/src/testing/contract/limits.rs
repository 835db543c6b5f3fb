//! The contract of the two counting ports: `SendLimits` (one mail per address and purpose per
//! interval, claims given back) and `Budgets` (units per key and window, taken all or nothing,
//! given back; a sign-in's take and its account's read at once).

use super::support::{ensure, err};
use crate::model::{Purpose, Timestamp, User, UserId};
use crate::ports::{AccountName, Budgets, SendLimits, Users};

pub(super) async fn limits_claim<L: SendLimits>(limits: &L, nonce: &str, now: Timestamp) -> Result<(), String> {
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

pub(super) async fn budgets_take<G: Budgets + Users>(guesses: &G, nonce: &str, now: Timestamp) -> Result<(), String> {
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
    take_and_find(guesses, nonce, now).await
}

/// `take_all_and_find`: the uses as `take_all` counts them, and the account the name names,
/// found whether or not they were within (by address, or by username in any case).
async fn take_and_find<G: Budgets + Users>(store: &G, nonce: &str, now: Timestamp) -> Result<(), String> {
    let owner = User {
        id: UserId::new(format!("contract-take-find-{nonce}")),
        email: Some(format!("contract-take-find-{nonce}@example.com")),
        username: Some(format!("Finder_{nonce}")),
        ..User::new(UserId::new(""), None, serde_json::json!({}), now)
    };
    store.insert(&owner).await.map_err(err)?;
    let email = owner.email.clone().ok_or("no address")?;
    let key = format!("login:contract-find-{nonce}");
    let found = |u: &Option<User>| u.as_ref().map(|u| u.id.clone());
    let (within, user) = store.take_all_and_find(&[(&key, 1)], now, 3600, AccountName::Email(&email)).await.map_err(err)?;
    ensure!(within && found(&user) == Some(owner.id.clone()), "a use within its max by address: {within} {user:?}");
    let upper = format!("FINDER_{nonce}");
    let (within, user) = store.take_all_and_find(&[(&key, 1)], now, 3600, AccountName::Username(&upper)).await.map_err(err)?;
    ensure!(!within && found(&user) == Some(owner.id.clone()), "a use over its max by username, in another case: {within} {user:?}");
    let nobody = format!("contract-nobody-{nonce}@example.com");
    let (within, user) = store.take_all_and_find(&[(&format!("{key}-2"), 1)], now, 3600, AccountName::Email(&nobody)).await.map_err(err)?;
    ensure!(within && user.is_none(), "an unknown address: {within} {user:?}");
    store.give_back(&key).await.map_err(err)?;
    ensure!(store.take(&key, now, 3600, 1).await.map_err(err)?, "the refused use was counted");
    // Both keys given back at once (a sign-in's give-backs): each is free again, once.
    let second = format!("{key}-2");
    store.give_back_all(&[key.clone(), second.clone()]).await.map_err(err)?;
    ensure!(store.take_all(&[(&key, 1), (&second, 1)], now, 3600).await.map_err(err)?, "give_back_all did not give both back");
    ensure!(!store.take(&key, now, 3600, 1).await.map_err(err)?, "give_back_all gave back more than one");
    Ok(())
}
