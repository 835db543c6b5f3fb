//! Mailing codes and notices, under the per-address send limit, after the answer.
//!
//! Every flow that mails first claims the (address, purpose) send slot, *before* looking at
//! whether the address has an account, so the limit answers the same for registered and
//! unknown addresses.
//!
//! Flows only queue their mail, in the request's [`super::Scope`]; [`Auth::deliver`] sends what
//! the scope's [`Outbox`] holds once the answer is out (the worker runs it in `ctx.waitUntil`). So an answer takes the same time whether a mail was due
//! or not, which would otherwise tell a known address from an unknown one, and a mail server
//! that is down cannot tell either. A mail that could not be delivered is logged under an
//! error id and its claim is given back, so the user can retry at once.

use super::{Auth, Flows, FlowError, Outbox};
use crate::mail;
use crate::model::{LoginRequest, Mail, OneTimeCode, PkceChallenge, Purpose, SessionId, Timestamp, User};
use crate::ports::{Budgets as _, Codes as _, LoginRequests as _, Mailer as _, Ports, SendLimits as _, StoreWhile};
use crate::secret::{LinkToken, Secret};
use crate::token::{hash_code, hash_secret, random_b64, random_code_digits, random_id, random_uuid};

/// Where an emailed link brings its user back, and what it gives them there.
#[derive(Debug, Clone, Copy, Default)]
pub struct Landing<'a> {
    /// The app's page to return to (if it is allowed; else the site).
    pub redirect_to: Option<&'a str>,
    /// PKCE: the requesting client's challenge. The link then brings back an auth code that
    /// only that client's verifier exchanges for a session, instead of the session.
    pub pkce: Option<&'a PkceChallenge>,
}

impl<'a> Landing<'a> {
    /// Back to `redirect_to`, with a session.
    pub fn to(redirect_to: Option<&'a str>) -> Self {
        Landing { redirect_to, pkce: None }
    }
}

/// Where a mailed code's link leads.
#[derive(Debug, Clone, Copy)]
pub enum LinkTo<'a> {
    /// GoTrue's `GET /verify`, then on to the landing.
    Verify(Landing<'a>),
    /// The passwordless email confirmation page, which confirms only by POST.
    EmailConfirmPage,
    /// No link: the code is typed where it was asked for (a re-authentication nonce).
    None,
}

/// The `type` of a code's link (GoTrue's verification type): its purpose's name, except that
/// GoTrue names both codes of an email change `email_change`.
pub(super) fn link_type(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::EmailChangeCurrent => Purpose::EmailChange.as_str(),
        p => p.as_str(),
    }
}

/// How the token of a PKCE flow's link starts, as upstream's does.
pub const PKCE_LINK_PREFIX: &str = "pkce_";

/// A mail waiting for the answer to go out, with the claim to give back if it fails.
#[derive(Debug)]
pub struct Outgoing {
    /// What the mails' codes or links stand for, stored first. Also after the answer: the
    /// write costs time that a request about an unknown address would not.
    record: Option<Record>,
    /// Each mail with its claim: `None` for a notice that follows from a change already made
    /// (its cause was mailed under a claim).
    mails: Vec<(Mail, Option<Claim>)>,
}

impl Outgoing {
    /// Where its mails go.
    pub(super) fn recipients(&self) -> impl Iterator<Item = &str> {
        self.mails.iter().map(|(m, _)| m.to.as_str())
    }
}

/// The `Budgets` key of the mails to `address`.
fn mail_budget_key(address: &str) -> String {
    format!("mail:{address}")
}

/// What a code is and where it goes.
#[derive(Debug, Clone, Copy)]
struct CodeSpec<'a> {
    purpose: Purpose,
    to: &'a str,
    /// See [`OneTimeCode::keeps_attempt`] (only sign-up and `/otp` codes can).
    keeps_attempt: bool,
    /// The new address, named in the current address's half of an email change.
    moving_to: Option<&'a str>,
    /// When it expires; `None`: the purpose's lifetime from now. A re-send of an email change
    /// keeps the change's, so that re-sends cannot keep a change alive past its lifetime.
    expires_at: Option<Timestamp>,
}

/// Who asked for an email change's codes: a session (they are stored only while it lives), or
/// a re-send of a pending change, which anyone may ask for (they keep that change's expiry, so
/// re-sends cannot keep a change alive past its lifetime).
#[derive(Debug, Clone, Copy)]
pub(super) enum ChangeAsked<'a> {
    /// Through this session.
    BySession(&'a SessionId),
    /// A re-send of the pending change that expires then.
    Resent {
        /// The pending change's expiry.
        expires_at: Timestamp,
    },
}

/// A code just made: the record to store, and what only its recipient may see.
pub(super) struct IssuedCode {
    /// What is stored (hashes only).
    pub code: OneTimeCode,
    /// The 6 digits.
    pub digits: Secret<String>,
    /// The link's token (GoTrue's `token_hash`).
    pub link_token: LinkToken,
    /// The whole link.
    pub link: String,
}

/// A record that a mail's code or link needs, stored just before it is sent.
#[derive(Debug)]
pub(super) enum Record {
    /// A one-time code (it replaces the account's live one of its purpose).
    Code(Box<OneTimeCode>),
    /// An email change's code, or the two of a secure one, stored together and only while
    /// what the flow saw still holds (a session that asked still live; see [`StoreWhile`]).
    Change(Vec<OneTimeCode>, StoreWhile),
    /// A passwordless sign-in request (polling its id answers "not ready" until it exists).
    LoginRequest(LoginRequest),
}

/// A claimed send slot: what to give back if the mail cannot be delivered. The address is the
/// one the request named, which need not be the one the mail goes to (a pending email change).
#[derive(Debug)]
pub(super) struct Claim {
    address: String,
    purpose: Purpose,
    at: Timestamp,
    /// The `Budgets` key of the requesting client's mails to `address`, taken with the claim.
    client_key: String,
}

impl<P: Ports> Flows<P> {
    /// Claims the right to mail `address` for `purpose` now, or says how long to wait: one
    /// mail of a kind per `SMTP_MAX_FREQUENCY`, and per `SMTP_ADDRESS_WINDOW` at most
    /// `SMTP_MAX_PER_ADDRESS` mails of all kinds to the recipient, of which one client may
    /// cause `SMTP_MAX_PER_ADDRESS_CLIENT`: a stranger alone cannot use up the owner's
    /// recovery mail.
    pub(super) async fn claim_send(&self, address: &str, purpose: Purpose) -> Result<Claim, FlowError> {
        self.throttle_client().await?;
        self.claim_slot(address, purpose).await
    }

    /// [`Flows::claim_send`] without taking a unit of the client's budget: for a second mail of
    /// a request whose first claim took it, so that a request costs the client the same
    /// whichever mails it causes (a re-send that finds a pending email change mails its new
    /// address too; one that finds none does not, and must not look different).
    async fn claim_slot(&self, address: &str, purpose: Purpose) -> Result<Claim, FlowError> {
        let now = self.now();
        let interval = self.config.mail_min_interval_secs;
        if let Some(last) = self.send_limits().claim(address, purpose, now, interval).await? {
            let wait_ms = last.plus_secs(interval).0 - now.0;
            return Err(FlowError::OverEmailSendRateLimit { wait_secs: (wait_ms + 999) / 1000 });
        }
        let from_client = self.mail_client_key(address);
        let claim = Claim { address: address.to_string(), purpose, at: now, client_key: from_client.clone() };
        let window = self.config.mail_window_secs;
        let recipient = mail_budget_key(address);
        let uses = [
            (recipient.as_str(), self.config.mail_max_per_address),
            (from_client.as_str(), self.config.mail_max_per_address_client),
        ];
        if !self.budgets().take_all(&uses, now, window).await? {
            // Nothing goes out: the kind's slot is free again, and the budget unit was not
            // granted (no give-back). The window's end is not stored; say its length.
            let _ = self.send_limits().release(&claim.address, claim.purpose, claim.at).await;
            return Err(FlowError::OverEmailSendRateLimit { wait_secs: window });
        }
        Ok(claim)
    }

    /// Queues `mail` (and the code it carries) under a claim made by [`Flows::claim_send`], for
    /// after the answer.
    fn deliver(&self, record: Option<Record>, mail: Mail, claim: Option<Claim>) {
        self.scope.queue_mail(Outgoing { record, mails: vec![(mail, claim)] });
    }

    /// Queues a budget unit to give back after the answer.
    pub(super) fn give_back_later(&self, key: String) {
        self.scope.queue_give_back(key);
    }

    /// The `Budgets` key of the mails this request's client has caused to `address`.
    fn mail_client_key(&self, address: &str) -> String {
        format!("mail:{address}:{}", self.client())
    }

    /// [`Flows::claim_send`] for a mail whose absence the caller must not notice: `None`
    /// within the limit, instead of an error.
    pub(super) async fn try_claim_send(&self, address: &str, purpose: Purpose) -> Result<Option<Claim>, FlowError> {
        self.throttle_client().await?;
        self.try_claim_slot(address, purpose).await
    }

    /// [`Flows::try_claim_send`] without taking a unit of the client's budget (see
    /// [`Flows::claim_slot`]).
    pub(super) async fn try_claim_slot(&self, address: &str, purpose: Purpose) -> Result<Option<Claim>, FlowError> {
        match self.claim_slot(address, purpose).await {
            Ok(c) => Ok(Some(c)),
            Err(FlowError::OverEmailSendRateLimit { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Issues a new code and link for `purpose` (replacing any live one of the account's once
    /// stored), addressed to `to`, and mails them under the claim, all after the answer.
    pub(super) fn send_code(&self, user: &User, purpose: Purpose, to: &str, claim: Claim, link_to: LinkTo<'_>) {
        self.send_code_keeping(user, purpose, to, claim, link_to, false);
    }

    /// [`Flows::send_code`], for a sign-up or `/otp` code that may keep the account's password
    /// and metadata when it is the first proof of the address (see
    /// [`OneTimeCode::keeps_attempt`]).
    pub(super) fn send_code_keeping(
        &self,
        user: &User,
        purpose: Purpose,
        to: &str,
        claim: Claim,
        link_to: LinkTo<'_>,
        keeps_attempt: bool,
    ) {
        let spec = CodeSpec { purpose, to, keeps_attempt, moving_to: None, expires_at: None };
        let (code, mail) = self.code_and_mail(user, spec, link_to, self.now());
        self.deliver(Some(Record::Code(Box::new(code))), mail, Some(claim));
    }

    /// Issues an email change to `new_address`: its code to the new address and, with secure
    /// email change (`current` claimed), one to the account's current address, as a pair
    /// (one pair id, stored in one write before either mail goes) that replaces any earlier
    /// one.
    /// The codes are stored only while `user`'s address is as seen now and the session that
    /// asked, if one did, is live: a first proof of the mailbox between the answer and the
    /// store leaves nothing of the change.
    pub(super) fn send_email_change(
        &self,
        user: &User,
        asked: ChangeAsked<'_>,
        new_address: &str,
        new: Claim,
        current: Option<Claim>,
        link_to: LinkTo<'_>,
    ) {
        let now = self.now();
        let (cond, expires_at) = match asked {
            ChangeAsked::BySession(session) => (StoreWhile::seen(user, Some(session)), None),
            ChangeAsked::Resent { expires_at } => (StoreWhile::seen(user, None), Some(expires_at)),
        };
        let spec = CodeSpec { purpose: Purpose::EmailChange, to: new_address, keeps_attempt: false, moving_to: None, expires_at };
        let (mut code, mail) = self.code_and_mail(user, spec, link_to, now);
        match (current, user.email.as_deref()) {
            (Some(claim), Some(address)) => {
                let pair = random_uuid(self.ports.rng());
                code.pair_id = Some(pair.clone());
                let spec = CodeSpec {
                    purpose: Purpose::EmailChangeCurrent,
                    to: address,
                    keeps_attempt: false,
                    moving_to: Some(new_address),
                    expires_at,
                };
                let (mut other, other_mail) = self.code_and_mail(user, spec, link_to, now);
                other.pair_id = Some(pair);
                let record = Some(Record::Change(vec![code, other], cond));
                self.scope.queue_mail(Outgoing { record, mails: vec![(mail, Some(new)), (other_mail, Some(claim))] });
            }
            _ => self.deliver(Some(Record::Change(vec![code], cond)), mail, Some(new)),
        }
    }

    fn code_and_mail(&self, user: &User, spec: CodeSpec<'_>, link_to: LinkTo<'_>, now: Timestamp) -> (OneTimeCode, Mail) {
        let issued = self.new_code(user, spec, link_to, now);
        let minutes = (issued.code.expires_at.0 - now.0 + 59_999) / 60_000;
        let mail = mail::code_mail(&self.config, spec.purpose, spec.to, issued.digits.expose(), &issued.link, spec.moving_to, minutes);
        (issued.code, mail)
    }

    /// A code of `purpose` for `user`, addressed to `to`, that the service role hands out
    /// itself (GoTrue's `generate_link`): stored now, mailed never.
    pub(super) async fn hand_out_code(
        &self,
        user: &User,
        purpose: Purpose,
        to: &str,
        keeps_attempt: bool,
        landing: Landing<'_>,
    ) -> Result<IssuedCode, FlowError> {
        let spec = CodeSpec { purpose, to, keeps_attempt, moving_to: None, expires_at: None };
        let issued = self.new_code(user, spec, LinkTo::Verify(landing), self.now());
        self.codes().put(&issued.code).await?;
        Ok(issued)
    }

    fn new_code(&self, user: &User, spec: CodeSpec<'_>, link_to: LinkTo<'_>, now: Timestamp) -> IssuedCode {
        let CodeSpec { purpose, to, keeps_attempt, moving_to: _, expires_at } = spec;
        let rng = self.ports.rng();
        let id = random_id(rng);
        let digits = random_code_digits(rng);
        let pkce = match link_to {
            LinkTo::Verify(landing) => landing.pkce.cloned(),
            LinkTo::EmailConfirmPage | LinkTo::None => None,
        };
        // Upstream marks a PKCE link's token so; its errors then also go in the query.
        let link_token = match pkce {
            Some(_) => format!("{PKCE_LINK_PREFIX}{}", random_b64(rng, 32)),
            None => random_b64(rng, 32),
        };
        let code = OneTimeCode {
            code_hash: hash_code(self.code_key.expose(), &id, digits.expose()),
            id,
            user_id: user.id.clone(),
            purpose,
            link_hash: hash_secret(&link_token),
            sent_to: to.to_string(),
            created_at: now,
            expires_at: expires_at.unwrap_or_else(|| now.plus_secs(self.config.code_lifetime_secs(purpose))),
            attempts: 0,
            used_at: None,
            keeps_attempt: keeps_attempt && matches!(purpose, Purpose::Signup | Purpose::MagicLink | Purpose::Invite),
            pair_id: None,
            pkce,
        };
        let link = match link_to {
            LinkTo::Verify(landing) => self.verify_link(purpose, &link_token, landing.redirect_to),
            LinkTo::EmailConfirmPage => {
                format!("{}/auth/email/confirm?token={link_token}", self.config.api_external_url)
            }
            LinkTo::None => String::new(),
        };
        IssuedCode { code, digits, link_token: LinkToken::new(link_token), link }
    }

    /// Tells the old address that the account moved to `new_address`.
    pub(super) fn send_email_changed(&self, old_address: &str, new_address: &str) {
        self.deliver(None, mail::email_changed(&self.config, old_address, new_address), None);
    }

    /// Tells the owner of the claimed address that someone tried to register it again.
    pub(super) fn send_already_registered(&self, claim: Claim) {
        self.deliver(None, mail::already_registered(&self.config, &claim.address), Some(claim));
    }

    /// Mails an already rendered mail under a claim, storing `record` first.
    pub(super) fn send_mail(&self, record: Option<Record>, mail: Mail, claim: Claim) {
        self.deliver(record, mail, Some(claim));
    }

    /// The emailed link: GoTrue's `GET /verify`, which redirects afterwards to `redirect_to` if
    /// that is allowed, else to the site.
    fn verify_link(&self, purpose: Purpose, token: &str, redirect_to: Option<&str>) -> String {
        let target = self.allowed_redirect(redirect_to);
        let redirect: String = form_urlencoded::byte_serialize(target.as_bytes()).collect();
        format!(
            "{}/auth/v1/verify?token={token}&type={}&redirect_to={redirect}",
            self.config.api_external_url,
            link_type(purpose)
        )
    }

    /// `requested` if it is the site or on the allow-list and holds no whitespace or control
    /// character (which no `Location` header can carry); the site URL otherwise. Never an open
    /// redirect. An allow-list entry with glob syntax (`*`, `?`, `[`, `{`) is matched as
    /// upstream's globs against the URL as a browser reads it, without its fragment, and the
    /// target is then that reading (`config::globs::glob_allows`); another is the URL itself,
    /// or a prefix when it ends in `/`. As upstream, an http(s) URL on a loopback address
    /// (`127.0.0.1`, `[::1]`) is always allowed: it reaches only the user's own machine.
    /// Characters beyond ASCII are percent-encoded, as a browser would, so that the target fits
    /// in a `Location` header.
    pub fn allowed_redirect(&self, requested: Option<&str>) -> String {
        use crate::config::globs::{glob_allows, is_glob};
        let site = &self.config.site_url;
        let Some(r) = requested.filter(|r| !r.chars().any(|c| c.is_whitespace() || c.is_control())) else {
            return site.clone();
        };
        let allowed = |base: &String| match is_glob(base) {
            true => glob_allows(base, r),
            false => (r == base || (base.ends_with('/') && r.starts_with(base.as_str())) || r.starts_with(&format!("{base}/"))).then(|| r.to_string()),
        };
        let target = std::iter::once(site).chain(&self.config.uri_allow_list).find_map(allowed);
        match target.or_else(|| on_loopback(r).then(|| r.to_string())) {
            Some(t) => percent_encoding::utf8_percent_encode(&t, percent_encoding::CONTROLS).to_string(),
            None => site.clone(),
        }
    }
}

/// Whether `url` is http(s) to a loopback IP address (not a name: `localhost` may resolve
/// anywhere a resolver says).
fn on_loopback(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")) else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map(|(h, _)| h).unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl<P: Ports> Auth<P> {
    /// Does what a request left in its outbox: gives back its deferred budget units, stores
    /// what each mail carries and sends it. Call it after the answer has gone out. A failed
    /// delivery is logged under the request's id (the mail itself is not: it holds a code) and
    /// gives its send slot back.
    pub async fn deliver(&self, outbox: Outbox) {
        let Outbox { request_id, mails, give_backs } = outbox;
        // Best effort, in one round trip: a unit not given back only counts against its own
        // client and the account.
        let _ = self.budgets().give_back_all(&give_backs).await;
        for Outgoing { record, mails } in mails {
            let stored = match &record {
                Some(Record::Code(code)) => self.codes().put(code).await.map(|()| true),
                Some(Record::Change(codes, cond)) => self.codes().put_while(codes, cond).await,
                Some(Record::LoginRequest(request)) => self.login_requests().put(request).await.map(|()| true),
                None => Ok(true),
            };
            for (mail, claim) in mails {
                let sent = match &stored {
                    Ok(true) => self.ports.mailer().send(&mail).await.map_err(|e| e.to_string()),
                    // A first proof of the mailbox came in between: the change it asked for
                    // is over, and so is its mail.
                    Ok(false) => Err("its account's address changed or the session that asked ended since".into()),
                    Err(e) => Err(format!("storing what it carries: {e}")),
                };
                if let Err(e) = sent {
                    let what = claim.as_ref().map_or("notice", |c| c.purpose.as_str());
                    if let Some(claim) = claim {
                        self.give_back(claim).await;
                    }
                    self.log_error(&request_id, &format_args!("{what} mail not delivered: {e}"));
                }
            }
        }
    }

    /// Gives back a claim whose mail will not go out: its kind's slot and its unit of the
    /// recipient's budget.
    pub(super) async fn give_back(&self, claim: Claim) {
        // Best effort: if this fails, the address waits out the interval.
        let _ = self.send_limits().release(&claim.address, claim.purpose, claim.at).await;
        let _ = self.budgets().give_back(&mail_budget_key(&claim.address)).await;
        let _ = self.budgets().give_back(&claim.client_key).await;
    }
}
