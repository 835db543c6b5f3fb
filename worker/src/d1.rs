//! The storage ports over Cloudflare D1 (SQLite at the edge).
//!
//! D1 gives read-after-write, so everything that must be consistent (codes, sessions) lives
//! here. Single-use and attempt caps are compare-and-swap `UPDATE ... WHERE` statements whose
//! changed-row count says who won; writes that belong together go in one `batch` (atomic).
//! Timestamps are unix milliseconds bound as JS numbers (exact below 2^53; D1's integer binding
//! is only 32-bit). D1 reports a UNIQUE violation as a generic error: it is recognised by its
//! text and mapped to `StoreError::Conflict`.

use portcullis_shared::model::{
    AuthMethod, LoginRequest, LoginState, LogoutScope, OneTimeCode, Purpose, RefreshToken, Session,
    SessionToken, Timestamp, User,
};
use portcullis_shared::ports::{Codes, LoginRequests, SendLimits, Sessions, StoreError, Users};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

/// Accounts, sessions and codes in the `DB` binding.
pub struct D1Store {
    db: D1Database,
}

impl D1Store {
    /// Wraps the bound database.
    pub fn new(db: D1Database) -> Self {
        Self { db }
    }

    fn stmt(&self, sql: &str, args: &[JsValue]) -> Result<D1PreparedStatement, StoreError> {
        self.db.prepare(sql).bind(args).map_err(backend)
    }

    async fn first<T: for<'de> Deserialize<'de>>(&self, sql: &str, args: &[JsValue]) -> Result<Option<T>, StoreError> {
        self.stmt(sql, args)?.first::<T>(None).await.map_err(backend)
    }

    /// Runs a statement and returns how many rows it changed.
    async fn changes(&self, sql: &str, args: &[JsValue]) -> Result<usize, StoreError> {
        let result = self.stmt(sql, args)?.run().await.map_err(backend)?;
        Ok(result.meta().map_err(backend)?.and_then(|m| m.changes).unwrap_or(0))
    }

    async fn batch(&self, statements: Vec<D1PreparedStatement>) -> Result<Vec<worker::D1Result>, StoreError> {
        self.db.batch(statements).await.map_err(backend)
    }
}

fn backend(e: worker::Error) -> StoreError {
    let text = e.to_string();
    if text.contains("UNIQUE constraint failed: users.email") {
        StoreError::Conflict("email")
    } else if text.contains("users_username") {
        StoreError::Conflict("username")
    } else if text.contains("UNIQUE constraint failed") {
        StoreError::Conflict("record")
    } else {
        StoreError::Backend(text)
    }
}

fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}

fn opt_s(v: Option<&str>) -> JsValue {
    v.map_or(JsValue::NULL, s)
}

fn t(v: Timestamp) -> JsValue {
    JsValue::from_f64(v.0 as f64)
}

fn opt_t(v: Option<Timestamp>) -> JsValue {
    v.map_or(JsValue::NULL, t)
}

fn ts(ms: f64) -> Timestamp {
    Timestamp(ms as i64)
}

#[derive(Deserialize)]
struct UserRow {
    id: String,
    email: Option<String>,
    username: Option<String>,
    password_hash: Option<String>,
    email_confirmed_at: Option<f64>,
    last_sign_in_at: Option<f64>,
    user_metadata: String,
    created_at: f64,
    updated_at: f64,
}

impl UserRow {
    fn into_user(self) -> Result<User, StoreError> {
        Ok(User {
            id: self.id,
            email: self.email,
            username: self.username,
            password_hash: self.password_hash,
            email_confirmed_at: self.email_confirmed_at.map(ts),
            last_sign_in_at: self.last_sign_in_at.map(ts),
            user_metadata: serde_json::from_str(&self.user_metadata)
                .map_err(|e| StoreError::Backend(format!("users.user_metadata: {e}")))?,
            created_at: ts(self.created_at),
            updated_at: ts(self.updated_at),
        })
    }
}

const USER_COLUMNS: &str = "id, email, username, password_hash, email_confirmed_at, last_sign_in_at, \
                            user_metadata, created_at, updated_at";

impl Users for D1Store {
    async fn insert(&self, u: &User) -> Result<(), StoreError> {
        let sql = format!("INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
        self.changes(
            &sql,
            &[
                s(&u.id),
                opt_s(u.email.as_deref()),
                opt_s(u.username.as_deref()),
                opt_s(u.password_hash.as_deref()),
                opt_t(u.email_confirmed_at),
                opt_t(u.last_sign_in_at),
                s(&u.user_metadata.to_string()),
                t(u.created_at),
                t(u.updated_at),
            ],
        )
        .await
        .map(|_| ())
    }

    async fn by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1");
        self.first::<UserRow>(&sql, &[s(email)]).await?.map(UserRow::into_user).transpose()
    }

    async fn by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
        self.first::<UserRow>(&sql, &[s(id)]).await?.map(UserRow::into_user).transpose()
    }

    async fn by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        // Matches the unique index on lower(username); usernames are ASCII, which SQLite's
        // lower() folds.
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE lower(username) = lower(?1)");
        self.first::<UserRow>(&sql, &[s(username)]).await?.map(UserRow::into_user).transpose()
    }

    async fn confirm_email(&self, id: &str, at: Timestamp) -> Result<(), StoreError> {
        self.changes(
            "UPDATE users SET email_confirmed_at = ?2, updated_at = ?2 WHERE id = ?1 AND email_confirmed_at IS NULL",
            &[s(id), t(at)],
        )
        .await
        .map(|_| ())
    }

    async fn set_password_hash(&self, id: &str, hash: &str, at: Timestamp) -> Result<(), StoreError> {
        self.changes(
            "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
            &[s(id), s(hash), t(at)],
        )
        .await
        .map(|_| ())
    }

    async fn set_email(&self, id: &str, email: &str, at: Timestamp) -> Result<(), StoreError> {
        self.changes(
            "UPDATE users SET email = ?2, email_confirmed_at = ?3, updated_at = ?3 WHERE id = ?1",
            &[s(id), s(email), t(at)],
        )
        .await
        .map(|_| ())
    }

    async fn set_metadata(&self, id: &str, metadata: &serde_json::Value, at: Timestamp) -> Result<(), StoreError> {
        self.changes(
            "UPDATE users SET user_metadata = ?2, updated_at = ?3 WHERE id = ?1",
            &[s(id), s(&metadata.to_string()), t(at)],
        )
        .await
        .map(|_| ())
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        // D1 enforces foreign keys: sessions (with their tokens), codes and sign-in requests
        // go with the account by ON DELETE CASCADE, in this one statement.
        Ok(self.changes("DELETE FROM users WHERE id = ?1", &[s(id)]).await? > 0)
    }
}

#[derive(Deserialize)]
struct SessionRow {
    id: String,
    user_id: String,
    platform: String,
    method: String,
    created_at: f64,
    refreshed_at: Option<f64>,
    last_active_at: Option<f64>,
    revoked_at: Option<f64>,
}

impl SessionRow {
    fn into_session(self) -> Result<Session, StoreError> {
        Ok(Session {
            method: AuthMethod::parse(&self.method)
                .ok_or_else(|| StoreError::Backend(format!("sessions.method {:?}", self.method)))?,
            id: self.id,
            user_id: self.user_id,
            platform: self.platform,
            created_at: ts(self.created_at),
            refreshed_at: ts(self.refreshed_at.unwrap_or(self.created_at)),
            last_active_at: ts(self.last_active_at.or(self.refreshed_at).unwrap_or(self.created_at)),
            revoked_at: self.revoked_at.map(ts),
        })
    }
}

const SESSION_COLUMNS: &str = "id, user_id, platform, method, created_at, refreshed_at, last_active_at, revoked_at";

#[derive(Deserialize)]
struct SessionTokenRow {
    id: String,
    session_id: String,
    secret_hash: String,
    created_at: f64,
}

#[derive(Deserialize)]
struct RefreshRow {
    id: String,
    session_id: String,
    secret_hash: String,
    parent_id: Option<String>,
    created_at: f64,
    used_at: Option<f64>,
}

#[derive(Deserialize)]
struct UsedAt {
    used_at: Option<f64>,
}

impl D1Store {
    /// A new session and the sign-in it records, to batch with its first credential.
    fn session_start(&self, session: &Session) -> Result<[D1PreparedStatement; 2], StoreError> {
        Ok([
            self.stmt(
                &format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                &[
                    s(&session.id),
                    s(&session.user_id),
                    s(&session.platform),
                    s(session.method.as_str()),
                    t(session.created_at),
                    t(session.refreshed_at),
                    t(session.last_active_at),
                    opt_t(session.revoked_at),
                ],
            )?,
            self.stmt(
                "UPDATE users SET last_sign_in_at = ?2 WHERE id = ?1",
                &[s(&session.user_id), t(session.created_at)],
            )?,
        ])
    }
}

impl Sessions for D1Store {
    async fn start(&self, session: &Session, token: &RefreshToken) -> Result<(), StoreError> {
        let mut statements = self.session_start(session)?.to_vec();
        statements.push(self.insert_refresh("INSERT", token)?);
        self.batch(statements).await.map(|_| ())
    }

    async fn start_with_token(&self, session: &Session, token: &SessionToken) -> Result<(), StoreError> {
        let mut statements = self.session_start(session)?.to_vec();
        statements.push(self.stmt(
            "INSERT INTO session_tokens (id, session_id, secret_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            &[s(&token.id), s(&token.session_id), s(&token.secret_hash), t(token.created_at)],
        )?);
        self.batch(statements).await.map(|_| ())
    }

    async fn get(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1");
        self.first::<SessionRow>(&sql, &[s(id)]).await?.map(SessionRow::into_session).transpose()
    }

    async fn list(&self, user_id: &str) -> Result<Vec<Session>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = ?1 AND revoked_at IS NULL");
        let rows = self.stmt(&sql, &[s(user_id)])?.all().await.map_err(backend)?;
        rows.results::<SessionRow>()
            .map_err(backend)?
            .into_iter()
            .map(SessionRow::into_session)
            .collect()
    }

    async fn session_token(&self, id: &str) -> Result<Option<SessionToken>, StoreError> {
        let row = self
            .first::<SessionTokenRow>(
                "SELECT id, session_id, secret_hash, created_at FROM session_tokens WHERE id = ?1",
                &[s(id)],
            )
            .await?;
        Ok(row.map(|r| SessionToken {
            id: r.id,
            session_id: r.session_id,
            secret_hash: r.secret_hash,
            created_at: ts(r.created_at),
        }))
    }

    async fn touch(&self, id: &str, at: Timestamp, unless_since: Timestamp) -> Result<(), StoreError> {
        self.changes(
            "UPDATE sessions SET last_active_at = ?2 WHERE id = ?1 AND (last_active_at IS NULL OR last_active_at < ?3)",
            &[s(id), t(at), t(unless_since)],
        )
        .await
        .map(|_| ())
    }

    async fn revoke(&self, user_id: &str, current: &str, scope: LogoutScope, at: Timestamp) -> Result<usize, StoreError> {
        let which = match scope {
            LogoutScope::Local => "AND id = ?2",
            // Always true; keeps ?2 bound so all three statements take the same arguments.
            LogoutScope::Global => "AND ?2 IS NOT NULL",
            LogoutScope::Others => "AND id != ?2",
            other => return Err(StoreError::Backend(format!("logout scope {other:?} is not supported by D1Store"))),
        };
        let sql = format!("UPDATE sessions SET revoked_at = ?3 WHERE user_id = ?1 AND revoked_at IS NULL {which}");
        self.changes(&sql, &[s(user_id), s(current), t(at)]).await
    }

    async fn refresh_token(&self, id: &str) -> Result<Option<RefreshToken>, StoreError> {
        let row = self
            .first::<RefreshRow>(
                "SELECT id, session_id, secret_hash, parent_id, created_at, used_at FROM refresh_tokens WHERE id = ?1",
                &[s(id)],
            )
            .await?;
        Ok(row.map(|r| RefreshToken {
            id: r.id,
            session_id: r.session_id,
            secret_hash: r.secret_hash,
            parent_id: r.parent_id,
            created_at: ts(r.created_at),
            used_at: r.used_at.map(ts),
        }))
    }

    async fn rotate(&self, parent_id: &str, successor: &RefreshToken, at: Timestamp) -> Result<Timestamp, StoreError> {
        // One atomic batch: mark the parent (first use only), store the successor once (its id
        // is derived, so concurrent rotations collide on it), note the refresh, read back.
        let statements = vec![
            self.stmt(
                "UPDATE refresh_tokens SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL",
                &[s(parent_id), t(at)],
            )?,
            self.insert_refresh("INSERT OR IGNORE", successor)?,
            self.stmt(
                "UPDATE sessions SET refreshed_at = ?2 WHERE id = ?1",
                &[s(&successor.session_id), t(at)],
            )?,
            self.stmt("SELECT used_at FROM refresh_tokens WHERE id = ?1", &[s(parent_id)])?,
        ];
        let results = self.batch(statements).await?;
        let used = results
            .last()
            .map(|r| r.results::<UsedAt>())
            .transpose()
            .map_err(backend)?
            .and_then(|rows| rows.into_iter().next())
            .and_then(|r| r.used_at)
            .ok_or_else(|| StoreError::Backend(format!("refresh token {parent_id} vanished during rotation")))?;
        Ok(ts(used))
    }
}

impl D1Store {
    fn insert_refresh(&self, verb: &str, token: &RefreshToken) -> Result<D1PreparedStatement, StoreError> {
        self.stmt(
            &format!(
                "{verb} INTO refresh_tokens (id, session_id, secret_hash, parent_id, created_at, used_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ),
            &[
                s(&token.id),
                s(&token.session_id),
                s(&token.secret_hash),
                opt_s(token.parent_id.as_deref()),
                t(token.created_at),
                opt_t(token.used_at),
            ],
        )
    }
}

#[derive(Deserialize)]
struct CodeRow {
    id: String,
    user_id: String,
    purpose: String,
    code_hash: String,
    link_hash: String,
    sent_to: String,
    created_at: f64,
    expires_at: f64,
    attempts: f64,
    used_at: Option<f64>,
}

impl CodeRow {
    fn into_code(self) -> Result<OneTimeCode, StoreError> {
        Ok(OneTimeCode {
            purpose: Purpose::parse(&self.purpose)
                .ok_or_else(|| StoreError::Backend(format!("one_time_codes.purpose {:?}", self.purpose)))?,
            id: self.id,
            user_id: self.user_id,
            code_hash: self.code_hash,
            link_hash: self.link_hash,
            sent_to: self.sent_to,
            created_at: ts(self.created_at),
            expires_at: ts(self.expires_at),
            attempts: self.attempts as u32,
            used_at: self.used_at.map(ts),
        })
    }
}

const CODE_COLUMNS: &str =
    "id, user_id, purpose, code_hash, link_hash, sent_to, created_at, expires_at, attempts, used_at";

impl Codes for D1Store {
    async fn put(&self, c: &OneTimeCode) -> Result<(), StoreError> {
        let insert = format!("INSERT INTO one_time_codes ({CODE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
        let statements = vec![
            self.stmt(
                "DELETE FROM one_time_codes WHERE user_id = ?1 AND purpose = ?2",
                &[s(&c.user_id), s(c.purpose.as_str())],
            )?,
            self.stmt(
                &insert,
                &[
                    s(&c.id),
                    s(&c.user_id),
                    s(c.purpose.as_str()),
                    s(&c.code_hash),
                    s(&c.link_hash),
                    s(&c.sent_to),
                    t(c.created_at),
                    t(c.expires_at),
                    JsValue::from_f64(f64::from(c.attempts)),
                    opt_t(c.used_at),
                ],
            )?,
        ];
        self.batch(statements).await.map(|_| ())
    }

    async fn for_user(&self, user_id: &str, purpose: Purpose) -> Result<Option<OneTimeCode>, StoreError> {
        let sql = format!("SELECT {CODE_COLUMNS} FROM one_time_codes WHERE user_id = ?1 AND purpose = ?2");
        self.first::<CodeRow>(&sql, &[s(user_id), s(purpose.as_str())])
            .await?
            .map(CodeRow::into_code)
            .transpose()
    }

    async fn for_recipient(&self, address: &str, purpose: Purpose) -> Result<Option<OneTimeCode>, StoreError> {
        let sql = format!(
            "SELECT {CODE_COLUMNS} FROM one_time_codes WHERE sent_to = ?1 AND purpose = ?2 \
             ORDER BY created_at DESC LIMIT 1"
        );
        self.first::<CodeRow>(&sql, &[s(address), s(purpose.as_str())])
            .await?
            .map(CodeRow::into_code)
            .transpose()
    }

    async fn by_link_hash(&self, link_hash: &str) -> Result<Option<OneTimeCode>, StoreError> {
        let sql = format!("SELECT {CODE_COLUMNS} FROM one_time_codes WHERE link_hash = ?1");
        self.first::<CodeRow>(&sql, &[s(link_hash)]).await?.map(CodeRow::into_code).transpose()
    }

    async fn take_attempt(&self, id: &str, now: Timestamp, max_attempts: u32) -> Result<bool, StoreError> {
        let changed = self
            .changes(
                "UPDATE one_time_codes SET attempts = attempts + 1 \
                 WHERE id = ?1 AND used_at IS NULL AND expires_at > ?2 AND attempts < ?3",
                &[s(id), t(now), JsValue::from_f64(f64::from(max_attempts))],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn consume(&self, id: &str, now: Timestamp) -> Result<bool, StoreError> {
        let changed = self
            .changes(
                "UPDATE one_time_codes SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL AND expires_at > ?2",
                &[s(id), t(now)],
            )
            .await?;
        Ok(changed == 1)
    }
}

#[derive(Deserialize)]
struct LastSent {
    last_sent_at: f64,
}

impl SendLimits for D1Store {
    async fn claim(&self, address: &str, purpose: Purpose, now: Timestamp, interval_secs: i64) -> Result<Option<Timestamp>, StoreError> {
        // Compare-and-swap: the row is written only if absent or older than the interval.
        let claimed = self
            .changes(
                "INSERT INTO send_limits (address, purpose, last_sent_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (address, purpose) DO UPDATE SET last_sent_at = excluded.last_sent_at \
                 WHERE send_limits.last_sent_at <= ?4",
                &[s(address), s(purpose.as_str()), t(now), t(now.plus_secs(-interval_secs))],
            )
            .await?;
        if claimed == 1 {
            return Ok(None);
        }
        let last = self
            .first::<LastSent>(
                "SELECT last_sent_at FROM send_limits WHERE address = ?1 AND purpose = ?2",
                &[s(address), s(purpose.as_str())],
            )
            .await?;
        Ok(Some(last.map_or(now, |l| ts(l.last_sent_at))))
    }

    async fn release(&self, address: &str, purpose: Purpose, claimed_at: Timestamp) -> Result<(), StoreError> {
        self.changes(
            "DELETE FROM send_limits WHERE address = ?1 AND purpose = ?2 AND last_sent_at = ?3",
            &[s(address), s(purpose.as_str()), t(claimed_at)],
        )
        .await
        .map(|_| ())
    }
}

#[derive(Deserialize)]
struct LoginRequestRow {
    id: String,
    user_id: String,
    platform: String,
    link_hash: String,
    page_hash: Option<String>,
    state: String,
    created_at: f64,
    expires_at: f64,
}

impl LoginRequestRow {
    fn into_request(self) -> Result<LoginRequest, StoreError> {
        Ok(LoginRequest {
            state: LoginState::parse(&self.state)
                .ok_or_else(|| StoreError::Backend(format!("login_requests.state {:?}", self.state)))?,
            id: self.id,
            user_id: self.user_id,
            platform: self.platform,
            link_hash: self.link_hash,
            page_hash: self.page_hash,
            created_at: ts(self.created_at),
            expires_at: ts(self.expires_at),
        })
    }
}

const LOGIN_REQUEST_COLUMNS: &str = "id, user_id, platform, link_hash, page_hash, state, created_at, expires_at";

impl LoginRequests for D1Store {
    async fn put(&self, r: &LoginRequest) -> Result<(), StoreError> {
        let sql = format!("INSERT INTO login_requests ({LOGIN_REQUEST_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
        self.changes(
            &sql,
            &[
                s(&r.id),
                s(&r.user_id),
                s(&r.platform),
                s(&r.link_hash),
                opt_s(r.page_hash.as_deref()),
                s(r.state.as_str()),
                t(r.created_at),
                t(r.expires_at),
            ],
        )
        .await
        .map(|_| ())
    }

    async fn by_id(&self, id: &str) -> Result<Option<LoginRequest>, StoreError> {
        let sql = format!("SELECT {LOGIN_REQUEST_COLUMNS} FROM login_requests WHERE id = ?1");
        self.first::<LoginRequestRow>(&sql, &[s(id)]).await?.map(LoginRequestRow::into_request).transpose()
    }

    async fn by_link_hash(&self, link_hash: &str) -> Result<Option<LoginRequest>, StoreError> {
        let sql = format!("SELECT {LOGIN_REQUEST_COLUMNS} FROM login_requests WHERE link_hash = ?1");
        self.first::<LoginRequestRow>(&sql, &[s(link_hash)]).await?.map(LoginRequestRow::into_request).transpose()
    }

    async fn show_page(&self, id: &str, page_hash: &str, now: Timestamp) -> Result<bool, StoreError> {
        let changed = self
            .changes(
                "UPDATE login_requests SET page_hash = ?2 WHERE id = ?1 AND state = 'pending' AND expires_at > ?3",
                &[s(id), s(page_hash), t(now)],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn decide(&self, id: &str, page_hash: &str, to: LoginState, now: Timestamp) -> Result<bool, StoreError> {
        let changed = self
            .changes(
                "UPDATE login_requests SET state = ?3, page_hash = NULL \
                 WHERE id = ?1 AND state = 'pending' AND page_hash = ?2 AND expires_at > ?4",
                &[s(id), s(page_hash), s(to.as_str()), t(now)],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn claim(&self, id: &str, now: Timestamp) -> Result<bool, StoreError> {
        let changed = self
            .changes(
                "UPDATE login_requests SET state = 'claimed' WHERE id = ?1 AND state = 'confirmed' AND expires_at > ?2",
                &[s(id), t(now)],
            )
            .await?;
        Ok(changed == 1)
    }
}
