//! The counting ports over the memory store: `Budgets` (units per key and window) and
//! `SendLimits` (the last send per address and purpose). No account data lives here.

use super::MemoryStore;
use crate::model::{Purpose, Timestamp};
use crate::ports::{Budgets, SendLimits, StoreError};

impl Budgets for MemoryStore {
    async fn take_all(&self, uses: &[(&str, u32)], now: Timestamp, window_secs: i64) -> Result<bool, StoreError> {
        if self.pause_at_budgets.get() {
            YieldOnce(false).await;
        }
        let mut all = self.budgets.borrow_mut();
        // The window a use falls in: the current one, or a fresh one once it has passed.
        let window = |key: &str| match all.get(key) {
            Some(&(start, used)) if start > now.plus_secs(-window_secs) => (start, used),
            _ => (now, 0),
        };
        let next: Vec<(String, (Timestamp, u32))> = uses.iter().map(|(key, _)| {
            let (start, used) = window(key);
            (key.to_string(), (start, used + 1))
        }).collect();
        if next.iter().zip(uses).any(|((_, (_, used)), (_, max))| used > max) {
            return Ok(false);
        }
        all.extend(next);
        Ok(true)
    }

    async fn give_back(&self, key: &str) -> Result<(), StoreError> {
        if let Some(entry) = self.budgets.borrow_mut().get_mut(key) {
            entry.1 = entry.1.saturating_sub(1);
        }
        Ok(())
    }
}

/// A future that is pending once (waking itself), then ready: one turn for whatever else the
/// executor is polling.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

impl SendLimits for MemoryStore {
    async fn claim(&self, address: &str, purpose: Purpose, now: Timestamp, interval_secs: i64) -> Result<Option<Timestamp>, StoreError> {
        let mut limits = self.send_limits.borrow_mut();
        let key = (address.to_string(), purpose);
        match limits.get(&key) {
            Some(last) if last.plus_secs(interval_secs) > now => Ok(Some(*last)),
            _ => {
                limits.insert(key, now);
                Ok(None)
            }
        }
    }

    async fn release(&self, address: &str, purpose: Purpose, claimed_at: Timestamp) -> Result<(), StoreError> {
        let mut limits = self.send_limits.borrow_mut();
        let key = (address.to_string(), purpose);
        if limits.get(&key) == Some(&claimed_at) {
            limits.remove(&key);
        }
        Ok(())
    }
}
