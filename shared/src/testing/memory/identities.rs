//! `Identities` over the memory store's map of provider identities. Each write checks and
//! writes without yielding, which makes it as atomic as D1's single statement or batch: one
//! holder per `(provider, subject)`, and a link stored only while the account is as seen. Their
//! removal with the account is `users`' (`first_proof`, `soft_delete`, `delete`).

use super::{before, MemoryStore};
use crate::model::{Identity, IdentityId, Timestamp, User, UserId};
use crate::ports::{Identities, IdentityAdded, StoreError, StoreWhile};

impl MemoryStore {
    /// Whether some account holds `subject` at `provider`.
    fn subject_taken(&self, provider: &str, subject: &str) -> bool {
        self.identities.borrow().values().any(|i| i.provider == provider && i.subject == subject)
    }

    /// The account's identities, oldest first (ties by id, as D1's `ORDER BY created_at, id`).
    fn own_identities(&self, user_id: &UserId) -> Vec<Identity> {
        let mut own: Vec<Identity> = self.identities.borrow().values().filter(|i| &i.user_id == user_id).cloned().collect();
        own.sort_by(|a, b| (a.created_at, a.id.as_str()).cmp(&(b.created_at, b.id.as_str())));
        own
    }

    /// Sets the account's `providers` from its identities, as D1's batches do after every
    /// write of them.
    pub(super) fn note_providers(&self, user_id: &UserId) {
        let mut providers: Vec<String> = Vec::new();
        for i in self.own_identities(user_id) {
            if !providers.contains(&i.provider) {
                providers.push(i.provider);
            }
        }
        if let Some(u) = self.users.borrow_mut().get_mut(user_id) {
            u.providers = providers;
        }
    }
}

impl Identities for MemoryStore {
    async fn identity(&self, provider: &str, subject: &str) -> Result<Option<Identity>, StoreError> {
        Ok(self.identities.borrow().values().find(|i| i.provider == provider && i.subject == subject).cloned())
    }

    async fn identities_of(&self, user_id: &UserId) -> Result<Vec<Identity>, StoreError> {
        Ok(self.own_identities(user_id))
    }

    async fn insert_with_identity(&self, user: &User, identity: &Identity) -> Result<(), StoreError> {
        // The account's conflicts first, as D1's batch inserts it first.
        self.insertable(user)?;
        if self.subject_taken(&identity.provider, &identity.subject) {
            return Err(StoreError::Conflict("identity"));
        }
        self.users.borrow_mut().insert(user.id.clone(), user.clone());
        self.identities.borrow_mut().insert(identity.id.clone(), identity.clone());
        self.note_providers(&user.id);
        Ok(())
    }

    async fn add_identity(&self, identity: &Identity, seen: &StoreWhile) -> Result<IdentityAdded, StoreError> {
        before("add_identity");
        let as_seen = self.users.borrow().get(&identity.user_id).is_some_and(|u| {
            u.deleted_at.is_none() && u.email == seen.email && u.email_confirmed_at == seen.email_confirmed_at
        });
        if !as_seen || !self.session_is_live(&identity.user_id, seen.session.as_ref()) {
            return Ok(IdentityAdded::Changed);
        }
        if self.subject_taken(&identity.provider, &identity.subject) {
            return Ok(IdentityAdded::Taken);
        }
        self.identities.borrow_mut().insert(identity.id.clone(), identity.clone());
        self.note_providers(&identity.user_id);
        Ok(IdentityAdded::Stored)
    }

    async fn identity_used(&self, id: &IdentityId, email: Option<&str>, data: &serde_json::Value, at: Timestamp)
        -> Result<(), StoreError> {
        if let Some(i) = self.identities.borrow_mut().get_mut(id) {
            if i.email.as_deref() != email || &i.data != data {
                i.email = email.map(str::to_string);
                i.data = data.clone();
                i.updated_at = at;
            }
            i.last_sign_in_at = Some(at);
        }
        Ok(())
    }

    async fn remove_identity(&self, user_id: &UserId, id: &IdentityId, keep_others: usize) -> Result<bool, StoreError> {
        before("remove_identity");
        let mut identities = self.identities.borrow_mut();
        let others = identities.values().filter(|i| &i.user_id == user_id && &i.id != id).count();
        let removed = match identities.get(id) {
            Some(i) if &i.user_id == user_id && others >= keep_others => identities.remove(id).is_some(),
            _ => false,
        };
        drop(identities);
        if removed {
            self.note_providers(user_id);
        }
        Ok(removed)
    }
}
