//! Wire types that both ends speak: the request and response bodies a client sends and reads,
//! as plain serde types with no behaviour.
//!
//! The server's dialects render these and the browser client (`portcullis-client`) parses them,
//! so the two cannot drift apart. Only shapes belong here; validation, statuses and rules stay
//! in the dialects and flows, which this module must not depend on.

pub mod feathers;
