//! Minting each dialect's access tokens: their claims, their lifetimes (from the configuration,
//! per dialect) and graphql-jwt's refresh window. Dialects render what comes back; they never
//! sign, and never decide how long a token lives.
//!
//! Every token names its session in a claim that only its dialect uses (GoTrue `session_id`,
//! Feathers `jti`, graphql-jwt `sid`), which is how the bearer road tells them apart with one
//! signature check. All are HS256, each dialect with its own key (`DialectKeys`); Feathers'
//! header says `typ: access`, as upstream's does.

use super::{Bearer, BearerError, Dialect, Flows, InternalError, RefreshError, SignedIn};
use crate::model::{Session, SessionId, Timestamp, User, UserId};
use crate::ports::Ports;
use crate::token::TokenError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// What a Portcullis access token says, for every dialect at once: a dialect's token has its
/// own fields set and the others' absent. GoTrue tokens carry more claims (email, role,
/// metadata) that nothing reads back, so they are not kept here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The account id.
    pub sub: UserId,
    /// GoTrue: the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<SessionId>,
    /// Feathers: the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<SessionId>,
    /// graphql-jwt: the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<SessionId>,
    /// Audience (GoTrue `authenticated`, Feathers the configured one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// graphql-jwt: the username, or the address for accounts without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// graphql-jwt: when the first token of this refresh chain was issued, unix seconds.
    #[serde(default, rename = "origIat", skip_serializing_if = "Option::is_none")]
    pub orig_iat: Option<i64>,
}

/// A freshly signed access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The JWT.
    pub token: String,
    /// What it says.
    pub claims: Claims,
    /// `iat`, whole seconds.
    pub issued_at: Timestamp,
    /// `exp`, whole seconds.
    pub expires_at: Timestamp,
    /// Its lifetime in seconds (GoTrue's `expires_in`).
    pub lifetime_secs: i64,
}

/// A graphql-jwt token with what `tokenAuth` and `refreshToken` report beside it.
#[derive(Debug, Clone)]
pub struct GraphqlToken {
    /// The token.
    pub access: AccessToken,
    /// Unix seconds until which it can be refreshed (upstream's `refreshExpiresIn`).
    pub refresh_expires_in: i64,
    /// The long-running refresh token, in that mode.
    pub refresh_token: Option<crate::secret::RefreshSecret>,
}

/// The `typ` of a Feathers token's header, as upstream's `jwtOptions.header` sets it.
pub(super) const FEATHERS_TYP: &str = "access";

/// The `aud` of every GoTrue access token.
pub(super) const GOTRUE_AUDIENCE: &str = "authenticated";

/// One `amr` entry of a GoTrue token: a method and when it was used (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Amr {
    /// The method (`password`, `otp`, `totp`, ...).
    pub method: &'static str,
    /// When, unix seconds.
    pub timestamp: i64,
}

/// What a session has proven, newest first (GoTrue's `amr`): its second step, if it took
/// one, then how it started.
pub fn amr(session: &Session) -> Vec<Amr> {
    let first = Amr { method: session.method.as_str(), timestamp: session.created_at.unix_seconds() };
    match &session.second {
        Some(step) => vec![Amr { method: step.kind.amr_method(), timestamp: step.at.unix_seconds() }, first],
        None => vec![first],
    }
}

/// GoTrue's access token claims besides `exp` and `iat` (supabase/auth `AccessTokenClaims`).
#[derive(Debug, Clone, Serialize)]
struct GotrueClaims {
    aud: &'static str,
    iss: String,
    sub: UserId,
    email: String,
    phone: &'static str,
    app_metadata: Value,
    user_metadata: Value,
    role: &'static str,
    aal: &'static str,
    amr: Vec<Amr>,
    session_id: SessionId,
    is_anonymous: bool,
}

/// GoTrue's `app_metadata` of an account, under what the service role set: `providers`, its
/// `email` identity (if it has one) and then its providers in the order they were linked, and
/// `provider`, how it signed up: the provider that made it, else the first of those (none for
/// an anonymous account).
pub fn gotrue_app_metadata(u: &User) -> Value {
    let email = u.has_email_identity().then_some("email");
    let providers: Vec<&str> = email.into_iter().chain(u.providers.iter().map(String::as_str)).collect();
    let mut out = serde_json::Map::new();
    if let Some(first) = u.made_by.as_deref().or(providers.first().copied()) {
        out.insert("provider".into(), json!(first));
        out.insert("providers".into(), json!(providers));
    }
    if let Some(own) = u.app_metadata.as_object() {
        out.extend(own.clone());
    }
    Value::Object(out)
}

/// Whole seconds, as JWT NumericDates are.
fn whole_seconds(t: Timestamp) -> Timestamp {
    Timestamp(t.unix_seconds() * 1000)
}

/// Why graphql-jwt's `refreshToken(token)` refused: the token's refresh window after its
/// `origIat` has passed (only this flow has it), or the token itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshWindowPassed {
    /// The refresh window has passed.
    #[error("refresh window passed")]
    Passed,
    /// The token or its session (the bearer road's refusals).
    #[error(transparent)]
    Bearer(#[from] BearerError),
}

impl From<InternalError> for RefreshWindowPassed {
    fn from(e: InternalError) -> Self {
        RefreshWindowPassed::Bearer(BearerError::Internal(e.0))
    }
}

impl<P: Ports> Flows<P> {
    /// Signs `claims` (or `body`, the full claim set they summarise) with `dialect`'s key,
    /// valid for `lifetime_secs`.
    async fn sign_access<C: Serialize>(
        &self,
        dialect: Dialect,
        body: C,
        claims: Claims,
        lifetime_secs: i64,
        with_iat: bool,
        typ: Option<&str>,
    ) -> Result<AccessToken, InternalError> {
        let now = whole_seconds(self.now());
        let expires_at = now.plus_secs(lifetime_secs);
        let keys = self.keys.of(dialect).ok_or_else(|| InternalError(format!("{dialect:?} has no JWTs")))?;
        let token = keys
            .sign_claims(self.signatures(), body, with_iat.then_some(now), expires_at, typ)
            .await
            .map_err(|e: TokenError| InternalError(e.to_string()))?;
        Ok(AccessToken { token, claims, issued_at: now, expires_at, lifetime_secs })
    }

    /// A GoTrue access token for a fresh or refreshed session (`JWT_EXP`).
    pub async fn gotrue_access_token(&self, s: &SignedIn) -> Result<AccessToken, InternalError> {
        let body = GotrueClaims {
            aud: GOTRUE_AUDIENCE,
            iss: self.config.jwt_issuer(),
            sub: s.user.id.clone(),
            email: s.user.email.clone().unwrap_or_default(),
            phone: "",
            app_metadata: gotrue_app_metadata(&s.user),
            user_metadata: s.user.user_metadata.clone(),
            role: "authenticated",
            aal: s.session.aal().as_str(),
            amr: amr(&s.session),
            session_id: s.session.id.clone(),
            is_anonymous: s.user.is_anonymous,
        };
        let claims = Claims {
            sub: body.sub.clone(),
            session_id: Some(body.session_id.clone()),
            aud: Some(body.aud.into()),
            iss: Some(body.iss.clone()),
            ..Claims::default()
        };
        self.sign_access(Dialect::Gotrue, body, claims, self.config.jwt_exp_secs, true, None).await
    }

    /// A Feathers access token for a fresh session (`FEATHERS_JWT_EXP`, upstream's `1d`).
    pub async fn feathers_access_token(&self, user: &User, session: &Session) -> Result<AccessToken, InternalError> {
        let claims = Claims {
            sub: user.id.clone(),
            jti: Some(session.id.clone()),
            aud: Some(self.config.feathers_jwt_audience.clone()),
            iss: Some(self.config.feathers_jwt_issuer.clone()),
            ..Claims::default()
        };
        let lifetime = self.config.feathers_jwt_exp_secs;
        self.sign_access(Dialect::Feathers, &claims, claims.clone(), lifetime, true, Some(FEATHERS_TYP)).await
    }

    /// A graphql-jwt token for `session` whose refresh chain began at `orig_iat` (unix
    /// seconds), valid `GRAPHQL_JWT_EXP`; upstream's payload has no `iat`.
    async fn graphql_access_token(&self, user: &User, session: &Session, orig_iat: i64) -> Result<AccessToken, InternalError> {
        let claims = Claims {
            sub: user.id.clone(),
            sid: Some(session.id.clone()),
            username: Some(user.username.clone().or_else(|| user.email.clone()).unwrap_or_default()),
            orig_iat: Some(orig_iat),
            ..Claims::default()
        };
        self.sign_access(Dialect::Graphql, &claims, claims.clone(), self.config.graphql_jwt_exp_secs, false, None).await
    }

    /// graphql-jwt's `tokenAuth` after a successful sign-in: a token whose chain starts now,
    /// and in long-running mode the session's refresh token.
    pub async fn graphql_sign_in_token(&self, signed_in: SignedIn) -> Result<GraphqlToken, InternalError> {
        let now = self.now().unix_seconds();
        let access = self.graphql_access_token(&signed_in.user, &signed_in.session, now).await?;
        let refresh_token = self.config.graphql_long_running_refresh.then_some(signed_in.refresh_token);
        Ok(GraphqlToken { access, refresh_expires_in: now + self.config.graphql_refresh_exp_secs, refresh_token })
    }

    /// graphql-jwt's `refreshToken(token)`: a new token for a valid one of the same chain
    /// (same `origIat`), refused with [`RefreshWindowPassed`] once the refresh window after
    /// `origIat` has passed.
    pub async fn graphql_refresh(&self, token: &str) -> Result<GraphqlToken, RefreshWindowPassed> {
        let Bearer { session, user, claims, .. } = self.authenticate(token, &[Dialect::Graphql]).await?;
        let orig_iat = claims.orig_iat.unwrap_or_default();
        let window = self.config.graphql_refresh_exp_secs;
        let window_end = Timestamp(orig_iat.saturating_mul(1000)).plus_secs(window);
        if self.now() > window_end {
            return Err(RefreshWindowPassed::Passed);
        }
        let access = self.graphql_access_token(&user, &session, orig_iat).await?;
        Ok(GraphqlToken { access, refresh_expires_in: orig_iat + window, refresh_token: None })
    }

    /// graphql-jwt's long-running `refreshToken(refreshToken)`: rotates the refresh token
    /// (refused once it is older than the refresh window) and starts a new chain.
    pub async fn graphql_refresh_long_running(&self, refresh_token: &crate::secret::RefreshSecret) -> Result<GraphqlToken, RefreshError> {
        let window = self.config.graphql_refresh_exp_secs;
        let signed_in = self.refresh_within(refresh_token, Dialect::Graphql, Some(window)).await?;
        Ok(self.graphql_sign_in_token(signed_in).await?)
    }
}
