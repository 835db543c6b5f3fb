//! Test support, in two features that never reach a release build of the worker.
//!
//! `testing` (this crate's tests and other crates' native tests): the in-memory store
//! (`memory`), the test doubles for time, randomness and mail (`doubles`), and [`TestPorts`],
//! which bundles them. `contract`: the storage contract suite (`contract`) that every store
//! passes, also compiled into the e2e suite's build of the worker to run against real D1.

#[cfg(feature = "contract")]
pub mod contract;
#[cfg(feature = "testing")]
mod doubles;
#[cfg(feature = "testing")]
mod memory;
#[cfg(feature = "testing")]
mod rustcrypto;

#[cfg(feature = "contract")]
pub use contract::{run_signature_contract, run_store_contract, ContractResult};
#[cfg(feature = "testing")]
pub use doubles::{FixedClock, MemoryMailer, ScriptedHttp, SeededRng};
#[cfg(feature = "testing")]
pub use memory::{MemoryStore, BEFORE_CALL};
#[cfg(feature = "testing")]
pub use rustcrypto::RustCryptoSignatures;

#[cfg(feature = "testing")]
mod test_ports;
#[cfg(feature = "testing")]
pub use test_ports::TestPorts;
