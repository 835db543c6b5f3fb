//! The `Identities` port over `identities`. A link is one conditional `INSERT ... SELECT` whose
//! `WHERE` is the account as the flow saw it, so that nothing lands once a first proof of the
//! mailbox (or a deletion) overtook it; whether the subject is free is the unique index's to
//! say, in the same statement: its conflict is `Taken`, no row inserted is `Changed`. A new
//! account with its first identity is one batch (all or nothing). Every write of an account's
//! identities rewrites its `users.providers` in the same batch ([`NOTE_PROVIDERS`]).

use super::{backend, opt_s, opt_t, s, t, ts, D1Store};
use portcullis_shared::model::{Identity, IdentityId, Timestamp, User, UserId};
use portcullis_shared::ports::{Identities, IdentityAdded, StoreError, StoreWhile};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

/// Rewrites the account's (`?1`) `providers` from its identities: each provider once, in the
/// order it was first linked. Runs in the batch of every write of an account's identities.
const NOTE_PROVIDERS: &str = "UPDATE users SET providers = (SELECT json_group_array(provider) FROM \
    (SELECT provider FROM identities WHERE user_id = ?1 GROUP BY provider ORDER BY MIN(created_at), MIN(id))) WHERE id = ?1";

const IDENTITY_COLUMNS: &str = "id, user_id, provider, subject, email, data, created_at, updated_at, last_sign_in_at";

/// An `identities` row, as selected with [`IDENTITY_COLUMNS`].
#[derive(Deserialize)]
struct IdentityRow {
    id: IdentityId,
    user_id: UserId,
    provider: String,
    subject: String,
    email: Option<String>,
    data: String,
    created_at: f64,
    updated_at: f64,
    last_sign_in_at: Option<f64>,
}

impl IdentityRow {
    fn into_identity(self) -> Result<Identity, StoreError> {
        Ok(Identity {
            data: serde_json::from_str(&self.data).map_err(|e| StoreError::Backend(format!("identities {}: data: {e}", self.id)))?,
            id: self.id,
            user_id: self.user_id,
            provider: self.provider,
            subject: self.subject,
            email: self.email,
            created_at: ts(self.created_at),
            updated_at: ts(self.updated_at),
            last_sign_in_at: self.last_sign_in_at.map(ts),
        })
    }
}

/// An identity's columns, in [`IDENTITY_COLUMNS`]' order (`?1` to `?9`).
fn identity_values(i: &Identity) -> Vec<JsValue> {
    vec![
        s(&i.id),
        s(&i.user_id),
        s(&i.provider),
        s(&i.subject),
        opt_s(i.email.as_deref()),
        s(i.data.to_string()),
        t(i.created_at),
        t(i.updated_at),
        opt_t(i.last_sign_in_at),
    ]
}

impl D1Store {
    /// The insert of `i`, followed by `condition` (over `?10` on), if any.
    fn identity_insert(&self, i: &Identity, condition: &str, more: Vec<JsValue>) -> Result<D1PreparedStatement, StoreError> {
        let mut args = identity_values(i);
        args.extend(more);
        self.stmt(
            &format!("INSERT INTO identities ({IDENTITY_COLUMNS}) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 {condition}"),
            &args,
        )
    }
}

impl Identities for D1Store {
    async fn identity(&self, provider: &str, subject: &str) -> Result<Option<Identity>, StoreError> {
        let sql = format!("SELECT {IDENTITY_COLUMNS} FROM identities WHERE provider = ?1 AND subject = ?2");
        self.first::<IdentityRow>(&sql, &[s(provider), s(subject)]).await?.map(IdentityRow::into_identity).transpose()
    }

    async fn identities_of(&self, user_id: &UserId) -> Result<Vec<Identity>, StoreError> {
        let sql = format!("SELECT {IDENTITY_COLUMNS} FROM identities WHERE user_id = ?1 ORDER BY created_at, id");
        let rows = self.stmt(&sql, &[s(user_id)])?.all().await.map_err(backend)?;
        rows.results::<IdentityRow>().map_err(backend)?.into_iter().map(IdentityRow::into_identity).collect()
    }

    async fn insert_with_identity(&self, user: &User, identity: &Identity) -> Result<(), StoreError> {
        // One batch, one transaction: the account's insert fails on a taken address
        // (`Conflict("email")`), the identity's on a taken subject (`Conflict("identity")`), and
        // either failure undoes both.
        self.batch(vec![
            self.insert_statement(user)?,
            self.identity_insert(identity, "", Vec::new())?,
            self.stmt(NOTE_PROVIDERS, &[s(&user.id)])?,
        ])
        .await
        .map(|_| ())
    }

    async fn add_identity(&self, identity: &Identity, seen: &StoreWhile) -> Result<IdentityAdded, StoreError> {
        // `IS`, not `=`: an address or confirmation seen as NULL must still be NULL.
        let insert = self.identity_insert(
            identity,
            "WHERE EXISTS (SELECT 1 FROM users WHERE id = ?2 AND deleted_at IS NULL AND email IS ?10 AND email_confirmed_at IS ?11) \
             AND (?12 IS NULL OR EXISTS (SELECT 1 FROM sessions WHERE id = ?12 AND user_id = ?2 AND revoked_at IS NULL))",
            vec![
                opt_s(seen.email.as_deref()),
                opt_t(seen.email_confirmed_at),
                opt_s(seen.session.as_ref().map(|id| id.as_str())),
            ],
        )?;
        let inserted = self.batch(vec![insert, self.stmt(NOTE_PROVIDERS, &[s(&identity.user_id)])?]).await;
        match inserted {
            Ok(results) if super::changed(results.first())? > 0 => Ok(IdentityAdded::Stored),
            Ok(_) => Ok(IdentityAdded::Changed),
            // The unique index on (provider, subject): some account holds it.
            Err(StoreError::Conflict("identity")) => Ok(IdentityAdded::Taken),
            Err(e) => Err(e),
        }
    }

    async fn identity_used(&self, id: &IdentityId, email: Option<&str>, data: &serde_json::Value, at: Timestamp)
        -> Result<(), StoreError> {
        // `updated_at` is when the data last changed: the text compared is serde_json's, which
        // writes equal values alike (object keys sorted).
        self.changes(
            "UPDATE identities SET email = ?2, data = ?3, last_sign_in_at = ?4, \
             updated_at = CASE WHEN email IS ?2 AND data = ?3 THEN updated_at ELSE ?4 END WHERE id = ?1",
            &[s(id), opt_s(email), s(data.to_string()), t(at)],
        )
        .await
        .map(|_| ())
    }

    async fn remove_identity(&self, user_id: &UserId, id: &IdentityId, keep_others: usize) -> Result<bool, StoreError> {
        // One statement: the count of the others and the removal see the same rows.
        let keep = JsValue::from(u32::try_from(keep_others).unwrap_or(u32::MAX));
        let sql = "DELETE FROM identities WHERE id = ?1 AND user_id = ?2 \
                   AND (SELECT COUNT(*) FROM identities WHERE user_id = ?2 AND id <> ?1) >= ?3";
        let results = self.batch(vec![self.stmt(sql, &[s(id), s(user_id), keep])?, self.stmt(NOTE_PROVIDERS, &[s(user_id)])?]).await?;
        Ok(super::changed(results.first())? > 0)
    }
}
