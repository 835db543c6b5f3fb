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
    /// `k` for HMAC). Checks its shape, that a P-256 point is on the curve, and RSA's
    /// numbers (kept without leading zero octets, as RFC 7518 writes them); whether a private
    /// part belongs to its public part is for the implementation to find when it signs.
    pub fn from_jwk(alg: Alg, jwk: &Value) -> Result<Key, SignatureError> {
        let refuse = |why: &str| SignatureError::Key(format!("not an {} key: {why}", alg.name()));
        let text = |name: &str| jwk.get(name).and_then(Value::as_str);
        if text("kty") != Some(alg.kty()) {
            return Err(refuse(&format!("kty must be {}", alg.kty())));
        }
        let bytes = |name: &str| text(name).and_then(from_b64url);
        let mut out = Map::new();
        out.insert("kty".into(), alg.kty().into());
        // A member's bytes, kept; `None` for a length: an RSA number, kept without its
        // leading zero octets.
        let mut keep = |name: &str, len: Option<usize>| -> Result<(), SignatureError> {
            let b = bytes(name).ok_or_else(|| refuse(&format!("{name} is missing or not base64url")))?;
            let b = match len {
                Some(_) => b.as_slice(),
                None => b.get(b.iter().position(|x| *x != 0).unwrap_or(b.len())..).unwrap_or_default(),
            };
            if len.is_some_and(|n| b.len() != n) || b.is_empty() {
                return Err(refuse(&format!("{name} has the wrong length")));
            }
            out.insert(name.into(), b64url(b).into());
            Ok(())
        };
        let private = match alg {
            Alg::Hs256 => {
                keep("k", None)?;
                true
            }
            Alg::Es256 | Alg::EdDsa => {
                let (crv, len) = (if alg == Alg::Es256 { "P-256" } else { "Ed25519" }, 32);
                if text("crv") != Some(crv) {
                    return Err(refuse(&format!("crv must be {crv}")));
                }
                keep("x", Some(len))?;
                if alg == Alg::Es256 {
                    keep("y", Some(len))?;
                    if !p256_on_curve(&bytes("x").unwrap_or_default(), &bytes("y").unwrap_or_default()) {
                        return Err(refuse("the point (x, y) is not on P-256"));
                    }
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
                // WebCrypto in workerd takes only these two; so does every key tool by default.
                let e = bytes("e").unwrap_or_default();
                let e_value = (e.len() <= 8).then(|| e.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b)));
                if !matches!(e_value, Some(3 | 65_537)) {
                    return Err(refuse("e must be 3 or 65537 (AQAB)"));
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

/// P-256's prime p, big-endian 64-bit limbs.
const P256_P: [u64; 4] = [0xffff_ffff_0000_0001, 0, 0x0000_0000_ffff_ffff, 0xffff_ffff_ffff_ffff];
/// P-256's b.
const P256_B: [u64; 4] = [0x5ac6_35d8_aa3a_93e7, 0xb3eb_bd55_7698_86bc, 0x651d_06b0_cc53_b0f6, 0x3bce_3c3e_27d2_604b];

fn limbs(bytes: &[u8]) -> Option<[u64; 4]> {
    let bytes: &[u8; 32] = bytes.try_into().ok()?;
    let mut out = [0u64; 4];
    for (limb, chunk) in out.iter_mut().zip(bytes.chunks_exact(8)) {
        *limb = chunk.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
    }
    Some(out)
}

/// `a + b mod p`, for `a, b < p`.
fn add_mod(a: &[u64; 4], b: &[u64; 4], p: &[u64; 4]) -> [u64; 4] {
    let mut sum = [0u64; 4];
    let mut carry = 0u128;
    for i in (0..4).rev() {
        let s = u128::from(a[i]) + u128::from(b[i]) + carry;
        sum[i] = s as u64;
        carry = s >> 64;
    }
    if carry > 0 || sum >= *p {
        sum = sub(&sum, p);
    }
    sum
}

/// `a - b` modulo 2^256 (the borrow out dropped: an `a + b` that carried out, less `p`, fits).
fn sub(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    let mut out = [0u64; 4];
    let mut borrow = 0i128;
    for i in (0..4).rev() {
        let d = i128::from(a[i]) - i128::from(b[i]) - borrow;
        borrow = i128::from(d < 0);
        out[i] = d.rem_euclid(1 << 64) as u64;
    }
    out
}

/// `a * b mod p`, by doubling and adding (a key is checked once, at configuration).
fn mul_mod(a: &[u64; 4], b: &[u64; 4], p: &[u64; 4]) -> [u64; 4] {
    let mut acc = [0u64; 4];
    for i in 0..256 {
        acc = add_mod(&acc, &acc, p);
        if (b[i / 64] >> (63 - i % 64)) & 1 == 1 {
            acc = add_mod(&acc, a, p);
        }
    }
    acc
}

/// Whether `(x, y)` (32 bytes each, big-endian) is a point of P-256: both below p, and
/// `y^2 = x^3 - 3x + b`.
fn p256_on_curve(x: &[u8], y: &[u8]) -> bool {
    let (Some(x), Some(y)) = (limbs(x), limbs(y)) else { return false };
    if x >= P256_P || y >= P256_P {
        return false;
    }
    let p = &P256_P;
    let three_x = add_mod(&add_mod(&x, &x, p), &x, p);
    let x3 = mul_mod(&mul_mod(&x, &x, p), &x, p);
    // x^3 - 3x + b, as x^3 + (p - 3x) + b.
    let minus_three_x = if three_x == [0; 4] { three_x } else { sub(p, &three_x) };
    let rhs = add_mod(&add_mod(&x3, &minus_three_x, p), &P256_B, p);
    mul_mod(&y, &y, p) == rhs
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
        // RFC 7515 appendix A.3's key.
        let ec = json!({"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "use": "sig"});
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
        let mut off = ec.clone();
        let mut y = from_b64url("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0").unwrap();
        y[31] ^= 1;
        off["y"] = b64url(&y).into();
        assert!(refused(Alg::Es256, off).contains("not on P-256"));
        let mut beyond = ec.clone();
        beyond["y"] = b64url(&[0xff; 32]).into();
        assert!(refused(Alg::Es256, beyond).contains("not on P-256"));
        assert!(refused(Alg::Rs256, ec.clone()).contains("kty must be RSA"));
        let small = json!({"kty": "RSA", "n": b64url(&[0xff; 128]), "e": "AQAB"});
        assert!(refused(Alg::Rs256, small).contains("2048 to 4096 bits"));
        let other_e = json!({"kty": "RSA", "n": b64url(&[0xff; 256]), "e": "AQAA"});
        assert!(refused(Alg::Rs256, other_e).contains("3 or 65537"));
        // Leading zero octets are dropped, as RFC 7518 writes the numbers.
        let padded = json!({"kty": "RSA", "n": b64url(&[&[0, 0][..], &[0xff; 256]].concat()), "e": "AAEAAQ"});
        let rsa = Key::from_jwk(Alg::Rs256, &padded).unwrap();
        assert_eq!((rsa.member("n").map(|n| n.len()), rsa.jwk()["e"].as_str()), (Some(256), Some("AQAB")));
        let partial = json!({"kty": "RSA", "n": b64url(&[0xff; 256]), "e": "AQAB", "d": "AQ"});
        assert!(refused(Alg::Rs256, partial).contains("p is missing"));
        assert!(format!("{private:?}").len() < 60, "Debug shows no members");
    }

    #[test]
    fn the_curve_check_takes_known_points_and_refuses_their_neighbours() {
        // P-256's generator, and the points of the RFC 7515 and test keys.
        let g = (hex(b"6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"), hex(b"4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"));
        assert!(p256_on_curve(&g.0, &g.1));
        let mut y = g.1.clone();
        y[31] ^= 1;
        assert!(!p256_on_curve(&g.0, &y));
        assert!(!p256_on_curve(&[0; 32], &[0; 32]));
        assert!(!p256_on_curve(&g.0, &g.1[..31]));
        for (x, y) in [("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"), ("8Exyro4ioyD02_o2Fnt4VSrUShP2G6UoNcPqM6WqzDA", "FYskva6b3JC66rKJQou3ymFtquwSVusAeyDWmbFExv4")] {
            assert!(p256_on_curve(&from_b64url(x).unwrap(), &from_b64url(y).unwrap()), "{x}");
        }
    }

    fn hex(text: &[u8]) -> Vec<u8> {
        text.chunks(2).map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap()).collect()
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
