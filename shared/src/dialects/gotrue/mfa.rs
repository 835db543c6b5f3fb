//! GoTrue's MFA API (supabase/auth `internal/api/mfa.go`) for auth-js's `mfa.*` unchanged:
//! `POST /factors` (enroll), `POST /factors/{id}/challenge`, `POST /factors/{id}/verify`,
//! `DELETE /factors/{id}`, and the service role's `GET /admin/users/{id}/factors` and
//! `DELETE /admin/users/{id}/factors/{factor_id}`, for TOTP and WebAuthn factors; phone
//! factors answer as upstream does with them switched off. The rules are the flows'
//! (`flows::factors`); WebAuthn's options are rendered by `mfa_webauthn` as go-webauthn does.

use super::errors::{code, GotrueError};
use super::mfa_webauthn::{credential_options, WebauthnBody};
use super::wire::{ok, FactorBody, SessionBody};
use crate::dialects::{parse_json, Body};
use crate::flows::{Bearer, Flows, WebauthnAnswer};
use crate::ports::Ports;
use http::{Request, Response};
use serde::{Deserialize, Serialize};

/// The MFA endpoints a signed-in user calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /factors`.
    Enroll,
    /// `POST /factors/{id}/challenge`.
    Challenge,
    /// `POST /factors/{id}/verify`.
    Verify,
    /// `DELETE /factors/{id}`.
    Unenroll,
}

#[derive(Deserialize)]
struct EnrollBody {
    factor_type: Option<String>,
    friendly_name: Option<String>,
    issuer: Option<String>,
}

#[derive(Serialize)]
struct TotpBody {
    qr_code: String,
    secret: String,
    uri: String,
}

#[derive(Serialize)]
struct EnrolledBody<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    friendly_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    totp: Option<TotpBody>,
}

#[derive(Serialize)]
struct ChallengeBody<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    webauthn: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct VerifyBody {
    challenge_id: Option<String>,
    code: Option<String>,
    webauthn: Option<WebauthnBody>,
}

#[derive(Serialize)]
struct IdBody<'a> {
    id: &'a str,
}

/// A factor id from the path: upstream answers 404 for one that is no UUID.
fn factor_id(id: Option<&str>) -> Result<&str, GotrueError> {
    let id = id.unwrap_or_default();
    match uuid::Uuid::parse_str(id) {
        Ok(_) => Ok(id),
        Err(_) => Err(GotrueError::NotFoundBecause("factor_id must be an UUID")),
    }
}

/// Serves one MFA request of the signed-in `bearer`; `id` is the path's factor id.
pub(super) async fn serve<P: Ports>(
    flows: &Flows<P>,
    req: &Request<Body>,
    endpoint: Endpoint,
    id: Option<&str>,
    bearer: Bearer,
) -> Result<Response<Body>, GotrueError> {
    match endpoint {
        Endpoint::Enroll => enroll(flows, req, &bearer).await,
        Endpoint::Challenge => {
            let issued = flows.challenge_factor(&bearer, factor_id(id)?).await?;
            let webauthn = issued.ceremony.as_ref().map(|c| credential_options(flows.config(), c));
            let kind = if webauthn.is_some() { "webauthn" } else { "totp" };
            ok(&ChallengeBody { id: issued.challenge.id.as_str(), kind, expires_at: issued.expires_at.unix_seconds(), webauthn })
        }
        Endpoint::Verify => {
            let id = factor_id(id)?;
            let body: VerifyBody = parse_json(req.body())?;
            let (challenge, code) = (body.challenge_id.unwrap_or_default(), body.code.unwrap_or_default());
            let webauthn = body.webauthn.map(|w| WebauthnAnswer { kind: w.kind, credential_response: w.credential_response });
            let (signed_in, factors) = flows.verify_factor(&bearer, id, &challenge, &code, webauthn.as_ref()).await?;
            ok(&SessionBody::with(flows, &signed_in, &factors).await?)
        }
        Endpoint::Unenroll => {
            let removed = flows.unenroll_factor(&bearer, factor_id(id)?).await?;
            ok(&IdBody { id: removed.as_str() })
        }
    }
}

/// `POST /factors`: a TOTP or WebAuthn factor; phone as upstream with it off.
async fn enroll<P: Ports>(flows: &Flows<P>, req: &Request<Body>, bearer: &Bearer) -> Result<Response<Body>, GotrueError> {
    let body: EnrollBody = parse_json(req.body())?;
    if body.factor_type.as_deref() == Some("phone") {
        return Err(GotrueError::disabled(422, code::MFA_PHONE_ENROLL_NOT_ENABLED, "MFA enroll is disabled for Phone"));
    }
    let name = body.friendly_name.unwrap_or_default();
    let kind = body.factor_type.unwrap_or_default();
    let e = flows.enroll_factor(bearer, &kind, &name, body.issuer.as_deref()).await?;
    ok(&EnrolledBody {
        id: e.factor.id.as_str(),
        kind: e.factor.kind.as_str(),
        friendly_name: &e.factor.friendly_name,
        totp: e.totp.map(|t| TotpBody { qr_code: t.qr_svg.expose().clone(), secret: t.secret.expose().clone(), uri: t.uri.expose().clone() }),
    })
}

/// `GET /admin/users/{id}/factors`: the account's factors, `[]` for none.
pub(super) async fn admin_list<P: Ports>(flows: &Flows<P>, user: &crate::model::UserId) -> Result<Response<Body>, GotrueError> {
    let user = flows.admin_get_user(user).await?;
    let factors = flows.factors_of(&user).await?;
    ok(&factors.iter().map(FactorBody::of).collect::<Vec<_>>())
}

/// `DELETE /admin/users/{id}/factors/{factor_id}`: removes it, answering the factor removed.
pub(super) async fn admin_delete<P: Ports>(
    flows: &Flows<P>,
    user: &crate::model::UserId,
    id: Option<&str>,
) -> Result<Response<Body>, GotrueError> {
    let id = factor_id(id)?;
    let user = flows.admin_get_user(user).await?;
    let removed = flows.admin_remove_factor(&user, id).await?;
    ok(&FactorBody::of(&removed))
}
