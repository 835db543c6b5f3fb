//! The `SendLimits` port over `send_limits`: one compare-and-swap upsert per claim.

use super::{s, t, ts, D1Store};
use portcullis_shared::model::{Purpose, Timestamp};
use portcullis_shared::ports::{SendLimits, StoreError};
use serde::Deserialize;

#[derive(Deserialize)]
struct LastSent {
    last_sent_at: f64,
}

impl SendLimits for D1Store {
    async fn claim(&self, address: &str, purpose: Purpose, now: Timestamp, interval_secs: i64) -> Result<Option<Timestamp>, StoreError> {
        // Compare-and-swap: the row is written only if absent or older than the interval.
        let claimed = self
            .changes(
                "INSERT INTO send_limits (address, purpose, last_sent_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (address, purpose) DO UPDATE SET last_sent_at = excluded.last_sent_at \
                 WHERE send_limits.last_sent_at <= ?4",
                &[s(address), s(purpose.as_str()), t(now), t(now.plus_secs(-interval_secs))],
            )
            .await?;
        if claimed == 1 {
            return Ok(None);
        }
        let last = self
            .first::<LastSent>(
                "SELECT last_sent_at FROM send_limits WHERE address = ?1 AND purpose = ?2",
                &[s(address), s(purpose.as_str())],
            )
            .await?;
        Ok(Some(last.map_or(now, |l| ts(l.last_sent_at))))
    }

    async fn release(&self, address: &str, purpose: Purpose, claimed_at: Timestamp) -> Result<(), StoreError> {
        self.changes(
            "DELETE FROM send_limits WHERE address = ?1 AND purpose = ?2 AND last_sent_at = ?3",
            &[s(address), s(purpose.as_str()), t(claimed_at)],
        )
        .await
        .map(|_| ())
    }
}
