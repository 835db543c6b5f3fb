//! The resolvers' work over the flows: [`EdgeBackend`] implements the schema's `Backend` port
//! for one request, maps each flow error to graphql-jwt's own message, and shapes issued tokens
//! into the payload upstream reports.
//!
//! Not here: the schema, its types and how a failed field is reported (`graphql/resolvers.rs`),
//! and the HTTP request around it (`graphql/mod.rs`).

use super::resolvers::{Backend, GenericScalar, GraphqlError, LocalFuture, Me, Obtained, Revoked, Verified, WebauthnChallenge};
use crate::flows::{AccessToken, BearerError, Claims, Dialect, FactorError, Flows, GraphqlToken, LoginError, RefreshError, RefreshWindowPassed};
use crate::dialects::webauthn_wire::factor_options;
use crate::model::Timestamp;
use crate::ports::Ports;
use crate::secret::{Password, RefreshSecret, Secret};
use crate::token::TokenError;
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
            let signed_in = auth.username_or_email_login(&username, &password, &self.platform).await.map_err(|e| self.login_error(e))?;
            let signed_in = match auth.second_step_due(signed_in).await.map_err(|e| self.factor_error(e))? {
                Ok(s) => s,
                Err(due) => {
                    let factors = due.factors.iter().map(|f| json!({"id": f.id, "type": f.kind.as_str(), "friendlyName": f.friendly_name}));
                    return Err(GraphqlError::SecondStep { ticket: due.ticket.expose().clone(), factors: Value::Array(factors.collect()) });
                }
            };
            let issued = auth.graphql_sign_in_token(signed_in).await.map_err(|e| self.internal(e.0))?;
            Ok(obtained(issued))
        })
    }

    fn totp_auth(&self, ticket: Secret<String>, code: String, factor_id: Option<String>) -> LocalFuture<'_, Obtained> {
        Box::pin(async move {
            let auth = &self.auth;
            let signed_in = auth
                .complete_second_step(Dialect::Graphql, &ticket, factor_id.as_deref(), &code)
                .await
                .map_err(|e| self.factor_error(e))?;
            let issued = auth.graphql_sign_in_token(signed_in).await.map_err(|e| self.internal(e.0))?;
            Ok(obtained(issued))
        })
    }

    fn webauthn_challenge(&self, ticket: Secret<String>, factor_id: Option<String>) -> LocalFuture<'_, WebauthnChallenge> {
        Box::pin(async move {
            let auth = &self.auth;
            let issued = auth.second_step_webauthn_challenge(Dialect::Graphql, &ticket, factor_id.as_deref()).await.map_err(|e| self.factor_error(e))?;
            let public_key = issued.ceremony.as_ref().map(|c| factor_options(auth.config(), c)).unwrap_or(Value::Null);
            Ok(WebauthnChallenge {
                challenge_id: issued.challenge.id.as_str().to_string(),
                public_key: GenericScalar(public_key),
                expires_at: issued.expires_at.unix_seconds(),
            })
        })
    }

    fn webauthn_auth(&self, ticket: Secret<String>, challenge_id: String, credential: String, factor_id: Option<String>) -> LocalFuture<'_, Obtained> {
        Box::pin(async move {
            let auth = &self.auth;
            let credential = Value::String(credential);
            let signed_in = auth
                .complete_second_step_webauthn(Dialect::Graphql, &ticket, factor_id.as_deref(), &challenge_id, Some(&credential))
                .await
                .map_err(|e| self.factor_error(e))?;
            let issued = auth.graphql_sign_in_token(signed_in).await.map_err(|e| self.internal(e.0))?;
            Ok(obtained(issued))
        })
    }

    fn verify(&self, token: String) -> LocalFuture<'_, Verified> {
        Box::pin(async move {
            let bearer = self.auth.authenticate(&token, &[Dialect::Graphql]).await.map_err(|e| self.bearer_error(e))?;
            Ok(Verified { payload: GenericScalar(payload(&bearer.claims, bearer.expires_at)) })
        })
    }

    fn refresh(&self, token: Option<String>, refresh_token: Option<RefreshSecret>) -> LocalFuture<'_, Obtained> {
        Box::pin(async move {
            let issued = match (self.auth.config().graphql_long_running_refresh, token, refresh_token) {
                (false, Some(token), None) => self.auth.graphql_refresh(&token).await.map_err(|e| match e {
                    RefreshWindowPassed::Passed => GraphqlError::RefreshExpired,
                    RefreshWindowPassed::Bearer(b) => self.bearer_error(b),
                }),
                (false, _, Some(_)) => Err(GraphqlError::Argument(
                    "Long-running refresh tokens are off here: refresh with refreshToken(token: ...)",
                )),
                (false, None, None) => Err(GraphqlError::Argument("refreshToken needs the token to refresh")),
                (true, _, Some(rt)) => self.auth.graphql_refresh_long_running(&rt).await.map_err(|e| match e {
                    // A long-running refresh token past the window has upstream's own words.
                    RefreshError::SessionExpired => GraphqlError::RefreshTokenExpired,
                    other => self.refresh_error(other),
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
            let at = self.auth.revoke_refresh_token(&refresh_token).await.map_err(|e| self.refresh_error(e))?;
            Ok(Revoked { revoked: at.unix_seconds() })
        })
    }

    fn me(&self) -> LocalFuture<'_, Me> {
        Box::pin(async move {
            let token = self.bearer.as_deref().ok_or(GraphqlError::PermissionDenied)?;
            let user = self.auth.authenticate(token, &[Dialect::Graphql]).await.map_err(|e| self.bearer_error(e))?.user;
            Ok(Me {
                id: user.id.to_string(),
                username: user.username.clone().or_else(|| user.email.clone()).unwrap_or_default(),
                email: user.email.clone().unwrap_or_default(),
            })
        })
    }
}

/// Upstream's errors for the refusals of the flows this dialect calls, every case named (a new
/// one is a compile error here); internal failures are reported and shown by their id.
impl<P: Ports + 'static> EdgeBackend<P> {
    fn internal(&self, detail: String) -> GraphqlError {
        GraphqlError::Internal(self.auth.report(&format_args!("graphql: {detail}")))
    }

    /// `tokenAuth`: upstream's `Please enter valid credentials` for a wrong password, and for
    /// an address not yet confirmed or an account deleted meanwhile.
    fn login_error(&self, e: LoginError) -> GraphqlError {
        use LoginError as L;
        match e {
            L::InvalidCredentials | L::EmailNotConfirmed | L::UserNotFound => GraphqlError::Credentials,
            L::UserBanned => GraphqlError::Refused("user banned".into()),
            L::TooManyRequests => GraphqlError::Refused("Too many attempts; try again later".into()),
            L::Internal(detail) => self.internal(detail),
        }
    }

    /// `totpAuth`'s refusals (graphql-jwt has no words of its own for them).
    fn factor_error(&self, e: FactorError) -> GraphqlError {
        use FactorError as F;
        match e {
            F::TicketInvalid | F::ChallengeExpired(_) | F::ChallengeMismatch | F::ChallengeNotFound => {
                GraphqlError::Refused("Invalid or expired ticket; sign in again".into())
            }
            F::WrongCode => GraphqlError::Refused("Invalid TOTP code".into()),
            F::WrongRecoveryCode => GraphqlError::Refused("Invalid recovery code".into()),
            F::WebauthnRefused => GraphqlError::Refused("Invalid WebAuthn assertion".into()),
            F::Invalid(why) => GraphqlError::Argument(why),
            F::CodeMissing => GraphqlError::Argument("totpAuth needs the code"),
            F::FactorNotFound => GraphqlError::Argument("factorId must name one of the account's factors"),
            F::VerifyDisabled(kind) => GraphqlError::Refused(crate::dialects::verify_disabled(kind)),
            F::TooManyRequests | F::RecoveryCodesLocked => GraphqlError::Refused("Too many attempts; try again later".into()),
            F::UnknownType | F::EnrollDisabled(_) | F::Anonymous | F::NoAddress | F::LabelTooLong | F::NameTaken(_) | F::TooMany
            | F::InsufficientAal(_) | F::CredentialTaken | F::RecoveryCodesExist | F::SoleFactor => {
                GraphqlError::Refused("Factors are managed through the GoTrue API".into())
            }
            F::Internal(detail) => self.internal(detail),
        }
    }

    /// A token or its session, as upstream's PyJWT-based messages.
    fn bearer_error(&self, e: BearerError) -> GraphqlError {
        use BearerError as B;
        match e {
            B::BadToken(TokenError::Expired) => GraphqlError::SignatureExpired,
            B::BadToken(TokenError::Claims) => GraphqlError::InvalidPayload,
            B::BadToken(
                TokenError::Malformed
                | TokenError::Algorithm
                | TokenError::UnknownKey
                | TokenError::BadSignature
                | TokenError::Audience { .. }
                | TokenError::Issuer { .. }
                | TokenError::Signing(_),
            ) => GraphqlError::DecodingSignature,
            B::SessionNotFound | B::UserNotFound | B::SessionExpired => GraphqlError::InvalidToken,
            B::UserBanned => GraphqlError::Refused("user banned".into()),
            B::Internal(detail) => self.internal(detail),
        }
    }

    /// A long-running refresh token.
    fn refresh_error(&self, e: RefreshError) -> GraphqlError {
        use RefreshError as R;
        match e {
            R::RefreshTokenNotFound | R::RefreshTokenAlreadyUsed => GraphqlError::InvalidRefreshToken,
            R::SessionExpired | R::UserNotFound => GraphqlError::InvalidToken,
            R::UserBanned => GraphqlError::Refused("user banned".into()),
            R::Internal(detail) => self.internal(detail),
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
