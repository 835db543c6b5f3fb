//! The Portcullis auth domain, independent of any runtime.
//!
//! Everything that decides *what* happens to an account lives here: the model, the ports the
//! domain needs from the world (storage, mail, time, randomness), password hashing, tokens, the
//! flows (sign-up, confirmation, login) and the wire dialects that translate each upstream
//! protocol to flow calls. What does not belong here: anything that knows about workerd, D1, KV,
//! wasm-bindgen or sockets; that is the `portcullis-worker` crate's job, behind the ports.
//!
//! Dependency direction inside the crate: `model`/`ports` <- `password`/`token` <- `flows` <-
//! `dialects` <- `app`.

// Storage futures on Workers hold JS handles and are never `Send`; the ports are used through
// generics (no `dyn`), so the auto-trait bounds that this lint asks to spell out are not needed.
#![allow(async_fn_in_trait)]

pub mod app;
pub mod config;
pub mod dialects;
pub mod flows;
pub mod mail;
pub mod model;
pub mod password;
pub mod ports;
pub mod secret;
pub mod token;

#[cfg(feature = "testing")]
pub mod testing;

pub use app::App;
pub use config::{Config, ConfigError};
pub use flows::{Auth, FlowError};
