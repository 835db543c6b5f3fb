//! Sessions: a signed-in device or tab ([`Session`]), how it was started ([`AuthMethod`]), the
//! tokens stored for it ([`RefreshToken`], [`SessionToken`]: public ids and hashes only) and which
//! sessions a logout ends ([`LogoutScope`]). Lifetimes and rotation rules are the flows';
//! minting and checking tokens is `crate::token`'s.

use super::dialect::Dialect;
use super::factor::{Aal, SecondStep};
use super::id::{SessionId, UserId};
use super::time::Timestamp;

/// How a session was started (GoTrue's `amr` method).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMethod {
    /// Email and password.
    Password,
    /// A code or link from an email (sign-up confirmation, email sign-in).
    Otp,
    /// A password-recovery code or link.
    Recovery,
    /// An emailed sign-in link or code (`/otp`).
    MagicLink,
    /// Confirming a new address.
    EmailChange,
    /// Username registration (passwordless).
    Registration,
    /// An emailed sign-in link confirmed on its page (passwordless).
    EmailLink,
    /// An invitation's link (GoTrue's `/invite`).
    Invite,
    /// Anonymous sign-in (GoTrue's `POST /signup {}`).
    Anonymous,
    /// A passkey (GoTrue's `/passkeys/authentication/verify`): a possession factor with user
    /// verification, so the session is at `aal2` from its start.
    Passkey,
    /// An identity provider (OpenID Connect or OAuth 2).
    Oauth,
}

impl AuthMethod {
    /// The wire name, as GoTrue writes it in `amr`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::Otp => "otp",
            AuthMethod::Recovery => "recovery",
            AuthMethod::MagicLink => "magiclink",
            AuthMethod::EmailChange => "email_change",
            AuthMethod::Registration => "registration",
            AuthMethod::EmailLink => "email_link",
            AuthMethod::Invite => "invite",
            AuthMethod::Anonymous => "anonymous",
            AuthMethod::Passkey => "passkey",
            AuthMethod::Oauth => "oauth",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "password" => Some(AuthMethod::Password),
            "otp" => Some(AuthMethod::Otp),
            "recovery" => Some(AuthMethod::Recovery),
            "magiclink" => Some(AuthMethod::MagicLink),
            "email_change" => Some(AuthMethod::EmailChange),
            "registration" => Some(AuthMethod::Registration),
            "email_link" => Some(AuthMethod::EmailLink),
            "invite" => Some(AuthMethod::Invite),
            "anonymous" => Some(AuthMethod::Anonymous),
            "passkey" => Some(AuthMethod::Passkey),
            "oauth" => Some(AuthMethod::Oauth),
            _ => None,
        }
    }
}

/// A signed-in device or tab: what access tokens point at (`session_id`) and logout ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// UUID v4.
    pub id: SessionId,
    /// The account.
    pub user_id: UserId,
    /// What the client called itself (User-Agent or a dialect's platform name), for the user.
    pub platform: String,
    /// How it was started.
    pub method: AuthMethod,
    /// The dialect it was started through: only that dialect's refresh takes its refresh
    /// token. `None` only for a session that an older worker stored during an upgrade, which
    /// any dialect may refresh.
    pub dialect: Option<Dialect>,
    /// Start time.
    pub created_at: Timestamp,
    /// Last refresh (or the start): what the inactivity timeout counts from.
    pub refreshed_at: Timestamp,
    /// Last authenticated use, written at most once a minute.
    pub last_active_at: Timestamp,
    /// When it was ended, if it was.
    pub revoked_at: Option<Timestamp>,
    /// The second factor it was raised to `aal2` with, if it was.
    pub second: Option<SecondStep>,
}

impl Session {
    /// Whether the session still authorizes requests.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }

    /// Whether credentials of `dialect` may use this session.
    pub fn belongs_to(&self, dialect: Dialect) -> bool {
        self.dialect.is_none_or(|d| d == dialect)
    }

    /// Its assurance level: `aal2` once a second factor was answered in it, or from its
    /// start when a passkey started it (a possession factor the user unlocked).
    pub fn aal(&self) -> Aal {
        match (&self.second, self.method) {
            (Some(_), _) | (None, AuthMethod::Passkey) => Aal::Aal2,
            (None, _) => Aal::Aal1,
        }
    }

    /// The last sign of use: an authenticated request or a refresh, whichever came later.
    pub fn last_active(&self) -> Timestamp {
        self.last_active_at.max(self.refreshed_at)
    }
}

/// A refresh token as stored: the public id and a hash of the secret half.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshToken {
    /// Public half of the `id.secret` token.
    pub id: String,
    /// The session it refreshes.
    pub session_id: SessionId,
    /// SHA-256 of the secret half, hex.
    pub secret_hash: String,
    /// The token this one replaced, if any.
    pub parent_id: Option<String>,
    /// Issue time.
    pub created_at: Timestamp,
    /// When it was exchanged for its successor; a used token is only honoured again within
    /// the reuse grace window.
    pub used_at: Option<Timestamp>,
}

/// A passwordless session token as stored: the public id and a hash of the secret half.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionToken {
    /// Public half of the `id.secret` token.
    pub id: String,
    /// The session it authenticates.
    pub session_id: SessionId,
    /// SHA-256 of the secret half, hex.
    pub secret_hash: String,
    /// Issue time.
    pub created_at: Timestamp,
}

/// Which sessions a logout ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogoutScope {
    /// Only the current session.
    Local,
    /// Every session of the account.
    Global,
    /// Every session but the current one.
    Others,
}
