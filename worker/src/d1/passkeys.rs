//! The `Passkeys` port over `passkeys` and `passkey_challenges`. A challenge is taken with one
//! `DELETE ... RETURNING` (whoever deletes it answers it); a passkey is stored by one
//! conditional `INSERT` that checks the registering session is live, the account's count and
//! that no WebAuthn factor holds the credential id (the unique index refuses another
//! passkey's); a sign-in's counter moves by a compare-and-swap `UPDATE`.

use super::factors::{hex, key_text, unhex16};
use super::{backend, opt_s, s, t, ts, D1Store};
use portcullis_shared::model::{Passkey, PasskeyCeremony, PasskeyChallenge, PasskeyChallengeId, PasskeyId, SessionId, Timestamp, UserId, WebauthnCredential};
use portcullis_shared::ports::{PasskeyAdded, PasskeyUse, Passkeys, StoreError};
use portcullis_shared::signature::{b64url, from_b64url, Alg, Key};
use serde::Deserialize;
use wasm_bindgen::JsValue;

/// Whether `?1` is a live session of the account `?2`.
const LIVE: &str = "SELECT 1 AS live FROM sessions WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL";

#[derive(Deserialize)]
struct PasskeyRow {
    id: PasskeyId,
    user_id: UserId,
    credential_id: String,
    public_key: String,
    sign_count: f64,
    aaguid: String,
    backup_eligible: f64,
    backed_up: f64,
    transports: String,
    friendly_name: String,
    created_at: f64,
    last_used_at: Option<f64>,
}

const PASSKEY_COLUMNS: &str =
    "id, user_id, credential_id, public_key, sign_count, aaguid, backup_eligible, backed_up, transports, friendly_name, created_at, last_used_at";

impl PasskeyRow {
    fn into_passkey(self) -> Result<Passkey, StoreError> {
        let bad = |what: &str| StoreError::Backend(format!("passkeys {}: unreadable {what}", self.id));
        let jwk: serde_json::Value = serde_json::from_str(&self.public_key).map_err(|_| bad("public key"))?;
        let alg = jwk.get("alg").and_then(serde_json::Value::as_str).and_then(Alg::from_name).ok_or_else(|| bad("key alg"))?;
        let credential = WebauthnCredential {
            id: from_b64url(&self.credential_id).ok_or_else(|| bad("credential id"))?,
            public_key: Key::from_jwk(alg, &jwk).map_err(|_| bad("public key"))?,
            sign_count: self.sign_count as u32,
            aaguid: unhex16(&self.aaguid).ok_or_else(|| bad("aaguid"))?,
            backup_eligible: self.backup_eligible != 0.0,
            transports: self.transports.split(',').filter(|t| !t.is_empty()).map(str::to_string).collect(),
        };
        Ok(Passkey {
            id: self.id,
            user_id: self.user_id,
            credential,
            backed_up: self.backed_up != 0.0,
            friendly_name: self.friendly_name,
            created_at: ts(self.created_at),
            last_used_at: self.last_used_at.map(ts),
        })
    }
}

#[derive(Deserialize)]
struct ChallengeRow {
    id: PasskeyChallengeId,
    ceremony: String,
    user_id: Option<UserId>,
    challenge: String,
    client: String,
    created_at: f64,
}

fn flag(v: bool) -> JsValue {
    JsValue::from_f64(if v { 1.0 } else { 0.0 })
}

fn n(v: u32) -> JsValue {
    JsValue::from_f64(f64::from(v))
}

impl Passkeys for D1Store {
    async fn put_passkey_challenge(&self, c: &PasskeyChallenge, expired_before: Timestamp) -> Result<(), StoreError> {
        self.batch(vec![
            self.stmt("DELETE FROM passkey_challenges WHERE created_at < ?1", &[t(expired_before)])?,
            self.stmt(
                "INSERT INTO passkey_challenges (id, ceremony, user_id, challenge, client, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                &[s(&c.id), s(c.ceremony.as_str()), opt_s(c.user_id.as_ref().map(UserId::as_str)), s(b64url(&c.challenge)), s(&c.client), t(c.created_at)],
            )?,
        ])
        .await
        .map(|_| ())
    }

    async fn take_passkey_challenge(&self, id: &PasskeyChallengeId) -> Result<Option<PasskeyChallenge>, StoreError> {
        let row = self
            .first::<ChallengeRow>(
                "DELETE FROM passkey_challenges WHERE id = ?1 RETURNING id, ceremony, user_id, challenge, client, created_at",
                &[s(id)],
            )
            .await?;
        let Some(r) = row else { return Ok(None) };
        let bad = || StoreError::Backend(format!("passkey_challenges {}: unreadable", r.id));
        Ok(Some(PasskeyChallenge {
            ceremony: PasskeyCeremony::parse(&r.ceremony).ok_or_else(bad)?,
            challenge: from_b64url(&r.challenge).ok_or_else(bad)?,
            id: r.id,
            user_id: r.user_id,
            client: r.client,
            created_at: ts(r.created_at),
        }))
    }

    async fn add_passkey(&self, p: &Passkey, max: u32, by: &SessionId) -> Result<PasskeyAdded, StoreError> {
        let c = &p.credential;
        let credential_id = b64url(&c.id);
        let taken = "SELECT 1 AS taken FROM mfa_factors WHERE webauthn_credential_id = ?1 UNION ALL SELECT 1 FROM passkeys WHERE credential_id = ?1";
        if self.first::<serde_json::Value>(taken, &[s(&credential_id)]).await?.is_some() {
            return Ok(PasskeyAdded::CredentialTaken);
        }
        let inserted = self
            .changes(
                "INSERT INTO passkeys (id, user_id, credential_id, public_key, sign_count, aaguid, backup_eligible, backed_up, \
                 transports, friendly_name, created_at, last_used_at) \
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL \
                 WHERE (SELECT count(*) FROM passkeys WHERE user_id = ?2) < ?12 \
                 AND NOT EXISTS (SELECT 1 FROM mfa_factors WHERE webauthn_credential_id = ?3) \
                 AND EXISTS (SELECT 1 FROM sessions WHERE id = ?13 AND user_id = ?2 AND revoked_at IS NULL)",
                &[
                    s(&p.id),
                    s(&p.user_id),
                    s(&credential_id),
                    s(key_text(&c.public_key)),
                    n(c.sign_count),
                    s(hex(&c.aaguid)),
                    flag(c.backup_eligible),
                    flag(p.backed_up),
                    s(c.transports.join(",")),
                    s(&p.friendly_name),
                    t(p.created_at),
                    n(max),
                    s(by),
                ],
            )
            .await;
        match inserted {
            Ok(0) if self.first::<serde_json::Value>(taken, &[s(&credential_id)]).await?.is_some() => Ok(PasskeyAdded::CredentialTaken),
            Ok(0) if self.first::<serde_json::Value>(LIVE, &[s(by), s(&p.user_id)]).await?.is_none() => Ok(PasskeyAdded::SessionEnded),
            Ok(0) => Ok(PasskeyAdded::TooMany),
            Ok(_) => Ok(PasskeyAdded::Stored),
            // The unique index: another passkey took the id meanwhile.
            Err(StoreError::Backend(text)) if text.contains("UNIQUE") => Ok(PasskeyAdded::CredentialTaken),
            Err(e) => Err(e),
        }
    }

    async fn passkeys_of(&self, user_id: &UserId) -> Result<Vec<Passkey>, StoreError> {
        let rows = self
            .stmt(&format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = ?1 ORDER BY created_at, id"), &[s(user_id)])?
            .all()
            .await
            .map_err(backend)?;
        rows.results::<PasskeyRow>().map_err(backend)?.into_iter().map(PasskeyRow::into_passkey).collect()
    }

    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<Passkey>, StoreError> {
        let row = self.first::<PasskeyRow>(&format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = ?1"), &[s(b64url(credential_id))]).await?;
        row.map(PasskeyRow::into_passkey).transpose()
    }

    async fn passkey_used(&self, u: &PasskeyUse<'_>) -> Result<bool, StoreError> {
        let changed = self
            .changes(
                "UPDATE passkeys SET sign_count = ?3, backed_up = ?4, last_used_at = ?5 WHERE id = ?1 AND sign_count = ?2",
                &[s(u.id), n(u.checked_count), n(u.sign_count), flag(u.backed_up), t(u.at)],
            )
            .await?;
        Ok(changed > 0)
    }

    async fn rename_passkey(&self, user_id: &UserId, id: &PasskeyId, name: &str) -> Result<Option<Passkey>, StoreError> {
        let row = self
            .first::<PasskeyRow>(
                &format!("UPDATE passkeys SET friendly_name = ?3 WHERE id = ?1 AND user_id = ?2 RETURNING {PASSKEY_COLUMNS}"),
                &[s(id), s(user_id), s(name)],
            )
            .await?;
        row.map(PasskeyRow::into_passkey).transpose()
    }

    async fn remove_passkey(&self, user_id: &UserId, id: &PasskeyId) -> Result<bool, StoreError> {
        Ok(self.changes("DELETE FROM passkeys WHERE id = ?1 AND user_id = ?2", &[s(id), s(user_id)]).await? > 0)
    }
}
