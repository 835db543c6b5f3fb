//! Linking and unlinking identities by hand (GoTrue's `/user/identities/*`, with
//! `SECURITY_MANUAL_LINKING_ENABLED`): a signed-in user goes through a provider's pages and
//! the identity is added to their account, or removes one of their identities.
//!
//! A link lands only while the session that asked is live and the account as it was (a first
//! proof of the mailbox in between ends that session and takes the identities linked before
//! it). Whoever has the flow's URL can finish it in any browser, with whatever provider
//! account is signed in there (a stranger who starts a link flow and gets someone to follow its
//! URL would link that person's identity to the stranger's account). So with PKCE the callback
//! links nothing: it keeps the identity sealed with the auth code, and the exchange links it,
//! for the client holding the verifier of the challenge the flow started with; the implicit
//! flow, which has nothing to bind it to the browser that started it, links at the callback.
//! An identity another account holds is never moved. Unlinking never takes the last way in:
//! the account keeps at least one identity, counting the `email` one of an account with a
//! password or a username (what the user object shows), checked again in the removal itself so
//! that two removals at once cannot both land. On an account with a verified second factor,
//! both need a session that used it (`aal2`).

use super::external::{ExternalError, ProviderUser};
use super::external_redirect::OauthStart;
use super::{Bearer, Flows, FlowError};
use crate::config::Provider;
use crate::model::{Aal, IdentityId, SessionId, User, UserId};
use crate::ports::{Identities as _, IdentityAdded, Ports, StoreWhile, Users as _};

impl<P: Ports> Flows<P> {
    /// `GET /user/identities/authorize`: the provider's URL for a flow that links the
    /// identity to `bearer`'s account.
    pub async fn link_identity_url(&self, bearer: &Bearer, start: OauthStart<'_>) -> Result<String, ExternalError> {
        self.manual_linking_on()?;
        second_factor_used(bearer)?;
        self.start_oauth(start, Some((bearer.user.id.clone(), bearer.session.id.clone()))).await
    }

    /// `DELETE /user/identities/{id}`: removes one of `bearer`'s identities, never the last.
    pub async fn unlink_identity(&self, bearer: &Bearer, identity_id: &str) -> Result<(), ExternalError> {
        self.manual_linking_on()?;
        second_factor_used(bearer)?;
        if uuid::Uuid::try_parse(identity_id).is_err() {
            return Err(ExternalError::BadIdentityId);
        }
        let user = &bearer.user;
        let identities = self.ports.store().identities_of(&user.id).await?;
        let email_identity = usize::from(user.has_email_identity());
        if identities.len() + email_identity <= 1 {
            return Err(ExternalError::LastIdentity);
        }
        let id = IdentityId::new(identity_id);
        if !identities.iter().any(|i| i.id == id) {
            return Err(ExternalError::IdentityNotFound);
        }
        // Checked again as it is removed: another removal may have landed since the read.
        if self.ports.store().remove_identity(&user.id, &id, 1 - email_identity).await? {
            return Ok(());
        }
        match self.ports.store().identities_of(&user.id).await?.iter().any(|i| i.id == id) {
            true => Err(ExternalError::LastIdentity),
            false => Err(ExternalError::IdentityNotFound),
        }
    }

    /// The callback of a linking flow: adds `who`'s identity to the account `user_id`, while
    /// `session_id` lives; the account, to finish the flow as a sign-in of it.
    pub(super) async fn link_identity(&self, provider: &Provider, who: &ProviderUser, user_id: &UserId, session_id: &SessionId) -> Result<User, ExternalError> {
        let store = self.ports.store();
        let user = self.link_ready(provider, who, user_id).await?;
        let identity = self.new_identity(&user.id, provider, who, self.now());
        match store.add_identity(&identity, &StoreWhile::seen(&user, Some(session_id))).await? {
            IdentityAdded::Stored => Ok(super::external::linked(user, &provider.name)),
            IdentityAdded::Taken => Err(ExternalError::IdentityLinked { here: false }),
            // The session that asked ended, or the account changed, meanwhile.
            IdentityAdded::Changed => Err(FlowError::SessionNotFound.into()),
        }
    }

    /// The account `user_id`, if `who`'s identity may be linked to it as things are.
    pub(super) async fn link_ready(&self, provider: &Provider, who: &ProviderUser, user_id: &UserId) -> Result<User, ExternalError> {
        let user = self.users().by_id(user_id).await?.filter(|u| u.deleted_at.is_none()).ok_or(FlowError::UserNotFound)?;
        if let Some(held) = self.ports.store().identity(&provider.name, &who.subject).await? {
            return Err(ExternalError::IdentityLinked { here: held.user_id == user.id });
        }
        Ok(user)
    }

    /// The identity a PKCE link flow's callback keeps (sealed) with its auth code, for
    /// [`Flows::finish_pending_link`].
    pub(super) fn pending_link(provider: &Provider, who: &ProviderUser, session_id: &SessionId) -> serde_json::Value {
        serde_json::json!({
            "provider": provider.name, "session": session_id.as_str(), "subject": who.subject,
            "email": who.email, "email_verified": who.email_verified, "data": who.data,
        })
    }

    /// The exchange of a PKCE link flow's auth code, by the client holding the verifier: links
    /// the identity the callback kept, by [`Flows::link_identity`]'s rules.
    pub(super) async fn finish_pending_link(&self, pending: &serde_json::Value, user_id: &UserId) -> Result<(), ExternalError> {
        let text = |key: &str| pending[key].as_str().map(str::to_string);
        let provider = self.provider(&text("provider").unwrap_or_default())?.clone();
        let who = ProviderUser {
            subject: text("subject").ok_or(FlowError::Internal("a pending link without a subject".into()))?,
            email: text("email"),
            email_verified: pending["email_verified"] == true,
            data: pending["data"].clone(),
        };
        let session = SessionId::new(text("session").unwrap_or_default());
        self.link_identity(&provider, &who, user_id, &session).await.map(|_| ())
    }

    fn manual_linking_on(&self) -> Result<(), ExternalError> {
        match self.config.providers.manual_linking {
            true => Ok(()),
            false => Err(ExternalError::ManualLinkingDisabled),
        }
    }
}

/// An account with a verified second factor changes its ways in only from a session that used
/// it (as for its password, address and passkeys): a password alone links or unlinks nothing.
fn second_factor_used(bearer: &Bearer) -> Result<(), ExternalError> {
    match bearer.user.mfa_enabled() && bearer.session.aal() < Aal::Aal2 {
        true => Err(ExternalError::InsufficientAal),
        false => Ok(()),
    }
}
