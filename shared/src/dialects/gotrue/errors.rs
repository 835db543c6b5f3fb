//! GoTrue's errors: the error type of this dialect, upstream's error codes in one table, the
//! one function that picks each error's status, code and message ([`describe`]), and the two
//! error formats a response can take ([`render_error`]).
//!
//! With request header `X-Supabase-Api-Version: 2024-01-01` (what auth-js sends) the body is
//! `{code, message}` and the header is echoed; without it `{code: <status>, error_code, msg}`.
//! `x-sb-error-code` is always set.

use crate::dialects::{header, json_response, Body, JsonError, Refusal};
use crate::flows::{AalNeed, AdminError, BearerError, ExternalError, FactorError, MAX_FACTOR_LABEL_BYTES, ChangeError, FlowError, Flows, InternalError, LoginError, PkceError, RefreshError, SignupError};
use crate::model::FactorKind;
use crate::ports::Ports;
use crate::token::TokenError;
use http::{Response, StatusCode};
use serde_json::json;

pub use super::codes as code;

/// The API version whose error format is `{code, message}`.
pub(super) const API_VERSION_2024: &str = "2024-01-01";

/// Everything that can go wrong in a GoTrue request.
#[derive(Debug)]
#[non_exhaustive]
pub enum GotrueError {
    /// A flow refused or failed.
    Flow(FlowError),
    /// The body is not JSON of the expected shape.
    BadJson(JsonError),
    /// A field is missing or unusable (`validation_failed`).
    Validation(&'static str),
    /// No bearer token where one is required.
    NoAuthorization,
    /// The bearer road refused the presented access token (or failed).
    Bearer(BearerError),
    /// `grant_type` is missing or not supported.
    UnsupportedGrant,
    /// No such endpoint.
    NotFound,
    /// A path naming something in a form it cannot take (`validation_failed`, 404).
    NotFoundBecause(&'static str),
    /// A feature Portcullis does not offer, answered as upstream answers with it switched off.
    Disabled {
        /// Upstream's status.
        status: u16,
        /// Upstream's error code.
        code: &'static str,
        /// Upstream's message.
        message: String,
    },
    /// The app refused the request before reading it.
    Refused(Refusal),
    /// The admin API refused (a refusal only it has; its shared ones arrive as `Flow`).
    Admin(AdminError),
    /// An auth code was not exchanged (a refusal only PKCE has; shared ones arrive as `Flow`).
    Pkce(PkceError),
    /// A second-factor flow refused.
    Factor(FactorError),
    /// A sign-in through an identity provider refused (a refusal only it has).
    External(ExternalError),
}

impl GotrueError {
    /// Upstream's answer for a feature that is switched off.
    pub fn disabled(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        GotrueError::Disabled { status, code, message: message.into() }
    }
}

impl From<FlowError> for GotrueError {
    fn from(e: FlowError) -> Self {
        GotrueError::Flow(e)
    }
}

/// Each narrow flow error reaches GoTrue, whose endpoints call every flow, as the
/// [`FlowError`] it widens into.
macro_rules! from_flow_error {
    ($($narrow:ty),*) => {$(
        impl From<$narrow> for GotrueError {
            fn from(e: $narrow) -> Self {
                GotrueError::Flow(e.into())
            }
        }
    )*};
}
from_flow_error!(LoginError, SignupError, ChangeError, RefreshError, InternalError);

impl From<PkceError> for GotrueError {
    fn from(e: PkceError) -> Self {
        match e {
            PkceError::Flow(f) => GotrueError::Flow(f),
            PkceError::Link(x) => GotrueError::External(*x),
            other => GotrueError::Pkce(other),
        }
    }
}

impl From<AdminError> for GotrueError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Flow(f) => GotrueError::Flow(f),
            other => GotrueError::Admin(other),
        }
    }
}

impl From<FactorError> for GotrueError {
    fn from(e: FactorError) -> Self {
        GotrueError::Factor(e)
    }
}

impl From<ExternalError> for GotrueError {
    fn from(e: ExternalError) -> Self {
        match e {
            ExternalError::Flow(f) => GotrueError::Flow(f),
            other => GotrueError::External(other),
        }
    }
}

impl From<JsonError> for GotrueError {
    fn from(e: JsonError) -> Self {
        GotrueError::BadJson(e)
    }
}

/// Status, GoTrue error code and message for an error: the one place statuses are chosen.
/// Internal errors get a generic message; the caller adds the error id.
pub fn describe(e: &GotrueError) -> (StatusCode, &'static str, String) {
    use GotrueError as G;
    let (status, code, msg): (u16, &str, String) = match e {
        G::Flow(f) => flow_error(f),
        G::Bearer(b) => bearer_error(b),
        G::Admin(AdminError::NotAdmin) => (403, code::NOT_ADMIN, "User not allowed".into()),
        G::Admin(AdminError::KeyRevoked) => (403, code::BAD_JWT, "invalid JWT: this service-role key is revoked".into()),
        G::Admin(AdminError::NoSuchUser) => (404, code::USER_NOT_FOUND, "User not found".into()),
        G::Admin(AdminError::NoUserWithEmail) => (404, code::USER_NOT_FOUND, "User with this email not found".into()),
        G::Admin(AdminError::Flow(f)) => flow_error(f),
        G::Pkce(PkceError::FlowStateNotFound) => {
            (404, code::FLOW_STATE_NOT_FOUND, "invalid flow state, no valid flow state found".into())
        }
        G::Pkce(PkceError::FlowStateExpired) => (422, code::FLOW_STATE_EXPIRED, "invalid flow state, flow state has expired".into()),
        G::Pkce(PkceError::BadCodeVerifier) => (
            400,
            code::BAD_CODE_VERIFIER,
            "code challenge does not match previously saved code verifier".into(),
        ),
        G::Pkce(PkceError::Flow(f)) => flow_error(f),
        G::Pkce(PkceError::Link(x)) => external_error(x),
        G::Factor(f) => factor_error(f),
        G::External(x) => external_error(x),
        G::BadJson(JsonError(m)) => (400, code::BAD_JSON, format!("Could not parse request body as JSON: {m}")),
        G::Validation(m) => (400, code::VALIDATION_FAILED, (*m).into()),
        G::NoAuthorization => (401, code::NO_AUTHORIZATION, "This endpoint requires a valid Bearer token".into()),
        G::UnsupportedGrant => (400, code::INVALID_CREDENTIALS, "unsupported_grant_type".into()),
        G::NotFound => (404, code::NOT_FOUND, "Not found".into()),
        G::NotFoundBecause(m) => (404, code::VALIDATION_FAILED, (*m).into()),
        G::Disabled { status, code, message } => (*status, *code, message.clone()),
        G::Refused(r) => {
            let (status, msg) = r.status_and_message();
            let code = match r {
                Refusal::TooLarge => code::REQUEST_TOO_LARGE,
                Refusal::MalformedHeader | Refusal::MediaType(_) => code::VALIDATION_FAILED,
            };
            (status, code, msg)
        }
    };
    (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), code, msg)
}

/// [`describe`] for a flow's error, every variant named: a new one is a compile error here.
fn flow_error(e: &FlowError) -> (u16, &'static str, String) {
    use FlowError as F;
    match e {
        F::SignupDisabled => (422, code::SIGNUP_DISABLED, "Signups not allowed for this instance".into()),
        F::InvalidEmail => (400, code::VALIDATION_FAILED, "Unable to validate email address: invalid format".into()),
        F::WeakPassword { min_length } => (
            422,
            code::WEAK_PASSWORD,
            format!("Password should be at least {min_length} characters."),
        ),
        F::PasswordTooLong => (
            400,
            code::VALIDATION_FAILED,
            format!("Password cannot be longer than {} bytes", crate::password::MAX_PASSWORD_BYTES),
        ),
        F::UserAlreadyExists => (422, code::USER_ALREADY_EXISTS, "User already registered".into()),
        F::InvalidCredentials => (400, code::INVALID_CREDENTIALS, "Invalid login credentials".into()),
        F::EmailNotConfirmed => (400, code::EMAIL_NOT_CONFIRMED, "Email not confirmed".into()),
        F::TooManyRequests => (429, code::OVER_REQUEST_RATE_LIMIT, "Request rate limit reached".into()),
        F::CaptchaFailed { reason } => (400, code::CAPTCHA_FAILED, format!("captcha protection: request disallowed ({reason})")),
        F::ReauthenticationNeeded => (400, code::REAUTHENTICATION_NEEDED, "Password update requires reauthentication".into()),
        F::ReauthenticationNotValid => (422, code::REAUTHENTICATION_NOT_VALID, "Nonce has expired or is invalid".into()),
        F::NoAddress => (
            400,
            code::VALIDATION_FAILED,
            "Reauthentication requires the user to have an email or a phone number".into(),
        ),
        F::AddressNotVerified => (422, code::EMAIL_NOT_CONFIRMED, "Please verify your email first.".into()),
        F::CodeInvalid => (403, code::OTP_EXPIRED, "Token has expired or is invalid".into()),
        F::BadToken(t) => bad_jwt(t),
        F::SessionNotFound => (
            403,
            code::SESSION_NOT_FOUND,
            "Session from session_id claim in JWT does not exist".into(),
        ),
        F::UserNotFound => (403, code::USER_NOT_FOUND, "User from sub claim in JWT does not exist".into()),
        F::RefreshTokenNotFound => (
            400,
            code::REFRESH_TOKEN_NOT_FOUND,
            "Invalid Refresh Token: Refresh Token Not Found".into(),
        ),
        F::RefreshTokenAlreadyUsed => (
            400,
            code::REFRESH_TOKEN_ALREADY_USED,
            "Invalid Refresh Token: Already Used".into(),
        ),
        F::SessionExpired => (400, code::SESSION_EXPIRED, "Invalid Refresh Token: Session Expired".into()),
        F::OverEmailSendRateLimit { wait_secs } => (
            429,
            code::OVER_EMAIL_SEND_RATE_LIMIT,
            format!("For security purposes, you can only request this after {wait_secs} seconds."),
        ),
        F::EmailExists => (
            422,
            code::EMAIL_EXISTS,
            "A user with this email address has already been registered".into(),
        ),
        F::UserBanned => (400, code::USER_BANNED, "User is banned".into()),
        F::AnonymousDisabled => (422, code::ANONYMOUS_PROVIDER_DISABLED, "Anonymous sign-ins are disabled".into()),
        F::AnonymousWithoutAddress => (
            422,
            code::VALIDATION_FAILED,
            "Updating password of an anonymous user without an email or phone is not allowed".into(),
        ),
        F::InsufficientAal => (
            401,
            code::INSUFFICIENT_AAL,
            "AAL2 session is required to update email or password when MFA is enabled.".into(),
        ),
        F::Internal(_) => (500, code::UNEXPECTED_FAILURE, "Internal server error".into()),
    }
}

/// [`describe`] for a refused second-factor step, every case named, with upstream's words
/// (supabase/auth `internal/api/mfa.go`).
fn factor_error(e: &FactorError) -> (u16, &'static str, String) {
    use FactorError as E;
    match e {
        E::UnknownType => (400, code::VALIDATION_FAILED, "factor_type needs to be totp, phone, or webauthn".into()),
        E::EnrollDisabled(FactorKind::Totp) => (422, code::MFA_TOTP_ENROLL_NOT_ENABLED, "MFA enroll is disabled for TOTP".into()),
        E::VerifyDisabled(FactorKind::Totp) => (422, code::MFA_TOTP_VERIFY_NOT_ENABLED, "MFA verification is disabled for TOTP".into()),
        E::EnrollDisabled(FactorKind::Webauthn) => (422, code::MFA_WEBAUTHN_ENROLL_NOT_ENABLED, "MFA enroll is disabled for WebAuthn".into()),
        // Upstream's verify answers this with the enroll code (mfa.go), its challenge with
        // this one; both answer this one here.
        E::VerifyDisabled(FactorKind::Webauthn) => {
            (422, code::MFA_WEBAUTHN_VERIFY_NOT_ENABLED, "MFA verification is disabled for WebAuthn".into())
        }
        E::EnrollDisabled(FactorKind::RecoveryCode) => {
            (422, code::MFA_RECOVERY_CODES_ENROLL_NOT_ENABLED, "MFA enroll is disabled for recovery codes".into())
        }
        E::VerifyDisabled(FactorKind::RecoveryCode) => {
            (422, code::MFA_RECOVERY_CODES_VERIFY_NOT_ENABLED, "MFA verification is disabled for recovery codes".into())
        }
        E::Anonymous => (403, code::NO_AUTHORIZATION, "Anonymous user not allowed to perform these actions".into()),
        E::NoAddress => (422, code::VALIDATION_FAILED, "A TOTP factor needs the account to have an email address".into()),
        E::LabelTooLong => (400, code::VALIDATION_FAILED, format!("friendly_name and issuer can be at most {MAX_FACTOR_LABEL_BYTES} bytes")),
        E::NameTaken(name) => (
            422,
            code::MFA_FACTOR_NAME_CONFLICT,
            format!("A factor with the friendly name {name:?} for this user already exists"),
        ),
        E::TooMany => (
            422,
            code::TOO_MANY_ENROLLED_MFA_FACTORS,
            "Maximum number of verified factors reached, unenroll to continue".into(),
        ),
        E::InsufficientAal(AalNeed::Enroll) => (403, code::INSUFFICIENT_AAL, "AAL2 required to enroll a new factor".into()),
        E::InsufficientAal(AalNeed::Unenroll) => (422, code::INSUFFICIENT_AAL, "AAL2 required to unenroll verified factor".into()),
        E::InsufficientAal(AalNeed::RecoveryCodes) => (403, code::INSUFFICIENT_AAL, "AAL2 required to manage recovery codes".into()),
        E::FactorNotFound => (404, code::MFA_FACTOR_NOT_FOUND, "Factor not found".into()),
        E::ChallengeNotFound => (422, code::MFA_FACTOR_NOT_FOUND, "MFA factor with the provided challenge ID not found".into()),
        E::ChallengeMismatch => (422, code::MFA_IP_ADDRESS_MISMATCH, "Challenge and verify IP addresses mismatch.".into()),
        E::ChallengeExpired(id) => (
            422,
            code::MFA_CHALLENGE_EXPIRED,
            format!("MFA challenge {id} has expired, verify against another challenge or create a new challenge."),
        ),
        E::CodeMissing => (400, code::VALIDATION_FAILED, "Code needs to be non-empty".into()),
        E::WrongCode => (422, code::MFA_VERIFICATION_FAILED, "Invalid TOTP code entered".into()),
        E::WrongRecoveryCode => (422, code::MFA_VERIFICATION_FAILED, "Invalid recovery code".into()),
        E::RecoveryCodesLocked => (429, code::MFA_RECOVERY_CODES_LOCKED, "Too many failed recovery code attempts, try again later".into()),
        E::RecoveryCodesExist => (
            422,
            code::MFA_VERIFIED_FACTOR_EXISTS,
            "Recovery codes already exist for this user, regenerate them instead".into(),
        ),
        E::SoleFactor => (
            422,
            code::MFA_RECOVERY_CODES_SOLE_FACTOR,
            "Recovery codes need another verified factor: they cannot be the only one".into(),
        ),
        E::Invalid(why) => (400, code::VALIDATION_FAILED, (*why).into()),
        E::WebauthnRefused => (422, code::MFA_VERIFICATION_FAILED, "Failed to validate WebAuthn MFA response".into()),
        E::CredentialTaken => (422, code::WEBAUTHN_CREDENTIAL_EXISTS, "This credential is already registered".into()),
        E::TooManyRequests => flow_error(&FlowError::TooManyRequests),
        E::TicketInvalid => (400, code::VALIDATION_FAILED, "Invalid or expired ticket".into()),
        E::Internal(_) => (500, code::UNEXPECTED_FAILURE, "Internal server error".into()),
    }
}

/// [`describe`] for a refused sign-in through a provider, in upstream's words
/// (`internal/api/token_oidc.go`); the ones upstream answers as an OAuth error are also
/// [`oauth_error`]s.
fn external_error(e: &ExternalError) -> (u16, &'static str, String) {
    use ExternalError as X;
    match e {
        X::NotEnabled(name) | X::NotOidc(name) => (400, code::VALIDATION_FAILED, format!("Custom OIDC provider {name:?} not allowed")),
        X::Unreachable(_) => (500, code::UNEXPECTED_FAILURE, "Error getting user profile from external provider".into()),
        X::NoEmail => (400, code::VALIDATION_FAILED, "Error getting user email from external provider".into()),
        X::NotConfigured(what) => (400, code::VALIDATION_FAILED, format!("Unsupported provider: {what}")),
        X::Refused { error, description } => (400, code::VALIDATION_FAILED, format!("{error}: {description}")),
        X::SecondFactorRequired => (401, code::INSUFFICIENT_AAL, "A second factor is required: sign in with the password and the second factor".into()),
        X::ManualLinkingDisabled => (404, code::MANUAL_LINKING_DISABLED, "Manual linking is disabled".into()),
        X::IdentityLinked { here: true } => (422, code::IDENTITY_ALREADY_EXISTS, "Identity is already linked".into()),
        X::IdentityLinked { here: false } => (422, code::IDENTITY_ALREADY_EXISTS, "Identity is already linked to another user".into()),
        X::BadIdentityId => (404, code::VALIDATION_FAILED, "identity_id must be an UUID".into()),
        X::IdentityNotFound => (422, code::IDENTITY_NOT_FOUND, "Identity doesn't exist".into()),
        X::LastIdentity => (422, code::SINGLE_IDENTITY_NOT_DELETABLE, "User must have at least 1 identity after unlinking".into()),
        X::InsufficientAal => (403, code::INSUFFICIENT_AAL, "AAL2 session is required to link or unlink identities when MFA is enabled".into()),
        X::NoCode => (400, code::BAD_OAUTH_CALLBACK, "OAuth callback with missing authorization code missing".into()),
        X::Exchange(what) => (500, code::UNEXPECTED_FAILURE, what.clone()),
        X::Flow(f) => flow_error(f),
        X::Token(_) | X::NonceMissing | X::NonceMismatch => {
            let (_, description) = oauth_error(e).unwrap_or_default();
            (400, code::VALIDATION_FAILED, description)
        }
    }
}

/// Upstream's OAuth-shaped refusals (`{"error", "error_description"}`, always 400): the
/// `error` and the description.
fn oauth_error(e: &ExternalError) -> Option<(&'static str, String)> {
    use crate::oidc::OidcError as O;
    Some(match e {
        ExternalError::Token(O::Audience(aud)) => ("invalid request", format!("Unacceptable audience in id_token: [{}]", aud.join(" "))),
        ExternalError::Token(O::NoSubject) => ("invalid request", "Missing sub claim in id_token".into()),
        ExternalError::Token(_) => ("invalid request", "Bad ID token".into()),
        ExternalError::NonceMissing => ("invalid request", "Passed nonce and nonce in id_token should either both exist or not.".into()),
        ExternalError::NonceMismatch => ("invalid nonce", "Nonces mismatch".into()),
        _ => return None,
    })
}

/// [`describe`] for a refused bearer token, every case named.
fn bearer_error(e: &BearerError) -> (u16, &'static str, String) {
    match e {
        BearerError::BadToken(t) => bad_jwt(t),
        BearerError::SessionNotFound => flow_error(&FlowError::SessionNotFound),
        BearerError::UserNotFound => flow_error(&FlowError::UserNotFound),
        // auth-js drops its stored session only on `session_not_found` (as an
        // AuthSessionMissingError): an expired session must read the same to end at once.
        BearerError::SessionExpired => (403, code::SESSION_NOT_FOUND, "Session from session_id claim in JWT has expired".into()),
        // Upstream refuses a banned account's access token with 403 (its sign-in with 400).
        BearerError::UserBanned => (403, code::USER_BANNED, "User is banned".into()),
        BearerError::Internal(_) => (500, code::UNEXPECTED_FAILURE, "Internal server error".into()),
    }
}

/// Upstream's `bad_jwt` answer for a token that does not verify.
fn bad_jwt(t: &TokenError) -> (u16, &'static str, String) {
    let message = match t {
        TokenError::Expired => {
            "invalid JWT: unable to parse or verify signature, token has invalid claims: token is expired".to_string()
        }
        t @ (TokenError::Malformed
        | TokenError::Algorithm
        | TokenError::UnknownKey
        | TokenError::BadSignature
        | TokenError::Claims
        | TokenError::Audience { .. }
        | TokenError::Issuer { .. }
        | TokenError::Signing(_)) => format!("invalid JWT: unable to parse or verify signature, {t}"),
    };
    (403, code::BAD_JWT, message)
}

/// The detail of an internal error, if `e` is one.
fn internal(e: &GotrueError) -> Option<&str> {
    match e {
        GotrueError::Flow(FlowError::Internal(d))
        | GotrueError::Admin(AdminError::Flow(FlowError::Internal(d)))
        | GotrueError::Bearer(BearerError::Internal(d))
        | GotrueError::Factor(FactorError::Internal(d))
        | GotrueError::External(ExternalError::Unreachable(d)) => Some(d),
        _ => None,
    }
}

/// Whether the request asked for the 2024-01-01 error format (any dated version from then on).
pub(super) fn wants_new_errors(req_headers: &http::HeaderMap) -> bool {
    header(req_headers, "x-supabase-api-version")
        .map(str::trim)
        .is_some_and(|v| v.len() == 10 && v.as_bytes()[4] == b'-' && v >= API_VERSION_2024)
}

/// [`describe`], with an internal error reported under the request's id and its message
/// naming that id: what every answer in an error shows.
pub(super) fn describe_reported<P: Ports>(flows: &Flows<P>, e: &GotrueError) -> (StatusCode, &'static str, String) {
    let (status, code, mut msg) = describe(e);
    if let Some(detail) = internal(e) {
        msg = format!("{msg} (error id: {})", flows.report(&detail));
    }
    (status, code, msg)
}

/// Renders an error in the format the request asked for.
pub fn render_error<P: Ports>(auth: &Flows<P>, req_headers: &http::HeaderMap, e: &GotrueError) -> Response<Body> {
    let (status, code, msg) = describe_reported(auth, e);
    if let Some((error, description)) = match e {
        GotrueError::External(x) => oauth_error(x),
        _ => None,
    } {
        return json_response(status, &json!({"error": error, "error_description": description}), &[("x-sb-error-code", code.to_string())]);
    }
    let new = wants_new_errors(req_headers);
    let mut body = if new {
        json!({"code": code, "message": msg})
    } else {
        json!({"code": status.as_u16(), "error_code": code, "msg": msg})
    };
    if let GotrueError::Flow(FlowError::WeakPassword { .. }) = e {
        body["weak_password"] = json!({"reasons": ["length"]});
    }
    let mut headers = vec![("x-sb-error-code", code.to_string())];
    if new {
        headers.push(("x-supabase-api-version", API_VERSION_2024.to_string()));
    }
    json_response(status, &body, &headers)
}
