//! The client's responses as JSON, in the shapes of WebAuthn Level 3's `toJSON()`
//! (`RegistrationResponseJSON`, `AuthenticationResponseJSON`), which SimpleWebAuthn,
//! py_webauthn and supabase-js send: binary members as base64url strings. Members this module
//! does not use (`clientExtensionResults`, `authenticatorAttachment`, the response's
//! `publicKey` and `publicKeyAlgorithm`, which repeat the attestation object unsigned) are
//! read past.

use serde::{Deserialize, Serialize};

/// What `navigator.credentials.create()` answered, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationResponse {
    /// The credential id, base64url (the same bytes as `rawId`).
    pub id: String,
    /// The credential id, base64url.
    #[serde(rename = "rawId")]
    pub raw_id: String,
    /// `public-key`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The authenticator's answer.
    pub response: AttestationResponse,
}

/// The `AuthenticatorAttestationResponse` of a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationResponse {
    /// The client data's JSON, base64url.
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: String,
    /// The attestation object (CBOR), base64url.
    #[serde(rename = "attestationObject")]
    pub attestation_object: String,
    /// How the client can reach the authenticator (`usb`, `nfc`, `ble`, `hybrid`,
    /// `internal`, ...), as it says; unsigned, a hint for later `allowCredentials`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transports: Option<Vec<String>>,
}

/// What `navigator.credentials.get()` answered, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticationResponse {
    /// The credential id, base64url (the same bytes as `rawId`).
    pub id: String,
    /// The credential id, base64url.
    #[serde(rename = "rawId")]
    pub raw_id: String,
    /// `public-key`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The authenticator's answer.
    pub response: AssertionResponse,
}

/// The `AuthenticatorAssertionResponse` of an authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssertionResponse {
    /// The client data's JSON, base64url.
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: String,
    /// The authenticator data, base64url.
    #[serde(rename = "authenticatorData")]
    pub authenticator_data: String,
    /// The signature, base64url (DER for ES256).
    pub signature: String,
    /// The user handle (`user.id` at registration), base64url; `null`, absent or empty when
    /// the authenticator did not return one.
    #[serde(rename = "userHandle", default, skip_serializing_if = "Option::is_none")]
    pub user_handle: Option<String>,
}

/// The transports registration keeps: the known ones, once each, in the order given.
pub(super) fn known_transports(given: Option<&[String]>) -> Vec<String> {
    const KNOWN: [&str; 7] = ["usb", "nfc", "ble", "smart-card", "hybrid", "internal", "cable"];
    let mut kept: Vec<String> = Vec::new();
    for t in given.unwrap_or_default() {
        if KNOWN.contains(&t.as_str()) && !kept.contains(t) {
            kept.push(t.clone());
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_shapes_read_as_browsers_write_them() {
        let registration: RegistrationResponse = serde_json::from_str(
            r#"{"id":"AQ","rawId":"AQ","type":"public-key","authenticatorAttachment":"platform","clientExtensionResults":{},
               "response":{"clientDataJSON":"e30","attestationObject":"oA","transports":["internal","hybrid"],"publicKeyAlgorithm":-7}}"#,
        )
        .unwrap();
        assert_eq!(registration.response.transports.as_deref(), Some(&["internal".to_string(), "hybrid".to_string()][..]));
        let authentication: AuthenticationResponse = serde_json::from_str(
            r#"{"id":"AQ","rawId":"AQ","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AA","signature":"AA","userHandle":null}}"#,
        )
        .unwrap();
        assert_eq!(authentication.response.user_handle, None);
        let again: AuthenticationResponse = serde_json::from_str(&serde_json::to_string(&authentication).unwrap()).unwrap();
        assert_eq!(again, authentication);
    }

    #[test]
    fn only_known_transports_are_kept_once() {
        let given: Vec<String> = ["usb", "nfc", "usb", "carrier-pigeon", "hybrid"].iter().map(|t| t.to_string()).collect();
        assert_eq!(known_transports(Some(&given)), ["usb", "nfc", "hybrid"]);
        assert!(known_transports(None).is_empty());
    }
}
