//! `LoginRequests` over the memory store: passwordless emailed sign-in requests and their
//! compare-and-swap state changes. The session a claimed request starts is stored through
//! `sessions`.

use super::MemoryStore;
use crate::model::{LoginRequest, LoginRequestId, LoginState, Timestamp};
use crate::ports::{LoginRequests, StoreError};

impl LoginRequests for MemoryStore {
    async fn put(&self, request: &LoginRequest) -> Result<(), StoreError> {
        self.login_requests.borrow_mut().insert(request.id.clone(), request.clone());
        Ok(())
    }

    async fn by_id(&self, id: &LoginRequestId) -> Result<Option<LoginRequest>, StoreError> {
        Ok(self.login_requests.borrow().get(id).cloned())
    }

    async fn by_link_hash(&self, link_hash: &str) -> Result<Option<LoginRequest>, StoreError> {
        Ok(self.login_requests.borrow().values().find(|r| r.link_hash == link_hash).cloned())
    }

    async fn show_page(&self, id: &LoginRequestId, page_hash: &str, now: Timestamp) -> Result<bool, StoreError> {
        match self.login_requests.borrow_mut().get_mut(id) {
            Some(r) if r.state == LoginState::Pending && r.expires_at > now => {
                r.page_hash = Some(page_hash.to_string());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn decide(&self, id: &LoginRequestId, page_hash: &str, to: LoginState, now: Timestamp) -> Result<bool, StoreError> {
        match self.login_requests.borrow_mut().get_mut(id) {
            Some(r) if r.state == LoginState::Pending
                && r.expires_at > now
                && r.page_hash.as_deref() == Some(page_hash) =>
            {
                r.state = to;
                r.page_hash = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn claim(&self, id: &LoginRequestId, now: Timestamp) -> Result<bool, StoreError> {
        match self.login_requests.borrow_mut().get_mut(id) {
            Some(r) if r.state == LoginState::Confirmed && r.expires_at > now => {
                r.state = LoginState::Claimed;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
