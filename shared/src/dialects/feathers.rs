//! FeathersJS v5 authentication: the `users` service (`POST /users`, and `GET`/`PATCH`/`DELETE
//! /users/:id` on one's own account) and the `authentication` service (`POST /authentication`
//! with the `local` and `jwt` strategies, `DELETE /authentication`).
//!
//! Bodies are the [`crate::wire::feathers`] types; every error is a Feathers error
//! `{name, message, code, className, data?}` whose status is chosen in [`describe`]. Tokens are
//! HS256 JWTs with header `typ: access` and claims `{iat, exp, aud, iss, sub, jti}`, where `jti`
//! is the id of the session the token belongs to. Unlike upstream, `DELETE /authentication`
//! ends that session, so the token stops working everywhere at once.

use super::{header, json_response, parse_json, platform, Body, JsonError, Refusal};
use crate::dialects::routes::{self, admit, Caller, Denied, Guard, Hit, Refused, Route, Verb};
use crate::flows::{Bearer, BearerError, Claims, Dialect, FlowError, Flows, SignupOutcome, SignupRequest, UserUpdate};
use crate::model::{LogoutScope, Timestamp, User};
use crate::ports::Ports;
use crate::secret::Password;
use crate::token::TokenError;
use crate::wire::feathers::{
    AuthRequest, AuthResult, Authentication, ErrorBody, Payload, UserView, JWT, LOCAL,
};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// Everything that can go wrong in a Feathers request.
#[derive(Debug)]
#[non_exhaustive]
pub enum FeathersError {
    /// A flow refused or failed.
    Flow(FlowError),
    /// The body is not JSON of the expected shape.
    BadJson(JsonError),
    /// A field is missing or unusable; the text says which.
    BadRequest(String),
    /// No strategy, an unknown one, or a request that needs a token without one.
    NotAuthenticated(&'static str),
    /// `/users/:id` for an id that is not the caller's.
    NotYours(String),
    /// The service has no such method.
    MethodNotAllowed(&'static str),
    /// No such REST path.
    NotFound,
    /// A socket call of a service this server does not have.
    NoService(String),
    /// A socket call whose service path is not a string.
    InvalidPath,
    /// A call of a method the service does not offer (REST answers it as
    /// [`FeathersError::MethodNotAllowed`]).
    NotOnService {
        /// The method called.
        method: &'static str,
        /// The service.
        service: String,
    },
    /// A socket call with more arguments than its method takes.
    TooManyArguments(&'static str),
    /// The app refused the request before reading it.
    Refused(Refusal),
}

impl From<FlowError> for FeathersError {
    fn from(e: FlowError) -> Self {
        FeathersError::Flow(e)
    }
}

impl From<BearerError> for FeathersError {
    fn from(e: BearerError) -> Self {
        FeathersError::Flow(e.into())
    }
}

impl From<JsonError> for FeathersError {
    fn from(e: JsonError) -> Self {
        FeathersError::BadJson(e)
    }
}

/// Status, message and `data` for an error: the one place this dialect picks statuses.
pub fn describe(e: &FeathersError) -> (u16, String, Option<Value>) {
    use FeathersError as E;
    let (code, message): (u16, String) = match e {
        E::Flow(f) => flow_error(f),
        E::BadJson(JsonError(m)) => (400, format!("Malformed JSON: {m}")),
        E::BadRequest(m) => (400, m.clone()),
        E::NotAuthenticated(m) => (401, (*m).into()),
        E::NotYours(id) => (404, format!("No record found for id '{id}'")),
        E::MethodNotAllowed(m) => (405, format!("Method `{m}` is not supported by this endpoint.")),
        E::NotFound => (404, "Page not found".into()),
        E::NoService(path) => (404, format!("Service '{path}' not found")),
        E::InvalidPath => (404, "Invalid service path".into()),
        E::NotOnService { method, service } => (405, format!("Method '{method}' not allowed on service '{service}'")),
        E::TooManyArguments(method) => (400, format!("Too many arguments for '{method}' method")),
        E::Refused(r) => r.status_and_message(),
    };
    let expired = matches!(e, E::Flow(FlowError::BadToken(TokenError::Expired)));
    let data = expired.then(|| json!({"name": "TokenExpiredError"}));
    (code, message, data)
}

/// [`describe`] for a flow's error, every variant named: a new one is a compile error here.
/// Token messages are those of upstream's `jsonwebtoken`.
fn flow_error(e: &FlowError) -> (u16, String) {
    use FlowError as F;
    match e {
        F::SignupDisabled => (403, "Signups are disabled".into()),
        F::InvalidEmail => (400, "Invalid email".into()),
        F::WeakPassword { min_length } => (400, format!("Password should be at least {min_length} characters")),
        F::PasswordTooLong => (400, "Password is too long".into()),
        F::UserAlreadyExists | F::EmailExists => (409, "email already exists".into()),
        F::InvalidCredentials => (401, "Invalid login".into()),
        F::EmailNotConfirmed => (401, "Email not confirmed".into()),
        F::TooManyRequests => (429, "Too many requests; try again later".into()),
        // Feathers has no nonce: a fresh `local` sign-in is the re-authentication.
        F::ReauthenticationNeeded | F::ReauthenticationNotValid => {
            (403, "This change needs a recent sign-in; sign in again".into())
        }
        F::NoAddress | F::AddressNotVerified => (400, "The account has no verified email address".into()),
        F::BadToken(TokenError::Expired) => (401, "jwt expired".into()),
        F::BadToken(TokenError::Malformed) => (401, "jwt malformed".into()),
        F::BadToken(TokenError::BadSignature) => (401, "invalid signature".into()),
        F::BadToken(TokenError::Algorithm | TokenError::UnknownKey) => (401, "invalid algorithm".into()),
        F::BadToken(TokenError::Audience { expected }) => (401, format!("jwt audience invalid. expected: {expected}")),
        F::BadToken(TokenError::Issuer { expected }) => (401, format!("jwt issuer invalid. expected: {expected}")),
        F::BadToken(TokenError::Claims | TokenError::Signing) => (401, "invalid token".into()),
        F::SessionNotFound | F::UserNotFound | F::SessionExpired => (401, "Session has ended; sign in again".into()),
        F::OverEmailSendRateLimit { wait_secs } => {
            (429, format!("Too many emails to this address; try again in {wait_secs} seconds"))
        }
        F::CodeInvalid | F::LinkInvalid | F::LoginNotReady | F::FlowStateNotFound | F::FlowStateExpired | F::BadCodeVerifier => {
            (400, "Invalid or expired code".into())
        }
        F::RefreshTokenNotFound | F::RefreshTokenAlreadyUsed | F::RefreshWindowPassed => {
            (401, "Session has ended; sign in again".into())
        }
        F::UserBanned => (401, "User is banned".into()),
        // The admin API is GoTrue's; its refusals, should one reach here, in Feathers' words.
        F::NotAdmin => (403, "User not allowed".into()),
        F::AnonymousDisabled => (403, "Anonymous sign-ins are disabled".into()),
        F::AnonymousWithoutAddress => (400, "An anonymous account needs an email address first".into()),
        F::NoSuchUser | F::NoUserWithEmail => (404, "User not found".into()),
        F::InvalidUsername => (400, "Invalid username".into()),
        F::InvalidPlatform => (400, "Invalid platform".into()),
        F::UsernameTaken => (409, "username already exists".into()),
        F::Internal(_) => (500, "Internal server error".into()),
    }
}

/// An error as a Feathers error object with its status; internal errors get an id, logged
/// with the detail.
pub fn error_body<P: Ports>(auth: &Flows<P>, e: &FeathersError) -> (StatusCode, Value) {
    let error_id = match e {
        FeathersError::Flow(FlowError::Internal(detail)) => Some(auth.report(detail)),
        _ => None,
    };
    error_object(e, error_id.as_deref())
}

/// An error as a Feathers error object with its status, the message naming `error_id` if
/// given ([`error_body`] reports internal errors first; a caller with no flow behind it has
/// none to report).
pub fn error_object(e: &FeathersError, error_id: Option<&str>) -> (StatusCode, Value) {
    let (code, mut message, data) = describe(e);
    if let Some(id) = error_id {
        message = format!("{message} (error id: {id})");
    }
    let body = ErrorBody { data, ..ErrorBody::new(code, message) };
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, serde_json::to_value(body).unwrap_or_default())
}

/// Renders an error as a Feathers error response.
pub fn render_error<P: Ports>(auth: &Flows<P>, e: &FeathersError) -> Response<Body> {
    let (status, body) = error_body(auth, e);
    json_response(status, &body, &[])
}

/// The services' endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `users.create`: sign up.
    CreateUser,
    /// `users.get` of one's own account.
    GetUser,
    /// `users.patch` of one's own account (the password).
    PatchUser,
    /// `users.remove` of one's own account.
    RemoveUser,
    /// `authentication.create`: sign in (`local`) or check a token (`jwt`).
    CreateAuthentication,
    /// `authentication.remove`: sign out.
    RemoveAuthentication,
    /// A method the service does not offer.
    NotOnService,
}

/// The two services' routes, over REST (a trailing `/` ignored) and over Socket.IO, whose
/// calls are looked up here as the REST request they stand for ([`ServiceCall::route_path`]),
/// so one table guards both transports.
pub struct Api;

impl routes::Api for Api {
    type Endpoint = Endpoint;
    const ROUTES: &'static [Route<Endpoint>] = &[
        Route::json(Verb::Post, "/users", Guard::Open, Endpoint::CreateUser),
        Route::json(Verb::Get, "/users/{id}", Guard::Session, Endpoint::GetUser),
        Route::json(Verb::Patch, "/users/{id}", Guard::Session, Endpoint::PatchUser),
        Route::json(Verb::Delete, "/users/{id}", Guard::Session, Endpoint::RemoveUser),
        Route::json(Verb::Post, "/authentication", Guard::Open, Endpoint::CreateAuthentication),
        Route::json(Verb::Delete, "/authentication", Guard::Session, Endpoint::RemoveAuthentication),
        Route::json(Verb::Delete, "/authentication/{id}", Guard::Session, Endpoint::RemoveAuthentication),
        Route::json(Verb::Any, "/users", Guard::Open, Endpoint::NotOnService),
        Route::json(Verb::Any, "/users/{id}", Guard::Open, Endpoint::NotOnService),
        Route::json(Verb::Any, "/authentication", Guard::Open, Endpoint::NotOnService),
        Route::json(Verb::Any, "/authentication/{id}", Guard::Open, Endpoint::NotOnService),
    ];
    const ACCEPTS: &'static [Dialect] = &[Dialect::Feathers];

    fn normalize(path: &str) -> &str {
        path.trim_end_matches('/')
    }

    /// `Authorization: Bearer <jwt>`, `JWT <jwt>` or a bare `<jwt>`.
    fn credential(headers: &HeaderMap) -> Option<&str> {
        let value = header(headers, "authorization")?.trim();
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("jwt") => token.trim(),
            Some(_) => return None,
            None => value,
        };
        (!token.is_empty()).then_some(token)
    }

    fn refuse<P: Ports>(flows: &Flows<P>, _req: &Request<Body>, why: Refused<Endpoint>) -> Response<Body> {
        let e = match why {
            Refused::NoRoute => FeathersError::NotFound,
            Refused::Request(r) => FeathersError::Refused(r),
            Refused::Guard(endpoint, denied) => denied_error(endpoint, denied),
        };
        render_error(flows, &e)
    }

    async fn serve<P: Ports + 'static>(flows: &Flows<P>, req: &Request<Body>, hit: Hit<'_, Endpoint>) -> Response<Body> {
        let segments: Vec<&str> = req.uri().path().trim_matches('/').split('/').collect();
        let call = ServiceCall {
            service: segments.first().copied().unwrap_or_default(),
            method: service_method(req.method(), !hit.params.is_empty()),
            id: hit.params.first().map(|id| (*id).to_string()),
            data: req.body(),
            token: Self::credential(req.headers()),
            platform: &platform(req.headers()),
        };
        match serve_call(flows, hit.endpoint, &call, hit.caller).await {
            Ok(reply) => json_response(reply.status, &reply.body, &[]),
            Err(FeathersError::NotOnService { method, .. }) => render_error(flows, &FeathersError::MethodNotAllowed(method)),
            Err(e) => render_error(flows, &e),
        }
    }
}

/// The error for a caller a route's guard turned away.
fn denied_error(endpoint: Endpoint, denied: Denied) -> FeathersError {
    match (endpoint, denied) {
        (Endpoint::RemoveAuthentication, Denied::Missing) => {
            FeathersError::NotAuthenticated("Invalid authentication information (no `strategy` set)")
        }
        (_, Denied::Missing) => FeathersError::NotAuthenticated("Not authenticated"),
        (_, Denied::Bearer(e)) => e.into(),
        (_, Denied::NotServiceRole(e)) => FeathersError::Flow(e),
    }
}

/// The Feathers service method a REST call maps to.
fn service_method(method: &Method, with_id: bool) -> &'static str {
    match (method.as_str(), with_id) {
        ("GET", false) => "find",
        ("GET", true) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", _) => "remove",
        _ => "unknown",
    }
}

/// One call of a service method, whichever transport carried it (REST here, Socket.IO in
/// the `realtime` module): every rule of both services is applied once, in [`call_service`].
pub struct ServiceCall<'a> {
    /// `users` or `authentication`.
    pub service: &'a str,
    /// `find`, `get`, `create`, `update`, `patch` or `remove`.
    pub method: &'static str,
    /// The record id of `get`, `update`, `patch` and `remove`.
    pub id: Option<String>,
    /// The `create`, `update` or `patch` data, as JSON text.
    pub data: &'a [u8],
    /// The caller's access token: the `Authorization` header, or the socket's authentication.
    pub token: Option<&'a str>,
    /// The client's self-description for a new session.
    pub platform: &'a str,
}

/// A successful call's status (for REST) and result.
pub struct Reply {
    /// 201 for `create`, else 200.
    pub status: StatusCode,
    /// The result.
    pub body: Value,
    /// What the call did to the caller's authentication (a socket connection keeps it).
    pub auth_change: AuthChange,
}

/// What a call did to the caller's authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthChange {
    /// Nothing.
    None,
    /// `create` on `authentication` succeeded: later calls are authenticated by this token.
    SignedIn(String),
    /// `remove` on `authentication` succeeded: later calls are not authenticated.
    SignedOut,
}

/// The six Feathers service methods, as a socket names them.
pub const METHODS: [&str; 6] = ["find", "get", "create", "update", "patch", "remove"];

impl ServiceCall<'_> {
    /// The REST request this call stands for, as the route table is written: a socket call
    /// is looked up in the same table, with `{id}` standing for its record id (whatever it
    /// holds, even a `/`).
    fn route_key(&self) -> (Method, String) {
        let verb = match self.method {
            "find" | "get" => Method::GET,
            "create" => Method::POST,
            "update" => Method::PUT,
            "patch" => Method::PATCH,
            "remove" => Method::DELETE,
            _ => Method::OPTIONS,
        };
        let path = match self.id {
            Some(_) => format!("/{}/id", self.service),
            None => format!("/{}", self.service),
        };
        (verb, path)
    }
}

/// Runs one service call made on a socket: its route in [`Api`]'s table, that route's guard
/// with the connection's token, then the call.
pub async fn call_service<P: Ports>(flows: &Flows<P>, call: &ServiceCall<'_>) -> Result<Reply, FeathersError> {
    use routes::Api as _;
    let (verb, path) = call.route_key();
    let Some((route, _)) = routes::find(Api::ROUTES, &verb, &path) else {
        return Err(FeathersError::NoService(call.service.chars().take(64).collect()));
    };
    let caller = admit(flows, route.guard, Api::ACCEPTS, call.token)
        .await
        .map_err(|denied| denied_error(route.endpoint, denied))?;
    serve_call(flows, route.endpoint, call, caller).await
}

/// Runs a call whose route's guard let `caller` through.
async fn serve_call<P: Ports>(flows: &Flows<P>, endpoint: Endpoint, call: &ServiceCall<'_>, caller: Caller) -> Result<Reply, FeathersError> {
    match endpoint {
        Endpoint::CreateUser => create_user(flows, call).await,
        Endpoint::GetUser => get_user(own_account(call, caller)?),
        Endpoint::PatchUser => patch_user(flows, call, own_account(call, caller)?).await,
        Endpoint::RemoveUser => remove_user(flows, own_account(call, caller)?).await,
        Endpoint::CreateAuthentication => create_authentication(flows, call).await,
        Endpoint::RemoveAuthentication => remove_authentication(flows, call, caller.session()?).await,
        Endpoint::NotOnService => Err(FeathersError::NotOnService { method: call.method, service: call.service.to_string() }),
    }
}

fn reply<T: Serialize>(status: StatusCode, body: &T) -> Result<Reply, FeathersError> {
    let body = serde_json::to_value(body).map_err(|e| FlowError::Internal(e.to_string()))?;
    Ok(Reply { status, body, auth_change: AuthChange::None })
}

/// [`reply`] with a sign-in of the caller by `token`.
fn signed_in_reply(result: AuthResult) -> Result<Reply, FeathersError> {
    let token = result.access_token.clone();
    Ok(Reply { auth_change: AuthChange::SignedIn(token), ..reply(StatusCode::CREATED, &result)? })
}

/// The users service's view of an account.
pub fn user_view(user: &User) -> UserView {
    UserView {
        id: user.id.to_string(),
        email: user.email.clone(),
        avatar: user.email.as_deref().map(gravatar),
    }
}

/// The Gravatar URL of an address: MD5 of the trimmed, lower-cased address (Gravatar's
/// scheme, not a secret), 60 px.
fn gravatar(email: &str) -> String {
    let digest = Md5::digest(email.trim().to_lowercase().as_bytes());
    format!("https://s.gravatar.com/avatar/{}?s=60", hex::encode(digest))
}

/// The `POST /users` body.
#[derive(Deserialize)]
struct NewUser {
    email: Option<String>,
    password: Option<Password>,
}

async fn create_user<P: Ports>(auth: &Flows<P>, call: &ServiceCall<'_>) -> Result<Reply, FeathersError> {
    let body: NewUser = parse_json(call.data)?;
    let email = body.email.ok_or_else(|| FeathersError::BadRequest("email is required".into()))?;
    let password = body.password.ok_or_else(|| FeathersError::BadRequest("password is required".into()))?;
    let outcome = auth
        .sign_up(SignupRequest {
            email: &email,
            password: &password,
            metadata: json!({}),
            platform: call.platform,
            landing: Default::default(),
            dialect: Dialect::Feathers,
        })
        .await?;
    let user = match outcome {
        SignupOutcome::Registered(u) | SignupOutcome::ConfirmationSent(u) | SignupOutcome::AlreadyRegistered(u) => u,
        SignupOutcome::SignedIn(s) => s.user,
    };
    reply(StatusCode::CREATED, &user_view(&user))
}

/// The payload a result reports: the token's claims with `iat` and `exp` (unix seconds).
fn payload(claims: &Claims, issued_at: Option<Timestamp>, expires_at: Option<Timestamp>) -> Payload {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    Payload {
        iat: issued_at.map(Timestamp::unix_seconds).unwrap_or_default(),
        exp: expires_at.map(Timestamp::unix_seconds).unwrap_or_default(),
        aud: text(&claims.aud),
        iss: text(&claims.iss),
        sub: claims.sub.to_string(),
        jti: claims.jti.as_ref().map(ToString::to_string).unwrap_or_default(),
    }
}

/// The live session and account of a Feathers access token.
async fn verify_token<P: Ports>(auth: &Flows<P>, token: &str) -> Result<Bearer, FeathersError> {
    Ok(auth.authenticate(token, &[Dialect::Feathers]).await?)
}

/// The caller's session, if the call's id is the caller's own account.
fn own_account(call: &ServiceCall<'_>, caller: Caller) -> Result<Bearer, FeathersError> {
    let bearer = caller.session()?;
    let id = call.id.as_deref().unwrap_or("null");
    match bearer.user.id.as_str() == id {
        true => Ok(bearer),
        false => Err(FeathersError::NotYours(id.chars().take(64).collect())),
    }
}

fn get_user(bearer: Bearer) -> Result<Reply, FeathersError> {
    reply(StatusCode::OK, &user_view(&bearer.user))
}

/// The `PATCH /users/:id` body: only the password can change here.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    password: Option<Password>,
}

async fn patch_user<P: Ports>(auth: &Flows<P>, call: &ServiceCall<'_>, bearer: Bearer) -> Result<Reply, FeathersError> {
    let body: UserPatch = parse_json(call.data).map_err(|e| match e.0.contains("unknown field") {
        true => FeathersError::BadRequest("Only `password` can be changed here".into()),
        false => FeathersError::BadJson(e),
    })?;
    let password = body.password.ok_or_else(|| FeathersError::BadRequest("password is required".into()))?;
    let update = UserUpdate { password: Some(&password), ..UserUpdate::default() };
    let updated = auth.update_user(&bearer.user, &bearer.session, update).await?;
    reply(StatusCode::OK, &user_view(&updated.user))
}

async fn remove_user<P: Ports>(auth: &Flows<P>, bearer: Bearer) -> Result<Reply, FeathersError> {
    auth.delete_account(&bearer.user).await?;
    reply(StatusCode::OK, &user_view(&bearer.user))
}

async fn create_authentication<P: Ports>(auth: &Flows<P>, call: &ServiceCall<'_>) -> Result<Reply, FeathersError> {
    let body: AuthRequest = parse_json(call.data)?;
    match body.strategy.as_deref() {
        Some(LOCAL) => {
            let email = body.email.unwrap_or_default();
            let password = Password::new(body.password.unwrap_or_default());
            // Upstream answers a missing field like a wrong one, before any lookup.
            if email.is_empty() || password.expose().is_empty() {
                return Err(FlowError::InvalidCredentials.into());
            }
            let signed_in = auth.password_login(&email, &password, call.platform, Dialect::Feathers).await?;
            signed_in_reply(issue(auth, &signed_in)?)
        }
        Some(JWT) => {
            let token = body.access_token.filter(|t| !t.is_empty()).ok_or(FeathersError::NotAuthenticated("No access token"))?;
            let bearer = verify_token(auth, &token).await?;
            signed_in_reply(jwt_result(token, &bearer))
        }
        Some(_) => Err(FeathersError::NotAuthenticated(
            "Invalid authentication information (strategy not allowed in authStrategies)",
        )),
        None => Err(FeathersError::NotAuthenticated("Invalid authentication information (no `strategy` set)")),
    }
}

/// The result of a fresh `local` sign-in, with a new token for its session.
fn issue<P: Ports>(auth: &Flows<P>, signed_in: &crate::flows::SignedIn) -> Result<AuthResult, FeathersError> {
    let access = auth.feathers_access_token(&signed_in.user, &signed_in.session)?;
    let payload = payload(&access.claims, Some(access.issued_at), Some(access.expires_at));
    Ok(AuthResult {
        access_token: access.token,
        authentication: Authentication { strategy: LOCAL.into(), access_token: None, payload },
        user: user_view(&signed_in.user),
    })
}

fn jwt_result(token: String, bearer: &Bearer) -> AuthResult {
    let payload = payload(&bearer.claims, bearer.issued_at, bearer.expires_at);
    AuthResult {
        access_token: token.clone(),
        authentication: Authentication { strategy: JWT.into(), access_token: Some(token), payload },
        user: user_view(&bearer.user),
    }
}

async fn remove_authentication<P: Ports>(auth: &Flows<P>, call: &ServiceCall<'_>, bearer: Bearer) -> Result<Reply, FeathersError> {
    // The guard proved this token; only it may be named.
    let token = call.token.unwrap_or_default();
    if call.id.as_deref().is_some_and(|id| id != token) {
        return Err(FeathersError::NotAuthenticated("Invalid access token"));
    }
    auth.logout(&bearer.session, LogoutScope::Local).await?;
    Ok(Reply { auth_change: AuthChange::SignedOut, ..reply(StatusCode::OK, &jwt_result(token.to_string(), &bearer))? })
}

/// Reads a Feathers call the way a socket sends it, as event `method` with the arguments
/// `(path, ...args)` in transport-commons' positions: `find(params)`, `get`/`remove(id, params)`,
/// `create(data, params)`, `update`/`patch(id, data, params)`. Params from the client are only
/// a query, which these services do not read: a socket call is authenticated by its
/// connection (`token`), never by what it sends.
pub fn socket_call<'a>(
    method: &'static str,
    args: &'a [Box<RawValue>],
    token: Option<&'a str>,
    platform: &'a str,
) -> Result<ServiceCall<'a>, FeathersError> {
    let (path, rest) = args.split_first().ok_or(FeathersError::InvalidPath)?;
    let path: String = serde_json::from_str(path.get()).map_err(|_| FeathersError::InvalidPath)?;
    let params_at = match method {
        "find" => 0,
        "update" | "patch" => 2,
        _ => 1,
    };
    if rest.len() > params_at + 1 {
        return Err(FeathersError::TooManyArguments(method));
    }
    let id = match method {
        "get" | "remove" | "update" | "patch" => rest.first().and_then(|raw| record_id(raw.get())),
        _ => None,
    };
    let data_at = match method {
        "create" => Some(0),
        "update" | "patch" => Some(1),
        _ => None,
    };
    let data = data_at.and_then(|i| rest.get(i)).map(|raw| raw.get().as_bytes()).unwrap_or_default();
    let service = KNOWN_SERVICES.iter().find(|s| **s == path.trim_matches('/'));
    match service {
        Some(service) => Ok(ServiceCall { service, method, id, data, token, platform }),
        None => Err(FeathersError::NoService(path.chars().take(64).collect())),
    }
}

/// The services a socket can call.
const KNOWN_SERVICES: [&str; 2] = ["users", "authentication"];

/// A record id as a socket sends it: a string or a number; `null` is none.
fn record_id(json: &str) -> Option<String> {
    match serde_json::from_str::<Value>(json).ok()? {
        Value::String(s) => Some(s),
        Value::Null => None,
        other => Some(other.to_string().chars().take(64).collect()),
    }
}
