//! django-graphql-jwt over `POST /graphql`: the mutations `tokenAuth`, `verifyToken`,
//! `refreshToken` and `revokeToken`, and a `me` query for the bearer of
//! `Authorization: JWT <token>` (also `Bearer`, and the header name `Authentication`).
//!
//! A real GraphQL executor (async-graphql) parses, validates and runs each document, with
//! variables, aliases, fragments and introspection; depth and complexity are capped. Resolver
//! failures come back as upstream does: HTTP 200, `errors[].message/locations/path` with
//! upstream's messages and the field `null` in `data`. Documents that cannot run at all
//! (syntax, validation, variables) get 400, chosen in [`describe`] and `status_of`.
//!
//! Tokens are HS256 with the payload `{username, sub, exp, origIat, sid}`: `sid` names the
//! session, so ending it (logout elsewhere, a password change, `revokeToken`) ends the token too.
//! `refreshToken` keeps `origIat` and refuses once the refresh window after it has passed.

use super::graphql_guard::{self, Limit};
use super::{header, json_response, Body, Refusal as AppRefusal};
use crate::flows::{AccessToken, Flows, Claims, Dialect, FlowError, GraphqlToken};
use crate::model::Timestamp;
use crate::ports::Ports;
use crate::secret::Secret;
use crate::token::TokenError;
use async_graphql::{
    Context, EmptySubscription, InputValueError, InputValueResult, Object, Scalar, ScalarType, Schema,
    SimpleObject, Value as GqlValue, Variables, ID,
};
use http::{Method, Request, Response, StatusCode};
use send_wrapper::SendWrapper;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::OnceLock;

/// Deepest selection accepted (the standard introspection query needs 13).
pub const MAX_DEPTH: usize = 15;
/// Most fields a document may select, counted by async-graphql's complexity rule.
pub const MAX_COMPLEXITY: usize = 500;
/// What one `tokenAuth` counts for: at most four sign-ins (four password hashes) fit in a document.
pub const TOKEN_AUTH_COMPLEXITY: usize = 100;

/// Why a resolver refused; the text is upstream's message, shown to the caller.
#[derive(Debug)]
#[non_exhaustive]
pub enum GraphqlError {
    /// Unknown account, wrong or missing password, or an unconfirmed address.
    Credentials,
    /// Signed by us and well formed, but past `exp`.
    SignatureExpired,
    /// Not a JWT of ours.
    DecodingSignature,
    /// Ours, but not a graphql-jwt payload.
    InvalidPayload,
    /// Ours and well formed, but its session has ended.
    InvalidToken,
    /// `origIat` plus the refresh window has passed.
    RefreshExpired,
    /// A long-running refresh token that is unknown, used or ended.
    InvalidRefreshToken,
    /// A long-running refresh token older than the refresh window.
    RefreshTokenExpired,
    /// `me` without a valid token.
    PermissionDenied,
    /// An argument this deployment's mode needs is missing, or one it does not use was given.
    Argument(&'static str),
    /// A flow refused for a reason no graphql-jwt operation has words of its own for.
    Refused(String),
    /// Something broke; logged under this id, which the caller is shown.
    Internal(String),
}

impl GraphqlError {
    fn message(&self) -> String {
        let text = match self {
            GraphqlError::Credentials => "Please enter valid credentials",
            GraphqlError::SignatureExpired => "Signature has expired",
            GraphqlError::DecodingSignature => "Error decoding signature",
            GraphqlError::InvalidPayload => "Invalid payload",
            GraphqlError::InvalidToken => "Invalid token",
            GraphqlError::RefreshExpired => "Refresh has expired",
            GraphqlError::InvalidRefreshToken => "Invalid refresh token",
            GraphqlError::RefreshTokenExpired => "Refresh token is expired",
            GraphqlError::PermissionDenied => "You do not have permission to perform this action",
            GraphqlError::Argument(m) => m,
            GraphqlError::Refused(m) => m,
            GraphqlError::Internal(id) => return format!("Internal server error (error id: {id})"),
        };
        text.to_string()
    }
}

/// The payload scalar upstream calls `GenericScalar`: any JSON value.
#[derive(Debug, Clone)]
pub struct GenericScalar(pub Value);

#[Scalar(name = "GenericScalar")]
impl ScalarType for GenericScalar {
    fn parse(value: GqlValue) -> InputValueResult<Self> {
        value.into_json().map(GenericScalar).map_err(|e| InputValueError::custom(e.to_string()))
    }

    fn to_value(&self) -> GqlValue {
        GqlValue::from_json(self.0.clone()).unwrap_or(GqlValue::Null)
    }
}

/// What `tokenAuth` and `refreshToken` return.
#[derive(SimpleObject)]
#[graphql(name = "ObtainJSONWebToken")]
pub struct Obtained {
    /// The token's claims.
    payload: GenericScalar,
    /// Unix seconds until which the token can be refreshed.
    refresh_expires_in: i64,
    /// The access token.
    token: String,
    /// The long-running refresh token, when that mode is on.
    refresh_token: Option<String>,
}

/// What `verifyToken` returns.
#[derive(SimpleObject)]
#[graphql(name = "Verify")]
pub struct Verified {
    /// The token's claims.
    payload: GenericScalar,
}

/// What `revokeToken` returns.
#[derive(SimpleObject)]
#[graphql(name = "Revoke")]
pub struct Revoked {
    /// When the refresh token was revoked, unix seconds.
    revoked: i64,
}

/// The signed-in user, as `me` shows it.
#[derive(SimpleObject)]
#[graphql(name = "UserType")]
pub struct Me {
    /// The account id.
    id: ID,
    /// The username, or the address for accounts without one.
    username: String,
    /// The address, or the empty string (as Django's `User.email`).
    email: String,
}

type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, GraphqlError>> + 'a>>;

/// What the resolvers need from the world, type-erased (the schema is not generic) and behind
/// [`SendWrapper`] (async-graphql wants `Send`; storage futures on Workers are not).
trait Backend {
    fn token_auth(&self, username: String, password: Secret<String>) -> LocalFuture<'_, Obtained>;
    fn verify(&self, token: String) -> LocalFuture<'_, Verified>;
    fn refresh(&self, token: Option<String>, refresh_token: Option<String>) -> LocalFuture<'_, Obtained>;
    fn revoke(&self, refresh_token: String) -> LocalFuture<'_, Revoked>;
    fn me(&self) -> LocalFuture<'_, Me>;
}

type Handle = SendWrapper<Rc<dyn Backend>>;

/// The query root.
pub struct Query;

#[Object]
impl Query {
    /// The bearer of `Authorization: JWT <token>`.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Me>> {
        let b = backend(ctx)?;
        Ok(report(ctx, run(async move { b.me().await }).await))
    }
}

/// The mutation root.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Signs in with a username (or email address) and password. Each sign-in checks a
    /// password hash, so one document may hold at most four.
    #[graphql(complexity = "TOKEN_AUTH_COMPLEXITY + child_complexity")]
    async fn token_auth(&self, ctx: &Context<'_>, username: String, password: String) -> async_graphql::Result<Option<Obtained>> {
        let b = backend(ctx)?;
        Ok(report(ctx, run(async move { b.token_auth(username, Secret::new(password)).await }).await))
    }

    /// The claims of a valid token.
    async fn verify_token(&self, ctx: &Context<'_>, token: Option<String>) -> async_graphql::Result<Option<Verified>> {
        let b = backend(ctx)?;
        Ok(report(ctx, run(async move { b.verify(token.unwrap_or_default()).await }).await))
    }

    /// A fresh token for a valid one (or, in long-running mode, for a refresh token).
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        token: Option<String>,
        refresh_token: Option<String>,
    ) -> async_graphql::Result<Option<Obtained>> {
        let b = backend(ctx)?;
        Ok(report(ctx, run(async move { b.refresh(token, refresh_token).await }).await))
    }

    /// Ends a long-running refresh token's session.
    async fn revoke_token(&self, ctx: &Context<'_>, refresh_token: String) -> async_graphql::Result<Option<Revoked>> {
        let b = backend(ctx)?;
        Ok(report(ctx, run(async move { b.revoke(refresh_token).await }).await))
    }
}

fn backend(ctx: &Context<'_>) -> async_graphql::Result<Rc<dyn Backend>> {
    Ok(Rc::clone(&**ctx.data::<Handle>()?))
}

/// Runs a resolver's storage work as the `Send` future async-graphql wants. Workers and the
/// tests run on one thread, which `SendWrapper` checks.
fn run<T: Send, F: Future<Output = Result<T, GraphqlError>>>(work: F) -> impl Future<Output = Result<T, GraphqlError>> + Send {
    SendWrapper::new(work)
}

/// A resolver's answer as upstream gives it: a failed field is `null` in `data` with its error
/// (message, location, path) in `errors`; the rest of the document still runs.
fn report<T>(ctx: &Context<'_>, result: Result<T, GraphqlError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(e) => {
            let error = async_graphql::ServerError::new(e.message(), Some(ctx.item.pos));
            ctx.add_error(ctx.set_error_path(error));
            None
        }
    }
}

/// The schema, built once.
pub fn schema() -> &'static Schema<Query, Mutation, EmptySubscription> {
    static SCHEMA: OnceLock<Schema<Query, Mutation, EmptySubscription>> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        Schema::build(Query, Mutation, EmptySubscription)
            .limit_depth(MAX_DEPTH)
            .limit_complexity(MAX_COMPLEXITY)
            .limit_recursive_depth(32)
            .finish()
    })
}

/// A request refused before it reached the executor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a POST.
    Method,
    /// The body is not JSON.
    Json,
    /// A JSON array: a batch.
    Batch,
    /// JSON, but not an object.
    NotObject,
    /// No `query` string.
    NoQuery,
    /// `variables` is not an object.
    Variables,
    /// `operationName` is not a string.
    OperationName,
    /// The app refused the request before reading it (size, headers, content type).
    App(AppRefusal),
    /// The document breaks one of the bounds of `graphql_guard`.
    Limit(Limit),
}

/// Status and message of a refusal, and of an executed document: the one place this dialect
/// picks statuses. An executed document is 400 when it could not run at all (no `data`: syntax,
/// validation, variables, limits), else 200 with any resolver errors inside.
fn describe(refusal: Refusal) -> (StatusCode, String) {
    let bad = StatusCode::BAD_REQUEST;
    match refusal {
        Refusal::Method => (StatusCode::METHOD_NOT_ALLOWED, "GraphQL only supports POST requests here.".into()),
        Refusal::Json => (bad, "POST body sent invalid JSON.".into()),
        Refusal::Batch => (bad, "Batch GraphQL requests are not enabled.".into()),
        Refusal::NotObject => (bad, "POST body must be a JSON object.".into()),
        Refusal::NoQuery => (bad, "Must provide query string.".into()),
        Refusal::Variables => (bad, "Variables are invalid JSON.".into()),
        Refusal::OperationName => (bad, "operationName must be a string.".into()),
        Refusal::App(r) => {
            let (status, message) = r.status_and_message();
            (StatusCode::from_u16(status).unwrap_or(bad), message)
        }
        Refusal::Limit(limit) => (bad, limit.message()),
    }
}

fn status_of(response: &async_graphql::Response) -> StatusCode {
    match (response.errors.is_empty(), &response.data) {
        (false, GqlValue::Null) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

/// A refusal in GraphQL's error shape.
pub fn refuse(refusal: Refusal) -> Response<Body> {
    let (status, message) = describe(refusal);
    json_response(status, &json!({"errors": [{"message": message}]}), &[])
}

/// Serves `POST /graphql`.
pub async fn handle<P: Ports + 'static>(auth: Flows<P>, req: &Request<Body>) -> Response<Body> {
    let mut request = match parse(req) {
        Ok(r) => r,
        Err(refusal) => return refuse(refusal),
    };
    // Bounded before async-graphql parses (its parser recurses per nesting level) and before
    // it validates (its checks expand fragments without memoising). A document that does not
    // parse is left to the executor, which reports the syntax error.
    if let Err(limit) = graphql_guard::check_text(&request.query) {
        return refuse(Refusal::Limit(limit));
    }
    if let Ok(doc) = request.parsed_query() {
        if let Err(limit) = graphql_guard::check_document(doc) {
            return refuse(Refusal::Limit(limit));
        }
    }
    let backend: Rc<dyn Backend> = Rc::new(EdgeBackend {
        platform: super::platform(req.headers()),
        bearer: bearer_token(req),
        auth,
    });
    let response = schema().execute(request.data(SendWrapper::new(backend))).await;
    let status = status_of(&response);
    json_response(status, &serde_json::to_value(&response).unwrap_or_default(), &[])
}

/// The GraphQL request in an HTTP request: `{query, variables?, operationName?}`.
fn parse(req: &Request<Body>) -> Result<async_graphql::Request, Refusal> {
    if req.method() != Method::POST {
        return Err(Refusal::Method);
    }
    let fields = match serde_json::from_slice(req.body()).map_err(|_| Refusal::Json)? {
        Value::Object(fields) => fields,
        Value::Array(_) => return Err(Refusal::Batch),
        _ => return Err(Refusal::NotObject),
    };
    let Some(Value::String(query)) = fields.get("query") else {
        return Err(Refusal::NoQuery);
    };
    let variables = match fields.get("variables") {
        None | Some(Value::Null) => Variables::default(),
        Some(v @ Value::Object(_)) => Variables::from_json(v.clone()),
        Some(_) => return Err(Refusal::Variables),
    };
    let request = async_graphql::Request::new(query.as_str()).variables(variables);
    match fields.get("operationName") {
        None | Some(Value::Null) => Ok(request),
        Some(Value::String(name)) => Ok(request.operation_name(name.as_str())),
        Some(_) => Err(Refusal::OperationName),
    }
}

/// The token of `Authorization` (or `Authentication`): `JWT <token>` or `Bearer <token>`.
fn bearer_token(req: &Request<Body>) -> Option<String> {
    let value = header(req.headers(), "authorization").or_else(|| header(req.headers(), "authentication"))?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let known = scheme.eq_ignore_ascii_case("jwt") || scheme.eq_ignore_ascii_case("bearer");
    (known && !token.trim().is_empty()).then(|| token.trim().to_string())
}

/// The resolvers' work over the auth service of this request.
struct EdgeBackend<P> {
    auth: Flows<P>,
    bearer: Option<String>,
    platform: String,
}

impl<P: Ports + 'static> Backend for EdgeBackend<P> {
    fn token_auth(&self, username: String, password: Secret<String>) -> LocalFuture<'_, Obtained> {
        Box::pin(async move {
            let auth = &self.auth;
            let issued = async { auth.graphql_sign_in_token(auth.username_or_email_login(&username, &password, &self.platform).await?) };
            Ok(obtained(issued.await.map_err(|e| self.flow_error(e))?))
        })
    }

    fn verify(&self, token: String) -> LocalFuture<'_, Verified> {
        Box::pin(async move {
            let bearer = self.auth.authenticate(&token, &[Dialect::Graphql]).await.map_err(|e| self.flow_error(e.into()))?;
            Ok(Verified { payload: GenericScalar(payload(&bearer.claims, bearer.expires_at)) })
        })
    }

    fn refresh(&self, token: Option<String>, refresh_token: Option<String>) -> LocalFuture<'_, Obtained> {
        Box::pin(async move {
            let issued = match (self.auth.config().graphql_long_running_refresh, token, refresh_token) {
                (false, Some(token), None) => self.auth.graphql_refresh(&token).await.map_err(|e| self.flow_error(e)),
                (false, _, Some(_)) => Err(GraphqlError::Argument(
                    "Long-running refresh tokens are off here: refresh with refreshToken(token: ...)",
                )),
                (false, None, None) => Err(GraphqlError::Argument("refreshToken needs the token to refresh")),
                (true, _, Some(rt)) => self.auth.graphql_refresh_long_running(&rt).await.map_err(|e| match e {
                    // A long-running refresh token past the window has upstream's own words.
                    FlowError::SessionExpired => GraphqlError::RefreshTokenExpired,
                    other => self.flow_error(other),
                }),
                (true, _, None) => Err(GraphqlError::Argument("refreshToken needs the refreshToken argument")),
            };
            Ok(obtained(issued?))
        })
    }

    fn revoke(&self, refresh_token: String) -> LocalFuture<'_, Revoked> {
        Box::pin(async move {
            if !self.auth.config().graphql_long_running_refresh {
                return Err(GraphqlError::Argument("Long-running refresh tokens are off here: there is nothing to revoke"));
            }
            let at = self.auth.revoke_refresh_token(&refresh_token).await.map_err(|e| self.flow_error(e))?;
            Ok(Revoked { revoked: at.unix_seconds() })
        })
    }

    fn me(&self) -> LocalFuture<'_, Me> {
        Box::pin(async move {
            let token = self.bearer.as_deref().ok_or(GraphqlError::PermissionDenied)?;
            let user = self.auth.authenticate(token, &[Dialect::Graphql]).await.map_err(|e| self.flow_error(e.into()))?.user;
            Ok(Me {
                id: ID(user.id.clone()),
                username: user.username.clone().or_else(|| user.email.clone()).unwrap_or_default(),
                email: user.email.clone().unwrap_or_default(),
            })
        })
    }
}

impl<P: Ports + 'static> EdgeBackend<P> {
    /// Upstream's error for a flow's refusal, every variant named (a new one is a compile
    /// error here); internal failures are reported and shown by their id.
    fn flow_error(&self, e: FlowError) -> GraphqlError {
        use FlowError as F;
        match e {
            F::InvalidCredentials | F::EmailNotConfirmed => GraphqlError::Credentials,
            F::BadToken(TokenError::Expired) => GraphqlError::SignatureExpired,
            F::BadToken(TokenError::Claims) => GraphqlError::InvalidPayload,
            F::BadToken(
                TokenError::Malformed
                | TokenError::Algorithm
                | TokenError::UnknownKey
                | TokenError::BadSignature
                | TokenError::Audience { .. }
                | TokenError::Issuer { .. }
                | TokenError::Signing,
            ) => GraphqlError::DecodingSignature,
            F::SessionNotFound | F::UserNotFound | F::SessionExpired | F::NoSuchUser => GraphqlError::InvalidToken,
            F::RefreshWindowPassed => GraphqlError::RefreshExpired,
            F::RefreshTokenNotFound | F::RefreshTokenAlreadyUsed => GraphqlError::InvalidRefreshToken,
            F::Internal(detail) => GraphqlError::Internal(self.auth.report(&format_args!("graphql: {detail}"))),
            e @ (F::SignupDisabled
            | F::InvalidEmail
            | F::WeakPassword { .. }
            | F::PasswordTooLong
            | F::UserAlreadyExists
            | F::CodeInvalid
            | F::OverEmailSendRateLimit { .. }
            | F::EmailExists
            | F::InvalidUsername
            | F::InvalidPlatform
            | F::UsernameTaken
            | F::LinkInvalid
            | F::LoginNotReady
            | F::FlowStateNotFound
            | F::UserBanned
            | F::NotAdmin
            | F::AnonymousDisabled
            | F::AnonymousWithoutAddress
            | F::NoUserWithEmail
            | F::FlowStateExpired
            | F::BadCodeVerifier
            | F::ReauthenticationNeeded
            | F::ReauthenticationNotValid
            | F::NoAddress
            | F::AddressNotVerified) => GraphqlError::Refused(e.to_string()),
            F::TooManyRequests => GraphqlError::Refused("Too many attempts; try again later".into()),
        }
    }
}

/// What `tokenAuth` and `refreshToken` report for a token.
fn obtained(issued: GraphqlToken) -> Obtained {
    let GraphqlToken { access, refresh_expires_in, refresh_token } = issued;
    let AccessToken { token, claims, expires_at, .. } = access;
    Obtained {
        payload: GenericScalar(payload(&claims, Some(expires_at))),
        refresh_expires_in,
        token,
        refresh_token: refresh_token.map(|t| t.expose().clone()),
    }
}

/// The payload as upstream reports it: the claims with `exp`.
fn payload(claims: &Claims, expires_at: Option<Timestamp>) -> Value {
    json!({
        "username": claims.username,
        "sub": claims.sub,
        "exp": expires_at.map(Timestamp::unix_seconds),
        "origIat": claims.orig_iat,
        "sid": claims.sid,
    })
}
