//! Signing in with a passkey (GoTrue's `/passkeys/authentication/*`, Feathers'
//! `passkey-challenges` and `passkey` strategy), the discoverable flow:
//! the options name no account and no credential (nothing to enumerate); the assertion names
//! its credential, which finds the passkey and its account, and its `userHandle`, which must be
//! that account's. The assertion must carry user verification (the session is at `aal2`, so
//! the passkey stands for two factors: the device and the user's PIN or biometric).
//!
//! A failed assertion for a known passkey counts against its account's budget of wrong answers
//! (`OTP_MAX_WRONG_PER_ADDRESS` in `OTP_WRONG_WINDOW`, as codes do); a right one gives its unit
//! back. A counter that went back is refused and reported: the authenticator may have been
//! cloned. The counter is stored only if no other sign-in moved it meanwhile. The session
//! stands only if the passkey is still there once it is stored: a first proof of the mailbox
//! (which removes the account's passkeys and ends its sessions) overtakes no sign-in.

use super::passkeys::{PasskeyError, PasskeyOptions};
use super::{Flows, SignedIn};
use crate::model::{AuthMethod, Dialect, LogoutScope, PasskeyCeremony, User};
use crate::ports::{Budgets as _, PasskeyUse, Passkeys as _, Ports, Sessions as _, Users as _};
use crate::webauthn::{self, AuthenticationResponse, Expected, StoredCredential, WebauthnError};

impl<P: Ports> Flows<P> {
    /// `POST /passkeys/authentication/options`: a sign-in challenge bound to this client.
    pub async fn passkey_authentication_options(&self) -> Result<PasskeyOptions, PasskeyError> {
        self.passkeys_on()?;
        self.throttle_client().await?;
        let (challenge, expires_at) = self.passkey_challenge(PasskeyCeremony::Authentication, None).await?;
        Ok(PasskeyOptions { challenge, expires_at, user_name: String::new(), exclude: Vec::new() })
    }

    /// `POST /passkeys/authentication/verify` (GoTrue) and the `passkey` strategy (Feathers):
    /// answers the challenge `challenge_id` with `response`, an assertion of some account's
    /// passkey, and starts a session of `dialect` for that account whose method is `passkey`
    /// (at `aal2`).
    pub async fn passkey_sign_in(&self, challenge_id: &str, response: Option<&AuthenticationResponse>, platform: &str, dialect: Dialect)
        -> Result<SignedIn, PasskeyError> {
        let rp = self.passkeys_on()?;
        self.throttle_client().await?;
        let challenge = self.take_passkey_challenge(challenge_id, PasskeyCeremony::Authentication, None).await?;
        let response = response.ok_or(PasskeyError::BadCredential)?;
        let raw_id = crate::signature::from_b64url(response.raw_id.trim_end_matches('=')).ok_or(PasskeyError::BadCredential)?;
        let passkey = self.ports.store().passkey_by_credential(&raw_id).await?.ok_or(PasskeyError::VerificationFailed)?;
        let user = self.users().by_id(&passkey.user_id).await?.filter(|u| u.deleted_at.is_none()).ok_or(PasskeyError::VerificationFailed)?;
        // Discoverable: the authenticator says whose credential it is, and it must be the
        // passkey's account.
        let handle = response.response.user_handle.as_deref().map(|h| crate::signature::from_b64url(h.trim_end_matches('=')));
        if handle != Some(Some(user.id.as_str().as_bytes().to_vec())) {
            return Err(PasskeyError::VerificationFailed);
        }
        let key = self.take_passkey_guess(&user).await?;
        let expected = Expected { challenge: &challenge.challenge, origins: &rp.origins, rp_id: &rp.id, user_verification: true };
        let c = &passkey.credential;
        let stored = StoredCredential {
            id: &c.id,
            key: &c.public_key,
            sign_count: c.sign_count,
            backup_eligible: c.backup_eligible,
            user_handle: user.id.as_str().as_bytes(),
        };
        let assertion = match webauthn::verify_authentication(self.signatures(), &expected, &stored, response).await {
            Ok(a) => a,
            Err(e @ WebauthnError::CounterRegression { .. }) => {
                self.report(&format!("passkey {} of {}: {e}; the authenticator may have been cloned", passkey.id, user.id));
                return Err(PasskeyError::VerificationFailed);
            }
            Err(WebauthnError::Malformed(_)) => return Err(PasskeyError::BadCredential),
            Err(_) => return Err(PasskeyError::VerificationFailed),
        };
        let used = PasskeyUse { id: &passkey.id, checked_count: c.sign_count, sign_count: assertion.sign_count, backed_up: assertion.flags.backed_up, at: self.now() };
        if !self.ports.store().passkey_used(&used).await? {
            return Err(PasskeyError::VerificationFailed);
        }
        self.budgets().give_back(&key).await?;
        // As a password would: GoTrue waits for the proof of the mailbox, Feathers (as upstream)
        // does not unless told to. Whoever proves the address later ends these passkeys.
        if user.email.is_some() && !user.is_confirmed() && !self.signs_in_unverified(dialect) {
            return Err(PasskeyError::EmailNotConfirmed);
        }
        if user.is_banned(self.now()) {
            return Err(PasskeyError::Banned);
        }
        let signed_in = self.start_session(user, AuthMethod::Passkey, platform, dialect).await?;
        // Read after the write: a first proof of the mailbox that removed the passkey (ending
        // every session) between the counter and the start would leave whoever registered the
        // address first a session on the proven account; one after the start ended it itself.
        if self.ports.store().passkey_by_credential(&raw_id).await?.is_none_or(|p| p.id != passkey.id) {
            let session = &signed_in.session;
            self.sessions().revoke(&session.user_id, &session.id, LogoutScope::Local, self.now()).await?;
            return Err(PasskeyError::VerificationFailed);
        }
        Ok(signed_in)
    }

    /// Counts an assertion against the account's budget of wrong answers (the one codes and
    /// factors share); returns the budget's key, for a right one to give its unit back.
    async fn take_passkey_guess(&self, user: &User) -> Result<String, PasskeyError> {
        let key = format!("factor:{}", user.id);
        let (max, window) = (self.config.otp_max_wrong_per_address, self.config.otp_wrong_window_secs);
        match self.budgets().take(&key, self.now(), window, max).await? {
            true => Ok(key),
            false => Err(PasskeyError::Flow(super::FlowError::TooManyRequests)),
        }
    }
}
