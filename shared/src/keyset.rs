//! GoTrue's asymmetric signing keys: a JWK set given as the secret `JWT_KEYS` (upstream's
//! `GOTRUE_JWT_KEYS` format), parsed once per isolate, which signs GoTrue's access tokens with
//! the one key whose `key_ops` has `sign`, verifies tokens by their header's `kid`, and
//! publishes its public keys as `/.well-known/jwks.json`.
//!
//! Algorithms: ES256 (P-256), RS256 (RSA of 2048 to 4096 bits, upstream's CLI default) and
//! HS256 (`kty: oct`, never published), each signed and checked through the signature port
//! (WebCrypto in the worker). Parsing checks each key's shape; whether a private part belongs
//! to its public part is checked when it first signs (`JwtKeys`), as the port is asynchronous.
//! Private parts are kept only for the signing key and never leave this module and the port;
//! a published key carries its public members (`kty` and `crv`, `x`, `y` or `n`, `e`) with
//! `kid`, `alg`, `use: sig` and `key_ops: [verify]`, whatever the configured entry held.

use crate::secret::Secret;
use crate::signature::{Alg, Key};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Shortest JWT secret accepted, in bytes (HS256 wants a key as long as its hash): `JWT_SECRET`
/// (checked by `config`) and every HS256 key of a set.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Most keys a set may hold (a rotation needs two or three).
const MAX_KEYS: usize = 16;

/// The key that signs new tokens.
pub(crate) struct Signer {
    /// Its `kid`, in every token's header.
    pub(crate) kid: String,
    /// The private key.
    pub(crate) key: Key,
    /// Whether a signature of it has been seen to check out with its public part.
    pub(crate) checked: AtomicBool,
}

/// A parsed JWK set.
pub struct KeySet {
    pub(crate) signer: Signer,
    verifiers: Vec<(String, Key)>,
    published: Vec<Value>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.verifiers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("KeySet").field("kids", &kids).field("keys", &"[redacted]").finish()
    }
}

thread_local! {
    /// The last set parsed on this thread (an isolate has one), by the SHA-256 of its text.
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
    /// `alg` of `ES256`, `RS256` or `HS256`; exactly one has `sign` in its `key_ops` and its
    /// private part. The error says what to fix and holds no key material.
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
        let mut signer = None;
        let mut verifiers: Vec<(String, Key)> = Vec::new();
        let mut published = Vec::new();
        for (i, entry) in values.iter().enumerate() {
            let text = |name: &str| entry.get(name).and_then(Value::as_str);
            let kid = match text("kid") {
                Some(kid) if !kid.is_empty() && kid.len() <= 128 => kid.to_string(),
                Some(_) => return Err("every key needs a kid (1 to 128 characters)".into()),
                None if entry.is_object() => return Err("every key needs a kid (1 to 128 characters)".into()),
                None => return Err(format!("key number {} is not a JWK object", i + 1)),
            };
            if verifiers.iter().any(|(k, _)| *k == kid) {
                return Err(format!("kid {kid:?} is used twice"));
            }
            let alg = match text("alg").and_then(Alg::from_name) {
                Some(alg @ (Alg::Es256 | Alg::Rs256 | Alg::Hs256)) => alg,
                _ => return Err(format!("key {kid:?} needs alg ES256, RS256 or HS256")),
            };
            let key = Key::from_jwk(alg, entry).map_err(|e| format!("key {kid:?} is not a usable JWK ({e})"))?;
            if alg == Alg::Hs256 && key.member("k").map_or(0, |k| k.len()) < MIN_JWT_SECRET_BYTES {
                return Err(format!("key {kid:?} is shorter than {MIN_JWT_SECRET_BYTES} bytes"));
            }
            let signs = entry.get("key_ops").and_then(Value::as_array).is_some_and(|ops| ops.iter().any(|op| op == "sign"));
            if signs {
                if !key.is_private() {
                    return Err(format!("key {kid:?} signs but has no private part (d)"));
                }
                let new = Signer { kid: kid.clone(), key: key.clone(), checked: AtomicBool::new(false) };
                if signer.replace(new).is_some() {
                    return Err("more than one key has sign in its key_ops".into());
                }
            }
            let verifier = match key.public() {
                Some(public) => {
                    let mut jwk = Value::Object(public.jwk().clone());
                    jwk["kid"] = json!(kid);
                    jwk["alg"] = json!(alg.name());
                    jwk["use"] = json!("sig");
                    jwk["key_ops"] = json!(["verify"]);
                    published.push(jwk);
                    public
                }
                None => key,
            };
            verifiers.push((kid, verifier));
        }
        let signer = signer.ok_or("no key has sign in its key_ops")?;
        Ok(KeySet { signer, verifiers, published })
    }

    /// The published set: every asymmetric key's public part (HS256 keys are secrets).
    pub fn jwks(&self) -> Value {
        json!({"keys": self.published})
    }

    /// The key with this `kid` (the public part of an asymmetric one).
    pub(crate) fn verifier(&self, kid: &str) -> Option<&Key> {
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
        assert_eq!((set.signer.kid.as_str(), set.signer.key.alg()), ("test-es-1", Alg::Es256));
        assert!(set.signer.key.is_private());
        assert!(!set.verifier("test-es-1").is_some_and(Key::is_private), "verifiers hold public parts");
        assert!(KeySet::parse(&format!(r#"{{"keys": [{ES1}]}}"#)).is_ok());
    }

    #[test]
    fn bad_sets_say_what_to_fix_without_key_material() {
        let es1_no_d = ES1.replace(r#""d":"Rm6Vrszm8D5oNEpdsLQnnTyXtZ52p51RVnsSdc80YAw","#, "");
        let cases = [
            ("not json".to_string(), "JSON array"),
            ("[]".to_string(), "1 to 16"),
            (format!("[{ES2_PUBLIC}]"), "no key has sign"),
            (format!("[{es1_no_d}]"), "signs but has no private part"),
            (format!("[{ES1},{}]", ES1.replace("test-es-1", "test-es-3")), "more than one key"),
            (format!("[{ES1},{ES1}]"), "used twice"),
            (ES1.replace(r#""kid":"test-es-1","#, "").replace('{', "[{").replace("]}", "]}]"), "needs a kid"),
            (format!("[{}]", ES1.replace("ES256", "RS256")), "kty must be RSA"),
            (format!("[{}]", ES1.replace("ES256", "EdDSA")), "needs alg ES256, RS256 or HS256"),
            (r#"[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"r","alg":"RS256","key_ops":["verify"]}]"#.to_string(), "2048 to 4096 bits"),
            (format!("[{}]", ES1.replace("ES256", "none")), "needs alg"),
            (format!("[{}]", ES1.replace("P-256", "P-384")), "crv must be P-256"),
            ("[1]".to_string(), "not a JWK object"),
            (r#"[{"kty":"oct","k":"c2hvcnQ","kid":"h","alg":"HS256","key_ops":["sign"]}]"#.to_string(), "shorter than"),
        ];
        for (text, expected) in cases {
            let e = KeySet::parse(&text).unwrap_err();
            assert!(e.contains(expected), "{text}: {e}");
            assert!(!e.contains("Rm6Vrszm"), "{e}");
        }
    }
}
