//! The `FlowStates` port over `flow_states`: an auth code is taken by one `DELETE ... RETURNING`,
//! so of concurrent exchanges exactly one gets it.

use super::{opt_s, s, t, ts, D1Store};
use portcullis_shared::model::{AuthMethod, FlowState, PkceChallenge, PkceMethod, UserId};
use portcullis_shared::ports::{FlowStates, StoreError};
use serde::Deserialize;

#[derive(Deserialize)]
struct FlowStateRow {
    auth_code_hash: String,
    user_id: UserId,
    method: String,
    code_challenge: String,
    code_challenge_method: String,
    created_at: f64,
    expires_at: f64,
    provider_tokens: Option<String>,
}

impl FlowStateRow {
    fn into_state(self) -> Result<FlowState, StoreError> {
        let bad = |column: &str, v: &str| StoreError::Backend(format!("flow_states.{column} {v:?}"));
        Ok(FlowState {
            method: AuthMethod::parse(&self.method).ok_or_else(|| bad("method", &self.method))?,
            challenge: PkceChallenge {
                method: PkceMethod::parse(&self.code_challenge_method)
                    .ok_or_else(|| bad("code_challenge_method", &self.code_challenge_method))?,
                challenge: self.code_challenge,
            },
            auth_code_hash: self.auth_code_hash,
            user_id: self.user_id,
            created_at: ts(self.created_at),
            expires_at: ts(self.expires_at),
            provider_tokens: self.provider_tokens,
        })
    }
}

const FLOW_STATE_COLUMNS: &str =
    "auth_code_hash, user_id, method, code_challenge, code_challenge_method, created_at, expires_at, provider_tokens";

impl FlowStates for D1Store {
    async fn put(&self, f: &FlowState) -> Result<(), StoreError> {
        let sql = format!("INSERT INTO flow_states ({FLOW_STATE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
        let args = [
            s(&f.auth_code_hash),
            s(&f.user_id),
            s(f.method.as_str()),
            s(&f.challenge.challenge),
            s(f.challenge.method.as_str()),
            t(f.created_at),
            t(f.expires_at),
            opt_s(f.provider_tokens.as_deref()),
        ];
        self.changes(&sql, &args).await.map(|_| ())
    }

    async fn take(&self, auth_code_hash: &str) -> Result<Option<FlowState>, StoreError> {
        let sql = format!("DELETE FROM flow_states WHERE auth_code_hash = ?1 RETURNING {FLOW_STATE_COLUMNS}");
        self.first::<FlowStateRow>(&sql, &[s(auth_code_hash)]).await?.map(FlowStateRow::into_state).transpose()
    }
}
