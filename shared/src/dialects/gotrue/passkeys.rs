//! GoTrue's passkey API (supabase/auth `internal/api/passkey_*.go`) for auth-js's
//! `signInWithPasskey`, `registerPasskey` and `passkey.*` (`experimental: { passkey: true }`):
//! `POST /passkeys/registration/options` and `/verify` and `GET /passkeys`, `PATCH` and
//! `DELETE /passkeys/{id}` (signed in), `POST /passkeys/authentication/options` and `/verify`
//! (signed out; the verify answers a session), and the service role's
//! `GET /admin/users/{id}/passkeys` and `DELETE /admin/users/{id}/passkeys/{passkey_id}`. The
//! rules are the flows' (`flows::passkeys`).
//!
//! Options are go-webauthn's `PublicKeyCredentialCreationOptions` and
//! `PublicKeyCredentialRequestOptions` as upstream sends them, rendered by
//! `dialects::webauthn_wire` (shared with Feathers), with `userVerification: "required"`
//! (upstream prefers it; here a passkey signs in at `aal2`, so the user must have unlocked it).

use super::errors::{code, GotrueError};
use super::wire::{ok, SessionBody};
use crate::dialects::{parse_json, platform, webauthn_wire, Body};
use crate::flows::{Bearer, Dialect, Flows, PasskeyError, PasskeyOptions};
use crate::model::Passkey;
use crate::ports::Ports;
use http::{Request, Response, StatusCode};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;

/// The passkey endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /passkeys/registration/options` (signed in).
    RegistrationOptions,
    /// `POST /passkeys/registration/verify` (signed in).
    RegistrationVerify,
    /// `POST /passkeys/authentication/options`.
    AuthenticationOptions,
    /// `POST /passkeys/authentication/verify`.
    AuthenticationVerify,
    /// `GET /passkeys` (signed in).
    List,
    /// `PATCH /passkeys/{id}` (signed in).
    Rename,
    /// `DELETE /passkeys/{id}` (signed in).
    Delete,
}

impl Endpoint {
    /// Whether the endpoint needs a session.
    pub fn signed_in(self) -> bool {
        !matches!(self, Endpoint::AuthenticationOptions | Endpoint::AuthenticationVerify)
    }
}

#[derive(Deserialize)]
struct VerifyBody {
    challenge_id: Option<String>,
    credential: Option<Value>,
}

#[derive(Deserialize)]
struct RenameBody {
    friendly_name: Option<String>,
}

#[derive(Serialize)]
struct OptionsBody<'a> {
    challenge_id: &'a str,
    options: Value,
    expires_at: i64,
}

#[derive(Serialize)]
struct PasskeyBody<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    friendly_name: &'a str,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_at: Option<String>,
}

impl<'a> PasskeyBody<'a> {
    fn of(p: &'a Passkey) -> Self {
        PasskeyBody {
            id: p.id.as_str(),
            friendly_name: &p.friendly_name,
            created_at: p.created_at.to_rfc3339(),
            last_used_at: p.last_used_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// Upstream's status, code and words for each refusal.
fn refusal(e: PasskeyError) -> GotrueError {
    let d = GotrueError::disabled;
    match e {
        PasskeyError::Disabled => d(404, code::PASSKEY_DISABLED, "Passkeys are disabled"),
        PasskeyError::InsufficientAal => d(403, code::INSUFFICIENT_AAL, "AAL2 session is required to manage passkeys when MFA is enabled"),
        PasskeyError::TooMany => d(422, code::TOO_MANY_PASSKEYS, "Maximum number of passkeys reached"),
        PasskeyError::ChallengeNotFound => d(400, code::WEBAUTHN_CHALLENGE_NOT_FOUND, "Challenge not found or already used"),
        PasskeyError::ChallengeExpired => d(400, code::WEBAUTHN_CHALLENGE_EXPIRED, "Challenge has expired"),
        PasskeyError::Invalid(why) => d(400, code::VALIDATION_FAILED, why),
        PasskeyError::BadCredential => d(400, code::WEBAUTHN_VERIFICATION_FAILED, "Invalid credential response"),
        PasskeyError::VerificationFailed => d(400, code::WEBAUTHN_VERIFICATION_FAILED, "Credential verification failed"),
        PasskeyError::CredentialExists => d(422, code::WEBAUTHN_CREDENTIAL_EXISTS, "This credential is already registered"),
        PasskeyError::NotFound => d(404, code::VALIDATION_FAILED, "Passkey not found"),
        PasskeyError::EmailNotConfirmed => d(403, code::EMAIL_NOT_CONFIRMED, "Email not confirmed"),
        PasskeyError::Banned => d(403, code::USER_BANNED, "User is banned"),
        PasskeyError::Flow(f) => GotrueError::Flow(f),
    }
}

/// The body of a verify: its challenge id (a UUID) and its credential, read as `T` (`None`
/// when it is not one: the flow refuses that after taking the challenge, as upstream does).
fn verify_body<T: DeserializeOwned>(body: &[u8]) -> Result<(String, Option<T>), GotrueError> {
    let body: VerifyBody = parse_json(body)?;
    let id = body.challenge_id.unwrap_or_default();
    if id.is_empty() {
        return Err(refusal(PasskeyError::Invalid("challenge_id is required")));
    }
    let credential = match body.credential {
        None | Some(Value::Null) => return Err(refusal(PasskeyError::Invalid("credential is required"))),
        Some(v) => serde_json::from_value(v).ok(),
    };
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(refusal(PasskeyError::Invalid("challenge_id must be a valid UUID")));
    }
    Ok((id, credential))
}

/// A passkey id from the path: upstream answers 404 for one that is no UUID.
fn passkey_id(id: Option<&str>) -> Result<&str, GotrueError> {
    let id = id.unwrap_or_default();
    match uuid::Uuid::parse_str(id) {
        Ok(_) => Ok(id),
        Err(_) => Err(refusal(PasskeyError::NotFound)),
    }
}

/// The options of a ceremony as go-webauthn renders them, in upstream's body.
fn options_body<P: Ports>(flows: &Flows<P>, o: &PasskeyOptions) -> Result<Response<Body>, GotrueError> {
    let options = webauthn_wire::passkey_options(flows.config(), o);
    ok(&OptionsBody { challenge_id: o.challenge.id.as_str(), options, expires_at: o.expires_at.unix_seconds() })
}

/// Serves one passkey request; `id` is the path's passkey id, `bearer` the caller of a
/// signed-in endpoint.
pub(super) async fn serve<P: Ports>(
    flows: &Flows<P>,
    req: &Request<Body>,
    endpoint: Endpoint,
    id: Option<&str>,
    bearer: Option<Bearer>,
) -> Result<Response<Body>, GotrueError> {
    let bearer = match (endpoint.signed_in(), bearer) {
        (true, Some(b)) => Some(b),
        (true, None) => return Err(GotrueError::NoAuthorization),
        (false, _) => None,
    };
    let result = match (endpoint, &bearer) {
        (Endpoint::RegistrationOptions, Some(b)) => {
            let o = flows.passkey_registration_options(b).await.map_err(refusal)?;
            return options_body(flows, &o);
        }
        (Endpoint::RegistrationVerify, Some(b)) => {
            let (challenge, credential) = verify_body(req.body())?;
            let p = flows.passkey_registration_verify(b, &challenge, credential.as_ref()).await.map_err(refusal)?;
            return ok(&PasskeyBody::of(&p));
        }
        (Endpoint::AuthenticationOptions, _) => {
            let o = flows.passkey_authentication_options().await.map_err(refusal)?;
            return options_body(flows, &o);
        }
        (Endpoint::AuthenticationVerify, _) => {
            let (challenge, credential) = verify_body(req.body())?;
            let signed_in = flows.passkey_sign_in(&challenge, credential.as_ref(), &platform(req.headers()), Dialect::Gotrue).await.map_err(refusal)?;
            return ok(&SessionBody::of(flows, &signed_in).await?);
        }
        (Endpoint::List, Some(b)) => {
            let list = flows.list_passkeys(b).await.map_err(refusal)?;
            return ok(&list.iter().map(PasskeyBody::of).collect::<Vec<_>>());
        }
        (Endpoint::Rename, Some(b)) => {
            let id = passkey_id(id)?;
            let body: RenameBody = parse_json(req.body())?;
            let p = flows.rename_passkey(b, id, &body.friendly_name.unwrap_or_default()).await.map_err(refusal)?;
            return ok(&PasskeyBody::of(&p));
        }
        (Endpoint::Delete, Some(b)) => flows.remove_passkey(b, passkey_id(id)?).await.map_err(refusal),
        (_, None) => return Err(GotrueError::NoAuthorization),
    };
    result?;
    Ok(Response::builder().status(StatusCode::NO_CONTENT).body(Vec::new()).unwrap_or_else(|_| Response::new(Vec::new())))
}

/// `GET /admin/users/{id}/passkeys`: the account's passkeys, oldest first.
pub(super) async fn admin_list<P: Ports>(flows: &Flows<P>, user: &crate::model::UserId) -> Result<Response<Body>, GotrueError> {
    let user = flows.admin_get_user(user).await?;
    let list = flows.admin_passkeys_of(&user).await.map_err(refusal)?;
    ok(&list.iter().map(PasskeyBody::of).collect::<Vec<_>>())
}

/// `DELETE /admin/users/{id}/passkeys/{passkey_id}`: removes it; 204.
pub(super) async fn admin_delete<P: Ports>(
    flows: &Flows<P>,
    user: &crate::model::UserId,
    id: Option<&str>,
) -> Result<Response<Body>, GotrueError> {
    let id = passkey_id(id)?;
    let user = flows.admin_get_user(user).await?;
    flows.admin_remove_passkey(&user, id).await.map_err(refusal)?;
    Ok(Response::builder().status(StatusCode::NO_CONTENT).body(Vec::new()).unwrap_or_else(|_| Response::new(Vec::new())))
}

/// Passkeys off: upstream's answer to every `/passkeys*` request, before it looks for a
/// session.
pub(super) fn disabled() -> GotrueError {
    refusal(PasskeyError::Disabled)
}
