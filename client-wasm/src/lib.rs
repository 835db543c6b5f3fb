//! `portcullis-client`: the browser client of Portcullis, for web apps, from npm.
//!
//! This file is the `#[wasm_bindgen]` surface only: `AuthClient` with `authenticate`,
//! `reAuthenticate`, `logout`, `signInWith` (an identity provider), `signInWithPasskey`,
//! `registerPasskey`, `authenticateWithSecurityKey` and `accessToken`,
//! turning JavaScript values into the logic's types and back. The logic is in [`client`]
//! (tested natively); the browser's storage, fetch and WebAuthn are in [`storage`],
//! [`transport`] and [`webauthn`].
//!
//! ```js
//! import init, { AuthClient } from "portcullis-client";
//! await init();
//! const auth = new AuthClient({ baseUrl: "https://auth.example.com" });
//! const { accessToken, authentication, user } = await auth.authenticate({ strategy: "local", email, password });
//! ```

pub mod client;
pub mod storage;
pub mod transport;
pub mod webauthn;

use client::{take_from_fragment, Authenticated, Client, ClientError, FromUrl, MemoryStore, Options, TokenStore, LOCATION_ERROR_KEY, LOCATION_KEY};
use js_sys::{Promise, Reflect};
use storage::LocalStorage;
use transport::Fetch;
use webauthn::Browser;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Options of `new AuthClient(...)`. */
export interface AuthClientOptions {
  /** The Portcullis server, e.g. "https://auth.example.com". */
  baseUrl: string;
  /** The storage key of the token; default "feathers-jwt" (what Feathers' client uses). */
  storageKey?: string;
  /** "local" (window.localStorage, the default) or "memory" (gone on reload). */
  storage?: "local" | "memory";
}
/** The claims of an access token. */
export interface AuthPayload { iat: number; exp: number; aud: string; iss: string; sub: string; jti: string; }
/** The signed-in user, as the server's users service shows it. */
export interface AuthUser { id: string; email: string | null; avatar?: string; [field: string]: unknown; }
/** What authenticate and reAuthenticate resolve to. */
export interface AuthResult {
  accessToken: string;
  authentication: { strategy: string; accessToken?: string; payload: AuthPayload };
  user: AuthUser;
}
/** The body of authenticate: a strategy and its fields. */
export type AuthRequest =
  | { strategy: "local"; email: string; password: string }
  | { strategy: "jwt"; accessToken: string }
  /** Completes a `local` sign-in that rejected with `SecondStepData`: with the authenticator
   * app's code, or a recovery code when `factorId` names the account's recovery codes. */
  | { strategy: "totp"; ticket: string; code: string; factorId?: string }
  /** What authenticateWithSecurityKey sends: the ticket, a `second-factor-challenges`
   * ceremony's id and the assertion. */
  | { strategy: "webauthn"; ticket: string; challengeId: string; credential: unknown; factorId?: string }
  /** What signInWithPasskey sends: a `passkey-challenges` ceremony's id and the assertion
   * (`PublicKeyCredential.toJSON()`). */
  | { strategy: "passkey"; challengeId: string; credential: unknown }
  | { strategy: string; [field: string]: unknown };
/** The `data` of the NotAuthenticated error a `local` sign-in of an account with a second
 * factor rejects with: pass `ticket` and the authenticator app's code to the `totp` strategy,
 * or `ticket` to authenticateWithSecurityKey for a `webauthn` factor (`strategy` is
 * `webauthn` when every factor is a key). */
export interface SecondStepData {
  strategy: "totp" | "webauthn";
  ticket: string;
  factors: { id: string; type: "totp" | "webauthn" | "recovery_code"; friendlyName: string }[];
}
/** Options of signInWith. */
export interface SignInWithOptions {
  /** The path on the app's site to come back to (default: the current page's path and query);
   * the server adds it to its SITE_URL. */
  redirect?: string;
}
/** A passkey of the signed-in account, as registerPasskey resolves to it. */
export interface Passkey {
  id: string;
  name: string;
  /** RFC 3339. */
  createdAt: string;
  /** RFC 3339, or null before its first sign-in. */
  lastUsedAt: string | null;
}
/** How calls reject: an Error with the server's Feathers error fields. */
export interface AuthError extends Error {
  /** e.g. "NotAuthenticated", "BadRequest", "Conflict", or "NetworkError" when no answer came;
   * for a passkey ceremony the browser refused or the user cancelled, the browser's name
   * ("NotAllowedError", "InvalidStateError", "NotSupportedError"...). */
  name: string;
  /** The HTTP status, 0 when no answer came (or the browser refused a passkey ceremony). */
  code: number;
  className?: string;
  /** `SecondStepData` when a `local` sign-in needs the second factor. */
  data?: SecondStepData | unknown;
}
"#;

/// A client for one Portcullis server.
#[wasm_bindgen]
pub struct AuthClient {
    inner: Client<Fetch, Box<dyn TokenStore>>,
}

#[wasm_bindgen]
impl AuthClient {
    /// `new AuthClient({ baseUrl, storageKey?, storage? })`.
    #[wasm_bindgen(constructor)]
    pub fn new(#[wasm_bindgen(unchecked_param_type = "AuthClientOptions")] options: JsValue) -> Result<AuthClient, JsError> {
        let text = |name: &str| -> Result<Option<String>, JsError> {
            let v = Reflect::get(&options, &JsValue::from_str(name)).map_err(|_| JsError::new("options must be an object"))?;
            match (v.is_undefined() || v.is_null(), v.as_string()) {
                (true, _) => Ok(None),
                (false, Some(s)) => Ok(Some(s)),
                (false, None) => Err(JsError::new(&format!("options.{name} must be a string"))),
            }
        };
        if !options.is_object() {
            return Err(JsError::new("new AuthClient(options): options must be an object with a baseUrl"));
        }
        let base_url = text("baseUrl")?.filter(|u| !u.trim().is_empty()).ok_or_else(|| JsError::new("options.baseUrl is required"))?;
        let mut opts = Options::new(base_url.trim());
        if let Some(key) = text("storageKey")?.filter(|k| !k.is_empty()) {
            opts.storage_key = key;
        }
        let store: Box<dyn TokenStore> = match text("storage")?.as_deref() {
            None | Some("local") => Box::new(LocalStorage::open().map_err(|e| JsError::new(&e))?),
            Some("memory") => Box::new(MemoryStore::default()),
            Some(other) => return Err(JsError::new(&format!("options.storage must be \"local\" or \"memory\", not {other:?}"))),
        };
        let inner = Client::with_fragment_source(opts, Fetch, store, Box::new(token_from_location));
        Ok(AuthClient { inner })
    }

    /// Authenticates with a strategy (`{strategy: "local", email, password}`), stores the token
    /// and resolves to `{accessToken, authentication, user}`.
    #[wasm_bindgen(unchecked_return_type = "Promise<AuthResult>")]
    pub fn authenticate(&self, #[wasm_bindgen(unchecked_param_type = "AuthRequest")] data: JsValue) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let body = to_json(&data)?;
            result(inner.authenticate(&body).await)
        })
    }

    /// Authenticates again with the stored token (or `#access_token=` in the URL); concurrent
    /// calls share one request. A 401-407 answer removes the stored token.
    #[wasm_bindgen(js_name = reAuthenticate, unchecked_return_type = "Promise<AuthResult>")]
    pub fn re_authenticate(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            result(inner.re_authenticate().await)
        })
    }

    /// Ends the session on the server and removes the stored token; resolves to the ended
    /// authentication, or `null` if there was none.
    #[wasm_bindgen(unchecked_return_type = "Promise<AuthResult | null>")]
    pub fn logout(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            match inner.logout().await {
                Ok(Some(a)) => result(Ok(a)),
                Ok(None) => Ok(JsValue::NULL),
                Err(e) => Err(to_error(&e)),
            }
        })
    }

    /// Signs in with a passkey (`navigator.credentials.get` over the server's
    /// `passkey-challenges` ceremony, then the `passkey` strategy), stores the token and
    /// resolves to `{accessToken, authentication, user}`.
    #[wasm_bindgen(js_name = signInWithPasskey, unchecked_return_type = "Promise<AuthResult>")]
    pub fn sign_in_with_passkey(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            result(inner.sign_in_with_passkey(&Browser).await)
        })
    }

    /// Completes a `local` sign-in that rejected with `SecondStepData` with a security key:
    /// `navigator.credentials.get` over the server's `second-factor-challenges` ceremony for
    /// `ticket` (and the factor `factorId`, when the account has several keys), then the
    /// `webauthn` strategy; stores the token and resolves to `{accessToken, authentication, user}`.
    #[wasm_bindgen(js_name = authenticateWithSecurityKey, unchecked_return_type = "Promise<AuthResult>")]
    pub fn authenticate_with_security_key(&self, ticket: String, #[wasm_bindgen(js_name = factorId)] factor_id: Option<String>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            result(inner.second_step_with_key(&ticket, factor_id.as_deref(), &Browser).await)
        })
    }

    /// Registers a passkey for the signed-in account (`navigator.credentials.create` over the
    /// server's `passkey-registrations` ceremony, sent to `passkey-credentials`); resolves to
    /// the new passkey.
    #[wasm_bindgen(js_name = registerPasskey, unchecked_return_type = "Promise<Passkey>")]
    pub fn register_passkey(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let passkey = inner.register_passkey(&Browser).await.map_err(|e| to_error(&e))?;
            js_sys::JSON::parse(&passkey)
        })
    }

    /// Signs in through an identity provider: sends the browser to the server's
    /// `/oauth/:provider`, from where it comes back to the app's site (at the path
    /// `options.redirect`, default the current page's) with the session in the URL fragment;
    /// `reAuthenticate()` on that page completes the sign-in and stores the token. The token
    /// stored before is forgotten first: a token in the URL is taken only when none is stored.
    #[wasm_bindgen(js_name = signInWith)]
    pub fn sign_in_with(&self, provider: String, #[wasm_bindgen(unchecked_param_type = "SignInWithOptions")] options: Option<JsValue>) -> Result<(), JsError> {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let window = web_sys::window().ok_or_else(|| JsError::new("signInWith needs a browser window"))?;
        let location = window.location();
        let redirect = match Reflect::get(&options, &JsValue::from_str("redirect")).ok().and_then(|v| v.as_string()) {
            Some(path) => path,
            None => format!("{}{}", location.pathname().unwrap_or_default(), location.search().unwrap_or_default()),
        };
        if provider.is_empty() {
            return Err(JsError::new("signInWith(provider): provider must be a non-empty string"));
        }
        location.assign(&self.inner.start_sign_in(&provider, Some(&redirect))).map_err(|_| JsError::new("the browser refused to navigate"))
    }

    /// The stored access token, or `undefined`.
    #[wasm_bindgen(getter, js_name = accessToken)]
    pub fn access_token(&self) -> Option<String> {
        self.inner.access_token()
    }
}

/// Takes what a redirect back from a provider left out of `window.location.hash`
/// (`#access_token=`, else `#error=`), as Feathers' client does.
fn token_from_location() -> Option<FromUrl> {
    let location = web_sys::window()?.location();
    let hash = location.hash().ok()?;
    let (found, rest) = match take_from_fragment(&hash, LOCATION_KEY) {
        Some((token, rest)) => (FromUrl::Token(token), rest),
        None => {
            let (message, rest) = take_from_fragment(&hash, LOCATION_ERROR_KEY)?;
            let decoded = js_sys::decode_uri_component(&message).map(String::from).unwrap_or(message);
            (FromUrl::Error(decoded), rest)
        }
    };
    let _ = location.set_hash(&rest);
    Some(found)
}

/// The JSON text of an `authenticate` argument, which must be a plain object.
fn to_json(value: &JsValue) -> Result<String, JsValue> {
    let invalid = || to_error(&ClientError::of_status(400, "authenticate(data): data must be an object with a strategy".into()));
    if !value.is_object() || js_sys::Array::is_array(value) {
        return Err(invalid());
    }
    js_sys::JSON::stringify(value).map(String::from).map_err(|_| invalid())
}

fn result(r: Result<Authenticated, ClientError>) -> Result<JsValue, JsValue> {
    let done = r.map_err(|e| to_error(&e))?;
    js_sys::JSON::parse(&done.raw)
}

/// An `Error` carrying the Feathers fields `name`, `code`, `className` and `data`.
fn to_error(e: &ClientError) -> JsValue {
    let error = js_sys::Error::new(&e.message);
    error.set_name(&e.name);
    let set = |k: &str, v: &JsValue| {
        let _ = Reflect::set(&error, &JsValue::from_str(k), v);
    };
    set("code", &JsValue::from(e.code));
    if let Some(c) = &e.class_name {
        set("className", &JsValue::from_str(c));
    }
    if let Some(body) = e.body.as_deref().and_then(|b| js_sys::JSON::parse(b).ok()) {
        for key in ["data", "errors"] {
            match Reflect::get(&body, &JsValue::from_str(key)) {
                Ok(v) if !v.is_undefined() => set(key, &v),
                _ => {}
            }
        }
    }
    error.into()
}
