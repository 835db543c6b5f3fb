//! The domain's configuration, parsed once from named string variables.
//!
//! The worker hands over a lookup function over its `[vars]` and secrets; everything is
//! validated here, so a missing or invalid value is a clear [`ConfigError`] naming the variable,
//! at start, never a panic mid-request. Defaults follow GoTrue's where a dialect has one, and
//! the security defaults of docs/configuration.md otherwise. Transport settings (SMTP) are the worker's.

use crate::model::{Dialect, Purpose};
use crate::password::PasswordParams;
use crate::secret::Secret;

// Defined with the key set, whose HS256 keys obey it too: config reads keyset, never the reverse.
pub use crate::keyset::MIN_JWT_SECRET_BYTES;

/// How long an invitation lives: a day, as upstream's links, since the invitee did not ask
/// for it and may read it later.
pub const INVITE_EXP_SECS: i64 = 86_400;

mod captcha;
pub mod globs;
mod providers;
mod mfa;
mod cors;

pub use captcha::{Captcha, CaptchaProvider};
pub use providers::{Provider, ProviderKind, Providers};
pub use mfa::{Mfa, RelyingParty};
use captcha::captcha;
use cors::cors_origins;
pub use cors::{origin_of, CorsOrigins};

/// A configuration value that is missing or unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("configuration: {0} is not set")]
    Missing(&'static str),
    /// A variable is set to something unusable.
    #[error("configuration: {name} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong with it (never echoes a secret).
        reason: String,
    },
    /// A required variable whose name is made from another's value (a provider's) is not set.
    #[error("configuration: {0} is not set")]
    MissingSetting(String),
    /// A variable whose name is made from another's value is set to something unusable.
    #[error("configuration: {name} is invalid: {reason}")]
    Setting {
        /// The variable.
        name: String,
        /// What is wrong with it (never echoes a secret).
        reason: String,
    },
}

/// Everything the flows and dialects need to know about this deployment.
#[derive(Debug, Clone)]
pub struct Config {
    /// The dialects this deployment serves (`DIALECTS`, default all): the others' endpoints
    /// answer 404 and their tokens are refused everywhere, `/api/check` included.
    pub dialects: Vec<Dialect>,
    /// Where the app using Portcullis lives: the default redirect after an emailed link.
    pub site_url: String,
    /// Portcullis' own public base URL, for links in mails and the JWT issuer.
    pub api_external_url: String,
    /// Further redirect targets allowed after emailed links (exact URLs or prefixes ending `/`).
    pub uri_allow_list: Vec<String>,
    /// The origins browsers may call from (`CORS_ALLOWED_ORIGINS`).
    pub cors_origins: CorsOrigins,
    /// Name shown in mails.
    pub site_name: String,
    /// HS256 key for access tokens.
    pub jwt_secret: Secret<Vec<u8>>,
    /// GoTrue's asymmetric signing keys (`JWT_KEYS`, a JWK set), if configured: its signing
    /// key signs GoTrue's access tokens, and its public keys are published.
    pub jwt_keys: Option<std::sync::Arc<crate::keyset::KeySet>>,
    /// Access token lifetime, seconds.
    pub jwt_exp_secs: i64,
    /// Accepted clock skew on `exp`, seconds.
    pub jwt_leeway_secs: i64,
    /// Skip email confirmation at sign-up.
    pub mailer_autoconfirm: bool,
    /// Refuse new sign-ups.
    pub disable_signup: bool,
    /// GoTrue's anonymous sign-in (`POST /signup {}`), off by default as upstream's
    /// `EXTERNAL_ANONYMOUS_USERS_ENABLED`.
    pub anonymous_users_enabled: bool,
    /// Anonymous sign-ins one client may make per hour (upstream's `RATE_LIMIT_ANONYMOUS_USERS`).
    pub anonymous_max_per_hour: u32,
    /// An email change needs the current address's confirmation too (upstream GoTrue's
    /// `MAILER_SECURE_EMAIL_CHANGE_ENABLED`, default on).
    pub secure_email_change: bool,
    /// A password change, or an email change that the current address does not confirm,
    /// through a session older than this many seconds needs re-authentication (a nonce from
    /// GoTrue's `/reauthenticate`, or a fresh sign-in); `0` for never.
    pub reauthentication_after_secs: i64,
    /// A right password for an account whose address is not verified answers "email not
    /// confirmed" (upstream GoTrue's `email_not_confirmed`) instead of the wrong-password answer.
    /// Off by default: together with sign-up it tells a new address from a registered one.
    pub reveal_email_not_confirmed: bool,
    /// One-time code and link lifetime, seconds.
    pub otp_exp_secs: i64,
    /// Tries allowed per code, right or wrong.
    pub otp_max_attempts: u32,
    /// Wrong guesses allowed per address, across all its codes, in one window.
    pub otp_max_wrong_per_address: u32,
    /// The window of `otp_max_wrong_per_address`, seconds from its first guess.
    pub otp_wrong_window_secs: i64,
    /// Password checks of one account from one client per `throttle_window_secs`.
    pub login_max_per_client: u32,
    /// Password checks of one account from all clients together per `throttle_window_secs`
    /// that did not sign in (`LOGIN_MAX_PER_ACCOUNT`).
    pub login_max_per_account: u32,
    /// CAPTCHA verification (`SECURITY_CAPTCHA_*`), when enabled.
    pub captcha: Option<Captcha>,
    /// The request header whose value is the client's address, as the throttles key it
    /// (`RATE_LIMIT_HEADER`, lowercased); `None` (unset, empty or `none`): no header is
    /// believed and every request is the same client.
    pub rate_limit_header: Option<String>,
    /// Throttled actions (password checks, code verifications, mails) of one client per
    /// `throttle_window_secs`.
    pub client_max_attempts: u32,
    /// The window of the throttles, seconds from the first counted action.
    pub throttle_window_secs: i64,
    /// Mails of any kind one address may be sent in `mail_window_secs` (on top of the
    /// per-kind `mail_min_interval_secs`).
    pub mail_max_per_address: u32,
    /// Of `mail_max_per_address`, the mails one client may cause to one address.
    pub mail_max_per_address_client: u32,
    /// The window of `mail_max_per_address`, seconds from its first mail.
    pub mail_window_secs: i64,
    /// How often a Socket.IO connection is pinged, ms (Engine.IO's `pingInterval`).
    pub socket_ping_interval_ms: i64,
    /// How long a ping waits for its pong before the connection closes, ms (`pingTimeout`).
    pub socket_ping_timeout_ms: i64,
    /// Shortest password accepted, in characters.
    pub password_min_length: usize,
    /// How new passwords are hashed.
    pub password_params: PasswordParams,
    /// Seconds within which a used refresh token still returns its successor (several tabs
    /// refreshing at once); a reuse after that ends the session.
    pub refresh_reuse_interval_secs: i64,
    /// Absolute session lifetime in seconds, `0` for none.
    pub session_timebox_secs: i64,
    /// Session inactivity timeout in seconds (time since the last refresh), `0` for none.
    pub session_inactivity_timeout_secs: i64,
    /// Least seconds between two mails of one purpose to one address.
    pub mail_min_interval_secs: i64,
    /// End the account's other sessions when its password changes (ASVS 3.3.3).
    pub password_change_ends_other_sessions: bool,
    /// Lifetime of an emailed passwordless sign-in request, seconds.
    pub login_request_exp_secs: i64,
    /// Lifetime of a Feathers access token, seconds (upstream's `expiresIn: "1d"`).
    pub feathers_jwt_exp_secs: i64,
    /// The Feathers token's `aud`, checked on the way back in.
    pub feathers_jwt_audience: String,
    /// The Feathers token's `iss`, checked on the way back in.
    pub feathers_jwt_issuer: String,
    /// Feathers sign-up mails a confirmation code and local login waits for it (upstream
    /// Feathers has no such step, so it is off by default).
    pub feathers_require_confirmation: bool,
    /// Lifetime of a graphql-jwt token, seconds (upstream's `JWT_EXPIRATION_DELTA`).
    pub graphql_jwt_exp_secs: i64,
    /// Seconds after a token's `origIat` (or a long-running refresh token's creation) during
    /// which it can be refreshed (upstream's `JWT_REFRESH_EXPIRATION_DELTA`).
    pub graphql_refresh_exp_secs: i64,
    /// `tokenAuth` also hands out an opaque refresh token, rotated by `refreshToken` and ended
    /// by `revokeToken` (upstream's `JWT_LONG_RUNNING_REFRESH_TOKEN`).
    pub graphql_long_running_refresh: bool,
    /// The ids (`jti`) of service-role keys the admin API refuses (`SERVICE_ROLE_REVOKED_IDS`).
    pub service_role_revoked_ids: Vec<String>,
    /// The admin API refuses service-role keys without an id (`SERVICE_ROLE_REQUIRE_ID`), such
    /// as Supabase's own, once every caller uses one minted with an id.
    pub service_role_require_id: bool,
    /// Second factors (`MFA_*`).
    pub mfa: Mfa,
    /// Identity providers (`EXTERNAL_*`).
    pub providers: Providers,
}

impl Config {
    /// Parses the configuration from `get(name)`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(&get)
    }

    /// [`Config::from_lookup`]'s body, compiled once whatever the lookup is (each caller's
    /// closure would otherwise copy all of it into the worker).
    fn read(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &'static str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let site_url = url_var(var("SITE_URL"), "SITE_URL")?;
        let api_external_url = url_var(var("API_EXTERNAL_URL"), "API_EXTERNAL_URL")?;
        let secret = get("JWT_SECRET").ok_or(ConfigError::Missing("JWT_SECRET"))?;
        if secret.len() < MIN_JWT_SECRET_BYTES {
            return Err(ConfigError::Invalid {
                name: "JWT_SECRET",
                reason: format!("must be at least {MIN_JWT_SECRET_BYTES} bytes"),
            });
        }
        let jwt_keys = get("JWT_KEYS")
            .filter(|v| !v.trim().is_empty())
            .map(|v| crate::keyset::KeySet::parse_cached(&Secret::new(v)))
            .transpose()
            .map_err(|reason| ConfigError::Invalid { name: "JWT_KEYS", reason })?;
        let uri_allow_list = list(var("URI_ALLOW_LIST"));
        let site: Vec<&str> = [site_url.as_str(), api_external_url.as_str()]
            .into_iter()
            .chain(uri_allow_list.iter().map(String::as_str))
            .collect();
        let cors_origins = cors_origins(var("CORS_ALLOWED_ORIGINS"), &site)?;
        let password_params = match var("PASSWORD_HASH").as_deref() {
            None | Some("argon2id") => PasswordParams::Argon2id {
                m_kib: num(var("ARGON2_M_KIB"), "ARGON2_M_KIB", 19_456, 8, 262_144)?,
                t: num(var("ARGON2_T"), "ARGON2_T", 2, 1, 10)?,
                p: num(var("ARGON2_P"), "ARGON2_P", 1, 1, 16)?,
            },
            Some("pbkdf2-sha256") => PasswordParams::Pbkdf2Sha256 {
                iterations: num(var("PBKDF2_ITERATIONS"), "PBKDF2_ITERATIONS", 600_000, 10_000, 10_000_000)?,
            },
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "PASSWORD_HASH",
                    reason: format!("{other:?}: use \"argon2id\" or \"pbkdf2-sha256\""),
                })
            }
        };
        let captcha = captcha(&var, get("SECURITY_CAPTCHA_SECRET"))?;
        let dialects = dialects(var("DIALECTS"))?;
        let feathers_require_confirmation =
            flag(var("FEATHERS_REQUIRE_CONFIRMATION"), "FEATHERS_REQUIRE_CONFIRMATION")?;
        if feathers_require_confirmation && dialects.contains(&Dialect::Feathers) && !dialects.contains(&Dialect::Gotrue) {
            return Err(ConfigError::Invalid {
                name: "DIALECTS",
                reason: "FEATHERS_REQUIRE_CONFIRMATION mails GoTrue /verify links (and recovery is \
                         GoTrue's): serve gotrue too"
                    .into(),
            });
        }
        Ok(Config {
            dialects,
            site_url,
            api_external_url: api_external_url.clone(),
            uri_allow_list,
            cors_origins,
            site_name: var("SITE_NAME").unwrap_or_else(|| "Portcullis".into()),
            jwt_secret: Secret::new(secret.into_bytes()),
            jwt_keys,
            jwt_exp_secs: num(var("JWT_EXP"), "JWT_EXP", 3600, 30, 604_800)?,
            jwt_leeway_secs: num(var("JWT_LEEWAY"), "JWT_LEEWAY", 10, 0, 300)?,
            mailer_autoconfirm: flag(var("MAILER_AUTOCONFIRM"), "MAILER_AUTOCONFIRM")?,
            disable_signup: flag(var("DISABLE_SIGNUP"), "DISABLE_SIGNUP")?,
            anonymous_users_enabled: flag(var("EXTERNAL_ANONYMOUS_USERS_ENABLED"), "EXTERNAL_ANONYMOUS_USERS_ENABLED")?,
            anonymous_max_per_hour: num(var("RATE_LIMIT_ANONYMOUS_USERS"), "RATE_LIMIT_ANONYMOUS_USERS", 30, 1, 100_000)?,
            secure_email_change: match var("MAILER_SECURE_EMAIL_CHANGE_ENABLED") {
                None => true,
                v => flag(v, "MAILER_SECURE_EMAIL_CHANGE_ENABLED")?,
            },
            reauthentication_after_secs: num(var("REAUTHENTICATION_AFTER"), "REAUTHENTICATION_AFTER", 86_400, 0, 31_536_000)?,
            reveal_email_not_confirmed: flag(var("REVEAL_EMAIL_NOT_CONFIRMED"), "REVEAL_EMAIL_NOT_CONFIRMED")?,
            otp_exp_secs: num(var("OTP_EXP"), "OTP_EXP", 600, 60, 86_400)?,
            otp_max_attempts: num(var("OTP_MAX_ATTEMPTS"), "OTP_MAX_ATTEMPTS", 5, 1, 100)?,
            otp_max_wrong_per_address: num(var("OTP_MAX_WRONG_PER_ADDRESS"), "OTP_MAX_WRONG_PER_ADDRESS", 10, 1, 1000)?,
            otp_wrong_window_secs: num(var("OTP_WRONG_WINDOW"), "OTP_WRONG_WINDOW", 3600, 60, 86_400)?,
            login_max_per_client: num(var("LOGIN_MAX_PER_CLIENT"), "LOGIN_MAX_PER_CLIENT", 10, 1, 100_000)?,
            captcha,
            login_max_per_account: num(var("LOGIN_MAX_PER_ACCOUNT"), "LOGIN_MAX_PER_ACCOUNT", 20, 1, 100_000)?,
            rate_limit_header: var("RATE_LIMIT_HEADER")
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty() && h != "none"),
            client_max_attempts: num(var("CLIENT_MAX_ATTEMPTS"), "CLIENT_MAX_ATTEMPTS", 300, 1, 10_000_000)?,
            throttle_window_secs: num(var("THROTTLE_WINDOW"), "THROTTLE_WINDOW", 900, 10, 86_400)?,
            mail_max_per_address: num(var("SMTP_MAX_PER_ADDRESS"), "SMTP_MAX_PER_ADDRESS", 30, 1, 10_000)?,
            mail_max_per_address_client: num(var("SMTP_MAX_PER_ADDRESS_CLIENT"), "SMTP_MAX_PER_ADDRESS_CLIENT", 5, 1, 10_000)?,
            mail_window_secs: num(var("SMTP_ADDRESS_WINDOW"), "SMTP_ADDRESS_WINDOW", 3600, 60, 86_400)?,
            socket_ping_interval_ms: num(var("SOCKETIO_PING_INTERVAL"), "SOCKETIO_PING_INTERVAL", 25_000, 1_000, 300_000)?,
            socket_ping_timeout_ms: num(var("SOCKETIO_PING_TIMEOUT"), "SOCKETIO_PING_TIMEOUT", 20_000, 500, 300_000)?,
            password_min_length: num(var("PASSWORD_MIN_LENGTH"), "PASSWORD_MIN_LENGTH", 6, 1, 128)?,
            password_params,
            refresh_reuse_interval_secs: num(var("REFRESH_TOKEN_REUSE_INTERVAL"), "REFRESH_TOKEN_REUSE_INTERVAL", 10, 0, 3600)?,
            session_timebox_secs: num(var("SESSION_TIMEBOX"), "SESSION_TIMEBOX", 0, 0, 31_536_000)?,
            session_inactivity_timeout_secs: num(var("SESSION_INACTIVITY_TIMEOUT"), "SESSION_INACTIVITY_TIMEOUT", 0, 0, 31_536_000)?,
            mail_min_interval_secs: num(var("SMTP_MAX_FREQUENCY"), "SMTP_MAX_FREQUENCY", 60, 0, 86_400)?,
            password_change_ends_other_sessions: match var("PASSWORD_CHANGE_ENDS_OTHER_SESSIONS") {
                None => true,
                v => flag(v, "PASSWORD_CHANGE_ENDS_OTHER_SESSIONS")?,
            },
            login_request_exp_secs: num(var("LOGIN_REQUEST_EXP"), "LOGIN_REQUEST_EXP", 600, 60, 86_400)?,
            feathers_jwt_exp_secs: num(var("FEATHERS_JWT_EXP"), "FEATHERS_JWT_EXP", 86_400, 60, 2_592_000)?,
            feathers_jwt_audience: var("FEATHERS_JWT_AUDIENCE").unwrap_or_else(|| api_external_url.clone()),
            feathers_jwt_issuer: var("FEATHERS_JWT_ISSUER").unwrap_or_else(|| "feathers".into()),
            feathers_require_confirmation,
            graphql_jwt_exp_secs: num(var("GRAPHQL_JWT_EXP"), "GRAPHQL_JWT_EXP", 7200, 30, 2_592_000)?,
            graphql_refresh_exp_secs: num(var("GRAPHQL_JWT_REFRESH_EXP"), "GRAPHQL_JWT_REFRESH_EXP", 604_800, 60, 31_536_000)?,
            graphql_long_running_refresh: flag(
                var("GRAPHQL_JWT_LONG_RUNNING_REFRESH_TOKEN"),
                "GRAPHQL_JWT_LONG_RUNNING_REFRESH_TOKEN",
            )?,
            service_role_revoked_ids: list(var("SERVICE_ROLE_REVOKED_IDS")),
            service_role_require_id: flag(var("SERVICE_ROLE_REQUIRE_ID"), "SERVICE_ROLE_REQUIRE_ID")?,
            mfa: mfa::mfa(&var)?,
            providers: providers::providers(get)?,
        })
    }

    /// Whether this deployment serves `dialect`.
    pub fn serves(&self, dialect: Dialect) -> bool {
        self.dialects.contains(&dialect)
    }

    /// The JWT `iss`: GoTrue's is its `/auth/v1` URL.
    pub fn jwt_issuer(&self) -> String {
        format!("{}/auth/v1", self.api_external_url)
    }

    /// How long a mailed code of `purpose` lives: `OTP_EXP`, or [`INVITE_EXP_SECS`] for an
    /// invitation. The flows date codes by it and the mails state it, so it lives here, below both.
    pub fn code_lifetime_secs(&self, purpose: Purpose) -> i64 {
        match purpose {
            Purpose::Invite => INVITE_EXP_SECS,
            _ => self.otp_exp_secs,
        }
    }
}

/// `DIALECTS`: a comma-separated list of `gotrue`, `feathers`, `graphql`, `passwordless`.
fn dialects(v: Option<String>) -> Result<Vec<Dialect>, ConfigError> {
    let Some(v) = v else { return Ok(Dialect::ALL.to_vec()) };
    let invalid = |reason: String| ConfigError::Invalid { name: "DIALECTS", reason };
    let mut chosen = Vec::new();
    for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let d = Dialect::parse(&name.to_ascii_lowercase())
            .ok_or_else(|| invalid(format!("{name:?} is not one of gotrue, feathers, graphql, passwordless")))?;
        if !chosen.contains(&d) {
            chosen.push(d);
        }
    }
    if chosen.is_empty() {
        return Err(invalid("names no dialect; leave it unset to serve all".into()));
    }
    Ok(chosen)
}

/// A comma-separated list, each entry trimmed, empty ones left out.
fn list(v: Option<String>) -> Vec<String> {
    v.map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

pub(crate) fn url_var(v: Option<String>, name: &'static str) -> Result<String, ConfigError> {
    let v = v.ok_or(ConfigError::Missing(name))?;
    let ok = (v.starts_with("https://") || v.starts_with("http://"))
        && v.len() > "https://".len()
        && !v.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("{v:?} is not an http(s) URL"),
        });
    }
    Ok(v.trim_end_matches('/').to_string())
}

pub(crate) fn num<T>(v: Option<String>, name: &'static str, default: T, min: T, max: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(v) = v else { return Ok(default) };
    match v.parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(ConfigError::Invalid {
            name,
            reason: format!("{v:?} is not a number from {min} to {max}"),
        }),
    }
}

pub(crate) fn flag(v: Option<String>, name: &'static str) -> Result<bool, ConfigError> {
    match v.as_deref() {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(other) => Err(ConfigError::Invalid {
            name,
            reason: format!("{other:?} is not true or false"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    const BASE: [(&str, &str); 3] = [
        ("SITE_URL", "http://localhost:3000/"),
        ("API_EXTERNAL_URL", "http://127.0.0.1:8787"),
        ("JWT_SECRET", "a-test-secret-that-is-long-enough-32b"),
    ];

    #[test]
    fn defaults_are_the_secure_ones() {
        let c = parse(&BASE).unwrap();
        assert_eq!(c.site_url, "http://localhost:3000");
        assert_eq!(c.jwt_exp_secs, 3600);
        assert_eq!(c.otp_exp_secs, 600);
        assert_eq!(c.otp_max_attempts, 5);
        assert!(!c.mailer_autoconfirm);
        assert_eq!(c.password_params, PasswordParams::default());
        assert_eq!(c.jwt_issuer(), "http://127.0.0.1:8787/auth/v1");
    }

    #[test]
    fn every_dialect_is_served_unless_the_list_names_fewer() {
        let all = parse(&BASE).unwrap();
        assert_eq!(all.dialects.len(), 4);
        let mut v = BASE.to_vec();
        v.push(("DIALECTS", " GoTrue , passwordless,gotrue"));
        let some = parse(&v).unwrap();
        assert_eq!(some.dialects, vec![Dialect::Gotrue, Dialect::Passwordless]);
        assert!(!some.serves(Dialect::Feathers));
        let mut v = BASE.to_vec();
        v.extend([("DIALECTS", "feathers"), ("FEATHERS_REQUIRE_CONFIRMATION", "true")]);
        assert!(matches!(parse(&v), Err(ConfigError::Invalid { name: "DIALECTS", .. })), "links to an unserved /verify");
        for bad in ["gotrue,soap", ",", "feathers;graphql"] {
            let mut v = BASE.to_vec();
            v.push(("DIALECTS", bad));
            assert!(matches!(parse(&v), Err(ConfigError::Invalid { name: "DIALECTS", .. })), "{bad}");
        }
    }

    #[test]
    fn an_origin_is_scheme_host_and_port_in_lower_case_without_the_default_port() {
        assert_eq!(origin_of("HTTPS://App.Example.com:443/welcome?x#y").as_deref(), Some("https://app.example.com"));
        assert_eq!(origin_of("http://user:pw@127.0.0.1:8787/").as_deref(), Some("http://127.0.0.1:8787"));
        assert_eq!(origin_of("http://[::1]:80").as_deref(), Some("http://[::1]"));
        assert_eq!(origin_of("https://a.example:8443").as_deref(), Some("https://a.example:8443"));
        for not_web in ["myapp://callback", "ftp://a.example", "https://", "a.example"] {
            assert_eq!(origin_of(not_web), None, "{not_web}");
        }
        assert!(CorsOrigins::List(vec!["https://a.example".into()]).allows("https://A.example:443"));
        assert!(!CorsOrigins::List(vec!["https://a.example".into()]).allows("https://a.example/x"));
    }

    #[test]
    fn a_missing_secret_is_named() {
        let err = parse(&BASE[..2]).unwrap_err();
        assert_eq!(err, ConfigError::Missing("JWT_SECRET"));
        assert_eq!(err.to_string(), "configuration: JWT_SECRET is not set");
    }

    #[test]
    fn invalid_values_are_named_and_secrets_not_echoed() {
        let mut v = BASE.to_vec();
        v[2] = ("JWT_SECRET", "short");
        let err = parse(&v).unwrap_err().to_string();
        assert!(err.contains("JWT_SECRET") && !err.contains("short"), "{err}");
        let mut v = BASE.to_vec();
        v.push(("OTP_MAX_ATTEMPTS", "zero"));
        assert!(parse(&v).unwrap_err().to_string().contains("OTP_MAX_ATTEMPTS"));
        let mut v = BASE.to_vec();
        v[0] = ("SITE_URL", "ftp://x");
        assert!(matches!(parse(&v), Err(ConfigError::Invalid { name: "SITE_URL", .. })));
        let mut v = BASE.to_vec();
        v.push(("MAILER_AUTOCONFIRM", "yes please"));
        assert!(parse(&v).is_err());
    }
}
