//! `POST /token`: the password, refresh_token and pkce grants (upstream's `internal/api/token.go`),
//! and upstream's answers for the grants not offered.

use super::errors::{code, GotrueError};
use super::wire::{ok, MetaSecurity, SessionBody};
use crate::dialects::{parse_json, platform, query_param, Body};
use crate::flows::{Dialect, FlowError, Flows};
use crate::ports::Ports;
use crate::secret::{Password, PkceVerifier, RefreshSecret, Secret};
use http::{Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
struct PasswordGrantBody {
    email: Option<String>,
    password: Option<Password>,
    phone: Option<String>,
    gotrue_meta_security: Option<MetaSecurity>,
}

/// `POST /token?grant_type=`: the password, refresh_token and pkce grants; upstream's answers
/// for id_token and web3.
pub(super) async fn token<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    match query_param(req.uri().query(), "grant_type").as_deref() {
        Some("password") => {
            let body: PasswordGrantBody = parse_json(req.body())?;
            let human = auth.check_captcha(MetaSecurity::token(&body.gotrue_meta_security)).await?;
            if body.email.is_none() && body.phone.as_deref().is_some_and(|p| !p.is_empty()) {
                return Err(phone_off("Phone logins are disabled", 422));
            }
            let (Some(email), Some(password)) = (body.email, body.password) else {
                return Err(FlowError::InvalidCredentials.into());
            };
            let s = auth.password_login(&email, &password, &platform(req.headers()), Dialect::Gotrue, human).await?;
            ok(&SessionBody::of(auth, &s).await?)
        }
        Some("refresh_token") => {
            let body: RefreshGrantBody = parse_json(req.body())?;
            let token = body.refresh_token.ok_or(GotrueError::Validation("refresh_token required"))?;
            let s = auth.refresh(&token).await?;
            ok(&SessionBody::of(auth, &s).await?)
        }
        Some("pkce") => {
            let body: PkceGrantBody = parse_json(req.body())?;
            let code = body.auth_code.filter(|c| !c.expose().is_empty());
            let verifier = body.code_verifier.filter(|v| !v.expose().is_empty());
            let (Some(code), Some(verifier)) = (code.as_ref(), verifier) else {
                if let Some(code) = code {
                    auth.discard_auth_code(code.expose()).await?;
                }
                return Err(GotrueError::Validation("invalid request: both auth code and code verifier should be non-empty"));
            };
            let s = auth.exchange_auth_code(code.expose(), &verifier, &platform(req.headers())).await?;
            ok(&SessionBody::of(auth, &s).await?)
        }
        Some("id_token") => Err(super::unoffered::id_token_grant(req.body())),
        Some("web3") => Err(super::unoffered::web3_grant()),
        _ => Err(GotrueError::UnsupportedGrant),
    }
}

/// Upstream's answers where phone numbers are switched off.
pub(super) fn phone_off(message: &'static str, status: u16) -> GotrueError {
    GotrueError::disabled(status, code::PHONE_PROVIDER_DISABLED, message)
}

#[derive(Deserialize)]
struct RefreshGrantBody {
    refresh_token: Option<RefreshSecret>,
}

#[derive(Deserialize)]
struct PkceGrantBody {
    auth_code: Option<Secret<String>>,
    code_verifier: Option<PkceVerifier>,
}
