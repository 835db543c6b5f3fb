//! Passwordless emailed sign-in requests ([`LoginRequest`]) and where each stands
//! ([`LoginState`]). The session a confirmed request hands out is `session`'s record; the flow
//! that moves a request along is in `crate::flows`.

use super::id::{LoginRequestId, UserId};
use super::time::Timestamp;

/// Where an emailed sign-in request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginState {
    /// Mailed, not yet answered.
    Pending,
    /// The person confirmed it on the link's page; the poller may take the session once.
    Confirmed,
    /// The person denied it.
    Denied,
    /// The poller took its session.
    Claimed,
}

impl LoginState {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LoginState::Pending => "pending",
            LoginState::Confirmed => "confirmed",
            LoginState::Denied => "denied",
            LoginState::Claimed => "claimed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(LoginState::Pending),
            "confirmed" => Some(LoginState::Confirmed),
            "denied" => Some(LoginState::Denied),
            "claimed" => Some(LoginState::Claimed),
            _ => None,
        }
    }
}

/// An emailed sign-in request (passwordless `POST /auth/login`). The requester polls by `id`;
/// the mailbox owner answers through the link, whose token is not the id, on a page whose own
/// single-use token must come back with the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginRequest {
    /// The `auth_id` the requester polls with (UUID v4).
    pub id: LoginRequestId,
    /// The account asked for.
    pub user_id: UserId,
    /// What the requesting client called itself; shown on the page.
    pub platform: String,
    /// SHA-256 of the link token.
    pub link_hash: String,
    /// SHA-256 of the token on the page shown last, if it was opened.
    pub page_hash: Option<String>,
    /// Where it stands.
    pub state: LoginState,
    /// Issue time.
    pub created_at: Timestamp,
    /// Dead from this time on, whatever its state.
    pub expires_at: Timestamp,
}
