//! Refresh-token rotation.
//!
//! Every refresh exchanges the presented token for its successor. The successor is *derived*
//! from the presented secret with a server key (HMAC), not drawn at random: every request that
//! presents the same token within the reuse window gets the same successor, so tabs refreshing
//! at once all stay signed in, and a burst of concurrent refreshes stores exactly one successor
//! (the store inserts it once). Only hashes are stored; the derivation needs the secret, which
//! only the holder has. A token used again after the window means it leaked (or a client kept
//! an old one): the whole session ends, and with it every token of its family.
//!
//! Two store round trips: the token with its session and account in one read, then the
//! rotation in one atomic batch. The session rules are the bearer road's (`bearer`).

use super::{Flows, FlowError, RefreshError, SignedIn};
use crate::model::{Dialect, RefreshToken, Session, Timestamp, User};
use crate::ports::{Ports, Sessions as _};
use crate::secret::RefreshSecret;
use crate::token::{derive_token, digests_match, hash_secret, OpaqueToken};

impl<P: Ports> Flows<P> {
    /// Exchanges a GoTrue refresh token for a new one and the session's current user.
    pub async fn refresh(&self, presented: &RefreshSecret) -> Result<SignedIn, RefreshError> {
        Ok(self.refresh_within(presented, Dialect::Gotrue, None).await?)
    }

    /// [`Flows::refresh`], refusing with [`FlowError::SessionExpired`] a token older than
    /// `max_age_secs` (each refresh token is as old as its session's latest refresh).
    pub(super) async fn refresh_within(
        &self,
        presented: &RefreshSecret,
        dialect: Dialect,
        max_age_secs: Option<i64>,
    ) -> Result<SignedIn, FlowError> {
        let (id, secret) = OpaqueToken::parse(presented.expose()).ok_or(FlowError::RefreshTokenNotFound)?;
        let (token, session, user) = self.live_refresh_token(id, secret, dialect).await?;
        let sessions = self.sessions();
        let now = self.now();
        super::may_sign_in(&user, now)?;
        if !super::assurance_suffices(&user, Some(&session), session.dialect) {
            return Err(FlowError::RefreshTokenNotFound);
        }
        self.check_session_lifetime(&session, now)?;
        if max_age_secs.is_some_and(|age| now >= token.created_at.plus_secs(age)) {
            return Err(FlowError::SessionExpired);
        }
        let grace = self.config.refresh_reuse_interval_secs;
        let reused_late = |used: Timestamp| now > used.plus_secs(grace);
        if token.used_at.is_some_and(reused_late) {
            return Err(self.end_family(&session, now).await);
        }
        let successor = derive_token(self.refresh_key.expose(), id, secret);
        let stored = RefreshToken {
            id: successor.id.clone(),
            session_id: session.id.clone(),
            secret_hash: successor.secret_hash.clone(),
            parent_id: Some(token.id.clone()),
            created_at: now,
            used_at: None,
        };
        let used_at = sessions.rotate(&token.id, &stored, now).await?;
        if reused_late(used_at) {
            return Err(self.end_family(&session, now).await);
        }
        Ok(SignedIn {
            user,
            session: Session { refreshed_at: now, ..session },
            refresh_token: successor.token.into(),
        })
    }

    /// The stored refresh token `id` if `secret` is its secret, its live session of `dialect`
    /// (another dialect's refresh token is unknown here, so no dialect's refresh rules can be
    /// stepped around through another's) and the account, in one read.
    pub(super) async fn live_refresh_token(&self, id: &str, secret: &str, dialect: Dialect) -> Result<(RefreshToken, Session, User), FlowError> {
        self.sessions()
            .refresh_token(id)
            .await?
            .filter(|(t, s, _)| {
                s.is_active() && s.belongs_to(dialect) && digests_match(&hash_secret(secret), &t.secret_hash)
            })
            .ok_or(FlowError::RefreshTokenNotFound)
    }

    /// Ends a session whose refresh token was replayed; the answer is always "already used".
    async fn end_family(&self, session: &Session, now: Timestamp) -> FlowError {
        let ended = self.sessions()
            .revoke(&session.user_id, &session.id, crate::model::LogoutScope::Local, now)
            .await;
        match ended {
            Ok(_) => FlowError::RefreshTokenAlreadyUsed,
            Err(e) => e.into(),
        }
    }

    /// Ends the session of a refresh token (graphql-jwt's `revokeToken`); returns when.
    pub async fn revoke_refresh_token(&self, presented: &RefreshSecret) -> Result<Timestamp, RefreshError> {
        let (id, secret) = OpaqueToken::parse(presented.expose()).ok_or(FlowError::RefreshTokenNotFound)?;
        let (_, session, _) = self.live_refresh_token(id, secret, Dialect::Graphql).await?;
        let now = self.now();
        self.sessions().revoke(&session.user_id, &session.id, crate::model::LogoutScope::Local, now).await?;
        Ok(now)
    }
}
