//! `Passkeys` over the memory store's maps: passkeys, and their ceremonies' challenges, which
//! are removed as they are taken.

use super::MemoryStore;
use crate::model::{Passkey, PasskeyChallenge, PasskeyChallengeId, PasskeyId, SessionId, Timestamp, UserId};
use crate::ports::{Factors as _, PasskeyAdded, PasskeyUse, Passkeys, StoreError};

impl Passkeys for MemoryStore {
    async fn put_passkey_challenge(&self, challenge: &PasskeyChallenge, expired_before: Timestamp) -> Result<(), StoreError> {
        let mut challenges = self.passkey_challenges.borrow_mut();
        challenges.retain(|_, c| c.created_at >= expired_before);
        challenges.insert(challenge.id.clone(), challenge.clone());
        Ok(())
    }

    async fn take_passkey_challenge(&self, id: &PasskeyChallengeId) -> Result<Option<PasskeyChallenge>, StoreError> {
        Ok(self.passkey_challenges.borrow_mut().remove(id))
    }

    async fn add_passkey(&self, passkey: &Passkey, max: u32, by: &SessionId) -> Result<PasskeyAdded, StoreError> {
        super::before("add_passkey");
        if !self.session_is_live(&passkey.user_id, Some(by)) {
            return Ok(PasskeyAdded::SessionEnded);
        }
        if self.credential_taken(&passkey.credential.id).await? {
            return Ok(PasskeyAdded::CredentialTaken);
        }
        let mut passkeys = self.passkeys.borrow_mut();
        if passkeys.values().filter(|p| p.user_id == passkey.user_id).count() >= max as usize {
            return Ok(PasskeyAdded::TooMany);
        }
        passkeys.insert(passkey.id.clone(), passkey.clone());
        Ok(PasskeyAdded::Stored)
    }

    async fn passkeys_of(&self, user_id: &UserId) -> Result<Vec<Passkey>, StoreError> {
        let mut own: Vec<Passkey> = self.passkeys.borrow().values().filter(|p| &p.user_id == user_id).cloned().collect();
        own.sort_by(|a, b| (a.created_at, a.id.as_str()).cmp(&(b.created_at, b.id.as_str())));
        Ok(own)
    }

    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<Passkey>, StoreError> {
        Ok(self.passkeys.borrow().values().find(|p| p.credential.id == credential_id).cloned())
    }

    async fn passkey_used(&self, used: &PasskeyUse<'_>) -> Result<bool, StoreError> {
        let mut passkeys = self.passkeys.borrow_mut();
        let Some(p) = passkeys.get_mut(used.id).filter(|p| p.credential.sign_count == used.checked_count) else {
            return Ok(false);
        };
        p.credential.sign_count = used.sign_count;
        p.backed_up = used.backed_up;
        p.last_used_at = Some(used.at);
        Ok(true)
    }

    async fn rename_passkey(&self, user_id: &UserId, id: &PasskeyId, name: &str) -> Result<Option<Passkey>, StoreError> {
        let mut passkeys = self.passkeys.borrow_mut();
        let Some(p) = passkeys.get_mut(id).filter(|p| &p.user_id == user_id) else { return Ok(None) };
        p.friendly_name = name.to_string();
        Ok(Some(p.clone()))
    }

    async fn remove_passkey(&self, user_id: &UserId, id: &PasskeyId) -> Result<bool, StoreError> {
        let mut passkeys = self.passkeys.borrow_mut();
        match passkeys.get(id) {
            Some(p) if &p.user_id == user_id => Ok(passkeys.remove(id).is_some()),
            _ => Ok(false),
        }
    }
}
