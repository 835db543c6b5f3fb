//! The `Users` port over the `users` table.

use super::{opt_s, opt_t, s, t, ts, D1Store};
use portcullis_shared::model::{MfaState, Purpose, SessionId, Timestamp, User, UserId};
use portcullis_shared::ports::{AccountName, FirstProof, StoreError, Users};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

/// The condition of a write a session asked for (`?4`, the session id, or NULL for none): it
/// lands only while that session of the account is live.
const WHILE_SESSION: &str =
    "AND (?4 IS NULL OR EXISTS (SELECT 1 FROM sessions WHERE id = ?4 AND user_id = ?1 AND revoked_at IS NULL))";

/// The select of the account `name` names, its name bound as `?1`. A username matches the
/// unique index on lower(username); usernames are ASCII, which SQLite's lower() folds.
pub(crate) fn user_by(name: AccountName<'_>) -> String {
    let column = match name {
        AccountName::Email(_) => "email = ?1",
        AccountName::Username(_) => "lower(username) = lower(?1)",
    };
    format!("SELECT {USER_COLUMNS} FROM users WHERE {column}")
}

/// A `users` row, as selected with [`USER_COLUMNS`].
#[derive(Deserialize)]
pub(crate) struct UserRow {
    id: UserId,
    email: Option<String>,
    username: Option<String>,
    password_hash: Option<String>,
    email_confirmed_at: Option<f64>,
    last_sign_in_at: Option<f64>,
    user_metadata: String,
    app_metadata: String,
    banned_until: Option<f64>,
    is_anonymous: f64,
    deleted_at: Option<f64>,
    created_at: f64,
    updated_at: f64,
    mfa: f64,
    providers: String,
    made_by: Option<String>,
}

impl UserRow {
    pub(crate) fn into_user(self) -> Result<User, StoreError> {
        Ok(User {
            id: self.id,
            email: self.email,
            username: self.username,
            password_hash: self.password_hash,
            email_confirmed_at: self.email_confirmed_at.map(ts),
            last_sign_in_at: self.last_sign_in_at.map(ts),
            user_metadata: serde_json::from_str(&self.user_metadata)
                .map_err(|e| StoreError::Backend(format!("users.user_metadata: {e}")))?,
            app_metadata: serde_json::from_str(&self.app_metadata)
                .map_err(|e| StoreError::Backend(format!("users.app_metadata: {e}")))?,
            banned_until: self.banned_until.map(ts),
            is_anonymous: self.is_anonymous != 0.0,
            deleted_at: self.deleted_at.map(ts),
            created_at: ts(self.created_at),
            updated_at: ts(self.updated_at),
            mfa: MfaState::from_i64(self.mfa as i64),
            providers: serde_json::from_str(&self.providers)
                .map_err(|e| StoreError::Backend(format!("users.providers: {e}")))?,
            made_by: self.made_by,
        })
    }
}

pub(crate) const USER_COLUMNS: &str = "id, email, username, password_hash, email_confirmed_at, last_sign_in_at, \
                            user_metadata, app_metadata, banned_until, is_anonymous, deleted_at, created_at, updated_at, mfa, providers, made_by";

impl Users for D1Store {
    async fn insert(&self, u: &User) -> Result<(), StoreError> {
        self.insert_statement(u)?.run().await.map_err(super::backend).map(|_| ())
    }

    async fn by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.first::<UserRow>(&user_by(AccountName::Email(email)), &[s(email)]).await?.map(UserRow::into_user).transpose()
    }

    async fn by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
        self.first::<UserRow>(&sql, &[s(id)]).await?.map(UserRow::into_user).transpose()
    }

    async fn by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.first::<UserRow>(&user_by(AccountName::Username(username)), &[s(username)]).await?.map(UserRow::into_user).transpose()
    }

    async fn confirm_email(&self, id: &UserId, at: Timestamp) -> Result<(), StoreError> {
        self.changes(
            "UPDATE users SET email_confirmed_at = ?2, is_anonymous = 0, updated_at = ?2 WHERE id = ?1 AND email_confirmed_at IS NULL",
            &[s(id), t(at)],
        )
        .await
        .map(|_| ())
    }

    async fn set_password_hash(&self, id: &UserId, hash: &str, at: Timestamp, while_session: Option<&SessionId>) -> Result<bool, StoreError> {
        let sql = format!("UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1 {WHILE_SESSION}");
        Ok(self.changes(&sql, &[s(id), s(hash), t(at), opt_s(while_session.map(SessionId::as_str))]).await? > 0)
    }

    async fn rehash_password(&self, id: &UserId, old: &str, new: &str, at: Timestamp) -> Result<bool, StoreError> {
        let changed = self
            .changes(
                "UPDATE users SET password_hash = ?3, updated_at = ?4 WHERE id = ?1 AND password_hash = ?2",
                &[s(id), s(old), s(new), t(at)],
            )
            .await?;
        Ok(changed > 0)
    }

    async fn clear_password(&self, id: &UserId, at: Timestamp) -> Result<(), StoreError> {
        self.changes(
            "UPDATE users SET password_hash = NULL, updated_at = ?2 WHERE id = ?1",
            &[s(id), t(at)],
        )
        .await
        .map(|_| ())
    }

    async fn set_email(&self, id: &UserId, email: &str, confirmed: bool, at: Timestamp) -> Result<(), StoreError> {
        let sql = match confirmed {
            true => "UPDATE users SET email = ?2, email_confirmed_at = ?3, is_anonymous = 0, updated_at = ?3 WHERE id = ?1",
            false => "UPDATE users SET email = ?2, email_confirmed_at = NULL, updated_at = ?3 WHERE id = ?1",
        };
        self.changes(sql, &[s(id), s(email), t(at)]).await.map(|_| ())
    }

    async fn set_app_metadata(&self, id: &UserId, metadata: &serde_json::Value, at: Timestamp) -> Result<(), StoreError> {
        self.changes(
            "UPDATE users SET app_metadata = ?2, updated_at = ?3 WHERE id = ?1",
            &[s(id), s(metadata.to_string()), t(at)],
        )
        .await
        .map(|_| ())
    }

    async fn set_banned_until(&self, id: &UserId, until: Option<Timestamp>, at: Timestamp) -> Result<(), StoreError> {
        self.changes("UPDATE users SET banned_until = ?2, updated_at = ?3 WHERE id = ?1", &[s(id), opt_t(until), t(at)])
            .await
            .map(|_| ())
    }

    async fn page(&self, offset: u64, limit: u32) -> Result<(Vec<User>, u64), StoreError> {
        #[derive(Deserialize)]
        struct Count {
            n: f64,
        }
        let list = format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at DESC, id LIMIT ?1 OFFSET ?2");
        let results = self
            .batch(vec![
                self.stmt(&list, &[JsValue::from_f64(f64::from(limit)), JsValue::from_f64(offset as f64)])?,
                self.stmt("SELECT COUNT(*) AS n FROM users", &[])?,
            ])
            .await?;
        let mut results = results.into_iter();
        let rows: Vec<UserRow> = results.next().map(|r| r.results()).transpose().map_err(super::backend)?.unwrap_or_default();
        let total = results
            .next()
            .map(|r| r.results::<Count>())
            .transpose()
            .map_err(super::backend)?
            .and_then(|c| c.first().map(|c| c.n as u64))
            .unwrap_or(0);
        Ok((rows.into_iter().map(UserRow::into_user).collect::<Result<_, _>>()?, total))
    }

    async fn soft_delete(&self, id: &UserId, at: Timestamp) -> Result<bool, StoreError> {
        // One batch (atomic): what hangs off the account goes, and the account is emptied.
        let results = self
            .batch(vec![
                self.stmt("DELETE FROM sessions WHERE user_id = ?1", &[s(id)])?,
                self.stmt("DELETE FROM one_time_codes WHERE user_id = ?1", &[s(id)])?,
                self.stmt("DELETE FROM login_requests WHERE user_id = ?1", &[s(id)])?,
                self.stmt("DELETE FROM flow_states WHERE user_id = ?1", &[s(id)])?,
                self.stmt("DELETE FROM mfa_factors WHERE user_id = ?1", &[s(id)])?,
                self.stmt("DELETE FROM passkeys WHERE user_id = ?1", &[s(id)])?,
                self.stmt("DELETE FROM passkey_challenges WHERE user_id = ?1", &[s(id)])?,
                self.stmt("DELETE FROM identities WHERE user_id = ?1", &[s(id)])?,
                self.stmt(
                    "UPDATE users SET email = NULL, username = NULL, password_hash = NULL, user_metadata = '{}', \
                     app_metadata = '{}', mfa = 0, providers = '[]', made_by = NULL, deleted_at = COALESCE(deleted_at, ?2), updated_at = ?2 WHERE id = ?1",
                    &[s(id), t(at)],
                )?,
            ])
            .await?;
        Ok(super::changed(results.last())? > 0)
    }

    async fn set_metadata(&self, id: &UserId, metadata: &serde_json::Value, at: Timestamp, while_session: Option<&SessionId>) -> Result<bool, StoreError> {
        let sql = format!("UPDATE users SET user_metadata = ?2, updated_at = ?3 WHERE id = ?1 {WHILE_SESSION}");
        Ok(self.changes(&sql, &[s(id), s(metadata.to_string()), t(at), opt_s(while_session.map(SessionId::as_str))]).await? > 0)
    }

    async fn first_proof(&self, id: &UserId, proof: FirstProof<'_>, at: Timestamp) -> Result<(), StoreError> {
        // One batch, one transaction: a sign-in that checked the old password stores its
        // session either before (and is ended here) or after (and finds the password gone:
        // `Sessions::start` is conditional on it); a write its session asked for lands before
        // (and is undone here) or not at all (`WHILE_SESSION`).
        let forget = if proof.forget { 1.0 } else { 0.0 };
        let session_codes = [Purpose::EmailChange, Purpose::EmailChangeCurrent, Purpose::Reauthentication];
        let mut statements = vec![
            self.stmt(
                "UPDATE users SET email = COALESCE(?2, email), \
                 email_confirmed_at = CASE WHEN ?2 IS NULL THEN COALESCE(email_confirmed_at, ?4) ELSE ?4 END, \
                 password_hash = CASE WHEN ?3 THEN NULL ELSE password_hash END, \
                 user_metadata = CASE WHEN ?3 THEN '{}' ELSE user_metadata END, \
                 providers = CASE WHEN ?3 THEN '[]' ELSE providers END, \
                 made_by = CASE WHEN ?3 THEN NULL ELSE made_by END, \
                 mfa = 0, is_anonymous = 0, updated_at = ?4 WHERE id = ?1",
                &[s(id), opt_s(proof.new_email), JsValue::from_f64(forget), t(at)],
            )?,
            self.stmt("UPDATE sessions SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL", &[s(id), t(at)])?,
            self.stmt("DELETE FROM flow_states WHERE user_id = ?1", &[s(id)])?,
            // Whoever enrolled a factor before the address was proven had not proven it.
            self.stmt("DELETE FROM mfa_factors WHERE user_id = ?1", &[s(id)])?,
            // And whoever registered a passkey: it would sign in to the account the proof owns.
            self.stmt("DELETE FROM passkeys WHERE user_id = ?1", &[s(id)])?,
            self.stmt(
                "DELETE FROM one_time_codes WHERE user_id = ?1 AND purpose IN (?2, ?3, ?4)",
                &[s(id), s(session_codes[0].as_str()), s(session_codes[1].as_str()), s(session_codes[2].as_str())],
            )?,
        ];
        if proof.forget {
            // Like the password: whoever linked them may not be the mailbox's owner.
            statements.push(self.stmt("DELETE FROM identities WHERE user_id = ?1", &[s(id)])?);
        }
        self.batch(statements).await.map(|_| ())
    }

    async fn delete(&self, id: &UserId) -> Result<bool, StoreError> {
        // D1 enforces foreign keys: sessions (with their tokens), codes, sign-in requests and
        // identities go with the account by ON DELETE CASCADE, in this one statement.
        Ok(self.changes("DELETE FROM users WHERE id = ?1", &[s(id)]).await? > 0)
    }
}

impl D1Store {
    /// The insert of a new account (a conflict on its address or username fails it: see
    /// [`super::backend`]).
    pub(crate) fn insert_statement(&self, u: &User) -> Result<D1PreparedStatement, StoreError> {
        let sql = format!("INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
        self.stmt(
            &sql,
            &[
                s(&u.id),
                opt_s(u.email.as_deref()),
                opt_s(u.username.as_deref()),
                opt_s(u.password_hash.as_deref()),
                opt_t(u.email_confirmed_at),
                opt_t(u.last_sign_in_at),
                s(u.user_metadata.to_string()),
                s(u.app_metadata.to_string()),
                opt_t(u.banned_until),
                JsValue::from_f64(if u.is_anonymous { 1.0 } else { 0.0 }),
                opt_t(u.deleted_at),
                t(u.created_at),
                t(u.updated_at),
                JsValue::from_f64(u.mfa.as_i64() as f64),
                s(serde_json::Value::from(u.providers.clone()).to_string()),
                opt_s(u.made_by.as_deref()),
            ],
        )
    }
}
