//! Identity providers (upstream's `EXTERNAL_*` settings, without `GOTRUE_`): which OpenID
//! Connect and OAuth 2 providers accounts may sign in through, with which client and where.
//!
//! Presets: `google`, `apple`, `azure`, `gitlab`, `keycloak` (OpenID Connect, found by their
//! issuer's discovery document) and `github` (OAuth 2 with its REST API). Any other OpenID
//! Connect provider is named in `EXTERNAL_OIDC_PROVIDERS` and configured the same way, its
//! `EXTERNAL_<NAME>_URL` being its issuer. Each provider: `EXTERNAL_<NAME>_ENABLED`,
//! `_CLIENT_ID` (a comma list: the first is used for redirects, all are accepted as an
//! `id_token`'s audience), `_SECRET` (a secret), `_REDIRECT_URI`, `_URL`, `_SKIP_NONCE_CHECK`,
//! `_EMAIL_OPTIONAL`. What signing in through one does is the flows' (`flows/external`).

use super::{flag, list, num, ConfigError};
use crate::secret::Secret;

/// How a provider says who signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenID Connect: the issuer's discovery document, keys and `id_token`s.
    Oidc {
        /// The issuer (`iss`), without a trailing `/`; its discovery document is at
        /// `<issuer>/.well-known/openid-configuration`.
        issuer: String,
        /// Microsoft's multi-tenant endpoint: tokens name their own tenant's issuer
        /// (`https://login.microsoftonline.com/<tenant>/v2.0`), any tenant.
        any_azure_tenant: bool,
    },
    /// GitHub (or GitHub Enterprise): OAuth 2, then `/user` and `/user/emails`.
    Github {
        /// Where users authorize (`https://github.com`, or the Enterprise host).
        web: String,
        /// The REST API (`https://api.github.com`, or `<host>/api/v3`).
        api: String,
    },
}

/// One configured provider.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Its name in requests (`provider=`), lower case.
    pub name: String,
    /// How it is spoken to.
    pub kind: ProviderKind,
    /// The client ids: the first for redirects; any is an acceptable `id_token` audience.
    pub client_ids: Vec<String>,
    /// The client secret, if set (the redirect flow needs it; `id_token` sign-in does not).
    pub secret: Option<Secret<String>>,
    /// Where the provider sends users back (`<API_EXTERNAL_URL>/callback`), if set.
    pub redirect_uri: Option<String>,
    /// The scopes always asked for.
    pub scopes: Vec<String>,
    /// Whether an `id_token` sign-in skips the nonce rule (upstream's `SKIP_NONCE_CHECK`).
    pub skip_nonce_check: bool,
    /// Whether an identity without any address may sign in (`EMAIL_OPTIONAL`).
    pub email_optional: bool,
}

impl Provider {
    /// The issuer, for an OpenID Connect provider.
    pub fn issuer(&self) -> Option<&str> {
        match &self.kind {
            ProviderKind::Oidc { issuer, .. } => Some(issuer),
            ProviderKind::Github { .. } => None,
        }
    }
}

/// The providers and the settings they share.
#[derive(Debug, Clone, Default)]
pub struct Providers {
    /// The enabled ones.
    pub enabled: Vec<Provider>,
    /// How long a provider's discovery document and keys are kept
    /// (`EXTERNAL_OIDC_PROVIDER_CACHE_TTL`, seconds; upstream's 1 h).
    pub cache_ttl_secs: i64,
    /// How long the flow a redirect started lives (`EXTERNAL_FLOW_STATE_EXPIRY_DURATION`,
    /// seconds; at least upstream's 300).
    pub flow_state_expiry_secs: i64,
    /// Whether signed-in users may link and unlink identities themselves
    /// (`SECURITY_MANUAL_LINKING_ENABLED`).
    pub manual_linking: bool,
}

impl Providers {
    /// The enabled provider `name` (case does not matter; a generic one may also be named
    /// `custom:<name>`, as upstream names its custom providers).
    pub fn get(&self, name: &str) -> Option<&Provider> {
        let name = name.to_ascii_lowercase();
        let name = name.strip_prefix("custom:").unwrap_or(&name);
        self.enabled.iter().find(|p| p.name == name)
    }
}

/// The presets: name, default issuer or host, default scopes.
const PRESETS: &[(&str, &str, &str)] = &[
    ("google", "https://accounts.google.com", "openid email profile"),
    ("apple", "https://appleid.apple.com", "openid email name"),
    ("azure", "https://login.microsoftonline.com/common/v2.0", "openid email profile"),
    ("gitlab", "https://gitlab.com", "openid email profile"),
    ("keycloak", "", "openid email profile"),
    ("github", "https://github.com", "user:email"),
];

/// The longest provider name (`EXTERNAL_OIDC_PROVIDERS`).
const MAX_NAME: usize = 40;

/// `EXTERNAL_*`.
pub(super) fn providers(get: &dyn Fn(&str) -> Option<String>) -> Result<Providers, ConfigError> {
    let var = |name: &str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let mut names: Vec<String> = PRESETS.iter().map(|(n, ..)| n.to_string()).collect();
    for extra in list(var("EXTERNAL_OIDC_PROVIDERS")) {
        let name = extra.to_ascii_lowercase();
        let plain = !name.is_empty()
            && name.len() <= MAX_NAME
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !names.contains(&name)
            && !matches!(name.as_str(), "email" | "phone" | "anonymous_users");
        if !plain {
            return Err(ConfigError::Invalid {
                name: "EXTERNAL_OIDC_PROVIDERS",
                reason: format!("{extra:?} is not a new provider name (letters, digits and _, at most {MAX_NAME})"),
            });
        }
        names.push(name);
    }
    let mut enabled = Vec::new();
    for name in names {
        let setting = |what: &str| format!("EXTERNAL_{}_{what}", name.to_ascii_uppercase());
        let invalid = |what: &str, reason: String| ConfigError::Setting { name: setting(what), reason };
        match var(&setting("ENABLED")).as_deref() {
            None | Some("false") | Some("0") => continue,
            Some("true") | Some("1") => {}
            Some(other) => return Err(invalid("ENABLED", format!("{other:?} is not true or false"))),
        }
        let on = |what: &str| match var(&setting(what)).as_deref() {
            None | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(other) => Err(invalid(what, format!("{other:?} is not true or false"))),
        };
        let client_ids = list(var(&setting("CLIENT_ID")));
        if client_ids.is_empty() {
            return Err(ConfigError::MissingSetting(setting("CLIENT_ID")));
        }
        let url = var(&setting("URL")).map(|u| base_url(&u).map_err(|why| invalid("URL", why))).transpose()?;
        let redirect_uri = var(&setting("REDIRECT_URI")).map(|u| base_url(&u).map_err(|why| invalid("REDIRECT_URI", why))).transpose()?;
        let preset = PRESETS.iter().find(|(n, ..)| *n == name);
        let kind = match (name.as_str(), url) {
            ("github", url) => {
                let web = url.unwrap_or_else(|| "https://github.com".into());
                let api = match web.as_str() {
                    "https://github.com" => "https://api.github.com".to_string(),
                    enterprise => format!("{enterprise}/api/v3"),
                };
                ProviderKind::Github { web, api }
            }
            ("azure", None) => ProviderKind::Oidc { issuer: preset.map(|p| p.1.to_string()).unwrap_or_default(), any_azure_tenant: true },
            ("azure", Some(tenant)) => {
                let issuer = if tenant.ends_with("/v2.0") { tenant } else { format!("{tenant}/v2.0") };
                ProviderKind::Oidc { issuer, any_azure_tenant: false }
            }
            (_, Some(issuer)) => ProviderKind::Oidc { issuer, any_azure_tenant: false },
            (_, None) => match preset.map(|p| p.1).filter(|i| !i.is_empty()) {
                Some(issuer) => ProviderKind::Oidc { issuer: issuer.into(), any_azure_tenant: false },
                None => return Err(ConfigError::MissingSetting(setting("URL"))),
            },
        };
        let scopes = preset.map_or("openid email profile", |p| p.2).split(' ').map(String::from).collect();
        enabled.push(Provider {
            kind,
            client_ids,
            secret: get(&setting("SECRET")).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).map(Secret::new),
            redirect_uri,
            scopes,
            skip_nonce_check: on("SKIP_NONCE_CHECK")?,
            email_optional: on("EMAIL_OPTIONAL")?,
            name,
        });
    }
    Ok(Providers {
        enabled,
        cache_ttl_secs: num(var("EXTERNAL_OIDC_PROVIDER_CACHE_TTL"), "EXTERNAL_OIDC_PROVIDER_CACHE_TTL", 3600, 0, 86_400)?,
        flow_state_expiry_secs: num(var("EXTERNAL_FLOW_STATE_EXPIRY_DURATION"), "EXTERNAL_FLOW_STATE_EXPIRY_DURATION", 300, 1, 3600)?.max(300),
        manual_linking: flag(var("SECURITY_MANUAL_LINKING_ENABLED"), "SECURITY_MANUAL_LINKING_ENABLED")?,
    })
}

/// An https URL without a trailing `/` (or plain http to this machine, for development and
/// tests: a provider's keys fetched in the clear could be swapped by anyone on the path).
fn base_url(v: &str) -> Result<String, String> {
    let rest = v.strip_prefix("https://").or_else(|| v.strip_prefix("http://")).ok_or_else(|| format!("{v:?} is not an http(s) URL"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let bare = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    if bare.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) || v.contains(['?', '#']) {
        return Err(format!("{v:?} is not an http(s) URL without query or fragment"));
    }
    let local = bare == "localhost" || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if v.starts_with("http://") && !local {
        return Err(format!("{v:?} must be https (plain http only to localhost or a loopback address)"));
    }
    Ok(v.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    fn parse(vars: &[(&str, &str)]) -> Result<Providers, ConfigError> {
        let m: HashMap<&str, &str> = vars.iter().copied().collect();
        providers(&|k| m.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn presets_need_only_switching_on_and_a_client() {
        let p = parse(&[("EXTERNAL_GOOGLE_ENABLED", "true"), ("EXTERNAL_GOOGLE_CLIENT_ID", "a, b"), ("EXTERNAL_GITHUB_ENABLED", "true"), ("EXTERNAL_GITHUB_CLIENT_ID", "gh")]).unwrap();
        let google = p.get("Google").unwrap();
        assert_eq!(google.issuer(), Some("https://accounts.google.com"));
        assert_eq!(google.client_ids, ["a", "b"]);
        assert_eq!(p.get("github").unwrap().kind, ProviderKind::Github { web: "https://github.com".into(), api: "https://api.github.com".into() });
        assert!(p.get("apple").is_none(), "off unless enabled");
        assert_eq!((p.cache_ttl_secs, p.flow_state_expiry_secs, p.manual_linking), (3600, 300, false));
    }

    #[test]
    fn self_hosted_and_generic_issuers_come_from_their_url() {
        let p = parse(&[
            ("EXTERNAL_OIDC_PROVIDERS", "Acme"),
            ("EXTERNAL_ACME_ENABLED", "1"),
            ("EXTERNAL_ACME_CLIENT_ID", "portcullis"),
            ("EXTERNAL_ACME_URL", "http://127.0.0.1:9000/"),
            ("EXTERNAL_GITHUB_ENABLED", "true"),
            ("EXTERNAL_GITHUB_CLIENT_ID", "gh"),
            ("EXTERNAL_GITHUB_URL", "https://git.example.com"),
        ])
        .unwrap();
        assert_eq!(p.get("custom:acme").unwrap().issuer(), Some("http://127.0.0.1:9000"));
        assert_eq!(p.get("github").unwrap().kind, ProviderKind::Github { web: "https://git.example.com".into(), api: "https://git.example.com/api/v3".into() });
        let keycloak = parse(&[("EXTERNAL_KEYCLOAK_ENABLED", "true"), ("EXTERNAL_KEYCLOAK_CLIENT_ID", "k")]);
        assert_eq!(keycloak.unwrap_err(), ConfigError::MissingSetting("EXTERNAL_KEYCLOAK_URL".into()));
    }

    #[test]
    fn keys_are_never_fetched_in_the_clear_from_afar() {
        for bad in ["http://idp.example.com", "ftp://idp.example.com", "https://idp.example.com?x=1", "http://127.0.0.1.evil.com"] {
            let err = parse(&[("EXTERNAL_OIDC_PROVIDERS", "acme"), ("EXTERNAL_ACME_ENABLED", "true"), ("EXTERNAL_ACME_CLIENT_ID", "c"), ("EXTERNAL_ACME_URL", bad)]);
            assert!(matches!(err, Err(ConfigError::Setting { ref name, .. }) if name == "EXTERNAL_ACME_URL"), "{bad}: {err:?}");
        }
        for ok in ["http://localhost:8080/realms/x", "http://[::1]:9000", "https://idp.example.com/tenant"] {
            assert!(base_url(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn bad_names_and_missing_clients_are_named() {
        for bad in ["google", "a-b", "email", ""] {
            let err = parse(&[("EXTERNAL_OIDC_PROVIDERS", &format!("{bad},x"))]);
            if bad.is_empty() {
                continue;
            }
            assert!(matches!(err, Err(ConfigError::Invalid { name: "EXTERNAL_OIDC_PROVIDERS", .. })), "{bad}: {err:?}");
        }
        assert_eq!(parse(&[("EXTERNAL_APPLE_ENABLED", "true")]).unwrap_err(), ConfigError::MissingSetting("EXTERNAL_APPLE_CLIENT_ID".into()));
        assert!(matches!(parse(&[("EXTERNAL_APPLE_ENABLED", "yes")]), Err(ConfigError::Setting { .. })));
    }
}
