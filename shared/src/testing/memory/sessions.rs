//! `Sessions` over the memory store's maps: sessions with their refresh and session tokens, and
//! the conditions a start is written under. Removing an account's sessions with the account is
//! done in `users`.

use super::MemoryStore;
use crate::model::{LogoutScope, RefreshToken, Session, SessionId, SessionToken, Timestamp, User, UserId};
use crate::ports::{Sessions, StoreError};

impl MemoryStore {
    /// What `Sessions::start` checks as it writes: the account exists, is neither deleted nor
    /// banned at the session's start, and (if given) still has that password hash and that
    /// state of second factors.
    fn may_start(&self, session: &Session, while_password: Option<&str>, while_mfa: Option<bool>) -> bool {
        let users = self.users.borrow();
        users.get(&session.user_id).is_some_and(|u| {
            u.deleted_at.is_none()
                && !u.is_banned(session.created_at)
                && while_password.is_none_or(|p| u.password_hash.as_deref() == Some(p))
                && while_mfa.is_none_or(|on| u.mfa_enabled() == on)
        })
    }

    fn record_start(&self, session: &Session) {
        self.sessions.borrow_mut().insert(session.id.clone(), session.clone());
        if let Some(u) = self.users.borrow_mut().get_mut(&session.user_id) {
            u.last_sign_in_at = Some(session.created_at);
        }
    }
}

impl Sessions for MemoryStore {
    async fn start(&self, session: &Session, token: &RefreshToken, while_password: Option<&str>, while_mfa: Option<bool>)
        -> Result<bool, StoreError> {
        super::before("start");
        if !self.may_start(session, while_password, while_mfa) {
            return Ok(false);
        }
        self.record_start(session);
        self.refresh_tokens.borrow_mut().insert(token.id.clone(), token.clone());
        Ok(true)
    }

    async fn start_with_token(&self, session: &Session, token: &SessionToken) -> Result<bool, StoreError> {
        if !self.may_start(session, None, None) {
            return Ok(false);
        }
        self.record_start(session);
        self.session_tokens.borrow_mut().insert(token.id.clone(), token.clone());
        Ok(true)
    }

    async fn list(&self, user_id: &UserId) -> Result<Vec<Session>, StoreError> {
        Ok(self
            .sessions
            .borrow()
            .values()
            .filter(|s| &s.user_id == user_id && s.is_active())
            .cloned()
            .collect())
    }

    async fn session_token(&self, id: &str) -> Result<Option<(SessionToken, Session, User)>, StoreError> {
        let Some(token) = self.session_tokens.borrow().get(id).cloned() else { return Ok(None) };
        Ok(self.with_user(&token.session_id).await?.map(|(s, u)| (token, s, u)))
    }

    async fn touch(&self, id: &SessionId, at: Timestamp, unless_since: Timestamp) -> Result<(), StoreError> {
        if let Some(s) = self.sessions.borrow_mut().get_mut(id) {
            if s.last_active_at < unless_since {
                s.last_active_at = at;
            }
        }
        Ok(())
    }

    async fn get(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        Ok(self.sessions.borrow().get(id).cloned())
    }

    async fn with_user(&self, id: &SessionId) -> Result<Option<(Session, User)>, StoreError> {
        let Some(session) = self.sessions.borrow().get(id).cloned() else { return Ok(None) };
        Ok(self.users.borrow().get(&session.user_id).cloned().map(|u| (session, u)))
    }

    async fn revoke(&self, user_id: &UserId, current: &SessionId, scope: LogoutScope, at: Timestamp) -> Result<usize, StoreError> {
        let mut n = 0;
        for s in self.sessions.borrow_mut().values_mut() {
            let named = match scope {
                LogoutScope::Local => &s.id == current,
                LogoutScope::Global => true,
                LogoutScope::Others => &s.id != current,
            };
            if &s.user_id == user_id && named && s.revoked_at.is_none() {
                s.revoked_at = Some(at);
                n += 1;
            }
        }
        if scope != LogoutScope::Local {
            self.flow_states.borrow_mut().retain(|_, f| &f.user_id != user_id);
        }
        Ok(n)
    }

    async fn refresh_token(&self, id: &str) -> Result<Option<(RefreshToken, Session, User)>, StoreError> {
        let Some(token) = self.refresh_tokens.borrow().get(id).cloned() else { return Ok(None) };
        Ok(self.with_user(&token.session_id).await?.map(|(s, u)| (token, s, u)))
    }

    async fn rotate(&self, parent_id: &str, successor: &RefreshToken, at: Timestamp) -> Result<Timestamp, StoreError> {
        let mut tokens = self.refresh_tokens.borrow_mut();
        let parent = tokens
            .get_mut(parent_id)
            .ok_or_else(|| StoreError::Backend(format!("no refresh token {parent_id}")))?;
        let used_at = *parent.used_at.get_or_insert(at);
        tokens.entry(successor.id.clone()).or_insert_with(|| successor.clone());
        if let Some(s) = self.sessions.borrow_mut().get_mut(&successor.session_id) {
            s.refreshed_at = at;
        }
        Ok(used_at)
    }
}
