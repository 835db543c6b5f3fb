//! Starting sessions and resolving the session behind a presented token.
//!
//! A session row is what access tokens point at (`session_id`) and what logout ends; checking
//! it on every authenticated request is what makes logout hold at once.

use super::{Auth, FlowError};
use crate::model::{AuthMethod, RefreshToken, Session, User};
use crate::ports::{Ports, Sessions as _, Users as _};
use crate::secret::Secret;
use crate::token::{random_uuid, OpaqueToken};

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
        let session = Session {
            id: random_uuid(rng),
            user_id: user.id.clone(),
            platform: platform.chars().take(MAX_PLATFORM_CHARS).collect(),
            method,
            created_at: now,
            refreshed_at: now,
            revoked_at: None,
        };
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

    /// The live session `session_id` of account `user_id`, and the account.
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
        let user = self
            .ports
            .users()
            .by_id(user_id)
            .await?
            .ok_or(FlowError::UserNotFound)?;
        Ok((session, user))
    }
}
