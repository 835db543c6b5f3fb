//! The storage port for second factors ([`Factors`]): enrolling, challenging, answering and
//! removing them, each a single atomic write where it changes more than one record, so that a
//! code is accepted once and a session is raised to `aal2` only together with it.

use super::StoreError;
use crate::model::{Challenge, ChallengeId, Factor, FactorId, FactorKind, RefreshToken, SessionId, Timestamp, UserId, WebauthnCredential};

/// What [`Factors::enroll`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enrolled {
    /// Stored.
    Stored,
    /// The account has a factor of that name already.
    NameTaken,
    /// The account has as many factors as it may.
    TooMany,
    /// The session ended, or is below `aal2` while the account has a verified factor.
    Refused,
}

/// What a right answer proves beyond the challenge, which the factor must not have seen yet.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A TOTP code of this time step: the factor takes no code of it or an earlier step again.
    Step(i64),
    /// A WebAuthn assertion with this signature counter: the factor's verified credential
    /// must have a smaller one, unless both are 0 (an authenticator that keeps no counter).
    Counter(u32),
    /// A WebAuthn registration of this credential: the factor must be unverified and hold
    /// none, and no factor of any account may hold its id.
    Register(&'a WebauthnCredential),
    /// The recovery code of this hash (`ports::RecoveryCodes`): the factor, a set of recovery
    /// codes, must hold it unused, and it is used.
    RecoveryCode(&'a str),
}

/// A right answer to a challenge, to record at once (see [`Factors::answer`]).
#[derive(Debug, Clone)]
pub struct Answer<'a> {
    /// The account.
    pub user_id: &'a UserId,
    /// The factor answered.
    pub factor_id: &'a FactorId,
    /// Its kind (the other unverified factors of that kind are dropped; of every kind when
    /// the account had no verified factor).
    pub kind: FactorKind,
    /// The challenge answered.
    pub challenge_id: &'a ChallengeId,
    /// What the answer proves (a TOTP step, a WebAuthn counter or registration), which the
    /// factor records.
    pub progress: Progress<'a>,
    /// The challenge must have been made after this (it has not expired).
    pub made_after: Timestamp,
    /// The session to raise to `aal2`; it must still be live.
    pub session_id: &'a SessionId,
    /// The session's new refresh token: its earlier ones stop working. Its id also marks the
    /// challenge as this answer's, which every write after the first checks.
    pub refresh_token: &'a RefreshToken,
    /// The public id of the second step's ticket (a refresh token of the session) that this
    /// answer completes, which must still exist; `None` for GoTrue's verify.
    pub ticket: Option<&'a str>,
    /// Now.
    pub at: Timestamp,
}

/// Second factors and their challenges.
pub trait Factors {
    /// Stores `factor` (unverified) for the live session `by`, unless the account already has
    /// a factor of that friendly name or `max` factors, or has a verified factor while `by` is
    /// below `aal2`, all as at the moment of writing. First drops the account's unverified
    /// factors made before `stale_before` and never challenged.
    async fn enroll(&self, factor: &Factor, by: &SessionId, max: u32, stale_before: Timestamp) -> Result<Enrolled, StoreError>;
    /// The account's factors, oldest first.
    async fn of_user(&self, user_id: &UserId) -> Result<Vec<Factor>, StoreError>;
    /// Stores a challenge and records it on its factor; drops that factor's challenges made
    /// before `expired_before`.
    async fn challenge(&self, challenge: &Challenge, expired_before: Timestamp) -> Result<(), StoreError>;
    /// The challenge `id` of the factor `factor_id`, answered or not.
    async fn get_challenge(&self, factor_id: &FactorId, id: &ChallengeId) -> Result<Option<Challenge>, StoreError>;
    /// Whether some factor of any account holds the WebAuthn credential `id`.
    async fn credential_taken(&self, id: &[u8]) -> Result<bool, StoreError>;
    /// Records a right answer, all or nothing, and only if at the moment of writing the
    /// challenge is unanswered and made after `made_after`, the factor is as the answer's
    /// [`Progress`] requires (no code of its step or a later one taken; a smaller counter; no
    /// credential yet, and its id nobody's), the session is live (and holds the ticket, if one is named), and the
    /// factor is verified, or the account has no verified factor, or the session is at `aal2`
    /// already: the challenge is answered, the factor verified with the progress recorded (the step its
    /// last, the counter its credential's, or the credential its own), the
    /// account marked as having a second factor, the session raised to `aal2` with its refresh
    /// tokens replaced by `refresh_token`, the account's other sessions below `aal2` ended, its
    /// other unverified factors of the same kind (of every kind, when it had no verified factor
    /// before) dropped, and, when the factor was not verified
    /// before, the account's pending codes that a session asked for (email changes,
    /// re-authentication) dropped, since the sessions that asked may have ended here. Returns
    /// whether it did.
    async fn answer(&self, answer: &Answer<'_>) -> Result<bool, StoreError>;
    /// Removes the account's factor `factor_id` with its challenges (and, when it was the
    /// account's last verified factor but its recovery codes, those too), lowers the sessions
    /// raised with what it removed to `aal1`, ends (at `at`), when it was the account's last verified
    /// factor, the account's sessions below `aal2` outside GoTrue (second steps never taken),
    /// and updates whether the account has a verified factor, all at once; returns whether it
    /// existed.
    async fn remove(&self, user_id: &UserId, factor_id: &FactorId, at: Timestamp) -> Result<bool, StoreError>;
}
