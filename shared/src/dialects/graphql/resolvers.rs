//! What the graphql-jwt dialect's fields answer: the objects its mutations and `me` return,
//! each as its type name and field values, the bounds on depth and complexity, the resolvers'
//! errors ([`GraphqlError`]) with upstream's messages, and the [`Backend`] port the executor
//! calls, type-erased so that the engine is not generic.
//!
//! Not here: the schema as introspection shows it (`schema.rs`), reading the request and
//! choosing statuses (`graphql/mod.rs`), and the backend over the flows (`graphql/backend.rs`).

use crate::secret::{Password, RefreshSecret, Secret};
use serde_json::{json, Map, Value};
use std::future::Future;
use std::pin::Pin;

/// Deepest selection accepted (the standard introspection query needs 13).
pub const MAX_DEPTH: usize = 15;
/// Most fields a document may select: each field counts one plus its children, `__typename`
/// nothing (async-graphql's complexity rule, kept).
pub const MAX_COMPLEXITY: usize = 500;
/// What one `tokenAuth` counts for: at most four sign-ins (four password hashes) fit in a document.
pub const TOKEN_AUTH_COMPLEXITY: usize = 100;

/// Why a resolver refused; the text is upstream's message, shown to the caller.
#[derive(Debug)]
#[non_exhaustive]
pub enum GraphqlError {
    /// Unknown account, wrong or missing password, or an unconfirmed address.
    Credentials,
    /// Signed by us and well formed, but past `exp`.
    SignatureExpired,
    /// Not a JWT of ours.
    DecodingSignature,
    /// Ours, but not a graphql-jwt payload.
    InvalidPayload,
    /// Ours and well formed, but its session has ended.
    InvalidToken,
    /// `origIat` plus the refresh window has passed.
    RefreshExpired,
    /// A long-running refresh token that is unknown, used or ended.
    InvalidRefreshToken,
    /// A long-running refresh token older than the refresh window.
    RefreshTokenExpired,
    /// `me` without a valid token.
    PermissionDenied,
    /// An argument this deployment's mode needs is missing, or one it does not use was given.
    Argument(&'static str),
    /// A flow refused for a reason no graphql-jwt operation has words of its own for.
    Refused(String),
    /// A password sign-in of an account with a second factor: `totpAuth` completes it with
    /// this ticket (in the error's `extensions`).
    SecondStep {
        /// The ticket.
        ticket: String,
        /// The account's verified factors, as `{id, type, friendlyName}`.
        factors: Value,
    },
    /// Something broke; logged under this id, which the caller is shown.
    Internal(String),
}

impl GraphqlError {
    pub(super) fn message(&self) -> String {
        let text = match self {
            GraphqlError::Credentials => "Please enter valid credentials",
            GraphqlError::SignatureExpired => "Signature has expired",
            GraphqlError::DecodingSignature => "Error decoding signature",
            GraphqlError::InvalidPayload => "Invalid payload",
            GraphqlError::InvalidToken => "Invalid token",
            GraphqlError::RefreshExpired => "Refresh has expired",
            GraphqlError::InvalidRefreshToken => "Invalid refresh token",
            GraphqlError::RefreshTokenExpired => "Refresh token is expired",
            GraphqlError::PermissionDenied => "You do not have permission to perform this action",
            GraphqlError::Argument(m) => m,
            GraphqlError::Refused(m) => m,
            GraphqlError::SecondStep { .. } => "A second factor is required",
            GraphqlError::Internal(id) => return format!("Internal server error (error id: {id})"),
        };
        text.to_string()
    }

    /// What the client needs beyond the message: `totpAuth`'s ticket.
    pub(super) fn extensions(&self) -> Option<Value> {
        match self {
            GraphqlError::SecondStep { ticket, factors } => {
                Some(json!({"code": "SECOND_FACTOR_REQUIRED", "ticket": ticket, "factors": factors}))
            }
            _ => None,
        }
    }
}

/// The payload scalar upstream calls `GenericScalar`: any JSON value.
#[derive(Debug, Clone)]
pub struct GenericScalar(pub Value);

/// What `tokenAuth` and `refreshToken` return (`ObtainJSONWebToken`).
pub struct Obtained {
    /// The token's claims.
    pub(super) payload: GenericScalar,
    /// Unix seconds until which the token can be refreshed.
    pub(super) refresh_expires_in: i64,
    /// The access token.
    pub(super) token: String,
    /// The long-running refresh token, when that mode is on.
    pub(super) refresh_token: Option<String>,
}

/// What `webauthnChallenge` returns (`WebauthnChallenge`).
pub struct WebauthnChallenge {
    /// The challenge's id.
    pub(super) challenge_id: String,
    /// `PublicKeyCredentialRequestOptions`.
    pub(super) public_key: GenericScalar,
    /// Unix seconds.
    pub(super) expires_at: i64,
}

impl WebauthnChallenge {
    pub(super) fn fields(self) -> Fields {
        fields("WebauthnChallenge", json!({"challengeId": self.challenge_id, "publicKey": self.public_key.0, "expiresAt": self.expires_at}))
    }
}

/// What `verifyToken` returns (`Verify`).
pub struct Verified {
    /// The token's claims.
    pub(super) payload: GenericScalar,
}

/// What `revokeToken` returns (`Revoke`).
pub struct Revoked {
    /// When the refresh token was revoked, unix seconds.
    pub(super) revoked: i64,
}

/// The signed-in user, as `me` shows it (`UserType`).
pub struct Me {
    /// The account id.
    pub(super) id: String,
    /// The username, or the address for accounts without one.
    pub(super) username: String,
    /// The address, or the empty string (as Django's `User.email`).
    pub(super) email: String,
}

/// An object's type name and all its fields, which the selection then picks from.
pub(super) type Fields = (&'static str, Map<String, Value>);

fn fields(ty: &'static str, value: Value) -> Fields {
    match value {
        Value::Object(map) => (ty, map),
        _ => (ty, Map::new()),
    }
}

impl Obtained {
    pub(super) fn fields(self) -> Fields {
        let Obtained { payload, refresh_expires_in, token, refresh_token } = self;
        fields(
            "ObtainJSONWebToken",
            json!({"payload": payload.0, "refreshExpiresIn": refresh_expires_in, "token": token, "refreshToken": refresh_token}),
        )
    }
}

impl Verified {
    pub(super) fn fields(self) -> Fields {
        fields("Verify", json!({"payload": self.payload.0}))
    }
}

impl Revoked {
    pub(super) fn fields(self) -> Fields {
        fields("Revoke", json!({"revoked": self.revoked}))
    }
}

impl Me {
    pub(super) fn fields(self) -> Fields {
        fields("UserType", json!({"id": self.id, "username": self.username, "email": self.email}))
    }
}

pub(super) type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, GraphqlError>> + 'a>>;

/// What the resolvers need from the world, type-erased so that the engine is not generic.
pub(super) trait Backend {
    fn token_auth(&self, username: String, password: Password) -> LocalFuture<'_, Obtained>;
    fn totp_auth(&self, ticket: Secret<String>, code: String, factor_id: Option<String>) -> LocalFuture<'_, Obtained>;
    fn webauthn_challenge(&self, ticket: Secret<String>, factor_id: Option<String>) -> LocalFuture<'_, WebauthnChallenge>;
    fn webauthn_auth(&self, ticket: Secret<String>, challenge_id: String, credential: String, factor_id: Option<String>) -> LocalFuture<'_, Obtained>;
    fn verify(&self, token: String) -> LocalFuture<'_, Verified>;
    fn refresh(&self, token: Option<String>, refresh_token: Option<RefreshSecret>) -> LocalFuture<'_, Obtained>;
    fn revoke(&self, refresh_token: RefreshSecret) -> LocalFuture<'_, Revoked>;
    fn me(&self) -> LocalFuture<'_, Me>;
}
