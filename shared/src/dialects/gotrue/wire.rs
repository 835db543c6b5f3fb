//! GoTrue's response bodies as typed structs: the user object, its identity, the session, and
//! the small answers (`/settings`, `/health`). Shapes follow supabase/auth `internal/models`
//! and `internal/api/token.go`; only what is rendered lives here, never a rule.

use super::errors::GotrueError;
use crate::dialects::{json_response, Body};
use crate::flows::{Flows, SignedIn};
use crate::model::{Factor, Identity, Timestamp, User};
use crate::ports::Ports;
use http::{Response, StatusCode};
use serde::Serialize;
use serde_json::Value;

/// A 200 with `value` as its JSON body.
pub(super) fn ok<T: Serialize>(value: &T) -> Result<Response<Body>, GotrueError> {
    let value = serde_json::to_value(value).map_err(|e| crate::flows::FlowError::Internal(e.to_string()))?;
    Ok(json_response(StatusCode::OK, &value, &[]))
}

fn ts(t: Option<Timestamp>) -> Option<String> {
    t.map(Timestamp::to_rfc3339)
}

/// GoTrue's user object.
#[derive(Debug, Serialize)]
pub struct UserBody<'a> {
    id: &'a str,
    aud: &'static str,
    role: &'static str,
    /// `""` for an account without an address, as upstream writes it.
    email: &'a str,
    email_confirmed_at: Option<String>,
    phone: &'static str,
    confirmed_at: Option<String>,
    last_sign_in_at: Option<String>,
    app_metadata: Value,
    user_metadata: &'a Value,
    identities: Vec<IdentityBody>,
    created_at: String,
    updated_at: String,
    is_anonymous: bool,
    // Upstream leaves these out unless set.
    #[serde(skip_serializing_if = "Option::is_none")]
    banned_until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted_at: Option<String>,
    /// A pending email change's new address (`PUT /user`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_email: Option<String>,
    /// When the pending email change's codes went out (`PUT /user`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_change_sent_at: Option<String>,
    /// The account's second factors, verified or not; left out when it has none, as upstream.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    factors: Vec<FactorBody>,
}

/// A second factor in a user object, `GET /admin/users/{id}/factors` and a removal's answer
/// (supabase/auth `models.Factor`).
#[derive(Debug, Serialize)]
pub struct FactorBody {
    id: String,
    created_at: String,
    updated_at: String,
    status: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    friendly_name: String,
    factor_type: &'static str,
    phone: &'static str,
    last_challenged_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    web_authn_aaguid: Option<String>,
}

impl FactorBody {
    /// The factor `f` as upstream renders it.
    pub fn of(f: &Factor) -> Self {
        FactorBody {
            id: f.id.to_string(),
            created_at: f.created_at.to_rfc3339(),
            updated_at: f.updated_at.to_rfc3339(),
            status: if f.verified { "verified" } else { "unverified" },
            friendly_name: f.friendly_name.clone(),
            factor_type: f.kind.as_str(),
            phone: "",
            last_challenged_at: ts(f.last_challenged_at),
            web_authn_aaguid: f.credential.as_ref().map(|c| uuid::Uuid::from_bytes(c.aaguid).to_string()),
        }
    }
}

/// An identity of a user object: the `email` one, or a provider's.
#[derive(Debug, Serialize)]
struct IdentityBody {
    identity_id: String,
    id: String,
    user_id: String,
    identity_data: Value,
    provider: String,
    last_sign_in_at: Option<String>,
    created_at: String,
    updated_at: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    email: String,
}

impl IdentityBody {
    /// A provider's identity, as upstream renders it (its row id is `identity_id`, the
    /// provider's subject is `id`).
    fn of(i: &Identity) -> Self {
        IdentityBody {
            identity_id: i.id.to_string(),
            id: i.subject.clone(),
            user_id: i.user_id.to_string(),
            identity_data: i.data.clone(),
            provider: i.provider.clone(),
            last_sign_in_at: ts(i.last_sign_in_at),
            created_at: i.created_at.to_rfc3339(),
            updated_at: i.updated_at.to_rfc3339(),
            email: i.email.clone().unwrap_or_default(),
        }
    }
}

impl<'a> UserBody<'a> {
    /// The user object of `u`. Decoys and real users render through this same function, so
    /// their shapes are identical.
    pub fn of(u: &'a User) -> Self {
        let email = u.email.as_deref().unwrap_or_default();
        let identity = IdentityBody {
            identity_id: u.id.to_string(),
            id: u.id.to_string(),
            user_id: u.id.to_string(),
            identity_data: serde_json::json!({"email": email, "email_verified": u.is_confirmed(), "phone_verified": false, "sub": u.id.as_str()}),
            provider: "email".into(),
            last_sign_in_at: ts(u.last_sign_in_at),
            created_at: u.created_at.to_rfc3339(),
            updated_at: u.updated_at.to_rfc3339(),
            email: email.to_string(),
        };
        UserBody {
            id: u.id.as_str(),
            aud: "authenticated",
            role: "authenticated",
            email,
            email_confirmed_at: ts(u.email_confirmed_at),
            phone: "",
            confirmed_at: ts(u.email_confirmed_at),
            last_sign_in_at: ts(u.last_sign_in_at),
            app_metadata: crate::flows::gotrue_app_metadata(u),
            user_metadata: &u.user_metadata,
            // An anonymous account has no identity, one a provider made none but its providers'.
            identities: if u.has_email_identity() { vec![identity] } else { vec![] },
            created_at: u.created_at.to_rfc3339(),
            updated_at: u.updated_at.to_rfc3339(),
            is_anonymous: u.is_anonymous,
            banned_until: ts(u.banned_until),
            deleted_at: ts(u.deleted_at),
            new_email: None,
            email_change_sent_at: None,
            factors: Vec::new(),
        }
    }

    /// The user object with the account's `factors`.
    pub fn with_factors(mut self, factors: &[Factor]) -> Self {
        self.factors = factors.iter().map(FactorBody::of).collect();
        self
    }

    /// The user object with the account's provider `identities` (oldest first), listed after
    /// its `email` identity if it has one ([`User::has_email_identity`]). Its `app_metadata`
    /// names them already, from [`User::providers`].
    pub fn with_identities(mut self, identities: &[Identity]) -> Self {
        self.identities.extend(identities.iter().map(IdentityBody::of));
        self
    }
}

/// GoTrue's user object of `u`, as JSON.
pub fn user_json(u: &User) -> Value {
    serde_json::to_value(UserBody::of(u)).unwrap_or_default()
}

/// A session: what `/token`, `/verify` and a confirming `/signup` answer.
#[derive(Debug, Serialize)]
pub struct SessionBody<'a> {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    expires_at: i64,
    refresh_token: &'a str,
    user: UserBody<'a>,
    /// After a sign-in through a provider (the PKCE exchange): its tokens, left out when
    /// empty, as upstream.
    #[serde(skip_serializing_if = "Option::is_none")]
    provider_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider_refresh_token: Option<String>,
}

impl<'a> SessionBody<'a> {
    /// The session of `s`, with a new GoTrue access token for it, and the account's
    /// `factors` (auth-js reads the next assurance level from those it stores).
    pub(super) async fn of<P: Ports>(flows: &Flows<P>, s: &'a SignedIn) -> Result<Self, GotrueError> {
        let factors = flows.factors_of(&s.user).await?;
        let mut body = Self::with(flows, s, &factors).await?;
        // An account with identities at providers shows them, as upstream's answers do; the
        // account says whether it has any, so an account without spends no read on it.
        if !s.user.providers.is_empty() {
            let identities = flows.identities_of(&s.user).await?;
            body.user = body.user.with_identities(&identities);
        }
        Ok(body)
    }

    /// [`SessionBody::of`] with the account's factors as the caller has them.
    pub(super) async fn with<P: Ports>(flows: &Flows<P>, s: &'a SignedIn, factors: &[Factor]) -> Result<Self, GotrueError> {
        let access = flows.gotrue_access_token(s).await?;
        Ok(SessionBody {
            access_token: access.token,
            token_type: "bearer",
            expires_in: access.lifetime_secs,
            expires_at: access.expires_at.unix_seconds(),
            refresh_token: s.refresh_token.expose(),
            user: UserBody::of(&s.user).with_factors(factors),
            provider_token: None,
            provider_refresh_token: None,
        })
    }

    /// The session with the provider's tokens (the PKCE exchange of a sign-in through one).
    pub(super) fn with_provider_tokens(mut self, tokens: Option<crate::flows::ProviderTokens>) -> Self {
        if let Some(t) = tokens {
            self.provider_token = Some(t.access.expose().clone()).filter(|a| !a.is_empty());
            self.provider_refresh_token = t.refresh.map(|r| r.expose().clone());
        }
        self
    }

    /// The fields an emailed link's redirect carries in its fragment, as text.
    pub(super) fn fragment_pairs(&self) -> [(&'static str, String); 5] {
        [
            ("access_token", self.access_token.clone()),
            ("expires_at", self.expires_at.to_string()),
            ("expires_in", self.expires_in.to_string()),
            ("refresh_token", self.refresh_token.to_string()),
            ("token_type", self.token_type.to_string()),
        ]
    }
}

/// `GET /settings`: every external provider upstream knows, off but email (and anonymous
/// users, if on).
#[derive(Debug, Serialize)]
pub(super) struct SettingsBody {
    pub external: serde_json::Map<String, Value>,
    pub disable_signup: bool,
    pub mailer_autoconfirm: bool,
    pub phone_autoconfirm: bool,
    pub sms_provider: &'static str,
    pub saml_enabled: bool,
    pub saml_private_key_next_configured: bool,
    pub passkeys_enabled: bool,
}

/// `GET /health`.
#[derive(Debug, Serialize)]
pub(super) struct HealthBody {
    pub version: &'static str,
    pub name: &'static str,
    pub description: &'static str,
}

/// An empty object, `{}`: what `/recover`, `/otp`, `/resend` and `/reauthenticate` answer.
#[derive(Debug, Serialize)]
pub(super) struct Empty {}

/// `gotrue_meta_security`, which auth-js adds to the bodies upstream protects with CAPTCHA
/// (sign-up, password sign-in, `/otp`, `/recover`, `/resend`).
#[derive(Debug, Default, serde::Deserialize)]
pub struct MetaSecurity {
    /// The hCaptcha or Turnstile response.
    pub captcha_token: Option<String>,
}

impl MetaSecurity {
    /// The response of a body's `gotrue_meta_security`, if it has one.
    pub fn token(meta: &Option<MetaSecurity>) -> Option<&str> {
        meta.as_ref().and_then(|m| m.captcha_token.as_deref())
    }
}
