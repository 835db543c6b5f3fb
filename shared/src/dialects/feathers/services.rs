//! The services' methods: `users` (create, and get, patch, remove of one's own account)
//! and `authentication` (create with the `local`, `jwt`, `totp` and `passkey` strategies,
//! remove), each run after its route's guard, whichever transport carried the call; the
//! passkey services' are in `passkeys`.

use super::errors::FeathersError;
use super::passkeys;
use super::{AuthChange, Endpoint, Reply, ServiceCall};
use crate::dialects::{parse_json, webauthn_wire};
use crate::dialects::routes::{split, Caller};
use crate::flows::{Bearer, BearerError, Claims, Dialect, Flows, Human, LoginError, SignupOutcome, SignupRequest, UserUpdate};
use crate::model::{LogoutScope, Timestamp, User};
use crate::ports::Ports;
use crate::secret::Password;
use crate::secret::Secret;
use crate::wire::feathers::{AuthRequest, AuthResult, Authentication, Payload, UserView, JWT, LOCAL, PASSKEY, TOTP, WEBAUTHN};
use http::StatusCode;
use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Runs a call whose route's guard let `caller` through.
pub(super) async fn serve_call<P: Ports>(flows: &Flows<P>, endpoint: Endpoint, call: &ServiceCall<'_>, caller: Caller) -> Result<Reply, FeathersError> {
    match endpoint {
        Endpoint::CreateUser => split(create_user(flows, call)).await,
        Endpoint::GetUser => get_user(own_account(call, caller)?),
        Endpoint::PatchUser => split(patch_user(flows, call, own_account(call, caller)?)).await,
        Endpoint::RemoveUser => split(remove_user(flows, own_account(call, caller)?)).await,
        Endpoint::CreateAuthentication => split(create_authentication(flows, call)).await,
        Endpoint::RemoveAuthentication => split(remove_authentication(flows, call, caller.session()?)).await,
        Endpoint::PasskeyChallenge => split(passkeys::challenge(flows, call)).await,
        Endpoint::SecondFactorChallenge => split(second_factor_challenge(flows, call)).await,
        Endpoint::PasskeyRegistration => split(passkeys::registration(flows, call, &caller.session()?)).await,
        Endpoint::CreatePasskey => split(passkeys::register(flows, call, &caller.session()?)).await,
        Endpoint::FindPasskeys => split(passkeys::find(flows, &caller.session()?)).await,
        Endpoint::RemovePasskey => split(passkeys::remove(flows, call, &caller.session()?)).await,
        Endpoint::NotOnService => Err(FeathersError::NotOnService { method: call.method, service: call.service.to_string() }),
        // Browser redirects over REST only (`Api::serve`), never a socket's service.
        Endpoint::OauthStart | Endpoint::OauthCallback => Err(FeathersError::NoService(call.service.chars().take(64).collect())),
    }
}

pub(super) fn reply<T: Serialize>(status: StatusCode, body: &T) -> Result<Reply, FeathersError> {
    let body = serde_json::to_value(body).map_err(|e| FeathersError::Internal(e.to_string()))?;
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
    if !auth.delete_account(&bearer.user).await? {
        return Err(BearerError::UserNotFound.into());
    }
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
                return Err(LoginError::InvalidCredentials.into());
            }
            let signed_in = auth.password_login(&email, &password, call.platform, Dialect::Feathers, Human::unproven()).await?;
            // An account with a second factor gets a ticket for the `totp` strategy instead.
            let signed_in = auth.second_step_due(signed_in).await?.map_err(FeathersError::SecondStep)?;
            signed_in_reply(issue(auth, &signed_in, LOCAL).await?)
        }
        Some(TOTP) => {
            let ticket = Secret::new(body.ticket.unwrap_or_default());
            let code = body.code.unwrap_or_default();
            let signed_in = auth.complete_second_step(Dialect::Feathers, &ticket, body.factor_id.as_deref(), &code).await?;
            signed_in_reply(issue(auth, &signed_in, TOTP).await?)
        }
        Some(WEBAUTHN) => {
            let ticket = Secret::new(body.ticket.unwrap_or_default());
            let challenge = body.challenge_id.unwrap_or_default();
            // The credential as text: the flow reads it as `PublicKeyCredential.toJSON()`.
            let credential = body.credential.map(|raw| serde_json::Value::String(raw.get().to_string()));
            let signed_in = auth
                .complete_second_step_webauthn(Dialect::Feathers, &ticket, body.factor_id.as_deref(), &challenge, credential.as_ref())
                .await?;
            signed_in_reply(issue(auth, &signed_in, WEBAUTHN).await?)
        }
        Some(PASSKEY) => {
            let signed_in = passkeys::sign_in(auth, body.challenge_id, body.credential.as_deref(), call.platform).await?;
            signed_in_reply(issue(auth, &signed_in, PASSKEY).await?)
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

/// `second-factor-challenges` `create {ticket, factorId?}`: a challenge of the account's
/// security key for the second step the ticket owes; the `webauthn` strategy answers it.
async fn second_factor_challenge<P: Ports>(auth: &Flows<P>, call: &ServiceCall<'_>) -> Result<Reply, FeathersError> {
    let body: AuthRequest = parse_json(call.data)?;
    let ticket = Secret::new(body.ticket.unwrap_or_default());
    let issued = auth.second_step_webauthn_challenge(Dialect::Feathers, &ticket, body.factor_id.as_deref()).await?;
    let public_key = issued.ceremony.as_ref().map(|c| webauthn_wire::factor_options(auth.config(), c));
    reply(
        StatusCode::CREATED,
        &json!({"challengeId": issued.challenge.id, "publicKey": public_key, "expiresAt": issued.expires_at.to_rfc3339()}),
    )
}

/// The result of a fresh sign-in by `strategy` (`local`, `totp` completing one, or `passkey`),
/// with a new token for its session.
async fn issue<P: Ports>(auth: &Flows<P>, signed_in: &crate::flows::SignedIn, strategy: &str) -> Result<AuthResult, FeathersError> {
    let access = auth.feathers_access_token(&signed_in.user, &signed_in.session).await?;
    let payload = payload(&access.claims, Some(access.issued_at), Some(access.expires_at));
    Ok(AuthResult {
        access_token: access.token,
        authentication: Authentication { strategy: strategy.into(), access_token: None, payload },
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
