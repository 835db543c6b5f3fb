//! `Users` over the memory store's maps, and the removal of everything that hangs off an account,
//! which a deletion and a soft deletion share. Sessions, codes and the rest are written by their
//! own ports' files.

use super::{before, MemoryStore};
use crate::model::{Purpose, SessionId, Timestamp, User, UserId};
use crate::ports::{FirstProof, StoreError, Users};

impl Users for MemoryStore {
    async fn insert(&self, user: &User) -> Result<(), StoreError> {
        self.insertable(user)?;
        self.users.borrow_mut().insert(user.id.clone(), user.clone());
        Ok(())
    }

    async fn by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        if let Some(snapshot) = self.take_stale(|u| u.has_email(email)) {
            return Ok(Some(snapshot));
        }
        Ok(self.users.borrow().values().find(|u| u.has_email(email)).cloned())
    }

    async fn by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        Ok(self.users.borrow().get(id).cloned())
    }

    async fn by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let key = username.to_ascii_lowercase();
        Ok(self
            .users
            .borrow()
            .values()
            .find(|u| u.username.as_ref().is_some_and(|n| n.to_ascii_lowercase() == key))
            .cloned())
    }

    async fn confirm_email(&self, id: &UserId, at: Timestamp) -> Result<(), StoreError> {
        if let Some(u) = self.users.borrow_mut().get_mut(id) {
            if u.email_confirmed_at.is_none() {
                u.email_confirmed_at = Some(at);
                u.is_anonymous = false;
                u.updated_at = at;
            }
        }
        Ok(())
    }

    async fn set_password_hash(&self, id: &UserId, hash: &str, at: Timestamp, while_session: Option<&SessionId>) -> Result<bool, StoreError> {
        before("set_password_hash");
        if !self.session_is_live(id, while_session) {
            return Ok(false);
        }
        let mut users = self.users.borrow_mut();
        let Some(u) = users.get_mut(id) else { return Ok(false) };
        u.password_hash = Some(hash.to_string());
        u.updated_at = at;
        Ok(true)
    }

    async fn rehash_password(&self, id: &UserId, old: &str, new: &str, at: Timestamp) -> Result<bool, StoreError> {
        match self.users.borrow_mut().get_mut(id) {
            Some(u) if u.password_hash.as_deref() == Some(old) => {
                u.password_hash = Some(new.to_string());
                u.updated_at = at;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn clear_password(&self, id: &UserId, at: Timestamp) -> Result<(), StoreError> {
        before("clear_password");
        if let Some(u) = self.users.borrow_mut().get_mut(id) {
            u.password_hash = None;
            u.updated_at = at;
        }
        Ok(())
    }

    async fn set_email(&self, id: &UserId, email: &str, confirmed: bool, at: Timestamp) -> Result<(), StoreError> {
        let mut users = self.users.borrow_mut();
        if users.values().any(|u| u.has_email(email) && &u.id != id) {
            return Err(StoreError::Conflict("email"));
        }
        if let Some(u) = users.get_mut(id) {
            u.email = Some(email.to_string());
            u.email_confirmed_at = confirmed.then_some(at);
            u.is_anonymous &= !confirmed;
            u.updated_at = at;
        }
        Ok(())
    }

    async fn set_app_metadata(&self, id: &UserId, metadata: &serde_json::Value, at: Timestamp) -> Result<(), StoreError> {
        if let Some(u) = self.users.borrow_mut().get_mut(id) {
            u.app_metadata = metadata.clone();
            u.updated_at = at;
        }
        Ok(())
    }

    async fn set_banned_until(&self, id: &UserId, until: Option<Timestamp>, at: Timestamp) -> Result<(), StoreError> {
        if let Some(u) = self.users.borrow_mut().get_mut(id) {
            u.banned_until = until;
            u.updated_at = at;
        }
        Ok(())
    }

    async fn page(&self, offset: u64, limit: u32) -> Result<(Vec<User>, u64), StoreError> {
        let mut all = self.all_users();
        all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
        let total = all.len() as u64;
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(all.len());
        Ok((all.into_iter().skip(start).take(limit as usize).collect(), total))
    }

    async fn soft_delete(&self, id: &UserId, at: Timestamp) -> Result<bool, StoreError> {
        let Some(mut user) = self.users.borrow().get(id).cloned() else {
            return Ok(false);
        };
        self.remove_dependents(id);
        user.email = None;
        user.username = None;
        user.password_hash = None;
        user.user_metadata = serde_json::json!({});
        user.app_metadata = serde_json::json!({});
        user.mfa = crate::model::MfaState::Off;
        user.providers.clear();
        user.made_by = None;
        user.deleted_at = user.deleted_at.or(Some(at));
        user.updated_at = at;
        self.users.borrow_mut().insert(id.clone(), user);
        Ok(true)
    }

    async fn set_metadata(&self, id: &UserId, metadata: &serde_json::Value, at: Timestamp, while_session: Option<&SessionId>) -> Result<bool, StoreError> {
        before("set_metadata");
        if !self.session_is_live(id, while_session) {
            return Ok(false);
        }
        let mut users = self.users.borrow_mut();
        let Some(u) = users.get_mut(id) else { return Ok(false) };
        u.user_metadata = metadata.clone();
        u.updated_at = at;
        Ok(true)
    }

    async fn first_proof(&self, id: &UserId, proof: FirstProof<'_>, at: Timestamp) -> Result<(), StoreError> {
        before("first_proof");
        {
            let mut users = self.users.borrow_mut();
            if let Some(email) = proof.new_email {
                if users.values().any(|u| u.has_email(email) && &u.id != id) {
                    return Err(StoreError::Conflict("email"));
                }
            }
            let Some(u) = users.get_mut(id) else { return Ok(()) };
            if let Some(email) = proof.new_email {
                u.email = Some(email.to_string());
                u.email_confirmed_at = None;
            }
            if proof.forget {
                u.forget();
            }
            u.mfa = crate::model::MfaState::Off;
            u.email_confirmed_at = u.email_confirmed_at.or(Some(at));
            u.is_anonymous = false;
            u.updated_at = at;
        }
        for s in self.sessions.borrow_mut().values_mut() {
            if &s.user_id == id && s.revoked_at.is_none() {
                s.revoked_at = Some(at);
            }
        }
        self.flow_states.borrow_mut().retain(|_, f| &f.user_id != id);
        // Whoever enrolled a factor before the address was proven had not proven it.
        let mut factors = self.factors.borrow_mut();
        factors.retain(|_, f| &f.user_id != id);
        self.challenges.borrow_mut().retain(|_, c| factors.contains_key(&c.factor_id));
        drop(factors);
        // And whoever registered a passkey: it would sign in to the account the proof now owns.
        self.passkeys.borrow_mut().retain(|_, p| &p.user_id != id);
        if proof.forget {
            // Like the password: whoever linked them may not be the mailbox's owner.
            self.identities.borrow_mut().retain(|_, i| &i.user_id != id);
            self.note_providers(id);
        }
        let asked_by_a_session = [Purpose::EmailChange, Purpose::EmailChangeCurrent, Purpose::Reauthentication];
        self.codes.borrow_mut().retain(|_, c| !(&c.user_id == id && asked_by_a_session.contains(&c.purpose)));
        Ok(())
    }

    async fn delete(&self, id: &UserId) -> Result<bool, StoreError> {
        let Some(_) = self.users.borrow_mut().remove(id) else {
            return Ok(false);
        };
        self.remove_dependents(id);
        Ok(true)
    }
}

impl MemoryStore {
    /// Whether `user` can be stored as a new account: [`StoreError::Conflict`]`("email")` if
    /// its address is taken, `Conflict("username")` if its username is, in any case.
    pub(super) fn insertable(&self, user: &User) -> Result<(), StoreError> {
        let users = self.users.borrow();
        if user.email.is_some() && users.values().any(|u| u.email == user.email) {
            return Err(StoreError::Conflict("email"));
        }
        let key = |u: &User| u.username.as_ref().map(|n| n.to_ascii_lowercase());
        if user.username.is_some() && users.values().any(|u| key(u) == key(user)) {
            return Err(StoreError::Conflict("username"));
        }
        Ok(())
    }

    /// Whether `session` (if one is named) is a live session of account `id`.
    pub(super) fn session_is_live(&self, id: &UserId, session: Option<&SessionId>) -> bool {
        session.is_none_or(|sid| self.sessions.borrow().get(sid).is_some_and(|s| &s.user_id == id && s.revoked_at.is_none()))
    }

    /// Removes what hangs off an account: sessions and their tokens, codes, sign-in requests,
    /// auth codes, second factors and their challenges, passkeys, provider identities.
    fn remove_dependents(&self, id: &UserId) {
        let mut sessions = self.sessions.borrow_mut();
        sessions.retain(|_, s| &s.user_id != id);
        self.refresh_tokens.borrow_mut().retain(|_, t| sessions.contains_key(&t.session_id));
        self.session_tokens.borrow_mut().retain(|_, t| sessions.contains_key(&t.session_id));
        self.codes.borrow_mut().retain(|_, c| &c.user_id != id);
        self.login_requests.borrow_mut().retain(|_, r| &r.user_id != id);
        self.flow_states.borrow_mut().retain(|_, f| &f.user_id != id);
        let mut factors = self.factors.borrow_mut();
        factors.retain(|_, f| &f.user_id != id);
        self.challenges.borrow_mut().retain(|_, c| factors.contains_key(&c.factor_id));
        self.passkeys.borrow_mut().retain(|_, p| &p.user_id != id);
        self.passkey_challenges.borrow_mut().retain(|_, c| c.user_id.as_ref() != Some(id));
        self.identities.borrow_mut().retain(|_, i| &i.user_id != id);
    }
}
