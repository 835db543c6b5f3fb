//! The purge's port ([`Housekeeping`]): what a round removes ([`Expired`], the cutoffs the
//! scheduled run works out) and what it removed ([`Purged`]). No flow uses it.

use super::StoreError;
use crate::model::Timestamp;
#[cfg(doc)]
use crate::model::Session;

/// What a purge removes: each record whose time is before its cutoff. The cutoffs say when a
/// record stops mattering to any flow, with a margin; working them out is the caller's (the
/// scheduled run's), so every store removes exactly the same records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expired {
    /// Sessions ended (`revoked_at`) before this. A session goes with its refresh and session
    /// tokens.
    pub ended_before: Timestamp,
    /// Sessions started before this, ended or not (past the timebox); `None`: no timebox.
    pub started_before: Option<Timestamp>,
    /// Sessions last active ([`Session::last_active`]: the later of the last use and the last
    /// refresh) before this, ended or not (past the inactivity timeout); `None`: no timeout.
    pub idle_before: Option<Timestamp>,
    /// Refresh tokens exchanged for their successor (`used_at`) before this. A token never
    /// used goes only with its session.
    pub used_before: Timestamp,
    /// Codes that expired before this, used or not, except the sign-up code of an account whose
    /// address is still unconfirmed (a retried or re-sent sign-up reads it, expired or not).
    pub codes_before: Timestamp,
    /// PKCE auth codes, and sign-ins through a provider's pages, that expired before this.
    pub flow_states_before: Timestamp,
    /// Emailed sign-in requests that expired before this, whatever their state.
    pub login_requests_before: Timestamp,
    /// Budgets whose window started before this.
    pub windows_before: Timestamp,
    /// Send limits whose last send was before this.
    pub sent_before: Timestamp,
    /// Second factors' challenges made before this, answered or not.
    pub challenges_before: Timestamp,
    /// Second factors enrolled before this and never verified (with their challenges).
    pub enrollments_before: Timestamp,
}

/// How many records one round of [`Housekeeping::purge`] removed, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Sessions (their tokens went with them, uncounted).
    pub sessions: usize,
    /// Refresh tokens used long ago (not those that went with their session).
    pub refresh_tokens: usize,
    /// One-time codes.
    pub codes: usize,
    /// PKCE auth codes and sign-ins through a provider's pages.
    pub flow_states: usize,
    /// Emailed sign-in requests.
    pub login_requests: usize,
    /// Budgets.
    pub budgets: usize,
    /// Send limits.
    pub send_limits: usize,
    /// Second factors' challenges (not those that went with their factor).
    pub challenges: usize,
    /// Second factors never verified.
    pub factors: usize,
}

impl Purged {
    /// The largest count of any kind: a round that removed fewer than its limit of every kind
    /// left nothing more to remove.
    pub fn most(&self) -> usize {
        [
            self.sessions,
            self.refresh_tokens,
            self.codes,
            self.flow_states,
            self.login_requests,
            self.budgets,
            self.send_limits,
            self.challenges,
            self.factors,
        ]
            .into_iter()
            .max()
            .unwrap_or(0)
    }

    /// Both counts added up, kind by kind.
    pub fn add(&mut self, other: &Purged) {
        self.sessions += other.sessions;
        self.refresh_tokens += other.refresh_tokens;
        self.codes += other.codes;
        self.flow_states += other.flow_states;
        self.login_requests += other.login_requests;
        self.budgets += other.budgets;
        self.send_limits += other.send_limits;
        self.challenges += other.challenges;
        self.factors += other.factors;
    }
}

/// Removing what has expired, so that storage does not grow without bound. Not a port the
/// flows use: the worker's scheduled run calls it.
pub trait Housekeeping {
    /// One bounded round: removes at most `limit` records of each kind that `expired` names,
    /// and returns how many of each went. Each kind is removed on its own, so no one write
    /// holds the database for long. Idempotent: a round removes only what is expired, so
    /// rounds may repeat, overlap or be cut short.
    async fn purge(&self, expired: &Expired, limit: u32) -> Result<Purged, StoreError>;
}
