//! `Factors` over the memory store's maps: factors and their challenges, with the conditions an
//! enrollment and an answer are written under. Removing an account's factors with the account
//! is done in `users`.

use super::MemoryStore;
use crate::model::{Aal, Challenge, ChallengeId, Factor, FactorId, FactorKind, MfaState, Purpose, SecondStep, SessionId, Timestamp, UserId};
use crate::ports::{Answer, Enrolled, Factors, Progress, StoreError};

impl MemoryStore {
    /// What factors the account has, written on the account.
    fn mark_mfa(&self, user_id: &UserId) {
        let factors = self.factors.borrow();
        let own = || factors.values().filter(|f| &f.user_id == user_id);
        let state = match (own().any(|f| f.verified), own().next().is_some()) {
            (true, _) => MfaState::On,
            (false, true) => MfaState::Enrolling,
            (false, false) => MfaState::Off,
        };
        if let Some(u) = self.users.borrow_mut().get_mut(user_id) {
            u.mfa = state;
        }
    }
}

impl Factors for MemoryStore {
    async fn enroll(&self, factor: &Factor, by: &SessionId, max: u32, stale_before: Timestamp) -> Result<Enrolled, StoreError> {
        let session = self.sessions.borrow().get(by).filter(|s| s.user_id == factor.user_id && s.revoked_at.is_none()).cloned();
        let has_verified = self.factors.borrow().values().any(|f| f.user_id == factor.user_id && f.verified);
        match session {
            Some(s) if !has_verified || s.aal() == Aal::Aal2 => {}
            _ => return Ok(Enrolled::Refused),
        }
        let challenged: Vec<FactorId> = self.challenges.borrow().values().map(|c| c.factor_id.clone()).collect();
        let mut factors = self.factors.borrow_mut();
        let stale = |f: &Factor| f.user_id == factor.user_id && !f.verified && f.created_at < stale_before && !challenged.contains(&f.id);
        factors.retain(|_, f| !stale(f));
        let own: Vec<&Factor> = factors.values().filter(|f| f.user_id == factor.user_id).collect();
        if own.iter().any(|f| f.friendly_name == factor.friendly_name) {
            return Ok(Enrolled::NameTaken);
        }
        if own.len() >= max as usize {
            return Ok(Enrolled::TooMany);
        }
        factors.insert(factor.id.clone(), factor.clone());
        drop(factors);
        self.mark_mfa(&factor.user_id);
        Ok(Enrolled::Stored)
    }

    async fn of_user(&self, user_id: &UserId) -> Result<Vec<Factor>, StoreError> {
        let mut own: Vec<Factor> = self.factors.borrow().values().filter(|f| &f.user_id == user_id).cloned().collect();
        own.sort_by(|a, b| (a.created_at, a.id.as_str()).cmp(&(b.created_at, b.id.as_str())));
        Ok(own)
    }

    async fn challenge(&self, challenge: &Challenge, expired_before: Timestamp) -> Result<(), StoreError> {
        let mut challenges = self.challenges.borrow_mut();
        challenges.retain(|_, c| !(c.factor_id == challenge.factor_id && c.created_at < expired_before));
        challenges.insert(challenge.id.clone(), challenge.clone());
        if let Some(f) = self.factors.borrow_mut().get_mut(&challenge.factor_id) {
            f.last_challenged_at = Some(challenge.created_at);
        }
        Ok(())
    }

    async fn get_challenge(&self, factor_id: &FactorId, id: &ChallengeId) -> Result<Option<Challenge>, StoreError> {
        Ok(self.challenges.borrow().get(id).filter(|c| &c.factor_id == factor_id).cloned())
    }

    async fn credential_taken(&self, id: &[u8]) -> Result<bool, StoreError> {
        Ok(self.factors.borrow().values().any(|f| f.credential.as_ref().is_some_and(|c| c.id == id))
            || self.passkeys.borrow().values().any(|p| p.credential.id == id))
    }

    async fn answer(&self, a: &Answer<'_>) -> Result<bool, StoreError> {
        let challenge_open = self
            .challenges
            .borrow()
            .get(a.challenge_id)
            .is_some_and(|c| &c.factor_id == a.factor_id && c.verified_at.is_none() && c.created_at > a.made_after);
        let credential_free = match a.progress {
            Progress::Register(c) => !self.credential_taken(&c.id).await?,
            Progress::Step(_) | Progress::Counter(_) | Progress::RecoveryCode(_) => true,
        };
        let step_fresh = credential_free
            && self.factors.borrow().get(a.factor_id).is_some_and(|f| {
                &f.user_id == a.user_id
                    && match a.progress {
                        Progress::Step(step) => f.last_step.is_none_or(|s| s < step),
                        Progress::Counter(n) => {
                            f.verified && f.credential.as_ref().is_some_and(|c| c.sign_count < n || (n == 0 && c.sign_count == 0))
                        }
                        Progress::Register(_) => !f.verified && f.credential.is_none(),
                        Progress::RecoveryCode(hash) => {
                            f.verified && f.kind == FactorKind::RecoveryCode && self.recovery_code_unused(a.factor_id, hash)
                        }
                    }
            });
        let session = self.sessions.borrow().get(a.session_id).filter(|s| &s.user_id == a.user_id && s.revoked_at.is_none()).cloned();
        let ticket_held = a.ticket.is_none_or(|t| self.refresh_tokens.borrow().get(t).is_some_and(|t| &t.session_id == a.session_id));
        let (newly_verified, account_verified) = {
            let factors = self.factors.borrow();
            let this = factors.get(a.factor_id).is_some_and(|f| f.verified);
            (!this, factors.values().any(|f| &f.user_id == a.user_id && f.verified))
        };
        let may_raise = !newly_verified || !account_verified || session.as_ref().is_some_and(|s| s.aal() == Aal::Aal2);
        if !(challenge_open && step_fresh && session.is_some() && ticket_held && may_raise) {
            return Ok(false);
        }
        if newly_verified {
            let asked_by_a_session = [Purpose::EmailChange, Purpose::EmailChangeCurrent, Purpose::Reauthentication];
            self.codes.borrow_mut().retain(|_, c| !(&c.user_id == a.user_id && asked_by_a_session.contains(&c.purpose)));
        }
        if let Some(c) = self.challenges.borrow_mut().get_mut(a.challenge_id) {
            c.verified_at = Some(a.at);
        }
        {
            let mut factors = self.factors.borrow_mut();
            if let Some(f) = factors.get_mut(a.factor_id) {
                f.verified = true;
                f.updated_at = a.at;
                match a.progress {
                    Progress::Step(step) => f.last_step = Some(step),
                    Progress::Counter(n) => {
                        if let Some(c) = f.credential.as_mut() {
                            c.sign_count = n;
                        }
                    }
                    Progress::Register(c) => f.credential = Some(c.clone()),
                    Progress::RecoveryCode(hash) => self.use_recovery_code(a.factor_id, hash, a.at),
                }
            }
            let first = !account_verified;
            factors.retain(|id, f| !(&f.user_id == a.user_id && id != a.factor_id && !f.verified && (f.kind == a.kind || first)));
        }
        self.mark_mfa(a.user_id);
        for s in self.sessions.borrow_mut().values_mut() {
            if &s.id == a.session_id {
                s.second = Some(SecondStep { factor_id: a.factor_id.clone(), kind: a.kind, at: a.at });
            } else if &s.user_id == a.user_id && s.revoked_at.is_none() && s.aal() < Aal::Aal2 {
                s.revoked_at = Some(a.at);
            }
        }
        let mut tokens = self.refresh_tokens.borrow_mut();
        tokens.retain(|_, t| &t.session_id != a.session_id);
        tokens.insert(a.refresh_token.id.clone(), a.refresh_token.clone());
        Ok(true)
    }

    async fn remove(&self, user_id: &UserId, factor_id: &FactorId, at: Timestamp) -> Result<bool, StoreError> {
        let (gone, last_verified) = {
            let mut factors = self.factors.borrow_mut();
            let Some(f) = factors.get(factor_id).filter(|f| &f.user_id == user_id) else {
                return Ok(false);
            };
            let own = |o: &&Factor| &o.user_id == user_id;
            let mut gone = vec![factor_id.clone()];
            // Recovery codes are never the only factor: they go with the last other one.
            let other_left = factors.values().filter(own).any(|o| o.verified && &o.id != factor_id && o.kind != FactorKind::RecoveryCode);
            if f.verified && f.kind != FactorKind::RecoveryCode && !other_left {
                gone.extend(factors.values().filter(own).filter(|o| o.kind == FactorKind::RecoveryCode).map(|o| o.id.clone()));
            }
            let last = f.verified && !factors.values().filter(own).any(|o| o.verified && !gone.contains(&o.id));
            for id in &gone {
                factors.remove(id);
            }
            (gone, last)
        };
        if last_verified {
            // The sessions below aal2 outside GoTrue are second steps never taken.
            for s in self.sessions.borrow_mut().values_mut() {
                let outside_gotrue = s.dialect != Some(crate::model::Dialect::Gotrue);
                if &s.user_id == user_id && s.revoked_at.is_none() && s.second.is_none() && outside_gotrue {
                    s.revoked_at = Some(at);
                }
            }
        }
        self.challenges.borrow_mut().retain(|_, c| !gone.contains(&c.factor_id));
        for s in self.sessions.borrow_mut().values_mut() {
            if s.second.as_ref().is_some_and(|st| gone.contains(&st.factor_id)) {
                s.second = None;
            }
        }
        self.mark_mfa(user_id);
        Ok(true)
    }
}
