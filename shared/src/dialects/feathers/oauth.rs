//! `@feathersjs/authentication-oauth`'s routes: `GET /oauth/:provider?redirect=/path` sends
//! the browser to the provider (303), and the callback (`/oauth/:provider/callback`, or the
//! shared `/callback`: `dialects::oauth_callback`) sends it back to the app, the origin of the
//! page that started it (if the allow-list allows it, else `SITE_URL`) plus the `redirect`
//! path, with `#access_token=<JWT>` that Feathers' authentication client picks up
//! on load (`reAuthenticate()`), or `#error=<message>`. The `jwt` strategy then works as for
//! any token. A `redirect` that is no path (`//host`, `\\`, `@`, a `#fragment`) is ignored.

use super::errors::{error_body, FeathersError};
use crate::dialects::{header, query_param, redirect_response, Body};
use crate::flows::{ExternalError, Flows, OauthStart, SignedIn};
use crate::model::Dialect;
use crate::ports::Ports;
use http::{Request, Response, StatusCode};

/// `GET /oauth/:provider`.
pub(super) async fn start<P: Ports>(flows: &Flows<P>, req: &Request<Body>, provider: &str) -> Result<Response<Body>, FeathersError> {
    let query = req.uri().query();
    // As upstream with `origins`: the base is the origin of the page that sent the browser here
    // (its Referer), when the allow-list allows it (else `SITE_URL`, which the flow falls back
    // to); `redirect` is a path on it, which must keep that origin, without a fragment (one
    // would put parameters of the link's author ahead of the `access_token` appended to it).
    let base = header(req.headers(), "referer").and_then(crate::config::origin_of).unwrap_or_else(|| flows.config().site_url.clone());
    let path = query_param(query, "redirect")
        .filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.contains(['\\', '@', '#']) && !p.chars().any(|c| c.is_whitespace() || c.is_control()))
        .unwrap_or_default();
    let target = Some(format!("{base}{path}"));
    let passed = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| !matches!(k.as_ref(), "redirect" | "feathers_token"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let start = OauthStart { provider, redirect_to: target.as_deref(), scopes: None, challenge: None, passed, dialect: Dialect::Feathers };
    let url = flows.oauth_authorize(start).await.map_err(FeathersError::External)?;
    Ok(redirect_response(StatusCode::SEE_OTHER, &url))
}

/// A finished sign-in: the app's page with the session's Feathers access token in the
/// fragment.
pub async fn oauth_token_redirect<P: Ports>(flows: &Flows<P>, signed_in: &SignedIn, target: &str) -> Response<Body> {
    match flows.feathers_access_token(&signed_in.user, &signed_in.session).await {
        Ok(token) => redirect_response(StatusCode::SEE_OTHER, &format!("{target}{}access_token={}", separator(target), token.token)),
        Err(e) => oauth_error_redirect(target, &oauth_error_message(flows, ExternalError::Flow(e.into()))),
    }
}

/// A refused sign-in: the app's page with the message in the fragment.
pub fn oauth_error_redirect(target: &str, message: &str) -> Response<Body> {
    let encoded: String = form_urlencoded::byte_serialize(message.as_bytes()).collect::<String>().replace('+', "%20");
    redirect_response(StatusCode::SEE_OTHER, &format!("{target}{}error={encoded}", separator(target)))
}

/// What the front end shows for a refused sign-in (an internal error reported under an id).
pub fn oauth_error_message<P: Ports>(flows: &Flows<P>, e: ExternalError) -> String {
    let (_, body) = error_body(flows, &FeathersError::External(e));
    body["message"].as_str().unwrap_or("OAuth Authentication not successful").to_string()
}

/// `#`, or `&` when the target has a fragment already.
fn separator(target: &str) -> char {
    if target.contains('#') { '&' } else { '#' }
}
