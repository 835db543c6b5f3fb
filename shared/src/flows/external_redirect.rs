//! Signing in through a provider's own pages (OAuth 2's authorization code flow): the redirect
//! there ([`Flows::oauth_authorize`]) and the callback from there ([`Flows::oauth_callback`]),
//! whose user becomes an account's session by `external`'s rules.
//!
//! The `state` the provider carries is a random UUID stored only as a hash with the flow,
//! and taken by the first callback that presents it: a forged, replayed or expired state
//! finishes nothing. Towards an OpenID Connect provider the flow also sends a PKCE challenge and
//! a nonce, both derived from the state with a key of this deployment (so nothing secret is
//! stored): the code is worth nothing without the verifier, and the `id_token` must carry the
//! nonce. GitHub speaks OAuth 2 only: its user comes from `/user` and its addresses, verified
//! or not, from `/user/emails`.

use super::external::{user_of_claims, ExternalError, PROVIDER_TIMEOUT_MS};
use super::{normalize_email, Flows, SignedIn};
use crate::config::{Provider, ProviderKind};
use crate::model::{AuthMethod, Dialect, OauthFlow, PkceChallenge, SessionId, User, UserId};
use crate::ports::{Http as _, OauthFlows as _, Ports};
use crate::secret::Secret;
use crate::signature::b64url;
use crate::token::{hash_secret, random_uuid};
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// The most extra query parameters passed on to the provider, and the longest of each.
const MAX_PASSED: usize = 16;
const MAX_PASSED_BYTES: usize = 512;

/// Parameters a client may not pass on to the provider: the flow sets them.
const RESERVED: &[&str] = &[
    "provider", "scopes", "redirect_to", "client_id", "client_secret", "redirect_uri", "response_type", "state", "nonce",
    "code_challenge", "code_challenge_method", "code_verifier", "response_mode", "flow_type", "skip_http_redirect",
    // Ours to set (`scopes` adds to it), and request objects that could carry other values.
    "scope", "request", "request_uri",
];

/// Starting a sign-in through a provider's pages.
#[derive(Debug, Clone)]
pub struct OauthStart<'a> {
    /// The provider's name.
    pub provider: &'a str,
    /// Where to come back to (checked against the allow-list; the site otherwise).
    pub redirect_to: Option<&'a str>,
    /// Scopes to ask for besides the provider's own, separated by spaces or commas.
    pub scopes: Option<&'a str>,
    /// GoTrue's PKCE flow: the client's challenge.
    pub challenge: Option<PkceChallenge>,
    /// Further query parameters for the provider (`prompt`, `login_hint`, `access_type`, …).
    pub passed: Vec<(String, String)>,
    /// The dialect whose client asks.
    pub dialect: Dialect,
}

/// What the provider's callback brought.
#[derive(Debug, Clone, Default)]
pub struct CallbackParams {
    /// `state`.
    pub state: Option<String>,
    /// `code`.
    pub code: Option<String>,
    /// `error`, if the provider refused.
    pub error: Option<String>,
    /// `error_description`.
    pub error_description: Option<String>,
    /// Apple's `user` (form_post, its first sign-in only): `{"name": {"firstName", "lastName"}}`,
    /// the name its id_token never carries.
    pub user: Option<String>,
}

/// How a callback ended.
#[derive(Debug)]
pub enum Callback {
    /// Signed in (GoTrue's implicit flow, Feathers): the session, where to, and the
    /// provider's tokens (handed to the client, never stored).
    SignedIn {
        /// The dialect that started the flow, whose session it is.
        dialect: Dialect,
        /// The session.
        signed_in: Box<SignedIn>,
        /// The flow's target.
        redirect_to: String,
        /// The provider's access token.
        provider_token: Secret<String>,
        /// The provider's refresh token, if it gave one.
        provider_refresh_token: Option<Secret<String>>,
    },
    /// GoTrue's PKCE flow: an auth code for the client that holds the verifier.
    AuthCode {
        /// The code.
        code: Secret<String>,
        /// The flow's target.
        redirect_to: String,
    },
}

/// Why a callback finished nothing.
#[derive(Debug)]
pub enum CallbackError {
    /// No usable flow (missing, unknown, used or expired state): the browser goes to the site,
    /// with upstream's `error_code` and description.
    BadState(&'static str, &'static str),
    /// The flow is used up; the refusal goes back to its target, with the dialect that
    /// started it.
    AtTarget {
        /// The flow's target.
        redirect_to: String,
        /// The dialect that started it.
        dialect: Dialect,
        /// Why.
        error: ExternalError,
    },
}

impl<P: Ports> Flows<P> {
    /// The provider's authorization URL for a new flow, which is stored.
    pub async fn oauth_authorize(&self, start: OauthStart<'_>) -> Result<String, ExternalError> {
        self.start_oauth(start, None).await
    }

    /// [`Flows::oauth_authorize`] for a flow that links the identity to `link`'s account
    /// (while that session lives) instead of signing in by it.
    pub(super) async fn start_oauth(&self, start: OauthStart<'_>, link: Option<(UserId, SessionId)>) -> Result<String, ExternalError> {
        self.throttle_client().await?;
        let provider = self.provider(start.provider)?.clone();
        if provider.secret.is_none() {
            return Err(ExternalError::NotConfigured("missing OAuth secret"));
        }
        let state = random_uuid(self.ports.rng());
        let now = self.now();
        let flow = OauthFlow {
            state_hash: hash_secret(&state),
            provider: provider.name.clone(),
            dialect: start.dialect,
            redirect_to: self.allowed_redirect(start.redirect_to),
            challenge: start.challenge,
            link,
            created_at: now,
            expires_at: now.plus_secs(self.config.providers.flow_state_expiry_secs),
        };
        let mut scopes = provider.scopes.clone();
        for extra in start.scopes.unwrap_or_default().split([' ', ',']).filter(|s| !s.is_empty()).take(MAX_PASSED) {
            if !scopes.iter().any(|s| s == extra) && extra.len() <= MAX_PASSED_BYTES {
                scopes.push(extra.to_string());
            }
        }
        let mut query = vec![
            ("client_id".to_string(), provider.client_ids.first().cloned().unwrap_or_default()),
            ("redirect_uri".into(), self.redirect_uri(&provider)),
            ("response_type".into(), "code".into()),
            ("scope".into(), scopes.join(" ")),
            ("state".into(), state.clone()),
        ];
        let endpoint = match &provider.kind {
            ProviderKind::Github { web, .. } => format!("{web}/login/oauth/authorize"),
            ProviderKind::Oidc { .. } => {
                let fetched = self.oidc_discovery(&provider).await?.authorization_endpoint;
                query.push(("nonce".into(), self.flow_secret(b"nonce", &state)));
                query.push(("code_challenge".into(), b64url(&Sha256::digest(self.flow_secret(b"verifier", &state).as_bytes()))));
                query.push(("code_challenge_method".into(), "S256".into()));
                if provider.name == "apple" {
                    query.push(("response_mode".into(), "form_post".into()));
                }
                fetched
            }
        };
        let passed = start.passed.into_iter().filter(|(k, v)| !RESERVED.contains(&k.as_str()) && k.len() <= 64 && v.len() <= MAX_PASSED_BYTES);
        query.extend(passed.take(MAX_PASSED));
        query.sort();
        self.ports.store().put_oauth_flow(&flow, now).await?;
        let mut url = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &query {
            url.append_pair(k, v);
        }
        let sep = if endpoint.contains('?') { '&' } else { '?' };
        Ok(format!("{endpoint}{sep}{}", url.finish()))
    }

    /// The provider's callback: takes the flow its state names, exchanges the code, learns who
    /// signed in and finishes as the flow was started.
    pub async fn oauth_callback(&self, params: CallbackParams, platform: &str) -> Result<Callback, CallbackError> {
        let state = params.state.filter(|s| !s.is_empty()).ok_or(CallbackError::BadState("bad_oauth_callback", "OAuth state parameter missing"))?;
        if uuid::Uuid::try_parse(&state).is_err() {
            return Err(CallbackError::BadState("bad_oauth_state", "OAuth state parameter is invalid"));
        }
        let taken = self.ports.store().take_oauth_flow(&hash_secret(&state)).await;
        let flow = match taken {
            Ok(Some(flow)) => flow,
            Ok(None) => return Err(CallbackError::BadState("bad_oauth_state", "OAuth state not found or expired")),
            Err(e) => {
                self.report(&format!("oauth callback: {e}"));
                return Err(CallbackError::BadState("bad_oauth_state", "OAuth state not found or expired"));
            }
        };
        if flow.expires_at <= self.now() {
            return Err(CallbackError::BadState("bad_oauth_state", "OAuth state has expired"));
        }
        let at_target = |error: ExternalError| CallbackError::AtTarget { redirect_to: flow.redirect_to.clone(), dialect: flow.dialect, error };
        if let Some(error) = params.error.filter(|e| !e.is_empty()) {
            let description = params.error_description.unwrap_or_default();
            return Err(at_target(ExternalError::Refused { error: clip(&error), description: clip(&description) }));
        }
        let code = params.code.filter(|c| !c.is_empty()).ok_or_else(|| at_target(ExternalError::NoCode))?;
        let finished = async {
            let provider = self.provider(&flow.provider)?.clone();
            let (mut who, tokens) = self.provider_user(&provider, &code, &state).await?;
            if provider.name == "apple" {
                add_apple_name(&mut who, params.user.as_deref());
            }
            let (user, link) = match &flow.link {
                // With PKCE the identity is linked at the exchange, by the client that started
                // the flow (`external_link`); whoever finishes this callback links nothing.
                Some((user_id, session_id)) if flow.challenge.is_some() => {
                    (self.link_ready(&provider, &who, user_id).await?, Some(Self::pending_link(&provider, &who, session_id)))
                }
                Some((user_id, session_id)) => (self.link_identity(&provider, &who, user_id, session_id).await?, None),
                None => (self.account_through(&provider, &who).await?, None),
            };
            match &flow.challenge {
                Some(challenge) => {
                    let code = self.issue_oauth_auth_code(&user, challenge.clone(), &tokens, link).await?;
                    Ok(Callback::AuthCode { code, redirect_to: flow.redirect_to.clone() })
                }
                None => {
                    // Outside GoTrue, whose sessions stay at aal1 until the second step, an
                    // account with a second factor gets no session from a provider alone.
                    if flow.dialect != Dialect::Gotrue && user.mfa_enabled() {
                        return Err(ExternalError::SecondFactorRequired);
                    }
                    let signed_in = self.start_session(user, AuthMethod::Oauth, platform, flow.dialect).await?;
                    Ok(Callback::SignedIn {
                        dialect: flow.dialect,
                        signed_in: Box::new(signed_in),
                        redirect_to: flow.redirect_to.clone(),
                        provider_token: tokens.access,
                        provider_refresh_token: tokens.refresh,
                    })
                }
            }
        };
        finished.await.map_err(at_target)
    }

    async fn issue_oauth_auth_code(&self, user: &User, challenge: PkceChallenge, tokens: &ProviderTokens, link: Option<Value>) -> Result<Secret<String>, ExternalError> {
        Ok(self.issue_auth_code(user, AuthMethod::Oauth, challenge, Some(tokens), link).await?)
    }

    /// Where the provider sends users back: `EXTERNAL_<NAME>_REDIRECT_URI`, or this
    /// deployment's `/callback`.
    fn redirect_uri(&self, provider: &Provider) -> String {
        provider.redirect_uri.clone().unwrap_or_else(|| format!("{}/callback", self.config.api_external_url))
    }

    /// A value derived from a flow's `state` for `purpose` (the PKCE verifier and the nonce
    /// sent to the provider): unguessable without this deployment's key, and never stored.
    fn flow_secret(&self, purpose: &[u8], state: &str) -> String {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(self.oauth_key.expose()) else { return String::new() };
        mac.update(purpose);
        mac.update(b":");
        mac.update(state.as_bytes());
        b64url(&mac.finalize().into_bytes())
    }

    /// Exchanges `code` and learns who signed in, with the provider's tokens.
    async fn provider_user(&self, provider: &Provider, code: &str, state: &str) -> Result<(super::ProviderUser, ProviderTokens), ExternalError> {
        let secret = provider.secret.as_ref().map(|s| s.expose().as_str()).unwrap_or_default();
        let client_id = provider.client_ids.first().map(String::as_str).unwrap_or_default();
        let redirect_uri = self.redirect_uri(provider);
        let verifier = self.flow_secret(b"verifier", state);
        let mut form = vec![("grant_type", "authorization_code"), ("code", code), ("redirect_uri", &redirect_uri), ("client_id", client_id), ("client_secret", secret)];
        let token_endpoint = match &provider.kind {
            ProviderKind::Github { web, .. } => format!("{web}/login/oauth/access_token"),
            ProviderKind::Oidc { .. } => {
                form.push(("code_verifier", &verifier));
                self.oidc_discovery(provider).await?.token_endpoint
            }
        };
        let reply = self.ports.http().post_form(&token_endpoint, &form, PROVIDER_TIMEOUT_MS).await.map_err(|e| ExternalError::Unreachable(e.to_string()))?;
        let answer = parse_token_reply(&reply.body);
        let access = answer.get("access_token").and_then(Value::as_str).filter(|t| !t.is_empty());
        let Some(access) = access.filter(|_| reply.status == 200) else {
            let prefix: String = code.chars().take(4).collect();
            return Err(ExternalError::Exchange(format!("Unable to exchange external code: {prefix}")));
        };
        let tokens = ProviderTokens {
            access: Secret::new(access.to_string()),
            refresh: answer.get("refresh_token").and_then(Value::as_str).filter(|t| !t.is_empty()).map(|t| Secret::new(t.to_string())),
        };
        let who = match &provider.kind {
            ProviderKind::Github { api, .. } => self.github_user(api, access).await?,
            ProviderKind::Oidc { .. } => {
                let id_token = answer.get("id_token").and_then(Value::as_str).ok_or_else(|| ExternalError::Unreachable("no id_token in the token response".into()))?;
                let claims = self.verified_id_token(provider, id_token).await?;
                let nonce = self.flow_secret(b"nonce", state);
                if !claims.nonce.as_deref().is_some_and(|n| bool::from(subtle::ConstantTimeEq::ct_eq(n.as_bytes(), nonce.as_bytes()))) {
                    return Err(ExternalError::NonceMismatch);
                }
                user_of_claims(&claims)
            }
        };
        Ok((who, tokens))
    }

    /// GitHub's user, and the address it marks primary (verified or not, as it says).
    async fn github_user(&self, api: &str, token: &str) -> Result<super::ProviderUser, ExternalError> {
        let get = |path: &'static str| async move {
            let reply = self.ports.http().get(&format!("{api}{path}"), Some(token), PROVIDER_TIMEOUT_MS).await.map_err(|e| ExternalError::Unreachable(e.to_string()))?;
            match reply.status {
                200 => serde_json::from_str::<Value>(&reply.body).map_err(|e| ExternalError::Unreachable(format!("{path}: {e}"))),
                s => Err(ExternalError::Unreachable(format!("{path} answered {s}"))),
            }
        };
        let user = get("/user").await?;
        let emails = get("/user/emails").await?;
        let id = match &user["id"] {
            Value::Number(n) => n.to_string(),
            Value::String(s) if !s.is_empty() && s.len() <= 255 => s.clone(),
            _ => return Err(ExternalError::Unreachable("/user has no id".into())),
        };
        let list = emails.as_array().cloned().unwrap_or_default();
        let primary = list.iter().find(|e| e["primary"] == true).or_else(|| list.last());
        let email = primary.and_then(|e| e["email"].as_str()).map(normalize_email).filter(|e| super::is_valid_email(e));
        let raw = primary.and_then(|e| e["email"].as_str()).unwrap_or_default();
        let verified = email.is_some() && primary.is_some_and(|e| e["verified"] == true) && super::external::vouches_for_normalized(raw);
        let text = |v: &Value| v.as_str().filter(|s| !s.is_empty() && s.len() <= 1024).map(|s| json!(s));
        let mut data = Map::new();
        data.insert("iss".into(), json!(api));
        data.insert("sub".into(), json!(id));
        data.insert("provider_id".into(), json!(id));
        for (key, from) in [("name", "name"), ("full_name", "name"), ("preferred_username", "login"), ("user_name", "login"), ("avatar_url", "avatar_url"), ("picture", "avatar_url")] {
            if let Some(v) = text(&user[from]) {
                data.insert(key.into(), v);
            }
        }
        if let Some(e) = &email {
            data.insert("email".into(), json!(e));
        }
        data.insert("email_verified".into(), json!(verified));
        data.insert("phone_verified".into(), json!(false));
        Ok(super::ProviderUser { subject: id, email, email_verified: verified, data: Value::Object(data) })
    }
}

/// The provider's tokens from the code exchange.
#[derive(Debug)]
pub struct ProviderTokens {
    /// Its access token (GoTrue's `provider_token`).
    pub access: Secret<String>,
    /// Its refresh token, if it gave one (`provider_refresh_token`).
    pub refresh: Option<Secret<String>>,
}

/// Apple's name for `who`, from the callback's `user` field, where the claims have none (as
/// upstream, `name` and `full_name`; the rest of the field, its address, is not the verified
/// claim and is left out).
fn add_apple_name(who: &mut super::ProviderUser, user: Option<&str>) {
    let Some(user) = user.filter(|u| u.len() <= 4096).and_then(|u| serde_json::from_str::<Value>(u).ok()) else { return };
    let part = |k: &str| user["name"][k].as_str().map(str::trim).filter(|s| !s.is_empty() && s.len() <= 256);
    let name = [part("firstName"), part("lastName")].into_iter().flatten().collect::<Vec<_>>().join(" ");
    if let (false, Some(data)) = (name.is_empty(), who.data.as_object_mut()) {
        data.entry("name").or_insert_with(|| json!(name));
        data.entry("full_name").or_insert_with(|| json!(name));
    }
}

/// A token endpoint's answer: JSON, or the form GitHub answers with unless asked for JSON.
fn parse_token_reply(body: &str) -> Map<String, Value> {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(map)) => map,
        _ => form_urlencoded::parse(body.as_bytes()).map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))).collect(),
    }
}

/// A provider's error text, bounded, as it goes back to the app.
fn clip(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(256).collect()
}
