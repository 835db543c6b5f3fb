//! The in-memory store: every storage port in hash maps, for fast deterministic tests of the
//! flows and dialects. It passes the same contract suite as the D1 store (`contract`).

use crate::model::{
    FlowState, LoginRequest, LoginState, LogoutScope, OneTimeCode, Purpose, RefreshToken, Session,
    SessionToken, Timestamp, User,
};
use crate::ports::{Budgets, Codes, FlowStates, LoginRequests, SendLimits, Sessions, StoreError, Users};
use std::cell::RefCell;
use std::collections::HashMap;

thread_local! {
    /// Runs once just before the next `clear_password` of any memory store on this thread: a
    /// test's way to land another request between two store calls of one flow.
    pub static BEFORE_CLEAR_PASSWORD: RefCell<Option<Box<dyn FnOnce()>>> = RefCell::new(None);
}

/// Accounts, sessions, refresh tokens and codes in hash maps.
#[derive(Debug, Default)]
pub struct MemoryStore {
    users: RefCell<HashMap<String, User>>,
    sessions: RefCell<HashMap<String, Session>>,
    refresh_tokens: RefCell<HashMap<String, RefreshToken>>,
    codes: RefCell<HashMap<String, OneTimeCode>>,
    send_limits: RefCell<HashMap<(String, Purpose), Timestamp>>,
    session_tokens: RefCell<HashMap<String, SessionToken>>,
    login_requests: RefCell<HashMap<String, LoginRequest>>,
    stale_reads: RefCell<Vec<User>>,
    budgets: RefCell<HashMap<String, (Timestamp, u32)>>,
    flow_states: RefCell<HashMap<String, FlowState>>,
}

impl MemoryStore {
    /// Number of stored refresh tokens (for assertions).
    pub fn refresh_token_count(&self) -> usize {
        self.refresh_tokens.borrow().len()
    }

    /// Makes the next read of this account by address answer with `snapshot` instead of what
    /// is stored: a request that read the account just before another one changed it.
    pub fn serve_stale(&self, snapshot: User) {
        self.stale_reads.borrow_mut().push(snapshot);
    }

    fn take_stale(&self, matches: impl Fn(&User) -> bool) -> Option<User> {
        let mut stale = self.stale_reads.borrow_mut();
        let at = stale.iter().position(matches)?;
        Some(stale.remove(at))
    }

    /// Every stored user (for assertions).
    pub fn all_users(&self) -> Vec<User> {
        self.users.borrow().values().cloned().collect()
    }

    /// Every stored session (for assertions).
    pub fn all_sessions(&self) -> Vec<Session> {
        self.sessions.borrow().values().cloned().collect()
    }

    /// Every stored refresh token (for assertions).
    pub fn all_refresh_tokens(&self) -> Vec<RefreshToken> {
        self.refresh_tokens.borrow().values().cloned().collect()
    }
}

impl Users for MemoryStore {
    async fn insert(&self, user: &User) -> Result<(), StoreError> {
        let mut users = self.users.borrow_mut();
        if user.email.is_some() && users.values().any(|u| u.email == user.email) {
            return Err(StoreError::Conflict("email"));
        }
        let key = |u: &User| u.username.as_ref().map(|n| n.to_ascii_lowercase());
        if user.username.is_some() && users.values().any(|u| key(u) == key(user)) {
            return Err(StoreError::Conflict("username"));
        }
        users.insert(user.id.clone(), user.clone());
        Ok(())
    }

    async fn by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        if let Some(snapshot) = self.take_stale(|u| u.has_email(email)) {
            return Ok(Some(snapshot));
        }
        Ok(self.users.borrow().values().find(|u| u.has_email(email)).cloned())
    }

    async fn by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        Ok(self.users.borrow().get(id).cloned())
    }

    async fn by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let key = username.to_ascii_lowercase();
        Ok(self
            .users
            .borrow()
            .values()
            .find(|u| u.username.as_ref().is_some_and(|n| n.to_ascii_lowercase() == key))
            .cloned())
    }

    async fn confirm_email(&self, id: &str, at: Timestamp) -> Result<(), StoreError> {
        if let Some(u) = self.users.borrow_mut().get_mut(id) {
            if u.email_confirmed_at.is_none() {
                u.email_confirmed_at = Some(at);
                u.is_anonymous = false;
                u.updated_at = at;
            }
        }
        Ok(())
    }

    async fn set_password_hash(&self, id: &str, hash: &str, at: Timestamp) -> Result<(), StoreError> {
        if let Some(u) = self.users.borrow_mut().get_mut(id) {
            u.password_hash = Some(hash.to_string());
            u.updated_at = at;
        }
        Ok(())
    }

    async fn rehash_password(&self, id: &str, old: &str, new: &str, at: Timestamp) -> Result<bool, StoreError> {
        match self.users.borrow_mut().get_mut(id) {
            Some(u) if u.password_hash.as_deref() == Some(old) => {
                u.password_hash = Some(new.to_string());
                u.updated_at = at;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn clear_password(&self, id: &str, at: Timestamp) -> Result<(), StoreError> {
        if let Some(hook) = BEFORE_CLEAR_PASSWORD.with(|h| h.borrow_mut().take()) {
            hook();
        }
        if let Some(u) = self.users.borrow_mut().get_mut(id) {
            u.password_hash = None;
            u.updated_at = at;
        }
        Ok(())
    }

    async fn set_email(&self, id: &str, email: &str, confirmed: bool, at: Timestamp) -> Result<(), StoreError> {
        let mut users = self.users.borrow_mut();
        if users.values().any(|u| u.has_email(email) && u.id != id) {
            return Err(StoreError::Conflict("email"));
        }
        if let Some(u) = users.get_mut(id) {
            u.email = Some(email.to_string());
            u.email_confirmed_at = confirmed.then_some(at);
            u.is_anonymous &= !confirmed;
            u.updated_at = at;
        }
        Ok(())
    }

    async fn set_app_metadata(&self, id: &str, metadata: &serde_json::Value, at: Timestamp) -> Result<(), StoreError> {
        if let Some(u) = self.users.borrow_mut().get_mut(id) {
            u.app_metadata = metadata.clone();
            u.updated_at = at;
        }
        Ok(())
    }

    async fn set_banned_until(&self, id: &str, until: Option<Timestamp>, at: Timestamp) -> Result<(), StoreError> {
        if let Some(u) = self.users.borrow_mut().get_mut(id) {
            u.banned_until = until;
            u.updated_at = at;
        }
        Ok(())
    }

    async fn page(&self, offset: u64, limit: u32) -> Result<(Vec<User>, u64), StoreError> {
        let mut all = self.all_users();
        all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
        let total = all.len() as u64;
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(all.len());
        Ok((all.into_iter().skip(start).take(limit as usize).collect(), total))
    }

    async fn soft_delete(&self, id: &str, at: Timestamp) -> Result<bool, StoreError> {
        let Some(mut user) = self.users.borrow().get(id).cloned() else {
            return Ok(false);
        };
        self.remove_dependents(id);
        user.email = None;
        user.username = None;
        user.password_hash = None;
        user.user_metadata = serde_json::json!({});
        user.app_metadata = serde_json::json!({});
        user.deleted_at = user.deleted_at.or(Some(at));
        user.updated_at = at;
        self.users.borrow_mut().insert(id.to_string(), user);
        Ok(true)
    }

    async fn set_metadata(&self, id: &str, metadata: &serde_json::Value, at: Timestamp) -> Result<(), StoreError> {
        if let Some(u) = self.users.borrow_mut().get_mut(id) {
            u.user_metadata = metadata.clone();
            u.updated_at = at;
        }
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let Some(_) = self.users.borrow_mut().remove(id) else {
            return Ok(false);
        };
        self.remove_dependents(id);
        Ok(true)
    }
}

impl MemoryStore {
    /// Removes what hangs off an account: sessions and their tokens, codes, sign-in requests,
    /// auth codes.
    fn remove_dependents(&self, id: &str) {
        let mut sessions = self.sessions.borrow_mut();
        sessions.retain(|_, s| s.user_id != id);
        self.refresh_tokens.borrow_mut().retain(|_, t| sessions.contains_key(&t.session_id));
        self.session_tokens.borrow_mut().retain(|_, t| sessions.contains_key(&t.session_id));
        self.codes.borrow_mut().retain(|_, c| c.user_id != id);
        self.login_requests.borrow_mut().retain(|_, r| r.user_id != id);
        self.flow_states.borrow_mut().retain(|_, f| f.user_id != id);
    }

    /// What `Sessions::start` checks as it writes: the account exists, is neither deleted nor
    /// banned at the session's start, and (if given) still has that password hash.
    fn may_start(&self, session: &Session, while_password: Option<&str>) -> bool {
        let users = self.users.borrow();
        users.get(&session.user_id).is_some_and(|u| {
            u.deleted_at.is_none()
                && !u.is_banned(session.created_at)
                && while_password.is_none_or(|p| u.password_hash.as_deref() == Some(p))
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
    async fn start(&self, session: &Session, token: &RefreshToken, while_password: Option<&str>)
        -> Result<bool, StoreError> {
        if !self.may_start(session, while_password) {
            return Ok(false);
        }
        self.record_start(session);
        self.refresh_tokens.borrow_mut().insert(token.id.clone(), token.clone());
        Ok(true)
    }

    async fn start_with_token(&self, session: &Session, token: &SessionToken) -> Result<bool, StoreError> {
        if !self.may_start(session, None) {
            return Ok(false);
        }
        self.record_start(session);
        self.session_tokens.borrow_mut().insert(token.id.clone(), token.clone());
        Ok(true)
    }

    async fn list(&self, user_id: &str) -> Result<Vec<Session>, StoreError> {
        Ok(self
            .sessions
            .borrow()
            .values()
            .filter(|s| s.user_id == user_id && s.is_active())
            .cloned()
            .collect())
    }

    async fn session_token(&self, id: &str) -> Result<Option<(SessionToken, Session, User)>, StoreError> {
        let Some(token) = self.session_tokens.borrow().get(id).cloned() else { return Ok(None) };
        Ok(self.with_user(&token.session_id).await?.map(|(s, u)| (token, s, u)))
    }

    async fn touch(&self, id: &str, at: Timestamp, unless_since: Timestamp) -> Result<(), StoreError> {
        if let Some(s) = self.sessions.borrow_mut().get_mut(id) {
            if s.last_active_at < unless_since {
                s.last_active_at = at;
            }
        }
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Session>, StoreError> {
        Ok(self.sessions.borrow().get(id).cloned())
    }

    async fn with_user(&self, id: &str) -> Result<Option<(Session, User)>, StoreError> {
        let Some(session) = self.sessions.borrow().get(id).cloned() else { return Ok(None) };
        Ok(self.users.borrow().get(&session.user_id).cloned().map(|u| (session, u)))
    }

    async fn revoke(&self, user_id: &str, current: &str, scope: LogoutScope, at: Timestamp) -> Result<usize, StoreError> {
        let mut n = 0;
        for s in self.sessions.borrow_mut().values_mut() {
            let named = match scope {
                LogoutScope::Local => s.id == current,
                LogoutScope::Global => true,
                LogoutScope::Others => s.id != current,
            };
            if s.user_id == user_id && named && s.revoked_at.is_none() {
                s.revoked_at = Some(at);
                n += 1;
            }
        }
        if scope != LogoutScope::Local {
            self.flow_states.borrow_mut().retain(|_, f| f.user_id != user_id);
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

impl Codes for MemoryStore {
    async fn put(&self, code: &OneTimeCode) -> Result<(), StoreError> {
        let mut codes = self.codes.borrow_mut();
        codes.retain(|_, c| !(c.user_id == code.user_id && c.purpose == code.purpose));
        codes.insert(code.id.clone(), code.clone());
        Ok(())
    }

    async fn put_pair(&self, a: &OneTimeCode, b: &OneTimeCode) -> Result<(), StoreError> {
        Codes::put(self, a).await?;
        Codes::put(self, b).await
    }

    async fn forfeit_keep(&self, user_id: &str, purpose: Purpose) -> Result<(), StoreError> {
        for c in self.codes.borrow_mut().values_mut() {
            if c.user_id == user_id && c.purpose == purpose {
                c.keeps_attempt = false;
            }
        }
        Ok(())
    }

    async fn for_user(&self, user_id: &str, purpose: Purpose) -> Result<Option<OneTimeCode>, StoreError> {
        Ok(self
            .codes
            .borrow()
            .values()
            .find(|c| c.user_id == user_id && c.purpose == purpose)
            .cloned())
    }

    async fn for_recipient(&self, address: &str, purpose: Purpose) -> Result<Option<OneTimeCode>, StoreError> {
        Ok(self
            .codes
            .borrow()
            .values()
            .filter(|c| c.sent_to == address && c.purpose == purpose)
            .max_by_key(|c| c.created_at)
            .cloned())
    }

    async fn by_link_hash(&self, link_hash: &str) -> Result<Option<OneTimeCode>, StoreError> {
        Ok(self.codes.borrow().values().find(|c| c.link_hash == link_hash).cloned())
    }

    async fn take_attempt(&self, id: &str, now: Timestamp, max_attempts: u32) -> Result<bool, StoreError> {
        let mut codes = self.codes.borrow_mut();
        match codes.get_mut(id) {
            Some(c) if c.used_at.is_none() && c.expires_at > now && c.attempts < max_attempts => {
                c.attempts += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn consume(&self, id: &str, now: Timestamp) -> Result<bool, StoreError> {
        let mut codes = self.codes.borrow_mut();
        match codes.get_mut(id) {
            Some(c) if c.used_at.is_none() && c.expires_at > now => {
                c.used_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

impl Budgets for MemoryStore {
    async fn take_all(&self, uses: &[(&str, u32)], now: Timestamp, window_secs: i64) -> Result<bool, StoreError> {
        let mut all = self.budgets.borrow_mut();
        // The window a use falls in: the current one, or a fresh one once it has passed.
        let window = |key: &str| match all.get(key) {
            Some(&(start, used)) if start > now.plus_secs(-window_secs) => (start, used),
            _ => (now, 0),
        };
        let next: Vec<(String, (Timestamp, u32))> = uses.iter().map(|(key, _)| {
            let (start, used) = window(key);
            (key.to_string(), (start, used + 1))
        }).collect();
        if next.iter().zip(uses).any(|((_, (_, used)), (_, max))| used > max) {
            return Ok(false);
        }
        all.extend(next);
        Ok(true)
    }

    async fn give_back(&self, key: &str) -> Result<(), StoreError> {
        if let Some(entry) = self.budgets.borrow_mut().get_mut(key) {
            entry.1 = entry.1.saturating_sub(1);
        }
        Ok(())
    }
}

impl SendLimits for MemoryStore {
    async fn claim(&self, address: &str, purpose: Purpose, now: Timestamp, interval_secs: i64) -> Result<Option<Timestamp>, StoreError> {
        let mut limits = self.send_limits.borrow_mut();
        let key = (address.to_string(), purpose);
        match limits.get(&key) {
            Some(last) if last.plus_secs(interval_secs) > now => Ok(Some(*last)),
            _ => {
                limits.insert(key, now);
                Ok(None)
            }
        }
    }

    async fn release(&self, address: &str, purpose: Purpose, claimed_at: Timestamp) -> Result<(), StoreError> {
        let mut limits = self.send_limits.borrow_mut();
        let key = (address.to_string(), purpose);
        if limits.get(&key) == Some(&claimed_at) {
            limits.remove(&key);
        }
        Ok(())
    }
}

impl FlowStates for MemoryStore {
    async fn put(&self, state: &FlowState) -> Result<(), StoreError> {
        self.flow_states.borrow_mut().insert(state.auth_code_hash.clone(), state.clone());
        Ok(())
    }

    async fn take(&self, auth_code_hash: &str) -> Result<Option<FlowState>, StoreError> {
        Ok(self.flow_states.borrow_mut().remove(auth_code_hash))
    }
}

impl LoginRequests for MemoryStore {
    async fn put(&self, request: &LoginRequest) -> Result<(), StoreError> {
        self.login_requests.borrow_mut().insert(request.id.clone(), request.clone());
        Ok(())
    }

    async fn by_id(&self, id: &str) -> Result<Option<LoginRequest>, StoreError> {
        Ok(self.login_requests.borrow().get(id).cloned())
    }

    async fn by_link_hash(&self, link_hash: &str) -> Result<Option<LoginRequest>, StoreError> {
        Ok(self.login_requests.borrow().values().find(|r| r.link_hash == link_hash).cloned())
    }

    async fn show_page(&self, id: &str, page_hash: &str, now: Timestamp) -> Result<bool, StoreError> {
        match self.login_requests.borrow_mut().get_mut(id) {
            Some(r) if r.state == LoginState::Pending && r.expires_at > now => {
                r.page_hash = Some(page_hash.to_string());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn decide(&self, id: &str, page_hash: &str, to: LoginState, now: Timestamp) -> Result<bool, StoreError> {
        match self.login_requests.borrow_mut().get_mut(id) {
            Some(r) if r.state == LoginState::Pending
                && r.expires_at > now
                && r.page_hash.as_deref() == Some(page_hash) =>
            {
                r.state = to;
                r.page_hash = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn claim(&self, id: &str, now: Timestamp) -> Result<bool, StoreError> {
        match self.login_requests.borrow_mut().get_mut(id) {
            Some(r) if r.state == LoginState::Confirmed && r.expires_at > now => {
                r.state = LoginState::Claimed;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
