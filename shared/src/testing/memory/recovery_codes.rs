//! `RecoveryCodes` over the memory store's maps: a set is a factor in `factors`, its codes'
//! hashes in `recovery_codes` under the factor's id (codes of a removed set are never reached
//! again: every lookup starts from the factor).

use super::MemoryStore;
use crate::model::{Aal, Factor, FactorId, FactorKind, SessionId, Timestamp, UserId};
use crate::ports::{CodesLeft, RecoveryCodes, RecoveryCodesAdded, StoreError};

impl MemoryStore {
    /// Whether `by` is a live `aal2` session of `user_id`.
    fn at_aal2(&self, user_id: &UserId, by: &SessionId) -> bool {
        self.sessions.borrow().get(by).is_some_and(|s| &s.user_id == user_id && s.revoked_at.is_none() && s.aal() == Aal::Aal2)
    }

    /// Uses the code `hash` of the set `factor_id`, if it holds it unused; returns whether it
    /// did (`Factors::answer`'s `Progress::RecoveryCode`).
    pub(super) fn recovery_code_unused(&self, factor_id: &FactorId, hash: &str) -> bool {
        self.recovery_codes.borrow().get(factor_id).is_some_and(|codes| codes.iter().any(|(h, used)| h == hash && used.is_none()))
    }

    /// Marks the code `hash` of the set `factor_id` used at `at`.
    pub(super) fn use_recovery_code(&self, factor_id: &FactorId, hash: &str, at: Timestamp) {
        if let Some(codes) = self.recovery_codes.borrow_mut().get_mut(factor_id) {
            for (_, used) in codes.iter_mut().filter(|(h, _)| h == hash) {
                *used = Some(at);
            }
        }
    }
}

fn fresh(hashes: &[String]) -> Vec<(String, Option<Timestamp>)> {
    hashes.iter().map(|h| (h.clone(), None)).collect()
}

impl RecoveryCodes for MemoryStore {
    async fn add_recovery_codes(&self, factor: &Factor, hashes: &[String], by: &SessionId) -> Result<RecoveryCodesAdded, StoreError> {
        if !self.at_aal2(&factor.user_id, by) {
            return Ok(RecoveryCodesAdded::Refused);
        }
        let mut factors = self.factors.borrow_mut();
        let own: Vec<&Factor> = factors.values().filter(|f| f.user_id == factor.user_id).collect();
        if own.iter().any(|f| f.kind == FactorKind::RecoveryCode) {
            return Ok(RecoveryCodesAdded::Exists);
        }
        if own.iter().any(|f| f.friendly_name == factor.friendly_name) {
            return Ok(RecoveryCodesAdded::NameTaken);
        }
        if !own.iter().any(|f| f.verified) {
            return Ok(RecoveryCodesAdded::SoleFactor);
        }
        factors.insert(factor.id.clone(), factor.clone());
        self.recovery_codes.borrow_mut().insert(factor.id.clone(), fresh(hashes));
        Ok(RecoveryCodesAdded::Stored)
    }

    async fn replace_recovery_codes(&self, user_id: &UserId, factor_id: &FactorId, hashes: &[String], by: &SessionId, at: Timestamp) -> Result<bool, StoreError> {
        if !self.at_aal2(user_id, by) {
            return Ok(false);
        }
        let mut factors = self.factors.borrow_mut();
        match factors.get_mut(factor_id) {
            Some(f) if &f.user_id == user_id && f.kind == FactorKind::RecoveryCode => f.updated_at = at,
            _ => return Ok(false),
        }
        drop(factors);
        self.recovery_codes.borrow_mut().insert(factor_id.clone(), fresh(hashes));
        // What the old codes raised comes down with them, but the session replacing them.
        for s in self.sessions.borrow_mut().values_mut() {
            if &s.user_id == user_id && &s.id != by && s.second.as_ref().is_some_and(|st| &st.factor_id == factor_id) {
                s.second = None;
            }
        }
        Ok(true)
    }

    async fn recovery_codes_left(&self, factor_id: &FactorId) -> Result<CodesLeft, StoreError> {
        let codes = self.recovery_codes.borrow();
        let codes = codes.get(factor_id).map_or(&[][..], Vec::as_slice);
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(CodesLeft { total: count(codes.len()), remaining: count(codes.iter().filter(|(_, used)| used.is_none()).count()) })
    }
}
