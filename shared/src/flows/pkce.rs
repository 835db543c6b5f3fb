//! PKCE (RFC 7636) for emailed links, as GoTrue's `flowType: 'pkce'` uses it: a client that
//! asks for a mail sends a code challenge, kept with the mailed code; following that code's
//! link proves the mailbox and issues an auth code (a [`FlowState`]) instead of a session, and
//! only the client holding the challenge's verifier exchanges it for one. PKCE binds the
//! session to whoever asked for the mail, not to the mailbox: a stranger who asks for a mail
//! to someone else's address with their own challenge gets a session only if the auth code of
//! the owner's click reaches them. So an auth code is used up by any exchange that presents
//! it, with or without a verifier (a page that receives a code it cannot exchange spends it),
//! a logout everywhere or a password change discards the account's pending ones, and a
//! re-send keeps the binding of the code it re-sends.
//!
//! A sign-in through a provider's pages keeps the provider's tokens sealed with its auth code
//! for the exchange to hand over; a flow that links an identity by hand keeps the identity
//! there too, and links it at the exchange, for the client that holds the verifier (see
//! `external_link`).
//!
//! An auth code is single use in every outcome: it is taken from the store before its
//! verifier is checked, so a wrong verifier uses it up too (upstream keeps it for another
//! try). It lives [`AUTH_CODE_LIFETIME_SECS`] from its issue, when the link was followed
//! (upstream counts from the request that mailed the link, except for magic links).

use super::{Flows, Dialect, ExternalError, FlowError, ProviderTokens, SignedIn};
use crate::model::{AuthMethod, FlowState, PkceChallenge, User};
use crate::ports::{FlowStates as _, Ports, StoreError, Users as _};
use crate::secret::{PkceVerifier, Secret};
use crate::token::{hash_secret, pkce_verifies, random_uuid};

/// How long an auth code may wait for its exchange (upstream's default flow state expiry).
pub const AUTH_CODE_LIFETIME_SECS: i64 = 300;

/// Why an auth code was not exchanged: the cases only the exchange has, or a rule every flow
/// shares (starting the session).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkceError {
    /// An auth code that was never issued or is used up.
    #[error("flow state not found")]
    FlowStateNotFound,
    /// An auth code past its lifetime.
    #[error("flow state expired")]
    FlowStateExpired,
    /// The verifier does not answer the auth code's challenge.
    #[error("bad code verifier")]
    BadCodeVerifier,
    /// A rule every flow shares.
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// The identity a link flow kept for its exchange was not linked.
    #[error(transparent)]
    Link(Box<ExternalError>),
}

impl From<StoreError> for PkceError {
    fn from(e: StoreError) -> Self {
        PkceError::Flow(e.into())
    }
}

impl<P: Ports> Flows<P> {
    /// Issues the auth code for `user`, whose link (for a session started by `method`) was
    /// just followed with `challenge`; a sign-in through a provider seals its tokens with it,
    /// and a link flow the identity to link at the exchange (`link`).
    pub(super) async fn issue_auth_code(
        &self,
        user: &User,
        method: AuthMethod,
        challenge: PkceChallenge,
        provider_tokens: Option<&ProviderTokens>,
        link: Option<serde_json::Value>,
    ) -> Result<Secret<String>, FlowError> {
        let code = random_uuid(self.ports.rng());
        let now = self.now();
        let auth_code_hash = hash_secret(&code);
        let provider_tokens = match provider_tokens {
            Some(tokens) => {
                let plain = serde_json::json!({"access": tokens.access.expose(), "refresh": tokens.refresh.as_ref().map(|r| r.expose()), "link": link}).to_string();
                Some(self.provider_token_key.seal(self.ports.rng(), plain.as_bytes(), &auth_code_hash).ok_or_else(|| FlowError::Internal("sealing provider tokens".into()))?)
            }
            None => None,
        };
        let state = FlowState {
            auth_code_hash,
            user_id: user.id.clone(),
            method,
            challenge,
            created_at: now,
            expires_at: now.plus_secs(AUTH_CODE_LIFETIME_SECS),
            provider_tokens,
        };
        self.flow_states().put(&state).await?;
        Ok(Secret::new(code))
    }

    /// Uses up an auth code presented without a verifier (a client that lost it, or a page
    /// that received someone else's code): it would only wait there for whoever holds one.
    pub async fn discard_auth_code(&self, auth_code: &str) -> Result<(), FlowError> {
        self.flow_states().take(&hash_secret(auth_code)).await?;
        Ok(())
    }

    /// GoTrue's `grant_type=pkce`: exchanges an auth code and the verifier of its challenge for
    /// a session. Unknown and already used codes are [`PkceError::FlowStateNotFound`].
    /// A sign-in through a provider also gets the provider's tokens back (GoTrue's
    /// `provider_token`, `provider_refresh_token`), which were kept sealed until now; a link
    /// flow's identity is linked first (or the exchange is refused).
    pub async fn exchange_auth_code(&self, auth_code: &str, verifier: &PkceVerifier, platform: &str) -> Result<(SignedIn, Option<ProviderTokens>), PkceError> {
        let state = self.flow_states().take(&hash_secret(auth_code)).await?.ok_or(PkceError::FlowStateNotFound)?;
        if state.expires_at <= self.now() {
            return Err(PkceError::FlowStateExpired);
        }
        if !pkce_verifies(&state.challenge, verifier) {
            return Err(PkceError::BadCodeVerifier);
        }
        let sealed = state.provider_tokens.as_deref().and_then(|sealed| self.open_sealed(sealed, &state.auth_code_hash));
        if let Some(link) = sealed.as_ref().map(|v| &v["link"]).filter(|l| l.is_object()) {
            self.finish_pending_link(link, &state.user_id).await.map_err(|e| PkceError::Link(Box::new(e)))?;
        }
        let user = self.users().by_id(&state.user_id).await?.ok_or(PkceError::FlowStateNotFound)?;
        let tokens = sealed.and_then(|v| {
            Some(ProviderTokens {
                access: Secret::new(v["access"].as_str()?.to_string()),
                refresh: v["refresh"].as_str().map(|r| Secret::new(r.to_string())),
            })
        });
        Ok((self.start_session(user, state.method, platform, Dialect::Gotrue).await?, tokens))
    }

    /// What was sealed with an auth code (none if it does not open).
    fn open_sealed(&self, sealed: &str, auth_code_hash: &str) -> Option<serde_json::Value> {
        let plain = self.provider_token_key.open(sealed, auth_code_hash)?;
        serde_json::from_slice(plain.expose()).ok()
    }
}
