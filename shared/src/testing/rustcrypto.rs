//! [`RustCryptoSignatures`]: the signature port over RustCrypto (`hmac`, `p256`, `rsa`,
//! `ed25519-dalek`), for native tests. The worker uses WebCrypto instead; the signature
//! contract holds both to the same answers.

use crate::signature::{Alg, Key, SignatureError, Signatures};
use ed25519_dalek::Verifier as _;
use hmac::{Hmac, Mac};
use rsa::signature::{SignatureEncoding as _, Signer as _};
use rsa::BigUint;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Signatures computed natively.
#[derive(Debug, Default, Clone, Copy)]
pub struct RustCryptoSignatures;

fn refused(what: &str) -> SignatureError {
    SignatureError::Key(what.into())
}

fn member<const N: usize>(key: &Key, name: &str) -> Result<[u8; N], SignatureError> {
    key.member(name).and_then(|b| b.try_into().ok()).ok_or_else(|| refused(&format!("{name} is missing")))
}

fn big(key: &Key, name: &str) -> Result<BigUint, SignatureError> {
    key.member(name).map(|b| BigUint::from_bytes_be(&b)).ok_or_else(|| refused(&format!("{name} is missing")))
}

fn hmac(key: &Key, data: &[u8]) -> Result<[u8; 32], SignatureError> {
    let secret = key.member("k").ok_or_else(|| refused("k is missing"))?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&secret).map_err(|_| refused("bad HMAC key"))?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().into())
}

fn ec_public(key: &Key) -> Result<p256::ecdsa::VerifyingKey, SignatureError> {
    let (x, y) = (member::<32>(key, "x")?, member::<32>(key, "y")?);
    let point = p256::EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
    p256::ecdsa::VerifyingKey::from_encoded_point(&point).map_err(|_| refused("the point is not on P-256"))
}

fn ed_public(key: &Key) -> Result<ed25519_dalek::VerifyingKey, SignatureError> {
    ed25519_dalek::VerifyingKey::from_bytes(&member::<32>(key, "x")?).map_err(|_| refused("x is not an Ed25519 point"))
}

fn rsa_public(key: &Key) -> Result<rsa::RsaPublicKey, SignatureError> {
    rsa::RsaPublicKey::new(big(key, "n")?, big(key, "e")?).map_err(|_| refused("not a usable RSA public key"))
}

impl Signatures for RustCryptoSignatures {
    async fn sign(&self, key: &Key, data: &[u8]) -> Result<Vec<u8>, SignatureError> {
        if !key.is_private() {
            return Err(SignatureError::NotPrivate);
        }
        match key.alg() {
            Alg::Hs256 => Ok(hmac(key, data)?.to_vec()),
            Alg::Es256 => {
                let signing = p256::ecdsa::SigningKey::from_bytes(&member::<32>(key, "d")?.into())
                    .map_err(|_| refused("d is not a P-256 scalar"))?;
                if *signing.verifying_key() != ec_public(key)? {
                    return Err(refused("d does not match x and y"));
                }
                let signature: p256::ecdsa::Signature = signing.sign(data);
                Ok(signature.to_vec())
            }
            Alg::Rs256 => {
                let primes = vec![big(key, "p")?, big(key, "q")?];
                let private = rsa::RsaPrivateKey::from_components(big(key, "n")?, big(key, "e")?, big(key, "d")?, primes)
                    .map_err(|_| refused("the RSA parts do not fit together"))?;
                private.validate().map_err(|_| refused("the RSA parts do not fit together"))?;
                let signing = rsa::pkcs1v15::SigningKey::<Sha256>::new(private);
                Ok(signing.try_sign(data).map_err(|e| SignatureError::Sign(e.to_string()))?.to_vec())
            }
            Alg::EdDsa => {
                let signing = ed25519_dalek::SigningKey::from_bytes(&member::<32>(key, "d")?);
                if signing.verifying_key() != ed_public(key)? {
                    return Err(refused("d does not match x"));
                }
                Ok(ed25519_dalek::Signer::sign(&signing, data).to_vec())
            }
        }
    }

    async fn verify(&self, key: &Key, data: &[u8], signature: &[u8]) -> Result<bool, SignatureError> {
        Ok(match key.alg() {
            Alg::Hs256 => signature.len() == 32 && bool::from(hmac(key, data)?.ct_eq(signature)),
            Alg::Es256 => {
                let public = ec_public(key)?;
                p256::ecdsa::Signature::from_slice(signature).is_ok_and(|s| public.verify(data, &s).is_ok())
            }
            Alg::Rs256 => {
                let public = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(rsa_public(key)?);
                rsa::pkcs1v15::Signature::try_from(signature).is_ok_and(|s| public.verify(data, &s).is_ok())
            }
            Alg::EdDsa => {
                let public = ed_public(key)?;
                ed25519_dalek::Signature::from_slice(signature).is_ok_and(|s| public.verify(data, &s).is_ok())
            }
        })
    }
}
