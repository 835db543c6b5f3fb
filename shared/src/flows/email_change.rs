//! Changing an account's address (GoTrue's `PUT /user {email}`, the passwordless
//! `PUT /auth/email`), re-sending it, and the codes that complete it.
//!
//! With secure email change (the default, as upstream's `MAILER_SECURE_EMAIL_CHANGE_ENABLED`)
//! a request mails a code to the new address and one to the account's current address, as a
//! pair; the account moves once both are used, in either order, so a stolen session alone
//! cannot move it. Without it, the new address's code alone does. Either way the old address
//! is told once the account has moved. A new address that already has an account gets a
//! notice instead of a code, so the caller learns nothing from the answer.

use super::mailing::{ChangeAsked, LinkTo};
use super::{Flows, FlowError};
use crate::model::{OneTimeCode, Purpose, SessionId, Timestamp, User};
use crate::ports::{Codes as _, FirstProof, Ports, StoreError, Users as _};

/// A requested email change, for GoTrue's `new_email` and `email_change_sent_at`.
#[derive(Debug, Clone)]
pub struct EmailChangeSent {
    /// Where the account will move.
    pub new_email: String,
    /// When the codes went out.
    pub sent_at: Timestamp,
}

/// What using an email-change code did.
#[derive(Debug)]
pub enum CodeUse {
    /// The code did what it is for; the account as it is now.
    Done(Box<User>),
    /// One of the pair is confirmed; the account moves once the other address's code is used.
    OtherAddressNext,
}

impl<P: Ports> Flows<P> {
    /// Whether an email change of `user` also asks the current address.
    pub(super) fn asks_current_address(&self, user: &User) -> bool {
        self.config.secure_email_change && user.email.is_some()
    }

    /// Claims the send slots and queues the codes (or the notice) for moving `user` to
    /// `new_email` (normalised, not the account's own).
    pub(super) async fn request_email_change(
        &self,
        user: &User,
        asked_by: &SessionId,
        new_email: &str,
        link_to: LinkTo<'_>,
    ) -> Result<EmailChangeSent, FlowError> {
        let new = self.claim_send(new_email, Purpose::EmailChange).await?;
        let current = match (self.asks_current_address(user), user.email.as_deref()) {
            (true, Some(address)) => match self.claim_send(address, Purpose::EmailChangeCurrent).await {
                Ok(claim) => Some(claim),
                Err(e) => {
                    self.give_back(new).await;
                    return Err(e);
                }
            },
            _ => None,
        };
        match self.users().by_email(new_email).await? {
            // Its owner is told; the code that never comes cannot move this account onto it.
            // The current address's claim stays taken, as if its code had gone out, so the
            // next request's answer does not tell a registered address from a new one.
            Some(_) => self.send_already_registered(new),
            None => self.send_email_change(user, ChangeAsked::BySession(asked_by), new_email, new, current, link_to),
        }
        Ok(EmailChangeSent { new_email: new_email.to_string(), sent_at: self.now() })
    }

    /// Re-sends the pending email change of `user` (both codes, as a fresh pair that expires
    /// when the pending one does), if there is one, unused and unexpired (a re-send never
    /// revives or prolongs a change: that needs a new `PUT /user`, through a session), and its
    /// new address may be mailed now; silently nothing otherwise, since the caller need not be
    /// the account's owner. `claim` is the request's claim on the current address.
    pub(super) async fn resend_email_change(&self, user: &User, claim: super::mailing::Claim, link_to: LinkTo<'_>) -> Result<(), FlowError> {
        let pending = self.codes().for_user(&user.id, Purpose::EmailChange).await?;
        let now = self.now();
        let Some(code) = pending.filter(|c| c.used_at.is_none() && c.expires_at > now) else { return Ok(()) };
        // The request's claim took the client's unit; the new address's mail takes none more.
        let Some(new) = self.try_claim_slot(&code.sent_to, Purpose::EmailChange).await? else { return Ok(()) };
        let current = self.asks_current_address(user).then_some(claim);
        // The re-send keeps the pending change's PKCE binding, whoever asks for it.
        let link_to = match link_to {
            LinkTo::Verify(landing) => LinkTo::Verify(super::mailing::Landing { pkce: code.pkce.as_ref(), ..landing }),
            other => other,
        };
        let resent = ChangeAsked::Resent { expires_at: code.expires_at };
        self.send_email_change(user, resent, &code.sent_to, new, current, link_to);
        Ok(())
    }

    /// After `code` (an email-change code of `user`) was consumed: moves the account if the
    /// pair is complete, else says the other address is next.
    pub(super) async fn use_email_change_code(&self, mut user: User, code: OneTimeCode, now: Timestamp) -> Result<CodeUse, FlowError> {
        // The other half of this code's pair, if it is one. Fails closed: a new-address code
        // issued as half of a pair moves the account only with its own pair's other half used.
        let other = match &code.pair_id {
            None => None,
            Some(pair) => {
                let other_purpose = match code.purpose {
                    Purpose::EmailChangeCurrent => Purpose::EmailChange,
                    _ => Purpose::EmailChangeCurrent,
                };
                let found = self.codes().for_user(&user.id, other_purpose).await?;
                // Replaced by a later request (or never stored): this half is dead.
                Some(found.filter(|o| o.pair_id.as_ref() == Some(pair)).ok_or(FlowError::CodeInvalid)?)
            }
        };
        let new_address = match (code.purpose, &other) {
            (Purpose::EmailChange, _) => code.sent_to.clone(),
            (_, Some(new)) => new.sent_to.clone(),
            // A current-address code is always half of a pair.
            (_, None) => return Err(FlowError::CodeInvalid),
        };
        if other.as_ref().is_some_and(|o| o.used_at.is_none()) {
            return Ok(CodeUse::OtherAddressNext);
        }
        // An account without a proven address (anonymous, or a passwordless username) gets
        // its first: as at any first proof, nothing set before it survives it. Whoever asked
        // for the change had nothing but a session to show and may not be the mailbox's owner,
        // so every session started before ends and the password and metadata they set go; the
        // one who confirmed is signed in (GoTrue) and sets their own.
        let moved = match user.is_confirmed() {
            true => self.users().set_email(&user.id, &new_address, true, now).await,
            false => {
                let proof = FirstProof { new_email: Some(&new_address), forget: true };
                self.users().first_proof(&user.id, proof, now).await
            }
        };
        match moved {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(FlowError::EmailExists),
            Err(e) => return Err(e.into()),
        }
        if !user.is_confirmed() {
            user.forget();
        }
        if let Some(old) = user.email.as_deref().filter(|old| *old != new_address) {
            self.send_email_changed(old, &new_address);
        }
        user.email = Some(new_address);
        user.email_confirmed_at = Some(now);
        // A confirmed address makes an anonymous account permanent (as `set_email` stored).
        user.is_anonymous = false;
        Ok(CodeUse::Done(Box::new(user)))
    }
}
