//! The authenticator data (WebAuthn section 6.1), byte by byte: rpIdHash (32), flags (1),
//! signCount (4, big-endian), then, with AT, the attested credential data (aaguid 16,
//! credentialIdLength 2, the credential id, the COSE public key as CBOR) and, with ED, the
//! extension outputs (a CBOR map), and nothing after. What the flags must be for a ceremony is
//! for the ceremonies to check.

use super::cbor::{self, Value};
use super::{Flags, WebauthnError};

/// Longest credential id (section 6.1: credentialIdLength must be at most 1023).
pub(super) const MAX_CREDENTIAL_ID: usize = 1023;

/// The parsed authenticator data; byte strings borrow from it.
#[derive(Debug)]
pub(super) struct AuthenticatorData<'a> {
    pub(super) rp_id_hash: &'a [u8],
    pub(super) flags: Flags,
    pub(super) sign_count: u32,
    pub(super) attested: Option<AttestedCredential<'a>>,
}

/// The attested credential data of a registration.
#[derive(Debug)]
pub(super) struct AttestedCredential<'a> {
    pub(super) aaguid: [u8; 16],
    pub(super) credential_id: &'a [u8],
    /// The COSE_Key, decoded.
    pub(super) public_key: Value<'a>,
}

fn malformed(what: &'static str) -> WebauthnError {
    WebauthnError::Malformed(what)
}

/// Splits `n` bytes off the front of `input`.
fn split(input: &[u8], n: usize) -> Result<(&[u8], &[u8]), WebauthnError> {
    if input.len() < n {
        return Err(malformed("authenticator data: truncated"));
    }
    Ok(input.split_at(n))
}

/// Parses `bytes` as authenticator data.
pub(super) fn parse(bytes: &[u8]) -> Result<AuthenticatorData<'_>, WebauthnError> {
    let (rp_id_hash, rest) = split(bytes, 32)?;
    let (fixed, mut rest) = split(rest, 5)?;
    let flags = Flags::from_byte(fixed[0]);
    let sign_count = u32::from_be_bytes([fixed[1], fixed[2], fixed[3], fixed[4]]);
    if flags.backed_up && !flags.backup_eligible {
        return Err(malformed("authenticator data: BS set without BE"));
    }
    let attested = if flags.attested_data {
        let (aaguid, after) = split(rest, 16)?;
        let (length, after) = split(after, 2)?;
        let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
        if length > MAX_CREDENTIAL_ID {
            return Err(malformed("authenticator data: a credential id over 1023 bytes"));
        }
        let (credential_id, after) = split(after, length)?;
        let (public_key, after) = cbor::decode_prefix(after)?;
        rest = after;
        let mut guid = [0u8; 16];
        guid.copy_from_slice(aaguid);
        Some(AttestedCredential { aaguid: guid, credential_id, public_key })
    } else {
        None
    };
    if flags.extension_data {
        let (extensions, after) = cbor::decode_prefix(rest)?;
        if !matches!(extensions, Value::Map(_)) {
            return Err(malformed("authenticator data: the extensions are not a CBOR map"));
        }
        rest = after;
    }
    if !rest.is_empty() {
        return Err(malformed("authenticator data: bytes after its last field"));
    }
    Ok(AuthenticatorData { rp_id_hash, flags, sign_count, attested })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// {1: 2, 3: -7, -1: 1, -2: 32 bytes, -3: 32 bytes}, the shape of an ES256 COSE key.
    fn cose() -> Vec<u8> {
        [&[0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20][..], &[7; 32], &[0x22, 0x58, 0x20], &[8; 32]].concat()
    }

    fn data(flags: u8, tail: &[u8]) -> Vec<u8> {
        [&[0xaa; 32][..], &[flags, 0x01, 0x02, 0x03, 0x04], tail].concat()
    }

    fn attested(id_len: u16, id: &[u8]) -> Vec<u8> {
        [&[0xbb; 16][..], &id_len.to_be_bytes(), id, &cose()].concat()
    }

    fn refusal(bytes: &[u8]) -> &'static str {
        match parse(bytes) {
            Err(WebauthnError::Malformed(why)) => why,
            other => panic!("parsed: {other:?}"),
        }
    }

    #[test]
    fn an_assertions_data_is_its_37_bytes() {
        let bytes = data(0x05, &[]);
        let parsed = parse(&bytes).unwrap();
        assert_eq!(parsed.rp_id_hash, &[0xaa; 32]);
        assert!(parsed.flags.user_present && parsed.flags.user_verified);
        assert_eq!(parsed.sign_count, 0x0102_0304);
        assert!(parsed.attested.is_none());
    }

    #[test]
    fn a_registrations_data_holds_its_credential() {
        let bytes = data(0x41, &attested(3, &[9, 9, 9]));
        let parsed = parse(&bytes).unwrap();
        let credential = parsed.attested.unwrap();
        assert_eq!((credential.aaguid, credential.credential_id), ([0xbb; 16], &[9u8, 9, 9][..]));
        assert_eq!(credential.public_key.int_key(3).and_then(Value::as_int), Some(-7));
    }

    #[test]
    fn extensions_are_a_map_and_end_the_data() {
        // credProtect: {"credProtect": 2}
        let ext = [&[0xa1, 0x6b][..], b"credProtect", &[0x02]].concat();
        assert!(parse(&data(0xc1, &[attested(1, &[9]), ext.clone()].concat())).is_ok());
        assert!(parse(&data(0x81, &ext)).is_ok());
        assert!(refusal(&data(0x81, &[0x02])).contains("not a CBOR map"));
        assert!(refusal(&data(0x81, &[])).contains("past the input"));
        assert!(refusal(&data(0x81, &[ext.clone(), vec![0]].concat())).contains("after its last field"));
        assert!(refusal(&data(0x01, &ext)).contains("after its last field"), "extensions without ED");
    }

    #[test]
    fn truncations_and_overlong_ids_are_refused() {
        let full = data(0x41, &attested(3, &[9, 9, 9]));
        for cut in [0, 31, 32, 36, 37 + 15, 37 + 17, 37 + 18 + 2] {
            assert!(refusal(&full[..cut]).contains("truncated"), "cut at {cut}");
        }
        assert!(refusal(&full[..full.len() - 1]).contains("past the input"));
        assert!(refusal(&data(0x41, &attested(1024, &[9; 1024]))).contains("over 1023"));
        assert!(refusal(&data(0x41, &attested(0xffff, &[9; 10]))).contains("over 1023"));
        assert!(refusal(&data(0x41, &attested(900, &[9; 10]))).contains("truncated"));
        assert!(refusal(&data(0x01, &[0])).contains("after its last field"));
        assert!(refusal(&data(0x11, &[])).contains("BS set without BE"));
    }
}
