//! What the identity-provider suites share (`id_token_sign_in.rs`, `oauth_redirect.rs`,
//! `idp_attacks.rs`, `idp_link_attacks.rs`): the scripted provider's issuer and keys, signing a
//! compact JWS with the signature port, and reading a redirect's `Location`, query and fragment.
//! How each suite's scripted provider answers is its own.

use super::Reply;
use portcullis_shared::signature::{b64url, Alg, Key, Signatures as _};
use portcullis_shared::testing::RustCryptoSignatures;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The scripted provider's issuer.
pub const ISSUER: &str = "https://idp.example.com";
/// The test ports' clock, in seconds.
pub const NOW_SECS: i64 = 1_700_000_000;

/// RFC 7515 appendix A.3's P-256 key, private: the provider's signing key.
pub fn provider_key() -> Value {
    json!({"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"})
}

/// Another P-256 key, private: another provider's, or an attacker's.
pub fn other_key() -> Value {
    json!({"kty": "EC", "crv": "P-256", "x": "8Exyro4ioyD02_o2Fnt4VSrUShP2G6UoNcPqM6WqzDA", "y": "FYskva6b3JC66rKJQou3ymFtquwSVusAeyDWmbFExv4", "d": "Rm6Vrszm8D5oNEpdsLQnnTyXtZ52p51RVnsSdc80YAw"})
}

/// `key`'s public part as a JWKS entry with `kid`.
pub fn public(key: Value, kid: &str) -> Value {
    let mut k = key;
    k.as_object_mut().unwrap().remove("d");
    k["kid"] = kid.into();
    k
}

/// A compact JWS of `claims` with `header`, signed by `key` with `alg` (whatever the header
/// says).
pub fn jws(header: Value, claims: &Value, key: &Value, alg: Alg) -> String {
    let input = format!("{}.{}", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()));
    let key = Key::from_jwk(alg, key).unwrap();
    let sig = pollster::block_on(RustCryptoSignatures.sign(&key, input.as_bytes())).unwrap();
    format!("{input}.{}", b64url(&sig))
}

/// `claims` signed by the provider's key, ES256 under key id `k1`.
pub fn provider_jws(claims: &Value) -> String {
    jws(json!({"alg": "ES256", "kid": "k1"}), claims, &provider_key(), Alg::Es256)
}

/// A redirect's `Location` header.
pub fn location(r: &Reply) -> String {
    r.headers.get("location").unwrap().to_str().unwrap().to_string()
}

/// A URL's query parameters.
pub fn query_of(url: &str) -> HashMap<String, String> {
    let q = url.split_once('?').map(|(_, q)| q.split('#').next().unwrap()).unwrap_or("");
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

/// A URL's fragment parameters.
pub fn fragment_of(url: &str) -> HashMap<String, String> {
    let f = url.split_once('#').map(|(_, f)| f).unwrap_or("");
    form_urlencoded::parse(f.as_bytes()).into_owned().collect()
}
