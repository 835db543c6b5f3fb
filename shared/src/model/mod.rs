//! The account store's records: what Portcullis knows about users, sessions, refresh tokens and
//! one-time codes, independent of how a backend stores them or a dialect renders them.
//!
//! Secrets never appear here in the clear: passwords are PHC strings, token and code secrets are
//! hashes. Timestamps are unix milliseconds ([`Timestamp`]), taken from the `Clock` port.
//!
//! One file per domain concept, each re-exported here so that callers name `crate::model::User`
//! and never the file: `time` (the timestamp), `id` (the typed ids of records), `user` (the account), `dialect` (the protocols a
//! session can be started through), `session` (sessions, their tokens, how they start and which
//! a logout ends), `factor` (second factors, their challenges and assurance levels), `identity` (accounts' identities at OpenID Connect and OAuth providers), `code` (one-time codes and emailed links, their purposes, and the PKCE auth
//! codes their links turn into), `login_request` (passwordless emailed sign-in requests) and
//! `mail` (a rendered mail). Not here: rules (`flows`), storage (`ports`), wire shapes
//! (`dialects`).

mod code;
mod dialect;
mod factor;
mod id;
mod identity;
mod login_request;
mod mail;
mod passkey;
mod session;
mod time;
mod user;

pub use code::{FlowState, OneTimeCode, PkceChallenge, PkceMethod, Purpose};
pub use dialect::Dialect;
pub use factor::{Aal, Challenge, Factor, FactorKind, SecondStep, WebauthnCredential};
pub use id::{ChallengeId, CodeId, FactorId, IdentityId, LoginRequestId, PasskeyChallengeId, PasskeyId, SessionId, UserId};
pub use passkey::{Passkey, PasskeyCeremony, PasskeyChallenge};
pub use identity::{Identity, OauthFlow};
pub use login_request::{LoginRequest, LoginState};
pub use mail::Mail;
pub use session::{AuthMethod, LogoutScope, RefreshToken, Session, SessionToken};
pub use time::Timestamp;
pub use user::{MfaState, User};
