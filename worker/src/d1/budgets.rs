//! The `Budgets` port over `budgets`: one upsert per use, returning the count.

use super::{s, t, D1Store};
use portcullis_shared::model::Timestamp;
use portcullis_shared::ports::{Budgets, StoreError};
use serde::Deserialize;

#[derive(Deserialize)]
struct Used {
    used: f64,
}

impl Budgets for D1Store {
    async fn take(&self, key: &str, now: Timestamp, window_secs: i64, max: u32) -> Result<bool, StoreError> {
        // One statement: a window older than `window_secs` starts over at this use.
        let count = self
            .first::<Used>(
                "INSERT INTO budgets (key, window_start, used) VALUES (?1, ?2, 1) \
                 ON CONFLICT (key) DO UPDATE SET \
                   used = CASE WHEN budgets.window_start <= ?3 THEN 1 ELSE budgets.used + 1 END, \
                   window_start = CASE WHEN budgets.window_start <= ?3 THEN ?2 ELSE budgets.window_start END \
                 RETURNING used",
                &[s(key), t(now), t(now.plus_secs(-window_secs))],
            )
            .await?
            .ok_or_else(|| StoreError::Backend("budgets upsert returned no row".into()))?;
        Ok(count.used <= f64::from(max))
    }

    async fn give_back(&self, key: &str) -> Result<(), StoreError> {
        self.changes("UPDATE budgets SET used = used - 1 WHERE key = ?1 AND used > 0", &[s(key)])
            .await
            .map(|_| ())
    }
}
