//! The GraphQL schema of the graphql-jwt dialect: its object types and scalar, the query and
//! mutation roots with their resolvers, the bounds on depth and complexity, the resolvers'
//! errors ([`GraphqlError`]) and how a failed field is reported, and the [`Backend`] port the
//! resolvers call, type-erased because the schema is not generic.
//!
//! Not here: reading the HTTP request and choosing statuses (`graphql/mod.rs`), and the
//! backend over the flows with its mapping of flow errors (`graphql/backend.rs`).

use crate::secret::{Password, RefreshSecret};
use async_graphql::{
    Context, EmptySubscription, InputValueError, InputValueResult, Object, Scalar, ScalarType, Schema,
    SimpleObject, Value as GqlValue, ID,
};
use send_wrapper::SendWrapper;
use serde_json::Value;
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
    pub(super) payload: GenericScalar,
    /// Unix seconds until which the token can be refreshed.
    pub(super) refresh_expires_in: i64,
    /// The access token.
    pub(super) token: String,
    /// The long-running refresh token, when that mode is on.
    pub(super) refresh_token: Option<String>,
}

/// What `verifyToken` returns.
#[derive(SimpleObject)]
#[graphql(name = "Verify")]
pub struct Verified {
    /// The token's claims.
    pub(super) payload: GenericScalar,
}

/// What `revokeToken` returns.
#[derive(SimpleObject)]
#[graphql(name = "Revoke")]
pub struct Revoked {
    /// When the refresh token was revoked, unix seconds.
    pub(super) revoked: i64,
}

/// The signed-in user, as `me` shows it.
#[derive(SimpleObject)]
#[graphql(name = "UserType")]
pub struct Me {
    /// The account id.
    pub(super) id: ID,
    /// The username, or the address for accounts without one.
    pub(super) username: String,
    /// The address, or the empty string (as Django's `User.email`).
    pub(super) email: String,
}

pub(super) type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, GraphqlError>> + 'a>>;

/// What the resolvers need from the world, type-erased (the schema is not generic) and behind
/// [`SendWrapper`] (async-graphql wants `Send`; storage futures on Workers are not).
pub(super) trait Backend {
    fn token_auth(&self, username: String, password: Password) -> LocalFuture<'_, Obtained>;
    fn verify(&self, token: String) -> LocalFuture<'_, Verified>;
    fn refresh(&self, token: Option<String>, refresh_token: Option<RefreshSecret>) -> LocalFuture<'_, Obtained>;
    fn revoke(&self, refresh_token: RefreshSecret) -> LocalFuture<'_, Revoked>;
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
        Ok(report(ctx, run(async move { b.token_auth(username, Password::new(password)).await }).await))
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
        Ok(report(ctx, run(async move { b.refresh(token, refresh_token.map(RefreshSecret::new)).await }).await))
    }

    /// Ends a long-running refresh token's session.
    async fn revoke_token(&self, ctx: &Context<'_>, refresh_token: String) -> async_graphql::Result<Option<Revoked>> {
        let b = backend(ctx)?;
        Ok(report(ctx, run(async move { b.revoke(RefreshSecret::new(refresh_token)).await }).await))
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
