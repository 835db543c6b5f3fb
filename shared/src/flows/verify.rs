//! Using a one-time code (6 digits, with the address) or an emailed link token.
//!
//! Every way a code can fail (unknown address, no code, wrong digits, expired, used, out of
//! tries, issued for an address the account no longer has) is the same
//! [`FlowError::CodeInvalid`]. A try is taken atomically *before* the digits are compared, so
//! concurrent guesses cannot exceed the cap; the code is then consumed by compare-and-swap, so
//! only one request ever uses it. Using a code proves the mailbox, so it also confirms the
//! address; an email-change code moves the account to the address it was sent to.

use super::email_change::CodeUse;
use super::{normalize_email, CodeError, Flows, FlowError, SignedIn};
use crate::model::{AuthMethod, Dialect, OneTimeCode, Purpose, Timestamp, User};
use crate::ports::{Budgets as _, Codes as _, FirstProof, Ports, Users as _};
use crate::secret::{LinkToken, Secret};
use crate::token::{digests_match, hash_code, hash_secret};

/// What a used code or link gave.
#[derive(Debug)]
pub enum Verified {
    /// Signed in (the code did what it is for).
    SignedIn(Box<SignedIn>),
    /// Half of a secure email change: the code of the other address is still to be used.
    OtherAddressNext,
    /// A PKCE link: the auth code to bring back to the client that holds the verifier.
    AuthCode(Secret<String>),
}

impl<P: Ports> Flows<P> {
    /// Uses the digits mailed to `email` for one of `purposes` (the newest such code sent to
    /// that address), and signs in. For email change, `email` is the address that got the code:
    /// the new one, or the current one for its half of a secure change.
    pub async fn verify_code(
        &self,
        email: &str,
        digits: &str,
        purposes: &[Purpose],
        platform: &str,
    ) -> Result<Verified, FlowError> {
        // Counted before the lookup, so the throttle answers alike for unknown addresses.
        self.throttle_client().await?;
        let (user, code) = self.find_code(&normalize_email(email), purposes).await?.ok_or(FlowError::CodeInvalid)?;
        self.check_digits(&code, digits).await?;
        self.use_code(user, code, platform, false).await
    }

    /// Takes one guess from the address's budget and one try of `code` (each atomically,
    /// before comparing, so concurrent guesses cannot exceed either cap), then compares the
    /// digits in constant time. Past the address's budget (`OTP_MAX_WRONG_PER_ADDRESS` wrong
    /// guesses in `OTP_WRONG_WINDOW`, across all its codes) even the right digits are refused
    /// until the window passes, so a new code does not buy new guesses. A right guess is
    /// given back: only wrong ones count.
    pub(super) async fn check_digits(&self, code: &OneTimeCode, digits: &str) -> Result<(), FlowError> {
        let well_formed = digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit());
        let now = self.now();
        let (window, max) = (self.config.otp_wrong_window_secs, self.config.otp_max_wrong_per_address);
        let key = format!("guess:{}", code.sent_to);
        if !self.budgets().take(&key, now, window, max).await? {
            return Err(FlowError::CodeInvalid);
        }
        if !self.codes().take_attempt(&code.id, now, self.config.otp_max_attempts).await? {
            return Err(FlowError::CodeInvalid);
        }
        let expected = hash_code(self.code_key.expose(), &code.id, digits);
        if !well_formed || !digests_match(&expected, &code.code_hash) {
            return Err(FlowError::CodeInvalid);
        }
        self.budgets().give_back(&key).await?;
        Ok(())
    }

    async fn find_code(&self, email: &str, purposes: &[Purpose]) -> Result<Option<(User, OneTimeCode)>, FlowError> {
        let users = self.users();
        let codes = self.codes();
        if let Some(user) = users.by_email(email).await? {
            let mut newest: Option<OneTimeCode> = None;
            for &p in purposes {
                if let Some(c) = codes.for_user(&user.id, p).await?.filter(|c| c.sent_to == email) {
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

    /// Uses the token from an emailed link (GoTrue's `token_hash`) for one of `purposes`, and
    /// signs in, PKCE or not (the token proves the mailbox, as upstream's `POST /verify`).
    pub async fn verify_link_token(&self, token: &LinkToken, purposes: &[Purpose], platform: &str) -> Result<Verified, FlowError> {
        self.use_link(token, purposes, platform, false).await
    }

    /// Follows an emailed link (GoTrue's `GET /verify`): as [`Flows::verify_link_token`], but
    /// a link mailed with a PKCE challenge gives an auth code instead of a session.
    pub async fn follow_link(&self, token: &LinkToken, purposes: &[Purpose], platform: &str) -> Result<Verified, FlowError> {
        self.use_link(token, purposes, platform, true).await
    }

    async fn use_link(&self, token: &LinkToken, purposes: &[Purpose], platform: &str, pkce: bool) -> Result<Verified, FlowError> {
        let code = self.codes()
            .by_link_hash(&hash_secret(token.expose()))
            .await?
            .filter(|c| purposes.contains(&c.purpose))
            .ok_or(FlowError::CodeInvalid)?;
        let user = self.users()
            .by_id(&code.user_id)
            .await?
            .ok_or(FlowError::CodeInvalid)?;
        self.use_code(user, code, platform, pkce).await
    }

    /// Uses `code` and signs in; with `pkce`, a code mailed with a challenge gives an auth code
    /// for it instead.
    async fn use_code(&self, user: User, code: OneTimeCode, platform: &str, pkce: bool) -> Result<Verified, FlowError> {
        let method = match code.purpose {
            Purpose::Signup => AuthMethod::Otp,
            Purpose::Invite => AuthMethod::Invite,
            Purpose::Recovery => AuthMethod::Recovery,
            Purpose::MagicLink => AuthMethod::MagicLink,
            Purpose::EmailChange | Purpose::EmailChangeCurrent => AuthMethod::EmailChange,
            Purpose::Reauthentication | Purpose::Login => return Err(FlowError::CodeInvalid),
        };
        let challenge = code.pkce.clone().filter(|_| pkce);
        let user = match self.apply_code(user, code).await? {
            CodeUse::Done(user) => *user,
            CodeUse::OtherAddressNext => return Ok(Verified::OtherAddressNext),
        };
        if let Some(challenge) = challenge {
            return Ok(Verified::AuthCode(self.issue_auth_code(&user, method, challenge, None, None).await?));
        }
        // Codes and links are GoTrue's (`/verify`); its sessions come from them.
        Ok(Verified::SignedIn(Box::new(self.start_session(user, method, platform, Dialect::Gotrue).await?)))
    }

    /// Uses the code's link token for an email change without starting a session (the
    /// passwordless dialect's confirmation page).
    pub async fn confirm_email_link(&self, token: &LinkToken) -> Result<CodeUse, CodeError> {
        let code = self.codes()
            .by_link_hash(&hash_secret(token.expose()))
            .await?
            .filter(|c| matches!(c.purpose, Purpose::EmailChange | Purpose::EmailChangeCurrent))
            .ok_or(CodeError::CodeInvalid)?;
        let user = self.users().by_id(&code.user_id).await?.ok_or(CodeError::CodeInvalid)?;
        Ok(self.apply_code(user, code).await?)
    }

    /// The address is proven for the first time: whatever was done with the account before,
    /// nobody had shown it was theirs. Every session started before ends (a stranger who
    /// signed up the address and signed in through Feathers, say). Unless the proof is a code
    /// of the request that set the account up (`keeps_attempt`: the sign-up attempt that set
    /// the password, or the `/otp` that created the account, as upstream keeps
    /// `signInWithOtp({ data })`), the password and metadata go too: they may be a stranger's,
    /// and the owner, signed in by the proof, sets their own. All of it and the confirmation
    /// are one step, so a failure half-way never leaves a verified address with a stranger's
    /// password.
    async fn first_proof_of_mailbox(&self, user: &mut User, code: &OneTimeCode, now: Timestamp) -> Result<(), FlowError> {
        let keeps = code.keeps_attempt && matches!(code.purpose, Purpose::Signup | Purpose::MagicLink | Purpose::Invite);
        // One step (`Users::first_proof`): a sign-in that checked the password, or a change a
        // session asked for, lands wholly before it (and is undone) or finds it done.
        self.users().first_proof(&user.id, FirstProof { new_email: None, forget: !keeps }, now).await?;
        if !keeps {
            user.forget();
        }
        user.email_confirmed_at = Some(now);
        user.is_anonymous = false;
        Ok(())
    }

    /// Consumes the code and does what it is for.
    async fn apply_code(&self, mut user: User, code: OneTimeCode) -> Result<CodeUse, FlowError> {
        let now = self.now();
        // A code for the account's own address dies when the address changes.
        let addressed_right = match code.purpose {
            Purpose::EmailChange => true,
            _ => user.has_email(&code.sent_to),
        };
        if !addressed_right || user.deleted_at.is_some() || !self.codes().consume(&code.id, now).await? {
            return Err(FlowError::CodeInvalid);
        }
        if matches!(code.purpose, Purpose::EmailChange | Purpose::EmailChangeCurrent) {
            return self.use_email_change_code(user, code, now).await;
        }
        if !user.is_confirmed() {
            self.first_proof_of_mailbox(&mut user, &code, now).await?;
        }
        Ok(CodeUse::Done(Box::new(user)))
    }
}
