//! Typed ids: one type per kind of record ([`UserId`], [`SessionId`], [`CodeId`],
//! [`FactorId`], [`ChallengeId`], [`PasskeyId`], [`PasskeyChallengeId`], [`IdentityId`], [`LoginRequestId`]), so that a session's id cannot be passed where an account's is meant.
//! Each is a string on the wire and in storage (`#[serde(transparent)]`, `Display`), so nothing
//! a client or a backend sees changes. Fresh ones are minted from the `Rng` port by
//! `crate::token::random_id`; an id read from a request or a row is wrapped with `new` (or
//! `From<String>`), and compared with a request's string explicitly, through `as_str`. Not here:
//! the public halves of opaque tokens and anything secret (`crate::secret`).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id read from storage or a request (not checked: an unknown id simply
            /// finds nothing).
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as its string, for storage, wire output and explicit comparisons.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id's string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type! {
    /// An account's id: a UUID v4, the JWT `sub`.
    UserId
}

id_type! {
    /// A session's id: a UUID v4, what access tokens name (`session_id`, `jti`, `sid`).
    SessionId
}

id_type! {
    /// A one-time code's id: a UUID v4, also mixed into the code's hash.
    CodeId
}

id_type! {
    /// A second factor's id: a UUID v4, as GoTrue's `factor_id`.
    FactorId
}

id_type! {
    /// A second factor's challenge id: a UUID v4, as GoTrue's `challenge_id`.
    ChallengeId
}

id_type! {
    /// A passkey's id: a UUID v4, as GoTrue's `passkey_id` (not its credential id).
    PasskeyId
}

id_type! {
    /// A passkey ceremony's challenge id: a UUID v4, as GoTrue's passkey `challenge_id`.
    PasskeyChallengeId
}

id_type! {
    /// A provider identity's id: a UUID v4, as GoTrue's `identity_id` (not the provider's
    /// subject).
    IdentityId
}

id_type! {
    /// An emailed sign-in request's id: a UUID v4, the passwordless `auth_id` its requester
    /// polls with.
    LoginRequestId
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ids_are_plain_strings_on_the_wire_and_in_text() {
        let id = UserId::new("0b6e4a8e-1c1f-4d4b-9d3e-2f0c5a6b7c8d");
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""0b6e4a8e-1c1f-4d4b-9d3e-2f0c5a6b7c8d""#);
        assert_eq!(serde_json::from_str::<UserId>(r#""abc""#).unwrap(), UserId::new("abc"));
        assert_eq!(format!("{id}"), id.as_str());
        assert_eq!(serde_json::json!({ "id": SessionId::new("s") }), serde_json::json!({ "id": "s" }));
    }
}
