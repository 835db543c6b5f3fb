//! The account store's records: what Portcullis knows about users, sessions, refresh tokens and
//! one-time codes, independent of how a backend stores them or a dialect renders them.
//!
//! Secrets never appear here in the clear: passwords are PHC strings, token and code secrets are
//! hashes. Timestamps are unix milliseconds ([`Timestamp`]), taken from the `Clock` port.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// A point in time as unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Whole seconds since the unix epoch (rounded down).
    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// This time plus `secs` seconds.
    pub fn plus_secs(self, secs: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(secs.saturating_mul(1000)))
    }

    /// As a chrono UTC time (falls back to the epoch for values chrono cannot represent).
    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp_millis(self.0).unwrap_or_default()
    }

    /// RFC 3339 with microseconds and `Z`, the way GoTrue prints times.
    pub fn to_rfc3339(self) -> String {
        self.to_datetime().to_rfc3339_opts(SecondsFormat::Micros, true)
    }
}

/// An account. The email is stored trimmed and lower-cased; with the password it is the login
/// of the GoTrue dialect. A username (passwordless dialect) is unique regardless of case.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// UUID v4, the JWT `sub`.
    pub id: String,
    /// Normalised address (see `flows::normalize_email`); `None` until one is confirmed for a
    /// username account.
    pub email: Option<String>,
    /// The chosen username, as typed, if the account has one.
    pub username: Option<String>,
    /// PHC string, `None` for accounts without a password.
    pub password_hash: Option<String>,
    /// When the address was confirmed; `None` until then.
    pub email_confirmed_at: Option<Timestamp>,
    /// The latest successful sign-in.
    pub last_sign_in_at: Option<Timestamp>,
    /// Free-form JSON object the user controls (GoTrue's `user_metadata`).
    pub user_metadata: serde_json::Value,
    /// JSON object only the service role sets (GoTrue's `app_metadata`, without the
    /// `provider` and `providers` keys GoTrue shows for every account).
    pub app_metadata: serde_json::Value,
    /// Refused sign-in and every session until then (GoTrue's admin `ban_duration`).
    pub banned_until: Option<Timestamp>,
    /// Signed in without any address or password (GoTrue's anonymous sign-in), until an address
    /// is confirmed.
    pub is_anonymous: bool,
    /// When the service role soft-deleted the account (its address, password, metadata and
    /// sessions are gone; the record stays).
    pub deleted_at: Option<Timestamp>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change to any field above.
    pub updated_at: Timestamp,
}

impl User {
    /// A new account with a normalised `email`, if any: unconfirmed, without a password or
    /// username, never signed in. Sign-up decoys are made by this same function, so they look
    /// like real new accounts.
    pub fn new(id: String, email: Option<&str>, user_metadata: serde_json::Value, now: Timestamp) -> Self {
        User {
            id,
            email: email.map(str::to_string),
            username: None,
            password_hash: None,
            email_confirmed_at: None,
            last_sign_in_at: None,
            user_metadata,
            app_metadata: serde_json::json!({}),
            banned_until: None,
            is_anonymous: false,
            deleted_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether the account is banned at `now`.
    pub fn is_banned(&self, now: Timestamp) -> bool {
        self.banned_until.is_some_and(|until| until > now)
    }

    /// Whether the account's email address has been confirmed.
    pub fn is_confirmed(&self) -> bool {
        self.email_confirmed_at.is_some()
    }

    /// Whether `address` (normalised) is this account's address.
    pub fn has_email(&self, address: &str) -> bool {
        self.email.as_deref() == Some(address)
    }
}

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
            _ => None,
        }
    }
}

/// The protocol a session was started through, and whose credentials it issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dialect {
    /// Supabase Auth (GoTrue).
    Gotrue,
    /// FeathersJS.
    Feathers,
    /// django-graphql-jwt.
    Graphql,
    /// The passwordless API (opaque session tokens).
    Passwordless,
}

impl Dialect {
    /// Every dialect: what a deployment serves by default and `/api/check` accepts.
    pub const ALL: &'static [Dialect] = &[Dialect::Gotrue, Dialect::Feathers, Dialect::Graphql, Dialect::Passwordless];

    /// Stored name, and what `/api/check` reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Gotrue => "gotrue",
            Dialect::Feathers => "feathers",
            Dialect::Graphql => "graphql",
            Dialect::Passwordless => "passwordless",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "gotrue" => Some(Dialect::Gotrue),
            "feathers" => Some(Dialect::Feathers),
            "graphql" => Some(Dialect::Graphql),
            "passwordless" => Some(Dialect::Passwordless),
            _ => None,
        }
    }
}

/// A signed-in device or tab: what access tokens point at (`session_id`) and logout ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// UUID v4.
    pub id: String,
    /// The account.
    pub user_id: String,
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
    pub session_id: String,
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
    pub session_id: String,
    /// SHA-256 of the secret half, hex.
    pub secret_hash: String,
    /// Issue time.
    pub created_at: Timestamp,
}

/// Where an emailed sign-in request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginState {
    /// Mailed, not yet answered.
    Pending,
    /// The person confirmed it on the link's page; the poller may take the session once.
    Confirmed,
    /// The person denied it.
    Denied,
    /// The poller took its session.
    Claimed,
}

impl LoginState {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LoginState::Pending => "pending",
            LoginState::Confirmed => "confirmed",
            LoginState::Denied => "denied",
            LoginState::Claimed => "claimed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(LoginState::Pending),
            "confirmed" => Some(LoginState::Confirmed),
            "denied" => Some(LoginState::Denied),
            "claimed" => Some(LoginState::Claimed),
            _ => None,
        }
    }
}

/// An emailed sign-in request (passwordless `POST /auth/login`). The requester polls by `id`;
/// the mailbox owner answers through the link, whose token is not the id, on a page whose own
/// single-use token must come back with the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginRequest {
    /// The `auth_id` the requester polls with (UUID v4).
    pub id: String,
    /// The account asked for.
    pub user_id: String,
    /// What the requesting client called itself; shown on the page.
    pub platform: String,
    /// SHA-256 of the link token.
    pub link_hash: String,
    /// SHA-256 of the token on the page shown last, if it was opened.
    pub page_hash: Option<String>,
    /// Where it stands.
    pub state: LoginState,
    /// Issue time.
    pub created_at: Timestamp,
    /// Dead from this time on, whatever its state.
    pub expires_at: Timestamp,
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
    /// A passwordless sign-in request (send limits only; its link is a [`LoginRequest`]).
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
    pub id: String,
    /// The account.
    pub user_id: String,
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
    pub user_id: String,
    /// How the session will have been started (the link's purpose).
    pub method: AuthMethod,
    /// What the verifier must answer.
    pub challenge: PkceChallenge,
    /// Issue time.
    pub created_at: Timestamp,
    /// Dead from this time on.
    pub expires_at: Timestamp,
}

/// A mail to send, already rendered.
#[derive(Clone, PartialEq)]
pub struct Mail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

// Mails carry codes and sign-in links: keep their bodies out of logs.
impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("body", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_like_gotrue() {
        assert_eq!(
            Timestamp(1_700_000_000_123).to_rfc3339(),
            "2023-11-14T22:13:20.123000Z"
        );
        assert_eq!(Timestamp(1_700_000_000_999).unix_seconds(), 1_700_000_000);
    }

    #[test]
    fn mail_debug_hides_the_body() {
        let m = Mail {
            to: "a@b.c".into(),
            subject: "s".into(),
            text: "code 123456".into(),
            html: "123456".into(),
        };
        assert!(!format!("{m:?}").contains("123456"));
    }
}
