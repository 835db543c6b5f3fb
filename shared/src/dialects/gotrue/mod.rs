//! GoTrue (Supabase Auth), served at `/` and under `/auth/v1`, for `@supabase/auth-js`
//! unchanged: the route table ([`Api`]) and what serves each route.
//!
//! - `account`: `/signup` (also anonymous), `/user` (GET and PUT), `/reauthenticate`,
//!   `/logout`, `/recover`, `/otp`, `/resend`, `/settings`, `/health`;
//! - `verify`: `/verify` (POST, and GET for the mailed link);
//! - `token`: `/token` (password, refresh_token, pkce and id_token grants);
//! - `external`: `/authorize` and `/callback` (signing in through identity providers' pages),
//!   `/user/identities/*` (linking and unlinking identities by hand);
//! - `admin`: the service role's `/admin/*` and `/invite`;
//! - `mfa`: `/factors*` (second factors) and the service role's `/admin/users/{id}/factors*`;
//! - `recovery_codes`: `/factors/recovery-codes*` (an account's recovery codes);
//! - `passkeys`: `/passkeys*` (passkey sign-in and the account's passkeys);
//! - `unoffered`: upstream's answers for what is not offered;
//! - `errors`: the error type and [`describe`], the one place that picks statuses; `codes`:
//!   upstream's error codes; `wire`: the response bodies; `pkce`: the PKCE parameters.
//!
//! Wire shapes follow supabase/auth `internal/api/*`.

mod account;
mod admin;
pub mod codes;
mod errors;
mod external;
mod mfa;
mod mfa_webauthn;
mod passkeys;
mod recovery_codes;
mod pkce;
mod token;
mod unoffered;
mod verify;
mod wire;

pub use errors::{code, describe, render_error, GotrueError};
pub use wire::{user_json, SessionBody, UserBody};
pub(crate) use external::{auth_code_redirect, bad_state_redirect, external_error_redirect, session_redirect};

use crate::dialects::routes::{self, split, Caller, Denied, Guard, Hit, Refused, Route, Verb};
use crate::dialects::{auth_token, json_response, Body};
use crate::flows::{Dialect, Flows};
use crate::ports::Ports;
use http::{HeaderMap, Request, Response, StatusCode};

/// GoTrue's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /signup`.
    Signup,
    /// `POST /verify`.
    Verify,
    /// `GET /verify`: the mailed link.
    VerifyLink,
    /// `POST /token`.
    Token,
    /// `GET /user`.
    GetUser,
    /// `PUT /user`.
    PutUser,
    /// `GET /reauthenticate`.
    Reauthenticate,
    /// `POST /logout`.
    Logout,
    /// `POST /recover`.
    Recover,
    /// `POST /otp`.
    Otp,
    /// `POST /resend`.
    Resend,
    /// `GET /settings`.
    Settings,
    /// `GET /health`.
    Health,
    /// `GET /.well-known/jwks.json`.
    Jwks,
    /// The service role's API.
    Admin(admin::Endpoint),
    /// `GET /admin/users/{id}/factors`.
    AdminFactors,
    /// `DELETE /admin/users/{id}/factors/{factor_id}`.
    AdminDeleteFactor,
    /// `GET /admin/users/{id}/passkeys`.
    AdminPasskeys,
    /// `DELETE /admin/users/{id}/passkeys/{passkey_id}`.
    AdminDeletePasskey,
    /// The MFA API.
    Mfa(mfa::Endpoint),
    /// Recovery codes.
    RecoveryCodes(recovery_codes::Endpoint),
    /// The passkey API.
    Passkeys(passkeys::Endpoint),
    /// `GET /authorize`: to an identity provider's pages.
    Authorize,
    /// `GET|POST /callback`: back from them.
    Callback,
    /// `GET /user/identities/authorize`: linking an identity by hand.
    LinkIdentity,
    /// `DELETE /user/identities/{id}`: unlinking one.
    UnlinkIdentity,
    /// What is not offered.
    Unoffered(unoffered::Endpoint),
}

/// GoTrue's route table.
pub struct Api;

use admin::Endpoint as A;
use mfa::Endpoint as M;
use passkeys::Endpoint as PK;
use recovery_codes::Endpoint as RC;
use unoffered::Endpoint as U;
use Endpoint as E;
use Guard::{Open, ServiceRole, Session};

impl routes::Api for Api {
    type Endpoint = Endpoint;
    const ROUTES: &'static [Route<Endpoint>] = &[
        Route::json(Verb::Get, "/admin/users", ServiceRole, E::Admin(A::List)),
        Route::json(Verb::Post, "/admin/users", ServiceRole, E::Admin(A::Create)),
        Route::json(Verb::Any, "/admin/users", ServiceRole, E::Admin(A::NotFound)),
        Route::json(Verb::Get, "/admin/users/{id}", ServiceRole, E::Admin(A::Get)),
        Route::json(Verb::Put, "/admin/users/{id}", ServiceRole, E::Admin(A::Update)),
        Route::json(Verb::Delete, "/admin/users/{id}", ServiceRole, E::Admin(A::Delete)),
        Route::json(Verb::Any, "/admin/users/{id}", ServiceRole, E::Admin(A::OtherOnUser)),
        Route::json(Verb::Get, "/admin/users/{id}/factors", ServiceRole, E::AdminFactors),
        Route::json(Verb::Delete, "/admin/users/{id}/factors/{factor_id}", ServiceRole, E::AdminDeleteFactor),
        Route::json(Verb::Get, "/admin/users/{id}/passkeys", ServiceRole, E::AdminPasskeys),
        Route::json(Verb::Delete, "/admin/users/{id}/passkeys/{passkey_id}", ServiceRole, E::AdminDeletePasskey),
        Route::json(Verb::Any, "/admin/users/*", ServiceRole, E::Admin(A::NotFound)),
        Route::json(Verb::Post, "/admin/generate_link", ServiceRole, E::Admin(A::GenerateLink)),
        Route::json(Verb::Any, "/admin/generate_link", ServiceRole, E::Admin(A::NotFound)),
        Route::json(Verb::Post, "/invite", ServiceRole, E::Admin(A::Invite)),
        Route::json(Verb::Any, "/invite", ServiceRole, E::Admin(A::NotFound)),
        Route::json(Verb::Get, "/authorize", Open, E::Authorize),
        Route::json(Verb::Get, "/callback", Open, E::Callback),
        Route::form(Verb::Post, "/callback", Open, E::Callback),
        Route::json(Verb::Any, "/sso", Open, E::Unoffered(U::Sso)),
        Route::json(Verb::Any, "/sso/*", Open, E::Unoffered(U::Sso)),
        Route::json(Verb::Post, "/passkeys/registration/options", Session, E::Passkeys(PK::RegistrationOptions)),
        Route::json(Verb::Post, "/passkeys/registration/verify", Session, E::Passkeys(PK::RegistrationVerify)),
        Route::json(Verb::Post, "/passkeys/authentication/options", Open, E::Passkeys(PK::AuthenticationOptions)),
        Route::json(Verb::Post, "/passkeys/authentication/verify", Open, E::Passkeys(PK::AuthenticationVerify)),
        Route::json(Verb::Get, "/passkeys", Session, E::Passkeys(PK::List)),
        Route::json(Verb::Patch, "/passkeys/{id}", Session, E::Passkeys(PK::Rename)),
        Route::json(Verb::Delete, "/passkeys/{id}", Session, E::Passkeys(PK::Delete)),
        Route::json(Verb::Any, "/passkeys", Open, E::Unoffered(U::Passkeys)),
        Route::json(Verb::Any, "/passkeys/*", Open, E::Unoffered(U::Passkeys)),
        Route::json(Verb::Get, "/user/identities/authorize", Session, E::LinkIdentity),
        Route::json(Verb::Delete, "/user/identities/{id}", Session, E::UnlinkIdentity),
        Route::json(Verb::Any, "/user/identities/*", Session, E::Unoffered(U::Identities)),
        Route::json(Verb::Get, "/factors/recovery-codes", Session, E::RecoveryCodes(RC::Status)),
        Route::json(Verb::Post, "/factors/recovery-codes", Session, E::RecoveryCodes(RC::Generate)),
        Route::json(Verb::Delete, "/factors/recovery-codes", Session, E::RecoveryCodes(RC::Remove)),
        Route::json(Verb::Post, "/factors/recovery-codes/regenerate", Session, E::RecoveryCodes(RC::Regenerate)),
        Route::json(Verb::Post, "/factors/recovery-codes/verify", Session, E::RecoveryCodes(RC::Verify)),
        Route::json(Verb::Post, "/factors", Session, E::Mfa(M::Enroll)),
        Route::json(Verb::Post, "/factors/{id}/challenge", Session, E::Mfa(M::Challenge)),
        Route::json(Verb::Post, "/factors/{id}/verify", Session, E::Mfa(M::Verify)),
        Route::json(Verb::Delete, "/factors/{id}", Session, E::Mfa(M::Unenroll)),
        Route::json(Verb::Post, "/signup", Open, E::Signup),
        Route::json(Verb::Post, "/verify", Open, E::Verify),
        Route::json(Verb::Get, "/verify", Open, E::VerifyLink),
        Route::json(Verb::Post, "/token", Open, E::Token),
        Route::json(Verb::Get, "/user", Session, E::GetUser),
        Route::json(Verb::Put, "/user", Session, E::PutUser),
        Route::json(Verb::Get, "/reauthenticate", Session, E::Reauthenticate),
        Route::json(Verb::Post, "/logout", Session, E::Logout),
        Route::json(Verb::Post, "/recover", Open, E::Recover),
        Route::json(Verb::Post, "/otp", Open, E::Otp),
        Route::json(Verb::Post, "/resend", Open, E::Resend),
        Route::json(Verb::Get, "/settings", Open, E::Settings),
        Route::json(Verb::Get, "/health", Open, E::Health),
        Route::json(Verb::Get, "/.well-known/jwks.json", Open, E::Jwks),
    ];
    const ACCEPTS: &'static [Dialect] = &[Dialect::Gotrue];

    /// `Authorization: Bearer <token>`: an access token, or the service-role key.
    fn credential(headers: &HeaderMap) -> Option<&str> {
        auth_token(headers, &["bearer"])
    }

    fn refuse<P: Ports>(flows: &Flows<P>, req: &Request<Body>, why: Refused<Endpoint>) -> Response<Body> {
        let e = match why {
            Refused::NoRoute => GotrueError::NotFound,
            Refused::Request(r) => GotrueError::Refused(r),
            // Upstream checks the switch before the session.
            Refused::Guard(E::Passkeys(_), _) if !flows.config().mfa.passkey_enabled => passkeys::disabled(),
            Refused::Guard(_, Denied::Missing) => GotrueError::NoAuthorization,
            Refused::Guard(_, Denied::Bearer(b)) => GotrueError::Bearer(b),
            Refused::Guard(_, Denied::NotServiceRole(a)) => a.into(),
        };
        render_error(flows, req.headers(), &e)
    }

    async fn serve<P: Ports + 'static>(flows: &Flows<P>, req: &Request<Body>, hit: Hit<'_, Endpoint>) -> Response<Body> {
        serve(flows, req, hit).await.unwrap_or_else(|e| render_error(flows, req.headers(), &e))
    }

    /// Echoes the API version the request asked for on every answer, as upstream.
    fn finish(req: &Request<Body>, mut response: Response<Body>) -> Response<Body> {
        if errors::wants_new_errors(req.headers()) {
            if let Ok(v) = http::HeaderValue::from_str(errors::API_VERSION_2024) {
                response.headers_mut().insert("x-supabase-api-version", v);
            }
        }
        response
    }
}

/// Serves a route whose guard let the caller through.
async fn serve<P: Ports + 'static>(flows: &Flows<P>, req: &Request<Body>, hit: Hit<'_, Endpoint>) -> Result<Response<Body>, GotrueError> {
    let session = |caller: Caller| caller.session().map_err(GotrueError::from);
    match hit.endpoint {
        E::Signup => split(account::signup(flows, req)).await,
        E::Verify => split(verify::verify(flows, req)).await,
        E::VerifyLink => Ok(split(verify::verify_link(flows, req)).await),
        E::Token => split(token::token(flows, req)).await,
        E::Authorize => split(external::authorize(flows, req)).await,
        E::Callback => Ok(split(external::callback(flows, req)).await),
        E::LinkIdentity => split(external::link(flows, req, &session(hit.caller)?)).await,
        E::UnlinkIdentity => split(external::unlink(flows, &session(hit.caller)?, hit.params.first().copied())).await,
        E::GetUser => split(account::get_user(flows, &session(hit.caller)?)).await,
        E::PutUser => split(account::put_user(flows, req, session(hit.caller)?)).await,
        E::Reauthenticate => split(account::reauthenticate(flows, session(hit.caller)?)).await,
        E::Logout => split(account::logout(flows, req, session(hit.caller)?)).await,
        E::Recover => split(account::recover(flows, req)).await,
        E::Otp => split(account::otp(flows, req)).await,
        E::Resend => split(account::resend(flows, req)).await,
        E::Settings => account::settings(flows),
        E::Health => account::health(),
        E::Jwks => Ok(json_response(StatusCode::OK, &flows.jwks(), &[("cache-control", "public, max-age=600".to_string())])),
        E::Admin(endpoint) => split(admin::serve(flows, req, endpoint, hit.params.first().copied())).await,
        E::AdminFactors => split(mfa::admin_list(flows, &admin::user_id(hit.params.first().copied())?)).await,
        E::AdminDeleteFactor => {
            let user = admin::user_id(hit.params.first().copied())?;
            split(mfa::admin_delete(flows, &user, hit.params.get(1).copied())).await
        }
        // Upstream serves these whether or not passkeys are on.
        E::AdminPasskeys => split(passkeys::admin_list(flows, &admin::user_id(hit.params.first().copied())?)).await,
        E::AdminDeletePasskey => {
            let user = admin::user_id(hit.params.first().copied())?;
            split(passkeys::admin_delete(flows, &user, hit.params.get(1).copied())).await
        }
        E::Mfa(endpoint) => split(mfa::serve(flows, req, endpoint, hit.params.first().copied(), session(hit.caller)?)).await,
        E::RecoveryCodes(endpoint) => split(recovery_codes::serve(flows, req, endpoint, session(hit.caller)?)).await,
        E::Passkeys(_) | E::Unoffered(U::Passkeys) if !flows.config().mfa.passkey_enabled => Err(passkeys::disabled()),
        E::Passkeys(endpoint) => {
            let bearer = match hit.caller {
                Caller::Session(b) => Some(*b),
                Caller::Anyone | Caller::ServiceRole => None,
            };
            split(passkeys::serve(flows, req, endpoint, hit.params.first().copied(), bearer)).await
        }
        E::Unoffered(U::Passkeys) => Err(GotrueError::NotFound),
        E::Unoffered(endpoint) => {
            let bearer = match hit.caller {
                Caller::Session(b) => Some(*b),
                Caller::Anyone | Caller::ServiceRole => None,
            };
            Err(unoffered::serve(req, endpoint, hit.path, bearer))
        }
    }
}
