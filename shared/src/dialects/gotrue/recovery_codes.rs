//! GoTrue's recovery codes (auth-js's `mfa.recoveryCodes.*`, `experimental: { recoveryCodes:
//! true }`): `GET /factors/recovery-codes` (the set and how many codes are left), `POST
//! /factors/recovery-codes` (a new set, its codes shown once), `POST
//! /factors/recovery-codes/regenerate`, `POST /factors/recovery-codes/verify` (a code raises
//! the session to `aal2`) and `DELETE /factors/recovery-codes`, in the shapes auth-js's types
//! describe. The rules are the flows' (`flows::recovery_codes`).

use super::errors::GotrueError;
use super::wire::{ok, SessionBody};
use crate::dialects::{parse_json, Body};
use crate::flows::{Bearer, Flows, NewCodes};
use crate::ports::Ports;
use http::{Request, Response};
use serde::{Deserialize, Serialize};

/// The recovery-code endpoints, all signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /factors/recovery-codes`.
    Status,
    /// `POST /factors/recovery-codes`.
    Generate,
    /// `POST /factors/recovery-codes/regenerate`.
    Regenerate,
    /// `POST /factors/recovery-codes/verify`.
    Verify,
    /// `DELETE /factors/recovery-codes`.
    Remove,
}

#[derive(Deserialize, Default)]
struct GenerateBody {
    friendly_name: Option<String>,
}

#[derive(Deserialize)]
struct VerifyBody {
    code: Option<String>,
}

#[derive(Serialize)]
struct StatusBody<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    total: u32,
    remaining: u32,
}

#[derive(Serialize)]
struct CodesBody<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    friendly_name: &'a str,
    total: usize,
    codes: &'a [String],
}

#[derive(Serialize)]
struct IdBody<'a> {
    id: &'a str,
}

fn codes(new: &NewCodes) -> Result<Response<Body>, GotrueError> {
    let codes = new.codes.expose();
    ok(&CodesBody { id: new.factor.id.as_str(), kind: new.factor.kind.as_str(), friendly_name: &new.factor.friendly_name, total: codes.len(), codes })
}

/// Serves one recovery-code request of the signed-in `bearer`.
pub(super) async fn serve<P: Ports>(flows: &Flows<P>, req: &Request<Body>, endpoint: Endpoint, bearer: Bearer) -> Result<Response<Body>, GotrueError> {
    match endpoint {
        Endpoint::Status => {
            let (set, left) = flows.recovery_codes_status(&bearer).await?;
            ok(&StatusBody { id: set.id.as_str(), kind: set.kind.as_str(), total: left.total, remaining: left.remaining })
        }
        Endpoint::Generate => {
            // auth-js sends a body only when it names the set.
            let body: GenerateBody = if req.body().iter().all(u8::is_ascii_whitespace) { GenerateBody::default() } else { parse_json(req.body())? };
            codes(&flows.generate_recovery_codes(&bearer, body.friendly_name.as_deref()).await?)
        }
        Endpoint::Regenerate => codes(&flows.regenerate_recovery_codes(&bearer).await?),
        Endpoint::Verify => {
            let body: VerifyBody = parse_json(req.body())?;
            let (signed_in, factors) = flows.verify_recovery_code(&bearer, &body.code.unwrap_or_default()).await?;
            ok(&SessionBody::with(flows, &signed_in, &factors).await?)
        }
        Endpoint::Remove => {
            let removed = flows.remove_recovery_codes(&bearer).await?;
            ok(&IdBody { id: removed.as_str() })
        }
    }
}
