//! Signatures as a port: the keys JWS algorithms sign with, described as JWKs (RFC 7517), and
//! [`Signatures`], which makes and checks signatures with them, as the clock and randomness
//! are ports. The worker's is the runtime's WebCrypto (`crypto.subtle`, native code in
//! workerd); native tests use RustCrypto (`testing::RustCryptoSignatures`). One contract
//! (`testing::contract::signatures`) holds both to the same answers.
//!
//! What belongs here: the algorithms ([`Alg`]), a key's shape checks ([`Key::from_jwk`]: right
//! curve, lengths, RSA sizes, the private members), and the port. What signs what (JWTs, later
//! WebAuthn assertions and identity providers' tokens) is for the modules that use it.

use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The signature algorithms, by their JWS names (RFC 7518, RFC 8037).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    /// HMAC with SHA-256 (`kty: oct`).
    Hs256,
    /// ECDSA on P-256 with SHA-256, signatures as `r || s` (`kty: EC`, `crv: P-256`).
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`kty: RSA`).
    Rs256,
    /// Ed25519 (`kty: OKP`, `crv: Ed25519`).
    EdDsa,
}

impl Alg {
    /// The JWS `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            Alg::Hs256 => "HS256",
            Alg::Es256 => "ES256",
            Alg::Rs256 => "RS256",
            Alg::EdDsa => "EdDSA",
        }
    }

    /// The algorithm a JWS `alg` names, if it is one of ours.
    pub fn from_name(name: &str) -> Option<Alg> {
        [Alg::Hs256, Alg::Es256, Alg::Rs256, Alg::EdDsa].into_iter().find(|a| a.name() == name)
    }

    fn kty(self) -> &'static str {
        match self {
            Alg::Hs256 => "oct",
            Alg::Es256 => "EC",
            Alg::Rs256 => "RSA",
            Alg::EdDsa => "OKP",
        }
    }
}

/// Smallest RSA modulus accepted, in bits (NIST SP 800-131A; RFC 7518 asks at least this).
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits: larger keys only cost time.
pub const MAX_RSA_BITS: usize = 4096;

/// A key for one algorithm, as the members of its JWK that the algorithm uses (and nothing
/// else: no `alg`, `use` or `key_ops` to disagree with the import). A private key holds its
/// public members too. Never printed: `Debug` shows the algorithm only.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    alg: Alg,
    jwk: Map<String, Value>,
    private: bool,
    fingerprint: [u8; 32],
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("alg", &self.alg).field("private", &self.private).finish_non_exhaustive()
    }
}

/// Why a key or signature could not be used; the text names what is wrong and holds no key
/// material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The key is not of the algorithm's shape, or the implementation refused to import it
    /// (a point not on the curve, an RSA key whose parts do not fit together).
    #[error("key refused: {0}")]
    Key(String),
    /// A key without its private part was asked to sign.
    #[error("a public key cannot sign")]
    NotPrivate,
    /// The implementation failed to sign.
    #[error("signing failed: {0}")]
    Sign(String),
}

/// Unpadded URL-safe base64, as JWKs and JWS use.
pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded URL-safe base64.
pub fn from_b64url(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()
}

impl Key {
    /// An HMAC-SHA256 key of these bytes.
    pub fn hmac(secret: &[u8]) -> Key {
        let mut jwk = Map::new();
        jwk.insert("kty".into(), "oct".into());
        jwk.insert("k".into(), b64url(secret).into());
        Key::made(Alg::Hs256, jwk, true)
    }

    /// The key `jwk` describes for `alg`, private if it holds its private members (`d`, or
    /// `k` for HMAC). Checks its shape only; whether an EC point is on its curve or RSA's
    /// parts fit together is for the implementation to find when it imports the key.
    pub fn from_jwk(alg: Alg, jwk: &Value) -> Result<Key, SignatureError> {
        let refuse = |why: &str| SignatureError::Key(format!("not an {} key: {why}", alg.name()));
        let text = |name: &str| jwk.get(name).and_then(Value::as_str);
        if text("kty") != Some(alg.kty()) {
            return Err(refuse(&format!("kty must be {}", alg.kty())));
        }
        let bytes = |name: &str| text(name).and_then(from_b64url);
        let mut out = Map::new();
        out.insert("kty".into(), alg.kty().into());
        let mut keep = |name: &str, len: Option<usize>| -> Result<usize, SignatureError> {
            let b = bytes(name).ok_or_else(|| refuse(&format!("{name} is missing or not base64url")))?;
            if len.is_some_and(|n| b.len() != n) || b.is_empty() {
                return Err(refuse(&format!("{name} has the wrong length")));
            }
            out.insert(name.into(), b64url(&b).into());
            Ok(b.len())
        };
        let private = match alg {
            Alg::Hs256 => {
                keep("k", None)?;
                true
            }
            Alg::Es256 | Alg::EdDsa => {
                let (crv, len) = if alg == Alg::Es256 { ("P-256", 32) } else { ("Ed25519", 32) };
                if text("crv") != Some(crv) {
                    return Err(refuse(&format!("crv must be {crv}")));
                }
                keep("x", Some(len))?;
                if alg == Alg::Es256 {
                    keep("y", Some(len))?;
                }
                let private = jwk.get("d").is_some();
                if private {
                    keep("d", Some(len))?;
                }
                out.insert("crv".into(), crv.into());
                private
            }
            Alg::Rs256 => {
                let n = bytes("n").ok_or_else(|| refuse("n is missing or not base64url"))?;
                let bits = n.iter().position(|b| *b != 0).map_or(0, |i| (n.len() - i) * 8 - n[i].leading_zeros() as usize);
                if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                    return Err(refuse(&format!("the modulus must have {MIN_RSA_BITS} to {MAX_RSA_BITS} bits")));
                }
                keep("n", None)?;
                let e = bytes("e").unwrap_or_default();
                let e_value = (e.len() <= 4).then(|| e.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b)));
                if !e_value.is_some_and(|e| e >= 3 && e % 2 == 1) {
                    return Err(refuse("e must be an odd exponent of at most 32 bits"));
                }
                keep("e", None)?;
                let private = jwk.get("d").is_some();
                if private {
                    for member in ["d", "p", "q", "dp", "dq", "qi"] {
                        keep(member, None)?;
                    }
                }
                private
            }
        };
        Ok(Key::made(alg, out, private))
    }

    fn made(alg: Alg, jwk: Map<String, Value>, private: bool) -> Key {
        let mut hash = Sha256::new();
        hash.update(alg.name());
        hash.update(Value::Object(jwk.clone()).to_string());
        Key { alg, jwk, private, fingerprint: hash.finalize().into() }
    }

    /// The algorithm.
    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// Whether the key can sign (holds its private members; HMAC keys always do).
    pub fn is_private(&self) -> bool {
        self.private
    }

    /// The JWK members, for an implementation to import.
    pub fn jwk(&self) -> &Map<String, Value> {
        &self.jwk
    }

    /// A digest of algorithm and members that tells keys apart, for caching an imported key;
    /// of a secret key it is as secret as the key (it is a hash of it) and never leaves memory.
    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// One member's bytes (`x`, `d`, `n`, …), decoded from base64url.
    pub fn member(&self, name: &str) -> Option<Vec<u8>> {
        self.jwk.get(name).and_then(Value::as_str).and_then(from_b64url)
    }

    /// The public half of an asymmetric key (itself if it has no private part); `None` for
    /// HMAC, whose key is all secret.
    pub fn public(&self) -> Option<Key> {
        if self.alg == Alg::Hs256 {
            return None;
        }
        let keep = ["kty", "crv", "x", "y", "n", "e"];
        let jwk = self.jwk.iter().filter(|(k, _)| keep.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
        Some(Key::made(self.alg, jwk, false))
    }
}

/// Making and checking signatures. `verify` answers `Ok(false)` for any signature that does
/// not check out, malformed ones included (wrong length, out of range), and `Err` only for a
/// key it cannot use.
pub trait Signatures {
    /// The signature of `data` with the private `key` (`r || s` for ES256, as JWS has it).
    async fn sign(&self, key: &Key, data: &[u8]) -> Result<Vec<u8>, SignatureError>;
    /// Whether `signature` is `key`'s over `data` (a private key checks with its public half).
    async fn verify(&self, key: &Key, data: &[u8], signature: &[u8]) -> Result<bool, SignatureError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_are_checked_and_private_members_kept_only_where_given() {
        let ec = json!({"kty": "EC", "crv": "P-256", "x": b64url(&[1; 32]), "y": b64url(&[2; 32]), "use": "sig"});
        let key = Key::from_jwk(Alg::Es256, &ec).unwrap();
        assert!(!key.is_private());
        assert!(key.jwk().get("use").is_none(), "only the members the algorithm uses");
        let mut with_d = ec.clone();
        with_d["d"] = b64url(&[3; 32]).into();
        let private = Key::from_jwk(Alg::Es256, &with_d).unwrap();
        assert!(private.is_private());
        assert_eq!(private.public(), Some(key.clone()));
        assert_ne!(private.fingerprint(), key.fingerprint());
        let refused = |alg, v: Value| Key::from_jwk(alg, &v).unwrap_err().to_string();
        assert!(refused(Alg::Es256, json!({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"})).contains("crv must be P-256"));
        assert!(refused(Alg::Es256, json!({"kty": "EC", "crv": "P-256", "x": b64url(&[1; 31]), "y": b64url(&[2; 32])})).contains("x has the wrong length"));
        assert!(refused(Alg::Rs256, ec.clone()).contains("kty must be RSA"));
        let small = json!({"kty": "RSA", "n": b64url(&[0xff; 128]), "e": "AQAB"});
        assert!(refused(Alg::Rs256, small).contains("2048 to 4096 bits"));
        let even = json!({"kty": "RSA", "n": b64url(&[0xff; 256]), "e": "AQAA"});
        assert!(refused(Alg::Rs256, even).contains("odd exponent"));
        let partial = json!({"kty": "RSA", "n": b64url(&[0xff; 256]), "e": "AQAB", "d": "AQ"});
        assert!(refused(Alg::Rs256, partial).contains("p is missing"));
        assert!(format!("{private:?}").len() < 60, "Debug shows no members");
    }

    #[test]
    fn algorithms_are_named_as_jws_names_them() {
        for alg in [Alg::Hs256, Alg::Es256, Alg::Rs256, Alg::EdDsa] {
            assert_eq!(Alg::from_name(alg.name()), Some(alg));
        }
        assert_eq!(Alg::from_name("none"), None);
        assert_eq!(Alg::from_name("hs256"), None);
    }
}
