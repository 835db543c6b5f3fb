//! The identity providers' callback, shared by the dialects that start sign-ins through
//! providers' pages (GoTrue's `/callback`, Feathers' `/oauth/:provider/callback`): one
//! redirect URI per provider serves every dialect, since the flow its state names says which
//! one started it and therefore how the browser goes back. A callback without a usable state
//! answers as the dialect whose path it came to.

use crate::dialects::{feathers, gotrue, platform, Body};
use crate::flows::{Callback, CallbackError, CallbackParams, Flows};
use crate::model::Dialect;
use crate::ports::Ports;
use http::{Method, Request, Response};

/// Finishes the flow the callback's state names; always a redirect.
pub async fn callback<P: Ports>(flows: &Flows<P>, req: &Request<Body>, came_to: Dialect) -> Response<Body> {
    let source = match req.method() == Method::POST {
        true => String::from_utf8_lossy(req.body()).into_owned(),
        false => req.uri().query().unwrap_or_default().to_string(),
    };
    let mut params = CallbackParams::default();
    for (k, v) in form_urlencoded::parse(source.as_bytes()) {
        let slot = match k.as_ref() {
            "state" => &mut params.state,
            "code" => &mut params.code,
            "error" => &mut params.error,
            "error_description" => &mut params.error_description,
            "user" => &mut params.user,
            _ => continue,
        };
        slot.get_or_insert_with(|| v.into_owned());
    }
    match flows.oauth_callback(params, &platform(req.headers())).await {
        Ok(Callback::AuthCode { code, redirect_to }) => gotrue::auth_code_redirect(&redirect_to, &code),
        Ok(Callback::SignedIn { dialect: Dialect::Feathers, signed_in, redirect_to, .. }) => feathers::oauth_token_redirect(flows, &signed_in, &redirect_to).await,
        Ok(Callback::SignedIn { signed_in, redirect_to, provider_token, provider_refresh_token, .. }) => {
            gotrue::session_redirect(flows, &signed_in, &redirect_to, &provider_token, provider_refresh_token.as_ref()).await
        }
        Err(CallbackError::BadState(code, description)) => match came_to {
            Dialect::Feathers => feathers::oauth_error_redirect(&flows.config().site_url, description),
            _ => gotrue::bad_state_redirect(&flows.config().site_url, code, description),
        },
        Err(CallbackError::AtTarget { redirect_to, dialect: Dialect::Feathers, error }) => {
            feathers::oauth_error_redirect(&redirect_to, &feathers::oauth_error_message(flows, error))
        }
        Err(CallbackError::AtTarget { redirect_to, error, .. }) => gotrue::external_error_redirect(flows, &redirect_to, error),
    }
}
