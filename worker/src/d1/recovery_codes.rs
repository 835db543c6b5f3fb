//! The `RecoveryCodes` port over `mfa_recovery_codes` (a set's codes, as hashes) and
//! `mfa_factors` (the set itself, a verified factor of type `recovery_code`). Adding and
//! replacing a set are each one batch whose every statement carries the whole condition, so
//! that nothing is written unless all of it holds.

use super::{s, t, D1Store};
use portcullis_shared::model::{Factor, FactorId, SessionId, Timestamp, UserId};
use portcullis_shared::ports::{CodesLeft, Factors as _, RecoveryCodes, RecoveryCodesAdded, StoreError};
use serde::Deserialize;

/// `?sid` is a live `aal2` session of the account `?uid`.
fn at_aal2(sid: &str, uid: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM sessions WHERE id = {sid} AND user_id = {uid} AND revoked_at IS NULL \
         AND (factor_id IS NOT NULL OR method = 'passkey'))"
    )
}

#[derive(Deserialize)]
struct Left {
    total: f64,
    remaining: f64,
}

impl RecoveryCodes for D1Store {
    async fn add_recovery_codes(&self, f: &Factor, hashes: &[String], by: &SessionId) -> Result<RecoveryCodesAdded, StoreError> {
        let hashes = serde_json::to_string(hashes).map_err(|e| StoreError::Backend(e.to_string()))?;
        let results = self
            .batch(vec![
                self.stmt(
                    &format!(
                        "INSERT INTO mfa_factors (id, user_id, friendly_name, factor_type, verified, secret, last_step, \
                         created_at, updated_at, last_challenged_at) SELECT ?1, ?2, ?3, 'recovery_code', 1, '', NULL, ?4, ?4, NULL \
                         WHERE NOT EXISTS (SELECT 1 FROM mfa_factors WHERE user_id = ?2 AND (friendly_name = ?3 OR factor_type = 'recovery_code')) \
                         AND EXISTS (SELECT 1 FROM mfa_factors WHERE user_id = ?2 AND verified = 1) AND {}",
                        at_aal2("?5", "?2")
                    ),
                    &[s(&f.id), s(&f.user_id), s(&f.friendly_name), t(f.created_at), s(by)],
                )?,
                self.stmt(
                    "INSERT INTO mfa_recovery_codes (factor_id, code_hash) SELECT ?1, value FROM json_each(?2) \
                     WHERE EXISTS (SELECT 1 FROM mfa_factors WHERE id = ?1)",
                    &[s(&f.id), s(hashes)],
                )?,
            ])
            .await?;
        if super::changed(results.first())? > 0 {
            return Ok(RecoveryCodesAdded::Stored);
        }
        // Why not, for the answer (read after the refusal, so only as true as it stays).
        let own = self.of_user(&f.user_id).await?;
        Ok(if own.iter().any(|o| o.kind == portcullis_shared::model::FactorKind::RecoveryCode) {
            RecoveryCodesAdded::Exists
        } else if own.iter().any(|o| o.friendly_name == f.friendly_name) {
            RecoveryCodesAdded::NameTaken
        } else if !own.iter().any(|o| o.verified) {
            RecoveryCodesAdded::SoleFactor
        } else {
            RecoveryCodesAdded::Refused
        })
    }

    async fn replace_recovery_codes(&self, user_id: &UserId, factor_id: &FactorId, hashes: &[String], by: &SessionId, at: Timestamp) -> Result<bool, StoreError> {
        let hashes = serde_json::to_string(hashes).map_err(|e| StoreError::Backend(e.to_string()))?;
        // ?1 the set, ?2 the account, ?3 the session, ?4 now, ?5 the new hashes.
        let holds = format!(
            "EXISTS (SELECT 1 FROM mfa_factors WHERE id = ?1 AND user_id = ?2 AND factor_type = 'recovery_code') AND {} AND ?4 IS NOT NULL AND ?5 IS NOT NULL",
            at_aal2("?3", "?2")
        );
        let args = [s(factor_id), s(user_id), s(by), t(at), s(hashes)];
        let results = self
            .batch(vec![
                self.stmt(&format!("UPDATE mfa_factors SET updated_at = ?4 WHERE id = ?1 AND {holds}"), &args)?,
                self.stmt(&format!("DELETE FROM mfa_recovery_codes WHERE factor_id = ?1 AND {holds}"), &args)?,
                self.stmt(&format!("INSERT INTO mfa_recovery_codes (factor_id, code_hash) SELECT ?1, value FROM json_each(?5) WHERE {holds}"), &args)?,
                // What the old codes raised comes down with them, but the session replacing them.
                self.stmt(
                    &format!("UPDATE sessions SET factor_id = NULL, factor_type = NULL, aal2_at = NULL WHERE user_id = ?2 AND factor_id = ?1 AND id != ?3 AND {holds}"),
                    &args,
                )?,
            ])
            .await?;
        Ok(super::changed(results.first())? > 0)
    }

    async fn recovery_codes_left(&self, factor_id: &FactorId) -> Result<CodesLeft, StoreError> {
        let left = self
            .first::<Left>(
                "SELECT count(*) AS total, count(*) - count(used_at) AS remaining FROM mfa_recovery_codes WHERE factor_id = ?1",
                &[s(factor_id)],
            )
            .await?;
        let left = left.unwrap_or(Left { total: 0.0, remaining: 0.0 });
        Ok(CodesLeft { total: left.total as u32, remaining: left.remaining as u32 })
    }
}
