//! `Housekeeping` over the memory store: one bounded round of removing what has expired, map by
//! map, as the D1 store does table by table. Which records have expired is the caller's
//! [`Expired`]; a session's tokens go with it, as D1's foreign keys take them.

use super::MemoryStore;
use crate::model::{Purpose, Session, UserId};
use crate::ports::{Expired, Housekeeping, Purged, StoreError};
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::Hash;

/// Removes at most `limit` entries of `map` that `expired` picks; returns how many went.
fn remove_some<K: Clone + Eq + Hash, V>(map: &RefCell<HashMap<K, V>>, limit: usize, expired: impl Fn(&V) -> bool) -> usize {
    let mut map = map.borrow_mut();
    let keys: Vec<K> = map.iter().filter(|(_, v)| expired(v)).map(|(k, _)| k.clone()).take(limit).collect();
    for key in &keys {
        map.remove(key);
    }
    keys.len()
}

fn session_expired(s: &Session, e: &Expired) -> bool {
    s.revoked_at.is_some_and(|at| at < e.ended_before)
        || e.started_before.is_some_and(|before| s.created_at < before)
        || e.idle_before.is_some_and(|before| s.last_active() < before)
}

impl MemoryStore {
    /// Removes unverified factors enrolled before the cutoff, their challenges with them, and
    /// marks an account left without factors so.
    fn purge_factors(&self, expired: &Expired, limit: usize) -> usize {
        let users: Vec<UserId> = self.factors.borrow().values().map(|f| f.user_id.clone()).collect();
        let gone = remove_some(&self.factors, limit, |f| !f.verified && f.created_at < expired.enrollments_before);
        let factors = self.factors.borrow();
        self.challenges.borrow_mut().retain(|_, c| factors.contains_key(&c.factor_id));
        for id in users.iter().filter(|id| !factors.values().any(|f| &f.user_id == *id)) {
            if let Some(u) = self.users.borrow_mut().get_mut(id) {
                u.mfa = crate::model::MfaState::Off;
            }
        }
        gone
    }
}

impl Housekeeping for MemoryStore {
    async fn purge(&self, expired: &Expired, limit: u32) -> Result<Purged, StoreError> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let refresh_tokens = remove_some(&self.refresh_tokens, limit, |t| t.used_at.is_some_and(|at| at < expired.used_before));
        let sessions = remove_some(&self.sessions, limit, |s| session_expired(s, expired));
        {
            let sessions = self.sessions.borrow();
            self.refresh_tokens.borrow_mut().retain(|_, t| sessions.contains_key(&t.session_id));
            self.session_tokens.borrow_mut().retain(|_, t| sessions.contains_key(&t.session_id));
        }
        let unconfirmed = |user_id: &UserId| self.users.borrow().get(user_id).is_some_and(|u| !u.is_confirmed());
        let codes = remove_some(&self.codes, limit, |c| {
            c.expires_at < expired.codes_before && !(c.purpose == Purpose::Signup && unconfirmed(&c.user_id))
        });
        Ok(Purged {
            sessions,
            refresh_tokens,
            codes,
            flow_states: remove_some(&self.flow_states, limit, |f| f.expires_at < expired.flow_states_before)
                + remove_some(&self.oauth_flows, limit, |f| f.expires_at < expired.flow_states_before),
            login_requests: remove_some(&self.login_requests, limit, |r| r.expires_at < expired.login_requests_before),
            budgets: remove_some(&self.budgets, limit, |&(start, _)| start < expired.windows_before),
            send_limits: remove_some(&self.send_limits, limit, |&last| last < expired.sent_before),
            challenges: remove_some(&self.challenges, limit, |c| c.created_at < expired.challenges_before),
            factors: self.purge_factors(expired, limit),
        })
    }
}
