//! The account record, [`User`], and what can be read off it alone (banned, confirmed, its
//! address). Sessions and codes that hang off an account have their own files; how an address is
//! normalised, and who may sign in, are the flows' rules.

use super::id::UserId;
use super::time::Timestamp;

/// An account. The email is stored trimmed and lower-cased; with the password it is the login
/// of the GoTrue dialect. A username (passwordless dialect) is unique regardless of case.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// UUID v4, the JWT `sub`.
    pub id: UserId,
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
    /// `provider` and `providers` keys GoTrue shows for every account: see [`User::providers`]).
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
    /// Whether the account has second factors, and a verified one (then nothing less than
    /// `aal2` is a full session, in any dialect). Kept with the account so every read of it
    /// knows.
    pub mfa: MfaState,
    /// The providers of the account's identities (`github`, `google`), each once, in the order
    /// they were first linked. Kept with the account by every write of its identities, so
    /// every read of it knows (GoTrue's `app_metadata.providers`, in every token).
    pub providers: Vec<String>,
    /// The provider whose identity made the account (GoTrue's `app_metadata.provider`, the way
    /// it signed up); `None` for an account made with an address, a username or anonymously.
    pub made_by: Option<String>,
}

/// What second factors an account has ([`User::mfa`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MfaState {
    /// None.
    #[default]
    Off,
    /// Only unverified ones (being enrolled).
    Enrolling,
    /// At least one verified.
    On,
}

impl MfaState {
    /// As stored: 0, 1, 2.
    pub fn as_i64(self) -> i64 {
        match self {
            MfaState::Off => 0,
            MfaState::Enrolling => 1,
            MfaState::On => 2,
        }
    }

    /// From storage (anything unknown counts as on: the safe side).
    pub fn from_i64(v: i64) -> Self {
        match v {
            0 => MfaState::Off,
            1 => MfaState::Enrolling,
            _ => MfaState::On,
        }
    }
}

impl User {
    /// Whether the account has a verified second factor.
    pub fn mfa_enabled(&self) -> bool {
        self.mfa == MfaState::On
    }

    /// A new account with a normalised `email`, if any: unconfirmed, without a password or
    /// username, never signed in. Sign-up decoys are made by this same function, so they look
    /// like real new accounts.
    pub fn new(id: UserId, email: Option<&str>, user_metadata: serde_json::Value, now: Timestamp) -> Self {
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
            mfa: MfaState::Off,
            providers: Vec::new(),
            made_by: None,
        }
    }

    /// Whether the account has GoTrue's `email` identity, a way in besides its providers: not
    /// an anonymous account, nor one a provider made that has neither password nor username
    /// since (nor one without an address, password or username at all).
    pub fn has_email_identity(&self) -> bool {
        let made_with_an_address = self.made_by.is_none() && self.email.is_some();
        !self.is_anonymous && (made_with_an_address || self.password_hash.is_some() || self.username.is_some())
    }

    /// What a first proof of the mailbox that forgets takes from the account, as
    /// `Users::first_proof` stores it: the password, the metadata, its identities (so their
    /// providers) and who made it. Whoever set them had not shown the mailbox was theirs.
    pub fn forget(&mut self) {
        self.password_hash = None;
        self.user_metadata = serde_json::json!({});
        self.providers.clear();
        self.made_by = None;
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
