//! The storage port for passkeys ([`Passkeys`]): an account's discoverable credentials and the
//! challenges of their ceremonies. A challenge is taken (deleted) as it is answered, so it is
//! answered once; a credential id is stored once across every account's passkeys and WebAuthn
//! factors; a counter moves only from the value the assertion was checked against.

use super::StoreError;
use crate::model::{Passkey, PasskeyChallenge, PasskeyChallengeId, PasskeyId, SessionId, Timestamp, UserId};

/// What [`Passkeys::add_passkey`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyAdded {
    /// Stored.
    Stored,
    /// The account has as many passkeys as it may.
    TooMany,
    /// Some passkey or WebAuthn factor, of any account, holds the credential id.
    CredentialTaken,
    /// The session that registers it is not a live session of the account any more (a first
    /// proof of the mailbox ended it while the registration was checked).
    SessionEnded,
}

/// A sign-in with a passkey, to record (see [`Passkeys::passkey_used`]).
#[derive(Debug, Clone, Copy)]
pub struct PasskeyUse<'a> {
    /// The passkey.
    pub id: &'a PasskeyId,
    /// The counter the assertion was checked against: the stored one must still be this.
    pub checked_count: u32,
    /// The assertion's counter, to store.
    pub sign_count: u32,
    /// The assertion's BS flag.
    pub backed_up: bool,
    /// Now.
    pub at: Timestamp,
}

/// Passkeys and their ceremonies' challenges.
pub trait Passkeys {
    /// Stores a challenge; first drops every passkey challenge made before `expired_before`.
    async fn put_passkey_challenge(&self, challenge: &PasskeyChallenge, expired_before: Timestamp) -> Result<(), StoreError>;
    /// Removes the challenge `id` and returns it, if it existed: whoever takes it is the only
    /// one to answer it.
    async fn take_passkey_challenge(&self, id: &PasskeyChallengeId) -> Result<Option<PasskeyChallenge>, StoreError>;
    /// Stores `passkey` unless, at the moment of writing, `by` is not a live (not ended)
    /// session of its account, its account has `max` passkeys, or some passkey or WebAuthn
    /// factor of any account holds its credential id: a registration the owner's first proof
    /// of the mailbox overtook stores nothing.
    async fn add_passkey(&self, passkey: &Passkey, max: u32, by: &SessionId) -> Result<PasskeyAdded, StoreError>;
    /// The account's passkeys, oldest first.
    async fn passkeys_of(&self, user_id: &UserId) -> Result<Vec<Passkey>, StoreError>;
    /// The passkey holding the credential id `credential_id`, of whichever account.
    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<Passkey>, StoreError>;
    /// Records a sign-in: the counter, the BS flag and `last_used_at`, only if the stored
    /// counter is still `checked_count` (a concurrent sign-in with the same assertion loses).
    /// Returns whether it did.
    async fn passkey_used(&self, used: &PasskeyUse<'_>) -> Result<bool, StoreError>;
    /// Renames the account's passkey `id`; returns it as renamed, if the account has it.
    async fn rename_passkey(&self, user_id: &UserId, id: &PasskeyId, name: &str) -> Result<Option<Passkey>, StoreError>;
    /// Removes the account's passkey `id`; returns whether it existed.
    async fn remove_passkey(&self, user_id: &UserId, id: &PasskeyId) -> Result<bool, StoreError>;
}
