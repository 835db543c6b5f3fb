//! The flows: every rule about accounts, codes, sessions and tokens, written once for all dialects.
//!
//! A flow takes already-parsed input, talks to the ports and returns a domain result or an error
//! naming only its own refusals (`errors`). It knows nothing of wire formats or HTTP statuses (the
//! dialects do) nor of backends (the ports do). [`Auth`] is the long-lived service (settings,
//! derived keys, ports), built once per isolate; each flow is a method of [`Flows`], the service
//! together with one request's [`Scope`] (its client, id and time, and the outbox of what to do
//! after the answer). [`Auth`]'s fields are private: a dialect reaches the world only through a
//! flow. Submodules: `errors` (every refusal, and the narrow type each flow returns), `scope`,
//! `signup`, `verify` (codes and links), `login`, `session` (starting sessions), `bearer` (the one
//! road from a presented credential to its live session, with every session rule), `access`
//! (minting each dialect's access tokens, their lifetimes and refresh windows), `refresh`,
//! `account` (recovery, email sign-in, updates, logout), `throttle` (per-client limits on password
//! checks, code verifications and mails), `email_change` (moving an account to another address,
//! confirmed by both), `reauth` (re-authentication for sensitive changes), `factors` (second factors: enrolling,
//! challenging, answering and removing them), `passkeys` and `passkey_signin` (passkeys: registering,
//! managing and signing in with them), `external`, `external_redirect` and `external_link` (signing in through identity providers: their tokens, their pages; linking identities by hand), `second_step` (completing a password sign-in of
//! such an account outside GoTrue), `passwordless` (username
//! registration, emailed sign-in requests, session management), `mailing` (codes and notices under
//! the send limit, sent after the answer), `pkce` (auth codes for clients that sent a challenge)
//! and `admin` (the service role's account management).

mod access;
mod admin;
mod account;
mod bearer;
mod captcha;
mod email_change;
mod errors;
mod external;
mod external_link;
mod external_redirect;
mod factor_webauthn;
mod factors;
mod login;
mod mailing;
mod passkey_signin;
mod passkeys;
mod passwordless;
mod pkce;
mod reauth;
mod recovery_codes;
mod refresh;
mod scope;
mod second_step;
mod session;
mod signup;
mod throttle;
mod verify;

pub use access::{amr, gotrue_app_metadata, AccessToken, Amr, Claims, GraphqlToken, RefreshWindowPassed};
pub use admin::{AccountChange, AdminError, Ban, HandedOut, LinkKind, LinkRequest, NewAccount, ADMIN_ROLES, MAX_PER_PAGE};
pub use account::{Updated, UserUpdate};
pub use bearer::{Bearer, BearerError, ACTIVITY_WRITE_INTERVAL_SECS};
pub use captcha::Human;
pub use email_change::{CodeUse, EmailChangeSent};
pub use factor_webauthn::{Ceremony, Descriptor, WebauthnAnswer, CHALLENGE_BYTES};
pub use factors::{AalNeed, Enrollment, FactorError, Issued, TotpSetup, MAX_FACTOR_LABEL_BYTES};
pub use external::{ExternalError, IdTokenSignIn, ProviderUser, PROVIDER_TIMEOUT_MS};
pub use external_redirect::{Callback, CallbackError, CallbackParams, OauthStart, ProviderTokens};
pub use errors::{ChangeError, CodeError, FlowError, InternalError, LoginError, RefreshError, SignInRequestError, SignupError};
pub use mailing::{Landing, PKCE_LINK_PREFIX};
pub use verify::Verified;
pub use crate::model::Dialect;
// The code-lifetime rule is the config's, which the mails read too: mail never imports flows.
pub use crate::config::INVITE_EXP_SECS;
pub use passkeys::{PasskeyError, PasskeyOptions, DEFAULT_PASSKEY_NAME, MAX_PASSKEY_NAME_BYTES};
pub use pkce::{PkceError, AUTH_CODE_LIFETIME_SECS};
pub use recovery_codes::{NewCodes, DEFAULT_RECOVERY_CODES_NAME, RECOVERY_CODES};
pub use passwordless::{is_valid_platform, is_valid_username, EmailClaim, LoginPage, LoginTicket};
pub use scope::{Outbox, Scope};
pub use second_step::SecondStepDue;
pub use session::SignedIn;
pub use signup::{SignupOutcome, SignupRequest};

use crate::config::Config;
use crate::password::{PasswordHasher, MAX_PASSWORD_BYTES};
use crate::ports::{Budgets, Codes, FlowStates, LoginRequests, Ports, SendLimits, Sessions, Users};
use crate::secret::Secret;
use crate::token::JwtKeys;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::rc::Rc;

/// Longest email address accepted (RFC 5321 path limit).
pub const MAX_EMAIL_BYTES: usize = 254;

/// The auth service: ports plus configuration, with one method per flow.
pub struct Auth<P> {
    /// The world.
    ports: P,
    /// This deployment's settings.
    config: Config,
    /// Password hashing with the configured parameters.
    hasher: PasswordHasher,
    /// Access token keys, one per dialect that issues JWTs.
    keys: DialectKeys,
    /// Key for one-time code hashes, derived from the JWT secret.
    code_key: Secret<Vec<u8>>,
    /// Key deriving a refresh token's successor from it, derived from the JWT secret.
    refresh_key: Secret<Vec<u8>>,
    /// Key sealing second factors' secrets, derived from the JWT secret.
    factor_key: crate::seal::SealKey,
    /// Key sealing a provider's tokens while they wait for the PKCE exchange
    /// (`external_redirect`, `pkce`), derived from the JWT secret.
    provider_token_key: crate::seal::SealKey,
    /// Key deriving the PKCE verifier and nonce a provider sign-in sends from its state,
    /// derived from the JWT secret (`external_redirect`).
    oauth_key: Secret<Vec<u8>>,
    /// Identity providers' discovery documents and keys, as fetched (`external`).
    provider_cache: std::cell::RefCell<std::collections::HashMap<String, Rc<external::Fetched>>>,
}

impl<P: Ports> Auth<P> {
    /// Builds the service; fails only on unusable password parameters.
    pub fn new(ports: P, config: Config) -> Result<Self, FlowError> {
        let hasher = PasswordHasher::new(config.password_params)?;
        let keys = DialectKeys::new(&config.jwt_secret, config.jwt_keys.clone(), config.jwt_leeway_secs);
        let code_key = derive_key(config.jwt_secret.expose(), b"portcullis one-time codes v1");
        let refresh_key = derive_key(config.jwt_secret.expose(), b"portcullis refresh successors v1");
        let oauth_key = derive_key(config.jwt_secret.expose(), b"portcullis oauth flows v1");
        let provider_token_key = crate::seal::SealKey::new(derive_key(config.jwt_secret.expose(), b"portcullis provider tokens v1"))
            .ok_or_else(|| FlowError::Internal("provider token key".into()))?;
        let factor_key = crate::seal::SealKey::new(derive_key(config.jwt_secret.expose(), b"portcullis factor secrets v1"))
            .ok_or_else(|| FlowError::Internal("factor key".into()))?;
        Ok(Self {
            ports,
            config,
            hasher,
            keys,
            code_key,
            refresh_key,
            factor_key,
            oauth_key,
            provider_token_key,
            provider_cache: Default::default(),
        })
    }

    /// A scope for one request from `client` (see [`Scope::new`]), with a fresh request id
    /// and the clock's time.
    pub fn scope(&self, client: &str) -> Scope {
        use crate::ports::Clock as _;
        Scope::new(client, crate::token::random_hex(self.ports.rng(), 8), self.ports.clock().now())
    }

    /// This deployment's settings, for a dialect to *render* (GoTrue's `/settings`, which
    /// arguments graphql-jwt's mode takes); the rules that read them live in the flows.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// GoTrue's published keys (`/.well-known/jwks.json`): the public part of each ES256 and
    /// RS256 key of `JWT_KEYS`; none without it (HS256 keys are secrets).
    pub fn jwks(&self) -> serde_json::Value {
        match &self.config.jwt_keys {
            Some(set) => set.jwks(),
            None => serde_json::json!({"keys": []}),
        }
    }

    /// The ports, for tests and adapters to inspect; no dialect uses them.
    #[cfg(any(test, feature = "testing"))]
    pub fn ports(&self) -> &P {
        &self.ports
    }

    /// Logs an internal error's `detail` under `error_id` (a request's id, which every
    /// dialect shows the client in its own error shape so a report can be matched to the
    /// log). The one place internal errors are logged.
    fn log_error(&self, error_id: &str, detail: &dyn std::fmt::Display) {
        self.ports.log_error(error_id, &detail.to_string());
    }

    fn users(&self) -> &impl Users {
        self.ports.store()
    }

    fn sessions(&self) -> &impl Sessions {
        self.ports.store()
    }

    fn codes(&self) -> &impl Codes {
        self.ports.store()
    }

    fn budgets(&self) -> &impl Budgets {
        self.ports.store()
    }

    /// The budgets with the accounts, for [`Budgets::take_all_and_find`].
    fn budgets_and_users(&self) -> &(impl Budgets + Users) {
        self.ports.store()
    }

    fn send_limits(&self) -> &impl SendLimits {
        self.ports.store()
    }

    fn login_requests(&self) -> &impl LoginRequests {
        self.ports.store()
    }

    fn flow_states(&self) -> &impl FlowStates {
        self.ports.store()
    }

    fn factor_store(&self) -> &impl crate::ports::Factors {
        self.ports.store()
    }

    fn signatures(&self) -> &impl crate::signature::Signatures {
        self.ports.signatures()
    }
}

/// The flows as one request calls them: the long-lived service and that request's
/// [`Scope`]. Every flow is a method here; the service's own fields are reached through
/// `Deref`, so a flow reads `self.config` and `self.scope` alike. Cheap to clone (two `Rc`s),
/// so an executor that must own its data (GraphQL's) can hold one.
pub struct Flows<P> {
    auth: Rc<Auth<P>>,
    scope: Rc<Scope>,
}

impl<P> Clone for Flows<P> {
    fn clone(&self) -> Self {
        Self { auth: Rc::clone(&self.auth), scope: Rc::clone(&self.scope) }
    }
}

impl<P> std::ops::Deref for Flows<P> {
    type Target = Auth<P>;
    fn deref(&self) -> &Auth<P> {
        &self.auth
    }
}

impl<P: Ports> Flows<P> {
    /// `auth`'s flows in `scope`.
    pub fn new(auth: Rc<Auth<P>>, scope: Rc<Scope>) -> Self {
        Self { auth, scope }
    }

    /// The request's scope.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The request's time: one instant for everything the request decides.
    fn now(&self) -> crate::model::Timestamp {
        self.scope.now()
    }

    /// Reports an internal error: logs `detail` under the request's id and returns that id,
    /// which every dialect shows the client in its own error shape.
    pub fn report(&self, detail: &dyn std::fmt::Display) -> String {
        let id = self.scope.request_id().to_string();
        self.auth.log_error(&id, detail);
        id
    }
}

/// The keys of the dialects' access tokens. GoTrue's is `JWT_SECRET` itself, as upstream's
/// is (or the `JWT_KEYS` set, which then signs, with `JWT_SECRET` still verifying tokens
/// without `kid`), so resource servers that verify Supabase tokens with it keep working;
/// Feathers' and graphql-jwt's are derived from it per dialect, so no verifier that holds the
/// shared secret (PostgREST and the like) ever takes their tokens for GoTrue's.
struct DialectKeys {
    gotrue: JwtKeys,
    feathers: JwtKeys,
    graphql: JwtKeys,
}

impl DialectKeys {
    fn new(secret: &Secret<Vec<u8>>, set: Option<std::sync::Arc<crate::keyset::KeySet>>, leeway_secs: i64) -> Self {
        let derived = |label: &[u8]| JwtKeys::new(&derive_key(secret.expose(), label), leeway_secs);
        Self {
            gotrue: JwtKeys::with_set(secret, leeway_secs, set),
            feathers: derived(b"portcullis feathers access tokens v1"),
            graphql: derived(b"portcullis graphql-jwt tokens v1"),
        }
    }

    /// The key of a dialect's JWTs; passwordless has none (its tokens are opaque).
    fn of(&self, dialect: Dialect) -> Option<&JwtKeys> {
        match dialect {
            Dialect::Gotrue => Some(&self.gotrue),
            Dialect::Feathers => Some(&self.feathers),
            Dialect::Graphql => Some(&self.graphql),
            Dialect::Passwordless => None,
        }
    }
}

fn derive_key(secret: &[u8], label: &[u8]) -> Secret<Vec<u8>> {
    let key = match <Hmac<Sha256> as Mac>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(label);
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length; unreachable, but never fall back to no key.
        Err(_) => [secret, label].concat(),
    };
    Secret::new(key)
}

/// Whether `user` may hold a session at `now`: not soft-deleted ([`BearerError::UserNotFound`])
/// and not banned ([`BearerError::UserBanned`]). Every sign-in, refresh and bearer check asks,
/// and `Sessions::start` checks the same as it writes.
fn may_sign_in(user: &crate::model::User, now: crate::model::Timestamp) -> Result<(), BearerError> {
    if user.deleted_at.is_some() {
        return Err(BearerError::UserNotFound);
    }
    if user.is_banned(now) {
        return Err(BearerError::UserBanned);
    }
    Ok(())
}

/// Whether `session` (or a session about to start, `second` none) of `dialect` may stand for
/// `user`: an account with a verified second factor holds a full session in no dialect
/// without it. GoTrue alone keeps its `aal1` sessions, as upstream does: its tokens say `aal1`,
/// its clients ask for the second step, and its sensitive changes ask for `aal2`.
fn assurance_suffices(user: &crate::model::User, session: Option<&crate::model::Session>, dialect: Option<Dialect>) -> bool {
    !user.mfa_enabled()
        || dialect == Some(Dialect::Gotrue)
        || session.is_some_and(|s| s.aal() == crate::model::Aal::Aal2)
}

/// `base` (a JSON object) with `changes` merged in: each key replaced, a `null` removing it.
fn merged(base: &serde_json::Value, changes: serde_json::Map<String, serde_json::Value>) -> serde_json::Value {
    let mut out = base.as_object().cloned().unwrap_or_default();
    for (k, v) in changes {
        match v {
            serde_json::Value::Null => {
                out.remove(&k);
            }
            v => {
                out.insert(k, v);
            }
        }
    }
    serde_json::Value::Object(out)
}

/// Trims and lower-cases an address: the form it is stored and looked up in.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A deliberately plain address check: one `@`, a sane local part, a dotted domain of
/// letters, digits and hyphens, no spaces or control characters, at most 254 bytes.
pub fn is_valid_email(email: &str) -> bool {
    if email.len() > MAX_EMAIL_BYTES {
        return false;
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| {
            c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c)
        });
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.chars().all(char::is_alphabetic) && tld.len() >= 2);
    local_ok && domain_ok
}

/// Checks a new password against the policy: not over [`MAX_PASSWORD_BYTES`], at least the
/// configured number of characters.
pub fn check_new_password(config: &Config, password: &str) -> Result<(), FlowError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(FlowError::PasswordTooLong);
    }
    if password.chars().count() < config.password_min_length {
        return Err(FlowError::WeakPassword {
            min_length: config.password_min_length,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_addresses_pass_and_junk_does_not() {
        for ok in ["a@b.co", "first.last+tag@sub.example.org", "üser@exämple.de"] {
            assert!(is_valid_email(ok), "{ok}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        for bad in [
            "", "plain", "@example.com", "a@", "a@b", "a b@c.de", "a@b..de", ".a@b.de", "a@-b.de",
            "a@b.c1", "a@b.c", "a\n@b.de", long.as_str(),
        ] {
            assert!(!is_valid_email(bad), "{bad:?}");
        }
    }

    #[test]
    fn emails_are_stored_trimmed_and_lower_case() {
        assert_eq!(normalize_email("  Ann@Example.COM "), "ann@example.com");
    }
}
