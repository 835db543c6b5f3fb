//! Passkeys: discoverable WebAuthn credentials an account signs in with ([`Passkey`]), and the
//! challenges of their ceremonies ([`PasskeyChallenge`]): registering one (signed in, bound to
//! the account) and signing in with one (signed out, bound to no account: the discoverable
//! flow names none). A credential id is one passkey's or one WebAuthn factor's, never two.

use super::factor::WebauthnCredential;
use super::id::{PasskeyChallengeId, PasskeyId, UserId};
use super::time::Timestamp;

/// A passkey of an account.
#[derive(Debug, Clone, PartialEq)]
pub struct Passkey {
    /// UUID v4 (GoTrue's `passkey_id`).
    pub id: PasskeyId,
    /// The account.
    pub user_id: UserId,
    /// The credential: id, public key, counter, AAGUID, BE flag, transports.
    pub credential: WebauthnCredential,
    /// The BS flag last seen (a synced passkey may become backed up over time).
    pub backed_up: bool,
    /// A name for the user (the authenticator's model, or `Passkey`; renamable).
    pub friendly_name: String,
    /// When it was registered.
    pub created_at: Timestamp,
    /// When it last signed in, if it did.
    pub last_used_at: Option<Timestamp>,
}

/// Which ceremony a passkey challenge is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyCeremony {
    /// Registering a passkey for the account that asked.
    Registration,
    /// Signing in with any account's passkey.
    Authentication,
}

impl PasskeyCeremony {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PasskeyCeremony::Registration => "registration",
            PasskeyCeremony::Authentication => "authentication",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "registration" => Some(PasskeyCeremony::Registration),
            "authentication" => Some(PasskeyCeremony::Authentication),
            _ => None,
        }
    }
}

/// A passkey ceremony's challenge: single use (taken as it is answered), short lived, and
/// answerable only from the client that asked (and, for a registration, by its account).
#[derive(Debug, Clone, PartialEq)]
pub struct PasskeyChallenge {
    /// UUID v4 (GoTrue's `challenge_id`).
    pub id: PasskeyChallengeId,
    /// The ceremony.
    pub ceremony: PasskeyCeremony,
    /// The account registering; `None` for a sign-in.
    pub user_id: Option<UserId>,
    /// The bytes the authenticator signs.
    pub challenge: Vec<u8>,
    /// The client that asked (as MFA challenges are bound).
    pub client: String,
    /// When it was made.
    pub created_at: Timestamp,
}
