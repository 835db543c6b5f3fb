//! The browser adapters in headless Chromium (wasm-bindgen-test): localStorage as the token
//! store, fetch as the transport, WebAuthn's options and credentials between JSON and
//! `ArrayBuffer`s, and the `AuthClient` surface's errors as JavaScript sees them.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use js_sys::Reflect;
use portcullis_client::client::{HttpRequest, TokenStore, Transport};
use portcullis_client::storage::LocalStorage;
use portcullis_client::transport::Fetch;
use portcullis_client::AuthClient;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn window_storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

fn field(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap()
}

fn options(pairs: &[(&str, &str)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &JsValue::from_str(k), &JsValue::from_str(v)).unwrap();
    }
    o.into()
}

#[wasm_bindgen_test]
fn local_storage_keeps_the_token_where_the_page_sees_it() {
    let store = LocalStorage::open().unwrap();
    store.set("feathers-jwt", "abc.def.ghi").unwrap();
    assert_eq!(window_storage().get_item("feathers-jwt").unwrap().as_deref(), Some("abc.def.ghi"));
    assert_eq!(store.get("feathers-jwt").as_deref(), Some("abc.def.ghi"));
    store.remove("feathers-jwt");
    assert_eq!(window_storage().get_item("feathers-jwt").unwrap(), None);
    assert_eq!(store.get("feathers-jwt"), None);
}

/// What the test runner answers at `/tests/fixtures/fetched.json`: wasm-bindgen-test-runner
/// serves any path it did not generate from its working directory, which under `cargo test` is
/// this crate's, whatever the method; a file it cannot find is an empty 404.
const FETCHED: &str = include_str!("fixtures/fetched.json");

#[wasm_bindgen_test]
async fn fetch_returns_status_and_body_text() {
    let origin = web_sys::window().unwrap().location().origin().unwrap();
    let url = format!("{origin}/tests/fixtures/fetched.json");
    let post = HttpRequest { method: "POST", url: url.clone(), authorization: Some("Bearer x".into()), body: Some("{}".into()) };
    let res = Fetch.send(post).await.unwrap();
    assert_eq!((res.status, res.body.as_str()), (200, FETCHED));
    let res = Fetch.send(HttpRequest { method: "DELETE", url, authorization: None, body: None }).await.unwrap();
    assert_eq!((res.status, res.body.as_str()), (200, FETCHED));
    // An error status is an answer with its status, not a transport failure.
    let missing = format!("{origin}/tests/fixtures/no-such-file.json");
    let res = Fetch.send(HttpRequest { method: "POST", url: missing, authorization: None, body: Some("{}".into()) }).await.unwrap();
    assert_eq!((res.status, res.body.as_str()), (404, ""));
}

#[wasm_bindgen_test]
async fn fetch_reports_an_unreachable_server() {
    let err = Fetch
        .send(HttpRequest { method: "POST", url: "http://127.0.0.1:9/authentication".into(), authorization: None, body: Some("{}".into()) })
        .await
        .unwrap_err();
    assert!(err.contains("Could not reach http://127.0.0.1:9/authentication"), "{err}");
}

#[wasm_bindgen_test]
async fn the_client_rejects_with_errors_carrying_name_and_code() {
    window_storage().remove_item("feathers-jwt").unwrap();
    let auth = AuthClient::new(options(&[("baseUrl", "http://127.0.0.1:9")])).unwrap();
    let err = JsFuture::from(auth.re_authenticate()).await.unwrap_err();
    assert!(err.is_instance_of::<js_sys::Error>());
    assert_eq!(field(&err, "name"), "NotAuthenticated");
    assert_eq!(field(&err, "code"), 401);
    assert_eq!(field(&err, "message"), "No accessToken found in storage");

    let err = JsFuture::from(auth.authenticate(JsValue::from_str("local"))).await.unwrap_err();
    assert_eq!(field(&err, "name"), "BadRequest");

    window_storage().set_item("feathers-jwt", "kept").unwrap();
    let err = JsFuture::from(auth.re_authenticate()).await.unwrap_err();
    assert_eq!(field(&err, "name"), "NetworkError");
    assert_eq!(field(&err, "code"), 0);
    assert_eq!(auth.access_token().as_deref(), Some("kept"), "a network failure keeps the token");
    assert!(JsFuture::from(auth.logout()).await.is_err(), "logout cannot reach the server either");
    window_storage().remove_item("feathers-jwt").unwrap();
    assert_eq!(JsFuture::from(auth.logout()).await.unwrap(), JsValue::NULL, "nothing to log out");
}

#[wasm_bindgen_test]
fn options_are_checked() {
    assert!(AuthClient::new(JsValue::UNDEFINED).is_err());
    assert!(AuthClient::new(options(&[])).is_err());
    assert!(AuthClient::new(options(&[("baseUrl", "https://a.example"), ("storage", "cookies")])).is_err());
    let memory = AuthClient::new(options(&[("baseUrl", "https://a.example"), ("storage", "memory"), ("storageKey", "k")])).unwrap();
    window_storage().set_item("k", "in-local-storage").unwrap();
    assert_eq!(memory.access_token(), None, "memory storage does not read localStorage");
    window_storage().remove_item("k").unwrap();
}

fn bytes_of(v: &JsValue) -> Vec<u8> {
    js_sys::Uint8Array::new(v.dyn_ref::<js_sys::ArrayBuffer>().expect("an ArrayBuffer")).to_vec()
}

#[wasm_bindgen_test]
fn a_ceremonys_base64url_members_become_array_buffers() {
    use portcullis_client::webauthn::public_key;
    let creation = r#"{"challengeId": "c", "publicKey": {"challenge": "AAEC_-8", "user": {"id": "dXNlcg", "name": "ann"},
        "excludeCredentials": [{"type": "public-key", "id": "Y3JlZA"}], "rp": {"id": "example.com"}}, "expiresAt": "x"}"#;
    let o = public_key(creation, &["user"], "excludeCredentials").unwrap();
    assert_eq!(bytes_of(&field(&o, "challenge")), [0, 1, 2, 0xff, 0xef]);
    assert_eq!(bytes_of(&field(&field(&o, "user"), "id")), b"user");
    let excluded = js_sys::Array::from(&field(&o, "excludeCredentials"));
    assert_eq!(bytes_of(&field(&excluded.get(0), "id")), b"cred");
    assert_eq!(field(&field(&o, "user"), "name"), "ann", "the rest is left as it is");

    let request = r#"{"challengeId": "c", "publicKey": {"challenge": "AAEC", "rpId": "example.com", "userVerification": "required"}}"#;
    let o = public_key(request, &[], "allowCredentials").unwrap();
    assert_eq!(bytes_of(&field(&o, "challenge")), [0, 1, 2]);
    for bad in ["not json", r#"{"challengeId": "c"}"#, r#"{"publicKey": {"challenge": "a+b/"}}"#, r#"{"publicKey": {"challenge": 5}}"#] {
        assert_eq!(public_key(bad, &[], "allowCredentials").unwrap_err().code, 502, "{bad}");
    }
}

#[wasm_bindgen_test]
fn a_credential_is_written_as_to_json_would() {
    use portcullis_client::webauthn::to_json;
    let buffer = |b: &[u8]| JsValue::from(js_sys::Uint8Array::from(b).buffer());
    let response = js_sys::Object::new();
    Reflect::set(&response, &"clientDataJSON".into(), &buffer(b"{}")).unwrap();
    Reflect::set(&response, &"attestationObject".into(), &buffer(&[0xfb, 0xff])).unwrap();
    Reflect::set(&response, &"getTransports".into(), &js_sys::Function::new_no_args("return ['internal', 'hybrid']")).unwrap();
    let credential = js_sys::Object::new();
    Reflect::set(&credential, &"id".into(), &"Y3JlZA".into()).unwrap();
    Reflect::set(&credential, &"rawId".into(), &buffer(b"cred")).unwrap();
    Reflect::set(&credential, &"type".into(), &"public-key".into()).unwrap();
    Reflect::set(&credential, &"response".into(), &response).unwrap();
    Reflect::set(&credential, &"getClientExtensionResults".into(), &js_sys::Function::new_no_args("return {credProps: {rk: true}}")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&to_json(&credential, &["clientDataJSON", "attestationObject"]).unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "id": "Y3JlZA", "rawId": "Y3JlZA", "type": "public-key", "authenticatorAttachment": null,
            "clientExtensionResults": {"credProps": {"rk": true}},
            "response": {"clientDataJSON": "e30", "attestationObject": "-_8", "transports": ["internal", "hybrid"]},
        })
    );
    // An assertion's userHandle may be null.
    let response = js_sys::Object::new();
    Reflect::set(&response, &"userHandle".into(), &JsValue::NULL).unwrap();
    Reflect::set(&credential, &"response".into(), &response).unwrap();
    let json: serde_json::Value = serde_json::from_str(&to_json(&credential, &["userHandle"]).unwrap()).unwrap();
    assert_eq!(json["response"], serde_json::json!({"userHandle": null}));
    assert!(to_json(&JsValue::NULL, &[]).is_err());
}
