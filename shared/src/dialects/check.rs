//! `GET /api/check`: the resource check a separate API server calls with the bearer token it
//! received, to learn whose it is.
//!
//! Accepts every credential Portcullis issues: GoTrue, Feathers and graphql-jwt access tokens
//! (JWTs) and passwordless session tokens (opaque `id.secret`), after `Bearer` or `JWT`. 200
//! with the subject (user id, email, username, session id, expiry) when the token is one we
//! issued, unexpired, and its session is still live (checked in the store, so logout holds at
//! once);
//! 401 `{"error": ...}` with a `WWW-Authenticate` challenge otherwise. The answer never says
//! which of those checks failed beyond a short reason.

use super::{auth_token, json_response, Body};
use crate::dialects::feathers::{self, FeathersError};
use crate::dialects::graphql::{self, CheckFailure};
use crate::dialects::gotrue::SessionClaims;
use crate::flows::{Auth, FlowError};
use crate::ports::{Clock as _, Ports};
use crate::model::{Session, Timestamp, User};
use crate::token::{random_hex, OpaqueToken, TokenError};
use http::{Request, Response, StatusCode};
use serde_json::json;

/// Why a check failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum CheckError {
    /// No `Authorization` header with a token.
    Missing,
    /// Not one of our tokens, or unreadable.
    Invalid,
    /// Ours but expired.
    Expired,
    /// Its session was ended or its account removed.
    Revoked,
    /// Something broke; the detail goes to the log.
    Internal(String),
}

/// Status and message for a check failure: the one place this endpoint picks statuses.
fn describe(e: &CheckError) -> (StatusCode, &'static str) {
    match e {
        CheckError::Missing => (StatusCode::UNAUTHORIZED, "missing bearer token"),
        CheckError::Invalid => (StatusCode::UNAUTHORIZED, "invalid token"),
        CheckError::Expired => (StatusCode::UNAUTHORIZED, "token expired"),
        CheckError::Revoked => (StatusCode::UNAUTHORIZED, "session ended"),
        CheckError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal server error"),
    }
}

/// Serves `GET /api/check`.
pub async fn handle<P: Ports>(auth: &Auth<P>, req: &Request<Body>) -> Response<Body> {
    match check(auth, req).await {
        Ok(body) => json_response(StatusCode::OK, &body, &[]),
        Err(e) => {
            let (status, message) = describe(&e);
            let mut body = json!({"error": message});
            if let CheckError::Internal(detail) = &e {
                let id = random_hex(auth.ports.rng(), 8);
                auth.ports.log_error(&id, detail);
                body["error_id"] = json!(id);
            }
            let challenge = match e {
                CheckError::Missing => "Bearer".to_string(),
                _ => format!("Bearer error=\"invalid_token\", error_description=\"{message}\""),
            };
            json_response(status, &body, &[("www-authenticate", challenge)])
        }
    }
}

async fn check<P: Ports>(auth: &Auth<P>, req: &Request<Body>) -> Result<serde_json::Value, CheckError> {
    let token = auth_token(req.headers(), &["bearer", "jwt"]).ok_or(CheckError::Missing)?;
    if OpaqueToken::parse(token).is_some() {
        let (session, user) = auth.token_session(token).await.map_err(|e| match e {
            FlowError::Internal(d) => CheckError::Internal(d),
            _ => CheckError::Revoked,
        })?;
        // Session tokens live until their session ends.
        return Ok(subject(&user, &session, None));
    }
    let now = auth.ports.clock().now();
    let verified = match auth.jwt.verify::<SessionClaims>(token, now) {
        Ok(v) => v,
        Err(TokenError::Expired) => return Err(CheckError::Expired),
        // Signed by us but not GoTrue's claims: perhaps a Feathers or graphql-jwt token.
        Err(TokenError::Invalid("unable to parse claims")) => return feathers_subject(auth, token).await,
        Err(_) => return Err(CheckError::Invalid),
    };
    let claims = verified.claims;
    let (session, user) = auth
        .session_user(&claims.session_id, &claims.sub)
        .await
        .map_err(|e| match e {
            FlowError::Internal(d) => CheckError::Internal(d),
            _ => CheckError::Revoked,
        })?;
    Ok(subject(&user, &session, Some(verified.expires_at)))
}

async fn feathers_subject<P: Ports>(auth: &Auth<P>, token: &str) -> Result<serde_json::Value, CheckError> {
    let (session, user, expires_at) = match feathers::token_subject(auth, token).await {
        Ok(found) => found,
        // Not Feathers' claims either: perhaps a graphql-jwt token.
        Err(FeathersError::BadToken(TokenError::Invalid("unable to parse claims"))) => {
            let bearer = graphql::token_subject(auth, token).await.map_err(|e| match e {
                CheckFailure::Flow(e) => flow_failure(e),
                CheckFailure::Token(TokenError::Expired) => CheckError::Expired,
                CheckFailure::Token(_) => CheckError::Invalid,
            })?;
            (bearer.session, bearer.user, bearer.expires_at)
        }
        Err(FeathersError::Flow(e)) => return Err(flow_failure(e)),
        Err(FeathersError::BadToken(TokenError::Expired)) => return Err(CheckError::Expired),
        Err(_) => return Err(CheckError::Invalid),
    };
    Ok(subject(&user, &session, Some(expires_at)))
}

fn flow_failure(e: FlowError) -> CheckError {
    match e {
        FlowError::Internal(d) => CheckError::Internal(d),
        _ => CheckError::Revoked,
    }
}

fn subject(user: &User, session: &Session, expires_at: Option<Timestamp>) -> serde_json::Value {
    json!({
        "user_id": user.id,
        "email": user.email,
        "username": user.username,
        "session_id": session.id,
        "expires_at": expires_at.map(Timestamp::unix_seconds),
    })
}
