//! GoTrue's answers for what Portcullis does not offer, in upstream's words when the feature is
//! switched off, so client apps show the right message: third-party OAuth (`/authorize`), SSO
//! and SAML (`/sso`), passkeys, identity linking, MFA factors, and the `web3` and `id_token`
//! grants. Phone numbers are answered where each endpoint reads them (`gotrue`). `/settings`
//! says the same (every provider but email off, `saml_enabled` and `passkeys_enabled` false).

use super::gotrue::{authenticate, GotrueError};
use super::{parse_json, query_param, Body};
use crate::flows::Flows;
use crate::ports::Ports;
use http::{Method, Request, Response};
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

/// Whether `path` is one of these features'.
pub fn owns(method: &Method, path: &str) -> bool {
    (method == Method::GET && path == "/authorize")
        || path == "/sso"
        || path.starts_with("/sso/")
        || path == "/passkeys"
        || path.starts_with("/passkeys/")
        || path.starts_with("/user/identities/")
        || path == "/factors"
        || path.starts_with("/factors/")
}

/// Answers a request [`owns`] names: always an error, after the checks upstream makes first.
pub async fn handle<P: Ports>(auth: &Flows<P>, req: &Request<Body>, path: &str) -> Result<Response<Body>, GotrueError> {
    if path == "/authorize" {
        return Err(unsupported_provider(query_param(req.uri().query(), "provider").as_deref()));
    }
    if path == "/sso" || path.starts_with("/sso/") {
        return Err(GotrueError::disabled(404, "saml_provider_disabled", "SAML 2.0 is disabled"));
    }
    if path == "/passkeys" || path.starts_with("/passkeys/") {
        return Err(GotrueError::disabled(404, "passkey_disabled", "Passkeys are disabled"));
    }
    // The rest sit behind upstream's authentication.
    let bearer = authenticate(auth, req.headers()).await?;
    if path.starts_with("/user/identities/") {
        return match (req.method(), path) {
            (&Method::GET, "/user/identities/authorize") | (&Method::DELETE, _) => {
                Err(GotrueError::disabled(404, "manual_linking_disabled", "Manual linking is disabled"))
            }
            _ => Err(GotrueError::NotFound),
        };
    }
    if bearer.user.is_anonymous {
        return Err(GotrueError::disabled(403, "no_authorization", "Anonymous user not allowed to perform these actions"));
    }
    match (req.method(), path.strip_prefix("/factors")) {
        (&Method::POST, Some("")) => Err(enroll(req)),
        (method, Some(rest)) => {
            let (id, action) = rest.trim_start_matches('/').split_once('/').unwrap_or((rest.trim_start_matches('/'), ""));
            let known = matches!((method, action), (&Method::POST, "verify" | "challenge") | (&Method::DELETE, ""));
            if !known || id.is_empty() {
                return Err(GotrueError::NotFound);
            }
            if uuid::Uuid::parse_str(id).is_err() {
                return Err(GotrueError::NotFoundBecause("factor_id must be an UUID"));
            }
            Err(GotrueError::disabled(404, "mfa_factor_not_found", "Factor not found"))
        }
        _ => Err(GotrueError::NotFound),
    }
}

/// `/authorize?provider=`: upstream's answer for a provider it does not know or has off.
fn unsupported_provider(provider: Option<&str>) -> GotrueError {
    let name = provider.unwrap_or_default().to_ascii_lowercase();
    let why = match OAUTH_PROVIDERS.contains(&name.as_str()) {
        true => "provider is not enabled".to_string(),
        false => format!("Provider {name} could not be found"),
    };
    GotrueError::disabled(400, "validation_failed", format!("Unsupported provider: {why}"))
}

#[derive(Deserialize)]
struct EnrollBody {
    factor_type: Option<String>,
}

/// `POST /factors`: upstream's answer with enrollment off, for each factor type.
fn enroll(req: &Request<Body>) -> GotrueError {
    let body: EnrollBody = match parse_json(req.body()) {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    match body.factor_type.as_deref() {
        Some("totp") => GotrueError::disabled(422, "mfa_totp_enroll_not_enabled", "MFA enroll is disabled for TOTP"),
        Some("phone") => GotrueError::disabled(422, "mfa_phone_enroll_not_enabled", "MFA enroll is disabled for Phone"),
        Some("webauthn") => GotrueError::disabled(422, "mfa_webauthn_enroll_not_enabled", "MFA enroll is disabled for WebAuthn"),
        _ => GotrueError::Validation("factor_type needs to be totp, phone, or webauthn"),
    }
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
            GotrueError::disabled(400, "provider_disabled", format!("Provider (issuer {issuer:?}) is not enabled"))
        }
        None => GotrueError::disabled(400, "validation_failed", format!("Custom OIDC provider {provider:?} not allowed")),
    }
}

/// `POST /token?grant_type=web3`.
pub fn web3_grant() -> GotrueError {
    GotrueError::disabled(422, "web3_provider_disabled", "Web3 provider is disabled")
}
