//! The contract of the two counting ports: `SendLimits` (one mail per address and purpose per
//! interval, claims given back) and `Budgets` (units per key and window, taken all or nothing,
//! given back). No account is involved.

use super::support::{ensure, err};
use crate::model::{Purpose, Timestamp};
use crate::ports::{Budgets, SendLimits};

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

pub(super) async fn budgets_take<G: Budgets>(guesses: &G, nonce: &str, now: Timestamp) -> Result<(), String> {
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
