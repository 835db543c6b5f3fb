//! The resolvers' work over the flows: [`EdgeBackend`] implements the schema's `Backend` port
//! for one request, maps each flow error to graphql-jwt's own message, and shapes issued tokens
//! into the payload upstream reports.
//!
//! Not here: the schema, its types and how a failed field is reported (`graphql/resolvers.rs`),
//! and the HTTP request around it (`graphql/mod.rs`).

use super::resolvers::{Backend, GenericScalar, GraphqlError, LocalFuture, Me, Obtained, Revoked, Verified};
use crate::flows::{AccessToken, Claims, Dialect, FlowError, Flows, GraphqlToken, RefreshWindowPassed};
use crate::model::Timestamp;
use crate::ports::Ports;
use crate::secret::{Password, RefreshSecret};
use crate::token::TokenError;
use async_graphql::ID;
use serde_json::{json, Value};

/// The resolvers' work over the auth service of this request.
pub(super) struct EdgeBackend<P> {
    pub(super) auth: Flows<P>,
    pub(super) bearer: Option<String>,
    pub(super) platform: String,
}

impl<P: Ports + 'static> Backend for EdgeBackend<P> {
    fn token_auth(&self, username: String, password: Password) -> LocalFuture<'_, Obtained> {
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

    fn refresh(&self, token: Option<String>, refresh_token: Option<RefreshSecret>) -> LocalFuture<'_, Obtained> {
        Box::pin(async move {
            let issued = match (self.auth.config().graphql_long_running_refresh, token, refresh_token) {
                (false, Some(token), None) => self.auth.graphql_refresh(&token).await.map_err(|e| match e {
                    RefreshWindowPassed::Passed => GraphqlError::RefreshExpired,
                    RefreshWindowPassed::Flow(f) => self.flow_error(f),
                }),
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

    fn revoke(&self, refresh_token: RefreshSecret) -> LocalFuture<'_, Revoked> {
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
                id: ID(user.id.to_string()),
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
            F::SessionNotFound | F::UserNotFound | F::SessionExpired => GraphqlError::InvalidToken,
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
            | F::UserBanned
            | F::AnonymousDisabled
            | F::AnonymousWithoutAddress
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
        refresh_token: refresh_token.map(|t| t.expose().to_string()),
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
