//! The `LoginRequests` port over `login_requests`: every state change is compare-and-swap.

use super::{opt_s, s, t, ts, D1Store};
use portcullis_shared::model::{LoginRequest, LoginRequestId, LoginState, Timestamp, UserId};
use portcullis_shared::ports::{LoginRequests, StoreError};
use serde::Deserialize;

#[derive(Deserialize)]
struct LoginRequestRow {
    id: LoginRequestId,
    user_id: UserId,
    platform: String,
    link_hash: String,
    page_hash: Option<String>,
    state: String,
    created_at: f64,
    expires_at: f64,
}

impl LoginRequestRow {
    fn into_request(self) -> Result<LoginRequest, StoreError> {
        Ok(LoginRequest {
            state: LoginState::parse(&self.state)
                .ok_or_else(|| StoreError::Backend(format!("login_requests.state {:?}", self.state)))?,
            id: self.id,
            user_id: self.user_id,
            platform: self.platform,
            link_hash: self.link_hash,
            page_hash: self.page_hash,
            created_at: ts(self.created_at),
            expires_at: ts(self.expires_at),
        })
    }
}

const LOGIN_REQUEST_COLUMNS: &str = "id, user_id, platform, link_hash, page_hash, state, created_at, expires_at";

impl LoginRequests for D1Store {
    async fn put(&self, r: &LoginRequest) -> Result<(), StoreError> {
        let sql = format!("INSERT INTO login_requests ({LOGIN_REQUEST_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
        self.changes(
            &sql,
            &[
                s(&r.id),
                s(&r.user_id),
                s(&r.platform),
                s(&r.link_hash),
                opt_s(r.page_hash.as_deref()),
                s(r.state.as_str()),
                t(r.created_at),
                t(r.expires_at),
            ],
        )
        .await
        .map(|_| ())
    }

    async fn by_id(&self, id: &LoginRequestId) -> Result<Option<LoginRequest>, StoreError> {
        let sql = format!("SELECT {LOGIN_REQUEST_COLUMNS} FROM login_requests WHERE id = ?1");
        self.first::<LoginRequestRow>(&sql, &[s(id)]).await?.map(LoginRequestRow::into_request).transpose()
    }

    async fn by_link_hash(&self, link_hash: &str) -> Result<Option<LoginRequest>, StoreError> {
        let sql = format!("SELECT {LOGIN_REQUEST_COLUMNS} FROM login_requests WHERE link_hash = ?1");
        self.first::<LoginRequestRow>(&sql, &[s(link_hash)]).await?.map(LoginRequestRow::into_request).transpose()
    }

    async fn show_page(&self, id: &LoginRequestId, page_hash: &str, now: Timestamp) -> Result<bool, StoreError> {
        let changed = self
            .changes(
                "UPDATE login_requests SET page_hash = ?2 WHERE id = ?1 AND state = 'pending' AND expires_at > ?3",
                &[s(id), s(page_hash), t(now)],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn decide(&self, id: &LoginRequestId, page_hash: &str, to: LoginState, now: Timestamp) -> Result<bool, StoreError> {
        let changed = self
            .changes(
                "UPDATE login_requests SET state = ?3, page_hash = NULL \
                 WHERE id = ?1 AND state = 'pending' AND page_hash = ?2 AND expires_at > ?4",
                &[s(id), s(page_hash), s(to.as_str()), t(now)],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn claim(&self, id: &LoginRequestId, now: Timestamp) -> Result<bool, StoreError> {
        let changed = self
            .changes(
                "UPDATE login_requests SET state = 'claimed' WHERE id = ?1 AND state = 'confirmed' AND expires_at > ?2",
                &[s(id), t(now)],
            )
            .await?;
        Ok(changed == 1)
    }
}
