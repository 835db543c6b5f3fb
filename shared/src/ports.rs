//! What the domain needs from the world: storage, mail, time, randomness and an error log.
//!
//! Each trait is small and named for the domain. Expiry and single use are part of the
//! contract (see [`Codes`]), so every backend enforces them the same way; the in-memory
//! implementations in `testing` and the D1 ones in the worker pass one contract suite.
//! Implementations live elsewhere; this module only says what they must do. Second factors'
//! port is in `factors`, passkeys' in `passkeys`, provider identities' in `identities`, the purge's in `housekeeping`.

mod factors;
mod housekeeping;
mod identities;
mod passkeys;
mod recovery_codes;

pub use factors::{Answer, Enrolled, Factors, Progress};
pub use housekeeping::{Expired, Housekeeping, Purged};
pub use identities::{Identities, IdentityAdded, OauthFlows};
pub use passkeys::{PasskeyAdded, PasskeyUse, Passkeys};
pub use recovery_codes::{CodesLeft, RecoveryCodes, RecoveryCodesAdded};

use crate::model::{
    CodeId, FlowState, LoginRequest, LoginRequestId, LoginState, LogoutScope, Mail, OneTimeCode, Purpose,
    RefreshToken, Session, SessionId, SessionToken, Timestamp, User, UserId,
};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A uniqueness rule was violated (names what was duplicated, e.g. `"email"`).
    #[error("conflict: {0} already exists")]
    Conflict(&'static str),
    /// The backend failed; the text is for the log, never for a response.
    #[error("storage backend failed: {0}")]
    Backend(String),
}

/// A mail delivery failure; the text is for the log and never holds a secret.
#[derive(Debug, thiserror::Error)]
#[error("mail delivery failed: {0}")]
pub struct MailError(pub String);

/// The current time. Tests use a fixed clock they can move.
pub trait Clock {
    /// Now, as unix milliseconds.
    fn now(&self) -> Timestamp;
}

/// A cryptographically secure random source. Tests use a seeded one.
pub trait Rng {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// What a first proof of the mailbox changes ([`Users::first_proof`]).
#[derive(Debug, Clone, Copy)]
pub struct FirstProof<'a> {
    /// The address proven, when it is not the account's yet (an email change).
    pub new_email: Option<&'a str>,
    /// Whether the password and `user_metadata` go. (Second factors go with every first
    /// proof: whoever enrolled one had not proven the mailbox.)
    pub forget: bool,
}

/// What must still hold when codes issued for an account are stored, after the answer
/// ([`Codes::put_while`]): the account's address as the flow saw it, and the session that asked
/// for them, if one did, live. A first proof of the mailbox in between changes the one and
/// ends the other, so nothing a stranger's session asked for before it outlives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreWhile {
    /// The account's address, as seen.
    pub email: Option<String>,
    /// When it was confirmed, as seen.
    pub email_confirmed_at: Option<Timestamp>,
    /// The session that asked, which must still be live (not ended).
    pub session: Option<SessionId>,
}

impl StoreWhile {
    /// `user`'s address as it is now, and `session` (if one asked) live.
    pub fn seen(user: &User, session: Option<&SessionId>) -> Self {
        Self { email: user.email.clone(), email_confirmed_at: user.email_confirmed_at, session: session.cloned() }
    }
}

/// Accounts.
pub trait Users {
    /// Stores a new account; [`StoreError::Conflict`]`("email")` if the address is taken,
    /// `Conflict("username")` if the username is, in any case.
    async fn insert(&self, user: &User) -> Result<(), StoreError>;
    /// The account with this normalised address.
    async fn by_email(&self, email: &str) -> Result<Option<User>, StoreError>;
    /// The account with this id.
    async fn by_id(&self, id: &UserId) -> Result<Option<User>, StoreError>;
    /// The account with this username, compared regardless of (ASCII) case.
    async fn by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// Marks the address confirmed (no-op if it already is), which also makes an anonymous
    /// account permanent.
    async fn confirm_email(&self, id: &UserId, at: Timestamp) -> Result<(), StoreError>;
    /// Replaces the password hash. With `while_session`, only while that session of the
    /// account is live (not ended), in the same step: a change a session asked for never lands
    /// after a proof of the mailbox ended that session. Returns whether it wrote.
    async fn set_password_hash(&self, id: &UserId, hash: &str, at: Timestamp, while_session: Option<&SessionId>)
        -> Result<bool, StoreError>;
    /// Replaces the password hash only if it is still `old` (a rehash at sign-in must not
    /// bring back a password discarded meanwhile); returns whether it did.
    async fn rehash_password(&self, id: &UserId, old: &str, new: &str, at: Timestamp)
        -> Result<bool, StoreError>;
    /// Removes the password (one a stranger may have set before the owner proved the mailbox).
    async fn clear_password(&self, id: &UserId, at: Timestamp) -> Result<(), StoreError>;
    /// Moves the account to another (normalised) address: confirmed at `at` (which also makes
    /// an anonymous account permanent), or unconfirmed; [`StoreError::Conflict`]`("email")` if
    /// another account has it.
    async fn set_email(&self, id: &UserId, email: &str, confirmed: bool, at: Timestamp) -> Result<(), StoreError>;
    /// Replaces `user_metadata`; `while_session` as for [`Users::set_password_hash`]. Returns
    /// whether it wrote.
    async fn set_metadata(&self, id: &UserId, metadata: &serde_json::Value, at: Timestamp, while_session: Option<&SessionId>)
        -> Result<bool, StoreError>;
    /// The first proof of the account's mailbox, all or nothing: with `proof.forget`, the
    /// password, `user_metadata` and the provider identities go (someone else may have set or
    /// linked them); every session of the
    /// account ends, with its auth codes not yet exchanged, the codes its sessions asked
    /// for (email change, re-authentication) and its second factors; the address (`proof.new_email`, or the one it
    /// has) is confirmed, which makes an anonymous account permanent.
    /// [`StoreError::Conflict`]`("email")` if `new_email` belongs to another account, and then
    /// nothing changed.
    async fn first_proof(&self, id: &UserId, proof: FirstProof<'_>, at: Timestamp) -> Result<(), StoreError>;
    /// Replaces `app_metadata`.
    async fn set_app_metadata(&self, id: &UserId, metadata: &serde_json::Value, at: Timestamp)
        -> Result<(), StoreError>;
    /// Bans the account until `until`, or lifts the ban (`None`).
    async fn set_banned_until(&self, id: &UserId, until: Option<Timestamp>, at: Timestamp) -> Result<(), StoreError>;
    /// At most `limit` accounts from the `offset`-th on, newest first (then by id), and how
    /// many accounts there are in all.
    async fn page(&self, offset: u64, limit: u32) -> Result<(Vec<User>, u64), StoreError>;
    /// Soft-deletes the account, all or nothing: its address, username, password and both
    /// metadata go, `deleted_at` is set, and everything that hangs off it (sessions and their
    /// tokens, codes, sign-in requests, auth codes, identities) is removed; returns whether it existed.
    async fn soft_delete(&self, id: &UserId, at: Timestamp) -> Result<bool, StoreError>;
    /// Removes the account with everything that hangs off it (sessions and their tokens,
    /// codes, sign-in requests, identities), all or nothing; returns whether it existed.
    async fn delete(&self, id: &UserId) -> Result<bool, StoreError>;
}

/// Sessions and their refresh tokens.
pub trait Sessions {
    /// Stores a new session with its first refresh token and records the sign-in time on the
    /// user, all or nothing; returns whether it did. It does only while, at the moment of
    /// writing, the account exists and is neither soft-deleted nor banned at the session's
    /// start, so a sign-in that a deletion or a ban overtook starts nothing. With
    /// `while_password`, also only if the account's password hash is still exactly that one,
    /// so a sign-in whose password was discarded or replaced while it was being checked (a
    /// proof of the mailbox, a recovery, a password change) starts nothing. With `while_mfa`,
    /// also only if whether the account has a verified second factor is still that, so a
    /// sign-in that decided between tokens and a second step on an older read starts nothing.
    async fn start(&self, session: &Session, token: &RefreshToken, while_password: Option<&str>, while_mfa: Option<bool>)
        -> Result<bool, StoreError>;
    /// Stores a new session with its passwordless session token and records the sign-in time
    /// on the user, all or nothing, under [`Sessions::start`]'s conditions; returns whether it
    /// did.
    async fn start_with_token(&self, session: &Session, token: &SessionToken) -> Result<bool, StoreError>;
    /// The session with this id, ended or not.
    async fn get(&self, id: &SessionId) -> Result<Option<Session>, StoreError>;
    /// The session with this id, ended or not, and its account, in one read (what every
    /// authenticated request needs).
    async fn with_user(&self, id: &SessionId) -> Result<Option<(Session, User)>, StoreError>;
    /// The live sessions of an account.
    async fn list(&self, user_id: &UserId) -> Result<Vec<Session>, StoreError>;
    /// The passwordless session token with this public id, its session (ended or not) and the
    /// account, in one read.
    async fn session_token(&self, id: &str) -> Result<Option<(SessionToken, Session, User)>, StoreError>;
    /// Records use of the session at `at`, unless it was recorded at or after `unless_since`.
    async fn touch(&self, id: &SessionId, at: Timestamp, unless_since: Timestamp) -> Result<(), StoreError>;
    /// Ends the sessions of `user_id` that `scope` names relative to `current`; returns how
    /// many were live. Their refresh tokens die with them, and unless the scope is `Local` so
    /// do the account's PKCE auth codes (sessions not yet started), all at once.
    async fn revoke(
        &self,
        user_id: &UserId,
        current: &SessionId,
        scope: LogoutScope,
        at: Timestamp,
    ) -> Result<usize, StoreError>;
    /// The refresh token with this public id, its session (ended or not) and the account, in
    /// one read.
    async fn refresh_token(&self, id: &str) -> Result<Option<(RefreshToken, Session, User)>, StoreError>;
    /// Exchanges `parent` for `successor`, all at once: marks the parent used (if it was not),
    /// stores the successor unless a token with its id exists (concurrent exchanges of one
    /// parent derive the same successor), and records the refresh on the session. Returns the
    /// parent's `used_at` afterwards, which says whether this call or an earlier one used it.
    async fn rotate(
        &self,
        parent_id: &str,
        successor: &RefreshToken,
        at: Timestamp,
    ) -> Result<Timestamp, StoreError>;
}

/// One-time codes and emailed links. A code is live while unused, unexpired and under its
/// attempt cap; every method that uses one checks that atomically (compare-and-swap), so two
/// concurrent requests can never both spend the same try or the same code.
pub trait Codes {
    /// Stores `code` as the one live code for its user and purpose, replacing any earlier one.
    async fn put(&self, code: &OneTimeCode) -> Result<(), StoreError>;
    /// [`Codes::put`] of `codes` (of one account, each of its own purpose) at once, all or
    /// nothing, and only while `cond` holds for their account: an email change (one code, or
    /// the halves of a secure one). `false`: it did not hold, and nothing was stored.
    async fn put_while(&self, codes: &[OneTimeCode], cond: &StoreWhile) -> Result<bool, StoreError>;
    /// The live code of this user and purpose no longer keeps what its attempt set
    /// ([`OneTimeCode::keeps_attempt`]): a later attempt by someone else came in.
    async fn forfeit_keep(&self, user_id: &UserId, purpose: Purpose) -> Result<(), StoreError>;
    /// The current code for a user and purpose, live or not.
    async fn for_user(
        &self,
        user_id: &UserId,
        purpose: Purpose,
    ) -> Result<Option<OneTimeCode>, StoreError>;
    /// The newest code for `purpose` sent to `address` (for codes sent to an address the
    /// account does not have yet: email change).
    async fn for_recipient(
        &self,
        address: &str,
        purpose: Purpose,
    ) -> Result<Option<OneTimeCode>, StoreError>;
    /// The code whose link token hashes to `link_hash`, live or not.
    async fn by_link_hash(&self, link_hash: &str) -> Result<Option<OneTimeCode>, StoreError>;
    /// Takes one try at the code: increments its attempts if it is live and has fewer than
    /// `max_attempts`. `false` means no try was left (or it is used or expired).
    async fn take_attempt(
        &self,
        id: &CodeId,
        now: Timestamp,
        max_attempts: u32,
    ) -> Result<bool, StoreError>;
    /// Marks the code used if it is still unused and unexpired. `true` only for the one caller
    /// that used it.
    async fn consume(&self, id: &CodeId, now: Timestamp) -> Result<bool, StoreError>;
}

/// PKCE auth codes. Each is taken once: whoever takes it, right verifier or not, used it up.
pub trait FlowStates {
    /// Stores a new auth code.
    async fn put(&self, state: &FlowState) -> Result<(), StoreError>;
    /// Removes the auth code whose hash is `auth_code_hash` and returns it, expired or not;
    /// `None` if there is none (never issued, or taken already). Of concurrent takes, one
    /// gets it.
    async fn take(&self, auth_code_hash: &str) -> Result<Option<FlowState>, StoreError>;
}

/// Emailed sign-in requests. State changes are compare-and-swap: each one happens once.
pub trait LoginRequests {
    /// Stores a new request.
    async fn put(&self, request: &LoginRequest) -> Result<(), StoreError>;
    /// The request with this `auth_id`.
    async fn by_id(&self, id: &LoginRequestId) -> Result<Option<LoginRequest>, StoreError>;
    /// The request whose link token hashes to `link_hash`.
    async fn by_link_hash(&self, link_hash: &str) -> Result<Option<LoginRequest>, StoreError>;
    /// Records the token of the page just shown (replacing an earlier page's) if the request is
    /// still pending and unexpired; `false` otherwise.
    async fn show_page(&self, id: &LoginRequestId, page_hash: &str, now: Timestamp) -> Result<bool, StoreError>;
    /// Moves a pending, unexpired request whose page token hashes to `page_hash` to `to`
    /// (confirmed or denied) and forgets the page token; `true` only for the one caller that did.
    async fn decide(&self, id: &LoginRequestId, page_hash: &str, to: LoginState, now: Timestamp) -> Result<bool, StoreError>;
    /// Moves a confirmed, unexpired request to claimed; `true` only for the one caller that did.
    async fn claim(&self, id: &LoginRequestId, now: Timestamp) -> Result<bool, StoreError>;
}

/// Budgets counted exactly (never KV) per key, in a window that starts with its first use:
/// wrong guesses at codes per address (which a new code does not reset), mails per recipient.
pub trait Budgets {
    /// Uses one unit of each `(key, max)` budget at once (one round trip), all or nothing:
    /// each is counted in the window that began at its first use, or in a new window from
    /// `now` once `window_secs` have passed. Returns whether every use is within its `max`;
    /// if one is not, none of them is counted (a refused request spends no budget, so a
    /// stranger past their own limit cannot use up a shared one). Concurrent uses cannot
    /// exceed a max.
    async fn take_all(&self, uses: &[(&str, u32)], now: Timestamp, window_secs: i64) -> Result<bool, StoreError>;
    /// [`Budgets::take_all`] of one budget.
    async fn take(&self, key: &str, now: Timestamp, window_secs: i64, max: u32) -> Result<bool, StoreError> {
        self.take_all(&[(key, max)], now, window_secs).await
    }
    /// Gives one unit back (a right guess; a mail that was not sent).
    async fn give_back(&self, key: &str) -> Result<(), StoreError>;
    /// [`Budgets::give_back`] of one unit to each key, in one round trip where the store can.
    async fn give_back_all(&self, keys: &[String]) -> Result<(), StoreError> {
        for key in keys {
            self.give_back(key).await?;
        }
        Ok(())
    }
    /// [`Budgets::take_all`], and the account `name` names, read in the same round trip: a
    /// password sign-in counts its guess and finds its account at once. The account is read
    /// whether or not the uses were within their max (the caller then ignores it).
    async fn take_all_and_find(
        &self,
        uses: &[(&str, u32)],
        now: Timestamp,
        window_secs: i64,
        name: AccountName<'_>,
    ) -> Result<(bool, Option<User>), StoreError>
    where
        Self: Users,
    {
        let within = self.take_all(uses, now, window_secs).await?;
        let user = match name {
            AccountName::Email(email) => self.by_email(email).await?,
            AccountName::Username(username) => self.by_username(username).await?,
        };
        Ok((within, user))
    }
}

/// How a sign-in names its account: by its normalised address, or by its username.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountName<'a> {
    /// [`Users::by_email`].
    Email(&'a str),
    /// [`Users::by_username`].
    Username(&'a str),
}

impl<'a> AccountName<'a> {
    /// The name, whichever kind.
    pub fn as_str(self) -> &'a str {
        match self {
            AccountName::Email(name) | AccountName::Username(name) => name,
        }
    }
}

/// Per-address, per-purpose mail send limits, kept where they are consistent (never KV).
pub trait SendLimits {
    /// Claims the right to mail `address` for `purpose` now, if nothing was sent in the last
    /// `interval_secs`. `Ok(None)`: claimed; `Ok(Some(t))`: the last send was at `t`.
    async fn claim(
        &self,
        address: &str,
        purpose: Purpose,
        now: Timestamp,
        interval_secs: i64,
    ) -> Result<Option<Timestamp>, StoreError>;
    /// Gives back the claim made at `claimed_at` (the mail could not be sent).
    async fn release(&self, address: &str, purpose: Purpose, claimed_at: Timestamp)
        -> Result<(), StoreError>;
}

/// An outbound HTTP request that got no answer (network, timeout); the text is for the log and
/// never holds a secret.
#[derive(Debug, thiserror::Error)]
#[error("outbound request failed: {0}")]
pub struct HttpError(pub String);

/// What an outbound HTTP request answered.
#[derive(Debug, Clone)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// The body, as text (bounded by the implementation).
    pub body: String,
}

/// Outbound HTTP (a CAPTCHA provider's verify endpoint, identity providers). Every request
/// asks for JSON (`Accept: application/json`) and names Portcullis as its user agent (GitHub's
/// API refuses requests without one); redirects are not followed.
pub trait Http {
    /// POSTs `form` as `application/x-www-form-urlencoded` to `url`, giving up after
    /// `timeout_ms`.
    async fn post_form(&self, url: &str, form: &[(&str, &str)], timeout_ms: u32) -> Result<HttpReply, HttpError>;
    /// GETs `url`, with `Authorization: Bearer <bearer>` if given, giving up after
    /// `timeout_ms`.
    async fn get(&self, url: &str, bearer: Option<&str>, timeout_ms: u32) -> Result<HttpReply, HttpError>;
}

/// Outgoing mail.
pub trait Mailer {
    /// Delivers one mail, or says why not.
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}

/// All of the storage ports over one backend: what flows hold. Every type that implements each
/// port trait is a `Store`.
pub trait Store: Users + Sessions + Codes + Budgets + SendLimits + LoginRequests + FlowStates + Factors + Passkeys + RecoveryCodes + Identities + OauthFlows {}

impl<T: Users + Sessions + Codes + Budgets + SendLimits + LoginRequests + FlowStates + Factors + Passkeys + RecoveryCodes + Identities + OauthFlows> Store for T {}

/// Everything the domain needs, bundled so that flows take one generic parameter.
pub trait Ports {
    /// Storage.
    type Store: Store;
    /// Mail delivery.
    type Mailer: Mailer;
    /// Time.
    type Clock: Clock;
    /// Randomness.
    type Rng: Rng;
    /// Outbound HTTP.
    type Http: Http;
    /// Signatures.
    type Signatures: crate::signature::Signatures;

    /// Storage.
    fn store(&self) -> &Self::Store;
    /// Mail delivery.
    fn mailer(&self) -> &Self::Mailer;
    /// Time.
    fn clock(&self) -> &Self::Clock;
    /// Randomness.
    fn rng(&self) -> &Self::Rng;
    /// Outbound HTTP.
    fn http(&self) -> &Self::Http;
    /// Signatures.
    fn signatures(&self) -> &Self::Signatures;
    /// Records an internal error with its detail, under the id the client was given. The
    /// detail never contains secrets (they are [`crate::secret::Secret`]s and mails redact).
    fn log_error(&self, error_id: &str, detail: &str);
}
