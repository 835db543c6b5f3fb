//! Starting sessions: with a refresh token (GoTrue, Feathers, graphql-jwt) or with an opaque
//! session token (passwordless).
//!
//! A session row is what access tokens point at and what logout ends; the bearer road
//! (`bearer`) checks it on every authenticated request, which is what makes logout hold at once.

use super::{Flows, FlowError};
use crate::model::{AuthMethod, Dialect, RefreshToken, Session, SessionToken, Timestamp, User};
use crate::ports::{Ports, Sessions as _};
use crate::secret::{RefreshSecret, Secret};
use crate::token::{random_id, OpaqueToken};

/// Longest platform label kept (User-Agent strings can be long).
const MAX_PLATFORM_CHARS: usize = 200;

/// A fresh sign-in: the account, its new session and that session's first refresh token.
#[derive(Debug)]
pub struct SignedIn {
    /// The account, with `last_sign_in_at` set to now.
    pub user: User,
    /// The new session.
    pub session: Session,
    /// The refresh token to hand to the client (only its hash is stored).
    pub refresh_token: RefreshSecret,
}

impl<P: Ports> Flows<P> {
    /// Starts a session for `user`, stores it with its first refresh token and records the
    /// sign-in on the account. Every sign-in of every dialect comes through here or
    /// [`Flows::start_token_session`], which refuse a banned or soft-deleted account.
    pub async fn start_session(
        &self,
        user: User,
        method: AuthMethod,
        platform: &str,
        dialect: Dialect,
    ) -> Result<SignedIn, FlowError> {
        self.start_session_as(user, method, platform, dialect, None).await
    }

    /// [`Flows::start_session`] for a password sign-in: stores the session only while the
    /// account's password hash is still `while_password`, else
    /// [`FlowError::InvalidCredentials`] (the password was discarded or replaced meanwhile).
    pub(super) async fn start_session_as(
        &self,
        mut user: User,
        method: AuthMethod,
        platform: &str,
        dialect: Dialect,
        while_password: Option<&str>,
    ) -> Result<SignedIn, FlowError> {
        let now = self.now();
        super::may_sign_in(&user, now)?;
        let rng = self.ports.rng();
        let session = self.new_session(&user, method, platform, dialect, now);
        let token = OpaqueToken::generate(rng);
        let stored = RefreshToken {
            id: token.id,
            session_id: session.id.clone(),
            secret_hash: token.secret_hash,
            parent_id: None,
            created_at: now,
            used_at: None,
        };
        // Outside GoTrue, whether this sign-in gets tokens or a second step was decided on the
        // account as read; the session starts only while that still holds.
        let while_mfa = (dialect != Dialect::Gotrue).then(|| user.mfa_enabled());
        if !self.sessions().start(&session, &stored, while_password, while_mfa).await? {
            return Err(FlowError::InvalidCredentials);
        }
        user.last_sign_in_at = Some(now);
        Ok(SignedIn {
            user,
            session,
            refresh_token: token.token.into(),
        })
    }

    fn new_session(&self, user: &User, method: AuthMethod, platform: &str, dialect: Dialect, now: Timestamp) -> Session {
        Session {
            id: random_id(self.ports.rng()),
            user_id: user.id.clone(),
            platform: platform.chars().take(MAX_PLATFORM_CHARS).collect(),
            method,
            dialect: Some(dialect),
            created_at: now,
            refreshed_at: now,
            last_active_at: now,
            revoked_at: None,
            second: None,
        }
    }

    /// Starts a session authenticated by an opaque session token (passwordless); returns the
    /// token, shown once, and the session.
    pub async fn start_token_session(
        &self,
        user: &User,
        method: AuthMethod,
        platform: &str,
    ) -> Result<(Secret<String>, Session), FlowError> {
        let now = self.now();
        super::may_sign_in(user, now)?;
        // For an account with a second factor this session is below aal2, where its token is
        // not honoured until `complete_second_step` raises it.
        let session = self.new_session(user, method, platform, Dialect::Passwordless, now);
        let token = OpaqueToken::generate(self.ports.rng());
        let stored = SessionToken {
            id: token.id,
            session_id: session.id.clone(),
            secret_hash: token.secret_hash,
            created_at: now,
        };
        if !self.sessions().start_with_token(&session, &stored).await? {
            return Err(FlowError::UserNotFound);
        }
        Ok((token.token, session))
    }
}
