//! Passkeys (GoTrue's `/passkeys` API): registering a discoverable credential for the signed-in
//! account, listing, renaming and removing the account's passkeys. Signing in with one is
//! `passkey_signin`'s.
//!
//! Rules: the ceremonies' challenges are single use (the store takes each as it is answered),
//! live `MFA_CHALLENGE_EXPIRY_DURATION`, and are answered only from the client that asked
//! (a registration's only by its account); responses are checked by `crate::webauthn` against
//! the configured relying party and origins. A credential id is one passkey's or one WebAuthn
//! factor's, of one account. An account with a verified second factor registers and removes
//! passkeys only from an `aal2` session (upstream's rule): a passkey signs in at `aal2`, so
//! adding one is as sensitive as adding a factor. A passkey is stored only while the session
//! registering it is live, so a first proof of the mailbox (which ends every session and
//! removes the account's passkeys) leaves none of a registration it overtook.

use super::{Bearer, Flows, FlowError};
use crate::model::{Aal, Passkey, PasskeyCeremony, PasskeyChallenge, PasskeyChallengeId, PasskeyId, Timestamp, User, WebauthnCredential};
use crate::ports::{Factors as _, PasskeyAdded, Passkeys as _, Ports, Rng as _};
use crate::token::random_id;
use crate::webauthn::{self, Expected, RegistrationResponse};

/// Longest passkey name, in bytes (upstream's 120).
pub const MAX_PASSKEY_NAME_BYTES: usize = 120;

/// The name a new passkey gets (upstream's, for an authenticator it does not know).
pub const DEFAULT_PASSKEY_NAME: &str = "Passkey";

/// Why a passkey flow refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasskeyError {
    /// Passkeys are switched off.
    #[error("passkeys disabled")]
    Disabled,
    /// The account has a verified second factor and the session is below `aal2`.
    #[error("insufficient aal")]
    InsufficientAal,
    /// The account has as many passkeys as it may.
    #[error("too many passkeys")]
    TooMany,
    /// The challenge is unknown, answered, of the other ceremony, another account's or
    /// another client's.
    #[error("challenge not found")]
    ChallengeNotFound,
    /// The challenge expired.
    #[error("challenge expired")]
    ChallengeExpired,
    /// A request member is missing or malformed; the text says which, in upstream's words.
    #[error("invalid: {0}")]
    Invalid(&'static str),
    /// The credential is not a WebAuthn response of the expected shape.
    #[error("invalid credential response")]
    BadCredential,
    /// The response did not verify, names no passkey, or its counter went back.
    #[error("verification failed")]
    VerificationFailed,
    /// The credential is some passkey's or WebAuthn factor's already.
    #[error("credential exists")]
    CredentialExists,
    /// The account has no passkey of this id.
    #[error("passkey not found")]
    NotFound,
    /// The account's address is not confirmed.
    #[error("email not confirmed")]
    EmailNotConfirmed,
    /// The account is banned (upstream answers this sign-in 403, not its password grant's 400).
    #[error("user banned")]
    Banned,
    /// A flow refused (a banned account, too many requests) or failed.
    #[error(transparent)]
    Flow(#[from] FlowError),
}

impl From<crate::ports::StoreError> for PasskeyError {
    fn from(e: crate::ports::StoreError) -> Self {
        PasskeyError::Flow(FlowError::Internal(e.to_string()))
    }
}

/// A ceremony's options: the stored challenge, until when it can be answered, and (for a
/// registration) the credentials not to register again.
#[derive(Debug)]
pub struct PasskeyOptions {
    /// The challenge.
    pub challenge: PasskeyChallenge,
    /// Its expiry.
    pub expires_at: Timestamp,
    /// For a registration, the account: `user.id` is its id as text, `user.name` its address.
    pub user_name: String,
    /// For a registration, the credential ids the account holds (passkeys and factors).
    pub exclude: Vec<Vec<u8>>,
}

impl<P: Ports> Flows<P> {
    pub(super) fn passkeys_on(&self) -> Result<&crate::config::RelyingParty, PasskeyError> {
        match (&self.config.mfa.relying_party, self.config.mfa.passkey_enabled) {
            (Some(rp), true) => Ok(rp),
            _ => Err(PasskeyError::Disabled),
        }
    }

    /// Upstream's rule for managing passkeys: an account with a verified factor needs `aal2`.
    fn may_manage_passkeys(bearer: &Bearer) -> Result<(), PasskeyError> {
        match bearer.user.mfa_enabled() && bearer.session.aal() < Aal::Aal2 {
            true => Err(PasskeyError::InsufficientAal),
            false => Ok(()),
        }
    }

    /// A new challenge of `ceremony` for `user_id` (none for a sign-in), stored.
    pub(super) async fn passkey_challenge(&self, ceremony: PasskeyCeremony, user: Option<&User>) -> Result<(PasskeyChallenge, Timestamp), PasskeyError> {
        let now = self.now();
        let lifetime = self.config.mfa.challenge_expiry_secs;
        let mut bytes = vec![0u8; super::CHALLENGE_BYTES];
        self.ports.rng().fill(&mut bytes);
        let challenge = PasskeyChallenge {
            id: random_id(self.ports.rng()),
            ceremony,
            user_id: user.map(|u| u.id.clone()),
            challenge: bytes,
            client: self.client().to_string(),
            created_at: now,
        };
        self.ports.store().put_passkey_challenge(&challenge, now.plus_secs(-lifetime)).await?;
        Ok((challenge, now.plus_secs(lifetime)))
    }

    /// Takes the challenge `id` for `ceremony`: it must be this client's (and, for a
    /// registration, `user`'s) and unexpired. Taken either way, so it is answered once.
    pub(super) async fn take_passkey_challenge(&self, id: &str, ceremony: PasskeyCeremony, user: Option<&User>) -> Result<PasskeyChallenge, PasskeyError> {
        let challenge = self.ports.store().take_passkey_challenge(&PasskeyChallengeId::new(id)).await?.ok_or(PasskeyError::ChallengeNotFound)?;
        let owner = user.map(|u| &u.id);
        if challenge.ceremony != ceremony || challenge.user_id.as_ref() != owner || challenge.client != self.client() {
            return Err(PasskeyError::ChallengeNotFound);
        }
        if challenge.created_at <= self.now().plus_secs(-self.config.mfa.challenge_expiry_secs) {
            return Err(PasskeyError::ChallengeExpired);
        }
        Ok(challenge)
    }

    /// `POST /passkeys/registration/options`: a registration challenge for the bearer.
    pub async fn passkey_registration_options(&self, bearer: &Bearer) -> Result<PasskeyOptions, PasskeyError> {
        self.passkeys_on()?;
        self.throttle_client().await?;
        Self::may_manage_passkeys(bearer)?;
        let user = &bearer.user;
        let own = self.ports.store().passkeys_of(&user.id).await?;
        if own.len() >= self.config.mfa.max_passkeys_per_user as usize {
            return Err(PasskeyError::TooMany);
        }
        let factors = self.factor_store().of_user(&user.id).await?;
        let mut exclude: Vec<Vec<u8>> = own.into_iter().map(|p| p.credential.id).collect();
        exclude.extend(factors.into_iter().filter_map(|f| f.credential.map(|c| c.id)));
        let (challenge, expires_at) = self.passkey_challenge(PasskeyCeremony::Registration, Some(user)).await?;
        Ok(PasskeyOptions { challenge, expires_at, user_name: user.email.clone().unwrap_or_default(), exclude })
    }

    /// `POST /passkeys/registration/verify`: registers the credential `response` creates,
    /// answering the challenge `challenge_id`.
    pub async fn passkey_registration_verify(&self, bearer: &Bearer, challenge_id: &str, response: Option<&RegistrationResponse>) -> Result<Passkey, PasskeyError> {
        let rp = self.passkeys_on()?;
        self.throttle_client().await?;
        Self::may_manage_passkeys(bearer)?;
        let user = &bearer.user;
        let challenge = self.take_passkey_challenge(challenge_id, PasskeyCeremony::Registration, Some(user)).await?;
        let response = response.ok_or(PasskeyError::BadCredential)?;
        let expected = Expected { challenge: &challenge.challenge, origins: &rp.origins, rp_id: &rp.id, user_verification: false };
        let r = match webauthn::verify_registration(self.signatures(), &expected, response).await {
            Ok(r) => r,
            Err(webauthn::WebauthnError::Malformed(_)) => return Err(PasskeyError::BadCredential),
            Err(_) => return Err(PasskeyError::VerificationFailed),
        };
        let now = self.now();
        let passkey = Passkey {
            id: random_id(self.ports.rng()),
            user_id: user.id.clone(),
            credential: WebauthnCredential {
                id: r.credential_id,
                public_key: r.key,
                sign_count: r.sign_count,
                aaguid: r.aaguid,
                backup_eligible: r.flags.backup_eligible,
                transports: r.transports,
            },
            backed_up: r.flags.backed_up,
            friendly_name: DEFAULT_PASSKEY_NAME.into(),
            created_at: now,
            last_used_at: None,
        };
        // Stored only while the bearer's session lives: a first proof of the mailbox that ends
        // it (and removes the account's passkeys) while this is checked leaves no passkey of
        // whoever registered the address first.
        match self.ports.store().add_passkey(&passkey, self.config.mfa.max_passkeys_per_user, &bearer.session.id).await? {
            PasskeyAdded::Stored => Ok(passkey),
            PasskeyAdded::TooMany => Err(PasskeyError::TooMany),
            PasskeyAdded::CredentialTaken => Err(PasskeyError::CredentialExists),
            PasskeyAdded::SessionEnded => Err(PasskeyError::Flow(FlowError::SessionNotFound)),
        }
    }

    /// `GET /passkeys`: the bearer's passkeys, oldest first.
    pub async fn list_passkeys(&self, bearer: &Bearer) -> Result<Vec<Passkey>, PasskeyError> {
        self.passkeys_on()?;
        Ok(self.ports.store().passkeys_of(&bearer.user.id).await?)
    }

    /// `PATCH /passkeys/{id}`: renames the bearer's passkey `id`.
    pub async fn rename_passkey(&self, bearer: &Bearer, id: &str, name: &str) -> Result<Passkey, PasskeyError> {
        self.passkeys_on()?;
        if name.is_empty() {
            return Err(PasskeyError::Invalid("friendly_name is required"));
        }
        if name.len() > MAX_PASSKEY_NAME_BYTES {
            return Err(PasskeyError::Invalid("friendly_name must be 120 characters or less"));
        }
        let renamed = self.ports.store().rename_passkey(&bearer.user.id, &PasskeyId::new(id), name).await?;
        renamed.ok_or(PasskeyError::NotFound)
    }

    /// `DELETE /passkeys/{id}`: removes the bearer's passkey `id`.
    pub async fn remove_passkey(&self, bearer: &Bearer, id: &str) -> Result<(), PasskeyError> {
        self.passkeys_on()?;
        Self::may_manage_passkeys(bearer)?;
        match self.ports.store().remove_passkey(&bearer.user.id, &PasskeyId::new(id)).await? {
            true => Ok(()),
            false => Err(PasskeyError::NotFound),
        }
    }

    /// `GET /admin/users/{id}/passkeys`: the account's passkeys, whether or not passkeys are on.
    pub async fn admin_passkeys_of(&self, user: &crate::model::User) -> Result<Vec<Passkey>, PasskeyError> {
        Ok(self.ports.store().passkeys_of(&user.id).await?)
    }

    /// `DELETE /admin/users/{id}/passkeys/{passkey_id}`: removes the account's passkey `id`.
    pub async fn admin_remove_passkey(&self, user: &crate::model::User, id: &str) -> Result<(), PasskeyError> {
        match self.ports.store().remove_passkey(&user.id, &PasskeyId::new(id)).await? {
            true => Ok(()),
            false => Err(PasskeyError::NotFound),
        }
    }
}
