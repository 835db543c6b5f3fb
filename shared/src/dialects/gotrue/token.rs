//! `POST /token`: the password, refresh_token and pkce grants (upstream's `internal/api/token.go`),
//! the id_token grant (`token_oidc.go`) for the configured OpenID Connect providers, and
//! upstream's answers for the grants and providers not offered.

use super::errors::{code, GotrueError};
use super::wire::{ok, MetaSecurity, SessionBody};
use crate::dialects::{parse_json, platform, query_param, Body};
use crate::flows::{Dialect, FlowError, Flows, IdTokenSignIn};
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

/// `POST /token?grant_type=`: the password, refresh_token, pkce and id_token grants; upstream's
/// answers for web3 and for providers not configured.
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
            let (s, tokens) = auth.exchange_auth_code(code.expose(), &verifier, &platform(req.headers())).await?;
            ok(&SessionBody::of(auth, &s).await?.with_provider_tokens(tokens))
        }
        Some("id_token") => {
            let body: IdTokenGrantBody = parse_json(req.body())?;
            auth.check_captcha(MetaSecurity::token(&body.gotrue_meta_security)).await?;
            let provider = body.provider.as_deref().unwrap_or_default();
            let (Some(id_token), Ok(_)) = (body.id_token.as_deref().filter(|t| !t.is_empty()), auth.provider(provider)) else {
                // No token, or no such provider here: upstream's answers, as when none is on.
                return Err(super::unoffered::id_token_grant(req.body()));
            };
            if body.link_identity == Some(true) {
                return Err(GotrueError::disabled(404, code::MANUAL_LINKING_DISABLED, "Manual linking is disabled"));
            }
            if body.nonce.as_ref().is_some_and(|n| n.len() > MAX_NONCE_BYTES) {
                return Err(GotrueError::Validation("nonce is too long"));
            }
            let sign_in = IdTokenSignIn { provider, id_token, nonce: body.nonce.as_deref() };
            let s = auth.id_token_sign_in(sign_in, &platform(req.headers()), Dialect::Gotrue).await?;
            ok(&SessionBody::of(auth, &s).await?)
        }
        Some("web3") => Err(super::unoffered::web3_grant()),
        _ => Err(GotrueError::UnsupportedGrant),
    }
}

/// Upstream's answers where phone numbers are switched off.
pub(super) fn phone_off(message: &'static str, status: u16) -> GotrueError {
    GotrueError::disabled(status, code::PHONE_PROVIDER_DISABLED, message)
}

/// The longest nonce read (auth-js makes 56 hex characters).
const MAX_NONCE_BYTES: usize = 1024;

#[derive(Deserialize)]
struct IdTokenGrantBody {
    provider: Option<String>,
    id_token: Option<String>,
    nonce: Option<String>,
    link_identity: Option<bool>,
    gotrue_meta_security: Option<MetaSecurity>,
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
