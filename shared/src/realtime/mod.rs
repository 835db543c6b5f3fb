//! Feathers over Socket.IO: the real-time transport of the Feathers guide's browser page.
//!
//! [`engine`] and [`socket`] are the Engine.IO v4 and Socket.IO v5 codecs; [`connection`] is
//! one connection's state machine and runs its Feathers calls through the Feathers dialect,
//! so a socket call and a REST request meet the same rules. Holding requests, storing the
//! state between them and the heartbeat's timer are the adapter's (the worker keeps each
//! connection in a Durable Object); nothing here knows a runtime.

pub mod connection;
pub mod engine;
pub mod poll;
pub mod socket;

pub use connection::{Admit, AuthChange, Call, Connection, EventBudget, Step};
