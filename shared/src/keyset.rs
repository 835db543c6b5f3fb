//! GoTrue's asymmetric signing keys: a JWK set given as the secret `JWT_KEYS` (upstream's
//! `GOTRUE_JWT_KEYS` format), parsed once per isolate, which signs GoTrue's access tokens with
//! the one key whose `key_ops` has `sign`, verifies tokens by their header's `kid`, and
//! publishes its public keys as `/.well-known/jwks.json`.
//!
//! Algorithms: ES256 (P-256) and HS256 (`kty: oct`, never published). RS256 is refused: its
//! signing costs about 8 ms of CPU a token in wasm, 80 KB of worker, and the `rsa` crate has an
//! open timing advisory. Private parts are kept only for the signing key and never leave this
//! module; a published key carries `kty`, `crv`, `x`, `y`, `kid`, `alg`, `use: sig` and
//! `key_ops: [verify]`, whatever the configured entry held.

use crate::secret::Secret;
use jwt_compact::alg::{Es256, Hs256Key};
use jwt_compact::jwk::JsonWebKey;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::sync::Arc;

type EsSigningKey = <Es256 as jwt_compact::Algorithm>::SigningKey;
type EsVerifyingKey = <Es256 as jwt_compact::Algorithm>::VerifyingKey;

/// Shortest JWT secret accepted, in bytes (HS256 wants a key as long as its hash): `JWT_SECRET`
/// (checked by `config`) and every HS256 key of a set.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Most keys a set may hold (a rotation needs two or three).
const MAX_KEYS: usize = 16;

/// The key that signs new tokens.
pub(crate) enum Signer {
    /// HS256 with a configured octet key.
    Hs256 { kid: String, key: Hs256Key },
    /// ES256 (P-256).
    Es256 { kid: String, key: Box<EsSigningKey> },
}

/// A key tokens are verified with, found by `kid`.
pub(crate) enum Verifier {
    /// HS256.
    Hs256(Hs256Key),
    /// ES256.
    Es256(Box<EsVerifyingKey>),
}

/// A parsed JWK set.
pub struct KeySet {
    pub(crate) signer: Signer,
    pub(crate) verifiers: Vec<(String, Verifier)>,
    published: Vec<Value>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.verifiers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("KeySet").field("kids", &kids).field("keys", &"[redacted]").finish()
    }
}

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(flatten, borrow)]
    key: JsonWebKey<'a>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(default)]
    key_ops: Vec<String>,
}

thread_local! {
    /// The last set parsed on this thread (an isolate has one), by the SHA-256 of its text:
    /// an EC key takes about a millisecond to check, too much for every request.
    static CACHE: RefCell<Option<([u8; 32], Arc<KeySet>)>> = const { RefCell::new(None) };
}

impl KeySet {
    /// The set in `text`, parsed (or from the cache, if this thread parsed the same text last).
    pub fn parse_cached(text: &Secret<String>) -> Result<Arc<KeySet>, String> {
        let digest: [u8; 32] = Sha256::digest(text.expose().as_bytes()).into();
        if let Some(hit) = CACHE.with(|c| c.borrow().as_ref().filter(|(d, _)| *d == digest).map(|(_, s)| Arc::clone(s))) {
            return Ok(hit);
        }
        let set = Arc::new(Self::parse(text.expose())?);
        CACHE.with(|c| *c.borrow_mut() = Some((digest, Arc::clone(&set))));
        Ok(set)
    }

    /// Parses a JSON array of JWKs (or `{"keys": [...]}`), each with a unique `kid` and an
    /// `alg` of `ES256` or `HS256`; exactly one has `sign` in its `key_ops` and its private
    /// part. The error says what to fix and holds no key material.
    pub fn parse(text: &str) -> Result<KeySet, String> {
        let values = match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(list)) => list,
            Ok(Value::Object(mut set)) if set.get("keys").is_some_and(Value::is_array) => match set.remove("keys") {
                Some(Value::Array(list)) => list,
                _ => Vec::new(),
            },
            _ => return Err("is not a JSON array of JWKs (each with kty, kid, alg and key_ops)".into()),
        };
        if values.is_empty() || values.len() > MAX_KEYS {
            return Err(format!("must hold 1 to {MAX_KEYS} keys"));
        }
        let mut entries = Vec::with_capacity(values.len());
        for (i, value) in values.iter().enumerate() {
            let name = value.get("kid").and_then(Value::as_str).map_or_else(|| format!("number {}", i + 1), |k| format!("{k:?}"));
            let entry = Entry::deserialize(value).map_err(|_| {
                format!("key {name} is not a usable JWK (kty EC with crv P-256, x and y; or kty oct with k)")
            })?;
            entries.push(entry);
        }
        let mut signer = None;
        let mut verifiers: Vec<(String, Verifier)> = Vec::new();
        let mut published = Vec::new();
        for entry in &entries {
            let kid = entry.kid.clone().filter(|k| !k.is_empty() && k.len() <= 128).ok_or("every key needs a kid (1 to 128 characters)")?;
            if verifiers.iter().any(|(k, _)| *k == kid) {
                return Err(format!("kid {kid:?} is used twice"));
            }
            let signs = entry.key_ops.iter().any(|op| op == "sign");
            match entry.alg.as_deref() {
                Some("ES256") => {
                    let public = EsVerifyingKey::try_from(&entry.key).map_err(|_| format!("key {kid:?} is not a P-256 EC key"))?;
                    if signs {
                        let private = EsSigningKey::try_from(&entry.key)
                            .map_err(|_| format!("key {kid:?} signs but has no matching private part (d)"))?;
                        if signer.replace(Signer::Es256 { kid: kid.clone(), key: Box::new(private) }).is_some() {
                            return Err("more than one key has sign in its key_ops".into());
                        }
                    }
                    let mut jwk = serde_json::to_value(JsonWebKey::from(&public)).map_err(|e| e.to_string())?;
                    jwk["kid"] = json!(kid);
                    jwk["alg"] = json!("ES256");
                    jwk["use"] = json!("sig");
                    jwk["key_ops"] = json!(["verify"]);
                    published.push(jwk);
                    verifiers.push((kid, Verifier::Es256(Box::new(public))));
                }
                Some("HS256") => {
                    let key = Hs256Key::try_from(&entry.key).map_err(|_| format!("key {kid:?} is not an octet key (kty oct, k)"))?;
                    if key.as_ref().len() < MIN_JWT_SECRET_BYTES {
                        return Err(format!("key {kid:?} is shorter than {MIN_JWT_SECRET_BYTES} bytes"));
                    }
                    if signs && signer.replace(Signer::Hs256 { kid: kid.clone(), key: key.clone() }).is_some() {
                        return Err("more than one key has sign in its key_ops".into());
                    }
                    verifiers.push((kid, Verifier::Hs256(key)));
                }
                Some("RS256") => return Err(format!("key {kid:?}: RS256 is not supported; use ES256")),
                _ => return Err(format!("key {kid:?} needs alg ES256 or HS256")),
            }
        }
        let signer = signer.ok_or("no key has sign in its key_ops")?;
        Ok(KeySet { signer, verifiers, published })
    }

    /// The published set: every ES256 key's public part (HS256 keys are secrets).
    pub fn jwks(&self) -> Value {
        json!({"keys": self.published})
    }

    /// The key with this `kid`.
    pub(crate) fn verifier(&self, kid: &str) -> Option<&Verifier> {
        self.verifiers.iter().find(|(k, _)| k == kid).map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ES1: &str = r#"{"kty":"EC","x":"8Exyro4ioyD02_o2Fnt4VSrUShP2G6UoNcPqM6WqzDA","y":"FYskva6b3JC66rKJQou3ymFtquwSVusAeyDWmbFExv4","crv":"P-256","d":"Rm6Vrszm8D5oNEpdsLQnnTyXtZ52p51RVnsSdc80YAw","kid":"test-es-1","alg":"ES256","key_ops":["sign","verify"]}"#;
    const ES2_PUBLIC: &str = r#"{"kty":"EC","x":"mlY0JNTHsu58lkZEGDkW3TlAaTHX5H0MEe6o4Gs0wy0","y":"ZjWDuF4B2K0WMlH9-kiaQE5yCKPORJ_SDECq6u1HmCQ","crv":"P-256","kid":"test-es-2","alg":"ES256","key_ops":["verify"]}"#;

    #[test]
    fn a_set_publishes_public_parts_only() {
        let set = KeySet::parse(&format!("[{ES1},{ES2_PUBLIC}]")).unwrap();
        let jwks = set.jwks().to_string();
        assert!(!jwks.contains("\"d\"") && !jwks.contains("Rm6Vrszm"), "{jwks}");
        assert!(jwks.contains("test-es-1") && jwks.contains("test-es-2"));
        assert!(jwks.contains(r#""key_ops":["verify"]"#) && jwks.contains(r#""use":"sig""#));
        assert!(matches!(set.signer, Signer::Es256 { ref kid, .. } if kid == "test-es-1"));
        assert!(KeySet::parse(&format!(r#"{{"keys": [{ES1}]}}"#)).is_ok());
    }

    #[test]
    fn bad_sets_say_what_to_fix_without_key_material() {
        let es1_no_d = ES1.replace(r#""d":"Rm6Vrszm8D5oNEpdsLQnnTyXtZ52p51RVnsSdc80YAw","#, "");
        let wrong_d = ES1.replace("Rm6Vrszm8D5oNEpdsLQnnTyXtZ52p51RVnsSdc80YAw", "RRYdRjoGC4zW2uVy4uiyfKBDgEyGOVuLmrg0guL4Avg");
        let cases = [
            ("not json".to_string(), "JSON array"),
            ("[]".to_string(), "1 to 16"),
            (format!("[{ES2_PUBLIC}]"), "no key has sign"),
            (format!("[{es1_no_d}]"), "no matching private part"),
            (format!("[{wrong_d}]"), "no matching private part"),
            (format!("[{ES1},{}]", ES1.replace("test-es-1", "test-es-3")), "more than one key"),
            (format!("[{ES1},{ES1}]"), "used twice"),
            (ES1.replace(r#""kid":"test-es-1","#, "").replace('{', "[{").replace("]}", "]}]"), "needs a kid"),
            (format!("[{}]", ES1.replace("ES256", "RS256")), "RS256 is not supported"),
            (format!("[{}]", ES1.replace("ES256", "none")), "needs alg"),
            (format!("[{}]", ES1.replace("P-256", "P-384")), "not a P-256"),
            (r#"[{"kty":"oct","k":"c2hvcnQ","kid":"h","alg":"HS256","key_ops":["sign"]}]"#.to_string(), "shorter than"),
        ];
        for (text, expected) in cases {
            let e = KeySet::parse(&text).unwrap_err();
            assert!(e.contains(expected), "{text}: {e}");
            assert!(!e.contains("Rm6Vrszm") && !e.contains("RRYdRjoG"), "{e}");
        }
    }
}
