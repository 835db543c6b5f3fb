//! `POST /verify` (a mailed code, or a link's token hash) and `GET /verify` (the mailed link,
//! which always redirects back to the app), for every verification type auth-js sends.

use super::errors::{describe_reported, GotrueError};
use super::wire::{ok, SessionBody};
use crate::dialects::{parse_json, platform, query_param, redirect_response, Body};
use crate::flows::{FlowError, Flows, Verified, PKCE_LINK_PREFIX};
use crate::model::Purpose;
use crate::ports::Ports;
use crate::secret::{LinkToken, Secret};
use http::{Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

/// Upstream's words for the first of the two confirmations of a secure email change.
const OTHER_ADDRESS_NEXT: &str = "Confirmation link accepted. Please proceed to confirm link sent to the other email";

#[derive(Deserialize)]
struct VerifyBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    email: Option<String>,
    token: Option<Secret<String>>,
    token_hash: Option<LinkToken>,
}

/// The codes a GoTrue verification type may use.
fn purposes_of(kind: Option<&str>) -> Result<&'static [Purpose], GotrueError> {
    match kind {
        None | Some("") => Err(GotrueError::Validation("Verify requires a verification type")),
        Some("signup") => Ok(&[Purpose::Signup]),
        // auth-js' "email" OTP, and the older "magiclink" name, use whichever code went out.
        Some("email") | Some("magiclink") => Ok(&[Purpose::MagicLink, Purpose::Signup]),
        Some("recovery") => Ok(&[Purpose::Recovery]),
        Some("email_change") => Ok(&[Purpose::EmailChange, Purpose::EmailChangeCurrent]),
        Some("invite") => Ok(&[Purpose::Invite]),
        Some(_) => Err(GotrueError::Validation("Unsupported verification type")),
    }
}

/// `POST /verify`: a code, or a link's token hash.
pub(super) async fn verify<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    let body: VerifyBody = parse_json(req.body())?;
    let purposes = purposes_of(body.kind.as_deref())?;
    let platform = platform(req.headers());
    let verified = match (&body.token_hash, &body.email, &body.token) {
        (Some(hash), _, _) => auth.verify_link_token(hash, purposes, &platform).await?,
        (None, Some(email), Some(token)) => {
            auth.verify_code(email, token.expose(), purposes, &platform).await?
        }
        _ => {
            return Err(GotrueError::Validation(
                "Verify requires either a token_hash, or an email and a token",
            ))
        }
    };
    match verified {
        Verified::SignedIn(signed_in) => ok(&SessionBody::of(auth, &signed_in).await?),
        // Upstream's answer to the first of the two codes (auth-js takes it as no session).
        Verified::OtherAddressNext => ok(&json!({"msg": OTHER_ADDRESS_NEXT, "code": "200"})),
        Verified::AuthCode(_) => Err(FlowError::Internal("an auth code where a session was asked for".into()).into()),
    }
}

/// What following an emailed link gave, for its redirect.
enum Followed {
    Session([(&'static str, String); 5]),
    OtherAddressNext,
    AuthCode(Secret<String>),
}

/// `GET /verify?token=&type=&redirect_to=`: the emailed link. Always a 303 back to the app:
/// with the session or the error in the fragment (never in the query, so it stays out of
/// logs), or for a PKCE link with the auth code in the query (`?code=`, as upstream; it is
/// worth nothing without the verifier), and its errors in both.
pub(super) async fn verify_link<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Response<Body> {
    let query = req.uri().query();
    let target = auth.allowed_redirect(query_param(query, "redirect_to").as_deref());
    let kind = query_param(query, "type").unwrap_or_default();
    let token = query_param(query, "token");
    let pkce_link = token.as_deref().is_some_and(|t| t.starts_with(PKCE_LINK_PREFIX));
    let result = async {
        let token = token.clone().map(LinkToken::new).ok_or(FlowError::CodeInvalid)?;
        let purposes = purposes_of(Some(&kind))?;
        match auth.follow_link(&token, purposes, &platform(req.headers())).await? {
            Verified::SignedIn(s) => SessionBody::of(auth, &s).await.map(|b| Followed::Session(b.fragment_pairs())),
            Verified::OtherAddressNext => Ok(Followed::OtherAddressNext),
            Verified::AuthCode(code) => Ok(Followed::AuthCode(code)),
        }
    }
    .await;
    let (query, fragment) = match result {
        Ok(Followed::AuthCode(code)) => {
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("code", code.expose());
            (Some(q.finish()), None)
        }
        Ok(Followed::OtherAddressNext) => {
            let mut f = form_urlencoded::Serializer::new(String::new());
            f.append_pair("message", OTHER_ADDRESS_NEXT);
            f.append_pair("sb", "");
            (None, Some(f.finish()))
        }
        Ok(Followed::Session(pairs)) => {
            let mut f = form_urlencoded::Serializer::new(String::new());
            for (k, v) in pairs {
                f.append_pair(k, &v);
            }
            f.append_pair("type", &kind);
            (None, Some(f.finish()))
        }
        Err(e) => {
            let (status, code, msg) = describe_reported(auth, &e);
            let (error, description) = if status == StatusCode::FORBIDDEN {
                ("access_denied", "Email link is invalid or has expired".to_string())
            } else {
                ("server_error", msg)
            };
            let error = form_urlencoded::Serializer::new(String::new())
                .append_pair("error", error)
                .append_pair("error_code", code)
                .append_pair("error_description", &description)
                .finish();
            (pkce_link.then(|| error.clone()), Some(error))
        }
    };
    redirect_response(StatusCode::SEE_OTHER, &redirect_location(&target, query.as_deref(), fragment.as_deref()))
}

/// `target` with `query` added to its own query (whose own `code` parameters are dropped, so
/// the one added is the only one) and `fragment` in place of its fragment.
pub(super) fn redirect_location(target: &str, query: Option<&str>, fragment: Option<&str>) -> String {
    let (base, own_fragment) = match target.split_once('#') {
        Some((base, f)) => (base, Some(f)),
        None => (target, None),
    };
    let mut location = base.to_string();
    if let Some(q) = query {
        let (path, own_query) = base.split_once('?').unwrap_or((base, ""));
        let kept: Vec<&str> = own_query.split('&').filter(|p| !p.is_empty() && *p != "code" && !p.starts_with("code=")).collect();
        location = path.to_string();
        location.push('?');
        for p in kept {
            location.push_str(p);
            location.push('&');
        }
        location.push_str(q);
    }
    if let Some(f) = fragment.or(own_fragment) {
        location.push('#');
        location.push_str(f);
    }
    location
}
