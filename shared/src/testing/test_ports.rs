//! [`TestPorts`]: the memory store and the doubles bundled as the domain's ports.

use super::{FixedClock, MemoryMailer, MemoryStore, RustCryptoSignatures, ScriptedHttp, SeededRng};
use crate::ports::Ports;
use std::cell::RefCell;

/// All test ports together.
#[derive(Debug)]
pub struct TestPorts {
    /// Storage.
    pub store: MemoryStore,
    /// Mail.
    pub mailer: MemoryMailer,
    /// Time, starting at 2023-11-14T22:13:20Z.
    pub clock: FixedClock,
    /// Randomness.
    pub rng: SeededRng,
    /// Outbound HTTP, answered by a script.
    pub http: ScriptedHttp,
    /// `(error_id, detail)` of every internal error logged.
    pub errors: RefCell<Vec<(String, String)>>,
}

impl Default for TestPorts {
    fn default() -> Self {
        Self {
            store: MemoryStore::default(),
            mailer: MemoryMailer::default(),
            clock: FixedClock::at(1_700_000_000_000),
            rng: SeededRng::new(42),
            http: ScriptedHttp::default(),
            errors: RefCell::default(),
        }
    }
}

impl Ports for TestPorts {
    type Store = MemoryStore;
    type Mailer = MemoryMailer;
    type Clock = FixedClock;
    type Rng = SeededRng;
    type Http = ScriptedHttp;
    type Signatures = RustCryptoSignatures;

    fn store(&self) -> &MemoryStore {
        &self.store
    }
    fn mailer(&self) -> &MemoryMailer {
        &self.mailer
    }
    fn clock(&self) -> &FixedClock {
        &self.clock
    }
    fn rng(&self) -> &SeededRng {
        &self.rng
    }
    fn http(&self) -> &ScriptedHttp {
        &self.http
    }
    fn signatures(&self) -> &RustCryptoSignatures {
        &RustCryptoSignatures
    }
    fn log_error(&self, error_id: &str, detail: &str) {
        self.errors.borrow_mut().push((error_id.into(), detail.into()));
    }
}
