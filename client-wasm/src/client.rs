//! The client's logic, over a [`Transport`] and a [`TokenStore`], with no browser API in
//! sight, so it is tested natively.
//!
//! It follows `@feathersjs/authentication-client`: `authenticate` posts to `/authentication`
//! and stores the token; `re_authenticate` sends the stored token (or, when none is stored, one
//! from the URL fragment) through the `jwt` strategy, and concurrent calls share one request;
//! `logout`
//! deletes the authentication and clears the store. An error answer with a status from 401
//! to 407 removes the stored token, as upstream does; other failures leave it.
//!
//! Passkeys go through the server's Feathers passkey services and an [`Authenticator`] (the
//! browser's `navigator.credentials` in `webauthn`): `sign_in_with_passkey` asks
//! `passkey-challenges` for a ceremony and answers it through the `passkey` strategy, storing
//! the token as `authenticate` does; `register_passkey` asks `passkey-registrations` with the
//! stored token and sends the new credential to `passkey-credentials`. A security key takes
//! the second step of a `local` sign-in the same way (`second_step_with_key`): a ceremony from
//! `second-factor-challenges` for the ticket, answered through the `webauthn` strategy.

use futures_util::future::{FutureExt as _, LocalBoxFuture, Shared};
use portcullis_shared::wire::feathers::{
    AuthRequest, AuthResult, ErrorBody, JWT, PASSKEY, PASSKEY_CHALLENGES, PASSKEY_CREDENTIALS, PASSKEY_REGISTRATIONS, SECOND_FACTOR_CHALLENGES, WEBAUTHN,
};
use serde::Deserialize;
use std::cell::RefCell;
use std::rc::Rc;

/// Where the token is kept unless told otherwise: the key Feathers' own client uses, so users
/// of a Feathers app stay signed in after the switch.
pub const DEFAULT_STORAGE_KEY: &str = "feathers-jwt";

/// The fragment parameter a redirect may carry a token in (`#access_token=...`).
pub const LOCATION_KEY: &str = "access_token";
/// The fragment parameter a refused sign-in through a provider comes back with
/// (`#error=...`).
pub const LOCATION_ERROR_KEY: &str = "error";

/// What a redirect back from a sign-in through a provider left in the URL fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromUrl {
    /// `#access_token=`: the new session's token.
    Token(String),
    /// `#error=`: why the sign-in was refused, decoded.
    Error(String),
}

/// An HTTP request for the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `POST` or `DELETE`.
    pub method: &'static str,
    /// The absolute URL.
    pub url: String,
    /// The `Authorization` header value, if any.
    pub authorization: Option<String>,
    /// A JSON body, if any.
    pub body: Option<String>,
}

/// An HTTP response: status and body text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The body as text.
    pub body: String,
}

/// Sends HTTP requests (fetch in the browser).
pub trait Transport {
    /// Sends `req`; `Err` carries a network failure's description.
    #[allow(async_fn_in_trait)]
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String>;
}

/// Runs a WebAuthn ceremony (the browser's `navigator.credentials`): each method takes the
/// server's ceremony, `{challengeId, publicKey, expiresAt}` as JSON text, and gives the
/// credential as `PublicKeyCredential.toJSON()` would, as JSON text.
pub trait Authenticator {
    /// `navigator.credentials.get`: an assertion of one of the user's passkeys.
    #[allow(async_fn_in_trait)]
    async fn get(&self, ceremony: &str) -> Result<String, ClientError>;
    /// `navigator.credentials.create`: a new passkey.
    #[allow(async_fn_in_trait)]
    async fn create(&self, ceremony: &str) -> Result<String, ClientError>;
}

/// The member of a ceremony the client reads; the rest is the authenticator's.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CeremonyHead {
    challenge_id: String,
}

/// Keeps the access token (localStorage in the browser, or memory).
pub trait TokenStore {
    /// The value under `key`.
    fn get(&self, key: &str) -> Option<String>;
    /// Stores `value` under `key`; `Err` says why the store refused.
    fn set(&self, key: &str, value: &str) -> Result<(), String>;
    /// Removes `key`.
    fn remove(&self, key: &str);
}

/// Either store, chosen at run time (the JavaScript options pick one).
impl TokenStore for Box<dyn TokenStore> {
    fn get(&self, key: &str) -> Option<String> {
        (**self).get(key)
    }
    fn set(&self, key: &str, value: &str) -> Result<(), String> {
        (**self).set(key, value)
    }
    fn remove(&self, key: &str) {
        (**self).remove(key)
    }
}

/// A token store in memory: signed out on reload.
#[derive(Debug, Default)]
pub struct MemoryStore(RefCell<Option<(String, String)>>);

impl TokenStore for MemoryStore {
    fn get(&self, key: &str) -> Option<String> {
        self.0.borrow().as_ref().filter(|(k, _)| k == key).map(|(_, v)| v.clone())
    }
    fn set(&self, key: &str, value: &str) -> Result<(), String> {
        *self.0.borrow_mut() = Some((key.to_string(), value.to_string()));
        Ok(())
    }
    fn remove(&self, key: &str) {
        let mut slot = self.0.borrow_mut();
        if slot.as_ref().is_some_and(|(k, _)| k == key) {
            *slot = None;
        }
    }
}

/// A failed call: the server's Feathers error, or a local one in the same shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientError {
    /// `NotAuthenticated`, `BadRequest`, ... or `NetworkError`.
    pub name: String,
    /// The HTTP status (`0` when no answer came).
    pub code: u16,
    /// What went wrong, in words.
    pub message: String,
    /// The kebab-case class name, if the server sent one.
    pub class_name: Option<String>,
    /// The server's error body as sent (its `data` and `errors` are handed to JavaScript).
    pub body: Option<String>,
}

/// The fields of a Feathers error the client reads. Not [`ErrorBody`]: its free-form `data`
/// would pull a JSON tree parser into the wasm; `body` keeps the whole text instead.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorHead {
    name: String,
    message: String,
    code: u16,
    class_name: Option<String>,
}

impl ClientError {
    fn from_head(head: ErrorHead, body: String) -> Self {
        Self { name: head.name, code: head.code, message: head.message, class_name: head.class_name, body: Some(body) }
    }

    /// The error of class `code` (BadRequest for 400 ...) with `message`.
    pub fn of_status(code: u16, message: String) -> Self {
        let (name, class_name) = ErrorBody::class_of(code);
        Self { name: name.into(), code, message, class_name: Some(class_name.into()), body: None }
    }

    fn network(message: String) -> Self {
        Self { name: "NetworkError".into(), code: 0, message, class_name: None, body: None }
    }

    /// Whether this error makes a stored token useless (401 to 407, as upstream decides).
    pub fn ends_authentication(&self) -> bool {
        (401..=407).contains(&self.code)
    }
}

/// A successful authentication: the typed result and the whole body as the server sent it
/// (handed to JavaScript unchanged, extra user fields included).
#[derive(Debug, Clone, PartialEq)]
pub struct Authenticated {
    /// The result's fields the client relies on.
    pub result: AuthResult,
    /// The body as sent.
    pub raw: String,
}

/// The client's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The server's origin (and path prefix, if any), without a trailing slash.
    pub base_url: String,
    /// The store key of the token.
    pub storage_key: String,
}

impl Options {
    /// Settings for `base_url` with the default storage key.
    pub fn new(base_url: &str) -> Self {
        Self { base_url: base_url.trim_end_matches('/').to_string(), storage_key: DEFAULT_STORAGE_KEY.into() }
    }
}

type Pending = Shared<LocalBoxFuture<'static, Result<Authenticated, ClientError>>>;

struct Inner<T, S> {
    options: Options,
    transport: T,
    store: S,
    fragment: Option<Box<dyn Fn() -> Option<FromUrl>>>,
    pending: RefCell<Option<Pending>>,
}

/// The authentication client. Cloning gives another handle to the same client.
pub struct Client<T, S> {
    inner: Rc<Inner<T, S>>,
}

impl<T, S> Clone for Client<T, S> {
    fn clone(&self) -> Self {
        Self { inner: Rc::clone(&self.inner) }
    }
}

impl<T: Transport + 'static, S: TokenStore + 'static> Client<T, S> {
    /// A client with `options` over `transport` and `store`.
    pub fn new(options: Options, transport: T, store: S) -> Self {
        Self {
            inner: Rc::new(Inner { options, transport, store, fragment: None, pending: RefCell::new(None) }),
        }
    }

    /// Also looks in the URL fragment, through `take` (which removes what it found there), for
    /// what a redirect back from a provider left, as Feathers' client does: only when no token
    /// is stored, since anyone can write a link with a fragment (a signed-in user who follows
    /// `https://app/#access_token=<someone else's>` stays who they are); then its token is
    /// used, and a refusal rejects `re_authenticate`. [`Client::start_sign_in`] forgets the
    /// stored token, so a sign-in through a provider is not hidden by an older one.
    pub fn with_fragment_source(options: Options, transport: T, store: S, take: Box<dyn Fn() -> Option<FromUrl>>) -> Self {
        Self {
            inner: Rc::new(Inner { options, transport, store, fragment: Some(take), pending: RefCell::new(None) }),
        }
    }

    /// Where the browser goes to sign in through `provider` (the server's
    /// `/oauth/:provider`), coming back to the path `redirect` on the app's site.
    pub fn sign_in_url(&self, provider: &str, redirect: Option<&str>) -> String {
        let mut url = format!("{}/oauth/{}", self.inner.options.base_url, encode(provider));
        if let Some(path) = redirect {
            url.push_str("?redirect=");
            url.push_str(&encode(path));
        }
        url
    }

    /// Starts a sign-in through `provider`: forgets the stored token (the sign-in replaces
    /// it, and would not be taken while one is stored) and gives [`Client::sign_in_url`].
    pub fn start_sign_in(&self, provider: &str, redirect: Option<&str>) -> String {
        self.inner.forget();
        self.sign_in_url(provider, redirect)
    }

    /// The stored access token, if any.
    pub fn access_token(&self) -> Option<String> {
        self.inner.store.get(&self.inner.options.storage_key)
    }

    /// Authenticates with `data`, the JSON text of `{strategy: "local", email, password}`,
    /// `{strategy: "jwt", accessToken}` or another strategy's fields, and stores the token.
    pub async fn authenticate(&self, data: &str) -> Result<Authenticated, ClientError> {
        self.inner.authenticate(data).await
    }

    /// Authenticates with the stored token through the `jwt` strategy. Calls made while one
    /// is under way share its request and its answer.
    pub async fn re_authenticate(&self) -> Result<Authenticated, ClientError> {
        let shared = {
            let mut pending = self.inner.pending.borrow_mut();
            match pending.as_ref() {
                Some(running) => running.clone(),
                None => {
                    let inner = Rc::clone(&self.inner);
                    let run = async move {
                        let result = inner.re_authenticate_once().await;
                        *inner.pending.borrow_mut() = None;
                        result
                    };
                    let shared = run.boxed_local().shared();
                    *pending = Some(shared.clone());
                    shared
                }
            }
        };
        shared.await
    }

    /// Signs in with a passkey: a ceremony from `passkey-challenges`, run by `authenticator`,
    /// answered through the `passkey` strategy; stores the token as [`Client::authenticate`].
    pub async fn sign_in_with_passkey(&self, authenticator: &impl Authenticator) -> Result<Authenticated, ClientError> {
        let inner = &self.inner;
        let ceremony = inner.send_json(inner.post(PASSKEY_CHALLENGES, None, "{}".into())).await?;
        let head = read_ceremony(&ceremony)?;
        let credential = authenticator.get(&ceremony).await?;
        inner.authenticate(&answer(Some(PASSKEY), &[], &head.challenge_id, &credential)).await
    }

    /// Completes a `local` sign-in that rejected with a second step's `ticket` with a security
    /// key (the account's WebAuthn factor `factor_id`, or its only one): a ceremony from
    /// `second-factor-challenges`, run by `authenticator`, answered through the `webauthn`
    /// strategy; stores the token as [`Client::authenticate`].
    pub async fn second_step_with_key(&self, ticket: &str, factor_id: Option<&str>, authenticator: &impl Authenticator)
        -> Result<Authenticated, ClientError> {
        let inner = &self.inner;
        let mut members = vec![("ticket", ticket)];
        members.extend(factor_id.map(|f| ("factorId", f)));
        let asked = format!("{{{}}}", members.iter().map(|(k, v)| format!("{}:{}", quoted(k), quoted(v))).collect::<Vec<_>>().join(","));
        let ceremony = inner.send_json(inner.post(SECOND_FACTOR_CHALLENGES, None, asked)).await?;
        let head = read_ceremony(&ceremony)?;
        let credential = authenticator.get(&ceremony).await?;
        inner.authenticate(&answer(Some(WEBAUTHN), &members, &head.challenge_id, &credential)).await
    }

    /// Registers a passkey for the signed-in account: a ceremony from `passkey-registrations`,
    /// run by `authenticator`, sent to `passkey-credentials`; resolves to the new passkey
    /// (`{id, name, createdAt, lastUsedAt}`) as JSON text. Needs the stored token.
    pub async fn register_passkey(&self, authenticator: &impl Authenticator) -> Result<String, ClientError> {
        let inner = &self.inner;
        let token = self.access_token().ok_or_else(|| ClientError::of_status(401, "No accessToken found in storage".into()))?;
        let bearer = format!("Bearer {token}");
        let ceremony = inner.send_json(inner.post(PASSKEY_REGISTRATIONS, Some(bearer.clone()), "{}".into())).await?;
        let head = read_ceremony(&ceremony)?;
        let credential = authenticator.create(&ceremony).await?;
        inner.send_json(inner.post(PASSKEY_CREDENTIALS, Some(bearer), answer(None, &[], &head.challenge_id, &credential))).await
    }

    /// Ends the authentication on the server and clears the store. `Ok(None)` when there was
    /// nothing (left) to end.
    pub async fn logout(&self) -> Result<Option<Authenticated>, ClientError> {
        let inner = &self.inner;
        let Some(token) = self.access_token() else {
            return Ok(None);
        };
        let req = HttpRequest {
            method: "DELETE",
            url: inner.url(),
            authorization: Some(format!("Bearer {token}")),
            body: None,
        };
        match inner.call(req).await {
            Ok(done) => {
                inner.forget();
                Ok(Some(done))
            }
            Err(e) if e.ends_authentication() => {
                inner.forget();
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

impl<T: Transport, S: TokenStore> Inner<T, S> {
    fn url(&self) -> String {
        format!("{}/authentication", self.options.base_url)
    }

    /// A `POST` of `body` to the service `path`.
    fn post(&self, path: &str, authorization: Option<String>, body: String) -> HttpRequest {
        HttpRequest { method: "POST", url: format!("{}/{path}", self.options.base_url), authorization, body: Some(body) }
    }

    fn forget(&self) {
        self.store.remove(&self.options.storage_key);
    }

    async fn authenticate(&self, data: &str) -> Result<Authenticated, ClientError> {
        let req = HttpRequest { method: "POST", url: self.url(), authorization: None, body: Some(data.to_string()) };
        match self.call(req).await {
            Ok(done) => {
                self.store
                    .set(&self.options.storage_key, &done.result.access_token)
                    .map_err(|e| ClientError::of_status(500, format!("Could not store the access token: {e}")))?;
                Ok(done)
            }
            Err(e) => {
                if e.ends_authentication() {
                    self.forget();
                }
                Err(e)
            }
        }
    }

    async fn re_authenticate_once(&self) -> Result<Authenticated, ClientError> {
        // Taken out of the URL either way; used only when no token is stored (a stored session
        // is not replaced, nor ended, by whoever wrote the link that brought the browser here).
        let from_url = self.fragment.as_ref().and_then(|take| take());
        let token = match (self.store.get(&self.options.storage_key), from_url) {
            (Some(stored), _) => Some(stored),
            (None, Some(FromUrl::Token(token))) => Some(token),
            (None, Some(FromUrl::Error(message))) => {
                // As Feathers' client: an OauthError.
                return Err(ClientError { name: "OauthError".into(), code: 401, message, class_name: Some("oauth-error".into()), body: None });
            }
            (None, None) => None,
        };
        match token {
            Some(token) => {
                let data = AuthRequest { strategy: Some(JWT.into()), access_token: Some(token), ..AuthRequest::default() };
                let text = serde_json::to_string(&data).map_err(|e| ClientError::of_status(400, e.to_string()))?;
                self.authenticate(&text).await
            }
            None => Err(ClientError::of_status(401, "No accessToken found in storage".into())),
        }
    }

    /// Sends `req`: the body of a 2xx answer, or the Feathers error of another.
    async fn send_json(&self, req: HttpRequest) -> Result<String, ClientError> {
        let res = self.transport.send(req).await.map_err(ClientError::network)?;
        if !(200..300).contains(&res.status) {
            return Err(match serde_json::from_str::<ErrorHead>(&res.body) {
                Ok(head) => ClientError::from_head(head, res.body),
                Err(_) => ClientError::of_status(res.status, format!("The server answered {} without a Feathers error", res.status)),
            });
        }
        Ok(res.body)
    }

    /// Sends `req` and reads an authentication result or a Feathers error.
    async fn call(&self, req: HttpRequest) -> Result<Authenticated, ClientError> {
        let body = self.send_json(req).await?;
        let result = serde_json::from_str(&body)
            .map_err(|e| ClientError::of_status(502, format!("The server's answer is not an authentication result: {e}")))?;
        Ok(Authenticated { result, raw: body })
    }
}

fn read_ceremony(text: &str) -> Result<CeremonyHead, ClientError> {
    serde_json::from_str(text).map_err(|e| ClientError::of_status(502, format!("The server's answer is not a passkey ceremony: {e}")))
}

/// `s` as a JSON string.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The answer to a ceremony: `{strategy?, <members>, challengeId, credential}`, the credential
/// (JSON text from the authenticator) as it is.
fn answer(strategy: Option<&str>, members: &[(&str, &str)], challenge_id: &str, credential: &str) -> String {
    let mut head: String = strategy.map(|s| format!("\"strategy\":{},", quoted(s))).unwrap_or_default();
    for (k, v) in members {
        head.push_str(&format!("{}:{},", quoted(k), quoted(v)));
    }
    format!("{{{head}\"challengeId\":{},\"credential\":{credential}}}", quoted(challenge_id))
}

/// `s` percent-encoded but for the unreserved characters (RFC 3986), for a query value or a
/// path segment.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Takes `access_token=<token>` out of a URL fragment as upstream does (the parameter and a
/// `&` before it); returns the token and the fragment without it.
pub fn take_from_fragment(hash: &str, key: &str) -> Option<(String, String)> {
    let needle = format!("{key}=");
    // The parameter itself, not one whose name ends with it (`x_access_token=`): at the
    // fragment's start (after `#`, if given) or after a `&`.
    let at = hash.match_indices(&needle).map(|(i, _)| i).find(|&i| i == 0 || matches!(hash.as_bytes()[i - 1], b'#' | b'&'))?;
    let value_start = at + needle.len();
    let value_end = hash[value_start..].find('&').map_or(hash.len(), |i| value_start + i);
    let token = hash[value_start..value_end].to_string();
    let cut_start = if at > 0 && hash.as_bytes()[at - 1] == b'&' { at - 1 } else { at };
    let rest = format!("{}{}", &hash[..cut_start], &hash[value_end..]);
    (!token.is_empty()).then_some((token, rest))
}
