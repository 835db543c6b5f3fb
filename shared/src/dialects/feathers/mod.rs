//! FeathersJS v5 authentication: the `users` service (`POST /users`, and `GET`/`PATCH`/`DELETE
//! /users/:id` on one's own account), the `authentication` service (`POST /authentication`
//! with the `local`, `jwt`, `totp`, `webauthn` and `passkey` strategies, `DELETE
//! /authentication`), `second-factor-challenges` (a security key's challenge for the
//! `webauthn` strategy) and the passkey services (`passkey-challenges`,
//! `passkey-registrations`, `passkey-credentials`), and `@feathersjs/authentication-oauth`'s
//! `/oauth/:provider` and its callback (`oauth`).
//!
//! Bodies are the [`crate::wire::feathers`] types; every error is a Feathers error
//! `{name, message, code, className, data?}` whose status is chosen in [`describe`]. Tokens are
//! HS256 JWTs with header `typ: access` and claims `{iat, exp, aud, iss, sub, jti}`, where `jti`
//! is the id of the session the token belongs to. Unlike upstream, `DELETE /authentication`
//! ends that session, so the token stops working everywhere at once.
//!
//! Here: the route table ([`Api`]), the transport-neutral [`ServiceCall`] and its [`Reply`],
//! and [`call_service`], a socket call's way through the same table. The methods themselves
//! are in `services` (the passkey services in `passkeys`), the error type and its statuses in
//! `errors`, reading a socket event in `socket`.

mod errors;
mod oauth;
mod passkeys;
mod services;
mod socket;

pub use errors::{describe, error_body, error_object, render_error, FeathersError};
pub use oauth::{oauth_error_message, oauth_error_redirect, oauth_token_redirect};
pub use services::user_view;
pub use socket::socket_call;

use crate::dialects::routes::{self, admit, split, Denied, Guard, Hit, Refused, Route, Verb};
use crate::dialects::{header, json_response, platform, Body};
use crate::flows::{Dialect, Flows};
use crate::ports::Ports;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use serde_json::Value;
use services::serve_call;

/// The services' endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /oauth/:provider`: to an identity provider's pages.
    OauthStart,
    /// `GET|POST /oauth/:provider/callback`: back from them.
    OauthCallback,
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
    /// `passkey-challenges.create`: start a passkey sign-in.
    PasskeyChallenge,
    /// `second-factor-challenges.create`: start a security key's second step.
    SecondFactorChallenge,
    /// `passkey-registrations.create`: start registering a passkey.
    PasskeyRegistration,
    /// `passkey-credentials.create`: register the passkey.
    CreatePasskey,
    /// `passkey-credentials.find`: the account's passkeys.
    FindPasskeys,
    /// `passkey-credentials.remove`: delete one.
    RemovePasskey,
    /// A method the service does not offer.
    NotOnService,
}

/// The services' routes, over REST (a trailing `/` ignored) and over Socket.IO, whose
/// calls are looked up here as the REST request they stand for (`ServiceCall::route_key`),
/// so one table guards both transports.
pub struct Api;

impl routes::Api for Api {
    type Endpoint = Endpoint;
    const ROUTES: &'static [Route<Endpoint>] = &[
        Route::json(Verb::Get, "/oauth/{provider}", Guard::Open, Endpoint::OauthStart),
        Route::json(Verb::Get, "/oauth/{provider}/callback", Guard::Open, Endpoint::OauthCallback),
        Route::form(Verb::Post, "/oauth/{provider}/callback", Guard::Open, Endpoint::OauthCallback),
        Route::json(Verb::Post, "/users", Guard::Open, Endpoint::CreateUser),
        Route::json(Verb::Get, "/users/{id}", Guard::Session, Endpoint::GetUser),
        Route::json(Verb::Patch, "/users/{id}", Guard::Session, Endpoint::PatchUser),
        Route::json(Verb::Delete, "/users/{id}", Guard::Session, Endpoint::RemoveUser),
        Route::json(Verb::Post, "/authentication", Guard::Open, Endpoint::CreateAuthentication),
        Route::json(Verb::Delete, "/authentication", Guard::Session, Endpoint::RemoveAuthentication),
        Route::json(Verb::Delete, "/authentication/{id}", Guard::Session, Endpoint::RemoveAuthentication),
        Route::json(Verb::Post, "/passkey-challenges", Guard::Open, Endpoint::PasskeyChallenge),
        Route::json(Verb::Post, "/second-factor-challenges", Guard::Open, Endpoint::SecondFactorChallenge),
        Route::json(Verb::Post, "/passkey-registrations", Guard::Session, Endpoint::PasskeyRegistration),
        Route::json(Verb::Post, "/passkey-credentials", Guard::Session, Endpoint::CreatePasskey),
        Route::json(Verb::Get, "/passkey-credentials", Guard::Session, Endpoint::FindPasskeys),
        Route::json(Verb::Delete, "/passkey-credentials/{id}", Guard::Session, Endpoint::RemovePasskey),
        Route::json(Verb::Any, "/users", Guard::Open, Endpoint::NotOnService),
        Route::json(Verb::Any, "/users/{id}", Guard::Open, Endpoint::NotOnService),
        Route::json(Verb::Any, "/authentication", Guard::Open, Endpoint::NotOnService),
        Route::json(Verb::Any, "/authentication/{id}", Guard::Open, Endpoint::NotOnService),
        Route::json(Verb::Any, "/passkey-challenges", Guard::Open, Endpoint::NotOnService),
        Route::json(Verb::Any, "/second-factor-challenges", Guard::Open, Endpoint::NotOnService),
        Route::json(Verb::Any, "/second-factor-challenges/{id}", Guard::Open, Endpoint::NotOnService),
        Route::json(Verb::Any, "/passkey-challenges/{id}", Guard::Open, Endpoint::NotOnService),
        Route::json(Verb::Any, "/passkey-registrations", Guard::Open, Endpoint::NotOnService),
        Route::json(Verb::Any, "/passkey-registrations/{id}", Guard::Open, Endpoint::NotOnService),
        Route::json(Verb::Any, "/passkey-credentials", Guard::Open, Endpoint::NotOnService),
        Route::json(Verb::Any, "/passkey-credentials/{id}", Guard::Open, Endpoint::NotOnService),
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
        match hit.endpoint {
            Endpoint::OauthStart => {
                let provider = hit.params.first().copied().unwrap_or_default();
                return split(oauth::start(flows, req, provider)).await.unwrap_or_else(|e| render_error(flows, &e));
            }
            Endpoint::OauthCallback => return split(crate::dialects::oauth_callback::callback(flows, req, Dialect::Feathers)).await,
            _ => {}
        }
        // The route matched `/<service>` or `/<service>/{id}`.
        let call = ServiceCall {
            service: hit.path.trim_start_matches('/').split('/').next().unwrap_or_default(),
            method: service_method(req.method(), !hit.params.is_empty()),
            id: hit.params.first().map(|id| (*id).to_string()),
            data: req.body(),
            token: Self::credential(req.headers()),
            platform: &platform(req.headers()),
        };
        match split(serve_call(flows, hit.endpoint, &call, hit.caller)).await {
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
        // No Feathers route asks for the service role.
        (_, Denied::NotServiceRole(_)) => FeathersError::NotFound,
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
/// the `realtime` module): every rule of the services is applied once, in [`call_service`].
pub struct ServiceCall<'a> {
    /// `users`, `authentication` or a passkey service.
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

