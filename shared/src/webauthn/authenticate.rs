//! Authentication (WebAuthn section 7.2, "Verifying an Authentication Assertion"): a
//! `navigator.credentials.get()` response checked against the stored credential it names and
//! what the relying party asked. Finding that credential (by `rawId`, among the account's for a
//! known user) and storing the new counter are the caller's.

use super::response::AuthenticationResponse;
use super::{auth_data, b64url_member, check_auth_data, check_signature, client_data, Expected, Flags, WebauthnError};
use crate::signature::{Key, Signatures};

/// The credential as registered, from the caller's storage.
#[derive(Debug, Clone, Copy)]
pub struct StoredCredential<'a> {
    /// The credential id.
    pub id: &'a [u8],
    /// Its public key (its algorithm is `key.alg()`).
    pub key: &'a Key,
    /// The signature counter last seen.
    pub sign_count: u32,
    /// The BE flag at registration: an assertion must carry the same.
    pub backup_eligible: bool,
    /// The user handle the credential was created for (`user.id` of the creation options);
    /// a `userHandle` in the assertion must be this one.
    pub user_handle: &'a [u8],
}

/// A verified assertion: what the caller stores back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assertion {
    /// The new signature counter, to store.
    pub sign_count: u32,
    /// The flags: `user_verified`, and `backed_up` (the backup state may change over time).
    pub flags: Flags,
}

/// Verifies an authentication response (section 7.2): type `public-key`, `id` and `rawId` the
/// stored credential's; the client data of a `webauthn.get` with the expected challenge, an
/// allowed origin, not cross-origin; the authenticator data for `expected.rp_id` with UP, UV
/// if required and the registered BE; a `userHandle`, if any, the credential's; the signature
/// over `authData || SHA-256(clientDataJSON)` through `sigs`; and then the counter, which must
/// grow unless it stays 0 (`CounterRegression`, reported only for a valid signature).
pub async fn verify_authentication(
    sigs: &impl Signatures,
    expected: &Expected<'_>,
    credential: &StoredCredential<'_>,
    response: &AuthenticationResponse,
) -> Result<Assertion, WebauthnError> {
    if response.kind != "public-key" {
        return Err(WebauthnError::WrongType);
    }
    let raw_id = b64url_member("rawId is not base64url", &response.raw_id)?;
    if b64url_member("id is not base64url", &response.id)? != raw_id || raw_id != credential.id {
        return Err(WebauthnError::CredentialMismatch);
    }
    let assertion = &response.response;
    let client_data = b64url_member("clientDataJSON is not base64url", &assertion.client_data_json)?;
    let client_data_hash = client_data::check(&client_data, client_data::GET, expected)?;
    let auth_data_bytes = b64url_member("authenticatorData is not base64url", &assertion.authenticator_data)?;
    let auth = auth_data::parse(&auth_data_bytes)?;
    check_auth_data(&auth, expected)?;
    if auth.flags.backup_eligible != credential.backup_eligible {
        return Err(WebauthnError::BackupEligibilityChanged);
    }
    if let Some(handle) = &assertion.user_handle {
        let handle = b64url_member("userHandle is not base64url", handle)?;
        if !handle.is_empty() && handle != credential.user_handle {
            return Err(WebauthnError::UserHandleMismatch);
        }
    }
    let signature = b64url_member("signature is not base64url", &assertion.signature)?;
    check_signature(sigs, credential.key, &auth_data_bytes, &client_data_hash, &signature).await?;
    let (stored, received) = (credential.sign_count, auth.sign_count);
    if (stored != 0 || received != 0) && received <= stored {
        return Err(WebauthnError::CounterRegression { stored, received });
    }
    Ok(Assertion { sign_count: received, flags: auth.flags })
}
