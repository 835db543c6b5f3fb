//! The attacks a review made on JWT signatures once they went through the signature port:
//! header and encoding tricks, kid tricks, keys of one dialect presented to another, and keys
//! an operator could paste wrong (a point off P-256, an RSA modulus with leading zeros), which
//! configuration refuses or normalises instead of publishing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use base64::Engine as _;
use portcullis_shared::keyset::KeySet;
use portcullis_shared::model::Timestamp;
use portcullis_shared::secret::Secret;
use portcullis_shared::token::{JwtKeys, TokenError};
use serde_json::{json, Value};
use std::sync::Arc;
use support::BlockingJwt as _;

const ES1: &str = r#"{"kty":"EC","x":"8Exyro4ioyD02_o2Fnt4VSrUShP2G6UoNcPqM6WqzDA","y":"FYskva6b3JC66rKJQou3ymFtquwSVusAeyDWmbFExv4","crv":"P-256","d":"Rm6Vrszm8D5oNEpdsLQnnTyXtZ52p51RVnsSdc80YAw","kid":"test-es-1","alg":"ES256","key_ops":["sign","verify"]}"#;
/// A verify-only P-256 entry whose point is not on the curve (y of another key: a paste error).
const ES_OFF_CURVE: &str = r#"{"kty":"EC","x":"mlY0JNTHsu58lkZEGDkW3TlAaTHX5H0MEe6o4Gs0wy0","y":"FYskva6b3JC66rKJQou3ymFtquwSVusAeyDWmbFExv4","crv":"P-256","kid":"rotated-in","alg":"ES256","key_ops":["verify"]}"#;
const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";
const NOW: Timestamp = Timestamp(1_700_000_000_000);

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn keys(set: &str) -> JwtKeys {
    JwtKeys::with_set(&Secret::new(SECRET.to_vec()), 0, Some(Arc::new(KeySet::parse(set).unwrap())))
}

/// A verify-only key that no implementation can import (a point off P-256: a pasted `y` of
/// another key) is a configuration error, not a key the worker publishes in
/// /.well-known/jwks.json and then refuses every token of.
#[test]
fn an_off_curve_verify_key_is_a_configuration_error() {
    let parsed = KeySet::parse(&format!("[{ES1},{ES_OFF_CURVE}]"));
    let published = parsed.as_ref().map(|s| s.jwks().to_string()).unwrap_or_default();
    assert!(parsed.is_err(), "an off-curve key was accepted and published: {published}");
}

/// The same, through the configuration: the worker does not start with it.
#[test]
fn config_refuses_a_set_with_an_unusable_key() {
    let set = format!("[{ES1},{ES_OFF_CURVE}]");
    let vars = [("JWT_KEYS", set.as_str()), ("SITE_URL", "http://localhost:3000"), ("API_EXTERNAL_URL", "http://auth.test"), ("JWT_SECRET", "test-secret-test-secret-test-secret!")];
    let config = portcullis_shared::Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()));
    assert!(config.is_err(), "JWT_KEYS with an off-curve key was accepted");
}

/// The header and signature tricks, all refused.
#[test]
fn header_and_encoding_tricks_are_refused() {
    let set = keys(&format!("[{ES1}]"));
    let legacy = JwtKeys::new(&Secret::new(SECRET.to_vec()), 0);
    let claims = json!({"sub": "u", "role": "service_role"});
    let good = legacy.sign_blocking(claims.clone(), NOW, NOW.plus_secs(600), None).unwrap();
    let (head, rest) = good.split_once('.').unwrap();
    let (payload, sig) = rest.split_once('.').unwrap();
    assert!(set.verify_blocking::<Value>(&good, NOW).is_ok(), "legacy HS256 by JWT_SECRET, as documented");
    let with_header = |h: &str| format!("{}.{payload}.{sig}", b64(h.as_bytes()));
    let cases: Vec<(String, &str)> = vec![
        (with_header(r#"{"alg":"hs256","typ":"JWT"}"#), "lower-case alg"),
        (with_header(r#"{"typ":"JWT"}"#), "no alg"),
        (with_header(r#"{"alg":"none","typ":"JWT"}"#), "none"),
        (with_header(r#"{"alg":"EdDSA","typ":"JWT"}"#), "EdDSA"),
        (with_header(r#"{"alg":"HS256","alg":"HS256","typ":"JWT"}"#), "duplicate alg"),
        (with_header(r#"{"alg":"ES256","alg":"HS256","typ":"JWT"}"#), "duplicate alg, differing"),
        (with_header(r#"{"alg":"HS256","typ":"JWT","kid":"test-es-1"}"#), "HS256 under the EC kid"),
        (with_header(r#"{"alg":"HS256","typ":"JWT","cty":"JWT"}"#), "nested JWT"),
        (format!("{head}.{payload}.{sig}="), "padding"),
        (format!("{head}.{payload}.{sig}A"), "an extra base64 char"),
        (format!("{head}.{payload}.{sig}.{sig}"), "a 4th segment"),
        (format!("{head}.{payload}."), "empty signature"),
        (format!("{head}.{payload}.{}", &sig[..22]), "truncated signature"),
        (format!("{head}=.{payload}.{sig}"), "padded header"),
        (format!(" {good}"), "leading space"),
        (format!("{good}\n"), "trailing newline"),
    ];
    for (t, what) in cases {
        assert!(set.verify_blocking::<Value>(&t, NOW).is_err(), "{what} was taken");
        assert!(legacy.verify_blocking::<Value>(&t, NOW).is_err(), "{what} was taken (no set)");
    }
    // Non-canonical base64 of the same signature bytes: the last char of a 32-byte signature
    // carries 2 unused bits.
    let last = sig.as_bytes()[sig.len() - 1];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let i = alphabet.iter().position(|c| *c == last).unwrap();
    for bump in 1..4 {
        let other = alphabet[(i & !3) | ((i + bump) & 3)] as char;
        let t = format!("{head}.{payload}.{}{other}", &sig[..sig.len() - 1]);
        assert!(legacy.verify_blocking::<Value>(&t, NOW).is_err(), "non-canonical signature {t} was taken");
    }
}

/// Kid tricks: an unknown, empty, huge or unicode kid falls back to JWT_SECRET for HS256 only.
#[test]
fn kid_tricks_find_no_key() {
    let set = keys(&format!("[{ES1}]"));
    let es = set.sign_blocking(json!({"sub": "u"}), NOW, NOW.plus_secs(600), None).unwrap();
    let rest = es.split_once('.').unwrap().1;
    let huge = "k".repeat(100_000);
    for kid in ["", "test-es-1 ", "TEST-ES-1", "test-es-1\u{0}", "tést-es-1", huge.as_str()] {
        let t = format!("{}.{rest}", b64(json!({"alg": "ES256", "kid": kid}).to_string().as_bytes()));
        assert_eq!(set.verify_blocking::<Value>(&t, NOW).unwrap_err(), TokenError::UnknownKey, "{:.20}", kid);
    }
    // HS256 with the EC public key (x || y, or its JWK text) as HMAC secret, and an unknown kid:
    // verified by JWT_SECRET, so refused.
    let jwk = set_jwk(&set);
    for secret in [jwk.to_string().into_bytes(), [b64d(&jwk["x"]), b64d(&jwk["y"])].concat()] {
        let forger = JwtKeys::new(&Secret::new(secret), 0);
        let f = forger.sign_blocking(json!({"sub": "u", "role": "service_role"}), NOW, NOW.plus_secs(600), None).unwrap();
        assert_eq!(set.verify_blocking::<Value>(&f, NOW).unwrap_err(), TokenError::BadSignature);
    }
}

fn set_jwk(set: &JwtKeys) -> Value {
    let _ = set;
    let s = KeySet::parse(&format!("[{ES1}]")).unwrap();
    s.jwks()["keys"][0].clone()
}

fn b64d(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v.as_str().unwrap()).unwrap()
}

/// A token of one dialect is not taken by another's keys, whatever its claims say.
#[test]
fn each_dialect_has_its_own_key() {
    let app = support::app_with(&[]);
    let s = support::confirmed_user(&app, "ann@example.com", "s3cret-pass");
    let token = s["access_token"].as_str().unwrap();
    let (head, rest) = token.split_once('.').unwrap();
    let (_, sig) = rest.split_once('.').unwrap();
    // GoTrue's signature over Feathers-shaped claims (jti, typ access).
    let feathers = json!({"sub": "x", "jti": "y", "exp": 9_999_999_999_i64, "aud": "https://yourdomain.com", "iss": "feathers"});
    let t = format!("{head}.{}.{sig}", b64(feathers.to_string().as_bytes()));
    assert_ne!(support::check(&app, &t).status, 200);
}

/// RSA: a verify-only RSA key whose modulus has a leading zero octet is
/// accepted and republished with it, against RFC 7518 §6.3.1.1 ("MUST NOT" leading zeros);
/// strict JWKS consumers, and possibly workerd's importKey, refuse it.
#[test]
fn an_rsa_modulus_is_published_canonically_or_refused() {
    let n = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
    let padded = b64(&[&[0u8][..], &b64d(&json!(n))].concat());
    let entry = format!(r#"{{"kty":"RSA","kid":"r","alg":"RS256","key_ops":["verify"],"n":"{padded}","e":"AQAB"}}"#);
    if let Ok(set) = KeySet::parse(&format!("[{ES1},{entry}]")) {
        let published = set.jwks()["keys"][1]["n"].as_str().unwrap().to_string();
        assert_eq!(published, n, "n published with a leading zero octet");
    }
}
