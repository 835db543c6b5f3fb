//! Passkeys in the Feathers style, thin handlers over the flows (`flows::passkeys` and
//! `flows::passkey_signin`, where every rule lives, the same for GoTrue's `/passkeys` API):
//!
//! - `passkey-challenges` `create` (signed out): a sign-in ceremony,
//!   `{challengeId, publicKey, expiresAt}`; the `passkey` strategy of `authentication`
//!   (`{strategy: "passkey", challengeId, credential}`) answers it.
//! - `passkey-registrations` `create` (signed in): a registration ceremony, the same shape.
//! - `passkey-credentials` (signed in): `create {challengeId, credential}` registers the new
//!   credential, `find` lists the account's passkeys, `remove` deletes one.
//!
//! Two services start the two ceremonies because a route declares its guard and Feathers'
//! client sends its token with every call once signed in, so the token's presence cannot
//! tell a sign-in from a registration. `publicKey` is the options JSON GoTrue also sends
//! (`dialects::webauthn_wire`); `credential` is `PublicKeyCredential.toJSON()`.

use super::errors::FeathersError;
use super::{Reply, ServiceCall};
use crate::dialects::{parse_json, webauthn_wire};
use crate::flows::{Bearer, Dialect, Flows, PasskeyError, PasskeyOptions, SignedIn};
use crate::model::Passkey;
use crate::ports::Ports;
use crate::wire::feathers::{PasskeyAnswer, PasskeyChallenge, PasskeyView};
use http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// `passkey-challenges` `create`: a sign-in ceremony bound to this client.
pub(super) async fn challenge<P: Ports>(flows: &Flows<P>, call: &ServiceCall<'_>) -> Result<Reply, FeathersError> {
    no_data(call.data)?;
    let o = flows.passkey_authentication_options().await.map_err(FeathersError::Passkey)?;
    super::services::reply(StatusCode::CREATED, &options(flows, &o))
}

/// `passkey-registrations` `create`: a registration ceremony for the caller's account.
pub(super) async fn registration<P: Ports>(flows: &Flows<P>, call: &ServiceCall<'_>, bearer: &Bearer) -> Result<Reply, FeathersError> {
    no_data(call.data)?;
    let o = flows.passkey_registration_options(bearer).await.map_err(FeathersError::Passkey)?;
    super::services::reply(StatusCode::CREATED, &options(flows, &o))
}

/// `passkey-credentials` `create`: registers the credential answering a registration
/// challenge.
pub(super) async fn register<P: Ports>(flows: &Flows<P>, call: &ServiceCall<'_>, bearer: &Bearer) -> Result<Reply, FeathersError> {
    let body: PasskeyAnswer = parse_json(call.data)?;
    let (challenge, credential) = answer(body.challenge_id, body.credential.as_deref()).map_err(FeathersError::Passkey)?;
    let p = flows.passkey_registration_verify(bearer, &challenge, credential.as_ref()).await.map_err(FeathersError::Passkey)?;
    super::services::reply(StatusCode::CREATED, &view(&p))
}

/// `passkey-credentials` `find`: the caller's passkeys, oldest first.
pub(super) async fn find<P: Ports>(flows: &Flows<P>, bearer: &Bearer) -> Result<Reply, FeathersError> {
    let list = flows.list_passkeys(bearer).await.map_err(FeathersError::Passkey)?;
    super::services::reply(StatusCode::OK, &list.iter().map(view).collect::<Vec<_>>())
}

/// `passkey-credentials` `remove`: deletes the caller's passkey `id`; answers it as it was.
pub(super) async fn remove<P: Ports>(flows: &Flows<P>, call: &ServiceCall<'_>, bearer: &Bearer) -> Result<Reply, FeathersError> {
    let id = call.id.as_deref().unwrap_or_default();
    let not_found = || FeathersError::NotYours(id.chars().take(64).collect());
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(not_found());
    }
    // The record `remove` answers with, as Feathers services do.
    let list = flows.list_passkeys(bearer).await.map_err(FeathersError::Passkey)?;
    let passkey = list.iter().find(|p| p.id.as_str() == id).ok_or_else(not_found)?;
    match flows.remove_passkey(bearer, id).await {
        Ok(()) => super::services::reply(StatusCode::OK, &view(passkey)),
        Err(PasskeyError::NotFound) => Err(not_found()),
        Err(e) => Err(FeathersError::Passkey(e)),
    }
}

/// The `passkey` strategy: answers a sign-in challenge with an assertion; a new Feathers
/// session at `aal2` whose method is `passkey`.
pub(super) async fn sign_in<P: Ports>(flows: &Flows<P>, challenge_id: Option<String>, credential: Option<&RawValue>, platform: &str)
    -> Result<SignedIn, FeathersError> {
    let (challenge, credential) = answer(challenge_id, credential).map_err(FeathersError::PasskeySignIn)?;
    match flows.passkey_sign_in(&challenge, credential.as_ref(), platform, Dialect::Feathers).await {
        Ok(signed_in) => Ok(signed_in),
        // Switched off, the strategy is one the server does not have.
        Err(PasskeyError::Disabled) => Err(FeathersError::NotAuthenticated(
            "Invalid authentication information (strategy not allowed in authStrategies)",
        )),
        Err(e) => Err(FeathersError::PasskeySignIn(e)),
    }
}

/// The data of a `create` that takes none: nothing, or a JSON object (`{}`, as Feathers'
/// client sends), whose members are ignored.
fn no_data(data: &[u8]) -> Result<(), FeathersError> {
    if data.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let _: serde::de::IgnoredAny = parse_json(data)?;
    Ok(())
}

/// A ceremony's options in this dialect's body.
fn options<P: Ports>(flows: &Flows<P>, o: &PasskeyOptions) -> PasskeyChallenge {
    PasskeyChallenge {
        challenge_id: o.challenge.id.as_str().to_string(),
        public_key: webauthn_wire::passkey_options(flows.config(), o),
        expires_at: o.expires_at.to_rfc3339(),
    }
}

fn view(p: &Passkey) -> PasskeyView {
    PasskeyView {
        id: p.id.as_str().to_string(),
        name: p.friendly_name.clone(),
        created_at: p.created_at.to_rfc3339(),
        last_used_at: p.last_used_at.map(|t| t.to_rfc3339()),
    }
}

/// An answer's challenge id (a UUID) and its credential read as `T`: `None` when it is not
/// one, which the flow refuses after taking the challenge (it is answered once, right or
/// wrong, as GoTrue's are). A missing member is refused before anything is taken.
fn answer<T: DeserializeOwned>(challenge_id: Option<String>, credential: Option<&RawValue>) -> Result<(String, Option<T>), PasskeyError> {
    let id = challenge_id.unwrap_or_default();
    if id.is_empty() {
        return Err(PasskeyError::Invalid("challengeId is required"));
    }
    let credential = match credential.map(RawValue::get) {
        None | Some("null") => return Err(PasskeyError::Invalid("credential is required")),
        Some(raw) => serde_json::from_str(raw).ok(),
    };
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(PasskeyError::Invalid("challengeId must be a valid UUID"));
    }
    Ok((id, credential))
}
