//! The storage ports for provider identities ([`Identities`]): which account a provider's
//! subject signs in. `(provider, subject)` is held by one account at most, across all of them;
//! a link is stored only while the account is still as the flow saw it, so a first proof of
//! the mailbox in between (which removes the identities linked before it) overtakes no link.
//! Every write of an account's identities also rewrites its [`User::providers`], in the same
//! transaction. And the sign-ins through a provider's pages ([`OauthFlows`]), each taken once.

use super::{StoreError, StoreWhile};
use crate::model::{Identity, IdentityId, OauthFlow, Timestamp, User, UserId};

/// What [`Identities::add_identity`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityAdded {
    /// Stored.
    Stored,
    /// Some account, this one or another, holds the provider's subject.
    Taken,
    /// The account is gone (deleted) or not as the flow saw it any more: its address or its
    /// confirmation changed, or the session that asked ended.
    Changed,
}

/// Provider identities.
pub trait Identities {
    /// The identity of `subject` at `provider`, whichever account holds it.
    async fn identity(&self, provider: &str, subject: &str) -> Result<Option<Identity>, StoreError>;
    /// The account's identities, oldest first.
    async fn identities_of(&self, user_id: &UserId) -> Result<Vec<Identity>, StoreError>;
    /// Stores a new account with its first identity (its `providers`: that identity's,
    /// whatever `user` says), all or nothing:
    /// [`StoreError::Conflict`]`("email")` if the address is taken, `Conflict("identity")` if
    /// some account holds the provider's subject; then nothing is stored.
    async fn insert_with_identity(&self, user: &User, identity: &Identity) -> Result<(), StoreError>;
    /// Links `identity` to its account, only while, at the moment of writing, the account
    /// exists, is not deleted, has the address and confirmation `seen` says, and `seen.session`
    /// (if one asked) is a live session of it.
    async fn add_identity(&self, identity: &Identity, seen: &StoreWhile) -> Result<IdentityAdded, StoreError>;
    /// Records a sign-in through the identity: what the provider said (`email`, `data`) and
    /// when.
    async fn identity_used(&self, id: &IdentityId, email: Option<&str>, data: &serde_json::Value, at: Timestamp)
        -> Result<(), StoreError>;
    /// Removes the account's identity `id`, only while, at the moment of writing, the account
    /// holds at least `keep_others` other identities (so two removals at once cannot both take
    /// what each saw as not the last); returns whether it removed it.
    async fn remove_identity(&self, user_id: &UserId, id: &IdentityId, keep_others: usize) -> Result<bool, StoreError>;
}

/// Sign-ins through a provider's pages, between redirect and callback.
pub trait OauthFlows {
    /// Stores `flow`; first drops every flow that expired before `expired_before`.
    async fn put_oauth_flow(&self, flow: &OauthFlow, expired_before: Timestamp) -> Result<(), StoreError>;
    /// Removes the flow whose state hashes to `state_hash` and returns it, if it existed: the
    /// callback that takes it is the only one to finish it.
    async fn take_oauth_flow(&self, state_hash: &str) -> Result<Option<OauthFlow>, StoreError>;
}
