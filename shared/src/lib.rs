//! The Portcullis auth domain, independent of any runtime.
//!
//! Everything that decides *what* happens to an account lives here: the model, the ports the
//! domain needs from the world (storage, mail, time, randomness), password hashing, tokens, the
//! flows (sign-up, confirmation, login) and the wire dialects that translate each upstream
//! protocol to flow calls. What does not belong here: anything that knows about workerd, D1,
//! wasm-bindgen or sockets; that is the `portcullis-worker` crate's job, behind the ports.
//!
//! Dependency direction inside the crate: `model`/`signature`/`ports` <-
//! `password`/`keyset`/`token`/`totp`/`seal`/`webauthn`/`oidc` <- `config` <- `mail` <- `flows` <-
//! `dialects` (each with its route table, over `dialects::routes`) <- `realtime` (Feathers over
//! Socket.IO) <- `app`, the top: it mounts the dialects and is the one entry for HTTP requests
//! and socket calls. No two modules import each other.
//!
//! `wire` holds the serde types of wire formats that a client also speaks; it is all the crate
//! has with the default `server` feature off (what the browser client builds).

// Storage futures on Workers hold JS handles and are never `Send`; the ports are used through
// generics (no `dyn`), so the auto-trait bounds that this lint asks to spell out are not needed.
#![allow(async_fn_in_trait)]

#[cfg(feature = "server")]
pub mod app;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod dialects;
#[cfg(feature = "server")]
pub mod flows;
#[cfg(feature = "server")]
pub mod keyset;
#[cfg(feature = "server")]
pub mod mail;
#[cfg(feature = "server")]
pub mod model;
#[cfg(feature = "server")]
pub mod oidc;
#[cfg(feature = "server")]
pub mod password;
#[cfg(feature = "server")]
pub mod ports;
#[cfg(feature = "server")]
pub mod realtime;
#[cfg(feature = "server")]
pub mod seal;
#[cfg(feature = "server")]
pub mod secret;
#[cfg(feature = "server")]
pub mod signature;
#[cfg(feature = "server")]
pub mod token;
#[cfg(feature = "server")]
pub mod totp;
#[cfg(feature = "server")]
pub mod webauthn;
pub mod wire;

#[cfg(any(feature = "testing", feature = "contract"))]
pub mod testing;

#[cfg(feature = "server")]
pub use app::App;
#[cfg(feature = "server")]
pub use config::{Config, ConfigError, CorsOrigins};
#[cfg(feature = "server")]
pub use flows::{Auth, Dialect, FlowError, Flows};
