//! Sign-up with email and password, and the confirmation code it mails.
//!
//! No enumeration: signing up with an address that already has a confirmed account answers
//! like a new sign-up (a decoy user with a fresh random id) and mails the owner a notice instead
//! of a code, so both paths do the same work (one hash, one mail).
//!
//! Re-signing-up with an unconfirmed address sends a new code (the old one dies) and replaces
//! the stored password. Upstream GoTrue keeps the first password; we do not, because whoever
//! registered an address first without owning it would otherwise set the password that the
//! real owner later confirms (pre-account-takeover). The owner's latest sign-up wins.

use super::{check_new_password, is_valid_email, normalize_email, Auth, FlowError, SignedIn};
use crate::mail;
use crate::model::{AuthMethod, OneTimeCode, Purpose, Timestamp, User};
use crate::ports::{Codes as _, Mailer as _, Ports, Rng as _, StoreError, Users as _};
use crate::secret::Secret;
use crate::token::{hash_code, hash_secret, random_b64, random_code_digits, random_uuid};

/// What a sign-up asks for.
#[derive(Debug)]
pub struct SignupRequest<'a> {
    /// The address, as typed.
    pub email: &'a str,
    /// The chosen password.
    pub password: &'a Secret<String>,
    /// `user_metadata` (a JSON object).
    pub metadata: serde_json::Value,
    /// What the client called itself, for the session if one starts at once.
    pub platform: &'a str,
}

/// How a sign-up ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum SignupOutcome {
    /// A code went out; the account waits for confirmation.
    ConfirmationSent(User),
    /// The address was taken; the owner was told by mail, the caller gets this decoy.
    AlreadyRegistered(User),
    /// Auto-confirm is on: the account is live and signed in.
    SignedIn(SignedIn),
}

impl<P: Ports> Auth<P> {
    /// Registers an account (or re-sends its confirmation), per the module's rules.
    pub async fn sign_up(&self, req: SignupRequest<'_>) -> Result<SignupOutcome, FlowError> {
        if self.config.disable_signup {
            return Err(FlowError::SignupDisabled);
        }
        let email = normalize_email(req.email);
        if !is_valid_email(&email) {
            return Err(FlowError::InvalidEmail);
        }
        let password = req.password.expose();
        check_new_password(&self.config, password)?;
        let now = self.now();
        let hash = self.hash_new_password(password)?;

        match self.ports.users().by_email(&email).await? {
            Some(existing) if existing.is_confirmed() => {
                self.already_registered(&email, req.metadata, now).await
            }
            Some(existing) => {
                self.ports
                    .users()
                    .set_password_hash(&existing.id, &hash, now)
                    .await?;
                self.send_code(&existing, Purpose::Signup).await?;
                Ok(SignupOutcome::ConfirmationSent(existing))
            }
            None => {
                let user = User {
                    id: random_uuid(self.ports.rng()),
                    email: email.clone(),
                    password_hash: Some(hash),
                    email_confirmed_at: self.config.mailer_autoconfirm.then_some(now),
                    last_sign_in_at: None,
                    user_metadata: req.metadata.clone(),
                    created_at: now,
                    updated_at: now,
                };
                match self.ports.users().insert(&user).await {
                    Ok(()) => {}
                    // Someone registered the same address a moment ago.
                    Err(StoreError::Conflict(_)) => {
                        return self.already_registered(&email, req.metadata, now).await
                    }
                    Err(e) => return Err(e.into()),
                }
                if self.config.mailer_autoconfirm {
                    let signed_in = self
                        .start_session(user, AuthMethod::Password, req.platform)
                        .await?;
                    return Ok(SignupOutcome::SignedIn(signed_in));
                }
                self.send_code(&user, Purpose::Signup).await?;
                Ok(SignupOutcome::ConfirmationSent(user))
            }
        }
    }

    fn hash_new_password(&self, password: &str) -> Result<String, FlowError> {
        let mut salt = [0u8; 16];
        self.ports.rng().fill(&mut salt);
        Ok(self.hasher.hash(password.as_bytes(), &salt)?)
    }

    async fn already_registered(
        &self,
        email: &str,
        metadata: serde_json::Value,
        now: Timestamp,
    ) -> Result<SignupOutcome, FlowError> {
        if self.config.mailer_autoconfirm {
            // No mail step to hide behind: say it, as upstream does.
            return Err(FlowError::UserAlreadyExists);
        }
        self.ports
            .mailer()
            .send(&mail::already_registered(&self.config, email))
            .await?;
        Ok(SignupOutcome::AlreadyRegistered(User {
            id: random_uuid(self.ports.rng()),
            email: email.to_string(),
            password_hash: None,
            email_confirmed_at: None,
            last_sign_in_at: None,
            user_metadata: metadata,
            created_at: now,
            updated_at: now,
        }))
    }

    /// Issues a new code and link for `purpose` (replacing any live one) and mails them.
    pub async fn send_code(&self, user: &User, purpose: Purpose) -> Result<(), FlowError> {
        let rng = self.ports.rng();
        let now = self.now();
        let id = random_uuid(rng);
        let digits = random_code_digits(rng);
        let link_token = random_b64(rng, 32);
        let code = OneTimeCode {
            code_hash: hash_code(self.code_key.expose(), &id, digits.expose()),
            id,
            user_id: user.id.clone(),
            purpose,
            link_hash: hash_secret(&link_token),
            sent_to: user.email.clone(),
            created_at: now,
            expires_at: now.plus_secs(self.config.otp_exp_secs),
            attempts: 0,
            used_at: None,
        };
        self.ports.codes().put(&code).await?;
        let link = self.verify_link(purpose, &link_token);
        let mail = match purpose {
            Purpose::Signup => {
                mail::signup_confirmation(&self.config, &user.email, digits.expose(), &link)
            }
        };
        self.ports.mailer().send(&mail).await?;
        Ok(())
    }

    /// The emailed link: GoTrue's `GET /verify`, which redirects to the site afterwards.
    fn verify_link(&self, purpose: Purpose, token: &str) -> String {
        let redirect: String =
            form_urlencoded::byte_serialize(self.config.site_url.as_bytes()).collect();
        format!(
            "{}/auth/v1/verify?token={token}&type={}&redirect_to={redirect}",
            self.config.api_external_url,
            purpose.as_str()
        )
    }
}
