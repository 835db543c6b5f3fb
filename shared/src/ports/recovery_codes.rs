//! The storage port for recovery codes ([`RecoveryCodes`]): an account's set is a verified
//! factor of kind `recovery_code` (stored with the other factors, answered through
//! `Factors::answer` with `Progress::RecoveryCode`), and its codes, kept as hashes, each used
//! once. Generating and replacing a set are single atomic writes, under the conditions the
//! flows checked: a session at `aal2`, and another verified factor beside it.

use super::StoreError;
use crate::model::{Factor, FactorId, SessionId, Timestamp, UserId};

/// What [`RecoveryCodes::add_recovery_codes`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryCodesAdded {
    /// Stored.
    Stored,
    /// The account has a set already.
    Exists,
    /// The account has a factor of that name.
    NameTaken,
    /// The account has no other verified factor: recovery codes are never the only one.
    SoleFactor,
    /// The session ended, or is below `aal2`.
    Refused,
}

/// How many codes a set has, and how many of them are unused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodesLeft {
    /// Codes in the set.
    pub total: u32,
    /// Codes not used yet.
    pub remaining: u32,
}

/// Recovery codes.
pub trait RecoveryCodes {
    /// Stores `factor` (a verified `recovery_code` factor) with the codes whose hashes are
    /// `hashes`, all at once, only if at the moment of writing the session `by` is the
    /// account's, live and at `aal2`, the account has another verified factor, no set and no
    /// factor of that name.
    async fn add_recovery_codes(&self, factor: &Factor, hashes: &[String], by: &SessionId) -> Result<RecoveryCodesAdded, StoreError>;
    /// Replaces the codes of the account's set `factor_id` by `hashes` and lowers to `aal1`
    /// the account's sessions the set raised but `by` (what the old codes opened goes with
    /// them), all at once, only if at the moment of writing the session `by` is the
    /// account's, live and at `aal2`; returns whether it did.
    async fn replace_recovery_codes(&self, user_id: &UserId, factor_id: &FactorId, hashes: &[String], by: &SessionId, at: Timestamp) -> Result<bool, StoreError>;
    /// How many codes the set `factor_id` has, and how many are unused.
    async fn recovery_codes_left(&self, factor_id: &FactorId) -> Result<CodesLeft, StoreError>;
}
