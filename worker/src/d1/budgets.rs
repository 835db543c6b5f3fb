//! The `Budgets` port over `budgets`: one upsert per use, returning the count; a sign-in's
//! uses and its account's read in one batch.

use super::users::{user_by, UserRow};
use super::{s, t, D1Store};
use portcullis_shared::model::{Timestamp, User};
use portcullis_shared::ports::{AccountName, Budgets, StoreError};
use serde::Deserialize;
use worker::D1PreparedStatement;

#[derive(Deserialize)]
struct Used {
    used: f64,
}

/// One statement per use: a window older than `window_secs` starts over at this use.
const TAKE: &str = "INSERT INTO budgets (key, window_start, used) VALUES (?1, ?2, 1) \
     ON CONFLICT (key) DO UPDATE SET \
       used = CASE WHEN budgets.window_start <= ?3 THEN 1 ELSE budgets.used + 1 END, \
       window_start = CASE WHEN budgets.window_start <= ?3 THEN ?2 ELSE budgets.window_start END \
     RETURNING used";

const GIVE_BACK: &str = "UPDATE budgets SET used = used - 1 WHERE key = ?1 AND used > 0";

impl D1Store {
    /// One `TAKE` statement per use, for one batch.
    fn takes(&self, uses: &[(&str, u32)], now: Timestamp, window_secs: i64) -> Result<Vec<D1PreparedStatement>, StoreError> {
        uses.iter().map(|(key, _)| self.stmt(TAKE, &[s(key), t(now), t(now.plus_secs(-window_secs))])).collect()
    }
}

impl Budgets for D1Store {
    async fn take_all(&self, uses: &[(&str, u32)], now: Timestamp, window_secs: i64) -> Result<bool, StoreError> {
        let results = self.batch(self.takes(uses, now, window_secs)?).await?;
        self.settle(&results, uses).await
    }

    async fn take_all_and_find(
        &self,
        uses: &[(&str, u32)],
        now: Timestamp,
        window_secs: i64,
        name: AccountName<'_>,
    ) -> Result<(bool, Option<User>), StoreError> {
        // The uses and the account's read in one batch: one round trip where two would be.
        let mut statements = self.takes(uses, now, window_secs)?;
        statements.push(self.stmt(&user_by(name), &[s(name.as_str())])?);
        let mut results = self.batch(statements).await?;
        let found = results.pop().ok_or_else(|| StoreError::Backend("the account's read returned nothing".into()))?;
        let user = found.results::<UserRow>().map_err(super::backend)?.into_iter().next().map(UserRow::into_user).transpose()?;
        Ok((self.settle(&results, uses).await?, user))
    }

    async fn give_back(&self, key: &str) -> Result<(), StoreError> {
        self.changes(GIVE_BACK, &[s(key)]).await.map(|_| ())
    }

    async fn give_back_all(&self, keys: &[String]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let statements = keys.iter().map(|key| self.stmt(GIVE_BACK, &[s(key)])).collect::<Result<Vec<_>, _>>()?;
        self.batch(statements).await.map(|_| ())
    }
}

impl D1Store {
    /// Whether every one of `uses` was within its max, by its upsert's `results`; if one was
    /// not, gives all of them back (all or nothing: one more round trip, only when refusing; a
    /// concurrent taker may meanwhile see them and be refused too).
    async fn settle(&self, results: &[worker::D1Result], uses: &[(&str, u32)]) -> Result<bool, StoreError> {
        let mut all_within = true;
        for (result, (_, max)) in results.iter().zip(uses) {
            let used = result
                .results::<Used>()
                .map_err(super::backend)?
                .into_iter()
                .next()
                .ok_or_else(|| StoreError::Backend("budgets upsert returned no row".into()))?;
            all_within &= used.used <= f64::from(*max);
        }
        if !all_within {
            let undo = uses.iter().map(|(key, _)| self.stmt(GIVE_BACK, &[s(key)])).collect::<Result<Vec<_>, _>>()?;
            self.batch(undo).await?;
        }
        Ok(all_within)
    }
}
