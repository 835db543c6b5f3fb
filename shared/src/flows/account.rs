//! What a user does with an account besides signing up and in: recovery, email sign-in
//! without a password, re-sending a confirmation, changing email, password or metadata,
//! logging out, and deleting the account.
//!
//! Requests about an address (`recover`, `email_otp`, `resend`) answer the same whether or not
//! the address has an account: the send limit is claimed either way, and mail goes only where
//! an account exists (or is created, for `email_otp`). A user update checks everything before
//! it changes anything, so a refused update leaves the account as it was.

use super::email_change::EmailChangeSent;
use super::mailing::{Landing, LinkTo};
use super::{check_new_password, is_valid_email, normalize_email, ChangeError, Flows, FlowError, InternalError};
use crate::model::{LogoutScope, Purpose, Session, User};
use crate::ports::{Codes as _, Ports, Sessions as _, StoreError, Users as _};
use crate::secret::{Password, Secret};
use crate::token::random_id;
use serde_json::{Map, Value};

/// A change to the signed-in account; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct UserUpdate<'a> {
    /// A new address, which takes effect once a code mailed to it is used.
    pub email: Option<&'a str>,
    /// A new password.
    pub password: Option<&'a Password>,
    /// Keys to merge into `user_metadata`; a `null` value removes the key.
    pub data: Option<Map<String, Value>>,
    /// Where the email-change links land.
    pub landing: Landing<'a>,
    /// A re-authentication nonce (GoTrue's `nonce`), for a sensitive change through an old
    /// session.
    pub nonce: Option<&'a Secret<String>>,
}

/// An applied update.
#[derive(Debug)]
pub struct Updated {
    /// The account as it is now.
    pub user: User,
    /// The email change it started, if any (the account moves once it is confirmed).
    pub email_change: Option<EmailChangeSent>,
}

impl<P: Ports> Flows<P> {
    pub(super) fn checked_address(&self, email: &str) -> Result<String, FlowError> {
        let email = normalize_email(email);
        if !is_valid_email(&email) {
            return Err(FlowError::InvalidEmail);
        }
        Ok(email)
    }

    /// Mails a recovery code and link, if the address has an account.
    pub async fn recover(&self, email: &str, landing: Landing<'_>) -> Result<(), FlowError> {
        let email = self.checked_address(email)?;
        let claimed = self.claim_send(&email, Purpose::Recovery).await?;
        if let Some(user) = self.users().by_email(&email).await? {
            self.send_code(&user, Purpose::Recovery, &email, claimed, LinkTo::Verify(landing));
        }
        Ok(())
    }

    /// Mails a sign-in code and link; creates a password-less account for an unknown address
    /// when `create_user` is set (and sign-ups are open).
    pub async fn email_otp(
        &self,
        email: &str,
        create_user: bool,
        metadata: Value,
        landing: Landing<'_>,
    ) -> Result<(), FlowError> {
        let email = self.checked_address(email)?;
        let claimed = self.claim_send(&email, Purpose::MagicLink).await?;
        // Only the code of the request that created the account keeps its metadata at the
        // first proof (upstream's `signInWithOtp({ data })`); on an account someone else set
        // up, the proof clears what they set.
        let existing = self.users().by_email(&email).await?;
        let (user, created) = match (existing, create_user && !self.config.disable_signup) {
            // The insert is tried whether or not the address has an account, so that the
            // answer costs a registered address the same writes as a new one (the unique
            // address refuses it); only a new address keeps the row.
            (existing, true) => {
                let user = User::new(random_id(self.ports.rng()), Some(&email), metadata, self.now());
                match (self.users().insert(&user).await, existing) {
                    (Ok(()), _) => (user, true),
                    (Err(StoreError::Conflict(_)), Some(existing)) => (existing, false),
                    (Err(StoreError::Conflict(_)), None) => {
                        let raced = self.users().by_email(&email).await?;
                        (raced.ok_or(FlowError::Internal("account vanished".into()))?, false)
                    }
                    (Err(e), _) => return Err(e.into()),
                }
            }
            (Some(user), false) => (user, false),
            (None, false) => return Ok(()),
        };
        let link = LinkTo::Verify(landing);
        self.send_code_keeping(&user, Purpose::MagicLink, &email, claimed, link, created);
        Ok(())
    }

    /// Sends a fresh code for a pending sign-up confirmation or email change of the account
    /// at `email`; does nothing (visibly the same) when there is none.
    pub async fn resend(&self, purpose: Purpose, email: &str, landing: Landing<'_>) -> Result<(), FlowError> {
        let email = self.checked_address(email)?;
        // `email` is the account's current address: for an email change, the mail it may get
        // is the current address's half.
        let claim_as = match purpose {
            Purpose::EmailChange => Purpose::EmailChangeCurrent,
            p => p,
        };
        let claimed = self.claim_send(&email, claim_as).await?;
        let Some(user) = self.users().by_email(&email).await? else {
            return Ok(());
        };
        match purpose {
            Purpose::Signup if !user.is_confirmed() => {
                // A re-send stands for the attempt it re-sends: it keeps the password if that
                // attempt's code would have, and was sent to this very address (the account may
                // have moved since). Whoever asks, it keeps the pending code's PKCE binding: a
                // stranger's re-send must neither bind the owner's link to the stranger's
                // challenge nor turn the owner's PKCE link into one that carries a session.
                let pending = self.codes().for_user(&user.id, Purpose::Signup).await?;
                let keeps = pending.as_ref().is_some_and(|c| c.keeps_attempt && c.sent_to == email);
                let pkce = pending.as_ref().and_then(|c| c.pkce.as_ref());
                let link = LinkTo::Verify(Landing { pkce, ..landing });
                self.send_code_keeping(&user, Purpose::Signup, &email, claimed, link, keeps);
            }
            Purpose::EmailChange => self.resend_email_change(&user, claimed, LinkTo::Verify(landing)).await?,
            _ => {}
        }
        Ok(())
    }

    /// Applies `update` to the signed-in `user` of `session`. A password change, or an email
    /// change that the current address will not confirm, through a session older than
    /// `REAUTHENTICATION_AFTER` needs `update.nonce` (`reauth`).
    pub async fn update_user(&self, user: &User, session: &Session, update: UserUpdate<'_>) -> Result<Updated, ChangeError> {
        // Check everything first: a refused update changes nothing.
        let new_email = match update.email {
            Some(e) => Some(self.checked_address(e)?).filter(|e| !user.has_email(e)),
            None => None,
        };
        if let Some(p) = update.password {
            check_new_password(&self.config, p.expose())?;
        }
        // Upstream's rule: an anonymous account's password comes with an address.
        if update.password.is_some() && user.is_anonymous && user.email.is_none() && new_email.is_none() {
            return Err(ChangeError::AnonymousWithoutAddress);
        }
        // An account with a verified second factor changes its way in only from a session
        // that used it (upstream's rule, for password and address alike).
        if (update.password.is_some() || new_email.is_some()) && user.mfa_enabled() && session.aal() < crate::model::Aal::Aal2 {
            return Err(ChangeError::InsufficientAal);
        }
        let unconfirmed_move = new_email.is_some() && !self.asks_current_address(user);
        // An anonymous account has nothing stronger than its session to prove.
        if (update.password.is_some() || unconfirmed_move) && !user.is_anonymous {
            self.reauthenticate(user, session, update.nonce).await?;
        }
        let email_change = match &new_email {
            Some(e) => Some(self.request_email_change(user, &session.id, e, LinkTo::Verify(update.landing)).await?),
            None => None,
        };
        let now = self.now();
        let users = self.users();
        // Each write lands only while this session is live: a proof of the mailbox that ended
        // it while this request was checking or hashing (the session may be a stranger's, who
        // registered the address first) leaves nothing of it behind.
        let live = Some(&session.id);
        if let Some(p) = update.password {
            let hash = self.hash_new_password(p.expose())?;
            if !users.set_password_hash(&user.id, &hash, now, live).await? {
                return Err(ChangeError::SessionNotFound);
            }
            if self.config.password_change_ends_other_sessions {
                self.sessions().revoke(&user.id, &session.id, LogoutScope::Others, now).await?;
            }
        }
        if let Some(data) = update.data {
            if !users.set_metadata(&user.id, &super::merged(&user.user_metadata, data), now, live).await? {
                return Err(ChangeError::SessionNotFound);
            }
        }
        let user = users.by_id(&user.id).await?.ok_or(ChangeError::UserNotFound)?;
        Ok(Updated { user, email_change })
    }

    /// Ends the sessions `scope` names, relative to `session`.
    pub async fn logout(&self, session: &Session, scope: LogoutScope) -> Result<(), InternalError> {
        self.sessions()
            .revoke(&session.user_id, &session.id, scope, self.now())
            .await?;
        Ok(())
    }

    /// Removes `user`'s account with its sessions, tokens and codes; its address is free
    /// again afterwards. `false` when it was gone already.
    pub async fn delete_account(&self, user: &User) -> Result<bool, InternalError> {
        Ok(self.users().delete(&user.id).await?)
    }
}
