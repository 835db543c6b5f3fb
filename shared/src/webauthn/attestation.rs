//! The attestation statement formats accepted: `none` (section 8.7: an empty statement) and
//! `packed` (section 8.2: `{alg, sig}` signed by the credential key itself, or `{alg, sig,
//! x5c}` signed by the key of the leaf certificate, which `x509` checks). Any other format is
//! refused as unsupported.

use super::cbor::Value;
use super::{check_signature, cose, x509, Attestation, WebauthnError};
use crate::signature::{Key, Signatures};

/// Most certificates of an `x5c` chain.
const MAX_CERTIFICATES: usize = 8;

/// The longest format name a refusal repeats.
const MAX_FORMAT_SHOWN: usize = 32;

fn bad(why: &'static str) -> WebauthnError {
    WebauthnError::BadAttestation(why)
}

/// What the statement of format `fmt` attests of the credential `key`, made over
/// `auth_data || client_data_hash`.
pub(super) async fn verify(
    sigs: &impl Signatures,
    fmt: &str,
    statement: &Value<'_>,
    auth_data: &[u8],
    client_data_hash: &[u8; 32],
    key: &Key,
    aaguid: &[u8; 16],
) -> Result<Attestation, WebauthnError> {
    let Value::Map(members) = statement else {
        return Err(WebauthnError::Malformed("attStmt is not a map"));
    };
    match fmt {
        "none" if members.is_empty() => Ok(Attestation::None),
        "none" => Err(bad("format none with a non-empty statement")),
        "packed" => packed(sigs, statement, auth_data, client_data_hash, key, aaguid).await,
        other => Err(WebauthnError::UnsupportedAttestation(other.chars().take(MAX_FORMAT_SHOWN).collect())),
    }
}

async fn packed(
    sigs: &impl Signatures,
    statement: &Value<'_>,
    auth_data: &[u8],
    client_data_hash: &[u8; 32],
    credential: &Key,
    aaguid: &[u8; 16],
) -> Result<Attestation, WebauthnError> {
    if let Value::Map(members) = statement {
        if members.iter().any(|(k, _)| !matches!(k, Value::Text("alg" | "sig" | "x5c"))) {
            return Err(bad("a packed statement member other than alg, sig and x5c (ECDAA is gone)"));
        }
    }
    let alg = cose::alg_of(statement.text_key("alg").and_then(Value::as_int).ok_or(bad("a packed statement without an integer alg"))?)?;
    let sig = statement.text_key("sig").and_then(Value::as_bytes).ok_or(bad("a packed statement without a byte string sig"))?;
    let Some(x5c) = statement.text_key("x5c") else {
        // Self attestation: the credential key signs.
        if credential.alg() != alg {
            return Err(bad("a self attestation's alg is not the credential key's"));
        }
        check_signature(sigs, credential, auth_data, client_data_hash, sig).await?;
        return Ok(Attestation::SelfSigned);
    };
    let certificates = match x5c {
        Value::Array(items) if (1..=MAX_CERTIFICATES).contains(&items.len()) => {
            items.iter().map(|c| c.as_bytes().map(<[u8]>::to_vec)).collect::<Option<Vec<_>>>()
        }
        _ => None,
    };
    let Some(certificates) = certificates else {
        return Err(bad("x5c is not an array of one to eight certificates"));
    };
    let leaf = x509::leaf(certificates.first().map(Vec::as_slice).unwrap_or_default())?;
    if leaf.key.alg() != alg {
        return Err(bad("the packed alg is not the attestation certificate key's"));
    }
    if leaf.aaguid.is_some_and(|a| a != *aaguid) {
        return Err(bad("the attestation certificate's AAGUID is not the authenticator data's"));
    }
    check_signature(sigs, &leaf.key, auth_data, client_data_hash, sig).await?;
    Ok(Attestation::Certified { certificates })
}
