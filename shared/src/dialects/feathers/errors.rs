//! Feathers' errors: the error type of this dialect, the one function that picks each error's
//! status and message ([`describe`]), and the error object `{name, message, code, className,
//! data?}` every transport answers with.

use crate::dialects::{json_response, Body, JsonError, Refusal};
use crate::flows::{BearerError, ChangeError, ExternalError, FactorError, FlowError, Flows, InternalError, LoginError, PasskeyError, SecondStepDue, SignupError};
use crate::ports::Ports;
use crate::token::TokenError;
use crate::wire::feathers::ErrorBody;
use http::{Response, StatusCode};
use serde_json::{json, Value};

/// Everything that can go wrong in a Feathers request.
#[derive(Debug)]
#[non_exhaustive]
pub enum FeathersError {
    /// `POST /users` refused.
    Signup(SignupError),
    /// A `local` sign-in refused.
    Login(LoginError),
    /// `PATCH /users/:id` refused.
    Change(ChangeError),
    /// The token, or its session, signs nobody in.
    Bearer(BearerError),
    /// Too many calls on this connection lately.
    TooManyRequests,
    /// Something broke; the text is for the log only.
    Internal(String),
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
    /// A `local` sign-in of an account with a second factor: the `totp` strategy completes it.
    SecondStep(SecondStepDue),
    /// The `totp` strategy refused.
    Factor(FactorError),
    /// A `passkey-*` service refused.
    Passkey(PasskeyError),
    /// The `passkey` strategy refused.
    PasskeySignIn(PasskeyError),
    /// A sign-in through an identity provider (`/oauth/:provider`) refused.
    External(ExternalError),
}

/// `From` for each flow error this dialect meets, wrapping it in its own case.
macro_rules! from_flow_errors {
    ($($error:ident => $case:ident),*) => {$(
        impl From<$error> for FeathersError {
            fn from(e: $error) -> Self {
                FeathersError::$case(e)
            }
        }
    )*};
}
from_flow_errors!(SignupError => Signup, LoginError => Login, ChangeError => Change, BearerError => Bearer, FactorError => Factor);

impl From<InternalError> for FeathersError {
    fn from(e: InternalError) -> Self {
        FeathersError::Internal(e.0)
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
        E::Signup(f) => signup_error(f),
        E::Login(f) => login_error(f),
        E::Change(f) => change_error(f),
        E::Bearer(f) => bearer_error(f),
        E::TooManyRequests => too_many(),
        E::Internal(_) => (500, "Internal server error".into()),
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
        E::SecondStep(_) => (401, "A second factor is required".into()),
        E::Factor(f) => factor_error(f),
        E::Passkey(f) => passkey_error(f),
        E::PasskeySignIn(f) => passkey_sign_in_error(f),
        E::External(x) => external_error(x),
    };
    let data = match e {
        E::Bearer(BearerError::BadToken(TokenError::Expired)) => Some(json!({"name": "TokenExpiredError"})),
        // What the client needs for `app.authenticate({strategy: "totp", ticket, code})` (or
        // `webauthn`, when the account's factors are security keys only).
        E::SecondStep(due) => Some(json!({
            "strategy": if due.factors.iter().all(|f| f.kind == crate::model::FactorKind::Webauthn) && !due.factors.is_empty() { "webauthn" } else { "totp" },
            "ticket": due.ticket.expose(),
            "factors": due.factors.iter().map(|f| json!({
                "id": f.id, "type": f.kind.as_str(), "friendlyName": f.friendly_name,
            })).collect::<Vec<_>>(),
        })),
        _ => None,
    };
    (code, message, data)
}

/// [`describe`] for the `totp` strategy's refusals, every case named.
fn factor_error(e: &FactorError) -> (u16, String) {
    use FactorError as F;
    match e {
        F::TicketInvalid => (401, "Invalid or expired ticket; sign in again".into()),
        F::WrongCode => (401, "Invalid TOTP code".into()),
        F::WrongRecoveryCode => (401, "Invalid recovery code".into()),
        F::WebauthnRefused => (401, "Invalid WebAuthn assertion".into()),
        F::Invalid(why) => (400, (*why).into()),
        F::CodeMissing => (400, "code is required".into()),
        F::FactorNotFound => (400, "factorId must name one of the account's factors".into()),
        F::VerifyDisabled(kind) => (403, crate::dialects::verify_disabled(*kind)),
        F::TooManyRequests | F::RecoveryCodesLocked => too_many(),
        F::ChallengeExpired(_) | F::ChallengeMismatch | F::ChallengeNotFound => (401, "Invalid or expired ticket; sign in again".into()),
        F::UnknownType | F::EnrollDisabled(_) | F::Anonymous | F::NoAddress | F::LabelTooLong | F::NameTaken(_) | F::TooMany
        | F::InsufficientAal(_) | F::CredentialTaken | F::RecoveryCodesExist | F::SoleFactor => {
            (400, "Factors are managed through the GoTrue API".into())
        }
        F::Internal(_) => (500, "Internal server error".into()),
    }
}

/// [`describe`] for the `passkey-*` services' refusals, every case named.
fn passkey_error(e: &PasskeyError) -> (u16, String) {
    use PasskeyError as P;
    match e {
        P::Disabled => (404, "Passkeys are disabled".into()),
        P::InsufficientAal => (403, "Managing passkeys needs a sign-in with the account's second factor".into()),
        P::TooMany => (400, "Maximum number of passkeys reached".into()),
        P::ChallengeNotFound => (400, "Challenge not found or already used".into()),
        P::ChallengeExpired => (400, "Challenge has expired".into()),
        P::Invalid(why) => (400, (*why).into()),
        P::BadCredential => (400, "Invalid credential response".into()),
        P::VerificationFailed => (400, "Credential verification failed".into()),
        P::CredentialExists => (409, "This credential is already registered".into()),
        P::NotFound => (404, "Passkey not found".into()),
        P::EmailNotConfirmed | P::Banned | P::Flow(_) => passkey_sign_in_error(e),
    }
}

/// [`describe`] for the `passkey` strategy's refusals: bad input is a 400, an assertion that
/// signs nobody in a 401 as Feathers' strategies answer.
fn passkey_sign_in_error(e: &PasskeyError) -> (u16, String) {
    use PasskeyError as P;
    match e {
        P::ChallengeNotFound | P::ChallengeExpired => (401, "Invalid or expired passkey challenge; start again".into()),
        P::VerificationFailed => (401, "Invalid login".into()),
        P::EmailNotConfirmed => (401, "Email not confirmed".into()),
        P::Banned => (401, "User is banned".into()),
        P::Flow(FlowError::TooManyRequests) => too_many(),
        P::Flow(FlowError::UserBanned) => (401, "User is banned".into()),
        P::Flow(FlowError::InvalidCredentials | FlowError::UserNotFound) => (401, "Invalid login".into()),
        P::Flow(FlowError::SessionNotFound) => (401, "Session has ended; sign in again".into()),
        P::Flow(_) => (500, "Internal server error".into()),
        P::Disabled | P::InsufficientAal | P::TooMany | P::Invalid(_) | P::BadCredential | P::CredentialExists | P::NotFound => passkey_error(e),
    }
}

fn too_many() -> (u16, String) {
    (429, "Too many requests; try again later".into())
}

/// What a Feathers answer says of a password it will not take.
fn password_error(min_length: Option<usize>) -> (u16, String) {
    match min_length {
        Some(min) => (400, format!("Password should be at least {min} characters")),
        None => (400, "Password is too long".into()),
    }
}

/// [`describe`] for each flow error, every case named: a new one is a compile error here.
fn signup_error(e: &SignupError) -> (u16, String) {
    use SignupError as S;
    match e {
        S::SignupDisabled => (403, "Signups are disabled".into()),
        S::AnonymousDisabled => (403, "Anonymous sign-ins are disabled".into()),
        S::InvalidEmail => (400, "Invalid email".into()),
        S::WeakPassword { min_length } => password_error(Some(*min_length)),
        S::PasswordTooLong => password_error(None),
        S::UserAlreadyExists => (409, "email already exists".into()),
        S::TooManyRequests => too_many(),
        S::Internal(_) => (500, "Internal server error".into()),
    }
}

fn login_error(e: &LoginError) -> (u16, String) {
    use LoginError as L;
    match e {
        L::InvalidCredentials => (401, "Invalid login".into()),
        L::EmailNotConfirmed => (401, "Email not confirmed".into()),
        L::TooManyRequests => too_many(),
        L::UserBanned => (401, "User is banned".into()),
        L::UserNotFound => (401, "Session has ended; sign in again".into()),
        L::Internal(_) => (500, "Internal server error".into()),
    }
}

fn change_error(e: &ChangeError) -> (u16, String) {
    use ChangeError as C;
    match e {
        C::InvalidEmail => (400, "Invalid email".into()),
        C::WeakPassword { min_length } => password_error(Some(*min_length)),
        C::PasswordTooLong => password_error(None),
        C::AnonymousWithoutAddress => (400, "An anonymous account needs an email address first".into()),
        // Feathers has no nonce: a fresh `local` sign-in is the re-authentication.
        C::ReauthenticationNeeded | C::ReauthenticationNotValid => {
            (403, "This change needs a recent sign-in; sign in again".into())
        }
        C::OverEmailSendRateLimit { wait_secs } => {
            (429, format!("Too many emails to this address; try again in {wait_secs} seconds"))
        }
        C::TooManyRequests => too_many(),
        C::InsufficientAal => (403, "This change needs a sign-in with the account's second factor".into()),
        C::SessionNotFound | C::UserNotFound => (401, "Session has ended; sign in again".into()),
        C::Internal(_) => (500, "Internal server error".into()),
    }
}

/// Token messages are those of upstream's `jsonwebtoken`.
fn bearer_error(e: &BearerError) -> (u16, String) {
    use BearerError as B;
    match e {
        B::BadToken(TokenError::Expired) => (401, "jwt expired".into()),
        B::BadToken(TokenError::Malformed) => (401, "jwt malformed".into()),
        B::BadToken(TokenError::BadSignature) => (401, "invalid signature".into()),
        B::BadToken(TokenError::Algorithm | TokenError::UnknownKey) => (401, "invalid algorithm".into()),
        B::BadToken(TokenError::Audience { expected }) => (401, format!("jwt audience invalid. expected: {expected}")),
        B::BadToken(TokenError::Issuer { expected }) => (401, format!("jwt issuer invalid. expected: {expected}")),
        B::BadToken(TokenError::Claims | TokenError::Signing(_)) => (401, "invalid token".into()),
        B::SessionNotFound | B::UserNotFound | B::SessionExpired => (401, "Session has ended; sign in again".into()),
        B::UserBanned => (401, "User is banned".into()),
        B::Internal(_) => (500, "Internal server error".into()),
    }
}

/// [`describe`] for a refused sign-in through a provider: what the front end shows from the
/// redirect's `#error=` (Feathers' own OAuth errors are NotAuthenticated, 401).
fn external_error(e: &ExternalError) -> (u16, String) {
    use ExternalError as X;
    match e {
        X::NotEnabled(_) | X::NotOidc(_) | X::NotConfigured(_) => (404, "Page not found".into()),
        X::Refused { error, description } if description.is_empty() => (401, error.clone()),
        X::Refused { description, .. } => (401, description.clone()),
        X::SecondFactorRequired => (401, "A second factor is required: sign in with the local strategy".into()),
        X::NoEmail => (401, "The provider gave no email address".into()),
        X::Token(_) | X::NonceMissing | X::NonceMismatch | X::NoCode => (401, "OAuth Authentication not successful".into()),
        X::Unreachable(_) | X::Exchange(_) => (500, "Internal server error".into()),
        // Feathers links nothing by hand; no Feathers route gets these.
        X::ManualLinkingDisabled | X::BadIdentityId | X::IdentityNotFound | X::LastIdentity | X::InsufficientAal => (404, "Page not found".into()),
        X::IdentityLinked { .. } => (409, "Identity is already linked".into()),
        X::Flow(FlowError::SignupDisabled) => (403, "Signups not allowed for this instance".into()),
        X::Flow(FlowError::UserBanned) => (401, "User is banned".into()),
        X::Flow(FlowError::TooManyRequests) => too_many(),
        X::Flow(_) => (500, "Internal server error".into()),
    }
}

/// An error as a Feathers error object with its status; internal errors get an id, logged
/// with the detail.
pub fn error_body<P: Ports>(auth: &Flows<P>, e: &FeathersError) -> (StatusCode, Value) {
    use FeathersError as E;
    let detail = match e {
        E::Internal(d)
        | E::Signup(SignupError::Internal(d))
        | E::Login(LoginError::Internal(d))
        | E::Change(ChangeError::Internal(d))
        | E::Bearer(BearerError::Internal(d))
        | E::Factor(FactorError::Internal(d))
        | E::Passkey(PasskeyError::Flow(FlowError::Internal(d)))
        | E::PasskeySignIn(PasskeyError::Flow(FlowError::Internal(d)))
        | E::External(ExternalError::Unreachable(d) | ExternalError::Exchange(d) | ExternalError::Flow(FlowError::Internal(d))) => Some(d),
        _ => None,
    };
    let error_id = detail.map(|d| auth.report(d));
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
