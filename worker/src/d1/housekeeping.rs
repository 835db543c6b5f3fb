//! The `Housekeeping` port over D1: one bounded round of deletes, one statement per table, each
//! run on its own (not one batch) so that no single write holds the database for long and the
//! requests being served interleave between them. D1's SQLite has no `DELETE ... LIMIT`, so each
//! statement deletes the rowids a limited `SELECT` picks; the indexes of migration 0011 let
//! those selects read only what they delete. A session's refresh and session tokens go with it
//! by `ON DELETE CASCADE` (D1 enforces foreign keys). D1's count of changed rows includes what
//! a cascade deleted, so sessions are counted by the rows their deletes return.

use super::{backend, s, t, D1Store};
use portcullis_shared::model::Purpose;
use portcullis_shared::ports::{Expired, Housekeeping, Purged, StoreError};
use wasm_bindgen::JsValue;

/// Used refresh tokens first, so the sessions that go after them take few tokens along.
const REFRESH_TOKENS: &str = "DELETE FROM refresh_tokens WHERE rowid IN \
    (SELECT rowid FROM refresh_tokens WHERE used_at < ?1 LIMIT ?2)";

/// The sessions to remove, one statement per rule, each given what is left of the round's
/// limit: ended before `?1`; started before `?1` (past the timebox); idle since before `?1`,
/// where the last activity is the later of the last use and the last refresh, as
/// `Session::last_active` reads the row (an idle session started before then too, which lets
/// that rule use the index on `created_at`). One statement with `UNION` would read every match
/// before applying the limit; with `UNION ALL` a session two rules pick would take two places.
const SESSIONS: [&str; 3] = [
    "DELETE FROM sessions WHERE rowid IN \
     (SELECT rowid FROM sessions WHERE revoked_at < ?1 LIMIT ?2) RETURNING 1 AS gone",
    "DELETE FROM sessions WHERE rowid IN \
     (SELECT rowid FROM sessions WHERE created_at < ?1 LIMIT ?2) RETURNING 1 AS gone",
    "DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE created_at < ?1 \
     AND max(coalesce(last_active_at, refreshed_at, created_at), coalesce(refreshed_at, created_at)) < ?1 \
     LIMIT ?2) RETURNING 1 AS gone",
];

/// Expired, except the sign-up code (`?3`) of an account whose address is unconfirmed.
const CODES: &str = "DELETE FROM one_time_codes WHERE rowid IN (\
    SELECT c.rowid FROM one_time_codes c WHERE c.expires_at < ?1 AND NOT (c.purpose = ?3 AND EXISTS \
      (SELECT 1 FROM users u WHERE u.id = c.user_id AND u.email_confirmed_at IS NULL)) \
    LIMIT ?2)";

const OAUTH_FLOWS: &str = "DELETE FROM oauth_flows WHERE rowid IN \
    (SELECT rowid FROM oauth_flows WHERE expires_at < ?1 LIMIT ?2)";
const FLOW_STATES: &str = "DELETE FROM flow_states WHERE rowid IN \
    (SELECT rowid FROM flow_states WHERE expires_at < ?1 LIMIT ?2)";

const LOGIN_REQUESTS: &str = "DELETE FROM login_requests WHERE rowid IN \
    (SELECT rowid FROM login_requests WHERE expires_at < ?1 LIMIT ?2)";

const BUDGETS: &str = "DELETE FROM budgets WHERE rowid IN \
    (SELECT rowid FROM budgets WHERE window_start < ?1 LIMIT ?2)";

const SEND_LIMITS: &str = "DELETE FROM send_limits WHERE rowid IN \
    (SELECT rowid FROM send_limits WHERE last_sent_at < ?1 LIMIT ?2)";

/// Challenges first, so the factors that go after them take few along.
const CHALLENGES: &str = "DELETE FROM mfa_challenges WHERE rowid IN \
    (SELECT rowid FROM mfa_challenges WHERE created_at < ?1 LIMIT ?2)";

/// Unverified factors; counted by the rows returned (a cascade takes their challenges), and the
/// account's `mfa` recomputed (an account left with none is 0 again).
const FACTORS: &str = "DELETE FROM mfa_factors WHERE rowid IN \
    (SELECT rowid FROM mfa_factors WHERE verified = 0 AND created_at < ?1 LIMIT ?2) RETURNING user_id";

/// The accounts (`?1`, a JSON array of ids) whose factors went and that have none left.
const NO_FACTORS_LEFT: &str = "UPDATE users SET mfa = 0 WHERE id IN (SELECT value FROM json_each(?1)) \
    AND NOT EXISTS (SELECT 1 FROM mfa_factors f WHERE f.user_id = users.id)";

#[derive(serde::Deserialize)]
struct Owner {
    user_id: String,
}

impl D1Store {
    /// Runs a statement and returns how many rows it returned.
    async fn returned(&self, sql: &str, args: &[JsValue]) -> Result<usize, StoreError> {
        let result = self.stmt(sql, args)?.all().await.map_err(backend)?;
        Ok(result.results::<serde_json::Value>().map_err(backend)?.len())
    }
}

impl D1Store {
    /// Unverified factors enrolled long ago, and their accounts' `mfa` where none is left.
    async fn purge_factors(&self, e: &Expired, n: JsValue) -> Result<usize, StoreError> {
        let result = self.stmt(FACTORS, &[t(e.enrollments_before), n])?.all().await.map_err(backend)?;
        let owners: Vec<String> = result.results::<Owner>().map_err(backend)?.into_iter().map(|o| o.user_id).collect();
        if !owners.is_empty() {
            let ids = serde_json::to_string(&owners).map_err(|e| StoreError::Backend(e.to_string()))?;
            self.changes(NO_FACTORS_LEFT, &[s(ids)]).await?;
        }
        Ok(owners.len())
    }
}

impl Housekeeping for D1Store {
    async fn purge(&self, expired: &Expired, limit: u32) -> Result<Purged, StoreError> {
        let n = JsValue::from(limit);
        let e = expired;
        // In this order: the tokens used long ago before the sessions (see REFRESH_TOKENS).
        let refresh_tokens = self.changes(REFRESH_TOKENS, &[t(e.used_before), n.clone()]).await?;
        let mut sessions = 0;
        for (sql, before) in SESSIONS.into_iter().zip([Some(e.ended_before), e.started_before, e.idle_before]) {
            let left = limit.saturating_sub(u32::try_from(sessions).unwrap_or(u32::MAX));
            let Some(before) = before.filter(|_| left > 0) else { continue };
            sessions += self.returned(sql, &[t(before), JsValue::from(left)]).await?;
        }
        Ok(Purged {
            sessions,
            refresh_tokens,
            codes: self.changes(CODES, &[t(e.codes_before), n.clone(), s(Purpose::Signup.as_str())]).await?,
            flow_states: self.changes(FLOW_STATES, &[t(e.flow_states_before), n.clone()]).await?
                + self.changes(OAUTH_FLOWS, &[t(e.flow_states_before), n.clone()]).await?,
            login_requests: self.changes(LOGIN_REQUESTS, &[t(e.login_requests_before), n.clone()]).await?,
            budgets: self.changes(BUDGETS, &[t(e.windows_before), n.clone()]).await?,
            send_limits: self.changes(SEND_LIMITS, &[t(e.sent_before), n.clone()]).await?,
            challenges: self.changes(CHALLENGES, &[t(e.challenges_before), n.clone()]).await?,
            factors: self.purge_factors(e, n).await?,
        })
    }
}
