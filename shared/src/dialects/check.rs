//! `GET /api/check`: the resource check a separate API server calls with the bearer token it
//! received, to learn whose it is.
//!
//! Accepts every credential Portcullis issues: GoTrue, Feathers and graphql-jwt access tokens
//! (JWTs) and passwordless session tokens (opaque `id.secret`), after `Bearer` or `JWT`, through
//! the flows' one bearer road (one signature check, one store read). 200 with the subject
//! (dialect, user id, email and whether it is verified, username, session id, expiry) when
//! the token is one we issued,
//! unexpired, and its session is live and within its lifetime (checked in the store, so logout
//! holds at once); 401 `{"error": ...}` with a `WWW-Authenticate` challenge otherwise. The
//! answer never says which of those checks failed beyond a short reason.

use super::{auth_token, json_response, Body};
use crate::flows::{Flows, Bearer, FlowError};
use crate::model::Timestamp;
use crate::ports::Ports;
use crate::token::TokenError;
use http::{Request, Response, StatusCode};
use serde_json::json;

/// Why a check failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum CheckError {
    /// No `Authorization` header with a token.
    Missing,
    /// The bearer road refused the token, or failed.
    Flow(FlowError),
}

/// Status and message for a check failure: the one place this endpoint picks statuses.
fn describe(e: &CheckError) -> (StatusCode, &'static str) {
    use FlowError as F;
    let unauthorized = StatusCode::UNAUTHORIZED;
    match e {
        CheckError::Missing => (unauthorized, "missing bearer token"),
        CheckError::Flow(F::BadToken(TokenError::Expired)) => (unauthorized, "token expired"),
        CheckError::Flow(F::BadToken(
            TokenError::Malformed
            | TokenError::Algorithm
            | TokenError::UnknownKey
            | TokenError::BadSignature
            | TokenError::Claims
            | TokenError::Audience { .. }
            | TokenError::Issuer { .. }
            | TokenError::Signing,
        )) => (unauthorized, "invalid token"),
        CheckError::Flow(F::SessionNotFound | F::UserNotFound) => (unauthorized, "session ended"),
        CheckError::Flow(F::SessionExpired) => (unauthorized, "session expired"),
        CheckError::Flow(F::UserBanned) => (unauthorized, "user banned"),
        CheckError::Flow(F::Internal(_)) => (StatusCode::INTERNAL_SERVER_ERROR, "internal server error"),
        // Nothing else comes out of the bearer road; should a future change let one through,
        // it is still an invalid credential, never a success.
        CheckError::Flow(
            F::SignupDisabled
            | F::InvalidEmail
            | F::WeakPassword { .. }
            | F::PasswordTooLong
            | F::UserAlreadyExists
            | F::InvalidCredentials
            | F::EmailNotConfirmed
            | F::CodeInvalid
            | F::RefreshTokenNotFound
            | F::RefreshTokenAlreadyUsed
            | F::RefreshWindowPassed
            | F::OverEmailSendRateLimit { .. }
            | F::EmailExists
            | F::InvalidUsername
            | F::InvalidPlatform
            | F::UsernameTaken
            | F::LinkInvalid
            | F::LoginNotReady
            | F::FlowStateNotFound
            | F::NotAdmin
            | F::AnonymousDisabled
            | F::AnonymousWithoutAddress
            | F::NoSuchUser
            | F::NoUserWithEmail
            | F::FlowStateExpired
            | F::BadCodeVerifier
            | F::ReauthenticationNeeded
            | F::ReauthenticationNotValid
            | F::NoAddress
            | F::AddressNotVerified
            | F::TooManyRequests,
        ) => (unauthorized, "invalid token"),
    }
}

/// Serves `GET /api/check`.
pub async fn handle<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Response<Body> {
    let result = match auth_token(req.headers(), &["bearer", "jwt"]) {
        None => Err(CheckError::Missing),
        Some(token) => auth.authenticate(token, crate::model::Dialect::ALL).await.map_err(CheckError::Flow),
    };
    match result {
        Ok(bearer) => json_response(StatusCode::OK, &subject(&bearer), &[]),
        Err(e) => {
            let (status, message) = describe(&e);
            let mut body = json!({"error": message});
            if let CheckError::Flow(FlowError::Internal(detail)) = &e {
                body["error_id"] = json!(auth.report(detail));
            }
            let challenge = match e {
                CheckError::Missing => "Bearer".to_string(),
                CheckError::Flow(_) => format!("Bearer error=\"invalid_token\", error_description=\"{message}\""),
            };
            json_response(status, &body, &[("www-authenticate", challenge)])
        }
    }
}

fn subject(b: &Bearer) -> serde_json::Value {
    json!({
        "dialect": b.dialect.as_str(),
        "user_id": b.user.id,
        "email": b.user.email,
        // Set only by a code or link that went to the address: a resource server may trust
        // the address for mail only when this is true.
        "email_verified": b.user.is_confirmed(),
        "username": b.user.username,
        "session_id": b.session.id,
        // Session tokens live until their session ends.
        "expires_at": b.expires_at.map(Timestamp::unix_seconds),
    })
}
