//! Using a one-time code (6 digits, with the address) or an emailed link token.
//!
//! Every way a code can fail (unknown address, no code, wrong digits, expired, used, out of
//! tries, issued for an address the account no longer has) is the same
//! [`FlowError::CodeInvalid`]. A try is taken atomically *before* the digits are compared, so
//! concurrent guesses cannot exceed the cap; the code is then consumed by compare-and-swap, so
//! only one request ever uses it. Using a code proves the mailbox, so it also confirms the
//! address; an email-change code moves the account to the address it was sent to.

use super::{normalize_email, Auth, FlowError, SignedIn};
use crate::model::{AuthMethod, Dialect, LogoutScope, OneTimeCode, Purpose, Timestamp, User};
use crate::ports::{Codes as _, Ports, Sessions as _, StoreError, Users as _};
use crate::token::{digests_match, hash_code, hash_secret};

impl<P: Ports> Auth<P> {
    /// Uses the digits mailed to `email` for one of `purposes` (the newest such code), and
    /// signs in. For email change, `email` may be the account's address or the new one.
    pub async fn verify_code(
        &self,
        email: &str,
        digits: &str,
        purposes: &[Purpose],
        platform: &str,
    ) -> Result<SignedIn, FlowError> {
        let well_formed = digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit());
        let (user, code) = self.find_code(&normalize_email(email), purposes).await?.ok_or(FlowError::CodeInvalid)?;
        let now = self.now();
        if !self.codes()
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

    async fn find_code(&self, email: &str, purposes: &[Purpose]) -> Result<Option<(User, OneTimeCode)>, FlowError> {
        let users = self.users();
        let codes = self.codes();
        if let Some(user) = users.by_email(email).await? {
            let mut newest: Option<OneTimeCode> = None;
            for &p in purposes {
                if let Some(c) = codes.for_user(&user.id, p).await? {
                    if newest.as_ref().is_none_or(|n| c.created_at > n.created_at) {
                        newest = Some(c);
                    }
                }
            }
            if let Some(c) = newest {
                return Ok(Some((user, c)));
            }
        }
        if purposes.contains(&Purpose::EmailChange) {
            if let Some(c) = codes.for_recipient(email, Purpose::EmailChange).await? {
                if let Some(user) = users.by_id(&c.user_id).await? {
                    return Ok(Some((user, c)));
                }
            }
        }
        Ok(None)
    }

    /// Uses the token from an emailed link (GoTrue's `token_hash`) for `purpose`.
    pub async fn verify_link_token(
        &self,
        token: &str,
        purposes: &[Purpose],
        platform: &str,
    ) -> Result<SignedIn, FlowError> {
        let code = self.codes()
            .by_link_hash(&hash_secret(token))
            .await?
            .filter(|c| purposes.contains(&c.purpose))
            .ok_or(FlowError::CodeInvalid)?;
        let user = self.users()
            .by_id(&code.user_id)
            .await?
            .ok_or(FlowError::CodeInvalid)?;
        self.use_code(user, code, platform).await
    }

    async fn use_code(&self, user: User, code: OneTimeCode, platform: &str) -> Result<SignedIn, FlowError> {
        let method = match code.purpose {
            Purpose::Signup => AuthMethod::Otp,
            Purpose::Recovery => AuthMethod::Recovery,
            Purpose::MagicLink => AuthMethod::MagicLink,
            Purpose::EmailChange => AuthMethod::EmailChange,
            _ => return Err(FlowError::CodeInvalid),
        };
        let user = self.apply_code(user, code).await?;
        // Codes and links are GoTrue's (`/verify`); its sessions come from them.
        self.start_session(user, method, platform, Dialect::Gotrue).await
    }

    /// Uses the code's link token for an email change without starting a session (the
    /// passwordless dialect's confirmation page); returns the account as it is now.
    pub async fn confirm_email_link(&self, token: &str) -> Result<User, FlowError> {
        let code = self.codes()
            .by_link_hash(&hash_secret(token))
            .await?
            .filter(|c| c.purpose == Purpose::EmailChange)
            .ok_or(FlowError::CodeInvalid)?;
        let user = self.users().by_id(&code.user_id).await?.ok_or(FlowError::CodeInvalid)?;
        self.apply_code(user, code).await
    }

    /// The address is proven for the first time: whatever was done with the account before,
    /// nobody had shown it was theirs. Every session started before ends (a stranger who
    /// signed up the address and signed in through Feathers, say). Unless the proof is a code
    /// of the request that set the account up (`keeps_attempt`: the sign-up attempt that set
    /// the password, or the `/otp` that created the account, as upstream keeps
    /// `signInWithOtp({ data })`), the password and metadata go too: they may be a stranger's,
    /// and the owner, signed in by the proof, sets their own. Done before the address is
    /// marked confirmed, so a failure half-way never leaves a verified address with a
    /// stranger's password.
    async fn first_proof_of_mailbox(&self, user: &mut User, code: &OneTimeCode, now: Timestamp) -> Result<(), FlowError> {
        let keeps = code.keeps_attempt && matches!(code.purpose, Purpose::Signup | Purpose::MagicLink);
        self.sessions().revoke(&user.id, "", LogoutScope::Global, now).await?;
        if keeps {
            return Ok(());
        }
        self.users().clear_password(&user.id, now).await?;
        user.password_hash = None;
        let empty = serde_json::json!({});
        self.users().set_metadata(&user.id, &empty, now).await?;
        user.user_metadata = empty;
        Ok(())
    }

    /// Consumes the code and does what it is for; returns the account as it is now.
    async fn apply_code(&self, mut user: User, code: OneTimeCode) -> Result<User, FlowError> {
        let now = self.now();
        // A code for the account's own address dies when the address changes.
        let addressed_right = match code.purpose {
            Purpose::EmailChange => true,
            _ => user.has_email(&code.sent_to),
        };
        if !addressed_right || !self.codes().consume(&code.id, now).await? {
            return Err(FlowError::CodeInvalid);
        }
        if !user.is_confirmed() && code.purpose != Purpose::EmailChange {
            self.first_proof_of_mailbox(&mut user, &code, now).await?;
        }
        if code.purpose == Purpose::EmailChange {
            match self.users().set_email(&user.id, &code.sent_to, now).await {
                Ok(()) => {}
                Err(StoreError::Conflict(_)) => return Err(FlowError::EmailExists),
                Err(e) => return Err(e.into()),
            }
            user.email = Some(code.sent_to);
            user.email_confirmed_at = Some(now);
        } else if !user.is_confirmed() {
            self.users().confirm_email(&user.id, now).await?;
            user.email_confirmed_at = Some(now);
        }
        Ok(user)
    }
}
