//! `FlowStates` over the memory store: PKCE auth codes by hash, each taken once. Removing them
//! with their account, or at a logout wider than the session, is done in `users` and `sessions`.

use super::MemoryStore;
use crate::model::FlowState;
use crate::ports::{FlowStates, StoreError};

impl FlowStates for MemoryStore {
    async fn put(&self, state: &FlowState) -> Result<(), StoreError> {
        self.flow_states.borrow_mut().insert(state.auth_code_hash.clone(), state.clone());
        Ok(())
    }

    async fn take(&self, auth_code_hash: &str) -> Result<Option<FlowState>, StoreError> {
        Ok(self.flow_states.borrow_mut().remove(auth_code_hash))
    }
}
