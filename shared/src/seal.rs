//! Sealing what must be stored and read back in the clear later (second factors' secrets), so
//! that a copy of the database alone does not yield it: XChaCha20-Poly1305 with a key derived
//! from a deployment secret, a random nonce per seal, and the record's identity as associated
//! data, so that a sealed value pasted into another record does not open there. Hashing what
//! needs only comparing (passwords, tokens, codes) is `crate::token`'s and `crate::password`'s.

use crate::ports::Rng;
use crate::secret::Secret;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// The format's prefix: a future key or cipher gets another.
const V1: &str = "v1.";
const NONCE_BYTES: usize = 24;

/// A 256-bit sealing key.
pub struct SealKey(Secret<Vec<u8>>);

impl SealKey {
    /// A key from 32 bytes of key material (a derived key); other lengths are refused.
    pub fn new(key: Secret<Vec<u8>>) -> Option<Self> {
        (key.expose().len() == 32).then_some(Self(key))
    }

    fn cipher(&self) -> Option<XChaCha20Poly1305> {
        XChaCha20Poly1305::new_from_slice(self.0.expose()).ok()
    }

    /// `plain` sealed for the record `context` names; `None` only if the key is unusable.
    pub fn seal(&self, rng: &impl Rng, plain: &[u8], context: &str) -> Option<String> {
        let mut nonce = [0u8; NONCE_BYTES];
        rng.fill(&mut nonce);
        let sealed = self.cipher()?.encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad: context.as_bytes() }).ok()?;
        Some(format!("{V1}{}", URL_SAFE_NO_PAD.encode([&nonce[..], &sealed].concat())))
    }

    /// What `sealed` holds, if it was sealed with this key for the record `context` names
    /// and not altered since.
    pub fn open(&self, sealed: &str, context: &str) -> Option<Secret<Vec<u8>>> {
        let raw = URL_SAFE_NO_PAD.decode(sealed.strip_prefix(V1)?).ok()?;
        if raw.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, body) = raw.split_at(NONCE_BYTES);
        let plain = self.cipher()?.decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad: context.as_bytes() }).ok()?;
        Some(Secret::new(plain))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    struct Counter(std::cell::Cell<u8>);
    impl Rng for Counter {
        fn fill(&self, buf: &mut [u8]) {
            for b in buf {
                self.0.set(self.0.get().wrapping_add(1));
                *b = self.0.get();
            }
        }
    }

    #[test]
    fn opens_only_where_sealed() {
        let key = SealKey::new(Secret::new(vec![9; 32])).unwrap();
        let other = SealKey::new(Secret::new(vec![8; 32])).unwrap();
        let rng = Counter(std::cell::Cell::new(0));
        let sealed = key.seal(&rng, b"secret", "factor:1").unwrap();
        assert_eq!(key.open(&sealed, "factor:1").unwrap().expose(), b"secret");
        assert!(key.open(&sealed, "factor:2").is_none(), "another record");
        assert!(other.open(&sealed, "factor:1").is_none(), "another key");
        let mut bytes = sealed.clone().into_bytes();
        let last = bytes.len() - 1;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert!(key.open(std::str::from_utf8(&bytes).unwrap(), "factor:1").is_none(), "altered");
        assert!(key.open("v1.", "factor:1").is_none());
        assert!(key.open("garbage", "factor:1").is_none());
        assert_ne!(key.seal(&rng, b"secret", "factor:1").unwrap(), sealed, "a nonce per seal");
        assert!(SealKey::new(Secret::new(vec![1; 16])).is_none());
    }
}
