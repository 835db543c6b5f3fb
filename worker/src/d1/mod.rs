//! The storage ports over Cloudflare D1 (SQLite at the edge).
//!
//! D1 gives read-after-write, so everything that must be consistent (codes, sessions) lives
//! here. Single-use and attempt caps are compare-and-swap `UPDATE ... WHERE` statements whose
//! changed-row count says who won; writes that belong together go in one `batch` (atomic).
//! Timestamps are unix milliseconds bound as JS numbers (exact below 2^53; D1's integer binding
//! is only 32-bit). D1 reports a UNIQUE violation as a generic error: it is recognised by its
//! text and mapped to `StoreError::Conflict`.
//!
//! One file per port trait (`users`, `sessions`, `codes`, `send_limits`, `login_requests`,
//! `budgets`, `flow_states`, `factors`, `passkeys`, `recovery_codes`, `identities`, `oauth_flows`, `housekeeping`); this module holds the store and the binding
//! helpers they share.

mod budgets;
mod codes;
mod factors;
mod flow_states;
mod identities;
mod oauth_flows;
mod passkeys;
mod recovery_codes;
mod housekeeping;
mod login_requests;
mod send_limits;
mod sessions;
mod users;

use portcullis_shared::model::Timestamp;
use portcullis_shared::ports::StoreError;
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

    pub(crate) fn stmt(&self, sql: &str, args: &[JsValue]) -> Result<D1PreparedStatement, StoreError> {
        self.db.prepare(sql).bind(args).map_err(backend)
    }

    pub(crate) async fn first<T: for<'de> Deserialize<'de>>(&self, sql: &str, args: &[JsValue]) -> Result<Option<T>, StoreError> {
        self.stmt(sql, args)?.first::<T>(None).await.map_err(backend)
    }

    /// Runs a statement and returns how many rows it changed.
    pub(crate) async fn changes(&self, sql: &str, args: &[JsValue]) -> Result<usize, StoreError> {
        let result = self.stmt(sql, args)?.run().await.map_err(backend)?;
        changed(Some(&result))
    }

    pub(crate) async fn batch(&self, statements: Vec<D1PreparedStatement>) -> Result<Vec<worker::D1Result>, StoreError> {
        self.db.batch(statements).await.map_err(backend)
    }
}

/// How many rows a statement's result (one of a batch's, say) says it changed; 0 for none.
pub(crate) fn changed(result: Option<&worker::D1Result>) -> Result<usize, StoreError> {
    let meta = result.map(worker::D1Result::meta).transpose().map_err(backend)?.flatten();
    Ok(meta.and_then(|m| m.changes).unwrap_or(0))
}

pub(crate) fn backend(e: worker::Error) -> StoreError {
    let text = e.to_string();
    if text.contains("UNIQUE constraint failed: users.email") {
        StoreError::Conflict("email")
    } else if text.contains("users_username") {
        StoreError::Conflict("username")
    } else if text.contains("UNIQUE constraint failed: identities.provider") {
        StoreError::Conflict("identity")
    } else if text.contains("UNIQUE constraint failed") {
        StoreError::Conflict("record")
    } else {
        StoreError::Backend(text)
    }
}

/// A text binding: any string, or a typed id as its string.
pub(crate) fn s(v: impl AsRef<str>) -> JsValue {
    JsValue::from_str(v.as_ref())
}

pub(crate) fn opt_s(v: Option<&str>) -> JsValue {
    v.map_or(JsValue::NULL, s)
}

pub(crate) fn t(v: Timestamp) -> JsValue {
    JsValue::from_f64(v.0 as f64)
}

pub(crate) fn opt_t(v: Option<Timestamp>) -> JsValue {
    v.map_or(JsValue::NULL, t)
}

pub(crate) fn ts(ms: f64) -> Timestamp {
    Timestamp(ms as i64)
}
