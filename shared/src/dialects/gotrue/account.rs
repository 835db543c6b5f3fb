//! GoTrue's account endpoints: `/signup` (also anonymous), `/user` (GET and PUT),
//! `/reauthenticate`, `/logout`, `/recover`, `/otp`, `/resend`, `/settings` and `/health`.

use super::errors::GotrueError;
use super::pkce::pkce_challenge;
use super::token::phone_off;
use super::wire::{ok, Empty, HealthBody, MetaSecurity, SessionBody, SettingsBody, UserBody};
use crate::dialects::{parse_json, platform, query_param, Body};
use crate::flows::{Bearer, Dialect, Flows, Landing, SignupOutcome, SignupRequest, Updated, UserUpdate};
use crate::model::{LogoutScope, Purpose};
use crate::ports::Ports;
use crate::secret::{Password, Secret};
use http::{Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Deserialize)]
struct SignupBody {
    email: Option<String>,
    password: Option<Password>,
    data: Option<Map<String, Value>>,
    phone: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    gotrue_meta_security: Option<MetaSecurity>,
}

/// `POST /signup`: with an address, a sign-up; with neither address nor phone, anonymous.
pub(super) async fn signup<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    let body: SignupBody = parse_json(req.body())?;
    auth.check_captcha(MetaSecurity::token(&body.gotrue_meta_security)).await?;
    let pkce = pkce_challenge(body.code_challenge, body.code_challenge_method)?;
    let (no_email, no_phone) = (body.email.as_deref().is_none_or(str::is_empty), body.phone.as_deref().is_none_or(str::is_empty));
    // Upstream's router: neither an email nor a phone is an anonymous sign-in.
    if no_email && no_phone {
        let metadata = Value::Object(body.data.unwrap_or_default());
        let s = auth.sign_in_anonymously(metadata, &platform(req.headers())).await?;
        return ok(&SessionBody::of(auth, &s).await?);
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
        | SignupOutcome::Registered(u) => ok(&UserBody::of(&u)),
        SignupOutcome::SignedIn(s) => ok(&SessionBody::of(auth, &s).await?),
    }
}

/// `GET /user`.
pub(super) async fn get_user<P: Ports>(auth: &Flows<P>, bearer: &Bearer) -> Result<Response<Body>, GotrueError> {
    let factors = auth.factors_of(&bearer.user).await?;
    let identities = auth.identities_of(&bearer.user).await?;
    ok(&UserBody::of(&bearer.user).with_factors(&factors).with_identities(&identities))
}

#[derive(Deserialize)]
struct UserUpdateBody {
    email: Option<String>,
    password: Option<Password>,
    data: Option<Map<String, Value>>,
    phone: Option<String>,
    nonce: Option<Secret<String>>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// `PUT /user`: address, password and metadata changes.
pub(super) async fn put_user<P: Ports>(auth: &Flows<P>, req: &Request<Body>, bearer: Bearer) -> Result<Response<Body>, GotrueError> {
    let Bearer { session, user, .. } = bearer;
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
    let factors = auth.factors_of(&user).await?;
    let mut body = UserBody::of(&user).with_factors(&factors);
    if let Some(change) = email_change {
        body.new_email = Some(change.new_email);
        body.email_change_sent_at = Some(change.sent_at.to_rfc3339());
    }
    ok(&body)
}

/// `GET /reauthenticate`: mails the signed-in user a nonce for `PUT /user {password, nonce}`.
pub(super) async fn reauthenticate<P: Ports>(auth: &Flows<P>, bearer: Bearer) -> Result<Response<Body>, GotrueError> {
    auth.send_reauthentication(&bearer.user).await?;
    ok(&Empty {})
}

/// `POST /logout?scope=`.
pub(super) async fn logout<P: Ports>(auth: &Flows<P>, req: &Request<Body>, bearer: Bearer) -> Result<Response<Body>, GotrueError> {
    let scope = match query_param(req.uri().query(), "scope").as_deref() {
        None | Some("global") => LogoutScope::Global,
        Some("local") => LogoutScope::Local,
        Some("others") => LogoutScope::Others,
        Some(_) => return Err(GotrueError::Validation("Unsupported logout scope: use global, local or others")),
    };
    auth.logout(&bearer.session, scope).await?;
    Ok(Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Vec::new())
        .unwrap_or_else(|_| Response::new(Vec::new())))
}

/// The `redirect_to` query parameter auth-js sends for `emailRedirectTo` / `redirectTo`.
pub(super) fn redirect_param(req: &Request<Body>) -> Option<String> {
    query_param(req.uri().query(), "redirect_to")
}

#[derive(Deserialize)]
struct EmailBody {
    email: Option<String>,
    phone: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    gotrue_meta_security: Option<MetaSecurity>,
}

/// The request's address; a phone number instead gets upstream's answer with phones off.
fn required_email(email: Option<String>, phone: Option<String>, phone_answer: &'static str) -> Result<String, GotrueError> {
    match (email, phone) {
        (Some(e), _) => Ok(e),
        (None, Some(_)) => Err(phone_off(phone_answer, 400)),
        (None, None) => Err(GotrueError::Validation("An email address is required")),
    }
}

/// `POST /recover`.
pub(super) async fn recover<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    let body: EmailBody = parse_json(req.body())?;
    auth.check_captcha(MetaSecurity::token(&body.gotrue_meta_security)).await?;
    let pkce = pkce_challenge(body.code_challenge, body.code_challenge_method)?;
    let redirect = redirect_param(req);
    let landing = Landing { redirect_to: redirect.as_deref(), pkce: pkce.as_ref() };
    auth.recover(&required_email(body.email, body.phone, "Phone logins are disabled")?, landing).await?;
    ok(&Empty {})
}

#[derive(Deserialize)]
struct OtpBody {
    email: Option<String>,
    phone: Option<String>,
    create_user: Option<bool>,
    data: Option<Map<String, Value>>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    gotrue_meta_security: Option<MetaSecurity>,
}

/// `POST /otp`.
pub(super) async fn otp<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    let body: OtpBody = parse_json(req.body())?;
    auth.check_captcha(MetaSecurity::token(&body.gotrue_meta_security)).await?;
    let pkce = pkce_challenge(body.code_challenge, body.code_challenge_method)?;
    let email = required_email(body.email, body.phone, "Unsupported phone provider")?;
    let metadata = Value::Object(body.data.unwrap_or_default());
    let redirect = redirect_param(req);
    let landing = Landing { redirect_to: redirect.as_deref(), pkce: pkce.as_ref() };
    auth.email_otp(&email, body.create_user.unwrap_or(true), metadata, landing).await?;
    ok(&Empty {})
}

#[derive(Deserialize)]
struct ResendBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    gotrue_meta_security: Option<MetaSecurity>,
}

/// `POST /resend`.
pub(super) async fn resend<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    let body: ResendBody = parse_json(req.body())?;
    auth.check_captcha(MetaSecurity::token(&body.gotrue_meta_security)).await?;
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
    ok(&Empty {})
}

/// `GET /settings`.
pub(super) fn settings<P: Ports>(auth: &Flows<P>) -> Result<Response<Body>, GotrueError> {
    let c = auth.config();
    // Upstream's `ProviderSettings`: every one off but email (and anonymous users, if on).
    let providers = [
        "apple", "azure", "bitbucket", "discord", "facebook", "snapchat", "figma", "fly", "github", "gitlab", "google",
        "keycloak", "kakao", "linkedin", "linkedin_oidc", "notion", "spotify", "slack", "slack_oidc", "workos", "twitch",
        "twitter", "phone", "zoom",
    ];
    let mut external: Map<String, Value> = providers.iter().map(|p| (p.to_string(), Value::Bool(false))).collect();
    external.insert("email".into(), Value::Bool(true));
    // The providers enabled here; a generic OpenID Connect provider under its own name.
    for p in &c.providers.enabled {
        external.insert(p.name.clone(), Value::Bool(true));
    }
    external.insert("anonymous_users".into(), Value::Bool(c.anonymous_users_enabled));
    ok(&SettingsBody {
        external,
        disable_signup: c.disable_signup,
        mailer_autoconfirm: c.mailer_autoconfirm,
        phone_autoconfirm: false,
        sms_provider: "",
        saml_enabled: false,
        saml_private_key_next_configured: false,
        passkeys_enabled: c.mfa.passkey_enabled,
    })
}

/// `GET /health`.
pub(super) fn health() -> Result<Response<Body>, GotrueError> {
    ok(&HealthBody {
        version: concat!("portcullis-", env!("CARGO_PKG_VERSION")),
        name: "GoTrue",
        description: "Portcullis speaks the GoTrue API: user registration and authentication at the edge",
    })
}
