//! Sign-up with email and password.
//!
//! No enumeration: signing up with an address that already has a confirmed account answers
//! like a new sign-up (a decoy user with a fresh random id) and mails the owner a notice instead
//! of a code, so both paths do the same work (one hash, one mail, one send-limit claim).
//!
//! Re-signing-up with an unconfirmed address answers with a decoy too, sends a new code (the
//! old one dies) and never changes the stored password: the account may be in use (a Feathers
//! sign-up signs in unverified), and the attempt may be a stranger's. Whose password survives
//! the confirmation is decided by the code (`OneTimeCode::keeps_attempt`): only the code of the
//! attempt that set it, or of a retry of that attempt (it knows the password and its code is
//! still the pending one), keeps it; confirming any other removes it, and the owner, signed in
//! by the confirmation, sets one. So neither a stranger who signed up first nor one who signed
//! up later ends up with the password of a verified account.
//!
//! A sign-up within the send limit of its address answers as usual and mails nothing (the
//! pending code stays the live one): a 429 there would tell that someone had just signed the
//! address up, which a new address never shows.

use super::mailing::{Landing, LinkTo};
use super::{check_new_password, is_valid_email, normalize_email, Flows, Dialect, FlowError, SignedIn, SignupError};
use crate::model::{AuthMethod, Purpose, Timestamp, User};
use crate::password::Verification;
use crate::ports::{Budgets as _, Codes as _, Ports, Rng as _, StoreError, Users as _};
use crate::secret::Password;
use crate::token::random_id;

/// What a sign-up asks for.
#[derive(Debug)]
pub struct SignupRequest<'a> {
    /// The address, as typed.
    pub email: &'a str,
    /// The chosen password.
    pub password: &'a Password,
    /// `user_metadata` (a JSON object).
    pub metadata: serde_json::Value,
    /// What the client called itself, for the session if one starts at once.
    pub platform: &'a str,
    /// Where the mailed link lands.
    pub landing: Landing<'a>,
    /// The dialect signing up, whose settings say how the address is confirmed.
    pub dialect: Dialect,
}

/// How a new account's address gets confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confirm {
    /// A code goes out and the account waits for it (taken addresses get a decoy).
    ByMail,
    /// The account is live at once (a taken address is refused), with no mail step.
    AtOnce {
        /// Start a session for the new account (GoTrue's autoconfirm does, Feathers' does not).
        sign_in: bool,
        /// Take the address as verified (GoTrue's `MAILER_AUTOCONFIRM`, which the operator
        /// chose). Feathers' sign-up proves no mailbox, so its address stays unverified until a
        /// code or link that went to it is used.
        verified: bool,
    },
}

/// How a sign-up ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum SignupOutcome {
    /// A code went out; the account waits for confirmation.
    ConfirmationSent(User),
    /// The address was taken; the owner was told by mail, the caller gets this decoy.
    AlreadyRegistered(User),
    /// Confirmed at once and signed in.
    SignedIn(SignedIn),
    /// Created at once (its address verified only with GoTrue's autoconfirm), no session
    /// started.
    Registered(User),
}

impl<P: Ports> Flows<P> {
    /// Registers an account (or re-sends its confirmation), per the module's rules.
    pub async fn sign_up(&self, req: SignupRequest<'_>) -> Result<SignupOutcome, SignupError> {
        if self.config.disable_signup {
            return Err(SignupError::SignupDisabled);
        }
        let email = normalize_email(req.email);
        if !is_valid_email(&email) {
            return Err(SignupError::InvalidEmail);
        }
        let password = req.password.expose();
        check_new_password(&self.config, password)?;
        let confirm = self.confirmation_for(req.dialect);
        let autoconfirm = matches!(confirm, Confirm::AtOnce { .. });
        // Claimed before looking the address up. A sign-up is never refused for the send
        // limit: a taken slot means someone signed this address up a moment ago, which a new
        // address would not show, so the answer is the usual one and the mail is skipped.
        let claimed = match autoconfirm {
            true => None,
            false => self.try_claim_send(&email, Purpose::Signup).await?,
        };
        let now = self.now();
        let existing = self.users().by_email(&email).await?;
        if existing.is_some() && autoconfirm {
            // No mail step to hide behind: the answer says it, as upstream's does.
            self.hasher.spend_equal_time(password.as_bytes());
            return Err(SignupError::UserAlreadyExists);
        }
        // Every path below costs one password computation, one insert (refused by the unique
        // address when it is registered) and one read of the account's pending code, so that
        // neither the time to answer nor the work before it tells a registered address from a
        // new one.
        let (user, same_password) = match &existing {
            Some(u) => {
                let same = match (&u.password_hash, u.is_confirmed()) {
                    // An unreadable stored hash is a mismatch, not an error.
                    (Some(stored), false) => matches!(self.hasher.verify(password.as_bytes(), stored), Ok(Verification::Match { .. })),
                    _ => {
                        self.hasher.spend_equal_time(password.as_bytes());
                        false
                    }
                };
                let decoy = self.decoy(&email, serde_json::json!({}), now);
                match self.users().insert(&decoy).await {
                    // The account went meanwhile: the address now has this one, unconfirmed
                    // and without a password, as an `/otp` would have made it.
                    Ok(()) => (decoy, false),
                    Err(StoreError::Conflict(_)) => (u.clone(), same),
                    Err(e) => return Err(e.into()),
                }
            }
            None => {
                let hash = self.hash_new_password(password)?;
                let user = User {
                    password_hash: Some(hash),
                    email_confirmed_at: matches!(confirm, Confirm::AtOnce { verified: true, .. }).then_some(now),
                    ..User::new(random_id(self.ports.rng()), Some(&email), req.metadata.clone(), now)
                };
                match (self.users().insert(&user).await, confirm) {
                    (Ok(()), Confirm::AtOnce { sign_in: true, .. }) => {
                        let s = self.start_session(user, AuthMethod::Password, req.platform, req.dialect).await?;
                        return Ok(SignupOutcome::SignedIn(s));
                    }
                    (Ok(()), Confirm::AtOnce { sign_in: false, .. }) => return Ok(SignupOutcome::Registered(user)),
                    (Ok(()), Confirm::ByMail) => (user, false),
                    // Someone registered the same address a moment ago.
                    (Err(StoreError::Conflict(_)), Confirm::AtOnce { .. }) => return Err(SignupError::UserAlreadyExists),
                    (Err(StoreError::Conflict(_)), Confirm::ByMail) => {
                        if let Some(claimed) = claimed {
                            self.send_already_registered(claimed);
                        }
                        return Ok(SignupOutcome::AlreadyRegistered(self.decoy(&email, req.metadata, now)));
                    }
                    (Err(e), _) => return Err(e.into()),
                }
            }
        };
        let pending = self.codes().for_user(&user.id, Purpose::Signup).await?;
        let (user, shown, keeps_attempt) = match existing {
            None => (user.clone(), user, true),
            Some(u) if u.is_confirmed() => {
                if let Some(claimed) = claimed {
                    self.send_already_registered(claimed);
                }
                return Ok(SignupOutcome::AlreadyRegistered(self.decoy(&email, req.metadata, now)));
            }
            Some(_) => {
                // An account whose address nobody has proven yet: its password stays as it is
                // (it may be in use, through Feathers). The new code keeps it at confirmation
                // only if this is a retry of the attempt that set it: it knows the password
                // (`same_password`) *and* the pending code is that
                // attempt's. Knowing the password alone proves nothing (a stranger who set it
                // knows it), so after any other attempt no code keeps it again. The caller gets
                // a decoy, as for a confirmed address: the account's id, dates and metadata are
                // not theirs to see.
                let retry = same_password && pending.as_ref().is_some_and(|c| c.keeps_attempt);
                if !retry && claimed.is_none() && pending.is_some_and(|c| c.keeps_attempt) {
                    // No new code goes out (send limit), so the pending one stays live: it must
                    // not keep the password any more, or the owner, signing up within the
                    // minute, would confirm with the first attempt's code and keep its
                    // password.
                    self.codes().forfeit_keep(&user.id, Purpose::Signup).await?;
                }
                let decoy = self.decoy(&email, req.metadata, now);
                (user, decoy, retry)
            }
        };
        // Within the send limit the code already sent stays the live one.
        if let Some(claimed) = claimed {
            let link = LinkTo::Verify(req.landing);
            self.send_code_keeping(&user, Purpose::Signup, &email, claimed, link, keeps_attempt);
        }
        Ok(SignupOutcome::ConfirmationSent(shown))
    }

    /// GoTrue's anonymous sign-in: a new account without address or password
    /// ([`User::is_anonymous`]), signed in at once, while `EXTERNAL_ANONYMOUS_USERS_ENABLED`;
    /// at most `RATE_LIMIT_ANONYMOUS_USERS` a client and hour. It becomes permanent once an
    /// address is confirmed for it (`PUT /user {email}`, then the code).
    pub async fn sign_in_anonymously(&self, metadata: serde_json::Value, platform: &str) -> Result<SignedIn, SignupError> {
        if !self.config.anonymous_users_enabled {
            return Err(SignupError::AnonymousDisabled);
        }
        let now = self.now();
        let key = format!("anonymous:{}", self.client());
        if !self.budgets().take(&key, now, 3600, self.config.anonymous_max_per_hour).await? {
            return Err(SignupError::TooManyRequests);
        }
        if self.config.disable_signup {
            return Err(SignupError::SignupDisabled);
        }
        let user = User { is_anonymous: true, ..User::new(random_id(self.ports.rng()), None, metadata, now) };
        self.users().insert(&user).await?;
        Ok(self.start_session(user, AuthMethod::Anonymous, platform, Dialect::Gotrue).await?)
    }

    /// How a sign-up through `dialect` confirms its address: GoTrue mails a code unless
    /// `MAILER_AUTOCONFIRM` (then it signs in at once, as upstream); Feathers creates the
    /// account at once, as upstream, unless `FEATHERS_REQUIRE_CONFIRMATION`, but never takes
    /// its address as verified.
    fn confirmation_for(&self, dialect: Dialect) -> Confirm {
        match dialect {
            Dialect::Gotrue if self.config.mailer_autoconfirm => Confirm::AtOnce { sign_in: true, verified: true },
            Dialect::Feathers if !self.config.feathers_require_confirmation => {
                Confirm::AtOnce { sign_in: false, verified: false }
            }
            Dialect::Gotrue | Dialect::Feathers | Dialect::Graphql | Dialect::Passwordless => Confirm::ByMail,
        }
    }

    /// What a new, unconfirmed account for `email` would look like, with a random id.
    fn decoy(&self, email: &str, metadata: serde_json::Value, now: Timestamp) -> User {
        User::new(random_id(self.ports.rng()), Some(email), metadata, now)
    }

    pub(super) fn hash_new_password(&self, password: &str) -> Result<String, FlowError> {
        let mut salt = [0u8; 16];
        self.ports.rng().fill(&mut salt);
        Ok(self.hasher.hash(password.as_bytes(), &salt)?)
    }
}
