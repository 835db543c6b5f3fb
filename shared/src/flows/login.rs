//! Password login, by email address (GoTrue, Feathers) or by username or address (graphql).
//!
//! Unknown address, missing password and wrong password give the same
//! [`FlowError::InvalidCredentials`] after the same amount of hashing work, so neither the
//! answer nor its timing tells whether an account exists. "Email not confirmed" is said only
//! after the password matched, and only with `REVEAL_EMAIL_NOT_CONFIRMED`: whoever signed the
//! address up knows that password, and would learn that the address had been new.

use super::{normalize_email, Flows, FlowError, Human, LoginError, SignedIn};
use crate::model::{AuthMethod, Dialect};
use crate::password::{Verification, MAX_PASSWORD_BYTES};
use crate::ports::{AccountName, Ports, Users as _};
use crate::secret::Password;

/// Who is signing in.
enum Login<'a> {
    Email(&'a str),
    Username(&'a str),
}

impl<P: Ports> Flows<P> {
    /// Signs in with email and password, starting a session of `dialect`. `human` is what the
    /// request proved with a CAPTCHA response (`captcha`), if anything.
    pub async fn password_login(
        &self,
        email: &str,
        password: &Password,
        platform: &str,
        dialect: Dialect,
        human: Human,
    ) -> Result<SignedIn, LoginError> {
        Ok(self.login_as(&Login::Email(email), password, platform, dialect, human).await?)
    }

    /// Signs in with a username or an email address (anything with an `@`) and a password,
    /// starting a graphql-jwt session.
    pub async fn username_or_email_login(
        &self,
        username: &str,
        password: &Password,
        platform: &str,
    ) -> Result<SignedIn, LoginError> {
        let login = match username.contains('@') {
            true => Login::Email(username),
            false => Login::Username(username),
        };
        Ok(self.login_as(&login, password, platform, Dialect::Graphql, Human::unproven()).await?)
    }

    /// Whether `dialect` lets a password sign in to an account whose address is not verified:
    /// only Feathers, as upstream (its sign-up has no mail step), unless
    /// `FEATHERS_REQUIRE_CONFIRMATION`. Every other dialect waits for the proof of the mailbox.
    /// A passkey of such an account signs in where its password would (`passkey_signin`).
    pub(super) fn signs_in_unverified(&self, dialect: Dialect) -> bool {
        match dialect {
            Dialect::Feathers => !self.config.feathers_require_confirmation,
            Dialect::Gotrue | Dialect::Graphql | Dialect::Passwordless => false,
        }
    }

    async fn login_as(&self, login: &Login<'_>, password: &Password, platform: &str, dialect: Dialect, human: Human) -> Result<SignedIn, FlowError> {
        let password = password.expose().as_bytes();
        // Independent of any account, so refusing early leaks nothing and bounds the work.
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(FlowError::InvalidCredentials);
        }
        let account = match login {
            Login::Email(email) => normalize_email(email),
            Login::Username(name) => name.trim().to_string(),
        };
        // Counted whether or not the account exists, before any hashing; the account is found
        // in the same round trip.
        let name = match login {
            Login::Email(_) => AccountName::Email(&account),
            Login::Username(_) => AccountName::Username(&account),
        };
        let user = self.throttle_login(name, human).await?;
        let (user, stored) = match user {
            Some(u) => match u.password_hash.clone() {
                Some(h) => (u, h),
                None => {
                    self.hasher.spend_equal_time(password);
                    return Err(FlowError::InvalidCredentials);
                }
            },
            None => {
                self.hasher.spend_equal_time(password);
                return Err(FlowError::InvalidCredentials);
            }
        };
        let rehash = match self.hasher.verify(password, &stored)? {
            Verification::Mismatch => return Err(FlowError::InvalidCredentials),
            Verification::Match { rehash } => rehash,
        };
        if !user.is_confirmed() && !self.signs_in_unverified(dialect) {
            // Said only with the right password, and only if the operator asked: a stranger
            // who signed an address up with their own password would otherwise learn from this
            // answer that the address was new (a registered one keeps its password).
            return Err(match self.config.reveal_email_not_confirmed {
                true => FlowError::EmailNotConfirmed,
                false => FlowError::InvalidCredentials,
            });
        }
        // The session is stored only while the account still has the hash just checked: a
        // proof of the mailbox, a recovery or a password change that lands while this sign-in
        // is hashing discards that password, and this sign-in with it.
        let mut checked = stored;
        if rehash {
            let mut salt = [0u8; 16];
            crate::ports::Rng::fill(self.ports.rng(), &mut salt);
            let fresh = self.hasher.hash(password, &salt)?;
            if !self.users().rehash_password(&user.id, &checked, &fresh, self.now()).await? {
                return Err(FlowError::InvalidCredentials);
            }
            checked = fresh;
        }
        let signed_in = self.start_session_as(user, AuthMethod::Password, platform, dialect, Some(&checked)).await?;
        // Only a sign-in gives its unit back: a right password that signs nobody in (the
        // address not confirmed) counts like a wrong one, or a stranger who signed an address
        // up with their own password could tell from the throttle whether it was new.
        self.login_succeeded(&account, human);
        Ok(signed_in)
    }
}
