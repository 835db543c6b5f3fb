//! Signing in through identity providers: who a provider says signed in becomes an account's
//! session, by the rules of account integrity, whatever the dialect or the way the provider
//! said it (an `id_token` the client brings, or the redirect flow's callback).
//!
//! - An identity (provider and subject) signs in the account that holds it.
//! - A new identity whose address the provider marks verified joins the account with that
//!   address, and only through that address: when the account's address was not proven yet,
//!   the joining is its first proof, so the password, metadata, identities and sessions a
//!   stranger who registered the address first left there do not survive it.
//! - An identity whose address the provider has not verified never joins an existing account:
//!   it gets an account of its own, without an address (the address is kept on the identity).
//!
//! Discovery documents and key sets are fetched through the `Http` port and kept per isolate
//! for `EXTERNAL_OIDC_PROVIDER_CACHE_TTL`; a token signed with a key id the set does not have
//! fetches the set anew, at most once a minute (the issuer rotated its keys).

use super::{Flows, FlowError, SignedIn};
use crate::config::{Provider, ProviderKind};
use crate::model::{AuthMethod, Dialect, Identity, Timestamp, User, UserId};
use crate::oidc::{self, Discovery, Expect, IssuerRule, OidcError, ProviderKeys};
use crate::ports::{FirstProof, Http as _, Identities as _, IdentityAdded, Ports, StoreError, StoreWhile, Users as _};
use crate::token::random_id;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::rc::Rc;
use subtle::ConstantTimeEq as _;

/// How long an outbound request to a provider may take (upstream's 10 s).
pub const PROVIDER_TIMEOUT_MS: u32 = 10_000;
/// The least time between two fetches of a key set for an unknown key id.
const KEY_REFRESH_SECS: i64 = 60;

/// Why a sign-in through a provider was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExternalError {
    /// No enabled provider has this name.
    #[error("provider {0:?} is not enabled")]
    NotEnabled(String),
    /// The provider does not speak OpenID Connect (GitHub), so it issues no `id_token`.
    #[error("provider {0:?} issues no id_token")]
    NotOidc(String),
    /// The provider could not be reached, or published something unusable; for the log.
    #[error("provider unusable: {0}")]
    Unreachable(String),
    /// The token was refused (signature, issuer, time, shape).
    #[error(transparent)]
    Token(OidcError),
    /// A nonce on one side only (the token, or the request).
    #[error("nonce on one side only")]
    NonceMissing,
    /// The token's nonce is not the request's.
    #[error("nonce mismatch")]
    NonceMismatch,
    /// The provider gave no address and the provider requires one.
    #[error("provider gave no email")]
    NoEmail,
    /// The provider is enabled but lacks a setting the redirect flow needs.
    #[error("provider not configured: {0}")]
    NotConfigured(&'static str),
    /// The provider refused the sign-in (its callback's `error`), in its words (bounded).
    #[error("provider refused: {error}")]
    Refused {
        /// Its `error`.
        error: String,
        /// Its `error_description`.
        description: String,
    },
    /// The account has a second factor, which a dialect other than GoTrue cannot ask for
    /// after a provider's sign-in.
    #[error("a second factor is required")]
    SecondFactorRequired,
    /// Linking and unlinking by hand is switched off (`SECURITY_MANUAL_LINKING_ENABLED`).
    #[error("manual linking is disabled")]
    ManualLinkingDisabled,
    /// The identity is held already: by this account (`here`) or another.
    #[error("identity already linked")]
    IdentityLinked {
        /// Whether it is this account's.
        here: bool,
    },
    /// An identity id that is no UUID.
    #[error("identity id is not a UUID")]
    BadIdentityId,
    /// The account has no such identity.
    #[error("identity not found")]
    IdentityNotFound,
    /// Unlinking would leave the account no way in.
    #[error("the last identity")]
    LastIdentity,
    /// Linking or unlinking by hand, from a session below `aal2` of an account with a verified
    /// second factor.
    #[error("linking needs aal2")]
    InsufficientAal,
    /// A callback without a code.
    #[error("callback without a code")]
    NoCode,
    /// The provider did not exchange the code (its words are for the log only).
    #[error("{0}")]
    Exchange(String),
    /// A rule every flow shares.
    #[error(transparent)]
    Flow(#[from] FlowError),
}

impl From<StoreError> for ExternalError {
    fn from(e: StoreError) -> Self {
        ExternalError::Flow(e.into())
    }
}

/// A provider's documents as fetched, kept per isolate.
#[derive(Debug)]
pub struct Fetched {
    discovery: Discovery,
    keys: ProviderKeys,
    fetched_at: Timestamp,
    keys_at: Timestamp,
}

/// Who a provider says signed in.
#[derive(Debug, Clone)]
pub struct ProviderUser {
    /// The provider's subject.
    pub subject: String,
    /// The address it gave, normalised.
    pub email: Option<String>,
    /// Whether it says it verified that address.
    pub email_verified: bool,
    /// What else it said (GoTrue's `identity_data`).
    pub data: Value,
}

/// An `id_token` sign-in (GoTrue's `grant_type=id_token`).
#[derive(Debug, Clone, Copy)]
pub struct IdTokenSignIn<'a> {
    /// The provider's name.
    pub provider: &'a str,
    /// The token.
    pub id_token: &'a str,
    /// The nonce the client made, whose SHA-256 (lowercase hex) the token must carry.
    pub nonce: Option<&'a str>,
}

impl<P: Ports> Flows<P> {
    /// The enabled provider `name`.
    pub fn provider(&self, name: &str) -> Result<&Provider, ExternalError> {
        self.config.providers.get(name).ok_or_else(|| ExternalError::NotEnabled(name.to_ascii_lowercase()))
    }

    /// The account's provider identities, oldest first.
    pub async fn identities_of(&self, user: &User) -> Result<Vec<Identity>, FlowError> {
        Ok(self.ports.store().identities_of(&user.id).await?)
    }

    /// GoTrue's `grant_type=id_token`: verifies a token an OpenID Connect provider issued to
    /// one of its configured clients and signs in whoever it names.
    pub async fn id_token_sign_in(&self, req: IdTokenSignIn<'_>, platform: &str, dialect: Dialect) -> Result<SignedIn, ExternalError> {
        self.throttle_client().await?;
        let provider = self.provider(req.provider)?;
        let claims = self.verified_id_token(provider, req.id_token).await?;
        if !provider.skip_nonce_check {
            match (claims.nonce.as_deref(), req.nonce.filter(|n| !n.is_empty())) {
                (None, None) => {}
                (Some(want), Some(raw)) => {
                    let hashed = hex::encode(Sha256::digest(raw.as_bytes()));
                    if !bool::from(hashed.as_bytes().ct_eq(want.as_bytes())) {
                        return Err(ExternalError::NonceMismatch);
                    }
                }
                _ => return Err(ExternalError::NonceMissing),
            }
        }
        let who = user_of_claims(&claims);
        self.sign_in_through(provider, who, platform, dialect).await
    }

    /// `token`'s claims, if a published key of `provider`'s issuer signed it for one of the
    /// provider's clients and it is current.
    pub(super) async fn verified_id_token(&self, provider: &Provider, token: &str) -> Result<oidc::IdTokenClaims, ExternalError> {
        let rule = issuer_rule(provider)?;
        let mut fetched = self.provider_documents(provider, rule, None).await?;
        if let Some(kid) = oidc::token_kid(token).filter(|k| !fetched.keys.has(k)) {
            fetched = self.provider_documents(provider, rule, Some(&kid)).await?;
        }
        let expect = Expect { issuer: rule, audiences: &provider.client_ids, now_secs: self.now().unix_seconds() };
        oidc::verify_id_token(self.signatures(), &fetched.keys, token, &expect).await.map_err(ExternalError::Token)
    }

    /// An OpenID Connect provider's discovery document (kept or fetched).
    pub(super) async fn oidc_discovery(&self, provider: &Provider) -> Result<Discovery, ExternalError> {
        Ok(self.provider_documents(provider, issuer_rule(provider)?, None).await?.discovery.clone())
    }

    /// The provider's discovery document and keys: kept ones while fresh; fetched anew when
    /// stale, or when `missing_kid` is not among the kept keys and the last fetch of the keys
    /// is over a minute old.
    async fn provider_documents(&self, provider: &Provider, rule: IssuerRule<'_>, missing_kid: Option<&str>) -> Result<Rc<Fetched>, ExternalError> {
        let now = self.now();
        let ttl = self.config.providers.cache_ttl_secs;
        let kept = self.provider_cache.borrow().get(&provider.name).cloned();
        if let Some(kept) = &kept {
            let fresh = kept.fetched_at.plus_secs(ttl) > now;
            let refetch_keys = missing_kid.is_some() && kept.keys_at.plus_secs(KEY_REFRESH_SECS) <= now;
            if fresh && !refetch_keys {
                return Ok(Rc::clone(kept));
            }
            if fresh {
                let keys = ProviderKeys::parse(&self.provider_get(&kept.discovery.jwks_uri).await?).map_err(|e| ExternalError::Unreachable(e.to_string()))?;
                let again = Rc::new(Fetched { discovery: kept.discovery.clone(), keys, fetched_at: kept.fetched_at, keys_at: now });
                self.provider_cache.borrow_mut().insert(provider.name.clone(), Rc::clone(&again));
                return Ok(again);
            }
        }
        let issuer = provider.issuer().unwrap_or_default();
        let body = self.provider_get(&format!("{issuer}/.well-known/openid-configuration")).await?;
        let discovery = Discovery::parse(&body, rule).map_err(|e| ExternalError::Unreachable(e.to_string()))?;
        let keys = ProviderKeys::parse(&self.provider_get(&discovery.jwks_uri).await?).map_err(|e| ExternalError::Unreachable(e.to_string()))?;
        let fetched = Rc::new(Fetched { discovery, keys, fetched_at: now, keys_at: now });
        self.provider_cache.borrow_mut().insert(provider.name.clone(), Rc::clone(&fetched));
        Ok(fetched)
    }

    /// A provider's document: the body of a 200, else [`ExternalError::Unreachable`].
    async fn provider_get(&self, url: &str) -> Result<String, ExternalError> {
        match self.ports.http().get(url, None, PROVIDER_TIMEOUT_MS).await {
            Ok(reply) if reply.status == 200 => Ok(reply.body),
            Ok(reply) => Err(ExternalError::Unreachable(format!("{url} answered {}", reply.status))),
            Err(e) => Err(ExternalError::Unreachable(format!("{url}: {e}"))),
        }
    }

    /// Signs in whoever `provider` says `who` is, by the module's rules.
    pub(super) async fn sign_in_through(&self, provider: &Provider, who: ProviderUser, platform: &str, dialect: Dialect) -> Result<SignedIn, ExternalError> {
        let user = self.account_through(provider, &who).await?;
        Ok(self.start_session(user, AuthMethod::Oauth, platform, dialect).await?)
    }

    /// The account `who` signs in, by the module's rules: the identity's holder, the account
    /// its verified address joins, or a new one. A race with another sign-in of the same
    /// identity or address is settled by trying once more.
    pub(super) async fn account_through(&self, provider: &Provider, who: &ProviderUser) -> Result<User, ExternalError> {
        if who.email.is_none() && !provider.email_optional {
            return Err(ExternalError::NoEmail);
        }
        for _ in 0..3 {
            if let Some(user) = self.try_account_through(provider, who).await? {
                return Ok(user);
            }
        }
        Err(FlowError::Internal("identity sign-in kept racing".into()).into())
    }

    /// One try of [`Flows::account_through`]; `None` when something it read changed before
    /// it wrote.
    async fn try_account_through(&self, provider: &Provider, who: &ProviderUser) -> Result<Option<User>, ExternalError> {
        let now = self.now();
        let store = self.ports.store();
        if let Some(identity) = store.identity(&provider.name, &who.subject).await? {
            let Some(user) = self.users().by_id(&identity.user_id).await? else { return Ok(None) };
            // Refused before anything is written (the session's start would refuse it too).
            super::may_sign_in(&user, now).map_err(FlowError::from)?;
            store.identity_used(&identity.id, who.email.as_deref(), &who.data, now).await?;
            return Ok(Some(user));
        }
        let verified = who.email.as_deref().filter(|_| who.email_verified);
        if let Some(holder) = match verified {
            Some(email) => self.users().by_email(email).await?,
            None => None,
        } {
            let mut user = holder;
            super::may_sign_in(&user, now).map_err(FlowError::from)?;
            if !user.is_confirmed() {
                // The provider proved the mailbox: the first proof, as a confirmation link is.
                match self.users().first_proof(&user.id, FirstProof { new_email: None, forget: true }, now).await {
                    Ok(()) => {}
                    Err(StoreError::Conflict(_)) => return Ok(None),
                    Err(e) => return Err(e.into()),
                }
                let Some(proven) = self.users().by_id(&user.id).await? else { return Ok(None) };
                user = proven;
            }
            let identity = self.new_identity(&user.id, provider, who, now);
            return match store.add_identity(&identity, &StoreWhile::seen(&user, None)).await? {
                IdentityAdded::Stored => Ok(Some(linked(user, &provider.name))),
                IdentityAdded::Taken | IdentityAdded::Changed => Ok(None),
            };
        }
        if self.config.disable_signup {
            return Err(FlowError::SignupDisabled.into());
        }
        let id: UserId = random_id(self.ports.rng());
        let user = User {
            email_confirmed_at: verified.map(|_| now),
            made_by: Some(provider.name.clone()),
            ..User::new(id, verified, who.data.clone(), now)
        };
        let identity = self.new_identity(&user.id, provider, who, now);
        match store.insert_with_identity(&user, &identity).await {
            Ok(()) => Ok(Some(linked(user, &provider.name))),
            Err(StoreError::Conflict(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// `who`'s identity at `provider`, new, for the account `user_id`.
    pub(super) fn new_identity(&self, user_id: &UserId, provider: &Provider, who: &ProviderUser, now: Timestamp) -> Identity {
        Identity {
            id: random_id(self.ports.rng()),
            user_id: user_id.clone(),
            provider: provider.name.clone(),
            subject: who.subject.clone(),
            email: who.email.clone(),
            data: who.data.clone(),
            created_at: now,
            updated_at: now,
            last_sign_in_at: Some(now),
        }
    }
}

/// How an OpenID Connect provider's tokens name their issuer.
fn issuer_rule(provider: &Provider) -> Result<IssuerRule<'_>, ExternalError> {
    match &provider.kind {
        ProviderKind::Oidc { any_azure_tenant: true, .. } => Ok(IssuerRule::AnyAzureTenant),
        ProviderKind::Oidc { issuer, .. } => Ok(IssuerRule::Exact(issuer)),
        ProviderKind::Github { .. } => Err(ExternalError::NotOidc(provider.name.clone())),
    }
}

/// The standard claims GoTrue keeps as `identity_data` (`email_verified` always present).
const KEPT_CLAIMS: &[&str] = &[
    "iss", "sub", "name", "family_name", "given_name", "middle_name", "nickname", "preferred_username", "profile", "picture",
    "website", "gender", "birthdate", "zoneinfo", "locale", "email", "phone",
];

/// Who a verified `id_token` names.
pub(super) fn user_of_claims(claims: &oidc::IdTokenClaims) -> ProviderUser {
    let mut data: Map<String, Value> = KEPT_CLAIMS
        .iter()
        .filter_map(|k| claims.all.get(*k).filter(|v| v.as_str().is_some_and(|s| !s.is_empty() && s.len() <= 1024)).map(|v| (k.to_string(), v.clone())))
        .collect();
    let email = claims.email.as_deref().map(super::normalize_email).filter(|e| super::is_valid_email(e));
    let verified = claims.email_verified && claims.email.as_deref().is_some_and(vouches_for_normalized) && email.is_some();
    data.insert("email_verified".into(), json!(verified));
    data.insert("phone_verified".into(), json!(false));
    if let Some(e) = &email {
        data.insert("email".into(), json!(e));
    }
    data.insert("provider_id".into(), json!(claims.subject));
    ProviderUser { subject: claims.subject.clone(), email_verified: verified, email, data: Value::Object(data) }
}

/// Whether a provider's verification of the address `raw` proves the mailbox of its normalised
/// form: only if they differ at most in ASCII case and padding. Unicode lowercasing folds some
/// characters into ASCII (the Kelvin sign `K` into `k`), so a mailbox a provider verified
/// could otherwise prove another one (`Kim@…` for `kim@…`).
pub(super) fn vouches_for_normalized(raw: &str) -> bool {
    raw.trim().to_ascii_lowercase() == super::normalize_email(raw)
}

/// `user` as the store holds it once an identity at `provider` was linked to it: its
/// [`User::providers`] name `provider` (last, if it was not there), so the session this starts
/// says so from its first token.
pub(super) fn linked(mut user: User, provider: &str) -> User {
    if !user.providers.iter().any(|p| p == provider) {
        user.providers.push(provider.to_string());
    }
    user
}
