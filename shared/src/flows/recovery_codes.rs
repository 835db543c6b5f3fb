//! Recovery codes (GoTrue's `recovery_code` factor, auth-js's `mfa.recoveryCodes.*`): a set of
//! ten single-use codes that an account with a verified second factor generates from an `aal2`
//! session and sees once; one of them raises an `aal1` session to `aal2` like a factor's
//! answer (`Flows::record_answer`), for the day the other factors are lost. The set is never
//! the only factor: it goes with the account's last other one (`Factors::remove`).
//!
//! A code is 16 characters of Crockford's base32 alphabet in lowercase (80 random bits), kept
//! as a SHA-256 of its set's id and itself; a typed code is read without case, spaces or
//! dashes, `o` as `0` and `i`, `l` as `1`. Wrong codes spend the account's budget of wrong answers, shared with TOTP codes and
//! WebAuthn answers (`OTP_MAX_WRONG_PER_ADDRESS` in `OTP_WRONG_WINDOW`).

use super::factors::{AalNeed, FactorError, MAX_FACTOR_LABEL_BYTES};
use super::{Bearer, Flows, SignedIn};
use crate::model::{Aal, Factor, FactorId, FactorKind, Session, User};
use crate::ports::{Budgets as _, CodesLeft, Factors as _, Ports, Progress, RecoveryCodes as _, RecoveryCodesAdded, Rng as _};
use crate::secret::Secret;
use crate::signature::b64url;
use crate::token::random_id;
use sha2::{Digest, Sha256};

/// Codes in a set.
pub const RECOVERY_CODES: usize = 10;
/// Characters in a code.
const CODE_CHARS: usize = 16;
/// Crockford's base32 alphabet, lowercase: no `i`, `l`, `o`, `u` to misread.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// The set's name when none is given (upstream's).
pub const DEFAULT_RECOVERY_CODES_NAME: &str = "Recovery codes";
/// The longest typed code read at all, in bytes.
const MAX_TYPED_BYTES: usize = 64;

/// A new set and its codes, in the clear this once.
#[derive(Debug)]
pub struct NewCodes {
    /// The set.
    pub factor: Factor,
    /// The codes, canonical (lowercase, no separators).
    pub codes: Secret<Vec<String>>,
}

/// A code as typed, canonical: lowercase, without whitespace and dashes, and the letters
/// Crockford's alphabet leaves out read as the digits they are mistaken for (`o` as `0`, `i`
/// and `l` as `1`).
fn canonical(typed: &str) -> String {
    let read = |c: char| match c {
        'o' => '0',
        'i' | 'l' => '1',
        c => c,
    };
    typed.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_lowercase).map(read).collect()
}

/// What is stored of the code `code` of the set `set`.
fn code_hash(set: &FactorId, code: &str) -> String {
    let mut h = Sha256::new();
    for part in ["portcullis recovery code", set.as_str(), code] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    b64url(&h.finalize())
}

impl<P: Ports> Flows<P> {
    /// The account's set of recovery codes, if it has one.
    async fn recovery_set(&self, user: &User) -> Result<Option<Factor>, FactorError> {
        if user.is_anonymous {
            return Err(FactorError::Anonymous);
        }
        let own = self.factors_of(user).await?;
        Ok(own.into_iter().find(|f| f.kind == FactorKind::RecoveryCode))
    }

    /// Ten new codes for the set `set`, and what is stored of them.
    fn new_codes(&self, set: &FactorId) -> (Vec<String>, Vec<String>) {
        let codes: Vec<String> = (0..RECOVERY_CODES)
            .map(|_| {
                let mut raw = [0u8; CODE_CHARS];
                self.ports.rng().fill(&mut raw);
                raw.iter().map(|b| char::from(ALPHABET[usize::from(b & 31)])).collect()
            })
            .collect();
        let hashes = codes.iter().map(|c| code_hash(set, c)).collect();
        (codes, hashes)
    }

    /// `GET /factors/recovery-codes`: the bearer's set and how many of its codes are unused.
    pub async fn recovery_codes_status(&self, bearer: &Bearer) -> Result<(Factor, CodesLeft), FactorError> {
        let set = self.recovery_set(&bearer.user).await?.ok_or(FactorError::FactorNotFound)?;
        let left = self.ports.store().recovery_codes_left(&set.id).await?;
        Ok((set, left))
    }

    /// `POST /factors/recovery-codes`: a new set for the bearer's account, which must have
    /// another verified factor and no set, from an `aal2` session.
    pub async fn generate_recovery_codes(&self, bearer: &Bearer, friendly_name: Option<&str>) -> Result<NewCodes, FactorError> {
        if !self.config.mfa.enroll_enabled(FactorKind::RecoveryCode) {
            return Err(FactorError::EnrollDisabled(FactorKind::RecoveryCode));
        }
        let name = friendly_name.filter(|n| !n.is_empty()).unwrap_or(DEFAULT_RECOVERY_CODES_NAME);
        if name.len() > MAX_FACTOR_LABEL_BYTES {
            return Err(FactorError::LabelTooLong);
        }
        if self.recovery_set(&bearer.user).await?.is_some() {
            return Err(FactorError::RecoveryCodesExist);
        }
        if bearer.session.aal() < Aal::Aal2 {
            return Err(FactorError::InsufficientAal(AalNeed::RecoveryCodes));
        }
        let now = self.now();
        let factor = Factor {
            id: random_id(self.ports.rng()),
            user_id: bearer.user.id.clone(),
            friendly_name: name.into(),
            kind: FactorKind::RecoveryCode,
            verified: true,
            sealed_secret: String::new(),
            last_step: None,
            created_at: now,
            updated_at: now,
            last_challenged_at: None,
            credential: None,
        };
        let (codes, hashes) = self.new_codes(&factor.id);
        match self.ports.store().add_recovery_codes(&factor, &hashes, &bearer.session.id).await? {
            RecoveryCodesAdded::Stored => Ok(NewCodes { factor, codes: Secret::new(codes) }),
            RecoveryCodesAdded::Exists => Err(FactorError::RecoveryCodesExist),
            RecoveryCodesAdded::NameTaken => Err(FactorError::NameTaken(name.into())),
            RecoveryCodesAdded::SoleFactor => Err(FactorError::SoleFactor),
            RecoveryCodesAdded::Refused => Err(FactorError::InsufficientAal(AalNeed::RecoveryCodes)),
        }
    }

    /// `POST /factors/recovery-codes/regenerate`: new codes for the bearer's set, from an
    /// `aal2` session. The old ones stop working, and so does what they opened: the account's
    /// other sessions a code raised come down to `aal1` (regenerating is what an owner does
    /// when the printout went missing; an `aal2` session can remove every factor).
    pub async fn regenerate_recovery_codes(&self, bearer: &Bearer) -> Result<NewCodes, FactorError> {
        if !self.config.mfa.enroll_enabled(FactorKind::RecoveryCode) {
            return Err(FactorError::EnrollDisabled(FactorKind::RecoveryCode));
        }
        let mut set = self.recovery_set(&bearer.user).await?.ok_or(FactorError::FactorNotFound)?;
        if bearer.session.aal() < Aal::Aal2 {
            return Err(FactorError::InsufficientAal(AalNeed::RecoveryCodes));
        }
        let now = self.now();
        let (codes, hashes) = self.new_codes(&set.id);
        if !self.ports.store().replace_recovery_codes(&bearer.user.id, &set.id, &hashes, &bearer.session.id, now).await? {
            // The session ended or the set went meanwhile.
            return Err(FactorError::InsufficientAal(AalNeed::RecoveryCodes));
        }
        set.updated_at = now;
        Ok(NewCodes { factor: set, codes: Secret::new(codes) })
    }

    /// `POST /factors/recovery-codes/verify`: uses one of the bearer's codes, raising the
    /// session to `aal2` as a factor's answer does (its refresh tokens replaced, the account's
    /// other sessions below `aal2` ended). Returns the raised session and the account's
    /// factors.
    pub async fn verify_recovery_code(&self, bearer: &Bearer, typed: &str) -> Result<(SignedIn, Vec<Factor>), FactorError> {
        if !self.config.mfa.verify_enabled(FactorKind::RecoveryCode) {
            return Err(FactorError::VerifyDisabled(FactorKind::RecoveryCode));
        }
        self.throttle_client().await?;
        let set = self.recovery_set(&bearer.user).await?.ok_or(FactorError::FactorNotFound)?;
        let signed_in = self.answer_recovery_code(&bearer.user, &bearer.session, &set, typed, None).await?;
        Ok((signed_in, self.factor_store().of_user(&bearer.user.id).await?))
    }

    /// Answers with the code `typed` of the set `set` for `session` of `user`: the one place a
    /// recovery code is checked. Counts the guess against the account's budget first (a right
    /// one gives it back) and records the answer at once (`Factors::answer`), which uses the
    /// code. `ticket` is the second step's ticket the answer completes, if it completes one.
    pub(super) async fn answer_recovery_code(&self, user: &User, session: &Session, set: &Factor, typed: &str, ticket: Option<&str>)
        -> Result<SignedIn, FactorError> {
        let code = canonical(typed);
        if code.is_empty() || typed.len() > MAX_TYPED_BYTES {
            return Err(FactorError::WrongRecoveryCode);
        }
        // An answer is to a challenge (`Factors::answer` takes it once): this one is made for it.
        let challenge = self.issue(self.new_challenge(set), None).await?.challenge;
        let key = match self.take_guess(user, &challenge).await {
            Err(FactorError::TooManyRequests) => return Err(FactorError::RecoveryCodesLocked),
            other => other?,
        };
        let hash = code_hash(&set.id, &code);
        let signed_in = self.record_answer(user, session, set, &challenge, Progress::RecoveryCode(&hash), ticket).await?;
        self.budgets().give_back(&key).await?;
        Ok(signed_in)
    }

    /// `DELETE /factors/recovery-codes`: removes the bearer's set, from an `aal2` session.
    pub async fn remove_recovery_codes(&self, bearer: &Bearer) -> Result<FactorId, FactorError> {
        let set = self.recovery_set(&bearer.user).await?.ok_or(FactorError::FactorNotFound)?;
        if bearer.session.aal() < Aal::Aal2 {
            return Err(FactorError::InsufficientAal(AalNeed::RecoveryCodes));
        }
        self.unenroll_factor(bearer, set.id.as_str()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_codes_are_read_without_case_spaces_or_dashes() {
        assert_eq!(canonical(" K4M9-X7QP 2ab8-HT3Z\n"), "k4m9x7qp2ab8ht3z");
        assert_eq!(canonical("O1IL-o0il"), "01110011");
        let set = FactorId::new("f");
        assert_eq!(code_hash(&set, &canonical("K4M9-X7QP")), code_hash(&set, "k4m9x7qp"));
        assert_ne!(code_hash(&set, "k4m9x7qp"), code_hash(&FactorId::new("g"), "k4m9x7qp"));
    }
}
