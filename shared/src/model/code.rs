//! One-time codes and emailed links ([`OneTimeCode`]), what each is for ([`Purpose`]), the PKCE
//! challenge a code can carry, and the auth code ([`FlowState`]) its link then turns into. Only
//! hashes of codes and tokens are here; making, mailing and checking them is the flows' job.

use super::id::{CodeId, UserId};
use super::session::AuthMethod;
use super::time::Timestamp;

/// What a one-time code or emailed link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Purpose {
    /// Confirms the address given at sign-up.
    Signup,
    /// Signs in to set a new password.
    Recovery,
    /// Signs in without a password (`/otp`).
    MagicLink,
    /// Moves the account to the address the code was sent to (with secure email change, once
    /// the [`Purpose::EmailChangeCurrent`] code of the same request is used too).
    EmailChange,
    /// Sent to the account's current address with secure email change: its owner agrees to
    /// the move. Issued together with the [`Purpose::EmailChange`] code (same `pair_id`).
    EmailChangeCurrent,
    /// A nonce that re-authenticates a signed-in user for a sensitive change (GoTrue's
    /// `/reauthenticate`).
    Reauthentication,
    /// A passwordless sign-in request (send limits only; its link is a
    /// [`LoginRequest`](crate::model::LoginRequest)).
    Login,
    /// An invitation by the service role (GoTrue's `/invite`): its link confirms the address
    /// and signs in, and the invitee then sets a password.
    Invite,
}

impl Purpose {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Signup => "signup",
            Purpose::Recovery => "recovery",
            Purpose::MagicLink => "magiclink",
            Purpose::EmailChange => "email_change",
            Purpose::EmailChangeCurrent => "email_change_current",
            Purpose::Reauthentication => "reauthentication",
            Purpose::Login => "login",
            Purpose::Invite => "invite",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "signup" => Some(Purpose::Signup),
            "recovery" => Some(Purpose::Recovery),
            "magiclink" => Some(Purpose::MagicLink),
            "email_change" => Some(Purpose::EmailChange),
            "email_change_current" => Some(Purpose::EmailChangeCurrent),
            "reauthentication" => Some(Purpose::Reauthentication),
            "login" => Some(Purpose::Login),
            "invite" => Some(Purpose::Invite),
            _ => None,
        }
    }
}

/// A 6-digit code and its link token, mailed to `sent_to`; single use, expiring, with a cap on
/// wrong tries. One live code per (user, purpose): a new one replaces the old.
#[derive(Debug, Clone, PartialEq)]
pub struct OneTimeCode {
    /// Random id; also mixed into the code's hash so equal codes hash differently.
    pub id: CodeId,
    /// The account.
    pub user_id: UserId,
    /// What confirming it does.
    pub purpose: Purpose,
    /// HMAC-SHA256 of the digits (keyed by a server secret), hex.
    pub code_hash: String,
    /// SHA-256 of the link token, hex.
    pub link_hash: String,
    /// The address the code was mailed to.
    pub sent_to: String,
    /// Issue time.
    pub created_at: Timestamp,
    /// Dead from this time on.
    pub expires_at: Timestamp,
    /// Tries taken so far, right or wrong.
    pub attempts: u32,
    /// When it was used; a used code never works again.
    pub used_at: Option<Timestamp>,
    /// A code of the request that set the account up: the sign-up attempt that set its
    /// password and metadata (or a re-send of it), or the `/otp` that created it with its
    /// metadata. The only kind of code whose first use keeps what that request set; every
    /// other first proof of the address removes password and metadata, since they may be a
    /// stranger's.
    pub keeps_attempt: bool,
    /// For the two codes of a secure email change (to the new and to the current address):
    /// the id they share. A new-address code with a pair id moves the account only once the
    /// other code of its pair was used.
    pub pair_id: Option<String>,
    /// With PKCE: the challenge of the client that asked for the code. Its link then returns an
    /// auth code ([`FlowState`]) for that client to exchange, instead of a session.
    pub pkce: Option<PkceChallenge>,
}

/// How a PKCE challenge is derived from its verifier (RFC 7636).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PkceMethod {
    /// `BASE64URL(SHA256(verifier))`, unpadded.
    S256,
    /// The verifier itself.
    Plain,
}

impl PkceMethod {
    /// Stored name, as GoTrue stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            PkceMethod::S256 => "s256",
            PkceMethod::Plain => "plain",
        }
    }

    /// Parses a method name in any case (`S256`, `s256`, `plain`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "s256" => Some(PkceMethod::S256),
            "plain" => Some(PkceMethod::Plain),
            _ => None,
        }
    }
}

/// A PKCE code challenge, as the client sent it.
#[derive(Clone, PartialEq, Eq)]
pub struct PkceChallenge {
    /// How it derives from the verifier.
    pub method: PkceMethod,
    /// 43-128 characters of `A-Z a-z 0-9 - . _ ~`.
    pub challenge: String,
}

// A `plain` challenge is the verifier itself: keep it out of logs.
impl std::fmt::Debug for PkceChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PkceChallenge").field("method", &self.method).field("challenge", &"[redacted]").finish()
    }
}

/// A PKCE auth code, issued when an emailed link with a challenge is followed: exchanged once,
/// within minutes, by the client that holds the challenge's verifier, for a session.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowState {
    /// SHA-256 of the auth code, hex.
    pub auth_code_hash: String,
    /// The account the session will be for.
    pub user_id: UserId,
    /// How the session will have been started (the link's purpose).
    pub method: AuthMethod,
    /// What the verifier must answer.
    pub challenge: PkceChallenge,
    /// Issue time.
    pub created_at: Timestamp,
    /// Dead from this time on.
    pub expires_at: Timestamp,
    /// A sign-in through a provider: the provider's tokens, sealed (`crate::seal`, the auth
    /// code's hash as context), for the exchange to hand to the client; for a flow that links
    /// an identity by hand, with the identity the exchange links.
    pub provider_tokens: Option<String>,
}
