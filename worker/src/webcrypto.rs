//! The runtime's WebCrypto (`crypto.subtle`, native code in workerd) as the domain's
//! `Signatures` port: HMAC, ECDSA P-256, RSASSA-PKCS1-v1_5 and Ed25519 with SHA-256 where the
//! algorithm hashes. Keys are imported from their JWK members once and kept per isolate, by
//! their fingerprint; they are imported as not extractable.

use portcullis_shared::signature::{Alg, Key, SignatureError, Signatures};
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::js_sys::{Array, Object, Promise, Reflect, JSON};
use worker::wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    type Subtle;
    #[wasm_bindgen(thread_local_v2, js_namespace = crypto, js_name = subtle)]
    static SUBTLE: Subtle;
    #[wasm_bindgen(method, catch, js_name = importKey)]
    fn import_key(this: &Subtle, format: &str, key: &JsValue, algorithm: &Object, extractable: bool, usages: &Array) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn sign(this: &Subtle, algorithm: &Object, key: &JsValue, data: &[u8]) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn verify(this: &Subtle, algorithm: &Object, key: &JsValue, signature: &[u8], data: &[u8]) -> Result<Promise, JsValue>;
}

/// Most imported keys kept per isolate (a deployment has a handful; identity providers'
/// keys rotate).
const MAX_CACHED: usize = 64;

thread_local! {
    /// Imported keys by fingerprint and use (`true`: signing).
    static IMPORTED: RefCell<HashMap<([u8; 32], bool), JsValue>> = RefCell::new(HashMap::new());
}

/// WebCrypto's signatures.
pub struct WebCryptoSignatures;

/// `{name, ...}` as WebCrypto's algorithm parameters for `alg`.
fn algorithm(alg: Alg) -> Object {
    let object = Object::new();
    let set = |k: &str, v: &str| {
        let _ = Reflect::set(&object, &JsValue::from_str(k), &JsValue::from_str(v));
    };
    match alg {
        Alg::Hs256 => {
            set("name", "HMAC");
            set("hash", "SHA-256");
        }
        Alg::Es256 => {
            set("name", "ECDSA");
            set("namedCurve", "P-256");
            set("hash", "SHA-256");
        }
        Alg::Rs256 => {
            set("name", "RSASSA-PKCS1-v1_5");
            set("hash", "SHA-256");
        }
        Alg::EdDsa => set("name", "Ed25519"),
    }
    object
}

/// The JS error's name and message (WebCrypto's say what is wrong, never with key bytes).
fn described(e: &JsValue) -> String {
    let field = |k: &str| Reflect::get(e, &JsValue::from_str(k)).ok().and_then(|v| v.as_string()).unwrap_or_default();
    format!("{}: {}", field("name"), field("message"))
}

/// `key`, imported for signing or for verifying, from the cache or anew.
async fn imported(key: &Key, signing: bool) -> Result<JsValue, SignatureError> {
    let id = (*key.fingerprint(), signing);
    if let Some(hit) = IMPORTED.with(|c| c.borrow().get(&id).cloned()) {
        return Ok(hit);
    }
    let refused = |e: JsValue| SignatureError::Key(described(&e));
    let jwk = JSON::parse(&serde_json::Value::Object(key.jwk().clone()).to_string()).map_err(refused)?;
    let usages = Array::of1(&JsValue::from_str(if signing { "sign" } else { "verify" }));
    let promise = SUBTLE.with(|s| s.import_key("jwk", &jwk, &algorithm(key.alg()), false, &usages)).map_err(refused)?;
    let crypto_key = JsFuture::from(promise).await.map_err(refused)?;
    IMPORTED.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(id, crypto_key.clone());
    });
    Ok(crypto_key)
}

impl Signatures for WebCryptoSignatures {
    async fn sign(&self, key: &Key, data: &[u8]) -> Result<Vec<u8>, SignatureError> {
        if !key.is_private() {
            return Err(SignatureError::NotPrivate);
        }
        let crypto_key = imported(key, true).await?;
        let failed = |e: JsValue| SignatureError::Sign(described(&e));
        let promise = SUBTLE.with(|s| s.sign(&algorithm(key.alg()), &crypto_key, data)).map_err(failed)?;
        let signature = JsFuture::from(promise).await.map_err(failed)?;
        Ok(worker::js_sys::Uint8Array::new(&signature).to_vec())
    }

    async fn verify(&self, key: &Key, data: &[u8], signature: &[u8]) -> Result<bool, SignatureError> {
        // Keys that verify are public already (a key set keeps only the public part of its
        // verifiers); only a private one is cut down, which takes a hash.
        let public = key.is_private().then(|| key.public()).flatten();
        let key = public.as_ref().unwrap_or(key);
        let crypto_key = imported(key, false).await?;
        // The key imported; whatever `verify` refuses now is the signature's fault.
        let Ok(promise) = SUBTLE.with(|s| s.verify(&algorithm(key.alg()), &crypto_key, signature, data)) else {
            return Ok(false);
        };
        Ok(JsFuture::from(promise).await.is_ok_and(|v| v.as_bool() == Some(true)))
    }
}
