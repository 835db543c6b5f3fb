//! Registration (WebAuthn section 7.1, "Registering a New Credential"): a
//! `navigator.credentials.create()` response checked against what the relying party asked, and
//! the credential it creates, for the caller to store. Refusing a credential id that another
//! account already has (step 26) is the caller's, with its storage.

use super::auth_data::{self, AttestedCredential};
use super::cbor::{self, Value};
use super::response::{known_transports, RegistrationResponse};
use super::{attestation, b64url_member, check_auth_data, client_data, cose, Expected, Flags, WebauthnError};
use crate::signature::{Key, Signatures};

/// What attests the credential's provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attestation {
    /// Format `none`: nothing; the common case, and all that `attestation: "none"` asks for.
    None,
    /// Format `packed` without certificates: the credential key signed its own creation,
    /// which proves possession of the key and nothing about the authenticator.
    SelfSigned,
    /// Format `packed` with `x5c`: the leaf certificate's key signed, and the leaf meets
    /// packed's requirements. The chain was not verified: a policy that trusts some
    /// authenticators checks these certificates (DER, leaf first) against its roots.
    Certified {
        /// The `x5c` certificates, DER, leaf first.
        certificates: Vec<Vec<u8>>,
    },
}

/// A verified registration: the credential to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The credential id (`rawId`), what `allowCredentials` and later assertions name it by.
    pub credential_id: Vec<u8>,
    /// The credential's public key; `key.alg()` is its algorithm (ES256, RS256 or EdDSA).
    pub key: Key,
    /// The signature counter at registration (0 for authenticators that keep none).
    pub sign_count: u32,
    /// The authenticator model's AAGUID (all zeros under `none` attestation, usually).
    pub aaguid: [u8; 16],
    /// The flags: `backup_eligible` (a passkey that can sync; fixed for the credential's life)
    /// and `backed_up`, `user_verified`.
    pub flags: Flags,
    /// The transports the client named, the known ones only.
    pub transports: Vec<String>,
    /// What attested the credential.
    pub attestation: Attestation,
}

/// The attestation object's three members: fmt, attStmt, authData.
fn members<'a>(object: &'a Value<'a>) -> Result<(&'a str, &'a Value<'a>, &'a [u8]), WebauthnError> {
    let malformed = WebauthnError::Malformed("the attestation object is not a map of fmt, attStmt and authData");
    let Value::Map(entries) = object else { return Err(malformed) };
    let fmt = match object.text_key("fmt") {
        Some(Value::Text(fmt)) => *fmt,
        _ => return Err(malformed),
    };
    let (Some(statement), Some(auth_data)) = (object.text_key("attStmt"), object.text_key("authData").and_then(Value::as_bytes)) else {
        return Err(malformed);
    };
    if entries.len() != 3 {
        return Err(malformed);
    }
    Ok((fmt, statement, auth_data))
}

/// Verifies a registration response (section 7.1): type `public-key`, `id` and `rawId` the
/// same; the client data of a `webauthn.create` with the expected challenge, an allowed origin,
/// not cross-origin; the attestation object's authenticator data for `expected.rp_id`, with UP,
/// UV if required, and AT; its credential id the `rawId`, its key one of ours; and the
/// attestation statement (`none`, or `packed` whose signature is checked through `sigs`).
pub async fn verify_registration(sigs: &impl Signatures, expected: &Expected<'_>, response: &RegistrationResponse) -> Result<Registration, WebauthnError> {
    if response.kind != "public-key" {
        return Err(WebauthnError::WrongType);
    }
    let raw_id = b64url_member("rawId is not base64url", &response.raw_id)?;
    if b64url_member("id is not base64url", &response.id)? != raw_id {
        return Err(WebauthnError::CredentialMismatch);
    }
    let client_data = b64url_member("clientDataJSON is not base64url", &response.response.client_data_json)?;
    let client_data_hash = client_data::check(&client_data, client_data::CREATE, expected)?;
    let object = b64url_member("attestationObject is not base64url", &response.response.attestation_object)?;
    let object = cbor::decode(&object)?;
    let (fmt, statement, auth_data_bytes) = members(&object)?;
    let auth = auth_data::parse(auth_data_bytes)?;
    check_auth_data(&auth, expected)?;
    let Some(AttestedCredential { aaguid, credential_id, public_key }) = &auth.attested else {
        return Err(WebauthnError::Malformed("a registration's authenticator data without attested credential data (AT)"));
    };
    if *credential_id != raw_id.as_slice() {
        return Err(WebauthnError::CredentialMismatch);
    }
    let key = cose::public_key(public_key)?;
    let attestation = attestation::verify(sigs, fmt, statement, auth_data_bytes, &client_data_hash, &key, aaguid).await?;
    Ok(Registration {
        credential_id: raw_id,
        key,
        sign_count: auth.sign_count,
        aaguid: *aaguid,
        flags: auth.flags,
        transports: known_transports(response.response.transports.as_deref()),
        attestation,
    })
}
