//! The passwordless API's errors: what can go wrong, the one place its statuses are chosen
//! ([`describe`]), and the JSON error body (`{"error": "<message>"}`).

use crate::dialects::{json_response, Body, JsonError, Refusal};
use crate::flows::{BearerError, ChangeError, FactorError, Flows, InternalError, SecondStepDue, SignInRequestError};
use crate::ports::Ports;
use http::{Response, StatusCode};
use serde_json::json;

/// Everything that can go wrong in a passwordless request.
#[derive(Debug)]
#[non_exhaustive]
pub enum PasswordlessError {
    /// A registration or sign-in request was refused.
    Request(SignInRequestError),
    /// Adding or replacing the account's address was refused.
    Change(ChangeError),
    /// The session to end is not one of the caller's live sessions.
    NoSuchSession,
    /// Something broke; the text is for the log only.
    Internal(String),
    /// The body is not JSON of the expected shape.
    BadJson(JsonError),
    /// A required field is missing.
    Missing(&'static str),
    /// No session token.
    Unauthorized,
    /// The session token signs nobody in.
    Bearer(BearerError),
    /// No such endpoint.
    NotFound,
    /// The app refused the request before reading it.
    Refused(Refusal),
    /// A confirmed sign-in of an account with a second factor: `POST /auth/second-factor`
    /// completes it.
    SecondStep(SecondStepDue),
    /// The second step was refused.
    Factor(FactorError),
}

impl From<SignInRequestError> for PasswordlessError {
    fn from(e: SignInRequestError) -> Self {
        PasswordlessError::Request(e)
    }
}

impl From<FactorError> for PasswordlessError {
    fn from(e: FactorError) -> Self {
        PasswordlessError::Factor(e)
    }
}

impl From<ChangeError> for PasswordlessError {
    fn from(e: ChangeError) -> Self {
        PasswordlessError::Change(e)
    }
}

impl From<InternalError> for PasswordlessError {
    fn from(e: InternalError) -> Self {
        PasswordlessError::Internal(e.0)
    }
}

impl From<JsonError> for PasswordlessError {
    fn from(e: JsonError) -> Self {
        PasswordlessError::BadJson(e)
    }
}

/// Status and message for an error: the one place this dialect picks statuses.
pub fn describe(e: &PasswordlessError) -> (StatusCode, String) {
    use PasswordlessError as E;
    let (status, msg): (u16, String) = match e {
        E::Request(r) => request_error(r),
        E::Change(c) => change_error(c),
        E::NoSuchSession => (404, "No such session".into()),
        E::Bearer(b) => bearer_error(b),
        E::Internal(_) => internal(),
        E::BadJson(JsonError(m)) => (400, format!("Malformed JSON: {m}")),
        E::Missing(field) => (400, format!("{field} is required")),
        E::Unauthorized => unauthorized(),
        E::NotFound => (404, "Not found".into()),
        E::Refused(r) => r.status_and_message(),
        E::SecondStep(_) => (403, "A second factor is required".into()),
        E::Factor(f) => factor_error(f),
    };
    (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), msg)
}

fn internal() -> (u16, String) {
    (500, "Internal server error".into())
}

fn unauthorized() -> (u16, String) {
    (401, "A valid session token is required (Authorization: Bearer <session_token>)".into())
}

/// [`describe`] for a session token that signs nobody in.
fn bearer_error(e: &BearerError) -> (u16, String) {
    use BearerError as B;
    match e {
        B::SessionNotFound | B::UserNotFound | B::BadToken(_) => unauthorized(),
        B::SessionExpired => (401, "This session has expired; sign in again".into()),
        B::UserBanned => (403, "This account is banned".into()),
        B::Internal(_) => internal(),
    }
}

/// [`describe`] for the second step's refusals, every case named.
fn factor_error(e: &FactorError) -> (u16, String) {
    use FactorError as F;
    match e {
        F::TicketInvalid | F::ChallengeExpired(_) | F::ChallengeMismatch | F::ChallengeNotFound => {
            (401, "Invalid or expired ticket; sign in again".into())
        }
        F::WrongCode => (401, "Invalid TOTP code".into()),
        F::WrongRecoveryCode => (401, "Invalid recovery code".into()),
        F::WebauthnRefused => (401, "Invalid WebAuthn assertion".into()),
        F::Invalid(why) => (400, (*why).into()),
        F::CodeMissing => (400, "code is required".into()),
        F::FactorNotFound => (400, "factor_id must name one of the account's factors".into()),
        F::VerifyDisabled(kind) => (403, crate::dialects::verify_disabled(*kind)),
        F::TooManyRequests | F::RecoveryCodesLocked => (429, "Too many requests; try again later".into()),
        F::UnknownType | F::EnrollDisabled(_) | F::Anonymous | F::NoAddress | F::LabelTooLong | F::NameTaken(_) | F::TooMany
        | F::InsufficientAal(_) | F::CredentialTaken | F::RecoveryCodesExist | F::SoleFactor => {
            (400, "Factors are managed through the GoTrue API".into())
        }
        F::Internal(_) => internal(),
    }
}

fn send_limit(wait_secs: i64) -> (u16, String) {
    (429, format!("Too many emails to this address; try again in {wait_secs} seconds"))
}

/// [`describe`] for a refused address change, every case named: a new one is a compile error
/// here.
fn change_error(e: &ChangeError) -> (u16, String) {
    use ChangeError as C;
    match e {
        C::InvalidEmail => (400, "That is not a valid email address".into()),
        C::OverEmailSendRateLimit { wait_secs } => send_limit(*wait_secs),
        C::TooManyRequests => (429, "Too many requests; try again later".into()),
        C::ReauthenticationNeeded | C::ReauthenticationNotValid => {
            (403, "This change needs a recent sign-in; sign in again by email".into())
        }
        C::SessionNotFound | C::UserNotFound => unauthorized(),
        C::InsufficientAal => (403, "This change needs a sign-in with the account's second factor".into()),
        // No passwords here, and an account always has its username.
        C::WeakPassword { .. } | C::PasswordTooLong | C::AnonymousWithoutAddress => internal(),
        C::Internal(_) => internal(),
    }
}

/// [`describe`] for a refused registration or sign-in request.
fn request_error(e: &SignInRequestError) -> (u16, String) {
    use SignInRequestError as R;
    match e {
        R::InvalidUsername => (400, "A username is 3 to 32 characters: letters, digits, '_', '.' and '-'".into()),
        R::InvalidPlatform => (400, "session_platform must be 1 to 64 printable characters".into()),
        R::UsernameTaken => (409, "That username is taken".into()),
        // The account was deleted while its sign-in request waited.
        R::LoginNotReady | R::UserNotFound => (400, "The auth id is invalid, expired, or not yet authorized".into()),
        R::LinkInvalid => (400, "This link is invalid or has expired".into()),
        R::InvalidEmail => (400, "That is not a valid email address".into()),
        R::OverEmailSendRateLimit { wait_secs } => send_limit(*wait_secs),
        R::TooManyRequests => (429, "Too many requests; try again later".into()),
        R::UserBanned => (403, "This account is banned".into()),
        R::Internal(_) => internal(),
    }
}

/// Renders an error as `{"error": ...}`; internal errors get an id, logged with the detail.
pub fn render_error<P: Ports>(auth: &Flows<P>, e: &PasswordlessError) -> Response<Body> {
    let (status, mut msg) = describe(e);
    use PasswordlessError as E;
    if let E::Internal(detail)
    | E::Request(SignInRequestError::Internal(detail))
    | E::Change(ChangeError::Internal(detail))
    | E::Bearer(BearerError::Internal(detail))
    | E::Factor(FactorError::Internal(detail)) = e
    {
        msg = format!("{msg} (error id: {})", auth.report(detail));
    }
    let challenge = matches!(e, E::Unauthorized | E::Bearer(BearerError::SessionNotFound | BearerError::UserNotFound | BearerError::BadToken(_))).then(|| ("www-authenticate", "Bearer".to_string()));
    let mut body = json!({"error": msg});
    // What the client needs for `POST /auth/second-factor {ticket, code}`.
    if let E::SecondStep(due) = e {
        body["ticket"] = json!(due.ticket.expose());
        body["factors"] = due.factors.iter().map(|f| json!({"id": f.id, "type": f.kind.as_str(), "friendly_name": f.friendly_name})).collect();
    }
    json_response(status, &body, challenge.as_slice())
}
