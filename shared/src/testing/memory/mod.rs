//! The in-memory store: every storage port in hash maps, for fast deterministic tests of the
//! flows and dialects. It passes the same contract suite as the D1 store (`contract`).
//!
//! This file holds the store itself (its maps, the test hook before a store call, and what
//! tests assert with); each port's implementation has its own file: `users`, `sessions`,
//! `codes`, `factors`, `passkeys`, `recovery_codes`, `identities` (provider identities), `oauth_flows` (sign-ins through a provider's pages), `limits` (budgets and send limits), `login_requests`, `flow_states`, and
//! `housekeeping` (the purge of what has expired). No rule of the flows belongs here: the
//! store does what its ports' contracts say, and nothing more.

mod codes;
mod factors;
mod identities;
mod oauth_flows;
mod passkeys;
mod recovery_codes;
mod flow_states;
mod housekeeping;
mod limits;
mod login_requests;
mod sessions;
mod users;

use crate::model::{
    Challenge, ChallengeId, CodeId, Factor, FactorId, FlowState, LoginRequest, LoginRequestId, OneTimeCode, Purpose, RefreshToken, Session, SessionId,
    SessionToken, Timestamp, User, UserId,
};
use std::cell::RefCell;
use std::collections::HashMap;

/// A hook: the store call it waits for, and what it runs.
type Hook = (&'static str, Box<dyn FnOnce()>);

thread_local! {
    /// A test's way to land another request between two store calls of one flow: the function
    /// runs once, just before the next store call of that name (`first_proof`, `clear_password`,
    /// `set_password_hash`, `set_metadata`, `add_passkey`, `add_identity`, `remove_identity`,
    /// `start`) of any memory store on this
    /// thread.
    pub static BEFORE_CALL: RefCell<Option<Hook>> = RefCell::new(None);
}

/// Runs the hook waiting for `call`, if there is one ([`BEFORE_CALL`]).
fn before(call: &str) {
    let hook = BEFORE_CALL.with(|h| {
        let mut h = h.borrow_mut();
        match h.as_ref() {
            Some((name, _)) if *name == call => h.take().map(|(_, f)| f),
            _ => None,
        }
    });
    if let Some(f) = hook {
        f();
    }
}

/// Accounts, sessions, refresh tokens and codes in hash maps.
#[derive(Debug, Default)]
pub struct MemoryStore {
    users: RefCell<HashMap<UserId, User>>,
    sessions: RefCell<HashMap<SessionId, Session>>,
    refresh_tokens: RefCell<HashMap<String, RefreshToken>>,
    codes: RefCell<HashMap<CodeId, OneTimeCode>>,
    send_limits: RefCell<HashMap<(String, Purpose), Timestamp>>,
    session_tokens: RefCell<HashMap<String, SessionToken>>,
    login_requests: RefCell<HashMap<LoginRequestId, LoginRequest>>,
    stale_reads: RefCell<Vec<User>>,
    budgets: RefCell<HashMap<String, (Timestamp, u32)>>,
    flow_states: RefCell<HashMap<String, FlowState>>,
    factors: RefCell<HashMap<FactorId, Factor>>,
    challenges: RefCell<HashMap<ChallengeId, Challenge>>,
    passkeys: RefCell<HashMap<crate::model::PasskeyId, crate::model::Passkey>>,
    passkey_challenges: RefCell<HashMap<crate::model::PasskeyChallengeId, crate::model::PasskeyChallenge>>,
    /// Recovery codes by their set's factor id: each code's hash and when it was used.
    recovery_codes: RefCell<HashMap<FactorId, Vec<CodeRow>>>,
    identities: RefCell<HashMap<crate::model::IdentityId, crate::model::Identity>>,
    oauth_flows: RefCell<HashMap<String, crate::model::OauthFlow>>,
    /// Whether each budget take first yields once to the executor (`pause_at_budgets`).
    pause_at_budgets: std::cell::Cell<bool>,
}

/// A recovery code as kept: its hash, and when it was used.
type CodeRow = (String, Option<Timestamp>);

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

    /// Makes every budget take yield once to the executor before it counts, so that two
    /// requests polled together interleave there: a test's way to answer requests at once.
    pub fn pause_at_budgets(&self, on: bool) {
        self.pause_at_budgets.set(on);
    }

    /// The units of budget `key` used in its current window (for assertions).
    pub fn budget_used(&self, key: &str) -> u32 {
        self.budgets.borrow().get(key).map_or(0, |&(_, used)| used)
    }

    /// Every stored refresh token (for assertions).
    pub fn all_refresh_tokens(&self) -> Vec<RefreshToken> {
        self.refresh_tokens.borrow().values().cloned().collect()
    }
}
