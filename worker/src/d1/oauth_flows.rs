//! The `OauthFlows` port over `oauth_flows`: a flow is taken by one `DELETE ... RETURNING`, so
//! of concurrent callbacks with its state exactly one finishes it.

use super::{opt_s, s, t, ts, D1Store};
use portcullis_shared::model::{Dialect, OauthFlow, PkceChallenge, PkceMethod, SessionId, Timestamp, UserId};
use portcullis_shared::ports::{OauthFlows, StoreError};
use serde::Deserialize;

#[derive(Deserialize)]
struct OauthFlowRow {
    state_hash: String,
    provider: String,
    dialect: String,
    redirect_to: String,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    link_user_id: Option<String>,
    link_session_id: Option<String>,
    created_at: f64,
    expires_at: f64,
}

impl OauthFlowRow {
    fn into_flow(self) -> Result<OauthFlow, StoreError> {
        let bad = |column: &str, v: &str| StoreError::Backend(format!("oauth_flows.{column} {v:?}"));
        let challenge = match (self.code_challenge, self.code_challenge_method) {
            (Some(challenge), Some(method)) => {
                Some(PkceChallenge { method: PkceMethod::parse(&method).ok_or_else(|| bad("code_challenge_method", &method))?, challenge })
            }
            _ => None,
        };
        Ok(OauthFlow {
            dialect: Dialect::parse(&self.dialect).ok_or_else(|| bad("dialect", &self.dialect))?,
            state_hash: self.state_hash,
            provider: self.provider,
            redirect_to: self.redirect_to,
            challenge,
            link: self.link_user_id.zip(self.link_session_id).map(|(u, s)| (UserId::new(u), SessionId::new(s))),
            created_at: ts(self.created_at),
            expires_at: ts(self.expires_at),
        })
    }
}

const COLUMNS: &str =
    "state_hash, provider, dialect, redirect_to, code_challenge, code_challenge_method, link_user_id, link_session_id, created_at, expires_at";

impl OauthFlows for D1Store {
    async fn put_oauth_flow(&self, f: &OauthFlow, expired_before: Timestamp) -> Result<(), StoreError> {
        let challenge = f.challenge.as_ref();
        self.batch(vec![
            self.stmt("DELETE FROM oauth_flows WHERE expires_at < ?1", &[t(expired_before)])?,
            self.stmt(
                &format!("INSERT INTO oauth_flows ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
                &[
                    s(&f.state_hash),
                    s(&f.provider),
                    s(f.dialect.as_str()),
                    s(&f.redirect_to),
                    opt_s(challenge.map(|c| c.challenge.as_str())),
                    opt_s(challenge.map(|c| c.method.as_str())),
                    opt_s(f.link.as_ref().map(|(u, _)| u.as_str())),
                    opt_s(f.link.as_ref().map(|(_, s)| s.as_str())),
                    t(f.created_at),
                    t(f.expires_at),
                ],
            )?,
        ])
        .await
        .map(|_| ())
    }

    async fn take_oauth_flow(&self, state_hash: &str) -> Result<Option<OauthFlow>, StoreError> {
        let sql = format!("DELETE FROM oauth_flows WHERE state_hash = ?1 RETURNING {COLUMNS}");
        self.first::<OauthFlowRow>(&sql, &[s(state_hash)]).await?.map(OauthFlowRow::into_flow).transpose()
    }
}
