//! The passwordless flows: username registration, emailed sign-in requests answered on a page
//! and collected by polling, an address attached only once confirmed, and the account's
//! sessions, which it can list and end.
//!
//! A sign-in request answers the same (a fresh `auth_id` and an expiry) whether or not the
//! username and address belong together, and mails only when they do. The mailed link carries
//! its own token, never the `auth_id`, so the requester cannot answer for the mailbox; the page
//! the link opens carries a second, single-use token that the confirming POST must return, so
//! a mail scanner that only fetches the link decides nothing. Confirmation happens once, and the
//! poller collects the session once.

use super::mailing::{LinkTo, Record};
use super::{ChangeError, Flows, InternalError, SecondStepDue, SignInRequestError};
use crate::mail;
use crate::model::{AuthMethod, LoginRequest, LoginRequestId, LoginState, LogoutScope, Purpose, Session, SessionId, User};
use crate::ports::{Codes as _, LoginRequests as _, Ports, Sessions as _, StoreError, Users as _};
use crate::secret::{LinkToken, Secret};
use crate::token::{hash_secret, random_b64, random_id};

/// Shortest and longest usernames.
pub const USERNAME_CHARS: (usize, usize) = (3, 32);
/// Longest platform name.
pub const MAX_SESSION_PLATFORM_CHARS: usize = 64;

/// A username is 3-32 characters of `A-Z a-z 0-9 _ . -`.
pub fn is_valid_username(name: &str) -> bool {
    (USERNAME_CHARS.0..=USERNAME_CHARS.1).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// A platform name is 1-64 printable characters (no control characters, not only spaces).
pub fn is_valid_platform(platform: &str) -> bool {
    let n = platform.chars().count();
    (1..=MAX_SESSION_PLATFORM_CHARS).contains(&n)
        && !platform.chars().any(char::is_control)
        && !platform.trim().is_empty()
}

/// What a sign-in request hands back to its requester.
#[derive(Debug, Clone)]
pub struct LoginTicket {
    /// The id to poll with.
    pub auth_id: LoginRequestId,
    /// When the request dies.
    pub expires_at: crate::model::Timestamp,
}

/// Which account an address-confirmation link is for, as its page shows it before anyone
/// confirms: the one who opened the mail decides knowing who claims the address.
#[derive(Debug, Clone)]
pub struct EmailClaim {
    /// The account's username.
    pub username: String,
    /// The address the link was mailed to.
    pub address: String,
    /// Whether this is the address the account moves to (else the one it moves away from).
    pub new_address: bool,
    /// Whether it is the account's first proven address (then confirming it ends the
    /// account's sessions: `Users::first_proof`).
    pub first: bool,
}

/// What the link's page shows and sends back.
#[derive(Debug, Clone)]
pub struct LoginPage {
    /// The requesting client's name.
    pub platform: String,
    /// The account asked for.
    pub username: String,
    /// The single-use token the confirming POST must return.
    pub page_token: Secret<String>,
}

impl<P: Ports> Flows<P> {
    fn check_registration(&self, username: &str, platform: &str) -> Result<(), SignInRequestError> {
        if !is_valid_username(username) {
            return Err(SignInRequestError::InvalidUsername);
        }
        if !is_valid_platform(platform) {
            return Err(SignInRequestError::InvalidPlatform);
        }
        Ok(())
    }

    /// Registers `username` and signs in on `platform`; returns the session token. An address,
    /// if given, is mailed a confirmation link and attached once it is confirmed; a problem
    /// with that mail does not undo the registration (it is logged; the address can be added
    /// again with [`Flows::request_email`]).
    pub async fn register(
        &self,
        username: &str,
        email: Option<&str>,
        platform: &str,
    ) -> Result<Secret<String>, SignInRequestError> {
        self.check_registration(username, platform)?;
        let email = email.map(|e| self.checked_address(e)).transpose()?;
        let now = self.now();
        let user = User {
            username: Some(username.to_string()),
            ..User::new(random_id(self.ports.rng()), None, serde_json::json!({}), now)
        };
        match self.users().insert(&user).await {
            Ok(()) => {}
            Err(StoreError::Conflict("username")) => return Err(SignInRequestError::UsernameTaken),
            Err(e) => return Err(e.into()),
        }
        let (token, session) = self.start_token_session(&user, AuthMethod::Registration, platform).await?;
        if let Some(address) = email {
            if let Err(e) = self.request_email(&user, &session, &address).await {
                self.report(&format_args!("registration of {username}: email not sent: {e}"));
            }
        }
        Ok(token)
    }

    /// Mails `address` a link that attaches it to the account once confirmed (or, if another
    /// account has it, a notice to its owner, so the caller learns nothing). Replacing an
    /// address is an email change like GoTrue's (`email_change`): the current address confirms
    /// it too, or, with that switched off, `session` must be recent (a fresh sign-in).
    pub async fn request_email(&self, user: &User, session: &Session, address: &str) -> Result<(), ChangeError> {
        let address = self.checked_address(address)?;
        if user.has_email(&address) {
            return Ok(());
        }
        if user.email.is_some() && !self.asks_current_address(user) {
            self.reauthenticate(user, session, None).await?;
        }
        self.request_email_change(user, &session.id, &address, LinkTo::EmailConfirmPage).await?;
        Ok(())
    }

    /// Starts an emailed sign-in for `username` on `platform`, mailing `email` if it is the
    /// account's confirmed address.
    pub async fn request_login(&self, username: &str, email: &str, platform: &str) -> Result<LoginTicket, SignInRequestError> {
        self.check_registration(username, platform)?;
        let email = self.checked_address(email)?;
        let claim = self.claim_send(&email, Purpose::Login).await?;
        let now = self.now();
        let ticket = LoginTicket {
            auth_id: random_id(self.ports.rng()),
            expires_at: now.plus_secs(self.config.login_request_exp_secs),
        };
        let user = self.users().by_username(username).await?;
        let Some(user) = user.filter(|u| u.has_email(&email) && u.is_confirmed()) else {
            return Ok(ticket);
        };
        let link_token = random_b64(self.ports.rng(), 32);
        let request = LoginRequest {
            id: ticket.auth_id.clone(),
            user_id: user.id.clone(),
            platform: platform.to_string(),
            link_hash: hash_secret(&link_token),
            page_hash: None,
            state: LoginState::Pending,
            created_at: now,
            expires_at: ticket.expires_at,
        };
        let link = format!("{}/auth/confirm?token={link_token}", self.config.api_external_url);
        let name = user.username.as_deref().unwrap_or(username);
        let mail = mail::login_request(&self.config, &email, name, platform, &link);
        // Stored with the mail, after the answer; until then a poll finds "not ready", as it
        // does for a request that mailed no one.
        self.send_mail(Some(Record::LoginRequest(request)), mail, claim);
        Ok(ticket)
    }

    /// Opens the link's page: a fresh single-use page token for a pending request.
    pub async fn open_login_link(&self, link_token: &LinkToken) -> Result<LoginPage, SignInRequestError> {
        let requests = self.login_requests();
        let request = requests.by_link_hash(&hash_secret(link_token.expose())).await?.ok_or(SignInRequestError::LinkInvalid)?;
        let page_token = random_b64(self.ports.rng(), 32);
        if !requests.show_page(&request.id, &hash_secret(&page_token), self.now()).await? {
            return Err(SignInRequestError::LinkInvalid);
        }
        let user = self.users().by_id(&request.user_id).await?.ok_or(SignInRequestError::LinkInvalid)?;
        Ok(LoginPage {
            platform: request.platform,
            username: user.username.unwrap_or_default(),
            page_token: Secret::new(page_token),
        })
    }

    /// The person's answer on the page: confirms (or denies) the request once. Returns the
    /// platform it was for.
    pub async fn answer_login_link(&self, link_token: &LinkToken, page_token: &str, allow: bool) -> Result<String, SignInRequestError> {
        let requests = self.login_requests();
        let request = requests.by_link_hash(&hash_secret(link_token.expose())).await?.ok_or(SignInRequestError::LinkInvalid)?;
        let to = if allow { LoginState::Confirmed } else { LoginState::Denied };
        if !requests.decide(&request.id, &hash_secret(page_token), to, self.now()).await? {
            return Err(SignInRequestError::LinkInvalid);
        }
        Ok(request.platform)
    }

    /// The requester's poll: the session token, once, after the request was confirmed; for an
    /// account with a second factor, the second step it owes (whose ticket is that token).
    pub async fn collect_login(&self, auth_id: &LoginRequestId) -> Result<Result<Secret<String>, SecondStepDue>, SignInRequestError> {
        let requests = self.login_requests();
        let request = requests.by_id(auth_id).await?.ok_or(SignInRequestError::LoginNotReady)?;
        if !requests.claim(&request.id, self.now()).await? {
            return Err(SignInRequestError::LoginNotReady);
        }
        let user = self.users().by_id(&request.user_id).await?.ok_or(SignInRequestError::LoginNotReady)?;
        let (token, session) = self.start_token_session(&user, AuthMethod::EmailLink, &request.platform).await?;
        self.token_or_second_step(&user, &session, token).await.map_err(|e| SignInRequestError::Internal(e.to_string()))
    }

    /// The account an unused, unexpired address-confirmation link is for, and what it does
    /// (`None` for any other link); changes nothing.
    pub async fn email_link_claim(&self, link_token: &LinkToken) -> Result<Option<EmailClaim>, InternalError> {
        let code = self.codes().by_link_hash(&hash_secret(link_token.expose())).await?;
        let now = self.now();
        let Some(code) = code.filter(|c| c.used_at.is_none() && c.expires_at > now) else { return Ok(None) };
        let new_address = match code.purpose {
            Purpose::EmailChange => true,
            Purpose::EmailChangeCurrent => false,
            _ => return Ok(None),
        };
        let user = self.users().by_id(&code.user_id).await?;
        Ok(user.map(|u| EmailClaim {
            first: !u.is_confirmed(),
            username: u.username.unwrap_or_default(),
            address: code.sent_to,
            new_address,
        }))
    }

    /// The account's live sessions (not ended, within their lifetime), from every dialect,
    /// most recently active first.
    pub async fn sessions_of(&self, user: &User) -> Result<Vec<Session>, InternalError> {
        let now = self.now();
        let mut sessions = self.sessions().list(&user.id).await?;
        sessions.retain(|s| self.is_live(s, now));
        sessions.sort_by_key(|s| std::cmp::Reverse(s.last_active()));
        Ok(sessions)
    }

    /// Ends one of the account's own sessions; `false` for another account's, or an unknown
    /// or ended one.
    pub async fn end_session(&self, user: &User, session_id: &SessionId) -> Result<bool, InternalError> {
        Ok(self.sessions().revoke(&user.id, session_id, LogoutScope::Local, self.now()).await? > 0)
    }
}
