//! The one road from a presented bearer credential to its live session, for every dialect and
//! `/api/check`.
//!
//! A credential is either an opaque passwordless session token (`id.secret`) or an access JWT
//! of one of the dialects. Which dialect a JWT belongs to is read from the token itself: each
//! dialect names its session in a claim of its own (GoTrue `session_id`, Feathers `jti`,
//! graphql-jwt `sid` with `origIat`); the claims are read unverified only to pick that
//! dialect's key, and the signature is checked once, with it, whatever the token.
//! The session and its account then come from the store in one read, and the session rules
//! (ended, past its timebox, idle too long) are applied here and only here, the same for every
//! dialect. A use is recorded as the session's last activity at most once a minute.

use super::access::{Claims, FEATHERS_TYP, GOTRUE_AUDIENCE};
use super::{Flows, FlowError};
use crate::model::{Dialect, Session, SessionId, Timestamp, User};
use crate::ports::{Ports, Sessions as _};
use crate::token::{digests_match, hash_secret, read_unverified, OpaqueToken, TokenError};

/// Least seconds between two writes of a session's last-active time, so that reads stay reads;
/// shorter when the inactivity timeout is short.
pub const ACTIVITY_WRITE_INTERVAL_SECS: i64 = 60;

/// Who a credential is: its dialect, live session and account, and what the token said.
#[derive(Debug, Clone)]
pub struct Bearer {
    /// Which dialect issued it.
    pub dialect: Dialect,
    /// Its live session (with the activity just recorded).
    pub session: Session,
    /// The session's account.
    pub user: User,
    /// The token's claims (empty for a session token, which carries none).
    pub claims: Claims,
    /// `iat`, when the token has one.
    pub issued_at: Option<Timestamp>,
    /// `exp`; `None` for a session token, which lives as long as its session.
    pub expires_at: Option<Timestamp>,
}

impl Claims {
    /// The dialect whose claims these are, or `None` when they match no dialect's shape
    /// exactly (each sets its own session claim and none of the others').
    fn dialect(&self) -> Option<Dialect> {
        match (&self.session_id, &self.jti, &self.sid) {
            (Some(_), None, None) => Some(Dialect::Gotrue),
            (None, Some(_), None) => Some(Dialect::Feathers),
            (None, None, Some(_)) if self.orig_iat.is_some() && self.username.is_some() => Some(Dialect::Graphql),
            _ => None,
        }
    }

    /// The session the token names, if it names one.
    fn session(&self) -> Option<&SessionId> {
        self.session_id.as_ref().or(self.jti.as_ref()).or(self.sid.as_ref())
    }
}

/// Why a presented credential signs nobody in: all that can come out of the bearer road, so a
/// dialect maps these few cases and no others.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BearerError {
    /// Not a valid, unexpired token of ours for an accepted dialect.
    #[error("bad token: {0}")]
    BadToken(TokenError),
    /// The token's session was ended or never existed.
    #[error("session not found")]
    SessionNotFound,
    /// The account behind the session no longer exists (or was soft-deleted).
    #[error("user not found")]
    UserNotFound,
    /// The session is past its lifetime or inactivity timeout.
    #[error("session expired")]
    SessionExpired,
    /// The service role banned the account.
    #[error("user banned")]
    UserBanned,
    /// Something broke; the text is for the log only.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<crate::ports::StoreError> for BearerError {
    fn from(e: crate::ports::StoreError) -> Self {
        BearerError::Internal(e.to_string())
    }
}

impl<P: Ports> Flows<P> {
    /// Resolves a presented credential to its live session and account, if it is one that a
    /// dialect in `accept` issued and this deployment serves. A JWT of another dialect is
    /// [`TokenError::Claims`]; an
    /// opaque token where none is accepted, [`TokenError::Malformed`]. Ended or unknown
    /// sessions are [`BearerError::SessionNotFound`], sessions past their lifetime or idle too
    /// long [`BearerError::SessionExpired`].
    pub async fn authenticate(&self, presented: &str, accept: &[Dialect]) -> Result<Bearer, BearerError> {
        let bad = |e: TokenError| BearerError::BadToken(e);
        let now = self.now();
        let accepted = |d: &Dialect| accept.contains(d) && self.config.serves(*d);
        if let Some((id, secret)) = OpaqueToken::parse(presented) {
            if !accepted(&Dialect::Passwordless) {
                return Err(bad(TokenError::Malformed));
            }
            let (token, session, user) = self
                .sessions()
                .session_token(id)
                .await?
                .filter(|(t, _, _)| digests_match(&hash_secret(secret), &t.secret_hash))
                .ok_or(BearerError::SessionNotFound)?;
            let session = self.live_session(session, &user, now).await?;
            return Ok(Bearer {
                dialect: Dialect::Passwordless,
                session,
                user,
                claims: Claims::default(),
                issued_at: Some(token.created_at),
                expires_at: None,
            });
        }
        // The unverified claims only choose the key; nothing is believed before it verified.
        let unverified: Claims = read_unverified(presented).map_err(bad)?;
        let dialect = unverified.dialect().filter(accepted).ok_or(bad(TokenError::Claims))?;
        let keys = self.keys.of(dialect).ok_or(bad(TokenError::Claims))?;
        let verified = keys.verify::<Claims>(self.signatures(), presented, now, |why| drop(self.report(&why))).await.map_err(bad)?;
        let claims = verified.claims;
        self.check_claims(dialect, &claims, verified.token_type.as_deref()).map_err(bad)?;
        let named = claims.session().ok_or(BearerError::SessionNotFound)?;
        let (session, user) = self
            .sessions()
            .with_user(named)
            .await?
            .filter(|(s, _)| s.user_id == claims.sub)
            .ok_or(BearerError::SessionNotFound)?;
        let session = self.live_session(session, &user, now).await?;
        Ok(Bearer { dialect, session, user, claims, issued_at: verified.issued_at, expires_at: Some(verified.expires_at) })
    }

    /// What each dialect checks besides the signature: the verified claims still name that
    /// dialect; Feathers' `typ`, audience and issuer (upstream's `jwtOptions`); GoTrue's
    /// audience.
    fn check_claims(&self, dialect: Dialect, claims: &Claims, typ: Option<&str>) -> Result<(), TokenError> {
        if claims.dialect() != Some(dialect) {
            return Err(TokenError::Claims);
        }
        let c = &self.config;
        match dialect {
            Dialect::Feathers => {
                if typ != Some(FEATHERS_TYP) {
                    return Err(TokenError::Claims);
                }
                if claims.aud.as_deref() != Some(c.feathers_jwt_audience.as_str()) {
                    return Err(TokenError::Audience { expected: c.feathers_jwt_audience.clone() });
                }
                if claims.iss.as_deref() != Some(c.feathers_jwt_issuer.as_str()) {
                    return Err(TokenError::Issuer { expected: c.feathers_jwt_issuer.clone() });
                }
            }
            Dialect::Gotrue if claims.aud.as_deref() != Some(GOTRUE_AUDIENCE) => {
                return Err(TokenError::Audience { expected: GOTRUE_AUDIENCE.into() });
            }
            Dialect::Gotrue | Dialect::Graphql | Dialect::Passwordless => {}
        }
        Ok(())
    }

    /// `session` if it still authorizes requests at `now`, with this use recorded. (Which
    /// dialect started it needs no check here: each dialect mints access tokens only for its
    /// own sessions, and only the token names the session. Refresh tokens are checked, in
    /// `refresh`.)
    async fn live_session(&self, mut session: Session, user: &User, now: Timestamp) -> Result<Session, BearerError> {
        if !session.is_active() || session.user_id != user.id {
            return Err(BearerError::SessionNotFound);
        }
        // A ban or a deletion ends the account's sessions; this holds the line should one
        // outlive it.
        super::may_sign_in(user, now)?;
        // A session below `aal2` outside GoTrue stops once its account has a second factor.
        if !super::assurance_suffices(user, Some(&session), session.dialect) {
            return Err(BearerError::SessionNotFound);
        }
        if self.check_session_lifetime(&session, now).is_err() {
            return Err(BearerError::SessionExpired);
        }
        let since = Timestamp(now.0.saturating_sub(self.activity_interval_ms()));
        if session.last_active_at < since {
            self.sessions().touch(&session.id, now, since).await?;
            session.last_active_at = now;
        }
        Ok(session)
    }

    /// How stale a session's recorded activity may get before a use rewrites it, in
    /// milliseconds: a minute, or a tenth of the inactivity timeout when that is shorter, so a
    /// session in steady use is never taken for an idle one (the record lags the truth by at
    /// most this much). Milliseconds, so even a one-second timeout works.
    fn activity_interval_ms(&self) -> i64 {
        let most = ACTIVITY_WRITE_INTERVAL_SECS * 1000;
        match self.config.session_inactivity_timeout_secs {
            0 => most,
            timeout => timeout.saturating_mul(100).min(most),
        }
    }

    /// Whether `session` still authorizes requests at `now`: not ended and within its lifetime.
    pub(super) fn is_live(&self, session: &Session, now: Timestamp) -> bool {
        session.is_active() && self.check_session_lifetime(session, now).is_ok()
    }

    /// Refuses sessions past their absolute lifetime (`SESSION_TIMEBOX`, from the start) or
    /// idle for too long (`SESSION_INACTIVITY_TIMEOUT`, from the last authenticated use or
    /// refresh, whichever came later): the rule for every credential of every dialect.
    pub(super) fn check_session_lifetime(&self, session: &Session, now: Timestamp) -> Result<(), FlowError> {
        let c = &self.config;
        let timed_out = c.session_timebox_secs > 0 && now >= session.created_at.plus_secs(c.session_timebox_secs);
        let idle = c.session_inactivity_timeout_secs > 0
            && now >= session.last_active().plus_secs(c.session_inactivity_timeout_secs);
        if timed_out || idle {
            return Err(FlowError::SessionExpired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::testing::TestPorts;
    use crate::token::JwtKeys;
    use crate::Config;

    fn auth() -> Flows<TestPorts> {
        let vars = [
            ("SITE_URL", "http://localhost:3000"),
            ("API_EXTERNAL_URL", "http://auth.test"),
            ("JWT_SECRET", "test-secret-test-secret-test-secret!"),
            ("ARGON2_M_KIB", "64"),
            ("ARGON2_T", "1"),
        ];
        let config = Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
        let auth = std::rc::Rc::new(crate::Auth::new(TestPorts::default(), config).unwrap());
        let scope = std::rc::Rc::new(auth.scope("192.0.2.1"));
        Flows::new(auth, scope)
    }

    fn feathers_claims(a: &Flows<TestPorts>) -> Claims {
        Claims {
            sub: crate::model::UserId::new("u"),
            jti: Some(SessionId::new("no-such-session")),
            aud: Some(a.config.feathers_jwt_audience.clone()),
            iss: Some(a.config.feathers_jwt_issuer.clone()),
            ..Claims::default()
        }
    }

    fn outcome(a: &Flows<TestPorts>, token: &str) -> BearerError {
        pollster::block_on(a.authenticate(token, &[Dialect::Feathers])).unwrap_err()
    }

    #[test]
    fn a_feathers_token_must_say_typ_access_and_be_signed_with_the_feathers_key() {
        let a = auth();
        let now = a.now();
        let sign = |keys: &JwtKeys, typ| pollster::block_on(keys.sign(a.signatures(), feathers_claims(&a), now, now.plus_secs(60), typ)).unwrap();
        // Right key and typ: it gets as far as the session, which does not exist.
        assert!(matches!(outcome(&a, &sign(&a.keys.feathers, Some("access"))), BearerError::SessionNotFound));
        // Right key, upstream's header missing: refused before any lookup.
        assert!(matches!(outcome(&a, &sign(&a.keys.feathers, Some("JWT"))), BearerError::BadToken(TokenError::Claims)));
        // Feathers' claims under GoTrue's key (the shared secret): not a Feathers token.
        let e = outcome(&a, &sign(&a.keys.gotrue, Some("access")));
        assert!(matches!(e, BearerError::BadToken(TokenError::BadSignature)), "{e:?}");
    }
}
