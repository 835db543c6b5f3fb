//! The `Housekeeping` port over D1: one bounded round of deletes, one statement per table, each
//! run on its own (not one batch) so that no single write holds the database for long and the
//! requests being served interleave between them. D1's SQLite has no `DELETE ... LIMIT`, so each
//! statement deletes the rowids a limited `SELECT` picks; the indexes of migration 0011 let
//! those selects read only what they delete. A session's refresh and session tokens go with it
//! by `ON DELETE CASCADE` (D1 enforces foreign keys). D1's count of changed rows includes what
//! a cascade deleted, so the sessions are counted by the rows their delete returns.

use super::{backend, opt_t, s, t, D1Store};
use portcullis_shared::model::Purpose;
use portcullis_shared::ports::{Expired, Housekeeping, Purged, StoreError};
use wasm_bindgen::JsValue;

/// Used refresh tokens first, so the sessions that go after them take few tokens along.
const REFRESH_TOKENS: &str = "DELETE FROM refresh_tokens WHERE rowid IN \
    (SELECT rowid FROM refresh_tokens WHERE used_at < ?1 LIMIT ?2)";

/// Ended, past the timebox (`?2`, NULL for none), or idle since before `?3` (NULL for none),
/// where the last activity is the later of the last use and the last refresh, as
/// `Session::last_active` reads the row. An idle session started before `?3` too, which lets
/// that arm use the index on `created_at`.
const SESSIONS: &str = "DELETE FROM sessions WHERE rowid IN (\
    SELECT rowid FROM sessions WHERE revoked_at < ?1 \
    UNION ALL SELECT rowid FROM sessions WHERE ?2 IS NOT NULL AND created_at < ?2 \
    UNION ALL SELECT rowid FROM sessions WHERE ?3 IS NOT NULL AND created_at < ?3 \
      AND max(coalesce(last_active_at, refreshed_at, created_at), coalesce(refreshed_at, created_at)) < ?3 \
    LIMIT ?4) RETURNING 1 AS gone";

/// Expired, except the sign-up code (`?3`) of an account whose address is unconfirmed.
const CODES: &str = "DELETE FROM one_time_codes WHERE rowid IN (\
    SELECT c.rowid FROM one_time_codes c WHERE c.expires_at < ?1 AND NOT (c.purpose = ?3 AND EXISTS \
      (SELECT 1 FROM users u WHERE u.id = c.user_id AND u.email_confirmed_at IS NULL)) \
    LIMIT ?2)";

const FLOW_STATES: &str = "DELETE FROM flow_states WHERE rowid IN \
    (SELECT rowid FROM flow_states WHERE expires_at < ?1 LIMIT ?2)";

const LOGIN_REQUESTS: &str = "DELETE FROM login_requests WHERE rowid IN \
    (SELECT rowid FROM login_requests WHERE expires_at < ?1 LIMIT ?2)";

const BUDGETS: &str = "DELETE FROM budgets WHERE rowid IN \
    (SELECT rowid FROM budgets WHERE window_start < ?1 LIMIT ?2)";

const SEND_LIMITS: &str = "DELETE FROM send_limits WHERE rowid IN \
    (SELECT rowid FROM send_limits WHERE last_sent_at < ?1 LIMIT ?2)";

impl Housekeeping for D1Store {
    async fn purge(&self, expired: &Expired, limit: u32) -> Result<Purged, StoreError> {
        let n = JsValue::from(limit);
        let e = expired;
        // In this order: the tokens used long ago before the sessions (see REFRESH_TOKENS).
        let refresh_tokens = self.changes(REFRESH_TOKENS, &[t(e.used_before), n.clone()]).await?;
        let session_cutoffs = [t(e.ended_before), opt_t(e.started_before), opt_t(e.idle_before), n.clone()];
        let sessions = self.stmt(SESSIONS, &session_cutoffs)?.all().await.map_err(backend)?;
        let sessions = sessions.results::<serde_json::Value>().map_err(backend)?.len();
        Ok(Purged {
            sessions,
            refresh_tokens,
            codes: self.changes(CODES, &[t(e.codes_before), n.clone(), s(Purpose::Signup.as_str())]).await?,
            flow_states: self.changes(FLOW_STATES, &[t(e.flow_states_before), n.clone()]).await?,
            login_requests: self.changes(LOGIN_REQUESTS, &[t(e.login_requests_before), n.clone()]).await?,
            budgets: self.changes(BUDGETS, &[t(e.windows_before), n.clone()]).await?,
            send_limits: self.changes(SEND_LIMITS, &[t(e.sent_before), n]).await?,
        })
    }
}
