//! Using a one-time code (6 digits, with the address) or an emailed link token.
//!
//! Every way a code can fail (unknown address, no code, wrong digits, expired, used, out of
//! tries, issued for an address the account no longer has) is the same
//! [`FlowError::CodeInvalid`]. A try is taken atomically *before* the digits are compared, so
//! concurrent guesses cannot exceed the cap; the code is then consumed by compare-and-swap, so
//! only one request ever uses it.

use super::{normalize_email, Auth, FlowError, SignedIn};
use crate::model::{AuthMethod, OneTimeCode, Purpose, User};
use crate::ports::{Codes as _, Ports, Users as _};
use crate::token::{digests_match, hash_code, hash_secret};

impl<P: Ports> Auth<P> {
    /// Confirms `purpose` with the digits mailed to `email`, and signs in.
    pub async fn verify_code(
        &self,
        email: &str,
        digits: &str,
        purpose: Purpose,
        platform: &str,
    ) -> Result<SignedIn, FlowError> {
        let well_formed = digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit());
        let user = self
            .ports
            .users()
            .by_email(&normalize_email(email))
            .await?
            .ok_or(FlowError::CodeInvalid)?;
        let code = self
            .ports
            .codes()
            .for_user(&user.id, purpose)
            .await?
            .ok_or(FlowError::CodeInvalid)?;
        let now = self.now();
        if !self
            .ports
            .codes()
            .take_attempt(&code.id, now, self.config.otp_max_attempts)
            .await?
        {
            return Err(FlowError::CodeInvalid);
        }
        let expected = hash_code(self.code_key.expose(), &code.id, digits);
        if !well_formed || !digests_match(&expected, &code.code_hash) {
            return Err(FlowError::CodeInvalid);
        }
        self.use_code(user, code, platform).await
    }

    /// Confirms with the token from an emailed link (GoTrue's `token_hash`).
    pub async fn verify_link_token(
        &self,
        token: &str,
        purpose: Purpose,
        platform: &str,
    ) -> Result<SignedIn, FlowError> {
        let code = self
            .ports
            .codes()
            .by_link_hash(&hash_secret(token))
            .await?
            .filter(|c| c.purpose == purpose)
            .ok_or(FlowError::CodeInvalid)?;
        let user = self
            .ports
            .users()
            .by_id(&code.user_id)
            .await?
            .ok_or(FlowError::CodeInvalid)?;
        self.use_code(user, code, platform).await
    }

    async fn use_code(
        &self,
        mut user: User,
        code: OneTimeCode,
        platform: &str,
    ) -> Result<SignedIn, FlowError> {
        let now = self.now();
        if code.sent_to != user.email || !self.ports.codes().consume(&code.id, now).await? {
            return Err(FlowError::CodeInvalid);
        }
        match code.purpose {
            Purpose::Signup => {
                if !user.is_confirmed() {
                    self.ports.users().confirm_email(&user.id, now).await?;
                    user.email_confirmed_at = Some(now);
                }
            }
        }
        self.start_session(user, AuthMethod::Otp, platform).await
    }
}
