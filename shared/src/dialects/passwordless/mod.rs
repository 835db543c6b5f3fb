//! The passwordless API under `/auth/`: username registration, emailed sign-in with polling,
//! the pages the mailed links open, and session management with `Bearer <session_token>`.
//!
//! Here: the route table and the JSON endpoints. `errors`: the error type, [`describe`] (the one
//! place statuses are chosen) and the `{"error": "<message>"}` body. `pages`: the HTML pages the
//! mailed links open.

mod errors;
mod pages;

pub use errors::{describe, render_error, PasswordlessError};
use pages::{email_answer, email_page, login_answer, login_page};

use super::{auth_token, json_response, parse_json, Body, MediaType};
use crate::dialects::routes::{self, split, Denied, Guard, Hit, Refused, Route, Verb};
use crate::dialects::webauthn_wire::factor_options;
use crate::flows::{Bearer, Dialect, Flows};
use crate::model::{LoginRequestId, SessionId, Timestamp};
use crate::ports::Ports;
use crate::secret::Secret;
use http::{HeaderMap, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

/// The passwordless endpoints.
#[derive(Debug, Clone, Copy)]
pub enum Endpoint {
    /// `POST /auth/registration`.
    Registration,
    /// `POST /auth/login`.
    Login,
    /// `GET /auth/session/{auth_id}`: collect a confirmed sign-in.
    Collect,
    /// `POST /auth/second-factor`: complete a sign-in that owes its second factor.
    SecondFactor,
    /// `POST /auth/second-factor/webauthn-challenge`: a WebAuthn factor's challenge for it.
    SecondFactorChallenge,
    /// `GET /auth/confirm`: the sign-in link's page.
    LoginPage,
    /// `POST /auth/confirm`: the page's answer.
    LoginAnswer,
    /// `GET /auth/email/confirm`: the address link's page.
    EmailPage,
    /// `POST /auth/email/confirm`: the page's answer.
    EmailAnswer,
    /// `GET /auth/me`.
    Me,
    /// `PUT /auth/email`.
    PutEmail,
    /// `POST /auth/logout`.
    Logout,
    /// `GET /auth/sessions`.
    Sessions,
    /// `DELETE /auth/sessions/{id}`.
    EndSession,
}

/// The passwordless API's routes (full paths, a trailing `/` ignored).
pub struct Api;

impl routes::Api for Api {
    type Endpoint = Endpoint;
    const ROUTES: &'static [Route<Endpoint>] = &[
        Route::json(Verb::Post, "/auth/registration", Guard::Open, Endpoint::Registration),
        Route::json(Verb::Post, "/auth/login", Guard::Open, Endpoint::Login),
        Route::json(Verb::Get, "/auth/session/{auth_id}", Guard::Open, Endpoint::Collect),
        Route::json(Verb::Post, "/auth/second-factor", Guard::Open, Endpoint::SecondFactor),
        Route::json(Verb::Post, "/auth/second-factor/webauthn-challenge", Guard::Open, Endpoint::SecondFactorChallenge),
        Route::json(Verb::Get, "/auth/confirm", Guard::Open, Endpoint::LoginPage),
        Route::form(Verb::Post, "/auth/confirm", Guard::Open, Endpoint::LoginAnswer),
        Route::json(Verb::Get, "/auth/email/confirm", Guard::Open, Endpoint::EmailPage),
        Route::form(Verb::Post, "/auth/email/confirm", Guard::Open, Endpoint::EmailAnswer),
        Route::json(Verb::Get, "/auth/me", Guard::Session, Endpoint::Me),
        Route::json(Verb::Put, "/auth/email", Guard::Session, Endpoint::PutEmail),
        Route::json(Verb::Post, "/auth/logout", Guard::Session, Endpoint::Logout),
        Route::json(Verb::Get, "/auth/sessions", Guard::Session, Endpoint::Sessions),
        Route::json(Verb::Delete, "/auth/sessions/{id}", Guard::Session, Endpoint::EndSession),
    ];
    const ACCEPTS: &'static [Dialect] = &[Dialect::Passwordless];
    const MEDIA: MediaType = MediaType::Json;

    fn normalize(path: &str) -> &str {
        path.trim_end_matches('/')
    }

    /// `Authorization: Bearer <session_token>`.
    fn credential(headers: &HeaderMap) -> Option<&str> {
        auth_token(headers, &["bearer"])
    }

    fn refuse<P: Ports>(flows: &Flows<P>, _req: &Request<Body>, why: Refused<Endpoint>) -> Response<Body> {
        let e = match why {
            Refused::NoRoute => PasswordlessError::NotFound,
            Refused::Request(r) => PasswordlessError::Refused(r),
            Refused::Guard(_, Denied::Missing) => PasswordlessError::Unauthorized,
            Refused::Guard(_, Denied::Bearer(e)) => PasswordlessError::Bearer(e),
            // No passwordless route asks for the service role.
            Refused::Guard(_, Denied::NotServiceRole(_)) => PasswordlessError::NotFound,
        };
        render_error(flows, &e)
    }

    async fn serve<P: Ports + 'static>(flows: &Flows<P>, req: &Request<Body>, hit: Hit<'_, Endpoint>) -> Response<Body> {
        // The pages answer in HTML, whatever happens.
        match hit.endpoint {
            Endpoint::LoginPage => split(login_page(flows, req)).await,
            Endpoint::LoginAnswer => split(login_answer(flows, req)).await,
            Endpoint::EmailPage => split(email_page(flows, req)).await,
            Endpoint::EmailAnswer => split(email_answer(flows, req)).await,
            _ => split(api(flows, req, hit)).await.unwrap_or_else(|e| render_error(flows, &e)),
        }
    }
}

/// Serves one of the JSON endpoints.
async fn api<P: Ports>(flows: &Flows<P>, req: &Request<Body>, hit: Hit<'_, Endpoint>) -> Result<Response<Body>, PasswordlessError> {
    let param = hit.params.first().copied().unwrap_or_default();
    match hit.endpoint {
        Endpoint::Registration => split(registration(flows, req)).await,
        Endpoint::Login => split(login(flows, req)).await,
        Endpoint::Collect => split(collect(flows, param)).await,
        Endpoint::SecondFactor => split(second_factor(flows, req)).await,
        Endpoint::SecondFactorChallenge => split(second_factor_challenge(flows, req)).await,
        Endpoint::Me => me(&signed_in(hit.caller)?),
        Endpoint::PutEmail => split(put_email(flows, req, signed_in(hit.caller)?)).await,
        Endpoint::Logout => split(logout(flows, signed_in(hit.caller)?)).await,
        Endpoint::Sessions => split(sessions(flows, signed_in(hit.caller)?)).await,
        Endpoint::EndSession => split(end_session(flows, signed_in(hit.caller)?, param)).await,
        Endpoint::LoginPage | Endpoint::LoginAnswer | Endpoint::EmailPage | Endpoint::EmailAnswer => {
            Err(PasswordlessError::NotFound)
        }
    }
}

/// The session a [`Guard::Session`] route's caller proved.
fn signed_in(caller: routes::Caller) -> Result<Bearer, PasswordlessError> {
    Ok(caller.session()?)
}

fn ok(value: &Value) -> Result<Response<Body>, PasswordlessError> {
    Ok(json_response(StatusCode::OK, value, &[]))
}

fn no_content() -> Result<Response<Body>, PasswordlessError> {
    Ok(Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Vec::new())
        .unwrap_or_else(|_| Response::new(Vec::new())))
}

/// The body of both `POST /auth/registration` and `POST /auth/login`.
#[derive(Deserialize)]
struct AccountBody {
    username: Option<String>,
    email: Option<String>,
    session_platform: Option<String>,
}

async fn registration<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, PasswordlessError> {
    let body: AccountBody = parse_json(req.body())?;
    let username = body.username.ok_or(PasswordlessError::Missing("username"))?;
    let platform = body.session_platform.ok_or(PasswordlessError::Missing("session_platform"))?;
    let email = body.email.filter(|e| !e.trim().is_empty());
    let token = auth.register(&username, email.as_deref(), &platform).await?;
    ok(&json!({"session_token": token.expose()}))
}

async fn login<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, PasswordlessError> {
    let body: AccountBody = parse_json(req.body())?;
    let username = body.username.ok_or(PasswordlessError::Missing("username"))?;
    let email = body.email.ok_or(PasswordlessError::Missing("email"))?;
    let platform = body.session_platform.ok_or(PasswordlessError::Missing("session_platform"))?;
    let ticket = auth.request_login(&username, &email, &platform).await?;
    ok(&json!({"expiration_date": ticket.expires_at.unix_seconds(), "auth_id": ticket.auth_id}))
}

async fn collect<P: Ports>(auth: &Flows<P>, auth_id: &str) -> Result<Response<Body>, PasswordlessError> {
    let token = auth.collect_login(&LoginRequestId::new(auth_id)).await?.map_err(PasswordlessError::SecondStep)?;
    ok(&json!({"session_token": token.expose()}))
}

#[derive(Deserialize)]
struct SecondStepBody {
    ticket: Option<Secret<String>>,
    code: Option<String>,
    factor_id: Option<String>,
    challenge_id: Option<String>,
    credential: Option<serde_json::Value>,
}

/// `POST /auth/second-factor {ticket, code, factor_id?}` (or `{ticket, challenge_id,
/// credential, factor_id?}` for a WebAuthn factor): completes a sign-in that owes its second
/// factor; the ticket is the session token, which works from then on.
async fn second_factor<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, PasswordlessError> {
    let body: SecondStepBody = parse_json(req.body())?;
    let ticket = body.ticket.ok_or(PasswordlessError::Missing("ticket"))?;
    match body.credential {
        Some(credential) => {
            let challenge = body.challenge_id.ok_or(PasswordlessError::Missing("challenge_id"))?;
            auth.complete_second_step_webauthn(Dialect::Passwordless, &ticket, body.factor_id.as_deref(), &challenge, Some(&credential)).await?;
        }
        None => {
            let code = body.code.ok_or(PasswordlessError::Missing("code"))?;
            auth.complete_second_step(Dialect::Passwordless, &ticket, body.factor_id.as_deref(), &code).await?;
        }
    }
    ok(&json!({"session_token": ticket.expose()}))
}

#[derive(Deserialize)]
struct ChallengeBody {
    ticket: Option<Secret<String>>,
    factor_id: Option<String>,
}

/// `POST /auth/second-factor/webauthn-challenge {ticket, factor_id?}`: a challenge of the
/// account's WebAuthn factor, `{challenge_id, public_key, expires_at}`.
async fn second_factor_challenge<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, PasswordlessError> {
    let body: ChallengeBody = parse_json(req.body())?;
    let ticket = body.ticket.ok_or(PasswordlessError::Missing("ticket"))?;
    let issued = auth.second_step_webauthn_challenge(Dialect::Passwordless, &ticket, body.factor_id.as_deref()).await?;
    let public_key = issued.ceremony.as_ref().map(|c| factor_options(auth.config(), c));
    ok(&json!({"challenge_id": issued.challenge.id, "public_key": public_key, "expires_at": issued.expires_at.unix_seconds()}))
}

fn secs(t: Timestamp) -> i64 {
    t.unix_seconds()
}

fn me(bearer: &Bearer) -> Result<Response<Body>, PasswordlessError> {
    let Bearer { session, user, .. } = bearer;
    ok(&json!({
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "created_at": secs(user.created_at),
        "session_id": session.id,
    }))
}

#[derive(Deserialize)]
struct EmailBody {
    email: Option<String>,
}

async fn put_email<P: Ports>(auth: &Flows<P>, req: &Request<Body>, bearer: Bearer) -> Result<Response<Body>, PasswordlessError> {
    let Bearer { user, session, .. } = bearer;
    let body: EmailBody = parse_json(req.body())?;
    let email = body.email.ok_or(PasswordlessError::Missing("email"))?;
    auth.request_email(&user, &session, &email).await?;
    ok(&json!({"status": "A confirmation link was sent to the address; it is added once confirmed"}))
}

async fn logout<P: Ports>(auth: &Flows<P>, bearer: Bearer) -> Result<Response<Body>, PasswordlessError> {
    let Bearer { session, user, .. } = bearer;
    match auth.end_session(&user, &session.id).await? {
        true => no_content(),
        false => Err(PasswordlessError::NoSuchSession),
    }
}

async fn sessions<P: Ports>(auth: &Flows<P>, bearer: Bearer) -> Result<Response<Body>, PasswordlessError> {
    let Bearer { session: current, user, .. } = bearer;
    let list: Vec<Value> = auth
        .sessions_of(&user)
        .await?
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "platform": s.platform,
                "created_at": secs(s.created_at),
                "last_active_at": secs(s.last_active()),
                "current": s.id == current.id,
            })
        })
        .collect();
    ok(&json!({"sessions": list}))
}

async fn end_session<P: Ports>(auth: &Flows<P>, bearer: Bearer, id: &str) -> Result<Response<Body>, PasswordlessError> {
    let user = bearer.user;
    match auth.end_session(&user, &SessionId::new(id)).await? {
        true => no_content(),
        false => Err(PasswordlessError::NoSuchSession),
    }
}

