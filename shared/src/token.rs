//! Tokens: signed access JWTs and opaque random tokens.
//!
//! JWTs are HS256, or ES256 or RS256 where GoTrue's keys are a JWK set (`keyset`), signed and
//! checked through the signature port (WebCrypto in the worker); jwt-compact reads the token
//! format and the claims. The algorithm allowlist rejects a token whose header names any other
//! algorithm before its signature is looked at, and a token is verified only by the key its
//! `kid` names (with the algorithm that key is for) or, with no known `kid`, as HS256 by the
//! shared secret. They always carry `exp`, and are checked against the clock port with a small
//! leeway. Claim shapes belong to the dialects; this module signs and verifies any serde type.
//! Opaque tokens are `id.secret` with 256 random bits of secret, of
//! which only the SHA-256 is stored and compared in constant time. One-time code digits and link
//! tokens are made here too.

use crate::keyset::KeySet;
use crate::model::{CodeId, Timestamp};
use crate::ports::Rng;
use crate::secret::{PkceVerifier, Secret};
use crate::signature::{b64url, Alg, Key, Signatures};
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use jwt_compact::{Claims, TimeOptions, UntrustedToken};
use serde::{de::DeserializeOwned, Serialize};
use sha2::{Digest, Sha256};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Why a JWT was refused or could not be made. Each refusal is its own variant, so dialects
/// render them in upstream's words by matching, never by reading a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a JWT at all: wrong number of parts, bad base64, unreadable header.
    #[error("token is malformed")]
    Malformed,
    /// The header names an algorithm other than HS256, ES256 or RS256 (`none` included), or
    /// one its `kid`'s key is not for.
    #[error("signing method not allowed")]
    Algorithm,
    /// An asymmetric token whose `kid` names no key of ours.
    #[error("unrecognized JWT kid")]
    UnknownKey,
    /// Not signed with our key.
    #[error("signature is invalid")]
    BadSignature,
    /// Well-formed and signed by us, but past `exp` (beyond the leeway).
    #[error("token is expired")]
    Expired,
    /// Signed by us, but the claims are unreadable, lack `exp`, or are not the claims of a
    /// dialect that accepts them here.
    #[error("unable to parse claims")]
    Claims,
    /// Signed by us for another audience (`aud`).
    #[error("audience is invalid")]
    Audience {
        /// The audience this deployment issues for.
        expected: String,
    },
    /// Signed by us under another issuer name (`iss`).
    #[error("issuer is invalid")]
    Issuer {
        /// The issuer this deployment names.
        expected: String,
    },
    /// Signing failed: the claims did not serialize, or the signing key was refused (why, for
    /// the operator's log).
    #[error("could not sign token: {0}")]
    Signing(String),
}

/// A verified token's claims with its registered times.
#[derive(Debug, Clone)]
pub struct Verified<C> {
    /// The dialect's own claims.
    pub claims: C,
    /// The header's `typ`, if any.
    pub token_type: Option<String>,
    /// `exp`.
    pub expires_at: Timestamp,
    /// `iat`, when present.
    pub issued_at: Option<Timestamp>,
}

/// The keys and time rules for access tokens: an HS256 secret, and for GoTrue a JWK set if
/// one is configured (which then signs, while the secret still verifies tokens without `kid`).
#[derive(Clone)]
pub struct JwtKeys {
    secret: Key,
    leeway_secs: i64,
    set: Option<Arc<KeySet>>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys").field("key", &"[redacted]").finish()
    }
}

fn to_datetime(t: Timestamp) -> DateTime<Utc> {
    t.to_datetime()
}

/// The JWS header Portcullis signs: `alg`, `kid` when a set signs, `typ`.
#[derive(Serialize)]
struct SignedHeader<'a> {
    alg: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
    typ: &'a str,
}

impl JwtKeys {
    /// Keys from the configured secret, accepting `exp` up to `leeway_secs` late.
    pub fn new(secret: &Secret<Vec<u8>>, leeway_secs: i64) -> Self {
        Self::with_set(secret, leeway_secs, None)
    }

    /// [`JwtKeys::new`], signing with `set`'s signing key and verifying by its `kid`s.
    pub fn with_set(secret: &Secret<Vec<u8>>, leeway_secs: i64, set: Option<Arc<KeySet>>) -> Self {
        Self { secret: Key::hmac(secret.expose()), leeway_secs, set }
    }

    /// Signs `claims` with `iat` and `exp`; `typ` goes in the header (`JWT` if `None`).
    pub async fn sign<C: Serialize>(
        &self,
        sigs: &impl Signatures,
        claims: C,
        issued_at: Timestamp,
        expires_at: Timestamp,
        typ: Option<&str>,
    ) -> Result<String, TokenError> {
        self.sign_claims(sigs, claims, Some(issued_at), expires_at, typ).await
    }

    /// [`JwtKeys::sign`], with `iat` only if given (some dialects' payloads have none). The
    /// first signature of a set's key is checked with its public part, once per isolate, so a
    /// private part that is not the published key's is refused before any token carries it.
    pub async fn sign_claims<C: Serialize>(
        &self,
        sigs: &impl Signatures,
        claims: C,
        issued_at: Option<Timestamp>,
        expires_at: Timestamp,
        typ: Option<&str>,
    ) -> Result<String, TokenError> {
        let failed = |e: &dyn std::fmt::Display| TokenError::Signing(e.to_string());
        let mut claims = Claims::new(claims);
        // Whole seconds: the registered claims are NumericDate.
        claims.issued_at = issued_at.map(|t| to_datetime(Timestamp(t.unix_seconds() * 1000)));
        claims.expiration = Some(to_datetime(Timestamp(expires_at.unix_seconds() * 1000)));
        let signer = self.set.as_deref().map(|s| &s.signer);
        let key = signer.map_or(&self.secret, |s| &s.key);
        let header = SignedHeader { alg: key.alg().name(), kid: signer.map(|s| s.kid.as_str()), typ: typ.unwrap_or("JWT") };
        let header = serde_json::to_vec(&header).map_err(|e| failed(&e))?;
        let body = serde_json::to_vec(&claims).map_err(|e| failed(&e))?;
        let signed = format!("{}.{}", b64url(&header), b64url(&body));
        let refused = |why: &dyn std::fmt::Display| match signer {
            Some(s) => failed(&format!("JWT_KEYS: key {:?} cannot sign: {why}", s.kid)),
            None => failed(why),
        };
        let signature = sigs.sign(key, signed.as_bytes()).await.map_err(|e| refused(&e))?;
        if let Some(signer) = signer.filter(|s| !s.checked.load(Ordering::Relaxed)) {
            let public = signer.key.public().unwrap_or_else(|| signer.key.clone());
            if sigs.verify(&public, signed.as_bytes(), &signature).await != Ok(true) {
                return Err(refused(&"its private part does not belong to its public part"));
            }
            signer.checked.store(true, Ordering::Relaxed);
        }
        Ok(format!("{signed}.{}", b64url(&signature)))
    }

    /// Verifies signature, algorithm and expiry at `now`, and reads the claims. A key the
    /// signature port cannot use (which configuration should have refused) refuses the token
    /// as [`TokenError::BadSignature`], and `unusable` hears why, for the operator's log.
    pub async fn verify<C: DeserializeOwned + Clone>(
        &self,
        sigs: &impl Signatures,
        token: &str,
        now: Timestamp,
        unusable: impl FnOnce(String),
    ) -> Result<Verified<C>, TokenError> {
        let untrusted = UntrustedToken::new(token).map_err(|_| TokenError::Malformed)?;
        let alg = match Alg::from_name(untrusted.algorithm()) {
            Some(alg @ (Alg::Hs256 | Alg::Es256 | Alg::Rs256)) => alg,
            _ => return Err(TokenError::Algorithm),
        };
        let named = match (&self.set, untrusted.header().key_id.as_deref()) {
            (Some(set), Some(kid)) => set.verifier(kid),
            _ => None,
        };
        // The key its kid names, for the algorithm that key is for; else the shared secret,
        // for HS256 only (upstream's fallback for tokens from before the key set).
        let key = match (named, alg) {
            (Some(key), alg) if key.alg() == alg => key,
            (Some(_), _) => return Err(TokenError::Algorithm),
            (None, Alg::Hs256) => &self.secret,
            (None, _) => return Err(TokenError::UnknownKey),
        };
        let signed = token.rsplit_once('.').map_or("", |(signed, _)| signed);
        match sigs.verify(key, signed.as_bytes(), untrusted.signature_bytes()).await {
            Ok(true) => {}
            Ok(false) => return Err(TokenError::BadSignature),
            Err(e) => {
                let kid = untrusted.header().key_id.as_deref().unwrap_or("(JWT_SECRET)");
                unusable(format!("the key {kid:?} cannot verify tokens: {e}"));
                return Err(TokenError::BadSignature);
            }
        }
        let claims = untrusted.deserialize_claims_unchecked::<C>().map_err(|_| TokenError::Claims)?;
        let now_dt = to_datetime(now);
        let options = TimeOptions::new(Duration::seconds(self.leeway_secs), move || now_dt);
        claims
            .validate_expiration(&options)
            .map_err(|e| match e {
                jwt_compact::ValidationError::NoClaim(_) => TokenError::Claims,
                _ => TokenError::Expired,
            })?;
        let expires_at = claims
            .expiration
            .map(|e| Timestamp(e.timestamp_millis()))
            .ok_or(TokenError::Claims)?;
        Ok(Verified {
            token_type: untrusted.header().token_type.clone(),
            claims: claims.custom,
            expires_at,
            issued_at: claims.issued_at.map(|t| Timestamp(t.timestamp_millis())),
        })
    }
}

/// A JWT's claims read *without* checking its signature: only to decide which key to verify
/// it with, never to trust. [`TokenError::Malformed`] if it is no JWT, `Claims` if its claims
/// do not read as `C`.
pub fn read_unverified<C: DeserializeOwned>(token: &str) -> Result<C, TokenError> {
    let untrusted = UntrustedToken::new(token).map_err(|_| TokenError::Malformed)?;
    untrusted.deserialize_claims_unchecked::<C>().map(|c| c.custom).map_err(|_| TokenError::Claims)
}

/// Unpadded URL-safe base64 of fresh random bytes.
pub fn random_b64(rng: &impl Rng, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rng.fill(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// A random UUID v4 string.
pub fn random_uuid(rng: &impl Rng) -> String {
    let mut buf = [0u8; 16];
    rng.fill(&mut buf);
    uuid::Builder::from_random_bytes(buf)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// A fresh record id of any kind (`UserId`, `SessionId`, `CodeId`, `LoginRequestId`): a random
/// UUID v4, the form every id Portcullis mints has.
pub fn random_id<I: From<String>>(rng: &impl Rng) -> I {
    I::from(random_uuid(rng))
}

/// Lower-case hex of fresh random bytes (error ids and the like).
pub fn random_hex(rng: &impl Rng, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rng.fill(&mut buf);
    hex::encode(buf)
}

/// SHA-256 hex of a token secret: what is stored in place of the secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Constant-time comparison of two hex digests (or any two strings).
pub fn digests_match(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Whether `verifier` answers a PKCE challenge (RFC 7636 section 4.6), compared in constant time.
pub fn pkce_verifies(challenge: &crate::model::PkceChallenge, verifier: &PkceVerifier) -> bool {
    use crate::model::PkceMethod;
    let verifier = verifier.expose();
    let derived = match challenge.method {
        PkceMethod::S256 => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
        PkceMethod::Plain => verifier.to_string(),
    };
    digests_match(&derived, &challenge.challenge)
}

/// A freshly made opaque token: give `token` to the client, store `id` and `secret_hash`.
#[derive(Debug)]
pub struct OpaqueToken {
    /// `id.secret`, shown once.
    pub token: Secret<String>,
    /// The public half.
    pub id: String,
    /// SHA-256 of the secret half.
    pub secret_hash: String,
}

impl OpaqueToken {
    /// 128-bit id, 256-bit secret.
    pub fn generate(rng: &impl Rng) -> Self {
        let id = random_b64(rng, 16);
        let secret = random_b64(rng, 32);
        let secret_hash = hash_secret(&secret);
        Self {
            token: Secret::new(format!("{id}.{secret}")),
            id,
            secret_hash,
        }
    }

    /// Splits a presented token into id and secret, or `None` if it is not of our shape.
    pub fn parse(presented: &str) -> Option<(&str, &str)> {
        let (id, secret) = presented.split_once('.')?;
        let ok = |s: &str, n: usize| {
            s.len() == n && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        (ok(id, 22) && ok(secret, 43)).then_some((id, secret))
    }
}

/// The successor of the opaque token `parent_id.parent_secret`, derived with `key`: the same
/// inputs always give the same token, and without the parent's secret (which is never
/// stored) it cannot be computed.
pub fn derive_token(key: &[u8], parent_id: &str, parent_secret: &str) -> OpaqueToken {
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let id_mac = hmac_parts(key, &[b"id", parent_id.as_bytes()]);
    let secret_mac = hmac_parts(key, &[b"secret", parent_id.as_bytes(), parent_secret.as_bytes()]);
    let id = b64(&id_mac[..16]);
    let secret = b64(&secret_mac);
    let secret_hash = hash_secret(&secret);
    OpaqueToken {
        token: Secret::new(format!("{id}.{secret}")),
        id,
        secret_hash,
    }
}

/// HMAC-SHA256 over length-prefixed parts (so part boundaries cannot be shifted).
fn hmac_parts(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut out = [0u8; 32];
    if let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) {
        for p in parts {
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p);
        }
        out.copy_from_slice(&mac.finalize().into_bytes());
    }
    out
}

/// Six uniformly random decimal digits.
pub fn random_code_digits(rng: &impl Rng) -> Secret<String> {
    // Rejection sampling: 4_294_000_000 is the largest multiple of 10^6 below 2^32, so every
    // code is equally likely.
    loop {
        let mut b = [0u8; 4];
        rng.fill(&mut b);
        let n = u32::from_le_bytes(b);
        if n < 4_294_000_000 {
            return Secret::new(format!("{:06}", n % 1_000_000));
        }
    }
}

/// Keyed hash of a code's digits, bound to the code's id: with the key kept server-side, a
/// leaked table does not reveal codes by a 10^6 brute force.
pub fn hash_code(key: &[u8], code_id: &CodeId, digits: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail; fall back to a plain hash anyway.
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(code_id.as_str().as_bytes());
            mac.update(b":");
            mac.update(digits.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => hash_secret(&format!("{code_id}:{digits}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SeededRng;

    #[test]
    fn pkce_s256_is_rfc_7636s_example_and_plain_is_the_verifier() {
        use crate::model::{PkceChallenge, PkceMethod};
        // RFC 7636 appendix B.
        let v = |s: &str| PkceVerifier::new(s.into());
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let s256 = PkceChallenge { method: PkceMethod::S256, challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into() };
        assert!(pkce_verifies(&s256, &v(verifier)));
        assert!(!pkce_verifies(&s256, &v("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj")));
        assert!(!pkce_verifies(&s256, &v(&s256.challenge)), "the challenge itself is no verifier");
        let plain = PkceChallenge { method: PkceMethod::Plain, challenge: verifier.into() };
        assert!(pkce_verifies(&plain, &v(verifier)));
        assert!(!pkce_verifies(&plain, &v("")));
    }
    use serde::Deserialize;

    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
    struct C {
        sub: String,
    }

    fn keys() -> JwtKeys {
        JwtKeys::new(&Secret::new(b"0123456789abcdef0123456789abcdef".to_vec()), 30)
    }

    const T0: Timestamp = Timestamp(1_700_000_000_000);

    use crate::testing::RustCryptoSignatures as Sigs;
    use pollster::block_on;

    #[test]
    fn a_signed_token_verifies_until_it_expires_plus_leeway() {
        let k = keys();
        let t = block_on(k.sign(&Sigs, C { sub: "u".into() }, T0, T0.plus_secs(60), None)).unwrap();
        let v = block_on(k.verify::<C>(&Sigs, &t, T0.plus_secs(59), drop)).unwrap();
        assert_eq!(v.claims.sub, "u");
        assert_eq!(v.expires_at, T0.plus_secs(60));
        assert!(block_on(k.verify::<C>(&Sigs, &t, T0.plus_secs(89), drop)).is_ok());
        assert_eq!(block_on(k.verify::<C>(&Sigs, &t, T0.plus_secs(91), drop)).unwrap_err(), TokenError::Expired);
    }

    #[test]
    fn tokens_signed_with_another_key_or_algorithm_are_invalid() {
        let other = JwtKeys::new(&Secret::new(b"another key entirely, 32 bytes!!".to_vec()), 0);
        let t = block_on(other.sign(&Sigs, C { sub: "u".into() }, T0, T0.plus_secs(60), None)).unwrap();
        assert_eq!(block_on(keys().verify::<C>(&Sigs, &t, T0, drop)).unwrap_err(), TokenError::BadSignature);
        // alg "none" with our claims must not pass.
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let none = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"JWT"}"#),
            b64(r#"{"sub":"u","exp":9999999999}"#)
        );
        assert_eq!(block_on(keys().verify::<C>(&Sigs, &none, T0, drop)).unwrap_err(), TokenError::Algorithm);
        assert_eq!(block_on(keys().verify::<C>(&Sigs, "garbage", T0, drop)).unwrap_err(), TokenError::Malformed);
    }

    #[test]
    fn opaque_tokens_round_trip_and_store_only_a_hash() {
        let rng = SeededRng::new(1);
        let t = OpaqueToken::generate(&rng);
        let (id, secret) = OpaqueToken::parse(t.token.expose()).unwrap();
        assert_eq!(id, t.id);
        assert!(digests_match(&hash_secret(secret), &t.secret_hash));
        assert!(!t.secret_hash.contains(secret));
        assert!(OpaqueToken::parse("a.b").is_none());
    }

    #[test]
    fn successors_are_deterministic_parseable_and_keyed() {
        let a = derive_token(b"k", "pid", "psecret");
        let b = derive_token(b"k", "pid", "psecret");
        assert!(a.token.ct_eq(&b.token));
        assert!(OpaqueToken::parse(a.token.expose()).is_some());
        assert!(!a.token.ct_eq(&derive_token(b"j", "pid", "psecret").token));
        assert!(!a.token.ct_eq(&derive_token(b"k", "pid", "other").token));
        assert_ne!(a.id, derive_token(b"k", "pie", "psecret").id);
    }

    #[test]
    fn codes_are_six_digits_and_hash_per_code() {
        let rng = SeededRng::new(2);
        let c = random_code_digits(&rng);
        assert_eq!(c.expose().len(), 6);
        assert!(c.expose().bytes().all(|b| b.is_ascii_digit()));
        let (id1, id2) = (CodeId::new("id1"), CodeId::new("id2"));
        assert_ne!(hash_code(b"k", &id1, "123456"), hash_code(b"k", &id2, "123456"));
        assert_ne!(hash_code(b"k", &id1, "123456"), hash_code(b"j", &id1, "123456"));
    }
}
