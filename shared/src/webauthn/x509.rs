//! The leaf certificate of a packed attestation (WebAuthn section 8.2.1), read just far enough
//! to check what packed requires of it and to take its public key: X.509 version 3; a subject
//! with C (two letters), O, CN and OU "Authenticator Attestation"; no CA basic constraint; the
//! FIDO AAGUID extension, when present, not critical. The key is EC P-256, RSA or Ed25519,
//! through the same checks as any [`Key`].
//!
//! Not here, nor anywhere in the module: the certificate's own signature, its chain to a
//! trusted root, its validity period, revocation. The module doc says why.

use super::der::{self, Der};
use super::WebauthnError;
use crate::signature::{b64url, Alg, Key};
use serde_json::json;

const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_COUNTRY: &[u8] = &[0x55, 0x04, 0x06];
const OID_ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];
const OID_ORGANIZATIONAL_UNIT: &[u8] = &[0x55, 0x04, 0x0b];
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
/// id-fido-gen-ce-aaguid, 1.3.6.1.4.1.45724.1.1.4.
const OID_FIDO_AAGUID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xe5, 0x1c, 0x01, 0x01, 0x04];

/// What packed attestation needs of its leaf certificate.
#[derive(Debug)]
pub(super) struct Leaf {
    /// The certificate's public key, which made the attestation signature.
    pub(super) key: Key,
    /// The AAGUID the certificate names, if it has the FIDO extension.
    pub(super) aaguid: Option<[u8; 16]>,
}

fn bad(why: &'static str) -> WebauthnError {
    WebauthnError::BadAttestation(why)
}

fn not_der() -> WebauthnError {
    bad("the attestation certificate is not a DER X.509 certificate")
}

/// Reads `cert` (DER) and checks packed's requirements.
pub(super) fn leaf(cert: &[u8]) -> Result<Leaf, WebauthnError> {
    let mut outer = Der::new(cert);
    let mut certificate = Der::new(outer.expect(0x30).ok_or_else(not_der)?);
    let mut tbs = Der::new(certificate.expect(0x30).ok_or_else(not_der)?);
    // signatureAlgorithm and signatureValue: there, and not verified.
    let signed = certificate.expect(0x30).and(certificate.expect(0x03));
    if signed.is_none() || !certificate.is_empty() || !outer.is_empty() {
        return Err(not_der());
    }
    let version = tbs.optional(0xa0).and_then(|v| Der::new(v).expect(0x02));
    if version != Some(&[2][..]) {
        return Err(bad("the attestation certificate is not X.509 version 3"));
    }
    let mut field = |tag: u8| tbs.expect(tag).ok_or_else(not_der);
    let (_serial, _signature, _issuer, _validity) = (field(0x02)?, field(0x30)?, field(0x30)?, field(0x30)?);
    let (subject, public_key) = (field(0x30)?, field(0x30)?);
    let _unique_ids = (tbs.optional(0x81), tbs.optional(0x82));
    let extensions = tbs.optional(0xa3);
    if !tbs.is_empty() {
        return Err(not_der());
    }
    check_subject(subject)?;
    let aaguid = match extensions {
        Some(e) => check_extensions(e)?,
        None => None,
    };
    Ok(Leaf { key: spki_key(public_key)?, aaguid })
}

/// Packed's subject: C (an ISO 3166 code), O, OU "Authenticator Attestation", CN.
fn check_subject(subject: &[u8]) -> Result<(), WebauthnError> {
    let (mut country, mut organization, mut unit, mut common_name) = (false, false, false, false);
    let mut names = Der::new(subject);
    while !names.is_empty() {
        let mut set = Der::new(names.expect(0x31).ok_or_else(not_der)?);
        while !set.is_empty() {
            let mut attribute = Der::new(set.expect(0x30).ok_or_else(not_der)?);
            let oid = attribute.expect(0x06).ok_or_else(not_der)?;
            let (tag, value) = attribute.next().ok_or_else(not_der)?;
            // UTF8String, PrintableString, IA5String: what the names are written in.
            let text = matches!(tag, 0x0c | 0x13 | 0x16);
            match oid {
                OID_COUNTRY => country |= text && value.len() == 2,
                OID_ORGANIZATION => organization |= text && !value.is_empty(),
                OID_ORGANIZATIONAL_UNIT => unit |= text && value == b"Authenticator Attestation",
                OID_COMMON_NAME => common_name |= text && !value.is_empty(),
                _ => {}
            }
        }
    }
    if !unit {
        return Err(bad("the attestation certificate's subject OU is not \"Authenticator Attestation\""));
    }
    if !(country && organization && common_name) {
        return Err(bad("the attestation certificate's subject lacks C, O or CN"));
    }
    Ok(())
}

/// No CA basic constraint, and the AAGUID extension (if any) not critical; its AAGUID.
fn check_extensions(extensions: &[u8]) -> Result<Option<[u8; 16]>, WebauthnError> {
    let mut list = Der::new(Der::new(extensions).expect(0x30).ok_or_else(not_der)?);
    let mut aaguid = None;
    while !list.is_empty() {
        let mut extension = Der::new(list.expect(0x30).ok_or_else(not_der)?);
        let oid = extension.expect(0x06).ok_or_else(not_der)?;
        let critical = extension.optional(0x01).is_some_and(|c| c != [0]);
        let value = extension.expect(0x04).ok_or_else(not_der)?;
        match oid {
            OID_BASIC_CONSTRAINTS => {
                let mut constraints = Der::new(Der::new(value).expect(0x30).ok_or_else(not_der)?);
                if constraints.optional(0x01).is_some_and(|ca| ca != [0]) {
                    return Err(bad("the attestation certificate is a CA's"));
                }
            }
            OID_FIDO_AAGUID => {
                if critical {
                    return Err(bad("the attestation certificate's AAGUID extension is critical"));
                }
                let bytes = Der::new(value).expect(0x04).and_then(|b| <[u8; 16]>::try_from(b).ok());
                if aaguid.is_some() || bytes.is_none() {
                    return Err(bad("the attestation certificate's AAGUID extension is not one 16-byte string"));
                }
                aaguid = bytes;
            }
            _ => {}
        }
    }
    Ok(aaguid)
}

fn unsupported(why: &str) -> WebauthnError {
    WebauthnError::UnsupportedKey(why.into())
}

/// The SubjectPublicKeyInfo's key: EC P-256, RSA or Ed25519.
fn spki_key(spki: &[u8]) -> Result<Key, WebauthnError> {
    let mut info = Der::new(spki);
    let mut algorithm = Der::new(info.expect(0x30).ok_or_else(not_der)?);
    let bits = info.expect(0x03).ok_or_else(not_der)?;
    let oid = algorithm.expect(0x06).ok_or_else(not_der)?;
    let Some((0, key)) = bits.split_first().map(|(unused, key)| (*unused, key)) else {
        return Err(not_der());
    };
    if !info.is_empty() {
        return Err(not_der());
    }
    let (alg, jwk) = match oid {
        OID_EC_PUBLIC_KEY => {
            if algorithm.expect(0x06) != Some(OID_P256) {
                return Err(unsupported("the attestation certificate's EC key is not on P-256"));
            }
            let Some((4, point)) = key.split_first().map(|(form, point)| (*form, point)).filter(|(_, p)| p.len() == 64) else {
                return Err(unsupported("the attestation certificate's P-256 point is not uncompressed"));
            };
            let (x, y) = point.split_at(32);
            (Alg::Es256, json!({"kty": "EC", "crv": "P-256", "x": b64url(x), "y": b64url(y)}))
        }
        OID_RSA => {
            algorithm.optional(0x05);
            let mut numbers = Der::new(Der::new(key).expect(0x30).ok_or_else(not_der)?);
            let n = numbers.expect(0x02).and_then(der::unsigned).ok_or_else(not_der)?;
            let e = numbers.expect(0x02).and_then(der::unsigned).ok_or_else(not_der)?;
            if !numbers.is_empty() {
                return Err(not_der());
            }
            (Alg::Rs256, json!({"kty": "RSA", "n": b64url(n), "e": b64url(e)}))
        }
        OID_ED25519 => (Alg::EdDsa, json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(key)})),
        _ => return Err(unsupported("the attestation certificate's key is not EC P-256, RSA or Ed25519")),
    };
    if !algorithm.is_empty() {
        return Err(not_der());
    }
    Key::from_jwk(alg, &jwk).map_err(|e| WebauthnError::UnsupportedKey(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::from_b64url;

    /// A YubiKey 5's packed attestation certificate, from py_webauthn's test fixtures
    /// (`test_verify_registration_response_packed.py`): "Yubico U2F EE Serial 719807075".
    const YUBICO: &str = "MIICvTCCAaWgAwIBAgIEKudiYzANBgkqhkiG9w0BAQsFADAuMSwwKgYDVQQDEyNZdWJpY28gVTJGIFJvb3QgQ0EgU2VyaWFsIDQ1NzIwMDYzMTAgFw0xNDA4MDEwMDAwMDBaGA8yMDUwMDkwNDAwMDAwMFowbjELMAkGA1UEBhMCU0UxEjAQBgNVBAoMCVl1YmljbyBBQjEiMCAGA1UECwwZQXV0aGVudGljYXRvciBBdHRlc3RhdGlvbjEnMCUGA1UEAwweWXViaWNvIFUyRiBFRSBTZXJpYWwgNzE5ODA3MDc1MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEKgOGXmBD2Z4R_xCqJVRXhL8Jr45rHjsyFykhb1USGozZENOZ3cdovf5Ke8fj2rxi5tJGn_VnW4_6iQzKdIaeP6NsMGowIgYJKwYBBAGCxAoCBBUxLjMuNi4xLjQuMS40MTQ4Mi4xLjEwEwYLKwYBBAGC5RwCAQEEBAMCBDAwIQYLKwYBBAGC5RwBAQQEEgQQbUS6m_bsLkm5MAyP6SDLczAMBgNVHRMBAf8EAjAAMA0GCSqGSIb3DQEBCwUAA4IBAQByV9A83MPhFWmEkNb4DvlbUwcjc9nmRzJjKxHc3HeK7GvVkm0H4XucVDB4jeMvTke0WHb_jFUiApvpOHh5VyMx5ydwFoKKcRs5x0_WwSWL0eTZ5WbVcHkDR9pSNcA_D_5AsUKOBcbpF5nkdVRxaQHuuIuwV4k1iK2IqtMNcU8vL6w21U261xCcWwJ6sMq4zzVO8QCKCQhsoIaWrwz828GDmPzfAjFsJiLJXuYivdHACkeJ5KHMt0mjVLpfJ2BCML7_rgbmvwL7wBW80VHfNdcKmKjkLcpEiPzwcQQhiN_qHV90t-p4iyr5xRSpurlP5zic2hlRkLKxMH2_kRjhqSn4";

    fn yubico() -> Vec<u8> {
        from_b64url(YUBICO).unwrap()
    }

    #[test]
    fn a_yubikeys_certificate_gives_its_key_and_aaguid() {
        let leaf = leaf(&yubico()).unwrap();
        assert_eq!(leaf.key.alg(), Alg::Es256);
        assert_eq!(leaf.key.jwk()["x"].as_str(), Some("KgOGXmBD2Z4R_xCqJVRXhL8Jr45rHjsyFykhb1USGow"));
        assert_eq!(leaf.aaguid.map(hex::encode).as_deref(), Some("6d44ba9bf6ec2e49b9300c8fe920cb73"));
    }

    /// The certificate with `from` replaced by `to` (same length, so every length still fits).
    fn edited(from: &[u8], to: &[u8]) -> Vec<u8> {
        let cert = yubico();
        let at = cert.windows(from.len()).position(|w| w == from).unwrap();
        [&cert[..at], to, &cert[at + from.len()..]].concat()
    }

    #[test]
    fn what_packed_forbids_is_refused() {
        let refusal = |cert: Vec<u8>| match leaf(&cert) {
            Err(WebauthnError::BadAttestation(why)) => why,
            other => panic!("{other:?}"),
        };
        assert!(refusal(edited(b"Authenticator Attestation", b"Authenticator Attestatiom")).contains("OU"));
        // basicConstraints { cA TRUE } in the place of the empty sequence, in the same length.
        assert!(refusal(edited(&[0x55, 0x1d, 0x13, 0x01, 0x01, 0xff, 0x04, 0x02, 0x30, 0x00], &[0x55, 0x1d, 0x13, 0x04, 0x05, 0x30, 0x03, 0x01, 0x01, 0xff])).contains("a CA's"));
        assert!(refusal(edited(&[0xa0, 0x03, 0x02, 0x01, 0x02], &[0xa0, 0x03, 0x02, 0x01, 0x01])).contains("version 3"));
        assert!(refusal(edited(&[0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02], &[0x06, 0x03, 0x55, 0x04, 0x07, 0x13, 0x02])).contains("C, O or CN"));
        assert!(refusal(yubico()[..100].to_vec()).contains("not a DER"));
        assert!(refusal([yubico(), vec![0]].concat()).contains("not a DER"));
    }

    #[test]
    fn keys_other_than_p256_rsa_and_ed25519_are_refused() {
        // 1.2.840.10045.3.1.7 (P-256) -> 1.2.840.10045.3.1.8, a curve of the same OID length.
        let other_curve = edited(OID_P256, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x08]);
        assert!(matches!(leaf(&other_curve), Err(WebauthnError::UnsupportedKey(why)) if why.contains("P-256")));
        let other_key = edited(OID_EC_PUBLIC_KEY, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x02]);
        assert!(matches!(leaf(&other_key), Err(WebauthnError::UnsupportedKey(why)) if why.contains("not EC P-256")));
        let compressed = edited(&[0x03, 0x42, 0x00, 0x04], &[0x03, 0x42, 0x00, 0x02]);
        assert!(matches!(leaf(&compressed), Err(WebauthnError::UnsupportedKey(why)) if why.contains("uncompressed")));
    }
}
