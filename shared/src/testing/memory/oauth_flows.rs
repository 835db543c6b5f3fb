//! `OauthFlows` over the memory store: sign-ins through a provider's pages by the hash of
//! their state, each taken once; a new one first drops those past their expiry.

use super::MemoryStore;
use crate::model::{OauthFlow, Timestamp};
use crate::ports::{OauthFlows, StoreError};

impl OauthFlows for MemoryStore {
    async fn put_oauth_flow(&self, flow: &OauthFlow, expired_before: Timestamp) -> Result<(), StoreError> {
        let mut flows = self.oauth_flows.borrow_mut();
        flows.retain(|_, f| f.expires_at >= expired_before);
        flows.insert(flow.state_hash.clone(), flow.clone());
        Ok(())
    }

    async fn take_oauth_flow(&self, state_hash: &str) -> Result<Option<OauthFlow>, StoreError> {
        Ok(self.oauth_flows.borrow_mut().remove(state_hash))
    }
}
