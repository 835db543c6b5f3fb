//! Signing in through identity providers' pages, as upstream's `internal/api/external.go`:
//! `GET /authorize?provider=&redirect_to=&scopes=` (with `code_challenge` for auth-js's PKCE
//! flow) answers 302 to the provider; `GET|POST /callback` (POST for Apple's `form_post`)
//! answers 302 back to the app: `?code=` for PKCE, the session in the fragment otherwise
//! (with `provider_token`), or the refusal in both as `error`, `error_code` and
//! `error_description`. A callback without a usable state goes to the site (303), its refusal
//! in the query only, as upstream's.

use super::errors::{describe_reported, GotrueError};
use super::verify::redirect_location;
use super::wire::{ok, SessionBody};
use crate::dialects::{query_param, redirect_response, Body};
use crate::flows::{Bearer, ExternalError, Flows, OauthStart, SignedIn};
use crate::secret::Secret;
use crate::model::{Dialect, PkceChallenge};
use crate::ports::Ports;
use http::{Request, Response, StatusCode};

/// `GET /authorize`.
pub(super) async fn authorize<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    let start = Start::read(auth, req)?;
    let url = auth.oauth_authorize(start.as_flow()).await?;
    Ok(redirect_response(StatusCode::FOUND, &url))
}

/// `GET /user/identities/authorize` (auth-js `linkIdentity`): with `skip_http_redirect=true`
/// 200 `{url}`, else 302 there.
pub(super) async fn link<P: Ports>(auth: &Flows<P>, req: &Request<Body>, bearer: &Bearer) -> Result<Response<Body>, GotrueError> {
    if !auth.config().providers.manual_linking {
        return Err(ExternalError::ManualLinkingDisabled.into());
    }
    let start = Start::read(auth, req)?;
    let url = auth.link_identity_url(bearer, start.as_flow()).await?;
    match query_param(req.uri().query(), "skip_http_redirect").as_deref() {
        Some("true") => ok(&serde_json::json!({ "url": url })),
        _ => Ok(redirect_response(StatusCode::FOUND, &url)),
    }
}

/// `DELETE /user/identities/{id}` (auth-js `unlinkIdentity`): 200 `{}`.
pub(super) async fn unlink<P: Ports>(auth: &Flows<P>, bearer: &Bearer, id: Option<&str>) -> Result<Response<Body>, GotrueError> {
    auth.unlink_identity(bearer, id.unwrap_or_default()).await?;
    ok(&serde_json::json!({}))
}

/// A redirect flow's start as the query has it.
struct Start {
    provider: String,
    redirect_to: Option<String>,
    scopes: Option<String>,
    challenge: Option<PkceChallenge>,
    /// The whole query: the flow passes its other parameters on to the provider.
    passed: Vec<(String, String)>,
}

impl Start {
    /// The query's start, for an enabled provider (else upstream's answer for one that is
    /// not).
    fn read<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Start, GotrueError> {
        let query = req.uri().query();
        let provider = query_param(query, "provider").unwrap_or_default();
        if auth.provider(&provider).is_err() {
            return Err(super::unoffered::serve(req, super::unoffered::Endpoint::Authorize, "/authorize", None));
        }
        Ok(Start {
            challenge: super::pkce::pkce_challenge(query_param(query, "code_challenge"), query_param(query, "code_challenge_method"))?,
            passed: form_urlencoded::parse(query.unwrap_or_default().as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect(),
            redirect_to: query_param(query, "redirect_to"),
            scopes: query_param(query, "scopes"),
            provider,
        })
    }

    fn as_flow(&self) -> OauthStart<'_> {
        OauthStart {
            provider: &self.provider,
            redirect_to: self.redirect_to.as_deref(),
            scopes: self.scopes.as_deref(),
            challenge: self.challenge.clone(),
            passed: self.passed.clone(),
            dialect: Dialect::Gotrue,
        }
    }
}

/// `GET|POST /callback`: always a redirect, as the dialect that started the flow answers
/// (`dialects::oauth_callback`).
pub(super) async fn callback<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Response<Body> {
    crate::dialects::oauth_callback::callback(auth, req, Dialect::Gotrue).await
}

/// A PKCE flow's end: the auth code in the target's query.
pub(crate) fn auth_code_redirect(redirect_to: &str, code: &Secret<String>) -> Response<Body> {
    let query = form_urlencoded::Serializer::new(String::new()).append_pair("code", code.expose()).finish();
    redirect_response(StatusCode::FOUND, &redirect_location(redirect_to, Some(&query), None))
}

/// An implicit flow's end: the session and the provider's tokens in the target's fragment,
/// keys sorted, as upstream's.
pub(crate) async fn session_redirect<P: Ports>(auth: &Flows<P>, signed_in: &SignedIn, redirect_to: &str, provider_token: &Secret<String>, provider_refresh_token: Option<&Secret<String>>) -> Response<Body> {
    let body = match SessionBody::of(auth, signed_in).await {
        Ok(body) => body,
        Err(e) => return error_at(auth, redirect_to, &e),
    };
    let mut pairs: Vec<(&str, String)> = body.fragment_pairs().into_iter().collect();
    if let Some(refresh) = provider_refresh_token {
        pairs.push(("provider_refresh_token", refresh.expose().clone()));
    }
    pairs.push(("provider_token", provider_token.expose().clone()));
    pairs.push(("sb", String::new()));
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let mut fragment = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        fragment.append_pair(k, v);
    }
    redirect_response(StatusCode::FOUND, &redirect_location(redirect_to, None, Some(&fragment.finish())))
}

/// A callback without a usable flow: to the site (303), the refusal in the query only.
pub(crate) fn bad_state_redirect(site: &str, code: &str, description: &str) -> Response<Body> {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("error", "invalid_request")
        .append_pair("error_code", code)
        .append_pair("error_description", description)
        .finish();
    redirect_response(StatusCode::SEE_OTHER, &redirect_location(site, Some(&query), None))
}

/// A flow's refusal back at its target ([`error_at`]).
pub(crate) fn external_error_redirect<P: Ports>(auth: &Flows<P>, target: &str, e: ExternalError) -> Response<Body> {
    error_at(auth, target, &e.into())
}

/// The refusal `e`, back at `target` in query and fragment, as upstream's `error`,
/// `error_code` and `error_description` (a provider's own refusal without `error_code`).
fn error_at<P: Ports>(auth: &Flows<P>, target: &str, e: &GotrueError) -> Response<Body> {
    let mut pairs: Vec<(&str, String)> = match e {
        GotrueError::External(ExternalError::Refused { error, description }) => vec![("error", error.clone()), ("error_description", description.clone())],
        _ => {
            let (status, code, msg) = describe_reported(auth, e);
            let error = match (code, status.as_u16()) {
                ("signup_disabled" | "user_banned", _) => "access_denied",
                (_, 400) => "invalid_request",
                (_, 401) => "unauthorized_client",
                (_, 403) => "access_denied",
                (_, 503) => "temporarily_unavailable",
                _ => "server_error",
            };
            vec![("error", error.to_string()), ("error_code", code.to_string()), ("error_description", msg)]
        }
    };
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        query.append_pair(k, v);
    }
    let query = query.finish();
    let fragment = format!("{query}&sb=");
    redirect_response(StatusCode::FOUND, &redirect_location(target, Some(&query), Some(&fragment)))
}
