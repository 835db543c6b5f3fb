//! GoTrue (Supabase Auth): `/signup` (also anonymous), `/verify`, `/token` (password,
//! refresh_token and pkce grants), `/user` (GET and PUT), `/reauthenticate`, `/logout`,
//! `/recover`, `/otp`, `/resend`, `/settings`, `/health`, `/.well-known/jwks.json`, served at
//! `/` and under `/auth/v1`, for `@supabase/auth-js` unchanged. The admin API is in
//! `gotrue_admin`, the answers for what is not offered in `gotrue_unoffered`.
//!
//! Wire shapes follow supabase/auth `internal/api/*`. Errors use both of GoTrue's formats: with
//! request header `X-Supabase-Api-Version: 2024-01-01` (what auth-js sends) the body is
//! `{code, message}` and the header is echoed; without it `{code: <status>, error_code, msg}`.
//! `x-sb-error-code` is always set. [`describe`] is the one place that picks statuses.

use super::{auth_token, header, json_response, parse_json, platform, query_param, Body, JsonError, Refusal};
use crate::flows::{
    Flows, Bearer, Dialect, FlowError, Landing, SignedIn, SignupOutcome, SignupRequest, Updated, UserUpdate, Verified,
    PKCE_LINK_PREFIX,
};
use crate::model::{LogoutScope, PkceChallenge, PkceMethod, Purpose, Timestamp, User};
use crate::ports::Ports;
use crate::secret::Secret;
use crate::token::TokenError;
use http::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The API version whose error format is `{code, message}`.
const API_VERSION_2024: &str = "2024-01-01";

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
    Bearer(FlowError),
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
        // auth-js drops its stored session only on `session_not_found` (as an
        // AuthSessionMissingError): an expired session must read the same to end at once.
        G::Bearer(FlowError::SessionExpired) => (403, "session_not_found", "Session from session_id claim in JWT has expired".into()),
        // Upstream refuses a banned account's access token with 403 (its sign-in with 400).
        G::Bearer(FlowError::UserBanned) => (403, "user_banned", "User is banned".into()),
        G::Bearer(f) => flow_error(f),
        G::BadJson(JsonError(m)) => (400, "bad_json", format!("Could not parse request body as JSON: {m}")),
        G::Validation(m) => (400, "validation_failed", (*m).into()),
        G::NoAuthorization => (401, "no_authorization", "This endpoint requires a valid Bearer token".into()),
        G::UnsupportedGrant => (400, "invalid_credentials", "unsupported_grant_type".into()),
        G::NotFound => (404, "not_found", "Not found".into()),
        G::NotFoundBecause(m) => (404, "validation_failed", (*m).into()),
        G::Disabled { status, code, message } => (*status, *code, message.clone()),
        G::Refused(r) => {
            let (status, msg) = r.status_and_message();
            let code = match r {
                Refusal::TooLarge => "request_too_large",
                Refusal::MalformedHeader | Refusal::MediaType(_) => "validation_failed",
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
        F::SignupDisabled => (422, "signup_disabled", "Signups not allowed for this instance".into()),
        F::InvalidEmail => (400, "validation_failed", "Unable to validate email address: invalid format".into()),
        F::WeakPassword { min_length } => (
            422,
            "weak_password",
            format!("Password should be at least {min_length} characters."),
        ),
        F::PasswordTooLong => (
            400,
            "validation_failed",
            format!("Password cannot be longer than {} bytes", crate::password::MAX_PASSWORD_BYTES),
        ),
        F::UserAlreadyExists => (422, "user_already_exists", "User already registered".into()),
        F::InvalidCredentials => (400, "invalid_credentials", "Invalid login credentials".into()),
        F::EmailNotConfirmed => (400, "email_not_confirmed", "Email not confirmed".into()),
        F::TooManyRequests => (429, "over_request_rate_limit", "Request rate limit reached".into()),
        F::ReauthenticationNeeded => (400, "reauthentication_needed", "Password update requires reauthentication".into()),
        F::ReauthenticationNotValid => (422, "reauthentication_not_valid", "Nonce has expired or is invalid".into()),
        F::NoAddress => (
            400,
            "validation_failed",
            "Reauthentication requires the user to have an email or a phone number".into(),
        ),
        F::AddressNotVerified => (422, "email_not_confirmed", "Please verify your email first.".into()),
        F::CodeInvalid => (403, "otp_expired", "Token has expired or is invalid".into()),
        F::BadToken(TokenError::Expired) => (
            403,
            "bad_jwt",
            "invalid JWT: unable to parse or verify signature, token has invalid claims: token is expired".into(),
        ),
        F::BadToken(
            t @ (TokenError::Malformed
            | TokenError::Algorithm
            | TokenError::UnknownKey
            | TokenError::BadSignature
            | TokenError::Claims
            | TokenError::Audience { .. }
            | TokenError::Issuer { .. }
            | TokenError::Signing),
        ) => (403, "bad_jwt", format!("invalid JWT: unable to parse or verify signature, {t}")),
        F::SessionNotFound => (
            403,
            "session_not_found",
            "Session from session_id claim in JWT does not exist".into(),
        ),
        F::UserNotFound => (403, "user_not_found", "User from sub claim in JWT does not exist".into()),
        F::RefreshTokenNotFound => (
            400,
            "refresh_token_not_found",
            "Invalid Refresh Token: Refresh Token Not Found".into(),
        ),
        F::RefreshTokenAlreadyUsed => (
            400,
            "refresh_token_already_used",
            "Invalid Refresh Token: Already Used".into(),
        ),
        F::SessionExpired => (400, "session_expired", "Invalid Refresh Token: Session Expired".into()),
        F::OverEmailSendRateLimit { wait_secs } => (
            429,
            "over_email_send_rate_limit",
            format!("For security purposes, you can only request this after {wait_secs} seconds."),
        ),
        // Other dialects' errors, should one reach a GoTrue route, in GoTrue's nearest words.
        F::RefreshWindowPassed => (400, "session_expired", "Invalid Refresh Token: Session Expired".into()),
        F::InvalidUsername => (400, "validation_failed", "Invalid username".into()),
        F::InvalidPlatform => (400, "validation_failed", "Invalid session platform".into()),
        F::UsernameTaken => (422, "user_already_exists", "User already registered".into()),
        F::LinkInvalid | F::LoginNotReady => (403, "otp_expired", "Token has expired or is invalid".into()),
        F::EmailExists => (
            422,
            "email_exists",
            "A user with this email address has already been registered".into(),
        ),
        F::UserBanned => (400, "user_banned", "User is banned".into()),
        F::AnonymousDisabled => (422, "anonymous_provider_disabled", "Anonymous sign-ins are disabled".into()),
        F::AnonymousWithoutAddress => (
            422,
            "validation_failed",
            "Updating password of an anonymous user without an email or phone is not allowed".into(),
        ),
        F::NotAdmin => (403, "not_admin", "User not allowed".into()),
        F::NoSuchUser => (404, "user_not_found", "User not found".into()),
        F::NoUserWithEmail => (404, "user_not_found", "User with this email not found".into()),
        F::FlowStateNotFound => (404, "flow_state_not_found", "invalid flow state, no valid flow state found".into()),
        F::FlowStateExpired => (422, "flow_state_expired", "invalid flow state, flow state has expired".into()),
        F::BadCodeVerifier => (
            400,
            "bad_code_verifier",
            "code challenge does not match previously saved code verifier".into(),
        ),
        F::Internal(_) => (500, "unexpected_failure", "Internal server error".into()),
    }
}

/// The detail of an internal error, if `e` is one.
fn internal(e: &GotrueError) -> Option<&str> {
    match e {
        GotrueError::Flow(FlowError::Internal(d)) | GotrueError::Bearer(FlowError::Internal(d)) => Some(d),
        _ => None,
    }
}

/// Whether the request asked for the 2024-01-01 error format (any dated version from then on).
fn wants_new_errors(req_headers: &http::HeaderMap) -> bool {
    header(req_headers, "x-supabase-api-version")
        .map(str::trim)
        .is_some_and(|v| v.len() == 10 && v.as_bytes()[4] == b'-' && v >= API_VERSION_2024)
}

/// Renders an error in the format the request asked for.
pub fn render_error<P: Ports>(auth: &Flows<P>, req_headers: &http::HeaderMap, e: &GotrueError) -> Response<Body> {
    let (status, code, mut msg) = describe(e);
    if let Some(detail) = internal(e) {
        msg = format!("{msg} (error id: {})", auth.report(&detail));
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

/// Serves one GoTrue request; `path` is relative to the mount point.
pub async fn handle<P: Ports>(auth: &Flows<P>, req: &Request<Body>, path: &str) -> Response<Body> {
    let result = match (req.method(), path) {
        _ if super::gotrue_admin::owns(path) => super::gotrue_admin::handle(auth, req, path).await,
        (method, _) if super::gotrue_unoffered::owns(method, path) => super::gotrue_unoffered::handle(auth, req, path).await,
        (&Method::POST, "/signup") => signup(auth, req).await,
        (&Method::POST, "/verify") => verify(auth, req).await,
        (&Method::GET, "/verify") => return verify_link(auth, req).await,
        (&Method::POST, "/token") => token(auth, req).await,
        (&Method::GET, "/user") => get_user(auth, req).await,
        (&Method::PUT, "/user") => put_user(auth, req).await,
        (&Method::GET, "/reauthenticate") => reauthenticate(auth, req).await,
        (&Method::POST, "/logout") => logout(auth, req).await,
        (&Method::POST, "/recover") => recover(auth, req).await,
        (&Method::POST, "/otp") => otp(auth, req).await,
        (&Method::POST, "/resend") => resend(auth, req).await,
        (&Method::GET, "/settings") => Ok(settings(auth)),
        (&Method::GET, "/health") => Ok(health()),
        (&Method::GET, "/.well-known/jwks.json") => Ok(json_response(
            StatusCode::OK,
            &auth.jwks(),
            &[("cache-control", "public, max-age=600".to_string())],
        )),
        _ => Err(GotrueError::NotFound),
    };
    let mut response = result.unwrap_or_else(|e| render_error(auth, req.headers(), &e));
    if wants_new_errors(req.headers()) {
        if let Ok(v) = http::HeaderValue::from_str(API_VERSION_2024) {
            response.headers_mut().insert("x-supabase-api-version", v);
        }
    }
    response
}

fn ok(value: &Value) -> Result<Response<Body>, GotrueError> {
    Ok(json_response(StatusCode::OK, value, &[]))
}

fn ts(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_rfc3339()))
}

/// GoTrue's user object. Decoys and real users render through this same function, so their
/// shapes are identical.
pub fn user_json(u: &User) -> Value {
    // GoTrue writes "" for an account without an address.
    let email = u.email.as_deref().unwrap_or_default();
    let app_metadata = crate::flows::gotrue_app_metadata(u);
    let identity = json!({
        "identity_id": u.id,
        "id": u.id,
        "user_id": u.id,
        "identity_data": {
            "email": email,
            "email_verified": u.is_confirmed(),
            "phone_verified": false,
            "sub": u.id,
        },
        "provider": "email",
        "last_sign_in_at": ts(u.last_sign_in_at),
        "created_at": u.created_at.to_rfc3339(),
        "updated_at": u.updated_at.to_rfc3339(),
        "email": email,
    });
    // An anonymous account has no identity.
    let identities = match u.is_anonymous {
        true => vec![],
        false => vec![identity],
    };
    let mut body = json!({
        "id": u.id,
        "aud": "authenticated",
        "role": "authenticated",
        "email": email,
        "email_confirmed_at": ts(u.email_confirmed_at),
        "phone": "",
        "confirmed_at": ts(u.email_confirmed_at),
        "last_sign_in_at": ts(u.last_sign_in_at),
        "app_metadata": app_metadata,
        "user_metadata": u.user_metadata,
        "identities": identities,
        "created_at": u.created_at.to_rfc3339(),
        "updated_at": u.updated_at.to_rfc3339(),
        "is_anonymous": u.is_anonymous,
    });
    // Upstream leaves these out unless set.
    if let Some(t) = u.banned_until {
        body["banned_until"] = json!(t.to_rfc3339());
    }
    if let Some(t) = u.deleted_at {
        body["deleted_at"] = json!(t.to_rfc3339());
    }
    body
}

fn session_body<P: Ports>(auth: &Flows<P>, s: &SignedIn) -> Result<Value, GotrueError> {
    let access = auth.gotrue_access_token(s)?;
    Ok(json!({
        "access_token": access.token,
        "token_type": "bearer",
        "expires_in": access.lifetime_secs,
        "expires_at": access.expires_at.unix_seconds(),
        "refresh_token": s.refresh_token.expose(),
        "user": user_json(&s.user),
    }))
}

#[derive(Deserialize)]
struct SignupBody {
    email: Option<String>,
    password: Option<Secret<String>>,
    data: Option<Map<String, Value>>,
    phone: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

async fn signup<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    let body: SignupBody = parse_json(req.body())?;
    let pkce = pkce_challenge(body.code_challenge, body.code_challenge_method)?;
    let (no_email, no_phone) = (body.email.as_deref().is_none_or(str::is_empty), body.phone.as_deref().is_none_or(str::is_empty));
    // Upstream's router: neither an email nor a phone is an anonymous sign-in.
    if no_email && no_phone {
        let metadata = Value::Object(body.data.unwrap_or_default());
        let s = auth.sign_in_anonymously(metadata, &platform(req.headers())).await?;
        return ok(&session_body(auth, &s)?);
    }
    if !no_phone && no_email {
        return Err(phone_off("Phone signups are disabled", 400));
    }
    let email = body.email.ok_or(GotrueError::Validation("To signup, please provide your email"))?;
    let password = body.password.ok_or(GotrueError::Validation("Signup requires a valid password"))?;
    let outcome = auth
        .sign_up(SignupRequest {
            email: &email,
            password: &password,
            metadata: Value::Object(body.data.unwrap_or_default()),
            platform: &platform(req.headers()),
            landing: Landing { redirect_to: redirect_param(req).as_deref(), pkce: pkce.as_ref() },
            dialect: Dialect::Gotrue,
        })
        .await?;
    match outcome {
        SignupOutcome::ConfirmationSent(u)
        | SignupOutcome::AlreadyRegistered(u)
        | SignupOutcome::Registered(u) => ok(&user_json(&u)),
        SignupOutcome::SignedIn(s) => ok(&session_body(auth, &s)?),
    }
}

/// Upstream's words for the first of the two confirmations of a secure email change.
const OTHER_ADDRESS_NEXT: &str = "Confirmation link accepted. Please proceed to confirm link sent to the other email";

#[derive(Deserialize)]
struct VerifyBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    email: Option<String>,
    token: Option<Secret<String>>,
    token_hash: Option<Secret<String>>,
}

/// The codes a GoTrue verification type may use.
fn purposes_of(kind: Option<&str>) -> Result<&'static [Purpose], GotrueError> {
    match kind {
        None | Some("") => Err(GotrueError::Validation("Verify requires a verification type")),
        Some("signup") => Ok(&[Purpose::Signup]),
        // auth-js' "email" OTP, and the older "magiclink" name, use whichever code went out.
        Some("email") | Some("magiclink") => Ok(&[Purpose::MagicLink, Purpose::Signup]),
        Some("recovery") => Ok(&[Purpose::Recovery]),
        Some("email_change") => Ok(&[Purpose::EmailChange, Purpose::EmailChangeCurrent]),
        Some("invite") => Ok(&[Purpose::Invite]),
        Some(_) => Err(GotrueError::Validation("Unsupported verification type")),
    }
}

async fn verify<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    let body: VerifyBody = parse_json(req.body())?;
    let purposes = purposes_of(body.kind.as_deref())?;
    let platform = platform(req.headers());
    let verified = match (&body.token_hash, &body.email, &body.token) {
        (Some(hash), _, _) => auth.verify_link_token(hash.expose(), purposes, &platform).await?,
        (None, Some(email), Some(token)) => {
            auth.verify_code(email, token.expose(), purposes, &platform).await?
        }
        _ => {
            return Err(GotrueError::Validation(
                "Verify requires either a token_hash, or an email and a token",
            ))
        }
    };
    match verified {
        Verified::SignedIn(signed_in) => ok(&session_body(auth, &signed_in)?),
        // Upstream's answer to the first of the two codes (auth-js takes it as no session).
        Verified::OtherAddressNext => ok(&json!({"msg": OTHER_ADDRESS_NEXT, "code": "200"})),
        Verified::AuthCode(_) => Err(FlowError::Internal("an auth code where a session was asked for".into()).into()),
    }
}

/// What following an emailed link gave, for its redirect.
enum Followed {
    Session(Value),
    OtherAddressNext,
    AuthCode(Secret<String>),
}

/// `GET /verify?token=&type=&redirect_to=`: the emailed link. Always a 303 back to the app:
/// with the session or the error in the fragment (never in the query, so it stays out of
/// logs), or for a PKCE link with the auth code in the query (`?code=`, as upstream; it is
/// worth nothing without the verifier), and its errors in both.
async fn verify_link<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Response<Body> {
    let query = req.uri().query();
    let target = auth.allowed_redirect(query_param(query, "redirect_to").as_deref());
    let kind = query_param(query, "type").unwrap_or_default();
    let token = query_param(query, "token");
    let pkce_link = token.as_deref().is_some_and(|t| t.starts_with(PKCE_LINK_PREFIX));
    let result = async {
        let token = token.as_deref().ok_or(FlowError::CodeInvalid)?;
        let purposes = purposes_of(Some(&kind))?;
        match auth.follow_link(token, purposes, &platform(req.headers())).await? {
            Verified::SignedIn(s) => session_body(auth, &s).map(Followed::Session),
            Verified::OtherAddressNext => Ok(Followed::OtherAddressNext),
            Verified::AuthCode(code) => Ok(Followed::AuthCode(code)),
        }
    }
    .await;
    let (query, fragment) = match result {
        Ok(Followed::AuthCode(code)) => {
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("code", code.expose());
            (Some(q.finish()), None)
        }
        Ok(Followed::OtherAddressNext) => {
            let mut f = form_urlencoded::Serializer::new(String::new());
            f.append_pair("message", OTHER_ADDRESS_NEXT);
            f.append_pair("sb", "");
            (None, Some(f.finish()))
        }
        Ok(Followed::Session(body)) => {
            let mut f = form_urlencoded::Serializer::new(String::new());
            for k in ["access_token", "expires_at", "expires_in", "refresh_token", "token_type"] {
                let v = match &body[k] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                f.append_pair(k, &v);
            }
            f.append_pair("type", &kind);
            (None, Some(f.finish()))
        }
        Err(e) => {
            let (status, code, mut msg) = describe(&e);
            if let Some(detail) = internal(&e) {
                msg = format!("{msg} (error id: {})", auth.report(&detail));
            }
            let (error, description) = if status == StatusCode::FORBIDDEN {
                ("access_denied", "Email link is invalid or has expired".to_string())
            } else {
                ("server_error", msg)
            };
            let error = form_urlencoded::Serializer::new(String::new())
                .append_pair("error", error)
                .append_pair("error_code", code)
                .append_pair("error_description", &description)
                .finish();
            (pkce_link.then(|| error.clone()), Some(error))
        }
    };
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header("location", redirect_location(&target, query.as_deref(), fragment.as_deref()))
        .header("cache-control", "no-store")
        .body(Vec::new())
        .unwrap_or_else(|_| Response::new(Vec::new()))
}

/// `target` with `query` added to its own query (whose own `code` parameters are dropped, so
/// the one added is the only one) and `fragment` in place of its fragment.
fn redirect_location(target: &str, query: Option<&str>, fragment: Option<&str>) -> String {
    let (base, own_fragment) = match target.split_once('#') {
        Some((base, f)) => (base, Some(f)),
        None => (target, None),
    };
    let mut location = base.to_string();
    if let Some(q) = query {
        let (path, own_query) = base.split_once('?').unwrap_or((base, ""));
        let kept: Vec<&str> = own_query.split('&').filter(|p| !p.is_empty() && *p != "code" && !p.starts_with("code=")).collect();
        location = path.to_string();
        location.push('?');
        for p in kept {
            location.push_str(p);
            location.push('&');
        }
        location.push_str(q);
    }
    if let Some(f) = fragment.or(own_fragment) {
        location.push('#');
        location.push_str(f);
    }
    location
}

#[derive(Deserialize)]
struct PasswordGrantBody {
    email: Option<String>,
    password: Option<Secret<String>>,
    phone: Option<String>,
}

async fn token<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    match query_param(req.uri().query(), "grant_type").as_deref() {
        Some("password") => {
            let body: PasswordGrantBody = parse_json(req.body())?;
            if body.email.is_none() && body.phone.as_deref().is_some_and(|p| !p.is_empty()) {
                return Err(phone_off("Phone logins are disabled", 422));
            }
            let (Some(email), Some(password)) = (body.email, body.password) else {
                return Err(FlowError::InvalidCredentials.into());
            };
            let s = auth.password_login(&email, &password, &platform(req.headers()), Dialect::Gotrue).await?;
            ok(&session_body(auth, &s)?)
        }
        Some("refresh_token") => {
            let body: RefreshGrantBody = parse_json(req.body())?;
            let token = body.refresh_token.ok_or(GotrueError::Validation("refresh_token required"))?;
            let s = auth.refresh(token.expose()).await?;
            ok(&session_body(auth, &s)?)
        }
        Some("pkce") => {
            let body: PkceGrantBody = parse_json(req.body())?;
            let code = body.auth_code.filter(|c| !c.expose().is_empty());
            let verifier = body.code_verifier.filter(|v| !v.expose().is_empty());
            let (Some(code), Some(verifier)) = (code.as_ref(), verifier) else {
                if let Some(code) = code {
                    auth.discard_auth_code(code.expose()).await?;
                }
                return Err(GotrueError::Validation("invalid request: both auth code and code verifier should be non-empty"));
            };
            let s = auth.exchange_auth_code(code.expose(), verifier.expose(), &platform(req.headers())).await?;
            ok(&session_body(auth, &s)?)
        }
        Some("id_token") => Err(super::gotrue_unoffered::id_token_grant(req.body())),
        Some("web3") => Err(super::gotrue_unoffered::web3_grant()),
        _ => Err(GotrueError::UnsupportedGrant),
    }
}

/// Upstream's answers where phone numbers are switched off.
fn phone_off(message: &'static str, status: u16) -> GotrueError {
    GotrueError::disabled(status, "phone_provider_disabled", message)
}

#[derive(Deserialize)]
struct RefreshGrantBody {
    refresh_token: Option<Secret<String>>,
}

#[derive(Deserialize)]
struct PkceGrantBody {
    auth_code: Option<Secret<String>>,
    code_verifier: Option<Secret<String>>,
}

/// The PKCE challenge a request sent (`code_challenge`, `code_challenge_method`), checked as
/// upstream checks it; `None` for an implicit-flow request (auth-js sends `null`s).
fn pkce_challenge(challenge: Option<String>, method: Option<String>) -> Result<Option<PkceChallenge>, GotrueError> {
    let (challenge, method) = match (challenge.filter(|c| !c.is_empty()), method.filter(|m| !m.is_empty())) {
        (None, None) => return Ok(None),
        (Some(c), Some(m)) => (c, m),
        _ => return Err(GotrueError::Validation("PKCE flow requires code_challenge_method and code_challenge")),
    };
    if !(43..=128).contains(&challenge.len()) {
        return Err(GotrueError::Validation("code challenge has to be between 43 and 128 characters"));
    }
    if !challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)) {
        return Err(GotrueError::Validation(
            "code challenge can only contain alphanumeric characters, hyphens, periods, underscores and tildes",
        ));
    }
    // Upstream fails later with a 500 here; a client's mistake is a 400.
    let method = PkceMethod::parse(&method).ok_or(GotrueError::Validation("Invalid code_challenge_method"))?;
    Ok(Some(PkceChallenge { method, challenge }))
}

/// The live session and account of the request's GoTrue access token.
pub(super) async fn authenticate<P: Ports>(auth: &Flows<P>, headers: &http::HeaderMap) -> Result<Bearer, GotrueError> {
    let token = auth_token(headers, &["bearer"]).ok_or(GotrueError::NoAuthorization)?;
    auth.authenticate(token, &[Dialect::Gotrue]).await.map_err(GotrueError::Bearer)
}

async fn get_user<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    let bearer = authenticate(auth, req.headers()).await?;
    ok(&user_json(&bearer.user))
}

#[derive(Deserialize)]
struct UserUpdateBody {
    email: Option<String>,
    password: Option<Secret<String>>,
    data: Option<Map<String, Value>>,
    phone: Option<String>,
    nonce: Option<Secret<String>>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

async fn put_user<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    let Bearer { session, user, .. } = authenticate(auth, req.headers()).await?;
    let body: UserUpdateBody = parse_json(req.body())?;
    if body.phone.as_deref().is_some_and(|p| !p.is_empty()) {
        return Err(phone_off("Phone logins are disabled", 422));
    }
    let pkce = pkce_challenge(body.code_challenge, body.code_challenge_method)?;
    let redirect = redirect_param(req);
    let update = UserUpdate {
        email: body.email.as_deref(),
        password: body.password.as_ref(),
        data: body.data,
        landing: Landing { redirect_to: redirect.as_deref(), pkce: pkce.as_ref() },
        nonce: body.nonce.as_ref(),
    };
    let Updated { user, email_change } = auth.update_user(&user, &session, update).await?;
    let mut body = user_json(&user);
    if let Some(change) = email_change {
        body["new_email"] = json!(change.new_email);
        body["email_change_sent_at"] = json!(change.sent_at.to_rfc3339());
    }
    ok(&body)
}

/// `GET /reauthenticate`: mails the signed-in user a nonce for `PUT /user {password, nonce}`.
async fn reauthenticate<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    let bearer = authenticate(auth, req.headers()).await?;
    auth.send_reauthentication(&bearer.user).await?;
    ok(&json!({}))
}

async fn logout<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    let scope = match query_param(req.uri().query(), "scope").as_deref() {
        None | Some("global") => LogoutScope::Global,
        Some("local") => LogoutScope::Local,
        Some("others") => LogoutScope::Others,
        Some(_) => return Err(GotrueError::Validation("Unsupported logout scope: use global, local or others")),
    };
    let bearer = authenticate(auth, req.headers()).await?;
    auth.logout(&bearer.session, scope).await?;
    Ok(Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Vec::new())
        .unwrap_or_else(|_| Response::new(Vec::new())))
}

/// The `redirect_to` query parameter auth-js sends for `emailRedirectTo` / `redirectTo`.
fn redirect_param(req: &Request<Body>) -> Option<String> {
    query_param(req.uri().query(), "redirect_to")
}

#[derive(Deserialize)]
struct EmailBody {
    email: Option<String>,
    phone: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// The request's address; a phone number instead gets upstream's answer with phones off.
fn required_email(email: Option<String>, phone: Option<String>, phone_answer: &'static str) -> Result<String, GotrueError> {
    match (email, phone) {
        (Some(e), _) => Ok(e),
        (None, Some(_)) => Err(phone_off(phone_answer, 400)),
        (None, None) => Err(GotrueError::Validation("An email address is required")),
    }
}

async fn recover<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    let body: EmailBody = parse_json(req.body())?;
    let pkce = pkce_challenge(body.code_challenge, body.code_challenge_method)?;
    let redirect = redirect_param(req);
    let landing = Landing { redirect_to: redirect.as_deref(), pkce: pkce.as_ref() };
    auth.recover(&required_email(body.email, body.phone, "Phone logins are disabled")?, landing).await?;
    ok(&json!({}))
}

#[derive(Deserialize)]
struct OtpBody {
    email: Option<String>,
    phone: Option<String>,
    create_user: Option<bool>,
    data: Option<Map<String, Value>>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

async fn otp<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    let body: OtpBody = parse_json(req.body())?;
    let pkce = pkce_challenge(body.code_challenge, body.code_challenge_method)?;
    let email = required_email(body.email, body.phone, "Unsupported phone provider")?;
    let metadata = Value::Object(body.data.unwrap_or_default());
    let redirect = redirect_param(req);
    let landing = Landing { redirect_to: redirect.as_deref(), pkce: pkce.as_ref() };
    auth.email_otp(&email, body.create_user.unwrap_or(true), metadata, landing).await?;
    ok(&json!({}))
}

#[derive(Deserialize)]
struct ResendBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

async fn resend<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    let body: ResendBody = parse_json(req.body())?;
    let pkce = pkce_challenge(body.code_challenge, body.code_challenge_method)?;
    let purpose = match body.kind.as_deref() {
        Some("signup") => Purpose::Signup,
        Some("email_change") => Purpose::EmailChange,
        Some(_) => return Err(GotrueError::Validation("Unsupported resend type: use signup or email_change")),
        None => return Err(GotrueError::Validation("Resend requires a type")),
    };
    let email = required_email(body.email, body.phone, "Phone logins are disabled")?;
    let redirect = redirect_param(req);
    auth.resend(purpose, &email, Landing { redirect_to: redirect.as_deref(), pkce: pkce.as_ref() }).await?;
    ok(&json!({}))
}

fn settings<P: Ports>(auth: &Flows<P>) -> Response<Body> {
    let c = auth.config();
    // Upstream's `ProviderSettings`: every one off but email (and anonymous users, if on).
    let providers = [
        "apple", "azure", "bitbucket", "discord", "facebook", "snapchat", "figma", "fly", "github", "gitlab", "google",
        "keycloak", "kakao", "linkedin", "linkedin_oidc", "notion", "spotify", "slack", "slack_oidc", "workos", "twitch",
        "twitter", "phone", "zoom",
    ];
    let mut external: Map<String, Value> = providers.iter().map(|p| (p.to_string(), Value::Bool(false))).collect();
    external.insert("email".into(), Value::Bool(true));
    external.insert("anonymous_users".into(), Value::Bool(c.anonymous_users_enabled));
    json_response(
        StatusCode::OK,
        &json!({
            "external": external,
            "disable_signup": c.disable_signup,
            "mailer_autoconfirm": c.mailer_autoconfirm,
            "phone_autoconfirm": false,
            "sms_provider": "",
            "saml_enabled": false,
            "saml_private_key_next_configured": false,
            "passkeys_enabled": false,
        }),
        &[],
    )
}

fn health() -> Response<Body> {
    json_response(
        StatusCode::OK,
        &json!({
            "version": concat!("portcullis-", env!("CARGO_PKG_VERSION")),
            "name": "GoTrue",
            "description": "Portcullis speaks the GoTrue API: user registration and authentication at the edge",
        }),
        &[],
    )
}
