//! WebAuthn's verification core (W3C Web Authentication Level 3, sections 7.1 and 7.2): what a
//! relying party checks of a `navigator.credentials.create` response ([`verify_registration`])
//! and of a `navigator.credentials.get` response ([`verify_authentication`]), with the
//! signatures made through the [`Signatures`] port. Pure logic: no HTTP, no storage, no clock.
//!
//! What belongs here: the client's response JSON ([`response`]), the client data, the
//! authenticator data, the bounded CBOR decoder they need, COSE keys as [`Key`]s, the `none`
//! and `packed` attestation formats (with just enough X.509 and DER for a packed leaf
//! certificate and ECDSA's signature encoding), and the one error type, [`WebauthnError`].
//!
//! What does not: issuing challenges and options (`PublicKeyCredentialCreationOptions`),
//! storing credentials, refusing a credential id some account already has, what a counter
//! regression or a backup state means for an account, and which dialect answers what; those
//! are the flows' and dialects'. Attestation certificates are not chained to a root, nor is
//! their validity period checked: a packed certificate's signature key, version, subject and
//! constraints are checked, its chain is handed back ([`Attestation::Certified`]) for a policy
//! that trusts some roots to verify. The formats `tpm`, `android-key`, `android-safetynet`,
//! `fido-u2f` and `apple` are refused as unsupported; asking for `attestation: "none"` (the
//! default) makes every browser send `none`.

mod attestation;
mod auth_data;
mod authenticate;
mod cbor;
mod client_data;
mod cose;
mod der;
mod register;
pub mod response;
mod x509;

pub use authenticate::{verify_authentication, Assertion, StoredCredential};
pub use cose::{cose_algorithm, key_from_cose, COSE_ALGORITHMS};
pub use register::{verify_registration, Attestation, Registration};
pub use response::{AssertionResponse, AttestationResponse, AuthenticationResponse, RegistrationResponse};

use crate::signature::{Alg, Key, Signatures};
use sha2::{Digest, Sha256};

/// What the relying party expects of a ceremony it started: the challenge it issued, where it
/// may run, and whether the user must have been verified (a PIN, a biometric), not only present.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The challenge's bytes, as issued in the options (the client data holds them base64url);
    /// an empty one matches nothing.
    pub challenge: &'a [u8],
    /// The origins the ceremony may run in (`https://app.example.com`), each compared exactly.
    pub origins: &'a [String],
    /// The relying party id (a registrable domain suffix of the origins, `example.com`).
    pub rp_id: &'a str,
    /// Whether the UV flag must be set (`userVerification: "required"` in the options).
    pub user_verification: bool,
}

/// The authenticator data's flags (section 6.1); the two reserved bits are ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// UP (0x01): the user was present (touched the authenticator).
    pub user_present: bool,
    /// UV (0x04): the user was verified (PIN, biometric).
    pub user_verified: bool,
    /// BE (0x08): the credential may be backed up (synced, a passkey); fixed at registration.
    pub backup_eligible: bool,
    /// BS (0x10): the credential is backed up now.
    pub backed_up: bool,
    /// AT (0x40): attested credential data follows (registration).
    pub attested_data: bool,
    /// ED (0x80): extension outputs follow.
    pub extension_data: bool,
}

impl Flags {
    /// The flags of the authenticator data's flags byte.
    pub fn from_byte(bits: u8) -> Flags {
        let set = |mask: u8| bits & mask != 0;
        Flags {
            user_present: set(0x01),
            user_verified: set(0x04),
            backup_eligible: set(0x08),
            backed_up: set(0x10),
            attested_data: set(0x40),
            extension_data: set(0x80),
        }
    }
}

/// Why a response was refused. The text names what is wrong; it never holds key material, and
/// of what the client sent only the origin it claimed (cut to 200 characters), an attestation
/// format's name (cut to 32) and a COSE algorithm's number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebauthnError {
    /// Not what the specification says the field holds: base64url, JSON, CBOR (indefinite
    /// lengths, nesting deeper than 8, lengths past the input, more than 64 entries), the
    /// authenticator data's layout, a member missing or of the wrong type.
    #[error("malformed response: {0}")]
    Malformed(&'static str),
    /// The credential is not of type `public-key`, or the client data is of the other ceremony
    /// (`webauthn.get` answering a registration, or `webauthn.create` an authentication).
    #[error("the response is not of this ceremony")]
    WrongType,
    /// The client data's challenge is not the one issued.
    #[error("the challenge is not the one issued")]
    ChallengeMismatch,
    /// The client data's origin is not one of the allowed origins.
    #[error("origin not allowed: {0:?}")]
    OriginNotAllowed(String),
    /// The ceremony ran in a frame of another origin (`crossOrigin: true`, or a `topOrigin`).
    #[error("the ceremony ran in a cross-origin frame")]
    CrossOrigin,
    /// The authenticator data's rpIdHash is not SHA-256 of the relying party id.
    #[error("the credential is scoped to another relying party id")]
    RpIdMismatch,
    /// The UP flag is not set.
    #[error("the user was not present")]
    UserNotPresent,
    /// User verification was required and the UV flag is not set.
    #[error("the user was not verified")]
    UserNotVerified,
    /// `id`, `rawId`, the attested credential id or the stored credential's id disagree.
    #[error("the credential id is not the expected one")]
    CredentialMismatch,
    /// The assertion's userHandle is not the one of the credential's account.
    #[error("the user handle is not the credential's")]
    UserHandleMismatch,
    /// The BE flag differs from the one the credential was registered with.
    #[error("the credential's backup eligibility changed")]
    BackupEligibilityChanged,
    /// A COSE algorithm other than ES256 (-7), EdDSA (-8) and RS256 (-257).
    #[error("unsupported COSE algorithm {0}")]
    UnsupportedAlgorithm(i64),
    /// A key of an unsupported type or curve, one whose parameters do not fit its algorithm,
    /// or one the key checks or the signature port refuse (an RSA modulus under 2048 bits, a
    /// point off P-256).
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),
    /// An attestation format other than `none` and `packed`.
    #[error("unsupported attestation format {0:?}")]
    UnsupportedAttestation(String),
    /// The attestation statement does not hold together: `none` with a non-empty statement, a
    /// packed `alg` not the key's, a certificate that breaks packed's requirements.
    #[error("attestation refused: {0}")]
    BadAttestation(&'static str),
    /// An ES256 signature that is not one strict DER `SEQUENCE` of two `INTEGER`s of at most
    /// 32 bytes (extra bytes, non-minimal encodings, negative numbers).
    #[error("the ECDSA signature is not strict DER")]
    SignatureEncoding,
    /// The signature does not verify.
    #[error("the signature does not verify")]
    BadSignature,
    /// The signature verified, but the signature counter did not grow: the authenticator may
    /// have been cloned. Callers refuse the assertion and report it.
    #[error("signature counter went from {stored} to {received}")]
    CounterRegression {
        /// The count stored with the credential.
        stored: u32,
        /// The count of this assertion.
        received: u32,
    },
}

/// Decodes a base64url member of the response (trailing `=` padding tolerated), or refuses it
/// as malformed with `refusal`.
fn b64url_member(refusal: &'static str, text: &str) -> Result<Vec<u8>, WebauthnError> {
    crate::signature::from_b64url(text.trim_end_matches('=')).ok_or(WebauthnError::Malformed(refusal))
}

/// The checks registration and authentication share on the authenticator data (section 7.1
/// steps 13 to 16, 7.2 steps 15 to 17): the relying party id, UP, and UV when required.
fn check_auth_data(auth: &auth_data::AuthenticatorData<'_>, expected: &Expected<'_>) -> Result<(), WebauthnError> {
    let rp_id_hash: [u8; 32] = Sha256::digest(expected.rp_id.as_bytes()).into();
    if auth.rp_id_hash != rp_id_hash {
        return Err(WebauthnError::RpIdMismatch);
    }
    if !auth.flags.user_present {
        return Err(WebauthnError::UserNotPresent);
    }
    if expected.user_verification && !auth.flags.user_verified {
        return Err(WebauthnError::UserNotVerified);
    }
    Ok(())
}

/// Checks `key`'s `signature` over `authData || SHA-256(clientDataJSON)` through the port. An
/// ES256 signature comes DER-encoded from the authenticator and goes to the port as `r || s`.
async fn check_signature(sigs: &impl Signatures, key: &Key, auth_data: &[u8], client_data_hash: &[u8; 32], signature: &[u8]) -> Result<(), WebauthnError> {
    let raw;
    let signature = match key.alg() {
        Alg::Es256 => {
            raw = der::ecdsa_raw(signature).ok_or(WebauthnError::SignatureEncoding)?;
            &raw[..]
        }
        Alg::Rs256 | Alg::EdDsa => signature,
        Alg::Hs256 => return Err(WebauthnError::UnsupportedKey("an HMAC key cannot be a credential's".into())),
    };
    let mut signed = Vec::with_capacity(auth_data.len() + 32);
    signed.extend_from_slice(auth_data);
    signed.extend_from_slice(client_data_hash);
    match sigs.verify(key, &signed, signature).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(WebauthnError::BadSignature),
        Err(e) => Err(WebauthnError::UnsupportedKey(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_read_bit_by_bit_and_the_reserved_ones_ignored() {
        assert_eq!(Flags::from_byte(0x22), Flags::default());
        let all = Flags::from_byte(0xff);
        assert!(all.user_present && all.user_verified && all.backup_eligible && all.backed_up && all.attested_data && all.extension_data);
        let passkey = Flags::from_byte(0x5d);
        assert_eq!(
            passkey,
            Flags { user_present: true, user_verified: true, backup_eligible: true, backed_up: true, attested_data: true, extension_data: false }
        );
    }

    #[test]
    fn base64url_members_take_padding_and_refuse_other_alphabets() {
        assert_eq!(b64url_member("x", "_-8"), Ok(vec![0xff, 0xef]));
        assert_eq!(b64url_member("x", "_-8="), Ok(vec![0xff, 0xef]));
        assert_eq!(b64url_member("x", "/+8"), Err(WebauthnError::Malformed("x")));
        assert_eq!(b64url_member("x", "_-9"), Err(WebauthnError::Malformed("x")), "non-zero trailing bits");
    }
}
