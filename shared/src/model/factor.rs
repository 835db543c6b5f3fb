//! Second factors: an account's enrolled authenticators ([`Factor`]), the challenges a sign-in
//! answers with one ([`Challenge`]), the assurance level a session has reached ([`Aal`]) and the
//! second step that raised it ([`SecondStep`]). Whether a code is right, how long a challenge
//! lives and who may enroll are the flows' rules; how a secret is sealed is `crate::seal`'s.
//! A WebAuthn factor holds its registered credential ([`WebauthnCredential`]) instead of a
//! secret, and its challenges the bytes the ceremony signs.

use super::id::{ChallengeId, FactorId, UserId};
use super::time::Timestamp;
use crate::signature::Key;

/// The kinds of second factor (GoTrue's `factor_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FactorKind {
    /// A time-based one-time password from an authenticator app (RFC 6238).
    Totp,
    /// A WebAuthn credential (a security key, a platform authenticator).
    Webauthn,
    /// A set of single-use recovery codes, for when the other factors are lost; an account
    /// has it only beside another verified factor.
    RecoveryCode,
}

impl FactorKind {
    /// The wire and storage name (GoTrue's `factor_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            FactorKind::Totp => "totp",
            FactorKind::Webauthn => "webauthn",
            FactorKind::RecoveryCode => "recovery_code",
        }
    }

    /// Parses a stored or requested name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "totp" => Some(FactorKind::Totp),
            "webauthn" => Some(FactorKind::Webauthn),
            "recovery_code" => Some(FactorKind::RecoveryCode),
            _ => None,
        }
    }

    /// The `amr` method a step with this factor adds to a session (GoTrue writes TOTP's as
    /// `totp`, the others as `mfa/<type>`).
    pub fn amr_method(self) -> &'static str {
        match self {
            FactorKind::Totp => "totp",
            FactorKind::Webauthn => "mfa/webauthn",
            FactorKind::RecoveryCode => "mfa/recovery_code",
        }
    }
}

/// An enrolled second factor.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    /// UUID v4.
    pub id: FactorId,
    /// The account.
    pub user_id: UserId,
    /// What the user called it; unique per account (the empty name too, as upstream).
    pub friendly_name: String,
    /// Its kind.
    pub kind: FactorKind,
    /// Whether a challenge has been answered with it: only a verified factor guards sign-ins.
    pub verified: bool,
    /// Its secret, sealed (`crate::seal`): a copy of the database alone does not yield it.
    /// Empty for a WebAuthn factor and a set of recovery codes (whose codes are kept hashed,
    /// see `ports::RecoveryCodes`).
    pub sealed_secret: String,
    /// The last TOTP time step a code was accepted for: a code is single use, and so is every
    /// code of an earlier step.
    pub last_step: Option<i64>,
    /// Enrollment time.
    pub created_at: Timestamp,
    /// Last change (verified, renamed).
    pub updated_at: Timestamp,
    /// Last challenge, if any.
    pub last_challenged_at: Option<Timestamp>,
    /// A WebAuthn factor's credential, once a registration verified it (`None` before, and
    /// for other kinds).
    pub credential: Option<WebauthnCredential>,
}

/// A WebAuthn factor's credential, as its registration was verified.
#[derive(Debug, Clone, PartialEq)]
pub struct WebauthnCredential {
    /// The credential id (`rawId`): no two factors of any accounts share one.
    pub id: Vec<u8>,
    /// Its public key (its algorithm is `public_key.alg()`).
    pub public_key: Key,
    /// The signature counter last seen: an assertion must carry a greater one, unless both
    /// are 0 (an authenticator that keeps no counter).
    pub sign_count: u32,
    /// The authenticator model's AAGUID.
    pub aaguid: [u8; 16],
    /// The BE flag at registration: every assertion must carry the same.
    pub backup_eligible: bool,
    /// The transports the client named at registration, hints for `allowCredentials`.
    pub transports: Vec<String>,
}

/// A challenge to answer with a factor: single use, short lived, answered from where it was
/// asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Challenge {
    /// UUID v4.
    pub id: ChallengeId,
    /// The factor it is for.
    pub factor_id: FactorId,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was answered; an answered challenge takes no further answer.
    pub verified_at: Option<Timestamp>,
    /// The client that asked for it (GoTrue checks the answer comes from the same address).
    pub client: String,
    /// The bytes a WebAuthn ceremony must sign (its `challenge`); `None` for other kinds.
    pub webauthn_challenge: Option<Vec<u8>>,
}

/// Authenticator assurance level (NIST SP 800-63B), as GoTrue's `aal` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Aal {
    /// One factor (a password, a mailed code or link).
    Aal1,
    /// A second factor on top of the first.
    Aal2,
}

impl Aal {
    /// The claim's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Aal::Aal1 => "aal1",
            Aal::Aal2 => "aal2",
        }
    }
}

/// The second step a session has taken: with which factor, of which kind, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct SecondStep {
    /// The factor answered.
    pub factor_id: FactorId,
    /// Its kind (the `amr` method).
    pub kind: FactorKind,
    /// When.
    pub at: Timestamp,
}
