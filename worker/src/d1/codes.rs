//! The `Codes` port over `one_time_codes`: tries and use are compare-and-swap updates.

use super::{opt_s, opt_t, s, t, ts, D1Store};
use portcullis_shared::model::{CodeId, OneTimeCode, PkceChallenge, PkceMethod, Purpose, Timestamp, UserId};
use portcullis_shared::ports::{Codes, StoreError, StoreWhile};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

#[derive(Deserialize)]
struct CodeRow {
    id: CodeId,
    user_id: UserId,
    purpose: String,
    code_hash: String,
    link_hash: String,
    sent_to: String,
    created_at: f64,
    expires_at: f64,
    attempts: f64,
    used_at: Option<f64>,
    /// `OneTimeCode::keeps_attempt` (the column is named from before it kept metadata too).
    keeps_password: f64,
    pair_id: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
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
            keeps_attempt: self.keeps_password != 0.0,
            pair_id: self.pair_id,
            pkce: match (self.code_challenge, self.code_challenge_method) {
                (Some(challenge), Some(method)) => Some(PkceChallenge {
                    method: PkceMethod::parse(&method)
                        .ok_or_else(|| StoreError::Backend(format!("one_time_codes.code_challenge_method {method:?}")))?,
                    challenge,
                }),
                (None, None) => None,
                // Half a challenge is no "no PKCE": fail closed.
                _ => return Err(StoreError::Backend("one_time_codes: half a PKCE challenge".into())),
            },
        })
    }
}

const CODE_COLUMNS: &str =
    "id, user_id, purpose, code_hash, link_hash, sent_to, created_at, expires_at, attempts, used_at, keeps_password, pair_id, \
     code_challenge, code_challenge_method";

impl Codes for D1Store {
    async fn put(&self, c: &OneTimeCode) -> Result<(), StoreError> {
        self.batch(self.put_statements(c, None)?.to_vec()).await.map(|_| ())
    }

    async fn put_while(&self, codes: &[OneTimeCode], cond: &StoreWhile) -> Result<bool, StoreError> {
        // One batch: every statement is conditional on the same state, which none of them
        // changes, so either all land or none. The last insert's count says which.
        let mut statements = Vec::with_capacity(codes.len() * 2);
        for c in codes {
            statements.extend(self.put_statements(c, Some(cond))?);
        }
        let results = self.batch(statements).await?;
        Ok(codes.is_empty() || super::changed(results.last())? > 0)
    }

    async fn forfeit_keep(&self, user_id: &UserId, purpose: Purpose) -> Result<(), StoreError> {
        self.changes(
            "UPDATE one_time_codes SET keeps_password = 0 WHERE user_id = ?1 AND purpose = ?2",
            &[s(user_id), s(purpose.as_str())],
        )
        .await
        .map(|_| ())
    }

    async fn for_user(&self, user_id: &UserId, purpose: Purpose) -> Result<Option<OneTimeCode>, StoreError> {
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

    async fn take_attempt(&self, id: &CodeId, now: Timestamp, max_attempts: u32) -> Result<bool, StoreError> {
        let changed = self
            .changes(
                "UPDATE one_time_codes SET attempts = attempts + 1 \
                 WHERE id = ?1 AND used_at IS NULL AND expires_at > ?2 AND attempts < ?3",
                &[s(id), t(now), JsValue::from_f64(f64::from(max_attempts))],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn consume(&self, id: &CodeId, now: Timestamp) -> Result<bool, StoreError> {
        let changed = self
            .changes(
                "UPDATE one_time_codes SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL AND expires_at > ?2",
                &[s(id), t(now)],
            )
            .await?;
        Ok(changed == 1)
    }
}

impl D1Store {
    /// Replacing the user's live code of the purpose: delete, then insert; with `cond`, each
    /// only while it holds ([`holds`]).
    fn put_statements(&self, c: &OneTimeCode, cond: Option<&StoreWhile>) -> Result<[D1PreparedStatement; 2], StoreError> {
        let (delete_if, insert_if, seen) = match cond {
            None => (String::new(), String::new(), Vec::new()),
            Some(cond) => (
                format!(" AND {}", holds(1, 3, 4, 5)),
                format!(" WHERE {}", holds(2, 15, 16, 17)),
                vec![opt_s(cond.email.as_deref()), opt_t(cond.email_confirmed_at), opt_s(cond.session.as_ref().map(|s| s.as_str()))],
            ),
        };
        let delete = format!("DELETE FROM one_time_codes WHERE user_id = ?1 AND purpose = ?2{delete_if}");
        let insert = format!(
            "INSERT INTO one_time_codes ({CODE_COLUMNS}) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14{insert_if}"
        );
        let mut delete_args = vec![s(&c.user_id), s(c.purpose.as_str())];
        delete_args.extend(seen.iter().cloned());
        let mut insert_args = code_values(c).to_vec();
        insert_args.extend(seen);
        Ok([self.stmt(&delete, &delete_args)?, self.stmt(&insert, &insert_args)?])
    }
}

/// A code's columns, in [`CODE_COLUMNS`]' order.
fn code_values(c: &OneTimeCode) -> [JsValue; 14] {
    [
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
        JsValue::from_f64(if c.keeps_attempt { 1.0 } else { 0.0 }),
        opt_s(c.pair_id.as_deref()),
        opt_s(c.pkce.as_ref().map(|p| p.challenge.as_str())),
        opt_s(c.pkce.as_ref().map(|p| p.method.as_str())),
    ]
}

/// The condition of [`Codes::put_while`], over numbered parameters: the account (`user`) has
/// the address (`email`) and confirmation time (`confirmed`) the flow saw, and the session
/// (`session`, NULL for none) is the account's and live.
fn holds(user: u8, email: u8, confirmed: u8, session: u8) -> String {
    format!(
        "EXISTS (SELECT 1 FROM users WHERE id = ?{user} AND email IS ?{email} AND email_confirmed_at IS ?{confirmed}) \
         AND (?{session} IS NULL OR EXISTS (SELECT 1 FROM sessions WHERE id = ?{session} AND user_id = ?{user} AND revoked_at IS NULL))"
    )
}
