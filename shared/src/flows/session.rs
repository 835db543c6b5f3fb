//! Starting sessions and resolving the session behind a presented token.
//!
//! A session row is what access tokens point at (`session_id`) and what logout ends; checking
//! it on every authenticated request is what makes logout hold at once.

use super::{Auth, FlowError};
use crate::model::{AuthMethod, RefreshToken, Session, SessionToken, Timestamp, User};
use crate::ports::{Ports, Sessions as _, Users as _};
use crate::secret::Secret;
use crate::token::{digests_match, hash_secret, random_uuid, OpaqueToken};

/// Longest platform label kept (User-Agent strings can be long).
const MAX_PLATFORM_CHARS: usize = 200;

/// Least seconds between two writes of a session's last-active time: reads stay reads.
pub const ACTIVITY_WRITE_INTERVAL_SECS: i64 = 60;

/// A fresh sign-in: the account, its new session and that session's first refresh token.
#[derive(Debug)]
pub struct SignedIn {
    /// The account, with `last_sign_in_at` set to now.
    pub user: User,
    /// The new session.
    pub session: Session,
    /// The refresh token to hand to the client (only its hash is stored).
    pub refresh_token: Secret<String>,
}

impl<P: Ports> Auth<P> {
    /// Starts a session for `user`, stores it with its first refresh token and records the
    /// sign-in on the account.
    pub async fn start_session(
        &self,
        mut user: User,
        method: AuthMethod,
        platform: &str,
    ) -> Result<SignedIn, FlowError> {
        let now = self.now();
        let rng = self.ports.rng();
        let session = self.new_session(&user, method, platform, now);
        let token = OpaqueToken::generate(rng);
        let stored = RefreshToken {
            id: token.id,
            session_id: session.id.clone(),
            secret_hash: token.secret_hash,
            parent_id: None,
            created_at: now,
            used_at: None,
        };
        self.ports.sessions().start(&session, &stored).await?;
        user.last_sign_in_at = Some(now);
        Ok(SignedIn {
            user,
            session,
            refresh_token: token.token,
        })
    }

    fn new_session(&self, user: &User, method: AuthMethod, platform: &str, now: Timestamp) -> Session {
        Session {
            id: random_uuid(self.ports.rng()),
            user_id: user.id.clone(),
            platform: platform.chars().take(MAX_PLATFORM_CHARS).collect(),
            method,
            created_at: now,
            refreshed_at: now,
            last_active_at: now,
            revoked_at: None,
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
        let session = self.new_session(user, method, platform, now);
        let token = OpaqueToken::generate(self.ports.rng());
        let stored = SessionToken {
            id: token.id,
            session_id: session.id.clone(),
            secret_hash: token.secret_hash,
            created_at: now,
        };
        self.ports.sessions().start_with_token(&session, &stored).await?;
        Ok((token.token, session))
    }

    /// The live session a passwordless session token authenticates, and its account.
    pub async fn token_session(&self, presented: &str) -> Result<(Session, User), FlowError> {
        let (id, secret) = OpaqueToken::parse(presented).ok_or(FlowError::SessionNotFound)?;
        let token = self
            .ports
            .sessions()
            .session_token(id)
            .await?
            .filter(|t| digests_match(&hash_secret(secret), &t.secret_hash))
            .ok_or(FlowError::SessionNotFound)?;
        let session = self
            .ports
            .sessions()
            .get(&token.session_id)
            .await?
            .filter(Session::is_active)
            .ok_or(FlowError::SessionNotFound)?;
        self.with_user(session).await
    }

    /// The live session `session_id` of account `user_id`, and the account. Records the use
    /// as the session's last activity when the last record is a minute old or more.
    pub async fn session_user(
        &self,
        session_id: &str,
        user_id: &str,
    ) -> Result<(Session, User), FlowError> {
        let session = self
            .ports
            .sessions()
            .get(session_id)
            .await?
            .filter(|s| s.is_active() && s.user_id == user_id)
            .ok_or(FlowError::SessionNotFound)?;
        self.with_user(session).await
    }

    /// The account of a live session, recording the use as described at [`Auth::session_user`].
    async fn with_user(&self, mut session: Session) -> Result<(Session, User), FlowError> {
        let sessions = self.ports.sessions();
        let user = self
            .ports
            .users()
            .by_id(&session.user_id)
            .await?
            .ok_or(FlowError::UserNotFound)?;
        let now = self.now();
        let since = now.plus_secs(-ACTIVITY_WRITE_INTERVAL_SECS);
        if session.last_active_at < since {
            sessions.touch(&session.id, now, since).await?;
            session.last_active_at = now;
        }
        Ok((session, user))
    }
}
