//! FeathersJS v5 authentication bodies: `POST /authentication` requests and results, the
//! public view of a user, and the error body every Feathers error has.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// The `local` and `jwt` strategy names.
pub const LOCAL: &str = "local";
/// See [`LOCAL`].
pub const JWT: &str = "jwt";
/// The strategy that completes a `local` sign-in with an authenticator app's code.
pub const TOTP: &str = "totp";
/// The strategy that signs in with a passkey: an answer to a `passkey-challenges` challenge.
pub const PASSKEY: &str = "passkey";
/// The strategy that completes a `local` sign-in with a security key (a WebAuthn factor): an
/// answer to a `second-factor-challenges` challenge.
pub const WEBAUTHN: &str = "webauthn";
/// The service that starts a security key's second step (`create {ticket, factorId?}`).
pub const SECOND_FACTOR_CHALLENGES: &str = "second-factor-challenges";

/// The service that starts a passkey sign-in (`create`, signed out).
pub const PASSKEY_CHALLENGES: &str = "passkey-challenges";
/// The service that starts a passkey registration (`create`, signed in).
pub const PASSKEY_REGISTRATIONS: &str = "passkey-registrations";
/// The signed-in account's passkeys (`create` registers one, `find`, `remove`).
pub const PASSKEY_CREDENTIALS: &str = "passkey-credentials";

/// A `POST /authentication` body. Which fields matter depends on `strategy`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthRequest {
    /// `local` (email and password) or `jwt` (an access token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// The account's address (`local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The password (`local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// A token from an earlier result (`jwt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// The ticket a `local` sign-in of an account with a second factor answered (`totp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// The authenticator app's code (`totp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Which factor the code is from, when the account has several (`totp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor_id: Option<String>,
    /// The `challengeId` of a `passkey-challenges` (`passkey`) or `second-factor-challenges`
    /// (`webauthn`) answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge_id: Option<String>,
    /// The assertion, as `PublicKeyCredential.toJSON()` gives it (`passkey`). Raw JSON: the
    /// server reads it as a WebAuthn response, and the browser client, which sends this type,
    /// carries no JSON tree type into its wasm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<Box<RawValue>>,
}

/// What `passkey-challenges` and `passkey-registrations` answer: a ceremony to run with
/// `navigator.credentials.get` or `create`, and the id to answer it with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasskeyChallenge {
    /// The challenge's id, for the answer.
    pub challenge_id: String,
    /// `PublicKeyCredentialRequestOptionsJSON` (sign-in) or `...CreationOptionsJSON`
    /// (registration): binary members base64url.
    pub public_key: Value,
    /// Until when it can be answered (RFC 3339).
    pub expires_at: String,
}

/// A `passkey-credentials` `create` body: the answer to a `passkey-registrations` challenge.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasskeyAnswer {
    /// The challenge's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge_id: Option<String>,
    /// The new credential, as `PublicKeyCredential.toJSON()` gives it (raw JSON, as
    /// [`AuthRequest::credential`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<Box<RawValue>>,
}

/// One of the account's passkeys, as `passkey-credentials` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasskeyView {
    /// Its id (a UUID), for `remove`.
    pub id: String,
    /// Its name (`Passkey` unless renamed through GoTrue's API).
    pub name: String,
    /// When it was registered (RFC 3339).
    pub created_at: String,
    /// When it last signed in (RFC 3339), or `null`.
    pub last_used_at: Option<String>,
}

/// The claims of a Feathers access token, as reported in a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Expires at, unix seconds.
    pub exp: i64,
    /// Audience.
    pub aud: String,
    /// Issuer.
    pub iss: String,
    /// The user id.
    pub sub: String,
    /// The token's id, which is its session's id.
    pub jti: String,
}

/// What authenticated the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authentication {
    /// The strategy that succeeded.
    pub strategy: String,
    /// The presented token (`jwt` strategy only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// The token's claims.
    pub payload: Payload,
}

/// A user as the users service shows it: never a password or its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    /// The account id (a UUID).
    pub id: String,
    /// The address, when the account has one.
    pub email: Option<String>,
    /// A Gravatar URL for the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
}

/// A successful `POST` or `DELETE /authentication`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthResult {
    /// The access token (the same one for the `jwt` strategy).
    pub access_token: String,
    /// How it was authenticated, with the token's claims.
    pub authentication: Authentication,
    /// The signed-in user.
    pub user: UserView,
}

/// A Feathers error body: `{name, message, code, className, data?, errors?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The error class, e.g. `NotAuthenticated`.
    pub name: String,
    /// What went wrong, in words.
    pub message: String,
    /// The HTTP status.
    pub code: u16,
    /// The kebab-case class name, e.g. `not-authenticated`.
    pub class_name: String,
    /// Extra detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// Per-field validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Value>,
}

impl ErrorBody {
    /// The Feathers error class for an HTTP status, as `(name, className)`.
    pub fn class_of(code: u16) -> (&'static str, &'static str) {
        match code {
            400 => ("BadRequest", "bad-request"),
            401 => ("NotAuthenticated", "not-authenticated"),
            402 => ("PaymentError", "payment-error"),
            403 => ("Forbidden", "forbidden"),
            404 => ("NotFound", "not-found"),
            405 => ("MethodNotAllowed", "method-not-allowed"),
            406 => ("NotAcceptable", "not-acceptable"),
            408 => ("Timeout", "timeout"),
            409 => ("Conflict", "conflict"),
            411 => ("LengthRequired", "length-required"),
            413 => ("PayloadTooLarge", "payload-too-large"),
            415 => ("UnsupportedMediaType", "unsupported-media-type"),
            422 => ("Unprocessable", "unprocessable"),
            429 => ("TooManyRequests", "too-many-requests"),
            501 => ("NotImplemented", "not-implemented"),
            502 => ("BadGateway", "bad-gateway"),
            503 => ("Unavailable", "unavailable"),
            _ => ("GeneralError", "general-error"),
        }
    }

    /// The error of class `code` with `message`.
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        let (name, class_name) = Self::class_of(code);
        Self {
            name: name.into(),
            message: message.into(),
            code,
            class_name: class_name.into(),
            data: None,
            errors: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_serialize_in_feathers_shape() {
        let e = ErrorBody::new(401, "Invalid login");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"name": "NotAuthenticated", "message": "Invalid login", "code": 401, "className": "not-authenticated"})
        );
    }

    #[test]
    fn requests_use_camel_case_and_omit_absent_fields() {
        let r = AuthRequest { strategy: Some(JWT.into()), access_token: Some("t".into()), ..Default::default() };
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"strategy":"jwt","accessToken":"t"}"#);
    }
}
