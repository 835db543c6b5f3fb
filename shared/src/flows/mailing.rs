//! Mailing codes and notices, under the per-address send limit.
//!
//! Every flow that mails first claims the (address, purpose) send slot, *before* looking at
//! whether the address has an account, so the limit answers the same for registered and
//! unknown addresses. A claim whose mail could not be delivered is given back, so a failed
//! send does not lock the user out of retrying.

use super::{Auth, FlowError};
use crate::mail;
use crate::model::{Mail, OneTimeCode, Purpose, Timestamp, User};
use crate::ports::{Codes as _, Mailer as _, Ports, SendLimits as _};
use crate::token::{hash_code, hash_secret, random_b64, random_code_digits, random_uuid};

/// Where a mailed code's link leads.
#[derive(Debug, Clone, Copy)]
pub enum LinkTo<'a> {
    /// GoTrue's `GET /verify`, then on to this redirect if it is allowed (else the site).
    Verify(Option<&'a str>),
    /// The passwordless email confirmation page, which confirms only by POST.
    EmailConfirmPage,
}

/// A claimed send slot: what to give back if the mail cannot be delivered. The address is the
/// one the request named, which need not be the one the mail goes to (a pending email change).
#[derive(Debug)]
pub(super) struct Claim {
    address: String,
    purpose: Purpose,
    at: Timestamp,
}

impl<P: Ports> Auth<P> {
    /// Claims the right to mail `address` for `purpose` now, or says how long to wait.
    pub(super) async fn claim_send(&self, address: &str, purpose: Purpose) -> Result<Claim, FlowError> {
        let now = self.now();
        let interval = self.config.mail_min_interval_secs;
        match self.send_limits().claim(address, purpose, now, interval).await? {
            None => Ok(Claim {
                address: address.to_string(),
                purpose,
                at: now,
            }),
            Some(last) => {
                let wait_ms = last.plus_secs(interval).0 - now.0;
                Err(FlowError::OverEmailSendRateLimit {
                    wait_secs: (wait_ms + 999) / 1000,
                })
            }
        }
    }

    /// Delivers `mail` under a claim made by [`Auth::claim_send`], giving the claim back if
    /// delivery fails.
    async fn deliver(&self, mail: &Mail, claim: Claim) -> Result<(), FlowError> {
        if let Err(e) = self.ports.mailer().send(mail).await {
            // Best effort: if this fails too, the user waits out the interval.
            let _ = self.send_limits().release(&claim.address, claim.purpose, claim.at).await;
            return Err(e.into());
        }
        Ok(())
    }

    /// Issues a new code and link for `purpose` (replacing any live one of the account's),
    /// addressed to `to`, and mails them under the claim.
    pub(super) async fn send_code(
        &self,
        user: &User,
        purpose: Purpose,
        to: &str,
        claim: Claim,
        link_to: LinkTo<'_>,
    ) -> Result<(), FlowError> {
        self.send_code_keeping(user, purpose, to, claim, link_to, false).await
    }

    /// [`Auth::send_code`], for a sign-up code that may keep the account's password when it
    /// is the first proof of the address (see [`OneTimeCode::keeps_password`]).
    pub(super) async fn send_code_keeping(
        &self,
        user: &User,
        purpose: Purpose,
        to: &str,
        claim: Claim,
        link_to: LinkTo<'_>,
        keeps_password: bool,
    ) -> Result<(), FlowError> {
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
            sent_to: to.to_string(),
            created_at: now,
            expires_at: now.plus_secs(self.config.otp_exp_secs),
            attempts: 0,
            used_at: None,
            keeps_password: keeps_password && purpose == Purpose::Signup,
        };
        self.codes().put(&code).await?;
        let link = match link_to {
            LinkTo::Verify(redirect_to) => self.verify_link(purpose, &link_token, redirect_to),
            LinkTo::EmailConfirmPage => {
                format!("{}/auth/email/confirm?token={link_token}", self.config.api_external_url)
            }
        };
        let mail = mail::code_mail(&self.config, purpose, to, digits.expose(), &link);
        self.deliver(&mail, claim).await
    }

    /// Tells the owner of the claimed address that someone tried to register it again.
    pub(super) async fn send_already_registered(&self, claim: Claim) -> Result<(), FlowError> {
        let mail = mail::already_registered(&self.config, &claim.address);
        self.deliver(&mail, claim).await
    }

    /// Mails an already rendered mail under a claim.
    pub(super) async fn send_mail(&self, mail: &Mail, claim: Claim) -> Result<(), FlowError> {
        self.deliver(mail, claim).await
    }

    /// The emailed link: GoTrue's `GET /verify`, which redirects afterwards to `redirect_to` if
    /// that is allowed, else to the site.
    fn verify_link(&self, purpose: Purpose, token: &str, redirect_to: Option<&str>) -> String {
        let target = self.allowed_redirect(redirect_to);
        let redirect: String = form_urlencoded::byte_serialize(target.as_bytes()).collect();
        format!(
            "{}/auth/v1/verify?token={token}&type={}&redirect_to={redirect}",
            self.config.api_external_url,
            purpose.as_str()
        )
    }

    /// `requested` if it is the site or on the allow-list (exact, or under a listed prefix that
    /// ends in `/`); the site URL otherwise. Never an open redirect.
    pub fn allowed_redirect(&self, requested: Option<&str>) -> String {
        let site = &self.config.site_url;
        let Some(r) = requested else { return site.clone() };
        let allowed = |base: &str| {
            r == base || (base.ends_with('/') && r.starts_with(base)) || r.starts_with(&format!("{base}/"))
        };
        if allowed(site) || self.config.uri_allow_list.iter().any(|a| allowed(a)) {
            r.to_string()
        } else {
            site.clone()
        }
    }
}
