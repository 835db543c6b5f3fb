//! `GET /api/check`: the resource check a separate API server calls with the bearer token it
//! received, to learn whose it is.
//!
//! Accepts every credential Portcullis issues: GoTrue, Feathers and graphql-jwt access tokens
//! (JWTs) and passwordless session tokens (opaque `id.secret`), after `Bearer` or `JWT`, through
//! the flows' one bearer road (one signature check, one store read). 200 with the subject
//! (dialect, user id, email and whether it is verified, username, session id, expiry, and the
//! session's assurance level and methods, `aal` and `amr`) when
//! the token is one we issued (and, with `?aal=aal2`, its session took a second factor),
//! unexpired, and its session is live and within its lifetime (checked in the store, so logout
//! holds at once); 401 `{"error": ...}` with a `WWW-Authenticate` challenge otherwise. The
//! answer never says which of those checks failed beyond a short reason.

use super::{auth_token, form_pairs, json_response, Body};
use crate::dialects::routes::{self, Denied, Guard, Hit, Refused, Route, Verb};
use crate::flows::{Bearer, BearerError, Flows};
use crate::model::{Aal, Dialect, Timestamp};
use crate::ports::Ports;
use crate::token::TokenError;
use http::{HeaderMap, Request, Response, StatusCode};
use serde_json::json;

/// The check's one endpoint.
#[derive(Debug, Clone, Copy)]
pub enum Endpoint {
    /// `GET /api/check`.
    Check,
}

/// The check's routes: one, which takes any dialect's live session.
pub struct Api;

impl routes::Api for Api {
    type Endpoint = Endpoint;
    const ROUTES: &'static [Route<Endpoint>] = &[Route::json(Verb::Get, "/api/check", Guard::Session, Endpoint::Check)];
    const ACCEPTS: &'static [Dialect] = Dialect::ALL;

    fn credential(headers: &HeaderMap) -> Option<&str> {
        auth_token(headers, &["bearer", "jwt"])
    }

    fn refuse<P: Ports>(flows: &Flows<P>, _req: &Request<Body>, why: Refused<Endpoint>) -> Response<Body> {
        match why {
            Refused::Guard(_, Denied::Missing) => failure(flows, &CheckError::Missing),
            Refused::Guard(_, Denied::Bearer(e)) => failure(flows, &CheckError::Bearer(e)),
            // The check names no service role; nothing else reaches it.
            Refused::Guard(_, Denied::NotServiceRole(_)) | Refused::NoRoute => {
                json_response(StatusCode::NOT_FOUND, &json!({"error": "not found"}), &[])
            }
            Refused::Request(r) => {
                let (status, message) = r.status_and_message();
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
                json_response(status, &json!({"error": message}), &[])
            }
        }
    }

    async fn serve<P: Ports + 'static>(flows: &Flows<P>, req: &Request<Body>, hit: Hit<'_, Endpoint>) -> Response<Body> {
        // `?aal=aal2`: the resource server requires a second factor (RFC 9470's step-up).
        // Said once: a resource server that appends `&aal=aal2` to a query a client chose
        // must not be undone by the client's own `aal=aal1` before it.
        let said: Vec<String> = form_pairs(req.uri().query().unwrap_or_default().as_bytes())
            .into_iter()
            .filter_map(|(k, v)| (k == "aal").then_some(v))
            .collect();
        let wanted = match said.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            [] | ["aal1"] => Aal::Aal1,
            ["aal2"] => Aal::Aal2,
            _ => return json_response(StatusCode::BAD_REQUEST, &json!({"error": "aal must be given once, as aal1 or aal2"}), &[]),
        };
        match hit.caller.session() {
            Ok(bearer) if bearer.session.aal() < wanted => failure(flows, &CheckError::InsufficientAal),
            Ok(bearer) => json_response(StatusCode::OK, &subject(&bearer), &[]),
            Err(e) => failure(flows, &CheckError::Bearer(BearerError::Internal(e.to_string()))),
        }
    }
}

/// Why a check failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum CheckError {
    /// No `Authorization` header with a token.
    Missing,
    /// The bearer road refused the token, or failed.
    Bearer(BearerError),
    /// A live session below the `aal` the request asked for.
    InsufficientAal,
}

/// Status and message for a check failure: the one place this endpoint picks statuses.
fn describe(e: &CheckError) -> (StatusCode, &'static str) {
    let unauthorized = StatusCode::UNAUTHORIZED;
    match e {
        CheckError::Missing => (unauthorized, "missing bearer token"),
        CheckError::Bearer(BearerError::BadToken(TokenError::Expired)) => (unauthorized, "token expired"),
        CheckError::Bearer(BearerError::BadToken(_)) => (unauthorized, "invalid token"),
        CheckError::Bearer(BearerError::SessionNotFound | BearerError::UserNotFound) => (unauthorized, "session ended"),
        CheckError::Bearer(BearerError::SessionExpired) => (unauthorized, "session expired"),
        CheckError::Bearer(BearerError::UserBanned) => (unauthorized, "user banned"),
        CheckError::Bearer(BearerError::Internal(_)) => (StatusCode::INTERNAL_SERVER_ERROR, "internal server error"),
        CheckError::InsufficientAal => (unauthorized, "a second factor is required"),
    }
}

/// A failed check: 401 with a `WWW-Authenticate` challenge (or 500 with an error id).
fn failure<P: Ports>(flows: &Flows<P>, e: &CheckError) -> Response<Body> {
    let (status, message) = describe(e);
    let mut body = json!({"error": message});
    if let CheckError::Bearer(BearerError::Internal(detail)) = e {
        body["error_id"] = json!(flows.report(detail));
    }
    let challenge = match e {
        CheckError::Missing => "Bearer".to_string(),
        CheckError::Bearer(_) => format!("Bearer error=\"invalid_token\", error_description=\"{message}\""),
        CheckError::InsufficientAal => format!("Bearer error=\"insufficient_user_authentication\", error_description=\"{message}\""),
    };
    json_response(status, &body, &[("www-authenticate", challenge)])
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
        // What the session has proven, read from the store (not from the token), so a resource
        // server can require `aal2`; `mfa_enabled` says whether the account could reach it.
        "aal": b.session.aal().as_str(),
        "amr": crate::flows::amr(&b.session),
        "mfa_enabled": b.user.mfa_enabled(),
    })
}
