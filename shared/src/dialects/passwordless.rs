//! The passwordless API under `/auth/`: username registration, emailed sign-in with polling,
//! the pages the mailed links open, and session management with `Bearer <session_token>`.
//!
//! JSON errors are `{"error": "<message>"}` with a 4xx status chosen in [`describe`]. The pages
//! are small, self-contained HTML: every value escaped, no scripts, framing refused, the
//! referrer withheld (the link's token is in its URL), and answers accepted only as POSTs
//! from the page itself.

use super::{auth_token, form_pairs, json_response, parse_json, Body, JsonError, MediaType, Refusal};
use crate::dialects::routes::{self, Denied, Guard, Hit, Refused, Route, Verb};
use crate::flows::{Bearer, BearerError, CodeUse, Dialect, FlowError, Flows, SignInRequestError};
use crate::mail::html_escape;
use crate::model::{LoginRequestId, SessionId, Timestamp};
use crate::ports::Ports;
use crate::secret::LinkToken;
use http::{HeaderMap, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

/// Everything that can go wrong in a passwordless request.
#[derive(Debug)]
#[non_exhaustive]
pub enum PasswordlessError {
    /// A flow refused or failed.
    Flow(FlowError),
    /// A registration or sign-in request was refused (what only this API has; the rest
    /// arrives as `Flow`).
    Request(SignInRequestError),
    /// The body is not JSON of the expected shape.
    BadJson(JsonError),
    /// A required field is missing.
    Missing(&'static str),
    /// No valid session token.
    Unauthorized,
    /// No such endpoint.
    NotFound,
    /// The app refused the request before reading it.
    Refused(Refusal),
}

impl From<FlowError> for PasswordlessError {
    fn from(e: FlowError) -> Self {
        PasswordlessError::Flow(e)
    }
}

impl From<SignInRequestError> for PasswordlessError {
    fn from(e: SignInRequestError) -> Self {
        match e {
            SignInRequestError::Flow(f) => PasswordlessError::Flow(f),
            other => PasswordlessError::Request(other),
        }
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
        E::Flow(f) => flow_error(f),
        E::Request(r) => request_error(r),
        E::BadJson(JsonError(m)) => (400, format!("Malformed JSON: {m}")),
        E::Missing(field) => (400, format!("{field} is required")),
        E::Unauthorized => (401, "A valid session token is required (Authorization: Bearer <session_token>)".into()),
        E::NotFound => (404, "Not found".into()),
        E::Refused(r) => r.status_and_message(),
    };
    (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), msg)
}

/// [`describe`] for a flow's error, every variant named: a new one is a compile error here.
fn flow_error(e: &FlowError) -> (u16, String) {
    use FlowError as F;
    match e {
        F::InvalidEmail => (400, "That is not a valid email address".into()),
        F::SessionNotFound => (404, "No such session".into()),
        F::SessionExpired => (401, "This session has expired; sign in again".into()),
        F::OverEmailSendRateLimit { wait_secs } => {
            (429, format!("Too many emails to this address; try again in {wait_secs} seconds"))
        }
        F::CodeInvalid => {
            (400, "This link is invalid or has expired".into())
        }
        F::EmailExists | F::UserAlreadyExists => (409, "That address belongs to another account".into()),
        F::BadToken(_) | F::UserNotFound => (401, "A valid session token is required (Authorization: Bearer <session_token>)".into()),
        F::SignupDisabled => (403, "Sign-ups are disabled".into()),
        F::UserBanned => (403, "This account is banned".into()),
        F::AnonymousDisabled => (403, "Anonymous sign-ins are disabled".into()),
        F::AnonymousWithoutAddress => (400, "An anonymous account needs an email address first".into()),
        F::WeakPassword { .. } | F::PasswordTooLong => (400, "Passwords are not used here".into()),
        F::InvalidCredentials | F::EmailNotConfirmed => (401, "Invalid credentials".into()),
        F::TooManyRequests => (429, "Too many requests; try again later".into()),
        F::ReauthenticationNeeded | F::ReauthenticationNotValid => {
            (403, "This change needs a recent sign-in; sign in again by email".into())
        }
        F::NoAddress | F::AddressNotVerified => (400, "The account has no verified email address".into()),
        F::RefreshTokenNotFound | F::RefreshTokenAlreadyUsed => {
            (401, "A valid session token is required (Authorization: Bearer <session_token>)".into())
        }
        F::Internal(_) => (500, "Internal server error".into()),
    }
}

/// [`describe`] for a refused registration or sign-in request.
fn request_error(e: &SignInRequestError) -> (u16, String) {
    use SignInRequestError as R;
    match e {
        R::InvalidUsername => (400, "A username is 3 to 32 characters: letters, digits, '_', '.' and '-'".into()),
        R::InvalidPlatform => (400, "session_platform must be 1 to 64 printable characters".into()),
        R::UsernameTaken => (409, "That username is taken".into()),
        R::LoginNotReady => (400, "The auth id is invalid, expired, or not yet authorized".into()),
        R::LinkInvalid => (400, "This link is invalid or has expired".into()),
        R::Flow(f) => flow_error(f),
    }
}

/// Renders an error as `{"error": ...}`; internal errors get an id, logged with the detail.
pub fn render_error<P: Ports>(auth: &Flows<P>, e: &PasswordlessError) -> Response<Body> {
    let (status, mut msg) = describe(e);
    if let PasswordlessError::Flow(FlowError::Internal(detail)) = e {
        msg = format!("{msg} (error id: {})", auth.report(detail));
    }
    let challenge = matches!(e, PasswordlessError::Unauthorized).then(|| ("www-authenticate", "Bearer".to_string()));
    json_response(status, &json!({"error": msg}), challenge.as_slice())
}

/// The passwordless endpoints.
#[derive(Debug, Clone, Copy)]
pub enum Endpoint {
    /// `POST /auth/registration`.
    Registration,
    /// `POST /auth/login`.
    Login,
    /// `GET /auth/session/{auth_id}`: collect a confirmed sign-in.
    Collect,
    /// `GET /auth/confirm`: the sign-in link's page.
    LoginPage,
    /// `POST /auth/confirm`: the page's answer.
    LoginAnswer,
    /// `GET /auth/email/confirm`: the address link's page.
    EmailPage,
    /// `POST /auth/email/confirm`: the page's answer.
    EmailAnswer,
    /// `GET /auth/me`.
    Me,
    /// `PUT /auth/email`.
    PutEmail,
    /// `POST /auth/logout`.
    Logout,
    /// `GET /auth/sessions`.
    Sessions,
    /// `DELETE /auth/sessions/{id}`.
    EndSession,
}

/// The passwordless API's routes (full paths, a trailing `/` ignored).
pub struct Api;

impl routes::Api for Api {
    type Endpoint = Endpoint;
    const ROUTES: &'static [Route<Endpoint>] = &[
        Route::json(Verb::Post, "/auth/registration", Guard::Open, Endpoint::Registration),
        Route::json(Verb::Post, "/auth/login", Guard::Open, Endpoint::Login),
        Route::json(Verb::Get, "/auth/session/{auth_id}", Guard::Open, Endpoint::Collect),
        Route::json(Verb::Get, "/auth/confirm", Guard::Open, Endpoint::LoginPage),
        Route::form(Verb::Post, "/auth/confirm", Guard::Open, Endpoint::LoginAnswer),
        Route::json(Verb::Get, "/auth/email/confirm", Guard::Open, Endpoint::EmailPage),
        Route::form(Verb::Post, "/auth/email/confirm", Guard::Open, Endpoint::EmailAnswer),
        Route::json(Verb::Get, "/auth/me", Guard::Session, Endpoint::Me),
        Route::json(Verb::Put, "/auth/email", Guard::Session, Endpoint::PutEmail),
        Route::json(Verb::Post, "/auth/logout", Guard::Session, Endpoint::Logout),
        Route::json(Verb::Get, "/auth/sessions", Guard::Session, Endpoint::Sessions),
        Route::json(Verb::Delete, "/auth/sessions/{id}", Guard::Session, Endpoint::EndSession),
    ];
    const ACCEPTS: &'static [Dialect] = &[Dialect::Passwordless];
    const MEDIA: MediaType = MediaType::Json;

    fn normalize(path: &str) -> &str {
        path.trim_end_matches('/')
    }

    /// `Authorization: Bearer <session_token>`.
    fn credential(headers: &HeaderMap) -> Option<&str> {
        auth_token(headers, &["bearer"])
    }

    fn refuse<P: Ports>(flows: &Flows<P>, _req: &Request<Body>, why: Refused<Endpoint>) -> Response<Body> {
        let e = match why {
            Refused::NoRoute => PasswordlessError::NotFound,
            Refused::Request(r) => PasswordlessError::Refused(r),
            Refused::Guard(_, Denied::Missing) => PasswordlessError::Unauthorized,
            Refused::Guard(_, Denied::Bearer(e)) => match e {
                BearerError::SessionNotFound | BearerError::UserNotFound | BearerError::BadToken(_) => {
                    PasswordlessError::Unauthorized
                }
                other => PasswordlessError::Flow(other.into()),
            },
            // No passwordless route asks for the service role.
            Refused::Guard(_, Denied::NotServiceRole(_)) => PasswordlessError::NotFound,
        };
        render_error(flows, &e)
    }

    async fn serve<P: Ports + 'static>(flows: &Flows<P>, req: &Request<Body>, hit: Hit<'_, Endpoint>) -> Response<Body> {
        // The pages answer in HTML, whatever happens.
        match hit.endpoint {
            Endpoint::LoginPage => login_page(flows, req).await,
            Endpoint::LoginAnswer => login_answer(flows, req).await,
            Endpoint::EmailPage => email_page(req),
            Endpoint::EmailAnswer => email_answer(flows, req).await,
            _ => api(flows, req, hit).await.unwrap_or_else(|e| render_error(flows, &e)),
        }
    }
}

/// Serves one of the JSON endpoints.
async fn api<P: Ports>(flows: &Flows<P>, req: &Request<Body>, hit: Hit<'_, Endpoint>) -> Result<Response<Body>, PasswordlessError> {
    let param = hit.params.first().copied().unwrap_or_default();
    match hit.endpoint {
        Endpoint::Registration => registration(flows, req).await,
        Endpoint::Login => login(flows, req).await,
        Endpoint::Collect => collect(flows, param).await,
        Endpoint::Me => me(&signed_in(hit.caller)?),
        Endpoint::PutEmail => put_email(flows, req, signed_in(hit.caller)?).await,
        Endpoint::Logout => logout(flows, signed_in(hit.caller)?).await,
        Endpoint::Sessions => sessions(flows, signed_in(hit.caller)?).await,
        Endpoint::EndSession => end_session(flows, signed_in(hit.caller)?, param).await,
        Endpoint::LoginPage | Endpoint::LoginAnswer | Endpoint::EmailPage | Endpoint::EmailAnswer => {
            Err(PasswordlessError::NotFound)
        }
    }
}

/// The session a [`Guard::Session`] route's caller proved.
fn signed_in(caller: routes::Caller) -> Result<Bearer, PasswordlessError> {
    Ok(caller.session()?)
}

fn ok(value: &Value) -> Result<Response<Body>, PasswordlessError> {
    Ok(json_response(StatusCode::OK, value, &[]))
}

fn no_content() -> Result<Response<Body>, PasswordlessError> {
    Ok(Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Vec::new())
        .unwrap_or_else(|_| Response::new(Vec::new())))
}

/// The body of both `POST /auth/registration` and `POST /auth/login`.
#[derive(Deserialize)]
struct AccountBody {
    username: Option<String>,
    email: Option<String>,
    session_platform: Option<String>,
}

async fn registration<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, PasswordlessError> {
    let body: AccountBody = parse_json(req.body())?;
    let username = body.username.ok_or(PasswordlessError::Missing("username"))?;
    let platform = body.session_platform.ok_or(PasswordlessError::Missing("session_platform"))?;
    let email = body.email.filter(|e| !e.trim().is_empty());
    let token = auth.register(&username, email.as_deref(), &platform).await?;
    ok(&json!({"session_token": token.expose()}))
}

async fn login<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, PasswordlessError> {
    let body: AccountBody = parse_json(req.body())?;
    let username = body.username.ok_or(PasswordlessError::Missing("username"))?;
    let email = body.email.ok_or(PasswordlessError::Missing("email"))?;
    let platform = body.session_platform.ok_or(PasswordlessError::Missing("session_platform"))?;
    let ticket = auth.request_login(&username, &email, &platform).await?;
    ok(&json!({"expiration_date": ticket.expires_at.unix_seconds(), "auth_id": ticket.auth_id}))
}

async fn collect<P: Ports>(auth: &Flows<P>, auth_id: &str) -> Result<Response<Body>, PasswordlessError> {
    let token = auth.collect_login(&LoginRequestId::new(auth_id)).await?;
    ok(&json!({"session_token": token.expose()}))
}

fn secs(t: Timestamp) -> i64 {
    t.unix_seconds()
}

fn me(bearer: &Bearer) -> Result<Response<Body>, PasswordlessError> {
    let Bearer { session, user, .. } = bearer;
    ok(&json!({
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "created_at": secs(user.created_at),
        "session_id": session.id,
    }))
}

#[derive(Deserialize)]
struct EmailBody {
    email: Option<String>,
}

async fn put_email<P: Ports>(auth: &Flows<P>, req: &Request<Body>, bearer: Bearer) -> Result<Response<Body>, PasswordlessError> {
    let Bearer { user, session, .. } = bearer;
    let body: EmailBody = parse_json(req.body())?;
    let email = body.email.ok_or(PasswordlessError::Missing("email"))?;
    auth.request_email(&user, &session, &email).await?;
    ok(&json!({"status": "A confirmation link was sent to the address; it is added once confirmed"}))
}

async fn logout<P: Ports>(auth: &Flows<P>, bearer: Bearer) -> Result<Response<Body>, PasswordlessError> {
    let Bearer { session, user, .. } = bearer;
    auth.end_session(&user, &session.id).await?;
    no_content()
}

async fn sessions<P: Ports>(auth: &Flows<P>, bearer: Bearer) -> Result<Response<Body>, PasswordlessError> {
    let Bearer { session: current, user, .. } = bearer;
    let list: Vec<Value> = auth
        .sessions_of(&user)
        .await?
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "platform": s.platform,
                "created_at": secs(s.created_at),
                "last_active_at": secs(s.last_active()),
                "current": s.id == current.id,
            })
        })
        .collect();
    ok(&json!({"sessions": list}))
}

async fn end_session<P: Ports>(auth: &Flows<P>, bearer: Bearer, id: &str) -> Result<Response<Body>, PasswordlessError> {
    let user = bearer.user;
    auth.end_session(&user, &SessionId::new(id)).await?;
    no_content()
}

/// An HTML page with the headers every page here carries.
fn html(status: StatusCode, title: &str, body: &str) -> Response<Body> {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t}</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:30rem;margin:4rem auto;padding:0 1rem;color:#1d2330}}\
         .card{{border:1px solid #dfe3ea;border-radius:12px;padding:1.5rem 1.75rem;box-shadow:0 1px 3px #0001}}\
         h1{{font-size:1.35rem;margin:0 0 .75rem}}.platform{{font-weight:600}}\
         .actions{{display:flex;gap:.75rem;margin-top:1.25rem}}\
         button{{font:inherit;padding:.55rem 1.2rem;border-radius:8px;border:1px solid #c9ced8;background:#fff;cursor:pointer}}\
         button.primary{{background:#1f5eff;border-color:#1f5eff;color:#fff}}.muted{{color:#5b6475;font-size:.9rem}}</style>\
         </head><body><div class=\"card\">{body}</div></body></html>",
        t = html_escape(title),
    );
    Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .header("x-frame-options", "DENY")
        .header("referrer-policy", "no-referrer")
        .header(
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        .body(page.into_bytes())
        .unwrap_or_else(|_| Response::new(Vec::new()))
}

fn invalid_link_page() -> Response<Body> {
    html(
        StatusCode::BAD_REQUEST,
        "Link expired",
        "<h1>This link is invalid or has expired</h1>\
         <p>It may have been used already. Ask for a new sign-in on the device you want to use.</p>",
    )
}

fn token_param(req: &Request<Body>) -> Option<LinkToken> {
    super::query_param(req.uri().query(), "token").filter(|t| !t.is_empty()).map(LinkToken::new)
}

/// `GET /auth/confirm?token=`: names the platform and asks to allow or refuse. Decides nothing.
async fn login_page<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Response<Body> {
    let Some(token) = token_param(req) else { return invalid_link_page() };
    match auth.open_login_link(&token).await {
        Ok(page) => html(
            StatusCode::OK,
            "Allow this sign-in?",
            &format!(
                "<h1>Allow this sign-in?</h1>\
                 <p><span class=\"platform\">{platform}</span> asks to sign in as <b>{user}</b>.</p>\
                 <p class=\"muted\">Only allow it if you asked for it just now, on that device.</p>\
                 <form method=\"post\" action=\"/auth/confirm\">\
                 <input type=\"hidden\" name=\"token\" value=\"{token}\">\
                 <input type=\"hidden\" name=\"page\" value=\"{page_token}\">\
                 <div class=\"actions\">\
                 <button class=\"primary\" type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
                 <button type=\"submit\" name=\"decision\" value=\"deny\">Refuse</button></div></form>",
                platform = html_escape(&page.platform),
                user = html_escape(&page.username),
                token = html_escape(token.expose()),
                page_token = html_escape(page.page_token.expose()),
            ),
        ),
        Err(SignInRequestError::LinkInvalid) => invalid_link_page(),
        Err(e) => render_error(auth, &e.into()),
    }
}

/// `POST /auth/confirm` (the page's form): allows or refuses, once.
async fn login_answer<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Response<Body> {
    let form = form_pairs(req.body());
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let (Some(token), Some(page), Some(decision)) = (field("token"), field("page"), field("decision")) else {
        return invalid_link_page();
    };
    let allow = match decision {
        "allow" => true,
        "deny" => false,
        _ => return invalid_link_page(),
    };
    match auth.answer_login_link(&LinkToken::new(token.to_string()), page, allow).await {
        Ok(platform) if allow => html(
            StatusCode::OK,
            "Signed in",
            &format!(
                "<h1>Sign-in allowed</h1><p><span class=\"platform\">{}</span> is now signed in. You can close this page.</p>",
                html_escape(&platform)
            ),
        ),
        Ok(platform) => html(
            StatusCode::OK,
            "Sign-in refused",
            &format!(
                "<h1>Sign-in refused</h1><p><span class=\"platform\">{}</span> was not signed in.</p>",
                html_escape(&platform)
            ),
        ),
        Err(SignInRequestError::LinkInvalid) => invalid_link_page(),
        Err(e) => render_error(auth, &e.into()),
    }
}

/// `GET /auth/email/confirm?token=`: asks to confirm the address. Confirms nothing by itself.
fn email_page(req: &Request<Body>) -> Response<Body> {
    let Some(token) = token_param(req) else { return invalid_link_page() };
    html(
        StatusCode::OK,
        "Confirm your address",
        &format!(
            "<h1>Use this address for your account?</h1>\
             <p>Confirm to add this email address to your account, so you can sign in with it.</p>\
             <form method=\"post\" action=\"/auth/email/confirm\">\
             <input type=\"hidden\" name=\"token\" value=\"{}\">\
             <div class=\"actions\"><button class=\"primary\" type=\"submit\">Confirm address</button></div></form>",
            html_escape(token.expose())
        ),
    )
}

/// `POST /auth/email/confirm`: attaches the address, once.
async fn email_answer<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Response<Body> {
    let form = form_pairs(req.body());
    let Some((_, token)) = form.iter().find(|(k, _)| k == "token") else { return invalid_link_page() };
    match auth.confirm_email_link(&LinkToken::new(token.clone())).await {
        Ok(CodeUse::OtherAddressNext) => html(
            StatusCode::OK,
            "Confirmed; one more step",
            "<h1>Confirmed</h1><p>Now confirm with the link sent to the other address: the \
             account moves once both are confirmed.</p>",
        ),
        Ok(CodeUse::Done(user)) => html(
            StatusCode::OK,
            "Address confirmed",
            &format!(
                "<h1>Address confirmed</h1><p>{} is now the address of <b>{}</b>.</p>",
                html_escape(user.email.as_deref().unwrap_or_default()),
                html_escape(user.username.as_deref().unwrap_or_default())
            ),
        ),
        Err(FlowError::CodeInvalid) => invalid_link_page(),
        Err(FlowError::EmailExists) => html(
            StatusCode::CONFLICT,
            "Address in use",
            "<h1>This address is already in use</h1><p>Another account has added it in the meantime.</p>",
        ),
        Err(e) => render_error(auth, &e.into()),
    }
}
