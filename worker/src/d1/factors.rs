//! The `Factors` port over `mfa_factors` and `mfa_challenges` (with `sessions`,
//! `refresh_tokens`, `one_time_codes` and `users.mfa`, which an answer and a removal change
//! with them). Each change that touches more than one record is one batch; in an answer, every
//! statement after the first is conditional on the first having landed. A WebAuthn factor's
//! credential is kept in its row's `webauthn_*` columns, its key as a JWK with its `alg`; a set
//! of recovery codes is a row of type `recovery_code` whose codes are `mfa_recovery_codes`'
//! (`recovery_codes`).

use super::{backend, opt_s, opt_t, s, t, ts, D1Store};
use portcullis_shared::model::{Challenge, ChallengeId, Factor, FactorId, FactorKind, Purpose, SessionId, Timestamp, UserId, WebauthnCredential};
use portcullis_shared::ports::{Answer, Enrolled, Factors, Progress, StoreError};
use portcullis_shared::signature::{b64url, from_b64url, Alg, Key};
use serde::Deserialize;
use wasm_bindgen::JsValue;

#[derive(Deserialize)]
struct FactorRow {
    id: FactorId,
    user_id: UserId,
    friendly_name: String,
    factor_type: String,
    verified: f64,
    secret: String,
    last_step: Option<f64>,
    created_at: f64,
    updated_at: f64,
    last_challenged_at: Option<f64>,
    webauthn_credential_id: Option<String>,
    webauthn_public_key: Option<String>,
    webauthn_sign_count: Option<f64>,
    webauthn_aaguid: Option<String>,
    webauthn_backup_eligible: Option<f64>,
    webauthn_transports: Option<String>,
}

/// The columns a [`FactorRow`] reads.
const FACTOR_COLUMNS: &str = "id, user_id, friendly_name, factor_type, verified, secret, last_step, created_at, updated_at, \
    last_challenged_at, webauthn_credential_id, webauthn_public_key, webauthn_sign_count, webauthn_aaguid, \
    webauthn_backup_eligible, webauthn_transports";

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn unhex16(text: &str) -> Option<[u8; 16]> {
    let bytes: Option<Vec<u8>> = (0..text.len()).step_by(2).map(|i| text.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect();
    bytes?.try_into().ok()
}

/// A credential key as stored: its JWK with its `alg`.
pub(super) fn key_text(key: &Key) -> String {
    let mut jwk = key.jwk().clone();
    jwk.insert("alg".into(), key.alg().name().into());
    serde_json::Value::Object(jwk).to_string()
}

impl FactorRow {
    fn credential(&self) -> Result<Option<WebauthnCredential>, StoreError> {
        let Some(id) = &self.webauthn_credential_id else { return Ok(None) };
        let bad = |what: &str| StoreError::Backend(format!("mfa_factors {}: unreadable {what}", self.id));
        let jwk: serde_json::Value = serde_json::from_str(self.webauthn_public_key.as_deref().unwrap_or_default()).map_err(|_| bad("public key"))?;
        let alg = jwk.get("alg").and_then(serde_json::Value::as_str).and_then(Alg::from_name).ok_or_else(|| bad("key alg"))?;
        Ok(Some(WebauthnCredential {
            id: from_b64url(id).ok_or_else(|| bad("credential id"))?,
            public_key: Key::from_jwk(alg, &jwk).map_err(|_| bad("public key"))?,
            sign_count: self.webauthn_sign_count.unwrap_or(0.0) as u32,
            aaguid: self.webauthn_aaguid.as_deref().and_then(unhex16).ok_or_else(|| bad("aaguid"))?,
            backup_eligible: self.webauthn_backup_eligible.is_some_and(|v| v != 0.0),
            transports: self.webauthn_transports.as_deref().unwrap_or_default().split(',').filter(|t| !t.is_empty()).map(str::to_string).collect(),
        }))
    }

    fn into_factor(self) -> Result<Factor, StoreError> {
        let credential = self.credential()?;
        Ok(Factor {
            credential,
            kind: FactorKind::parse(&self.factor_type)
                .ok_or_else(|| StoreError::Backend(format!("mfa_factors.factor_type {:?}", self.factor_type)))?,
            id: self.id,
            user_id: self.user_id,
            friendly_name: self.friendly_name,
            verified: self.verified != 0.0,
            sealed_secret: self.secret,
            last_step: self.last_step.map(|v| v as i64),
            created_at: ts(self.created_at),
            updated_at: ts(self.updated_at),
            last_challenged_at: self.last_challenged_at.map(ts),
        })
    }
}

#[derive(Deserialize)]
struct ChallengeRow {
    id: ChallengeId,
    factor_id: FactorId,
    created_at: f64,
    verified_at: Option<f64>,
    client: String,
    webauthn_challenge: Option<String>,
}

/// What factors the account has (`users.mfa`: 0 none, 1 only unverified, 2 a verified one),
/// as the statement that keeps it.
const MARK_MFA: &str = "UPDATE users SET mfa = CASE \
    WHEN EXISTS (SELECT 1 FROM mfa_factors WHERE user_id = ?1 AND verified = 1) THEN 2 \
    WHEN EXISTS (SELECT 1 FROM mfa_factors WHERE user_id = ?1) THEN 1 ELSE 0 END WHERE id = ?1";

fn n(v: i64) -> JsValue {
    JsValue::from_f64(v as f64)
}

impl Factors for D1Store {
    async fn enroll(&self, f: &Factor, by: &SessionId, max: u32, stale_before: Timestamp) -> Result<Enrolled, StoreError> {
        let results = self
            .batch(vec![
                self.stmt(
                    "DELETE FROM mfa_factors WHERE user_id = ?1 AND verified = 0 AND created_at < ?2 \
                     AND NOT EXISTS (SELECT 1 FROM mfa_challenges c WHERE c.factor_id = mfa_factors.id)",
                    &[s(&f.user_id), t(stale_before)],
                )?,
                self.stmt(
                    "INSERT INTO mfa_factors (id, user_id, friendly_name, factor_type, verified, secret, last_step, \
                     created_at, updated_at, last_challenged_at) SELECT ?1, ?2, ?3, ?4, 0, ?5, NULL, ?6, ?6, NULL \
                     WHERE NOT EXISTS (SELECT 1 FROM mfa_factors WHERE user_id = ?2 AND friendly_name = ?3) \
                     AND (SELECT count(*) FROM mfa_factors WHERE user_id = ?2) < ?7 \
                     AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = ?8 AND s.user_id = ?2 AND s.revoked_at IS NULL \
                       AND (s.factor_id IS NOT NULL OR s.method = 'passkey' OR NOT EXISTS (SELECT 1 FROM mfa_factors WHERE user_id = ?2 AND verified = 1)))",
                    &[
                        s(&f.id),
                        s(&f.user_id),
                        s(&f.friendly_name),
                        s(f.kind.as_str()),
                        s(&f.sealed_secret),
                        t(f.created_at),
                        n(i64::from(max)),
                        s(by),
                    ],
                )?,
                self.stmt(MARK_MFA, &[s(&f.user_id)])?,
                self.stmt("SELECT 1 AS taken FROM mfa_factors WHERE user_id = ?1 AND friendly_name = ?2 AND id != ?3", &[
                    s(&f.user_id),
                    s(&f.friendly_name),
                    s(&f.id),
                ])?,
                self.stmt("SELECT count(*) AS n FROM mfa_factors WHERE user_id = ?1 AND id != ?2", &[s(&f.user_id), s(&f.id)])?,
            ])
            .await?;
        if super::changed(results.get(1))? > 0 {
            return Ok(Enrolled::Stored);
        }
        let rows = |i: usize| results.get(i).map(|r| r.results::<serde_json::Value>()).transpose().map_err(backend);
        let taken = rows(3)?.is_some_and(|rows| !rows.is_empty());
        let count = rows(4)?.and_then(|rows| rows.first().and_then(|r| r["n"].as_f64())).unwrap_or(0.0);
        Ok(match (taken, count >= f64::from(max)) {
            (true, _) => Enrolled::NameTaken,
            (false, true) => Enrolled::TooMany,
            (false, false) => Enrolled::Refused,
        })
    }

    async fn of_user(&self, user_id: &UserId) -> Result<Vec<Factor>, StoreError> {
        let rows = self
            .stmt(&format!("SELECT {FACTOR_COLUMNS} FROM mfa_factors WHERE user_id = ?1 ORDER BY created_at, id"), &[s(user_id)])?
            .all()
            .await
            .map_err(backend)?;
        rows.results::<FactorRow>().map_err(backend)?.into_iter().map(FactorRow::into_factor).collect()
    }

    async fn challenge(&self, c: &Challenge, expired_before: Timestamp) -> Result<(), StoreError> {
        self.batch(vec![
            self.stmt("DELETE FROM mfa_challenges WHERE factor_id = ?1 AND created_at < ?2", &[s(&c.factor_id), t(expired_before)])?,
            self.stmt(
                "INSERT INTO mfa_challenges (id, factor_id, created_at, verified_at, client, webauthn_challenge) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                &[s(&c.id), s(&c.factor_id), t(c.created_at), opt_t(c.verified_at), s(&c.client), opt_s(c.webauthn_challenge.as_deref().map(b64url).as_deref())],
            )?,
            self.stmt("UPDATE mfa_factors SET last_challenged_at = ?2 WHERE id = ?1", &[s(&c.factor_id), t(c.created_at)])?,
        ])
        .await
        .map(|_| ())
    }

    async fn get_challenge(&self, factor_id: &FactorId, id: &ChallengeId) -> Result<Option<Challenge>, StoreError> {
        let row = self
            .first::<ChallengeRow>(
                "SELECT id, factor_id, created_at, verified_at, client, webauthn_challenge FROM mfa_challenges \
                 WHERE id = ?1 AND factor_id = ?2",
                &[s(id), s(factor_id)],
            )
            .await?;
        Ok(row.map(|r| Challenge {
            id: r.id,
            factor_id: r.factor_id,
            created_at: ts(r.created_at),
            verified_at: r.verified_at.map(ts),
            client: r.client,
            webauthn_challenge: r.webauthn_challenge.as_deref().and_then(from_b64url),
        }))
    }

    async fn credential_taken(&self, id: &[u8]) -> Result<bool, StoreError> {
        let row = self
            .first::<serde_json::Value>(
                "SELECT 1 AS taken FROM mfa_factors WHERE webauthn_credential_id = ?1 UNION ALL SELECT 1 FROM passkeys WHERE credential_id = ?1",
                &[s(b64url(id))],
            )
            .await?;
        Ok(row.is_some())
    }

    async fn answer(&self, a: &Answer<'_>) -> Result<bool, StoreError> {
        // ?1 account, ?2 factor, ?3 challenge, ?4 step or counter, ?5 now, ?6 this answer's id
        // (the new refresh token's) in every statement. The first decides and marks the challenge with
        // the answer's id; each after it runs only where the challenge carries that id
        // (`ANSWERED`), so a concurrent answer that lost changes nothing.
        const ANSWERED: &str = "EXISTS (SELECT 1 FROM mfa_challenges WHERE id = ?3 AND answer_id = ?6)";
        // What the factor must be before (its progress not taken yet) and what it becomes.
        let (count, fresh, set, mut fresh_args, set_args) = match a.progress {
            Progress::Step(step) => (step, "(last_step IS NULL OR last_step < ?4)", "last_step = ?4", vec![], vec![]),
            Progress::Counter(c) => (
                i64::from(c),
                "verified = 1 AND webauthn_credential_id IS NOT NULL AND (webauthn_sign_count < ?4 OR (?4 = 0 AND webauthn_sign_count = 0))",
                "webauthn_sign_count = ?4",
                vec![],
                vec![],
            ),
            Progress::Register(c) => (
                i64::from(c.sign_count),
                "verified = 0 AND webauthn_credential_id IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM mfa_factors o WHERE o.webauthn_credential_id = ?10) \
                 AND NOT EXISTS (SELECT 1 FROM passkeys p WHERE p.credential_id = ?10)",
                "webauthn_credential_id = ?7, webauthn_public_key = ?8, webauthn_sign_count = ?4, webauthn_aaguid = ?9, \
                 webauthn_backup_eligible = ?10, webauthn_transports = ?11",
                vec![s(b64url(&c.id))],
                vec![s(b64url(&c.id)), s(key_text(&c.public_key)), s(hex(&c.aaguid)), n(i64::from(c.backup_eligible)), s(c.transports.join(","))],
            ),
            // The code is used by its own statement below.
            Progress::RecoveryCode(hash) => (
                0,
                "verified = 1 AND factor_type = 'recovery_code' \
                 AND EXISTS (SELECT 1 FROM mfa_recovery_codes WHERE factor_id = ?2 AND code_hash = ?10 AND used_at IS NULL)",
                "last_challenged_at = ?5",
                vec![s(hash)],
                vec![],
            ),
        };
        let stmt = |sql: &str, extra: &[JsValue]| {
            let mut args = vec![s(a.user_id), s(a.factor_id), s(a.challenge_id), n(count), t(a.at), s(&a.refresh_token.id)];
            args.extend_from_slice(extra);
            self.stmt(sql, &args)
        };
        let (session, kind) = (s(a.session_id), s(a.kind.as_str()));
        let asked = [Purpose::EmailChange, Purpose::EmailChangeCurrent, Purpose::Reauthentication].map(|p| s(p.as_str()));
        let mut first_args = vec![session.clone(), t(a.made_after), opt_s(a.ticket)];
        first_args.append(&mut fresh_args);
        let use_code = match a.progress {
            Progress::RecoveryCode(hash) => Some(stmt(
                &format!("UPDATE mfa_recovery_codes SET used_at = ?5 WHERE factor_id = ?2 AND code_hash = ?7 AND used_at IS NULL AND {ANSWERED}"),
                &[s(hash)],
            )?),
            _ => None,
        };
        let results = self
            .batch(vec![
                stmt(
                    &format!(
                    "UPDATE mfa_challenges SET verified_at = ?5, answer_id = ?6 WHERE id = ?3 AND factor_id = ?2 \
                     AND verified_at IS NULL AND created_at > ?8 \
                     AND EXISTS (SELECT 1 FROM mfa_factors WHERE id = ?2 AND user_id = ?1 AND {fresh}) \
                     AND EXISTS (SELECT 1 FROM sessions WHERE id = ?7 AND user_id = ?1 AND revoked_at IS NULL) \
                     AND (?9 IS NULL OR EXISTS (SELECT 1 FROM refresh_tokens WHERE id = ?9 AND session_id = ?7)) \
                     AND (EXISTS (SELECT 1 FROM mfa_factors WHERE id = ?2 AND verified = 1) \
                       OR NOT EXISTS (SELECT 1 FROM mfa_factors WHERE user_id = ?1 AND verified = 1) \
                       OR EXISTS (SELECT 1 FROM sessions WHERE id = ?7 AND (factor_id IS NOT NULL OR method = 'passkey')))"
                    ),
                    &first_args,
                )?,
                // Before the factor is marked: only an answer that verifies it drops these.
                stmt(
                    &format!(
                        "DELETE FROM one_time_codes WHERE user_id = ?1 AND purpose IN (?7, ?8, ?9) AND {ANSWERED} \
                         AND EXISTS (SELECT 1 FROM mfa_factors WHERE id = ?2 AND verified = 0)"
                    ),
                    &asked,
                )?,
                stmt(
                    &format!("UPDATE mfa_factors SET verified = 1, {set}, updated_at = ?5 WHERE id = ?2 AND user_id = ?1 AND {ANSWERED}"),
                    &set_args,
                )?,
                stmt(&format!("{MARK_MFA} AND {ANSWERED}"), &[])?,
                stmt(
                    &format!("UPDATE sessions SET factor_id = ?2, factor_type = ?8, aal2_at = ?5 WHERE id = ?7 AND user_id = ?1 AND {ANSWERED}"),
                    &[session.clone(), kind.clone()],
                )?,
                stmt(
                    &format!(
                        "UPDATE sessions SET revoked_at = ?5 WHERE user_id = ?1 AND id != ?7 AND revoked_at IS NULL \
                         AND factor_id IS NULL AND method != 'passkey' AND {ANSWERED}"
                    ),
                    std::slice::from_ref(&session),
                )?,
                stmt(
                    // Of the answered kind; of every kind when this is the account's first
                    // verified factor (nothing enrolled before it survives it).
                    &format!(
                        "DELETE FROM mfa_factors WHERE user_id = ?1 AND id != ?2 AND verified = 0 \
                         AND (factor_type = ?7 OR NOT EXISTS (SELECT 1 FROM mfa_factors WHERE user_id = ?1 AND verified = 1 AND id != ?2)) \
                         AND {ANSWERED}"
                    ),
                    &[kind],
                )?,
                stmt(
                    &format!(
                        "DELETE FROM refresh_tokens WHERE session_id = ?7 \
                         AND EXISTS (SELECT 1 FROM sessions WHERE id = ?7 AND user_id = ?1) AND {ANSWERED}"
                    ),
                    std::slice::from_ref(&session),
                )?,
                stmt(
                    &format!(
                        "INSERT INTO refresh_tokens (id, session_id, secret_hash, parent_id, created_at, used_at) \
                         SELECT ?6, ?7, ?8, NULL, ?5, NULL WHERE {ANSWERED}"
                    ),
                    &[session, s(&a.refresh_token.secret_hash)],
                )?,
            ]
            .into_iter()
            .chain(use_code)
            .collect())
            .await?;
        Ok(super::changed(results.first())? > 0)
    }

    async fn remove(&self, user_id: &UserId, factor_id: &FactorId, at: Timestamp) -> Result<bool, StoreError> {
        // Removing the account's last verified factor but its recovery codes: they go too
        // (they are never the only factor). Evaluated before anything is deleted.
        const LAST_BUT_CODES: &str = "EXISTS (SELECT 1 FROM mfa_factors WHERE id = ?2 AND user_id = ?1 AND verified = 1) \
            AND NOT EXISTS (SELECT 1 FROM mfa_factors WHERE user_id = ?1 AND verified = 1 AND id != ?2 AND factor_type != 'recovery_code')";
        let args = [s(user_id), s(factor_id), t(at)];
        let results = self
            .batch(vec![
                // The sessions below aal2 outside GoTrue are second steps never taken, which
                // would otherwise become full sessions.
                self.stmt(
                    &format!(
                        "UPDATE sessions SET revoked_at = ?3 WHERE user_id = ?1 AND revoked_at IS NULL AND factor_id IS NULL \
                         AND (dialect IS NULL OR dialect != 'gotrue') AND {LAST_BUT_CODES}"
                    ),
                    &args,
                )?,
                self.stmt(
                    &format!(
                        "UPDATE sessions SET factor_id = NULL, factor_type = NULL, aal2_at = NULL WHERE user_id = ?1 AND ?3 IS NOT NULL \
                         AND factor_id IN (SELECT id FROM mfa_factors WHERE user_id = ?1 AND factor_type = 'recovery_code') AND {LAST_BUT_CODES}"
                    ),
                    &args,
                )?,
                self.stmt(
                    &format!("DELETE FROM mfa_factors WHERE user_id = ?1 AND factor_type = 'recovery_code' AND id != ?2 AND ?3 IS NOT NULL AND {LAST_BUT_CODES}"),
                    &args,
                )?,
                self.stmt("DELETE FROM mfa_factors WHERE id = ?2 AND user_id = ?1", &[s(user_id), s(factor_id)])?,
                self.stmt(
                    "UPDATE sessions SET factor_id = NULL, factor_type = NULL, aal2_at = NULL WHERE user_id = ?1 AND factor_id = ?2",
                    &[s(user_id), s(factor_id)],
                )?,
                self.stmt(MARK_MFA, &[s(user_id)])?,
            ])
            .await?;
        Ok(super::changed(results.get(3))? > 0)
    }
}
