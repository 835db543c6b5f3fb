//! The `CodeGuesses` port over `code_guesses`: one upsert per guess, returning the count.

use super::{s, t, D1Store};
use portcullis_shared::model::Timestamp;
use portcullis_shared::ports::{CodeGuesses, StoreError};
use serde::Deserialize;

#[derive(Deserialize)]
struct Count {
    guesses: f64,
}

impl CodeGuesses for D1Store {
    async fn take(&self, address: &str, now: Timestamp, window_secs: i64, max: u32) -> Result<bool, StoreError> {
        // One statement: a window older than `window_secs` starts over at this guess.
        let count = self
            .first::<Count>(
                "INSERT INTO code_guesses (address, window_start, guesses) VALUES (?1, ?2, 1) \
                 ON CONFLICT (address) DO UPDATE SET \
                   guesses = CASE WHEN code_guesses.window_start <= ?3 THEN 1 ELSE code_guesses.guesses + 1 END, \
                   window_start = CASE WHEN code_guesses.window_start <= ?3 THEN ?2 ELSE code_guesses.window_start END \
                 RETURNING guesses",
                &[s(address), t(now), t(now.plus_secs(-window_secs))],
            )
            .await?
            .ok_or_else(|| StoreError::Backend("code_guesses upsert returned no row".into()))?;
        Ok(count.guesses <= f64::from(max))
    }

    async fn give_back(&self, address: &str) -> Result<(), StoreError> {
        self.changes(
            "UPDATE code_guesses SET guesses = guesses - 1 WHERE address = ?1 AND guesses > 0",
            &[s(address)],
        )
        .await
        .map(|_| ())
    }
}
