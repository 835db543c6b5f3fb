//! Secrets as types that cannot leak through `Debug` or logs, nor be compared in variable time.
//!
//! Every secret a client hands in or is handed travels in a type whose `Debug` prints
//! `[redacted]`; reaching the value takes an explicit `expose()`, and the call sites of that are
//! the places to audit. None of them implements `PartialEq`: `==` on two secrets does not
//! compile, and the one comparison there is, `ct_eq`, takes the same time wherever the two first
//! differ (as oauth2-rs' `new_secret_type!` types and kanidm's credentials do).
//!
//! One type per kind of secret, so that one kind cannot be passed where another is meant:
//! [`Password`] (as typed, never stored), [`RefreshSecret`] (a refresh token as its client holds
//! it), [`LinkToken`] (the token of an emailed link), [`PkceVerifier`] (a PKCE code verifier).
//! [`Secret`] wraps the rest (keys, codes, the other opaque tokens). What is stored in their
//! place (hashes) and how they are made is `crate::token`'s and `crate::password`'s business.
//!
//! ```
//! use portcullis_shared::secret::Password;
//! let (a, b) = (Password::new("hunter2".into()), Password::new("hunter2".into()));
//! assert!(a.ct_eq(&b));
//! assert_eq!(format!("{a:?}"), "[redacted]");
//! ```
//! Comparing two secrets with `==` does not compile:
//! ```compile_fail
//! use portcullis_shared::secret::Password;
//! let (a, b) = (Password::new("hunter2".into()), Password::new("hunter2".into()));
//! let _ = a == b;
//! ```

use serde::{Deserialize, Deserializer};
use std::fmt;
use subtle::ConstantTimeEq;

/// A value that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself; call sites of this are the places to audit.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: AsRef<[u8]>> Secret<T> {
    /// Whether two secrets are equal, in a time that depends on their lengths only, never on
    /// where they first differ.
    pub fn ct_eq(&self, other: &Self) -> bool {
        bool::from(self.0.as_ref().ct_eq(other.0.as_ref()))
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

/// Declares a kind of secret string: `Debug` redacts, no `PartialEq` (compare with `ct_eq`),
/// read from a wire body as a plain string (`Deserialize`), never written to one (no
/// `Serialize`: a dialect that hands one out exposes it on purpose).
macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Default)]
        pub struct $name(String);

        impl $name {
            /// Wraps the secret.
            pub fn new(value: String) -> Self {
                Self(value)
            }

            /// The secret itself; call sites of this are the places to audit.
            pub fn expose(&self) -> &str {
                &self.0
            }

            /// Whether two are equal, in a time that depends on their lengths only, never on
            /// where they first differ.
            pub fn ct_eq(&self, other: &Self) -> bool {
                bool::from(self.0.as_bytes().ct_eq(other.0.as_bytes()))
            }
        }

        impl From<Secret<String>> for $name {
            /// Gives an untyped secret its kind, without exposing it.
            fn from(secret: Secret<String>) -> Self {
                Self(secret.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(Self)
            }
        }
    };
}

secret_type! {
    /// A password as its owner typed it: hashed on arrival (`crate::password`), never stored or
    /// sent back.
    Password
}

secret_type! {
    /// A refresh token as its client holds it (`id.secret`): handed out once, and only the
    /// SHA-256 of its secret half is stored.
    RefreshSecret
}

secret_type! {
    /// The token of an emailed link (GoTrue's `token_hash`, the passwordless `?token=`): whoever
    /// holds it has proven the mailbox; only its SHA-256 is stored.
    LinkToken
}

secret_type! {
    /// A PKCE code verifier (RFC 7636): the client's proof that it asked for the mail whose
    /// challenge an auth code carries.
    PkceVerifier
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("hunter2".to_string());
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn every_kind_of_secret_redacts_its_debug_even_inside_a_struct() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Body {
            password: Password,
            refresh: Option<RefreshSecret>,
            link: LinkToken,
            verifier: PkceVerifier,
        }
        let body = Body {
            password: Password::new("hunter2".into()),
            refresh: Some(RefreshSecret::new("id.refresh-secret".into())),
            link: LinkToken::new("link-token".into()),
            verifier: PkceVerifier::new("pkce-verifier".into()),
        };
        let printed = format!("{body:?} {body:#?}");
        for secret in ["hunter2", "refresh-secret", "link-token", "pkce-verifier"] {
            assert!(!printed.contains(secret), "{secret} leaked: {printed}");
        }
        assert_eq!(format!("{:?}", body.password), "[redacted]");
        assert_eq!(body.verifier.expose(), "pkce-verifier");
    }

    #[test]
    fn secrets_compare_only_through_ct_eq() {
        let a = RefreshSecret::new("abc.def".into());
        assert!(a.ct_eq(&RefreshSecret::new("abc.def".into())));
        assert!(a.ct_eq(&a.clone()));
        assert!(!a.ct_eq(&RefreshSecret::new("abc.deg".into())), "last byte differs");
        assert!(!a.ct_eq(&RefreshSecret::new("xbc.def".into())), "first byte differs");
        assert!(!a.ct_eq(&RefreshSecret::new("abc.de".into())), "a prefix");
        assert!(!a.ct_eq(&RefreshSecret::default()));
        assert!(Password::default().ct_eq(&Password::new(String::new())));
        let key = Secret::new(b"key".to_vec());
        assert!(key.ct_eq(&Secret::new(b"key".to_vec())) && !key.ct_eq(&Secret::new(b"kez".to_vec())));
    }

    #[test]
    fn secrets_are_read_from_wire_bodies_as_plain_strings() {
        #[derive(Deserialize)]
        struct Body {
            password: Option<Password>,
            code_verifier: PkceVerifier,
        }
        let body: Body = serde_json::from_str(r#"{"password": "hunter2", "code_verifier": "v"}"#).unwrap();
        assert_eq!(body.password.unwrap().expose(), "hunter2");
        assert_eq!(body.code_verifier.expose(), "v");
        assert!(serde_json::from_str::<Password>("42").is_err(), "only a string is a password");
        let untyped = Secret::new("l".to_string());
        assert_eq!(LinkToken::from(untyped).expose(), "l");
    }
}
