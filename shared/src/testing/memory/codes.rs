//! `Codes` over the memory store's map of one-time codes. The PKCE auth codes a link turns into
//! are `flow_states`'.

use super::MemoryStore;
use crate::model::{CodeId, OneTimeCode, Purpose, Timestamp, UserId};
use crate::ports::{Codes, StoreError, StoreWhile};

impl Codes for MemoryStore {
    async fn put(&self, code: &OneTimeCode) -> Result<(), StoreError> {
        let mut codes = self.codes.borrow_mut();
        codes.retain(|_, c| !(c.user_id == code.user_id && c.purpose == code.purpose));
        codes.insert(code.id.clone(), code.clone());
        Ok(())
    }

    async fn put_while(&self, codes: &[OneTimeCode], cond: &StoreWhile) -> Result<bool, StoreError> {
        let Some(first) = codes.first() else { return Ok(true) };
        let holds = {
            let users = self.users.borrow();
            let address_as_seen = users
                .get(&first.user_id)
                .is_some_and(|u| u.email == cond.email && u.email_confirmed_at == cond.email_confirmed_at);
            let session_live = cond.session.as_ref().is_none_or(|id| {
                self.sessions.borrow().get(id).is_some_and(|s| s.user_id == first.user_id && s.revoked_at.is_none())
            });
            address_as_seen && session_live
        };
        if !holds {
            return Ok(false);
        }
        for code in codes {
            Codes::put(self, code).await?;
        }
        Ok(true)
    }

    async fn forfeit_keep(&self, user_id: &UserId, purpose: Purpose) -> Result<(), StoreError> {
        for c in self.codes.borrow_mut().values_mut() {
            if &c.user_id == user_id && c.purpose == purpose {
                c.keeps_attempt = false;
            }
        }
        Ok(())
    }

    async fn for_user(&self, user_id: &UserId, purpose: Purpose) -> Result<Option<OneTimeCode>, StoreError> {
        Ok(self
            .codes
            .borrow()
            .values()
            .find(|c| &c.user_id == user_id && c.purpose == purpose)
            .cloned())
    }

    async fn for_recipient(&self, address: &str, purpose: Purpose) -> Result<Option<OneTimeCode>, StoreError> {
        Ok(self
            .codes
            .borrow()
            .values()
            .filter(|c| c.sent_to == address && c.purpose == purpose)
            .max_by_key(|c| c.created_at)
            .cloned())
    }

    async fn by_link_hash(&self, link_hash: &str) -> Result<Option<OneTimeCode>, StoreError> {
        Ok(self.codes.borrow().values().find(|c| c.link_hash == link_hash).cloned())
    }

    async fn take_attempt(&self, id: &CodeId, now: Timestamp, max_attempts: u32) -> Result<bool, StoreError> {
        let mut codes = self.codes.borrow_mut();
        match codes.get_mut(id) {
            Some(c) if c.used_at.is_none() && c.expires_at > now && c.attempts < max_attempts => {
                c.attempts += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn consume(&self, id: &CodeId, now: Timestamp) -> Result<bool, StoreError> {
        let mut codes = self.codes.borrow_mut();
        match codes.get_mut(id) {
            Some(c) if c.used_at.is_none() && c.expires_at > now => {
                c.used_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
