//! The browser's authenticator: `navigator.credentials.get` and `create`. Only this module
//! touches them.
//!
//! The server sends the ceremony's options as JSON with base64url binary members
//! (`PublicKeyCredentialRequestOptionsJSON` / `...CreationOptionsJSON`); the WebAuthn API takes
//! `ArrayBuffer`s, and gives the credential back with `ArrayBuffer` members. Not every browser
//! has `PublicKeyCredential.parseRequestOptionsFromJSON` or `toJSON()` yet, so both
//! conversions are done here: the options' `challenge`, `user.id` and
//! `allowCredentials`/`excludeCredentials` ids are decoded, and the credential is written as
//! `toJSON()` would (base64url members, `transports` from `getTransports()`).

use crate::client::{Authenticator, ClientError};
use js_sys::{Array, ArrayBuffer, Function, Object, Reflect, Uint8Array, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// `navigator.credentials` of the page.
#[derive(Debug, Default, Clone, Copy)]
pub struct Browser;

impl Authenticator for Browser {
    async fn get(&self, ceremony: &str) -> Result<String, ClientError> {
        let public_key = public_key(ceremony, &[], "allowCredentials")?;
        let options = wrap(&public_key)?;
        let promise = credentials()?.get_with_options(options.unchecked_ref()).map_err(|e| refused(&e))?;
        let credential = JsFuture::from(promise).await.map_err(|e| refused(&e))?;
        to_json(&credential, &["clientDataJSON", "authenticatorData", "signature", "userHandle"])
    }

    async fn create(&self, ceremony: &str) -> Result<String, ClientError> {
        let public_key = public_key(ceremony, &["user"], "excludeCredentials")?;
        let options = wrap(&public_key)?;
        let promise = credentials()?.create_with_options(options.unchecked_ref()).map_err(|e| refused(&e))?;
        let credential = JsFuture::from(promise).await.map_err(|e| refused(&e))?;
        to_json(&credential, &["clientDataJSON", "attestationObject"])
    }
}

fn unsupported(what: &str) -> ClientError {
    ClientError { name: "NotSupportedError".into(), code: 0, message: format!("This browser has no {what}"), class_name: None, body: None }
}

fn credentials() -> Result<web_sys::CredentialsContainer, ClientError> {
    let window = web_sys::window().ok_or_else(|| unsupported("window"))?;
    let container = window.navigator().credentials();
    match JsValue::from(container.clone()).is_undefined() {
        true => Err(unsupported("navigator.credentials (WebAuthn needs a secure context)")),
        false => Ok(container),
    }
}

/// A refusal of the browser or the user (`NotAllowedError` when the user cancelled or no
/// passkey was found, `InvalidStateError` for one already registered...), named as the
/// browser names it; code 0, as no server answered.
fn refused(e: &JsValue) -> ClientError {
    let field = |k: &str| Reflect::get(e, &JsValue::from_str(k)).ok().and_then(|v| v.as_string());
    ClientError {
        name: field("name").unwrap_or_else(|| "NotAllowedError".into()),
        code: 0,
        message: field("message").unwrap_or_else(|| "The passkey ceremony did not complete".into()),
        class_name: None,
        body: None,
    }
}

fn malformed(why: &str) -> ClientError {
    ClientError::of_status(502, format!("The server's passkey ceremony is not usable: {why}"))
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn set(target: &JsValue, key: &str, value: &JsValue) -> Result<(), ClientError> {
    Reflect::set(target, &JsValue::from_str(key), value).map(|_| ()).map_err(|_| malformed(key))
}

/// The base64url text member `key` of `target` as an `ArrayBuffer`, in place.
fn decode_member(target: &JsValue, key: &str) -> Result<(), ClientError> {
    let text = get(target, key).as_string().ok_or_else(|| malformed(&format!("{key} is not a string")))?;
    let bytes = decode(&text).ok_or_else(|| malformed(&format!("{key} is not base64url")))?;
    set(target, key, &Uint8Array::from(bytes.as_slice()).buffer())
}

/// The `publicKey` of a ceremony's JSON text, with its binary members decoded: `challenge`,
/// the `id` of each object named in `with_id` (`user`), and each descriptor's `id` in the
/// list `descriptors`.
pub fn public_key(ceremony: &str, with_id: &[&str], descriptors: &str) -> Result<JsValue, ClientError> {
    let parsed = JSON::parse(ceremony).map_err(|_| malformed("not JSON"))?;
    let public_key = get(&parsed, "publicKey");
    if !public_key.is_object() {
        return Err(malformed("no publicKey"));
    }
    decode_member(&public_key, "challenge")?;
    for name in with_id {
        decode_member(&get(&public_key, name), "id")?;
    }
    let list = get(&public_key, descriptors);
    if Array::is_array(&list) {
        for descriptor in Array::from(&list).iter() {
            decode_member(&descriptor, "id")?;
        }
    }
    Ok(public_key)
}

/// `{publicKey}`, the argument of `get` and `create`.
fn wrap(public_key: &JsValue) -> Result<Object, ClientError> {
    let options = Object::new();
    set(&options, "publicKey", public_key)?;
    Ok(options)
}

/// A `PublicKeyCredential` as `toJSON()` gives it: `id`, `rawId`, `type`,
/// `authenticatorAttachment`, `clientExtensionResults`, and `response` with the members
/// `binary` in base64url (`null` stays `null`) and, for a registration, `transports`.
pub fn to_json(credential: &JsValue, binary: &[&str]) -> Result<String, ClientError> {
    let not_a_credential = || ClientError::of_status(500, "The browser gave no PublicKeyCredential".into());
    if !credential.is_object() {
        return Err(not_a_credential());
    }
    let out = Object::new();
    let response = get(credential, "response");
    let json_response = Object::new();
    for name in binary {
        let value = get(&response, name);
        if value.is_null() {
            set(&json_response, name, &JsValue::NULL)?;
        } else if let Some(buffer) = value.dyn_ref::<ArrayBuffer>() {
            set(&json_response, name, &JsValue::from_str(&encode(&Uint8Array::new(buffer).to_vec())))?;
        }
    }
    if let Ok(transports) = get(&response, "getTransports").dyn_into::<Function>() {
        set(&json_response, "transports", &transports.call0(&response).unwrap_or_else(|_| Array::new().into()))?;
    }
    let raw_id = get(credential, "rawId").dyn_into::<ArrayBuffer>().map_err(|_| not_a_credential())?;
    set(&out, "id", &get(credential, "id"))?;
    set(&out, "rawId", &JsValue::from_str(&encode(&Uint8Array::new(&raw_id).to_vec())))?;
    set(&out, "type", &get(credential, "type"))?;
    let attachment = Some(get(credential, "authenticatorAttachment")).filter(|a| !a.is_undefined()).unwrap_or(JsValue::NULL);
    set(&out, "authenticatorAttachment", &attachment)?;
    let extensions = get(credential, "getClientExtensionResults")
        .dyn_into::<Function>()
        .ok()
        .and_then(|f| f.call0(credential).ok())
        .unwrap_or_else(|| Object::new().into());
    set(&out, "clientExtensionResults", &extensions)?;
    set(&out, "response", &json_response)?;
    JSON::stringify(&out).map(String::from).map_err(|_| not_a_credential())
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding (RFC 4648 section 5), as WebAuthn's JSON forms use.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// Base64url with or without padding; `None` for anything else (standard base64's `+` and
/// `/` included: the server never sends them).
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut n, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|a| *a == c)? as u32;
        n = n << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((n >> bits & 0xff) as u8);
        }
    }
    // A lone character is 6 bits, no byte: not an encoding of anything.
    (text.len() % 4 != 1).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};

    #[test]
    fn base64url_round_trips_rfc_4648_vectors() {
        let vectors: [(&[u8], &str); 7] = [(b"", ""), (b"f", "Zg"), (b"fo", "Zm8"), (b"foo", "Zm9v"), (b"foob", "Zm9vYg"), (b"fooba", "Zm9vYmE"), (b"foobar", "Zm9vYmFy")];
        for (bytes, text) in vectors {
            assert_eq!(encode(bytes), text);
            assert_eq!(decode(text).as_deref(), Some(bytes));
        }
        assert_eq!(encode(&[0xfb, 0xff, 0xfe]), "-__-");
        assert_eq!(decode("-__-"), Some(vec![0xfb, 0xff, 0xfe]));
        assert_eq!(decode("Zm8="), Some(b"fo".to_vec()));
    }

    #[test]
    fn base64url_refuses_what_is_not() {
        assert_eq!(decode("Zm9v+/"), None);
        assert_eq!(decode("Z"), None);
        assert_eq!(decode("Zm 9v"), None);
    }
}
