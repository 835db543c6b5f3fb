//! A software authenticator for the WebAuthn tests: it writes authenticator data, attestation
//! objects (CBOR), client data and packed attestation certificates (DER) as real authenticators
//! and browsers do, and signs with RustCrypto through the signature port, DER-encoding ES256
//! signatures as authenticators send them. Every field a test attacks is a public knob.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use portcullis_shared::signature::{b64url, Alg, Key, Signatures as _};
use portcullis_shared::testing::RustCryptoSignatures;
use portcullis_shared::webauthn::{AssertionResponse, AttestationResponse, AuthenticationResponse, Expected, RegistrationResponse};
use serde_json::json;
use sha2::{Digest, Sha256};

/// A registration as the browser's `PublicKeyCredential.toJSON()` gives it: what clients send.
pub fn registration(c: &Creation) -> serde_json::Value {
    serde_json::to_value(pollster::block_on(c.response())).unwrap()
}

/// An assertion as the browser's `PublicKeyCredential.toJSON()` gives it.
pub fn assertion(g: &Getting) -> serde_json::Value {
    serde_json::to_value(pollster::block_on(g.response())).unwrap()
}

pub const RP_ID: &str = "example.com";
pub const ORIGIN: &str = "https://example.com";
pub const CHALLENGE: &[u8] = b"a fresh challenge of 32 bytes!!!";

/// The origins the relying party allows.
pub fn origins() -> Vec<String> {
    vec!["https://app.example.com".into(), ORIGIN.into()]
}

/// What the relying party expects, over `origins`.
pub fn expected(origins: &[String], user_verification: bool) -> Expected<'_> {
    Expected { challenge: CHALLENGE, origins, rp_id: RP_ID, user_verification }
}

// The keys of the signature contract (RFC 7515 appendix A, RFC 8037 appendix A).
pub fn es256() -> Key {
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"});
    Key::from_jwk(Alg::Es256, &jwk).unwrap()
}

pub fn es256_other() -> Key {
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": "8Exyro4ioyD02_o2Fnt4VSrUShP2G6UoNcPqM6WqzDA", "y": "FYskva6b3JC66rKJQou3ymFtquwSVusAeyDWmbFExv4", "d": "Rm6Vrszm8D5oNEpdsLQnnTyXtZ52p51RVnsSdc80YAw"});
    Key::from_jwk(Alg::Es256, &jwk).unwrap()
}

pub fn ed25519() -> Key {
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
    Key::from_jwk(Alg::EdDsa, &jwk).unwrap()
}

pub fn rs256() -> Key {
    let jwk = json!({
        "kty": "RSA",
        "n": "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
        "e": "AQAB",
        "d": "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",
        "p": "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
        "q": "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",
        "dp": "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",
        "dq": "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",
        "qi": "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"
    });
    Key::from_jwk(Alg::Rs256, &jwk).unwrap()
}

/// A CBOR item to encode.
#[derive(Debug, Clone)]
pub enum Cbor {
    Int(i64),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Cbor>),
    Map(Vec<(Cbor, Cbor)>),
    Bool(bool),
    /// Bytes written as they are.
    Raw(Vec<u8>),
}

pub fn text(s: &str) -> Cbor {
    Cbor::Text(s.into())
}

/// A CBOR head in its shortest form.
pub fn head(major: u8, n: u64) -> Vec<u8> {
    let m = major << 5;
    match n {
        0..=23 => vec![m | n as u8],
        24..=0xff => vec![m | 24, n as u8],
        0x100..=0xffff => [&[m | 25][..], &(n as u16).to_be_bytes()].concat(),
        0x1_0000..=0xffff_ffff => [&[m | 26][..], &(n as u32).to_be_bytes()].concat(),
        _ => [&[m | 27][..], &n.to_be_bytes()].concat(),
    }
}

impl Cbor {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Cbor::Int(i) if *i >= 0 => head(0, *i as u64),
            Cbor::Int(i) => head(1, (-1 - *i) as u64),
            Cbor::Bytes(b) => [head(2, b.len() as u64), b.clone()].concat(),
            Cbor::Text(t) => [head(3, t.len() as u64), t.as_bytes().to_vec()].concat(),
            Cbor::Array(items) => [head(4, items.len() as u64), items.iter().flat_map(Cbor::encode).collect()].concat(),
            Cbor::Map(entries) => [head(5, entries.len() as u64), entries.iter().flat_map(|(k, v)| [k.encode(), v.encode()].concat()).collect()].concat(),
            Cbor::Bool(b) => vec![if *b { 0xf5 } else { 0xf4 }],
            Cbor::Raw(bytes) => bytes.clone(),
        }
    }
}

/// The COSE_Key of `key`'s public part.
pub fn cose_key(key: &Key) -> Cbor {
    let m = |name: &str| Cbor::Bytes(key.member(name).unwrap());
    let int = |label: i64, v: Cbor| (Cbor::Int(label), v);
    Cbor::Map(match key.alg() {
        Alg::Es256 => vec![int(1, Cbor::Int(2)), int(3, Cbor::Int(-7)), int(-1, Cbor::Int(1)), int(-2, m("x")), int(-3, m("y"))],
        Alg::Rs256 => vec![int(1, Cbor::Int(3)), int(3, Cbor::Int(-257)), int(-1, m("n")), int(-2, m("e"))],
        Alg::EdDsa => vec![int(1, Cbor::Int(1)), int(3, Cbor::Int(-8)), int(-1, Cbor::Int(6)), int(-2, m("x"))],
        Alg::Hs256 => panic!("no HMAC credentials"),
    })
}

/// `key`'s signature over `data`, as an authenticator sends it (DER for ES256).
pub async fn sign(key: &Key, data: &[u8]) -> Vec<u8> {
    let raw = RustCryptoSignatures.sign(key, data).await.unwrap();
    if key.alg() == Alg::Es256 {
        der_signature(&raw[..32], &raw[32..])
    } else {
        raw
    }
}

/// DER of one unsigned integer's big-endian bytes, minimal.
pub fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let digits = &bytes[bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len() - 1)..];
    let pad = if digits[0] & 0x80 != 0 { vec![0] } else { vec![] };
    tlv(0x02, &[pad, digits.to_vec()].concat())
}

/// `SEQUENCE { INTEGER r, INTEGER s }`.
pub fn der_signature(r: &[u8], s: &[u8]) -> Vec<u8> {
    tlv(0x30, &[der_uint(r), der_uint(s)].concat())
}

/// One DER element, its length in the shortest form.
pub fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let n = contents.len();
    let length = match n {
        0..=0x7f => vec![n as u8],
        0x80..=0xff => vec![0x81, n as u8],
        _ => vec![0x82, (n >> 8) as u8, n as u8],
    };
    [vec![tag], length, contents.to_vec()].concat()
}

/// The client data's JSON: `{"type", "challenge", "origin", "crossOrigin": false}` and `extra`.
pub fn client_data(kind: &str, challenge: &[u8], origin: &str, extra: &str) -> Vec<u8> {
    format!(r#"{{"type":"{kind}","challenge":"{}","origin":"{origin}","crossOrigin":false{extra}}}"#, b64url(challenge)).into_bytes()
}

/// The attestation statement a creation carries.
#[derive(Debug, Clone)]
pub enum Statement {
    /// An empty map (format none's).
    Empty,
    /// `{alg, sig}` by the credential key.
    SelfSigned,
    /// `{alg, sig, x5c: [certificate]}` by `key`, the certificate's.
    Certified { key: Key, certificate: Vec<u8> },
    /// This statement as it is.
    Raw(Cbor),
}

/// A `navigator.credentials.create()` as an authenticator and browser answer it; every field
/// a knob.
#[derive(Debug, Clone)]
pub struct Creation {
    pub key: Key,
    pub credential_id: Vec<u8>,
    pub raw_id: Option<Vec<u8>>,
    pub kind: String,
    pub aaguid: [u8; 16],
    pub client_type: String,
    pub challenge: Vec<u8>,
    pub origin: String,
    pub client_extra: String,
    pub rp_id: String,
    pub flags: u8,
    pub count: u32,
    /// The COSE key's bytes instead of `key`'s.
    pub cose: Option<Vec<u8>>,
    /// Extension outputs' bytes, after the credential (set ED yourself).
    pub extensions: Option<Vec<u8>>,
    pub fmt: String,
    pub statement: Statement,
    pub transports: Option<Vec<String>>,
}

impl Creation {
    /// A `none` attestation of a new credential of `key`, user present and verified.
    pub fn new(key: Key) -> Creation {
        Creation {
            key,
            credential_id: b"credential-1".to_vec(),
            raw_id: None,
            kind: "public-key".into(),
            aaguid: [0x11; 16],
            client_type: "webauthn.create".into(),
            challenge: CHALLENGE.to_vec(),
            origin: ORIGIN.into(),
            client_extra: String::new(),
            rp_id: RP_ID.into(),
            flags: 0x45,
            count: 0,
            cose: None,
            extensions: None,
            fmt: "none".into(),
            statement: Statement::Empty,
            transports: Some(vec!["internal".into(), "hybrid".into()]),
        }
    }

    pub fn packed(key: Key, statement: Statement) -> Creation {
        Creation { fmt: "packed".into(), statement, ..Creation::new(key) }
    }

    pub fn auth_data(&self) -> Vec<u8> {
        let cose = self.cose.clone().unwrap_or_else(|| cose_key(&self.key).encode());
        let id_len = (self.credential_id.len() as u16).to_be_bytes();
        let rp_hash = Sha256::digest(self.rp_id.as_bytes());
        [&rp_hash[..], &[self.flags], &self.count.to_be_bytes(), &self.aaguid, &id_len, &self.credential_id, &cose, self.extensions.as_deref().unwrap_or_default()].concat()
    }

    pub fn client_data(&self) -> Vec<u8> {
        client_data(&self.client_type, &self.challenge, &self.origin, &self.client_extra)
    }

    /// The attestation object's CBOR.
    pub async fn attestation_object(&self) -> Vec<u8> {
        let auth_data = self.auth_data();
        let signed = [auth_data.clone(), Sha256::digest(self.client_data()).to_vec()].concat();
        let cose_alg = |key: &Key| Cbor::Int(match key.alg() {
            Alg::Es256 => -7,
            Alg::Rs256 => -257,
            Alg::EdDsa => -8,
            Alg::Hs256 => 5,
        });
        let statement = match &self.statement {
            Statement::Empty => Cbor::Map(vec![]),
            Statement::SelfSigned => Cbor::Map(vec![(text("alg"), cose_alg(&self.key)), (text("sig"), Cbor::Bytes(sign(&self.key, &signed).await))]),
            Statement::Certified { key, certificate } => Cbor::Map(vec![
                (text("alg"), cose_alg(key)),
                (text("sig"), Cbor::Bytes(sign(key, &signed).await)),
                (text("x5c"), Cbor::Array(vec![Cbor::Bytes(certificate.clone())])),
            ]),
            Statement::Raw(statement) => statement.clone(),
        };
        Cbor::Map(vec![(text("fmt"), text(&self.fmt)), (text("attStmt"), statement), (text("authData"), Cbor::Bytes(auth_data))]).encode()
    }

    /// The response JSON of this creation, with the attestation object `object`.
    pub fn response_with(&self, object: &[u8]) -> RegistrationResponse {
        let raw_id = self.raw_id.clone().unwrap_or_else(|| self.credential_id.clone());
        RegistrationResponse {
            id: b64url(&raw_id),
            raw_id: b64url(&raw_id),
            kind: self.kind.clone(),
            response: AttestationResponse {
                client_data_json: b64url(&self.client_data()),
                attestation_object: b64url(object),
                transports: self.transports.clone(),
            },
        }
    }

    pub async fn response(&self) -> RegistrationResponse {
        self.response_with(&self.attestation_object().await)
    }
}

/// A `navigator.credentials.get()` as an authenticator and browser answer it.
#[derive(Debug, Clone)]
pub struct Getting {
    pub key: Key,
    pub credential_id: Vec<u8>,
    pub kind: String,
    pub client_type: String,
    pub challenge: Vec<u8>,
    pub origin: String,
    pub client_extra: String,
    pub rp_id: String,
    pub flags: u8,
    pub count: u32,
    pub user_handle: Option<Vec<u8>>,
    /// What the authenticator signs instead of `authData || SHA-256(clientDataJSON)`.
    pub signed: Option<Vec<u8>>,
}

impl Getting {
    /// An assertion of `key`'s credential, user present and verified, count 8.
    pub fn new(key: Key) -> Getting {
        Getting {
            key,
            credential_id: b"credential-1".to_vec(),
            kind: "public-key".into(),
            client_type: "webauthn.get".into(),
            challenge: CHALLENGE.to_vec(),
            origin: ORIGIN.into(),
            client_extra: String::new(),
            rp_id: RP_ID.into(),
            flags: 0x05,
            count: 8,
            user_handle: Some(b"user-1".to_vec()),
            signed: None,
        }
    }

    pub fn auth_data(&self) -> Vec<u8> {
        [&Sha256::digest(self.rp_id.as_bytes())[..], &[self.flags], &self.count.to_be_bytes()].concat()
    }

    pub fn client_data(&self) -> Vec<u8> {
        client_data(&self.client_type, &self.challenge, &self.origin, &self.client_extra)
    }

    /// The response with this authenticator data and the signature the authenticator makes.
    pub async fn response_with(&self, auth_data: &[u8]) -> AuthenticationResponse {
        let client_data = self.client_data();
        let signed = self.signed.clone().unwrap_or_else(|| [auth_data.to_vec(), Sha256::digest(&client_data).to_vec()].concat());
        let signature = sign(&self.key, &signed).await;
        AuthenticationResponse {
            id: b64url(&self.credential_id),
            raw_id: b64url(&self.credential_id),
            kind: self.kind.clone(),
            response: AssertionResponse {
                client_data_json: b64url(&client_data),
                authenticator_data: b64url(auth_data),
                signature: b64url(&signature),
                user_handle: self.user_handle.as_deref().map(b64url),
            },
        }
    }

    pub async fn response(&self) -> AuthenticationResponse {
        self.response_with(&self.auth_data()).await
    }
}

/// What a packed attestation certificate is made of; each a knob.
#[derive(Debug, Clone)]
pub struct Certificate {
    pub version: u8,
    pub unit: String,
    pub country: bool,
    pub ca: bool,
    /// The FIDO AAGUID extension: the AAGUID, and whether it is marked critical.
    pub aaguid: Option<([u8; 16], bool)>,
}

impl Default for Certificate {
    fn default() -> Certificate {
        Certificate { version: 2, unit: "Authenticator Attestation".into(), country: true, ca: false, aaguid: Some(([0x11; 16], false)) }
    }
}

const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

fn name(parts: &[(&[u8], &str)]) -> Vec<u8> {
    let sets: Vec<u8> = parts.iter().flat_map(|(oid, value)| tlv(0x31, &tlv(0x30, &[tlv(0x06, oid), tlv(0x0c, value.as_bytes())].concat()))).collect();
    tlv(0x30, &sets)
}

fn spki(key: &Key) -> Vec<u8> {
    match key.alg() {
        Alg::Es256 => {
            let algorithm = tlv(0x30, &[tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]), tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07])].concat());
            let point = [vec![0, 4], key.member("x").unwrap(), key.member("y").unwrap()].concat();
            tlv(0x30, &[algorithm, tlv(0x03, &point)].concat())
        }
        Alg::Rs256 => {
            let algorithm = tlv(0x30, &[tlv(0x06, &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]), vec![0x05, 0x00]].concat());
            let numbers = tlv(0x30, &[der_uint(&key.member("n").unwrap()), der_uint(&key.member("e").unwrap())].concat());
            tlv(0x30, &[algorithm, tlv(0x03, &[vec![0], numbers].concat())].concat())
        }
        Alg::EdDsa => {
            let algorithm = tlv(0x30, &tlv(0x06, &[0x2b, 0x65, 0x70]));
            tlv(0x30, &[algorithm, tlv(0x03, &[vec![0], key.member("x").unwrap()].concat())].concat())
        }
        Alg::Hs256 => panic!("no HMAC certificates"),
    }
}

impl Certificate {
    /// The DER certificate of `subject`'s public key, signed by `issuer`.
    pub async fn issue(&self, subject: &Key, issuer: &Key) -> Vec<u8> {
        let mut subject_name = vec![(&[0x55, 0x04, 0x0a][..], "Portcullis Tests"), (&[0x55, 0x04, 0x0b][..], self.unit.as_str()), (&[0x55, 0x04, 0x03][..], "Test Authenticator")];
        if self.country {
            subject_name.insert(0, (&[0x55, 0x04, 0x06][..], "SE"));
        }
        let constraints = tlv(0x30, &[tlv(0x06, &[0x55, 0x1d, 0x13]), vec![0x01, 0x01, 0xff], tlv(0x04, &tlv(0x30, if self.ca { &[0x01, 0x01, 0xff] } else { &[] }))].concat());
        let mut extensions = vec![constraints];
        if let Some((aaguid, critical)) = self.aaguid {
            let flag = if critical { vec![0x01, 0x01, 0xff] } else { vec![] };
            let oid = [0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xe5, 0x1c, 0x01, 0x01, 0x04];
            extensions.push(tlv(0x30, &[tlv(0x06, &oid), flag, tlv(0x04, &tlv(0x04, &aaguid))].concat()));
        }
        let signature_algorithm = tlv(0x30, &tlv(0x06, OID_ECDSA_SHA256));
        let tbs = tlv(
            0x30,
            &[
                tlv(0xa0, &tlv(0x02, &[self.version])),
                tlv(0x02, &[0x01, 0x02, 0x03]),
                signature_algorithm.clone(),
                name(&[(&[0x55, 0x04, 0x03], "Portcullis Test Root")]),
                tlv(0x30, &[tlv(0x17, b"200101000000Z"), tlv(0x17, b"400101000000Z")].concat()),
                name(&subject_name),
                spki(subject),
                tlv(0xa3, &tlv(0x30, &extensions.concat())),
            ]
            .concat(),
        );
        let signature = sign(issuer, &tbs).await;
        tlv(0x30, &[tbs, signature_algorithm, tlv(0x03, &[vec![0], signature].concat())].concat())
    }
}
