//! GoTrue's answers for what Portcullis does not offer, or this deployment has switched off, in
//! upstream's words when the feature is off, so client apps show the right message: providers
//! not enabled (`/authorize`, the `id_token` grant; `external` serves the enabled ones), SSO
//! and SAML (`/sso`), passkeys when `PASSKEY_ENABLED` is off (`passkeys` serves them on),
//! identity linking when `SECURITY_MANUAL_LINKING_ENABLED` is off, and the `web3` grant. Phone
//! numbers are answered where each endpoint reads them (`gotrue`). `/settings` says the same
//! (the providers not enabled off, `saml_enabled` false).

use super::errors::{code, GotrueError};
use crate::dialects::{parse_json, query_param, Body};
use crate::flows::Bearer;
use http::{Method, Request};
use serde::Deserialize;

/// The OAuth providers upstream knows (its `/authorize`'s names).
const OAUTH_PROVIDERS: &[&str] = &[
    "apple", "azure", "bitbucket", "discord", "facebook", "figma", "fly", "github", "gitlab", "google", "kakao",
    "keycloak", "linkedin", "linkedin_oidc", "notion", "snapchat", "spotify", "slack", "slack_oidc", "twitch",
    "twitter", "x", "vercel_marketplace", "workos", "zoom",
];

/// The providers upstream's `id_token` grant knows, with their issuers where upstream fixes one.
const ID_TOKEN_PROVIDERS: &[(&str, &str)] = &[
    ("apple", "https://appleid.apple.com"),
    ("google", "https://accounts.google.com"),
    ("azure", ""),
    ("facebook", "https://www.facebook.com"),
    ("keycloak", ""),
    ("kakao", "https://kauth.kakao.com"),
    ("snapchat", ""),
    ("vercel_marketplace", ""),
];

/// The endpoints of features not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /authorize`: third-party OAuth.
    Authorize,
    /// `/sso*`: SSO and SAML.
    Sso,
    /// `/passkeys*` paths that are no passkey endpoint (and all of them, switched off).
    Passkeys,
    /// `/user/identities/*`: identity linking (signed in).
    Identities,
}

/// Answers one of these endpoints: always an error, after the checks upstream makes first.
/// `bearer` is the caller for the signed-in ones.
pub(super) fn serve(req: &Request<Body>, endpoint: Endpoint, path: &str, bearer: Option<Bearer>) -> GotrueError {
    match (endpoint, bearer) {
        (Endpoint::Authorize, _) => unsupported_provider(query_param(req.uri().query(), "provider").as_deref()),
        (Endpoint::Sso, _) => GotrueError::disabled(404, code::SAML_PROVIDER_DISABLED, "SAML 2.0 is disabled"),
        (Endpoint::Passkeys, _) => GotrueError::disabled(404, code::PASSKEY_DISABLED, "Passkeys are disabled"),
        (Endpoint::Identities, Some(_)) => match (req.method(), path) {
            (&Method::GET, "/user/identities/authorize") | (&Method::DELETE, _) => {
                GotrueError::disabled(404, code::MANUAL_LINKING_DISABLED, "Manual linking is disabled")
            }
            _ => GotrueError::NotFound,
        },
        // The table guards this one with a session; without one there is nothing to say.
        (Endpoint::Identities, None) => GotrueError::NoAuthorization,
    }
}

/// `/authorize?provider=`: upstream's answer for a provider it does not know or has off.
fn unsupported_provider(provider: Option<&str>) -> GotrueError {
    let name = provider.unwrap_or_default().to_ascii_lowercase();
    let why = match OAUTH_PROVIDERS.contains(&name.as_str()) {
        true => "provider is not enabled".to_string(),
        false => format!("Provider {name} could not be found"),
    };
    GotrueError::disabled(400, code::VALIDATION_FAILED, format!("Unsupported provider: {why}"))
}

#[derive(Deserialize)]
struct IdTokenBody {
    id_token: Option<String>,
    provider: Option<String>,
    issuer: Option<String>,
}

/// `POST /token?grant_type=id_token`: no provider is enabled.
pub fn id_token_grant(body: &[u8]) -> GotrueError {
    let body: IdTokenBody = match parse_json(body) {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    if body.id_token.as_deref().is_none_or(str::is_empty) {
        return GotrueError::Validation("id_token required");
    }
    let provider = body.provider.unwrap_or_default();
    match ID_TOKEN_PROVIDERS.iter().find(|(name, _)| *name == provider) {
        Some((_, fixed)) => {
            let issuer = match *fixed {
                "" => body.issuer.unwrap_or_default(),
                fixed => fixed.to_string(),
            };
            GotrueError::disabled(400, code::PROVIDER_DISABLED, format!("Provider (issuer {issuer:?}) is not enabled"))
        }
        None => GotrueError::disabled(400, code::VALIDATION_FAILED, format!("Custom OIDC provider {provider:?} not allowed")),
    }
}

/// `POST /token?grant_type=web3`.
pub fn web3_grant() -> GotrueError {
    GotrueError::disabled(422, code::WEB3_PROVIDER_DISABLED, "Web3 provider is disabled")
}
