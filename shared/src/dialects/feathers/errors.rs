//! Feathers' errors: the error type of this dialect, the one function that picks each error's
//! status and message ([`describe`]), and the error object `{name, message, code, className,
//! data?}` every transport answers with.

use crate::dialects::{json_response, Body, JsonError, Refusal};
use crate::flows::{BearerError, FlowError, Flows};
use crate::ports::Ports;
use crate::token::TokenError;
use crate::wire::feathers::ErrorBody;
use http::{Response, StatusCode};
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
        F::CodeInvalid => (400, "Invalid or expired code".into()),
        F::RefreshTokenNotFound | F::RefreshTokenAlreadyUsed => {
            (401, "Session has ended; sign in again".into())
        }
        F::UserBanned => (401, "User is banned".into()),
        F::AnonymousDisabled => (403, "Anonymous sign-ins are disabled".into()),
        F::AnonymousWithoutAddress => (400, "An anonymous account needs an email address first".into()),
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
