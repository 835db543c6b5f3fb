//! Password login.
//!
//! Unknown address, missing password and wrong password give the same
//! [`FlowError::InvalidCredentials`] after the same amount of hashing work, so neither the
//! answer nor its timing tells whether an account exists. "Email not confirmed" is said only
//! after the password matched, so it reveals nothing to someone without the password.

use super::{normalize_email, Auth, FlowError, SignedIn};
use crate::model::AuthMethod;
use crate::password::{Verification, MAX_PASSWORD_BYTES};
use crate::ports::{Ports, Users as _};
use crate::secret::Secret;

impl<P: Ports> Auth<P> {
    /// Signs in with email and password, starting a session.
    pub async fn password_login(
        &self,
        email: &str,
        password: &Secret<String>,
        platform: &str,
    ) -> Result<SignedIn, FlowError> {
        let password = password.expose().as_bytes();
        // Independent of any account, so refusing early leaks nothing and bounds the work.
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(FlowError::InvalidCredentials);
        }
        let user = self.ports.users().by_email(&normalize_email(email)).await?;
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
        if !user.is_confirmed() {
            return Err(FlowError::EmailNotConfirmed);
        }
        if rehash {
            let mut salt = [0u8; 16];
            crate::ports::Rng::fill(self.ports.rng(), &mut salt);
            let fresh = self.hasher.hash(password, &salt)?;
            self.ports
                .users()
                .set_password_hash(&user.id, &fresh, self.now())
                .await?;
        }
        self.start_session(user, AuthMethod::Password, platform).await
    }
}
