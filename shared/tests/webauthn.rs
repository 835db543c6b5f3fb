//! WebAuthn's verification core on what it must accept: registrations and assertions made by a
//! software authenticator (`support/authenticator.rs`) with each algorithm and attestation,
//! and real ones published as py_webauthn's test fixtures (Chrome and Firefox with YubiKeys
//! and platform authenticators), which verify byte for byte. Attacks are in
//! `webauthn_attacks.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "support/authenticator.rs"]
mod authenticator;

use authenticator::*;
use portcullis_shared::signature::{b64url, from_b64url, Alg, Key};
use portcullis_shared::testing::RustCryptoSignatures;
use portcullis_shared::webauthn::{
    verify_authentication, verify_registration, Assertion, AssertionResponse, Attestation, AttestationResponse, AuthenticationResponse, Expected, Flags,
    key_from_cose, Registration, RegistrationResponse, StoredCredential, WebauthnError, COSE_ALGORITHMS,
};

fn register(creation: &Creation, user_verification: bool) -> Result<Registration, WebauthnError> {
    let origins = origins();
    pollster::block_on(async { verify_registration(&RustCryptoSignatures, &expected(&origins, user_verification), &creation.response().await).await })
}

fn stored<'a>(key: &'a Key, sign_count: u32, backup_eligible: bool) -> StoredCredential<'a> {
    StoredCredential { id: b"credential-1", key, sign_count, backup_eligible, user_handle: b"user-1" }
}

fn authenticate(getting: &Getting, credential: &StoredCredential<'_>) -> Result<Assertion, WebauthnError> {
    let origins = origins();
    pollster::block_on(async { verify_authentication(&RustCryptoSignatures, &expected(&origins, true), credential, &getting.response().await).await })
}

#[test]
fn a_passkey_registers_and_signs_in_with_each_algorithm() {
    for key in [es256(), rs256(), ed25519()] {
        // A synced passkey: UP, UV, BE, BS, AT.
        let creation = Creation { flags: 0x5d, count: 0, ..Creation::new(key.clone()) };
        let registration = register(&creation, true).unwrap();
        assert_eq!(registration.credential_id, b"credential-1");
        assert_eq!(Some(&registration.key), key.public().as_ref(), "{:?}", key.alg());
        assert!(!registration.key.is_private());
        assert_eq!((registration.sign_count, registration.aaguid), (0, [0x11; 16]));
        assert!(registration.flags.backup_eligible && registration.flags.backed_up && registration.flags.user_verified);
        assert_eq!(registration.transports, ["internal", "hybrid"]);
        assert_eq!(registration.attestation, Attestation::None);

        let credential = stored(&registration.key, registration.sign_count, true);
        let getting = Getting { flags: 0x1d, count: 1, ..Getting::new(key.clone()) };
        let assertion = authenticate(&getting, &credential).unwrap();
        assert_eq!(assertion.sign_count, 1);
        assert_eq!(assertion.flags, Flags { user_present: true, user_verified: true, backup_eligible: true, backed_up: true, ..Flags::default() });
    }
}

#[test]
fn packed_self_attestation_verifies_with_the_credential_key() {
    for key in [es256(), rs256(), ed25519()] {
        let registration = register(&Creation::packed(key.clone(), Statement::SelfSigned), false).unwrap();
        assert_eq!(registration.attestation, Attestation::SelfSigned, "{:?}", key.alg());
        assert_eq!(registration.key.alg(), key.alg());
    }
}

#[test]
fn packed_attestation_with_a_certificate_verifies_with_the_certificates_key() {
    for attestation_key in [es256_other(), rs256(), ed25519()] {
        let certificate = pollster::block_on(Certificate::default().issue(&attestation_key, &es256()));
        let statement = Statement::Certified { key: attestation_key.clone(), certificate: certificate.clone() };
        let registration = register(&Creation::packed(es256(), statement), false).unwrap();
        assert_eq!(registration.attestation, Attestation::Certified { certificates: vec![certificate] }, "{:?}", attestation_key.alg());
        assert_eq!(registration.key, es256().public().unwrap());
    }
    // The AAGUID extension is optional.
    let certificate = pollster::block_on(Certificate { aaguid: None, ..Certificate::default() }.issue(&es256_other(), &es256()));
    assert!(register(&Creation::packed(es256(), Statement::Certified { key: es256_other(), certificate }), false).is_ok());
}

#[test]
fn user_verification_is_required_only_when_asked() {
    let present_only = Creation { flags: 0x41, ..Creation::new(es256()) };
    assert!(register(&present_only, false).is_ok());
    assert_eq!(register(&present_only, true), Err(WebauthnError::UserNotVerified));
    let key = es256().public().unwrap();
    let origins = origins();
    let getting = Getting { flags: 0x01, ..Getting::new(es256()) };
    let response = pollster::block_on(getting.response());
    let lenient = pollster::block_on(verify_authentication(&RustCryptoSignatures, &expected(&origins, false), &stored(&key, 0, false), &response));
    assert_eq!(lenient.map(|a| a.flags.user_verified), Ok(false));
    assert_eq!(authenticate(&getting, &stored(&key, 0, false)), Err(WebauthnError::UserNotVerified));
}

#[test]
fn counters_grow_or_stay_at_zero() {
    let key = es256().public().unwrap();
    assert_eq!(authenticate(&Getting { count: 6, ..Getting::new(es256()) }, &stored(&key, 5, false)).map(|a| a.sign_count), Ok(6));
    assert_eq!(authenticate(&Getting { count: u32::MAX, ..Getting::new(es256()) }, &stored(&key, 5, false)).map(|a| a.sign_count), Ok(u32::MAX));
    // Authenticators without a counter (most synced passkeys) send 0, always.
    assert_eq!(authenticate(&Getting { count: 0, ..Getting::new(es256()) }, &stored(&key, 0, false)).map(|a| a.sign_count), Ok(0));
}

#[test]
fn extension_outputs_and_a_missing_user_handle_are_fine() {
    // credProtect: {"credProtect": 2}, after the credential, with ED.
    let ext = Cbor::Map(vec![(text("credProtect"), Cbor::Int(2))]).encode();
    let creation = Creation { flags: 0xc5, extensions: Some(ext), ..Creation::new(es256()) };
    assert!(register(&creation, true).is_ok());
    let key = es256().public().unwrap();
    assert!(authenticate(&Getting { user_handle: None, ..Getting::new(es256()) }, &stored(&key, 0, false)).is_ok());
    assert!(authenticate(&Getting { user_handle: Some(vec![]), ..Getting::new(es256()) }, &stored(&key, 0, false)).is_ok());
}

#[test]
fn the_cose_algorithms_to_offer_are_the_three_verified() {
    assert_eq!(COSE_ALGORITHMS, [-7, -8, -257]);
    assert_eq!(portcullis_shared::webauthn::cose_algorithm(Alg::Rs256), Some(-257));
}

// py_webauthn's fixtures (github.com/duo-labs/py_webauthn, tests/, BSD-3-Clause): responses
// real browsers and authenticators made, for rp id "localhost" at http://localhost:5000.

const PY_ORIGIN: &str = "http://localhost:5000";

fn py_expected<'a>(challenge: &'a [u8], origins: &'a [String], user_verification: bool) -> Expected<'a> {
    Expected { challenge, origins, rp_id: "localhost", user_verification }
}

fn py_register(id: &str, client_data: &str, object: &str, challenge: &str) -> Result<Registration, WebauthnError> {
    let response = RegistrationResponse {
        id: id.into(),
        raw_id: id.into(),
        kind: "public-key".into(),
        response: AttestationResponse { client_data_json: client_data.into(), attestation_object: object.into(), transports: None },
    };
    let (challenge, origins) = (from_b64url(challenge).unwrap(), vec![PY_ORIGIN.to_string()]);
    pollster::block_on(verify_registration(&RustCryptoSignatures, &py_expected(&challenge, &origins, false), &response))
}

#[test]
fn py_webauthns_none_registration_verifies() {
    let registration = py_register(
        "9y1xA8Tmg1FEmT-c7_fvWZ_uoTuoih3OvR45_oAK-cwHWhAbXrl2q62iLVTjiyEZ7O7n-CROOY494k7Q3xrs_w",
        "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoiVHdON240V1R5R0tMYzRaWS1xR3NGcUtuSE00bmdscXN5VjBJQ0psTjJUTzlYaVJ5RnRya2FEd1V2c3FsLWdrTEpYUDZmbkYxTWxyWjUzTW00UjdDdnciLCJvcmlnaW4iOiJodHRwOi8vbG9jYWxob3N0OjUwMDAiLCJjcm9zc09yaWdpbiI6ZmFsc2V9",
        "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVjESZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2NFAAAAFwAAAAAAAAAAAAAAAAAAAAAAQPctcQPE5oNRRJk_nO_371mf7qE7qIodzr0eOf6ACvnMB1oQG165dqutoi1U44shGezu5_gkTjmOPeJO0N8a7P-lAQIDJiABIVggSFbUJF-42Ug3pdM8rDRFu_N5oiVEysPDB6n66r_7dZAiWCDUVnB39FlGypL-qAoIO9xWHtJygo2jfDmHl-_eKFRLDA",
        "TwN7n4WTyGKLc4ZY-qGsFqKnHM4nglqsyV0ICJlN2TO9XiRyFtrkaDwUvsql-gkLJXP6fnF1MlrZ53Mm4R7Cvw",
    )
    .unwrap();
    assert_eq!(b64url(&registration.credential_id), "9y1xA8Tmg1FEmT-c7_fvWZ_uoTuoih3OvR45_oAK-cwHWhAbXrl2q62iLVTjiyEZ7O7n-CROOY494k7Q3xrs_w");
    assert_eq!((registration.sign_count, registration.aaguid, registration.attestation), (23, [0; 16], Attestation::None));
    // The COSE key py_webauthn reads out of it: pQECAyYgASFYIEhW1CRfuNlIN6XTPKw0RbvzeaIlRMrDwwep-uq_-3WQIlgg1FZwd_...
    assert_eq!(registration.key.alg(), Alg::Es256);
    assert_eq!(registration.key.member("x").map(hex::encode).as_deref(), Some("4856d4245fb8d94837a5d33cac3445bbf379a22544cac3c307a9faeabffb7590"));
    assert!(registration.flags.user_present && registration.flags.user_verified && !registration.flags.backup_eligible);
}

#[test]
fn py_webauthns_packed_yubikey_registrations_verify_with_their_certificates() {
    let es256 = py_register(
        "syGQPDZRUYdb4m3rdWeyPaIMYlbmydGp1TP_33vE_lqJ3PHNyTd0iKsnKr5WjnCcBzcesZrDEfB_RBLFzU3k4w",
        "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoiOExCQ2lPWTNxMWNCWkhGQVd0UzRBWlpDaHpHcGh5NjdsSzdJNzB6S2k0eUM3cGdyUTJQY2g3bkFqTGsxd3E5Z3Jlc2hJQXNXMkFqaWJoWGpqSTBUbVEiLCJvcmlnaW4iOiJodHRwOi8vbG9jYWxob3N0OjUwMDAiLCJjcm9zc09yaWdpbiI6ZmFsc2V9",
        "o2NmbXRmcGFja2VkZ2F0dFN0bXSjY2FsZyZjc2lnWEcwRQIhAOfrFlQpbavT6dJeTDJSCDzYSYPjBDHli2-syT2c1IiKAiAx5gQ2z5cHjdQX-jEHTb7JcjfQoVSW8fXszF5ihSgeOGN4NWOBWQLBMIICvTCCAaWgAwIBAgIEKudiYzANBgkqhkiG9w0BAQsFADAuMSwwKgYDVQQDEyNZdWJpY28gVTJGIFJvb3QgQ0EgU2VyaWFsIDQ1NzIwMDYzMTAgFw0xNDA4MDEwMDAwMDBaGA8yMDUwMDkwNDAwMDAwMFowbjELMAkGA1UEBhMCU0UxEjAQBgNVBAoMCVl1YmljbyBBQjEiMCAGA1UECwwZQXV0aGVudGljYXRvciBBdHRlc3RhdGlvbjEnMCUGA1UEAwweWXViaWNvIFUyRiBFRSBTZXJpYWwgNzE5ODA3MDc1MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEKgOGXmBD2Z4R_xCqJVRXhL8Jr45rHjsyFykhb1USGozZENOZ3cdovf5Ke8fj2rxi5tJGn_VnW4_6iQzKdIaeP6NsMGowIgYJKwYBBAGCxAoCBBUxLjMuNi4xLjQuMS40MTQ4Mi4xLjEwEwYLKwYBBAGC5RwCAQEEBAMCBDAwIQYLKwYBBAGC5RwBAQQEEgQQbUS6m_bsLkm5MAyP6SDLczAMBgNVHRMBAf8EAjAAMA0GCSqGSIb3DQEBCwUAA4IBAQByV9A83MPhFWmEkNb4DvlbUwcjc9nmRzJjKxHc3HeK7GvVkm0H4XucVDB4jeMvTke0WHb_jFUiApvpOHh5VyMx5ydwFoKKcRs5x0_WwSWL0eTZ5WbVcHkDR9pSNcA_D_5AsUKOBcbpF5nkdVRxaQHuuIuwV4k1iK2IqtMNcU8vL6w21U261xCcWwJ6sMq4zzVO8QCKCQhsoIaWrwz828GDmPzfAjFsJiLJXuYivdHACkeJ5KHMt0mjVLpfJ2BCML7_rgbmvwL7wBW80VHfNdcKmKjkLcpEiPzwcQQhiN_qHV90t-p4iyr5xRSpurlP5zic2hlRkLKxMH2_kRjhqSn4aGF1dGhEYXRhWMRJlg3liA6MaHQ0Fw9kdmBbj-SuuaKGMseZXPO6gx2XY0UAAAA0bUS6m_bsLkm5MAyP6SDLcwBAsyGQPDZRUYdb4m3rdWeyPaIMYlbmydGp1TP_33vE_lqJ3PHNyTd0iKsnKr5WjnCcBzcesZrDEfB_RBLFzU3k46UBAgMmIAEhWCBAX_i3O3DvBnkGq_uLNk_PeAX5WwO_MIxBp0mhX6Lw7yJYIOW-1-Fch829McWvRUYAHTWZTx5IycKSGECL1UzUaK_8",
        "8LBCiOY3q1cBZHFAWtS4AZZChzGphy67lK7I70zKi4yC7pgrQ2Pch7nAjLk1wq9greshIAsW2AjibhXjjI0TmQ",
    )
    .unwrap();
    assert!(matches!(&es256.attestation, Attestation::Certified { certificates } if certificates.len() == 1 && certificates[0].len() == 705));
    assert_eq!((hex::encode(es256.aaguid), es256.sign_count, es256.key.alg()), ("6d44ba9bf6ec2e49b9300c8fe920cb73".into(), 52, Alg::Es256));

    let ed25519 = py_register(
        "WlHiMqH6UhUs-d43z-aGlE3nsXuEOQpa9P9pwpqb4tmvtBMBfGvAV2wUrqBCDENjkkxd6kIRzZQKcluyOFlyW_vXVZSAEgod1xj-1QmFpuwyBVnlkQGefRbmUjbEt5iE4q3tdjy65EWIekO0SNjCQx3LxIJMzi25fgUkI9Y-gg0",
        "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoiN0pVQmpXWkZkRm96dWx4YjcxRHZIa2gzUDZXS1VHNEVsVW83d0VrS2ljMkpFVEpNQUlLQ2Y3ckJFOVlrc0k1b05qRHpRNkhxaDZFNzNPeTZTUGNNbnciLCJvcmlnaW4iOiJodHRwOi8vbG9jYWxob3N0OjUwMDAiLCJjcm9zc09yaWdpbiI6ZmFsc2V9",
        "o2NmbXRmcGFja2VkZ2F0dFN0bXSjY2FsZyZjc2lnWEcwRQIgB3c0BvOsyJut14wj4XVWxXliicWZMZLDNF621Zz7h_8CIQCIOqRyWOazVhqlBrD-HL-83KWAvGZRgvW-4A9SE8BLFWN4NWOBWQLBMIICvTCCAaWgAwIBAgIEK_F8eDANBgkqhkiG9w0BAQsFADAuMSwwKgYDVQQDEyNZdWJpY28gVTJGIFJvb3QgQ0EgU2VyaWFsIDQ1NzIwMDYzMTAgFw0xNDA4MDEwMDAwMDBaGA8yMDUwMDkwNDAwMDAwMFowbjELMAkGA1UEBhMCU0UxEjAQBgNVBAoMCVl1YmljbyBBQjEiMCAGA1UECwwZQXV0aGVudGljYXRvciBBdHRlc3RhdGlvbjEnMCUGA1UEAwweWXViaWNvIFUyRiBFRSBTZXJpYWwgNzM3MjQ2MzI4MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEdMLHhCPIcS6bSPJZWGb8cECuTN8H13fVha8Ek5nt-pI8vrSflxb59Vp4bDQlH8jzXj3oW1ZwUDjHC6EnGWB5i6NsMGowIgYJKwYBBAGCxAoCBBUxLjMuNi4xLjQuMS40MTQ4Mi4xLjcwEwYLKwYBBAGC5RwCAQEEBAMCAiQwIQYLKwYBBAGC5RwBAQQEEgQQxe9V_62aS5-1gK3rr-Am0DAMBgNVHRMBAf8EAjAAMA0GCSqGSIb3DQEBCwUAA4IBAQCLbpN2nXhNbunZANJxAn_Cd-S4JuZsObnUiLnLLS0FPWa01TY8F7oJ8bE-aFa4kTe6NQQfi8-yiZrQ8N-JL4f7gNdQPSrH-r3iFd4SvroDe1jaJO4J9LeiFjmRdcVa-5cqNF4G1fPCofvw9W4lKnObuPakr0x_icdVq1MXhYdUtQk6Zr5mBnc4FhN9qi7DXqLHD5G7ZFUmGwfIcD2-0m1f1mwQS8yRD5-_aDCf3vutwddoi3crtivzyromwbKklR4qHunJ75LGZLZA8pJ_mXnUQ6TTsgRqPvPXgQPbSyGMf2z_DIPbQqCD_Bmc4dj9o6LozheBdDtcZCAjSPTAd_uiaGF1dGhEYXRhWOFJlg3liA6MaHQ0Fw9kdmBbj-SuuaKGMseZXPO6gx2XY0EAAAACxe9V_62aS5-1gK3rr-Am0ACAWlHiMqH6UhUs-d43z-aGlE3nsXuEOQpa9P9pwpqb4tmvtBMBfGvAV2wUrqBCDENjkkxd6kIRzZQKcluyOFlyW_vXVZSAEgod1xj-1QmFpuwyBVnlkQGefRbmUjbEt5iE4q3tdjy65EWIekO0SNjCQx3LxIJMzi25fgUkI9Y-gg2kAQEDJyAGIVggnB_oUZDQU0esRlNPmjEO96aMDTgs34D8Dv31tAwhUZo",
        "7JUBjWZFdFozulxb71DvHkh3P6WKUG4ElUo7wEkKic2JETJMAIKCf7rBE9YksI5oNjDzQ6Hqh6E73Oy6SPcMnw",
    )
    .unwrap();
    assert_eq!((ed25519.key.alg(), ed25519.sign_count, ed25519.flags.user_verified), (Alg::EdDsa, 2, false));
    assert!(matches!(ed25519.attestation, Attestation::Certified { .. }));
}

/// One of py_webauthn's assertions: the response's members, the credential's COSE key and
/// stored counter, and what the relying party asked (challenge, origins, UV required).
struct PyAssertion<'a> {
    id: &'a str,
    auth_data: &'a str,
    client_data: &'a str,
    signature: &'a str,
    user_handle: Option<&'a str>,
    cose: &'a str,
    stored_count: u32,
    challenge: &'a str,
    origins: &'a [&'a str],
    user_verification: bool,
}

impl PyAssertion<'_> {
    fn verify(&self) -> Result<Assertion, WebauthnError> {
        let response = AuthenticationResponse {
            id: self.id.into(),
            raw_id: self.id.into(),
            kind: "public-key".into(),
            response: AssertionResponse {
                client_data_json: self.client_data.into(),
                authenticator_data: self.auth_data.into(),
                signature: self.signature.into(),
                user_handle: self.user_handle.map(str::to_string),
            },
        };
        let key = key_from_cose(&from_b64url(self.cose).unwrap()).unwrap();
        let raw_id = from_b64url(self.id).unwrap();
        let handle = self.user_handle.and_then(from_b64url).unwrap_or_default();
        let credential = StoredCredential { id: &raw_id, key: &key, sign_count: self.stored_count, backup_eligible: false, user_handle: &handle };
        let challenge = from_b64url(self.challenge).unwrap();
        let origins: Vec<String> = self.origins.iter().map(|o| o.to_string()).collect();
        pollster::block_on(verify_authentication(&RustCryptoSignatures, &py_expected(&challenge, &origins, self.user_verification), &credential, &response))
    }
}

const PY_RSA_KEY: &str = "pAEDAzkBACBZAQDfV20epzvQP-HtcdDpX-cGzdOxy73WQEvsU7Dnr9UWJophEfpngouvgnRLXaEUn_d8HGkp_HIx8rrpkx4BVs6X_B6ZjhLlezjIdJbLbVeb92BaEsmNn1HW2N9Xj2QM8cH-yx28_vCjf82ahQ9gyAr552Bn96G22n8jqFRQKdVpO-f-bvpvaP3IQ9F5LCX7CUaxptgbog1SFO6FI6ob5SlVVB00lVXsaYg8cIDZxCkkENkGiFPgwEaZ7995SCbiyCpUJbMqToLMgojPkAhWeyktu7TlK6UBWdJMHc3FPAIs0lH_2_2hKS-mGI1uZAFVAfW1X-mzKL0czUm2P1UlUox7IUMBAAE";

#[test]
fn py_webauthns_assertions_verify_with_each_algorithm() {
    let ec2 = PyAssertion {
        id: "EDx9FfAbp4obx6oll2oC4-CZuDidRVV4gZhxC529ytlnqHyqCStDUwfNdm1SNHAe3X5KvueWQdAX3x9R1a2b9Q",
        auth_data: "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MBAAAATg",
        client_data: "eyJjaGFsbGVuZ2UiOiJ4aTMwR1BHQUZZUnhWRHBZMXNNMTBEYUx6VlFHNjZudi1fN1JVYXpIMHZJMll2RzhMWWdERW52TjVmWlpOVnV2RUR1TWk5dGUzVkxxYjQyTjBma0xHQSIsImNsaWVudEV4dGVuc2lvbnMiOnt9LCJoYXNoQWxnb3JpdGhtIjoiU0hBLTI1NiIsIm9yaWdpbiI6Imh0dHA6Ly9sb2NhbGhvc3Q6NTAwMCIsInR5cGUiOiJ3ZWJhdXRobi5nZXQifQ",
        signature: "MEUCIGisVZOBapCWbnJJvjelIzwpixxIwkjCCb5aCHafQu68AiEA88v-2pJNNApPFwAKFiNuf82-2hBxYW5kGwVweeoxCwo",
        user_handle: None,
        cose: "pQECAyYgASFYIIeDTe-gN8A-zQclHoRnGFWN8ehM1b7yAsa8I8KIvmplIlgg4nFGT5px8o6gpPZZhO01wdy9crDSA_Ngtkx0vGpvPHI",
        stored_count: 77,
        challenge: "xi30GPGAFYRxVDpY1sM10DaLzVQG66nv-_7RUazH0vI2YvG8LYgDEnvN5fZZNVuvEDuMi9te3VLqb42N0fkLGA",
        origins: &[PY_ORIGIN],
        user_verification: false,
    }
    .verify();
    assert_eq!(ec2.map(|a| a.sign_count), Ok(78));

    let rsa = PyAssertion {
        id: "ZoIKP1JQvKdrYj1bTUPJ2eTUsbLeFkv-X5xJQNr4k6s",
        auth_data: "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ",
        client_data: "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiaVBtQWkxUHAxWEw2b0FncTNQV1p0WlBuWmExekZVRG9HYmFRMF9LdlZHMWxGMnMzUnRfM280dVN6Y2N5MHRtY1RJcFRUVDRCVTFULUk0bWFhdm5kalEiLCJvcmlnaW4iOiJodHRwOi8vbG9jYWxob3N0OjUwMDAiLCJjcm9zc09yaWdpbiI6ZmFsc2V9",
        signature: "iOHKX3erU5_OYP_r_9HLZ-CexCE4bQRrxM8WmuoKTDdhAnZSeTP0sjECjvjfeS8MJzN1ArmvV0H0C3yy_FdRFfcpUPZzdZ7bBcmPh1XPdxRwY747OrIzcTLTFQUPdn1U-izCZtP_78VGw9pCpdMsv4CUzZdJbEcRtQuRS03qUjqDaovoJhOqEBmxJn9Wu8tBi_Qx7A33RbYjlfyLm_EDqimzDZhyietyop6XUcpKarKqVH0M6mMrM5zTjp8xf3W7odFCadXEJg-ERZqFM0-9Uup6kJNLbr6C5J4NDYmSm3HCSA6lp2iEiMPKU8Ii7QZ61kybXLxsX4w4Dm3fOLjmDw",
        user_handle: Some("T1RWa1l6VXdPRFV0WW1NNVlTMDBOVEkxTFRnd056Z3RabVZpWVdZNFpEVm1ZMk5p"),
        cose: PY_RSA_KEY,
        stored_count: 0,
        challenge: "iPmAi1Pp1XL6oAgq3PWZtZPnZa1zFUDoGbaQ0_KvVG1lF2s3Rt_3o4uSzccy0tmcTIpTTT4BU1T-I4maavndjQ",
        origins: &[PY_ORIGIN],
        user_verification: true,
    }
    .verify();
    assert_eq!(rsa.map(|a| (a.sign_count, a.flags.user_verified)), Ok((1, true)));

    let okp = PyAssertion {
        id: "fq9Nj0nS24B5y6Pkw_h3-9GEAEA3-0LBPxE2zvTdLjDqtSeCSNYFe9VMRueSpAZxT3YDc6L1lWXdQNwI-sVNYrefEcRR1Nsb_0jpHE955WEtFud2xxZg3MvoLMxHLet63i5tajd1fHtP7I-00D6cehM8ZWlLp2T3s9lfZgVIFcA",
        auth_data: "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MBAAAABw",
        client_data: "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiZVo0ZWVBM080ank1Rkl6cURhU0o2SkROR3UwYkJjNXpJMURqUV9rTHNvMVdOcWtHNms1bUNZZjFkdFFoVlVpQldaV2xaa3pSNU1GZWVXQ3BKUlVOWHciLCJvcmlnaW4iOiJodHRwOi8vbG9jYWxob3N0OjUwMDAiLCJjcm9zc09yaWdpbiI6ZmFsc2V9",
        signature: "RRWV8mYDRvK7YdQgdtZD4pJ2dh1D_IWZ_D6jsZo6FHJBoenbj0CVT5nA20vUzlRhN4R6dOEUHmUwP1F8eRBhBg",
        user_handle: None,
        cose: "pAEBAycgBiFYIMz6_SUFLiDid2Yhlq0YboyJ-CDrIrNpkPUGmJp4D3Dp",
        stored_count: 3,
        challenge: "eZ4eeA3O4jy5FIzqDaSJ6JDNGu0bBc5zI1DjQ_kLso1WNqkG6k5mCYf1dtQhVUiBWZWlZkzR5MFeeWCpJRUNXw",
        origins: &[PY_ORIGIN],
        user_verification: false,
    }
    .verify();
    assert_eq!(okp.map(|a| a.sign_count), Ok(7));

    let second_origin = PyAssertion {
        id: "AXmOjWWZH67pgl5_gAbKVBqoL2dyHHGEWZLspIsCwULG0hZ3HyuGgvkaRcSOLq9W72XtegcvFYXIdlafrilbtVnx2Q14gNbfSQQP2sgNEAif4MjHtGpeVB0BfFawCs85Y3XY_j4sxthVnyTY_Q",
        auth_data: "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFYN-Mog",
        client_data: "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiNnpyU1JYOEN4d1BTWEVBclh5WEwydHBiNnJCN1N0YXIwckxWSWo1cnZmNzRtWktGNWlyNzE1WG1nejV0QV9HeUhleE40b1hmclE4ODlBclZDTGFSZEEiLCJvcmlnaW4iOiJodHRwOi8vbG9jYWxob3N0OjUwMDAiLCJjcm9zc09yaWdpbiI6ZmFsc2V9",
        signature: "MEUCIQDBqeI274exaKWGQz37g7yo1--TVcZSCcYVftZ1AnEJkQIgNw-nlx-_U9rVfFfER8oX6BlYZTuPFyGaL_wCDY23s0E",
        user_handle: Some("TldNMFlqYzNOVFF0WW1NNE5DMDBaakprTFRrME9EVXROR05rTnpreVkyTTROVEUz"),
        cose: "pQECAyYgASFYIFm1Py-FzzFOuwXbRbTr95SiDxuB1BkZsEEJxFhquzqkIlggL1U1T713Jo_2muzhXvpbwRNdoAs8CYK6PflvY1MBdCI",
        stored_count: 1_625_263_263,
        challenge: "6zrSRX8CxwPSXEArXyXL2tpb6rB7Star0rLVIj5rvf74mZKF5ir715Xmgz5tA_GyHexN4oXfrQ889ArVCLaRdA",
        origins: &["https://foo.bar", PY_ORIGIN],
        user_verification: false,
    }
    .verify();
    assert_eq!(second_origin.map(|a| a.sign_count), Ok(1_625_263_266));
}

/// py_webauthn's own refusals come out the same here: a signature by another key than the
/// stored one, and UV required of an assertion without it.
#[test]
fn py_webauthns_refused_assertions_are_refused() {
    let other_key = PyAssertion {
        id: "FviUBZA3FGMxEm3A1K2T8MhuEBLp4qQsV9ScAKYrpdw2kbGnqx24tF4ev6PEHEYC3g8z6HMJh7dYHe3Uuq7_8Q",
        auth_data: "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAJA",
        client_data: "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoienNmaU1aajE2VFVWQ3JUNXREUllYZFlsVXJKcDd6bl9VTmQ1Tm1Cb2NQYzRJMmRLWmJlRVdwd0JBd0E0czZvSGtWWDZfbHlfamdwNzQzZHlpV0hZWXciLCJvcmlnaW4iOiJodHRwOi8vbG9jYWxob3N0OjUwMDAiLCJjcm9zc09yaWdpbiI6ZmFsc2V9",
        signature: "MEQCIBX9B1LaLaQ0LYJsRv7cOyMS-Do1rJfFJoF9oO1tHMA4AiBRKdNneMKPlN53i8uoTZ5y9Gj4ORZySmiercS38655_g",
        user_handle: None,
        cose: PY_RSA_KEY,
        stored_count: 35,
        challenge: "zsfiMZj16TUVCrT5tDRYXdYlUrJp7zn_UNd5NmBocPc4I2dKZbeEWpwBAwA4s6oHkVX6_ly_jgp743dyiWHYYw",
        origins: &[PY_ORIGIN],
        user_verification: true,
    }
    .verify();
    assert_eq!(other_key, Err(WebauthnError::BadSignature));

    let unverified = PyAssertion {
        id: "4-5MZF69j3n2B6Z99dUN0fNrAQmrjELJIebWVw8aKfw1EQKg28Tx40R_kw-1pcrfSgJFKm3mCtAtBgSRWgDMng",
        auth_data: "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MBAAAAIQ",
        client_data: "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoidW1HZW1YSklQQlhQeGtEOEhqYW51djlCRG9yOFo3TzNhUGR0T2dNQ2RXNFBBZnFEWDQzRUZsaHJzRjBQVzkwZGY1enJnYnQ3WVZNUkFhMjd0Q2RIenciLCJvcmlnaW4iOiJodHRwOi8vbG9jYWxob3N0OjUwMDAiLCJjcm9zc09yaWdpbiI6ZmFsc2V9",
        signature: "MEUCIGp5ADnU_SFvT4J_bKvQJ4Pc1GmANhbYq5GioOLjyUrxAiEA6Kk5qAZb8MLY-jyTiJLr_R9Fke02UHkxsRB0dnZt2X8",
        user_handle: None,
        cose: "pQECAyYgASFYIOQ5TKpXJR2cV76Wgfge9BkLkEhLxVjhFjM1jKHYOcqpIlggaiNy1blt3OU8Hsmg041HUYP7eajgL7fk3nSuTEjYCwU",
        stored_count: 32,
        challenge: "umGemXJIPBXPxkD8Hjanuv9BDor8Z7O3aPdtOgMCdW4PAfqDX43EFlhrsF0PW90df5zrgbt7YVMRAa27tCdHzw",
        origins: &[PY_ORIGIN],
        user_verification: true,
    }
    .verify();
    assert_eq!(unverified, Err(WebauthnError::UserNotVerified));
}
