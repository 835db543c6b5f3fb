//! The attacks on WebAuthn's verification core, each refused with its own error: responses
//! replayed, phished or made for another site or ceremony; user presence or verification
//! missing; signatures over other data, by other keys or in lax DER; counters that go back;
//! truncated authenticator data and CBOR bombs; keys, algorithms and attestations the module
//! does not take. The software authenticator (`support/authenticator.rs`) makes each response
//! valid but for the one thing attacked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "support/authenticator.rs"]
mod authenticator;

use authenticator::*;
use portcullis_shared::signature::{b64url, from_b64url, Key};
use portcullis_shared::testing::RustCryptoSignatures;
use portcullis_shared::webauthn::{
    verify_authentication, verify_registration, Assertion, AuthenticationResponse, Registration, RegistrationResponse, StoredCredential, WebauthnError,
};
use std::time::{Duration, Instant};

fn register_response(response: &RegistrationResponse, user_verification: bool) -> Result<Registration, WebauthnError> {
    let origins = origins();
    pollster::block_on(verify_registration(&RustCryptoSignatures, &expected(&origins, user_verification), response))
}

fn register(creation: &Creation) -> Result<Registration, WebauthnError> {
    register_response(&pollster::block_on(creation.response()), true)
}

/// The response of a creation whose attestation object is `object`.
fn register_object(object: &[u8]) -> Result<Registration, WebauthnError> {
    register_response(&Creation::new(es256()).response_with(object), true)
}

fn public() -> Key {
    es256().public().unwrap()
}

fn credential(key: &Key, sign_count: u32) -> StoredCredential<'_> {
    StoredCredential { id: b"credential-1", key, sign_count, backup_eligible: false, user_handle: b"user-1" }
}

fn authenticate_response(response: &AuthenticationResponse, sign_count: u32) -> Result<Assertion, WebauthnError> {
    let (origins, key) = (origins(), public());
    pollster::block_on(verify_authentication(&RustCryptoSignatures, &expected(&origins, true), &credential(&key, sign_count), response))
}

fn authenticate(getting: &Getting) -> Result<Assertion, WebauthnError> {
    authenticate_response(&pollster::block_on(getting.response()), 3)
}

fn malformed<T: std::fmt::Debug>(result: Result<T, WebauthnError>) -> &'static str {
    match result {
        Err(WebauthnError::Malformed(why)) => why,
        other => panic!("not refused as malformed: {other:?}"),
    }
}

#[test]
fn a_response_to_another_challenge_is_refused() {
    let replayed = b"the challenge of yesterday's login".to_vec();
    assert_eq!(register(&Creation { challenge: replayed.clone(), ..Creation::new(es256()) }), Err(WebauthnError::ChallengeMismatch));
    assert_eq!(authenticate(&Getting { challenge: replayed, ..Getting::new(es256()) }), Err(WebauthnError::ChallengeMismatch));
    let one_bit_off = [&CHALLENGE[..31], &[CHALLENGE[31] ^ 1]].concat();
    assert_eq!(authenticate(&Getting { challenge: one_bit_off, ..Getting::new(es256()) }), Err(WebauthnError::ChallengeMismatch));
    assert_eq!(authenticate(&Getting { challenge: CHALLENGE[..16].to_vec(), ..Getting::new(es256()) }), Err(WebauthnError::ChallengeMismatch));
}

#[test]
fn a_phishing_sites_origin_is_refused() {
    for origin in ["https://example.com.evil.test", "https://evil-example.com", "http://example.com", "https://example.com:8443", "https://example.com/", "null"] {
        let refusal = WebauthnError::OriginNotAllowed(origin.into());
        assert_eq!(register(&Creation { origin: origin.into(), ..Creation::new(es256()) }).err(), Some(refusal.clone()), "{origin}");
        assert_eq!(authenticate(&Getting { origin: origin.into(), ..Getting::new(es256()) }).err(), Some(refusal), "{origin}");
    }
    let framed = r#","topOrigin":"https://evil.test""#;
    assert_eq!(authenticate(&Getting { client_extra: framed.into(), ..Getting::new(es256()) }), Err(WebauthnError::CrossOrigin));
    // The client data has crossOrigin: false already; a second one is a duplicate member.
    let duplicate = r#","crossOrigin":true"#;
    assert!(malformed(authenticate(&Getting { client_extra: duplicate.into(), ..Getting::new(es256()) })).contains("clientDataJSON"));
}

#[test]
fn a_credential_scoped_to_another_rp_id_is_refused() {
    for rp_id in ["evil.test", "example.co", "sub.example.com", "EXAMPLE.COM"] {
        assert_eq!(register(&Creation { rp_id: rp_id.into(), ..Creation::new(es256()) }), Err(WebauthnError::RpIdMismatch), "{rp_id}");
        assert_eq!(authenticate(&Getting { rp_id: rp_id.into(), ..Getting::new(es256()) }), Err(WebauthnError::RpIdMismatch), "{rp_id}");
    }
}

#[test]
fn a_response_without_user_presence_or_required_verification_is_refused() {
    assert_eq!(register(&Creation { flags: 0x44, ..Creation::new(es256()) }), Err(WebauthnError::UserNotPresent));
    assert_eq!(authenticate(&Getting { flags: 0x04, ..Getting::new(es256()) }), Err(WebauthnError::UserNotPresent));
    assert_eq!(register(&Creation { flags: 0x41, ..Creation::new(es256()) }), Err(WebauthnError::UserNotVerified));
    assert_eq!(authenticate(&Getting { flags: 0x01, ..Getting::new(es256()) }), Err(WebauthnError::UserNotVerified));
}

#[test]
fn a_response_of_the_other_ceremony_is_refused() {
    assert_eq!(register(&Creation { client_type: "webauthn.get".into(), ..Creation::new(es256()) }), Err(WebauthnError::WrongType));
    assert_eq!(authenticate(&Getting { client_type: "webauthn.create".into(), ..Getting::new(es256()) }), Err(WebauthnError::WrongType));
    assert_eq!(authenticate(&Getting { client_type: "payment.get".into(), ..Getting::new(es256()) }), Err(WebauthnError::WrongType));
    assert_eq!(register(&Creation { kind: "password".into(), ..Creation::new(es256()) }), Err(WebauthnError::WrongType));
    assert_eq!(authenticate(&Getting { kind: "otp".into(), ..Getting::new(es256()) }), Err(WebauthnError::WrongType));
}

#[test]
fn a_signature_over_other_data_or_by_another_key_is_refused() {
    let getting = Getting::new(es256());
    let signed_other = Getting { signed: Some(b"something else entirely".to_vec()), ..getting.clone() };
    assert_eq!(authenticate(&signed_other), Err(WebauthnError::BadSignature));
    // Signed over the client data itself instead of its hash.
    let unhashed = Getting { signed: Some([getting.auth_data(), getting.client_data()].concat()), ..getting.clone() };
    assert_eq!(authenticate(&unhashed), Err(WebauthnError::BadSignature));
    // The authenticator data changed after signing: UV set, the counter moved up.
    for (base, forged) in [((0x01, 8), (0x05, 8)), ((0x05, 8), (0x05, 9))] {
        let signer = Getting { flags: base.0, count: base.1, ..getting.clone() };
        let mut response = pollster::block_on(signer.response());
        response.response.authenticator_data = b64url(&Getting { flags: forged.0, count: forged.1, ..getting.clone() }.auth_data());
        assert_eq!(authenticate_response(&response, 3), Err(WebauthnError::BadSignature), "{forged:?}");
    }
    // By another P-256 key; by keys of other algorithms, whose signatures are not even DER.
    assert_eq!(authenticate(&Getting { key: es256_other(), ..getting.clone() }), Err(WebauthnError::BadSignature));
    assert_eq!(authenticate(&Getting { key: ed25519(), ..getting.clone() }), Err(WebauthnError::SignatureEncoding));
    assert_eq!(authenticate(&Getting { key: rs256(), ..getting.clone() }), Err(WebauthnError::SignatureEncoding));
    let signed = pollster::block_on(getting.response());
    // The client data swapped for another challenge's, the signature kept.
    let mut swapped = signed.clone();
    swapped.response.client_data_json = b64url(&client_data("webauthn.get", CHALLENGE, "https://app.example.com", ""));
    assert_eq!(authenticate_response(&swapped, 3), Err(WebauthnError::BadSignature));
}

/// The signature of a response, DER-decoded into r and s (as minimal big-endian digits).
fn r_and_s(response: &AuthenticationResponse) -> (Vec<u8>, Vec<u8>) {
    let der = from_b64url(&response.response.signature).unwrap();
    let body = &der[2..];
    let r_len = usize::from(body[1]);
    let (r, rest) = (body[2..2 + r_len].to_vec(), &body[2 + r_len..]);
    (r, rest[2..].to_vec())
}

#[test]
fn es256_signatures_in_anything_but_strict_der_are_refused() {
    // A signature whose r and s both have their high bit clear, so that a needless zero octet
    // before either is one a lax decoder would strip and then verify.
    let response = (8..200)
        .map(|count| pollster::block_on(Getting { count, ..Getting::new(es256()) }.response()))
        .find(|response| {
            let (r, s) = r_and_s(response);
            r.len() == 32 && s.len() == 32 && r[0] < 0x80 && s[0] < 0x80
        })
        .unwrap();
    assert!(authenticate_response(&response, 3).is_ok());
    let (r, s) = r_and_s(&response);
    let der = from_b64url(&response.response.signature).unwrap();
    let sequence = |body: Vec<u8>| tlv(0x30, &body);
    let int = |digits: &[u8]| tlv(0x02, digits);
    let r33: Vec<u8> = [&[0x01][..], &[0x42; 32]].concat();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a byte after the sequence", [der.clone(), vec![0x00]].concat()),
        ("an element after s", sequence([int(&r), int(&s), vec![0x05, 0x00]].concat())),
        ("r with a needless zero octet", sequence([int(&[&[0][..], &r].concat()), int(&s)].concat())),
        ("s with a needless zero octet", sequence([int(&r), int(&[&[0][..], &s].concat())].concat())),
        ("the sequence length in the long form", [vec![0x30, 0x81], der[1..].to_vec()].concat()),
        ("r of 33 bytes without a leading zero", sequence([int(&r33), int(&s)].concat())),
        ("r and s raw, as JWS has them", [vec![0; 32 - r.len().min(32)], r.clone(), vec![0; 32 - s.len().min(32)], s.clone()].concat()),
        ("s missing", sequence(int(&r))),
        ("nothing", vec![]),
    ];
    for (what, signature) in cases {
        let mut lax = response.clone();
        lax.response.signature = b64url(&signature);
        assert_eq!(authenticate_response(&lax, 3), Err(WebauthnError::SignatureEncoding), "{what}");
    }
}

#[test]
fn a_counter_that_does_not_grow_is_reported_as_a_regression_after_the_signature() {
    let at = |count: u32, stored: u32| authenticate_response(&pollster::block_on(Getting { count, ..Getting::new(es256()) }.response()), stored);
    assert_eq!(at(8, 8), Err(WebauthnError::CounterRegression { stored: 8, received: 8 }));
    assert_eq!(at(3, 8), Err(WebauthnError::CounterRegression { stored: 8, received: 3 }));
    assert_eq!(at(0, 8), Err(WebauthnError::CounterRegression { stored: 8, received: 0 }), "a counter that resets");
    // A regression is only told of a valid signature: a forger learns nothing from it.
    let forged = pollster::block_on(Getting { count: 2, signed: Some(b"forged".to_vec()), ..Getting::new(es256()) }.response());
    assert_eq!(authenticate_response(&forged, 8), Err(WebauthnError::BadSignature));
}

#[test]
fn truncated_or_padded_authenticator_data_is_malformed() {
    let getting = Getting::new(es256());
    let full = getting.auth_data();
    for cut in [0, 32, 36] {
        let response = pollster::block_on(getting.response_with(&full[..cut]));
        assert!(malformed(authenticate_response(&response, 3)).contains("truncated"), "cut at {cut}");
    }
    let padded = pollster::block_on(getting.response_with(&[full.clone(), vec![0]].concat()));
    assert!(malformed(authenticate_response(&padded, 3)).contains("after its last field"));
    // A registration's authenticator data cut inside the credential, or without it.
    let creation = Creation::new(es256());
    let auth_data = creation.auth_data();
    for cut in [37, 37 + 16, 37 + 18 + 5, auth_data.len() - 1] {
        let object = Cbor::Map(vec![(text("fmt"), text("none")), (text("attStmt"), Cbor::Map(vec![])), (text("authData"), Cbor::Bytes(auth_data[..cut].to_vec()))]);
        assert!(register_object(&object.encode()).is_err(), "cut at {cut}");
    }
    assert!(malformed(register(&Creation { flags: 0x05, ..creation.clone() })).contains("after its last field"), "a credential without AT");
    let assertion_data = Getting::new(es256()).auth_data();
    let no_credential = Cbor::Map(vec![(text("fmt"), text("none")), (text("attStmt"), Cbor::Map(vec![])), (text("authData"), Cbor::Bytes(assertion_data))]);
    assert!(malformed(register_object(&no_credential.encode())).contains("without attested credential data"));
}

/// An attestation object with `authData` after `fmt: none` and `attStmt: statement`.
fn object_with(statement: Cbor) -> Vec<u8> {
    let auth_data = Creation::new(es256()).auth_data();
    Cbor::Map(vec![(text("fmt"), text("none")), (text("attStmt"), statement), (text("authData"), Cbor::Bytes(auth_data))]).encode()
}

#[test]
fn cbor_bombs_are_refused_at_once() {
    let started = Instant::now();
    let deep = |depth: usize| Cbor::Raw([vec![0x81; depth], vec![0x00]].concat());
    assert!(malformed(register_object(&object_with(deep(100_000)))).contains("deeper than 8"));
    let maps = Cbor::Raw([0xa1, 0x61, b'a'].repeat(50_000).into_iter().chain([0x00]).collect());
    assert!(malformed(register_object(&object_with(maps))).contains("deeper than 8"));
    // Lengths and counts far beyond the input, and indefinite lengths.
    let huge_bytes = [head(5, 3), text("fmt").encode(), text("none").encode(), text("attStmt").encode(), vec![0xa0], text("authData").encode(), head(2, u64::MAX)].concat();
    assert!(malformed(register_object(&huge_bytes)).contains("past the input"));
    assert!(malformed(register_object(&head(5, u64::from(u32::MAX)))).contains("64 entries"));
    assert!(malformed(register_object(&[head(4, 60), vec![0; 59]].concat())).contains("bytes left"));
    assert!(malformed(register_object(&[0xbf, 0x63, b'f', b'm', b't', 0x64, b'n', b'o', b'n', b'e', 0xff])).contains("indefinite"));
    assert!(malformed(register_object(&object_with(Cbor::Raw(vec![0x5f, 0x41, 0x00, 0xff])))).contains("indefinite"));
    // The same inside the authenticator data: the COSE key and the extensions.
    let bomb_key = Creation { cose: Some([vec![0x81; 1000], vec![0]].concat()), ..Creation::new(es256()) };
    assert!(malformed(register(&bomb_key)).contains("deeper than 8"));
    let bomb_extensions = Creation { flags: 0xc5, extensions: Some(head(5, u64::MAX)), ..Creation::new(es256()) };
    assert!(malformed(register(&bomb_extensions)).contains("64 entries"));
    let indefinite_extensions = Creation { flags: 0xc5, extensions: Some(vec![0xbf, 0xff]), ..Creation::new(es256()) };
    assert!(malformed(register(&indefinite_extensions)).contains("indefinite"));
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[test]
fn keys_and_algorithms_other_than_es256_rs256_and_eddsa_are_refused() {
    let es384 = Cbor::Map(vec![
        (Cbor::Int(1), Cbor::Int(2)),
        (Cbor::Int(3), Cbor::Int(-35)),
        (Cbor::Int(-1), Cbor::Int(2)),
        (Cbor::Int(-2), Cbor::Bytes(vec![1; 48])),
        (Cbor::Int(-3), Cbor::Bytes(vec![2; 48])),
    ]);
    assert_eq!(register(&Creation { cose: Some(es384.encode()), ..Creation::new(es256()) }), Err(WebauthnError::UnsupportedAlgorithm(-35)));
    let rs1 = Cbor::Map(vec![(Cbor::Int(1), Cbor::Int(3)), (Cbor::Int(3), Cbor::Int(-65535)), (Cbor::Int(-1), Cbor::Bytes(vec![0xc1; 256])), (Cbor::Int(-2), Cbor::Bytes(vec![1, 0, 1]))]);
    assert_eq!(register(&Creation { cose: Some(rs1.encode()), ..Creation::new(es256()) }), Err(WebauthnError::UnsupportedAlgorithm(-65535)));
    // A P-256 key whose point is not on the curve, which WebCrypto would refuse at every login.
    let mut off_curve = es256().public().unwrap().member("y").unwrap();
    off_curve[31] ^= 1;
    let off = Cbor::Map(vec![
        (Cbor::Int(1), Cbor::Int(2)),
        (Cbor::Int(3), Cbor::Int(-7)),
        (Cbor::Int(-1), Cbor::Int(1)),
        (Cbor::Int(-2), Cbor::Bytes(es256().member("x").unwrap())),
        (Cbor::Int(-3), Cbor::Bytes(off_curve)),
    ]);
    assert!(matches!(register(&Creation { cose: Some(off.encode()), ..Creation::new(es256()) }), Err(WebauthnError::UnsupportedKey(why)) if why.contains("not on P-256")));
    // An HMAC key handed in as a stored credential.
    let hmac = Key::hmac(b"a shared secret is no credential");
    let origins = origins();
    let response = pollster::block_on(Getting::new(es256()).response());
    let refused = pollster::block_on(verify_authentication(&RustCryptoSignatures, &expected(&origins, true), &credential(&hmac, 0), &response));
    assert!(matches!(refused, Err(WebauthnError::UnsupportedKey(_))));
}

#[test]
fn a_packed_attestation_signed_by_another_key_is_refused() {
    // Self attestation: the statement signed by a key other than the credential's.
    let other_signer = pollster::block_on(async {
        let creation = Creation::new(es256());
        let signed = [creation.auth_data(), sha2_of(&creation.client_data())].concat();
        Cbor::Map(vec![(text("alg"), Cbor::Int(-7)), (text("sig"), Cbor::Bytes(sign(&es256_other(), &signed).await))])
    });
    assert_eq!(register(&Creation::packed(es256(), Statement::Raw(other_signer))), Err(WebauthnError::BadSignature));
    // With a certificate: the certificate names one key, another signed.
    let certificate = pollster::block_on(Certificate::default().issue(&es256_other(), &es256()));
    let wrong_signer = Statement::Certified { key: es256(), certificate: certificate.clone() };
    let refused = register(&Creation::packed(rs256(), wrong_signer));
    assert_eq!(refused, Err(WebauthnError::BadSignature));
    // An alg that is not the signing key's.
    let mismatch = Cbor::Map(vec![(text("alg"), Cbor::Int(-257)), (text("sig"), Cbor::Bytes(vec![1; 256]))]);
    assert!(matches!(register(&Creation::packed(es256(), Statement::Raw(mismatch))), Err(WebauthnError::BadAttestation(why)) if why.contains("alg")));
    let misnamed = pollster::block_on(async {
        let creation = Creation::new(es256());
        let signed = [creation.auth_data(), sha2_of(&creation.client_data())].concat();
        let sig = Cbor::Bytes(sign(&es256_other(), &signed).await);
        Cbor::Map(vec![(text("alg"), Cbor::Int(-257)), (text("sig"), sig), (text("x5c"), Cbor::Array(vec![Cbor::Bytes(certificate)]))])
    });
    assert!(matches!(register(&Creation::packed(es256(), Statement::Raw(misnamed))), Err(WebauthnError::BadAttestation(why)) if why.contains("certificate key's")));
    let ecdaa = Cbor::Map(vec![(text("alg"), Cbor::Int(-7)), (text("sig"), Cbor::Bytes(vec![1; 70])), (text("ecdaaKeyId"), Cbor::Bytes(vec![1; 32]))]);
    assert!(matches!(register(&Creation::packed(es256(), Statement::Raw(ecdaa))), Err(WebauthnError::BadAttestation(why)) if why.contains("ECDAA")));
}

fn sha2_of(data: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).to_vec()
}

#[test]
fn certificates_packed_forbids_are_refused() {
    let refused = |certificate: Certificate| {
        let der = pollster::block_on(certificate.issue(&es256_other(), &es256()));
        match register(&Creation::packed(es256(), Statement::Certified { key: es256_other(), certificate: der })) {
            Err(WebauthnError::BadAttestation(why)) => why,
            other => panic!("{other:?}"),
        }
    };
    assert!(refused(Certificate { ca: true, ..Certificate::default() }).contains("a CA's"));
    assert!(refused(Certificate { unit: "Marketing".into(), ..Certificate::default() }).contains("OU"));
    assert!(refused(Certificate { version: 0, ..Certificate::default() }).contains("version 3"));
    assert!(refused(Certificate { country: false, ..Certificate::default() }).contains("C, O or CN"));
    assert!(refused(Certificate { aaguid: Some(([0x11; 16], true)), ..Certificate::default() }).contains("critical"));
    assert!(refused(Certificate { aaguid: Some(([0x22; 16], false)), ..Certificate::default() }).contains("AAGUID is not"));
    let garbage = Statement::Certified { key: es256_other(), certificate: b"not a certificate".to_vec() };
    assert!(matches!(register(&Creation::packed(es256(), garbage)), Err(WebauthnError::BadAttestation(why)) if why.contains("DER")));
    let empty_chain = Cbor::Map(vec![(text("alg"), Cbor::Int(-7)), (text("sig"), Cbor::Bytes(vec![1; 70])), (text("x5c"), Cbor::Array(vec![]))]);
    assert!(matches!(register(&Creation::packed(es256(), Statement::Raw(empty_chain))), Err(WebauthnError::BadAttestation(why)) if why.contains("x5c")));
}

#[test]
fn format_none_with_a_statement_and_unsupported_formats_are_refused() {
    let statement = Cbor::Map(vec![(text("alg"), Cbor::Int(-7)), (text("sig"), Cbor::Bytes(vec![1; 70]))]);
    let none_with_statement = Creation { statement: Statement::Raw(statement), ..Creation::new(es256()) };
    assert!(matches!(register(&none_with_statement), Err(WebauthnError::BadAttestation(why)) if why.contains("none")));
    for fmt in ["fido-u2f", "tpm", "android-key", "android-safetynet", "apple", "None", ""] {
        assert_eq!(register(&Creation { fmt: fmt.into(), ..Creation::new(es256()) }), Err(WebauthnError::UnsupportedAttestation(fmt.into())), "{fmt}");
    }
    let long = "x".repeat(1000);
    assert_eq!(register(&Creation { fmt: long, ..Creation::new(es256()) }), Err(WebauthnError::UnsupportedAttestation("x".repeat(32))));
}

#[test]
fn the_attestation_object_holds_exactly_its_three_members() {
    let auth_data = Creation::new(es256()).auth_data();
    let member = |name: &str, value: Cbor| (text(name), value);
    let cases = [
        vec![member("fmt", text("none")), member("attStmt", Cbor::Map(vec![]))],
        vec![member("fmt", text("none")), member("attStmt", Cbor::Map(vec![])), member("authData", Cbor::Bytes(auth_data.clone())), member("extra", Cbor::Int(1))],
        vec![member("fmt", Cbor::Int(0)), member("attStmt", Cbor::Map(vec![])), member("authData", Cbor::Bytes(auth_data.clone()))],
        vec![member("fmt", text("none")), member("attStmt", Cbor::Map(vec![])), member("authData", text("not bytes"))],
    ];
    for case in cases {
        assert!(malformed(register_object(&Cbor::Map(case).encode())).contains("fmt, attStmt and authData"));
    }
    let list = Cbor::Array(vec![text("none"), Cbor::Map(vec![]), Cbor::Bytes(auth_data.clone())]);
    assert!(malformed(register_object(&list.encode())).contains("fmt, attStmt and authData"));
    let duplicate = [head(5, 3), text("fmt").encode(), text("none").encode(), text("fmt").encode(), text("packed").encode(), text("authData").encode(), Cbor::Bytes(auth_data).encode()].concat();
    assert!(malformed(register_object(&duplicate)).contains("twice"));
    assert!(malformed(register_object(&[object_with(Cbor::Map(vec![])), vec![0]].concat())).contains("after the item"));
}

#[test]
fn credential_ids_user_handles_and_backup_eligibility_must_agree() {
    // The attested credential is not the one the response names.
    assert_eq!(register(&Creation { raw_id: Some(b"credential-2".to_vec()), ..Creation::new(es256()) }), Err(WebauthnError::CredentialMismatch));
    let mut response = pollster::block_on(Creation::new(es256()).response());
    response.id = b64url(b"credential-2");
    assert_eq!(register_response(&response, true), Err(WebauthnError::CredentialMismatch));
    // An assertion of another credential than the stored one, or with id and rawId apart.
    assert_eq!(authenticate(&Getting { credential_id: b"credential-2".to_vec(), ..Getting::new(es256()) }), Err(WebauthnError::CredentialMismatch));
    let mut apart = pollster::block_on(Getting::new(es256()).response());
    apart.id = b64url(b"credential-2");
    assert_eq!(authenticate_response(&apart, 3), Err(WebauthnError::CredentialMismatch));
    // Another account's user handle.
    assert_eq!(authenticate(&Getting { user_handle: Some(b"user-2".to_vec()), ..Getting::new(es256()) }), Err(WebauthnError::UserHandleMismatch));
    // A credential registered as a device-bound key now claiming to be a syncable passkey.
    assert_eq!(authenticate(&Getting { flags: 0x0d, ..Getting::new(es256()) }), Err(WebauthnError::BackupEligibilityChanged));
    assert!(malformed(authenticate(&Getting { flags: 0x15, ..Getting::new(es256()) })).contains("BS set without BE"));
    // Not base64url.
    let mut padded_std = pollster::block_on(Getting::new(es256()).response());
    padded_std.response.signature = padded_std.response.signature.replace('-', "+").replace('_', "/") + "+";
    assert!(malformed(authenticate_response(&padded_std, 3)).contains("signature"));
}
