//! The `Sessions` port over `sessions`, `refresh_tokens` and `session_tokens`. The reads every
//! authenticated request makes join the session with its account (and its token), so each is
//! one round trip.

use super::{backend, opt_s, opt_t, s, t, ts, D1Store};
use super::users::UserRow;
use portcullis_shared::model::{
    AuthMethod, Dialect, FactorId, FactorKind, LogoutScope, SecondStep, RefreshToken, Session, SessionId, SessionToken, Timestamp, User, UserId,
};
use portcullis_shared::ports::{Sessions, StoreError};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

#[derive(Deserialize)]
struct SessionRow {
    id: SessionId,
    user_id: UserId,
    platform: String,
    method: String,
    dialect: Option<String>,
    created_at: f64,
    refreshed_at: Option<f64>,
    last_active_at: Option<f64>,
    revoked_at: Option<f64>,
    factor_id: Option<FactorId>,
    factor_type: Option<String>,
    aal2_at: Option<f64>,
}

impl SessionRow {
    fn into_session(self) -> Result<Session, StoreError> {
        Ok(Session {
            method: AuthMethod::parse(&self.method)
                .ok_or_else(|| StoreError::Backend(format!("sessions.method {:?}", self.method)))?,
            // NULL: stored before sessions recorded their dialect.
            dialect: match self.dialect.as_deref() {
                None => None,
                Some(d) => Some(Dialect::parse(d).ok_or_else(|| StoreError::Backend(format!("sessions.dialect {d:?}")))?),
            },
            id: self.id,
            user_id: self.user_id,
            platform: self.platform,
            created_at: ts(self.created_at),
            refreshed_at: ts(self.refreshed_at.unwrap_or(self.created_at)),
            last_active_at: ts(self.last_active_at.or(self.refreshed_at).unwrap_or(self.created_at)),
            revoked_at: self.revoked_at.map(ts),
            second: match (self.factor_id, self.factor_type.as_deref(), self.aal2_at) {
                (Some(factor_id), Some(kind), Some(at)) => Some(SecondStep {
                    factor_id,
                    kind: FactorKind::parse(kind).ok_or_else(|| StoreError::Backend(format!("sessions.factor_type {kind:?}")))?,
                    at: ts(at),
                }),
                _ => None,
            },
        })
    }
}

const SESSION_COLUMNS: &str = "id, user_id, platform, method, dialect, created_at, refreshed_at, last_active_at, \
    revoked_at, factor_id, factor_type, aal2_at";

/// A session joined with its account: the session's columns prefixed `s_`, the user's as they
/// are.
#[derive(Deserialize)]
struct SessionUserRow {
    s_id: SessionId,
    s_user_id: UserId,
    s_platform: String,
    s_method: String,
    s_dialect: Option<String>,
    s_created_at: f64,
    s_refreshed_at: Option<f64>,
    s_last_active_at: Option<f64>,
    s_revoked_at: Option<f64>,
    s_factor_id: Option<FactorId>,
    s_factor_type: Option<String>,
    s_aal2_at: Option<f64>,
    #[serde(flatten)]
    user: UserRow,
}

impl SessionUserRow {
    fn into_parts(self) -> Result<(Session, User), StoreError> {
        let session = SessionRow {
            id: self.s_id,
            user_id: self.s_user_id,
            platform: self.s_platform,
            method: self.s_method,
            dialect: self.s_dialect,
            created_at: self.s_created_at,
            refreshed_at: self.s_refreshed_at,
            last_active_at: self.s_last_active_at,
            revoked_at: self.s_revoked_at,
            factor_id: self.s_factor_id,
            factor_type: self.s_factor_type,
            aal2_at: self.s_aal2_at,
        }
        .into_session()?;
        Ok((session, self.user.into_user()?))
    }
}

/// The columns of a [`SessionUserRow`], from `sessions s JOIN users u`.
const SESSION_USER_COLUMNS: &str = "s.id AS s_id, s.user_id AS s_user_id, s.platform AS s_platform, \
    s.method AS s_method, s.dialect AS s_dialect, s.created_at AS s_created_at, s.refreshed_at AS s_refreshed_at, \
    s.last_active_at AS s_last_active_at, s.revoked_at AS s_revoked_at, s.factor_id AS s_factor_id, \
    s.factor_type AS s_factor_type, s.aal2_at AS s_aal2_at, u.id, u.email, u.username, \
    u.password_hash, u.email_confirmed_at, u.last_sign_in_at, u.user_metadata, u.app_metadata, u.banned_until, \
    u.is_anonymous, u.deleted_at, u.created_at, u.updated_at, u.mfa, u.providers, u.made_by";

/// A token (refresh or session) with its session and account; the token's columns prefixed
/// `t_`. Session tokens have no `parent_id` or `used_at`.
#[derive(Deserialize)]
struct TokenRow {
    t_id: String,
    t_session_id: SessionId,
    t_secret_hash: String,
    t_created_at: f64,
    #[serde(default)]
    t_parent_id: Option<String>,
    #[serde(default)]
    t_used_at: Option<f64>,
    #[serde(flatten)]
    rest: SessionUserRow,
}

#[derive(Deserialize)]
struct UsedAt {
    used_at: Option<f64>,
}

impl D1Store {
    /// The token `id` of `table` (`session_tokens` or `refresh_tokens`) with its session and
    /// account, in one read; `extra` selects that table's further columns as `t_<name>, `.
    async fn token_with_session(&self, table: &str, extra: &str, id: &str) -> Result<Option<TokenRow>, StoreError> {
        let sql = format!(
            "SELECT t.id AS t_id, t.session_id AS t_session_id, t.secret_hash AS t_secret_hash, \
             t.created_at AS t_created_at, {extra}{SESSION_USER_COLUMNS} FROM {table} t \
             JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id WHERE t.id = ?1"
        );
        self.first::<TokenRow>(&sql, &[s(id)]).await
    }

    /// A new session and the sign-in it records, to batch with its first credential.
    /// The session row and the sign-in time; with `while_password`, both only if the account's
    /// password hash is still that one when the batch runs (statements that follow in the
    /// batch check that the session exists).
    fn session_start(&self, session: &Session, while_password: Option<&str>, while_mfa: Option<bool>)
        -> Result<[D1PreparedStatement; 2], StoreError> {
        Ok([
            self.stmt(
                &format!(
                    "INSERT INTO sessions ({SESSION_COLUMNS}) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?11, ?12, ?13 \
                     WHERE EXISTS (SELECT 1 FROM users WHERE id = ?2 AND deleted_at IS NULL \
                       AND (banned_until IS NULL OR banned_until <= ?6) AND (?10 IS NULL OR password_hash = ?10) \
                       AND (?14 IS NULL OR (mfa = 2) = ?14))"
                ),
                &[
                    s(&session.id),
                    s(&session.user_id),
                    s(&session.platform),
                    s(session.method.as_str()),
                    opt_s(session.dialect.map(Dialect::as_str)),
                    t(session.created_at),
                    t(session.refreshed_at),
                    t(session.last_active_at),
                    opt_t(session.revoked_at),
                    opt_s(while_password),
                    opt_s(session.second.as_ref().map(|st| st.factor_id.as_str())),
                    opt_s(session.second.as_ref().map(|st| st.kind.as_str())),
                    opt_t(session.second.as_ref().map(|st| st.at)),
                    while_mfa.map_or(JsValue::NULL, |on| JsValue::from_f64(if on { 1.0 } else { 0.0 })),
                ],
            )?,
            self.stmt(
                "UPDATE users SET last_sign_in_at = ?2 WHERE id = ?1 AND EXISTS (SELECT 1 FROM sessions WHERE id = ?3)",
                &[s(&session.user_id), t(session.created_at), s(&session.id)],
            )?,
        ])
    }
}

impl Sessions for D1Store {
    async fn start(&self, session: &Session, token: &RefreshToken, while_password: Option<&str>, while_mfa: Option<bool>)
        -> Result<bool, StoreError> {
        let mut statements = self.session_start(session, while_password, while_mfa)?.to_vec();
        statements.push(self.insert_refresh("INSERT", token)?);
        let results = self.batch(statements).await?;
        Ok(super::changed(results.first())? > 0)
    }

    async fn start_with_token(&self, session: &Session, token: &SessionToken) -> Result<bool, StoreError> {
        let mut statements = self.session_start(session, None, None)?.to_vec();
        statements.push(self.stmt(
            "INSERT INTO session_tokens (id, session_id, secret_hash, created_at) SELECT ?1, ?2, ?3, ?4 \
             WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ?2)",
            &[s(&token.id), s(&token.session_id), s(&token.secret_hash), t(token.created_at)],
        )?);
        let results = self.batch(statements).await?;
        Ok(super::changed(results.first())? > 0)
    }

    async fn get(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1");
        self.first::<SessionRow>(&sql, &[s(id)]).await?.map(SessionRow::into_session).transpose()
    }

    async fn with_user(&self, id: &SessionId) -> Result<Option<(Session, User)>, StoreError> {
        let sql = format!("SELECT {SESSION_USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?1");
        self.first::<SessionUserRow>(&sql, &[s(id)]).await?.map(SessionUserRow::into_parts).transpose()
    }

    async fn list(&self, user_id: &UserId) -> Result<Vec<Session>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = ?1 AND revoked_at IS NULL");
        let rows = self.stmt(&sql, &[s(user_id)])?.all().await.map_err(backend)?;
        rows.results::<SessionRow>()
            .map_err(backend)?
            .into_iter()
            .map(SessionRow::into_session)
            .collect()
    }

    async fn session_token(&self, id: &str) -> Result<Option<(SessionToken, Session, User)>, StoreError> {
        let Some(row) = self.token_with_session("session_tokens", "", id).await? else { return Ok(None) };
        let token = SessionToken {
            id: row.t_id,
            session_id: row.t_session_id,
            secret_hash: row.t_secret_hash,
            created_at: ts(row.t_created_at),
        };
        let (session, user) = row.rest.into_parts()?;
        Ok(Some((token, session, user)))
    }

    async fn touch(&self, id: &SessionId, at: Timestamp, unless_since: Timestamp) -> Result<(), StoreError> {
        self.changes(
            "UPDATE sessions SET last_active_at = ?2 WHERE id = ?1 AND (last_active_at IS NULL OR last_active_at < ?3)",
            &[s(id), t(at), t(unless_since)],
        )
        .await
        .map(|_| ())
    }

    async fn revoke(&self, user_id: &UserId, current: &SessionId, scope: LogoutScope, at: Timestamp) -> Result<usize, StoreError> {
        let which = match scope {
            LogoutScope::Local => "AND id = ?2",
            // Always true; keeps ?2 bound so all three statements take the same arguments.
            LogoutScope::Global => "AND ?2 IS NOT NULL",
            LogoutScope::Others => "AND id != ?2",
            other => return Err(StoreError::Backend(format!("logout scope {other:?} is not supported by D1Store"))),
        };
        let sql = format!("UPDATE sessions SET revoked_at = ?3 WHERE user_id = ?1 AND revoked_at IS NULL {which}");
        if scope == LogoutScope::Local {
            return self.changes(&sql, &[s(user_id), s(current), t(at)]).await;
        }
        // With the sessions, the auth codes not yet exchanged for one: one batch.
        let results = self
            .batch(vec![
                self.stmt(&sql, &[s(user_id), s(current), t(at)])?,
                self.stmt("DELETE FROM flow_states WHERE user_id = ?1", &[s(user_id)])?,
            ])
            .await?;
        super::changed(results.first())
    }

    async fn refresh_token(&self, id: &str) -> Result<Option<(RefreshToken, Session, User)>, StoreError> {
        let extra = "t.parent_id AS t_parent_id, t.used_at AS t_used_at, ";
        let Some(row) = self.token_with_session("refresh_tokens", extra, id).await? else { return Ok(None) };
        let token = RefreshToken {
            id: row.t_id,
            session_id: row.t_session_id,
            secret_hash: row.t_secret_hash,
            parent_id: row.t_parent_id,
            created_at: ts(row.t_created_at),
            used_at: row.t_used_at.map(ts),
        };
        let (session, user) = row.rest.into_parts()?;
        Ok(Some((token, session, user)))
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
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ?2)"
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
