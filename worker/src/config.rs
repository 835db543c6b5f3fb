//! `Env` (vars and secrets) to typed configuration, validated before any request is served.
//!
//! The domain settings are parsed by `portcullis_shared::Config`; this module adds what only
//! the edge adapter needs (SMTP, and how far request bodies are read) and refuses unsafe
//! combinations: mail (which carries codes, sign-in links and, with AUTH, credentials) never
//! goes in the clear to a non-local host. Errors name the variable and never echo a secret.

use portcullis_shared::secret::Secret;
use portcullis_shared::{Config, ConfigError};
use std::collections::HashMap;
use wasm_bindgen::JsCast;
use worker::Env;

#[cfg(test)]
#[path = "../plain_vars.rs"]
mod plain_vars;

/// The settings that must be secrets (`JWT_SECRET`, `JWT_KEYS`, `SMTP_PASS`,
/// `SECURITY_CAPTCHA_SECRET`, `EXTERNAL_<NAME>_SECRET`: `plain_vars::must_be_secret`) which the
/// `wrangler.toml` this worker was built with sets under `[vars]` (found by `build.rs`). In
/// workerd a var and a secret are both plain strings in `env`, so this is how the worker
/// knows; a var given another way (`wrangler deploy --var`, the dashboard) it cannot see.
pub const SECRETS_IN_VARS: &[&str] = include!(concat!(env!("OUT_DIR"), "/secrets_in_vars.rs"));

/// A setting that must be a secret, set as a plain var: the worker refuses to serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0} is set under [vars] in wrangler.toml, where Cloudflare stores and shows it in plain text: \
     remove it there and set it with `npx wrangler secret put {0}` (locally: in .dev.vars, \
     which is git-ignored); choose a new value, the old one has been exposed"
)]
pub struct SecretInVars(pub &'static str);

/// The first of `in_vars` (see [`SECRETS_IN_VARS`]), as the refusal to start.
pub fn secret_in_vars(in_vars: &[&'static str]) -> Option<SecretInVars> {
    in_vars.first().map(|name| SecretInVars(name))
}

/// The message of the 500 every request gets while the worker is misconfigured: what to do
/// when a secret is a plain var (it names no value), else a pointer to the log, which never
/// reaches a client because it may name other settings' values.
pub fn misconfigured_message(secret_in_vars: Option<&SecretInVars>) -> String {
    match secret_in_vars {
        Some(SecretInVars(name)) => format!(
            "Service is misconfigured: {name} must be a secret, not a [vars] entry of wrangler.toml; \
             set it with `npx wrangler secret put {name}` (locally: in .dev.vars)"
        ),
        None => "Service is misconfigured; the worker log says what to fix".into(),
    }
}

/// How to reach the mail submission server.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Host name or address.
    pub host: String,
    /// Port (1025 for the local mail catcher, 587 for submission).
    pub port: u16,
    /// Envelope and `From:` address.
    pub from: String,
    /// Display name in `From:`.
    pub sender_name: String,
    /// How the connection is encrypted.
    pub tls: SmtpTls,
    /// AUTH PLAIN credentials, if the server wants them.
    pub auth: Option<(String, Secret<String>)>,
}

/// How the SMTP connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text: only to a server on this machine (the local mail catcher).
    Off,
    /// Upgraded with STARTTLS before anything else (submission, port 587).
    StartTls,
    /// TLS from the first byte (SMTPS, port 465).
    Implicit,
}

/// How far the worker reads a request body (`DRAIN_REQUEST_BODIES`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BodyReading {
    /// At most [`crate::convert::READ_LIMIT`] bytes, then the worker answers and the rest is
    /// never read: what production runs.
    #[default]
    Bounded,
    /// To the end, dropping what is over the limits, before the worker answers. For `wrangler
    /// dev` only (`make dev` sets it): its proxy loses the answer to a request whose body the
    /// worker left unread, and answers 503 instead. Reading a large body costs CPU time.
    Whole,
}

/// Everything the worker is configured with.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The domain's settings.
    pub domain: Config,
    /// Mail delivery.
    pub smtp: SmtpConfig,
    /// How far request bodies are read.
    pub bodies: BodyReading,
}

/// Every var and secret in `env`, read in one pass: workerd gives both as plain strings (other
/// bindings, such as D1 and Durable Objects, are objects and are left out). Asking `env` for
/// each of the hundred-odd settings one by one, through `Env::secret` and `Env::var`, cost the
/// isolate's first request several milliseconds, most of it spent formatting "is undefined"
/// errors for the settings left unset.
fn strings(env: &Env) -> HashMap<String, String> {
    js_sys::Object::entries(env.unchecked_ref())
        .iter()
        .filter_map(|entry| {
            let pair: js_sys::Array = entry.unchecked_into();
            Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
        })
        .collect()
}

/// Parses the whole configuration from `env`.
pub fn load(env: &Env) -> Result<WorkerConfig, ConfigError> {
    let vars = strings(env);
    from_lookup(|name| vars.get(name).cloned())
}

/// Parses only the domain's settings from `env` (what the scheduled purge needs: it sends no
/// mail, so it runs whatever the SMTP settings).
pub fn domain(env: &Env) -> Result<Config, ConfigError> {
    let vars = strings(env);
    Config::from_lookup(|name| vars.get(name).cloned())
}

/// Parses the whole configuration from a name lookup (testable without an `Env`).
pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<WorkerConfig, ConfigError> {
    let domain = Config::from_lookup(&get)?;
    let var = |n: &str| get(n).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let host = var("SMTP_HOST").ok_or(ConfigError::Missing("SMTP_HOST"))?;
    let port = match var("SMTP_PORT") {
        None => 587,
        Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or(ConfigError::Invalid {
            name: "SMTP_PORT",
            reason: format!("{p:?} is not a port number"),
        })?,
    };
    let from = var("SMTP_FROM").ok_or(ConfigError::Missing("SMTP_FROM"))?;
    if !portcullis_shared::flows::is_valid_email(&from) && !from.ends_with("@localhost") {
        return Err(ConfigError::Invalid {
            name: "SMTP_FROM",
            reason: format!("{from:?} is not an email address"),
        });
    }
    let starttls = flag(var("SMTP_STARTTLS"), "SMTP_STARTTLS")?;
    let implicit = flag(var("SMTP_IMPLICIT_TLS"), "SMTP_IMPLICIT_TLS")?;
    let tls = match (starttls, implicit) {
        (false, false) => SmtpTls::Off,
        (true, false) => SmtpTls::StartTls,
        (false, true) => SmtpTls::Implicit,
        (true, true) => {
            return Err(ConfigError::Invalid {
                name: "SMTP_IMPLICIT_TLS",
                reason: "set either SMTP_STARTTLS or SMTP_IMPLICIT_TLS, not both".into(),
            })
        }
    };
    let auth = match (var("SMTP_USER"), get("SMTP_PASS")) {
        (Some(user), Some(pass)) => Some((user, Secret::new(pass))),
        (None, None) => None,
        (Some(_), None) => return Err(ConfigError::Missing("SMTP_PASS")),
        (None, Some(_)) => return Err(ConfigError::Missing("SMTP_USER")),
    };
    if tls == SmtpTls::Off && !is_loopback(&host) {
        return Err(ConfigError::Invalid {
            name: "SMTP_STARTTLS",
            reason: format!(
                "must be true (or SMTP_IMPLICIT_TLS) for the non-local host {host:?}: mail carries \
                 codes, sign-in links and credentials, and never goes in the clear"
            ),
        });
    }
    let bodies = match flag(var("DRAIN_REQUEST_BODIES"), "DRAIN_REQUEST_BODIES")? {
        false => BodyReading::Bounded,
        true => BodyReading::Whole,
    };
    Ok(WorkerConfig {
        domain,
        bodies,
        smtp: SmtpConfig {
            host,
            port,
            from,
            sender_name: var("SMTP_SENDER_NAME").unwrap_or_else(|| "Portcullis".into()),
            tls,
            auth,
        },
    })
}

/// Whether `host` is this machine: a loopback IP address (`127.0.0.0/8`, `::1`, bracketed or
/// not) or `localhost`. Parsed, never matched by prefix: `127.0.0.1.example.com` is a name
/// anyone can point anywhere.
fn is_loopback(host: &str) -> bool {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()) || host.eq_ignore_ascii_case("localhost")
}

fn flag(v: Option<String>, name: &'static str) -> Result<bool, ConfigError> {
    match v.as_deref() {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(o) => Err(ConfigError::Invalid { name, reason: format!("{o:?} is not true or false") }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(extra: &[(&str, &str)]) -> Result<WorkerConfig, ConfigError> {
        let mut m: HashMap<&str, &str> = HashMap::from([
            ("SITE_URL", "http://127.0.0.1:3000"),
            ("API_EXTERNAL_URL", "http://127.0.0.1:8787"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_PORT", "1025"),
            ("SMTP_FROM", "no-reply@example.com"),
        ]);
        m.extend(extra.iter().copied());
        from_lookup(|k| m.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn local_mail_catcher_settings_parse() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.smtp.port, 1025);
        assert!(c.smtp.tls == SmtpTls::Off && c.smtp.auth.is_none());
    }

    #[test]
    fn mail_never_goes_in_the_clear_to_a_remote_host_even_without_credentials() {
        let err = parse(&[("SMTP_HOST", "smtp.example.com")]).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { name: "SMTP_STARTTLS", .. }), "{err}");
        let starttls = parse(&[("SMTP_HOST", "smtp.example.com"), ("SMTP_STARTTLS", "true")]).unwrap();
        assert_eq!(starttls.smtp.tls, SmtpTls::StartTls);
        let implicit = parse(&[("SMTP_HOST", "smtp.example.com"), ("SMTP_PORT", "465"), ("SMTP_IMPLICIT_TLS", "true")]).unwrap();
        assert_eq!(implicit.smtp.tls, SmtpTls::Implicit);
        let both = parse(&[("SMTP_HOST", "smtp.example.com"), ("SMTP_STARTTLS", "true"), ("SMTP_IMPLICIT_TLS", "true")]);
        assert!(matches!(both, Err(ConfigError::Invalid { name: "SMTP_IMPLICIT_TLS", .. })));
        for local in ["127.0.0.1", "127.0.0.53", "localhost", "LOCALHOST", "::1", "[::1]"] {
            assert!(parse(&[("SMTP_HOST", local)]).is_ok(), "{local}");
        }
        for remote in ["127.0.0.1.example.com", "127.mail.example.com", "localhost.evil.com", "0.0.0.0", "::ffff:127.0.0.1"] {
            assert!(parse(&[("SMTP_HOST", remote)]).is_err(), "{remote} is not this machine");
        }
    }

    #[test]
    fn credentials_are_never_sent_in_the_clear_to_a_remote_host() {
        let err = parse(&[("SMTP_HOST", "smtp.example.com"), ("SMTP_USER", "u"), ("SMTP_PASS", "p")])
            .unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { name: "SMTP_STARTTLS", .. }));
        let ok = parse(&[
            ("SMTP_HOST", "smtp.example.com"),
            ("SMTP_USER", "u"),
            ("SMTP_PASS", "p"),
            ("SMTP_STARTTLS", "true"),
        ]);
        assert!(ok.is_ok());
    }

    #[test]
    fn bodies_are_read_to_the_end_only_when_asked() {
        assert_eq!(parse(&[]).unwrap().bodies, BodyReading::Bounded);
        assert_eq!(parse(&[("DRAIN_REQUEST_BODIES", "false")]).unwrap().bodies, BodyReading::Bounded);
        assert_eq!(parse(&[("DRAIN_REQUEST_BODIES", "true")]).unwrap().bodies, BodyReading::Whole);
        let bad = parse(&[("DRAIN_REQUEST_BODIES", "yes")]);
        assert!(matches!(bad, Err(ConfigError::Invalid { name: "DRAIN_REQUEST_BODIES", .. })));
    }

    #[test]
    fn a_secret_under_vars_in_wrangler_toml_is_found_in_every_environment() {
        let toml = r#"
            name = "portcullis"
            # JWT_SECRET = "in a comment is nowhere"
            [vars]
            SITE_URL = "https://example.com"
            JWT_SECRET = "oops"
            [env.staging]
            vars = { JWT_KEYS = "[]", SMTP_HOST = "smtp.example.com" }
            [env.production.vars]
            SMTP_PASS = "oops"
            SECURITY_CAPTCHA_SECRET = "oops"
            JWT_SECRET = "again"
            [[d1_databases]]
            binding = "SMTP_PASS"
        "#;
        assert_eq!(plain_vars::secrets_in_vars(toml).unwrap(), vec!["JWT_KEYS", "JWT_SECRET", "SECURITY_CAPTCHA_SECRET", "SMTP_PASS"]);
        assert_eq!(plain_vars::secrets_in_vars("vars.SMTP_PASS = \"x\"\n").unwrap(), vec!["SMTP_PASS"]);
        assert!(plain_vars::secrets_in_vars("[vars]\nSMTP_USER = \"u\"\n").unwrap().is_empty());
        assert!(plain_vars::secrets_in_vars("[vars\n").is_err());
    }

    #[test]
    fn an_identity_providers_client_secret_under_vars_is_found_too() {
        let toml = r#"
            [vars]
            EXTERNAL_GITHUB_ENABLED = "true"
            EXTERNAL_GITHUB_CLIENT_ID = "Iv1.abc"
            EXTERNAL_GITHUB_SECRET = "oops"
            [env.production.vars]
            EXTERNAL_ACME_SECRET = "oops"
            EXTERNAL_SECRET = "not a provider's"
            EXTERNAL__SECRET = "no name"
        "#;
        assert_eq!(plain_vars::secrets_in_vars(toml).unwrap(), vec!["EXTERNAL_ACME_SECRET", "EXTERNAL_GITHUB_SECRET"]);
    }

    #[test]
    fn the_shipped_wrangler_toml_sets_no_secret_as_a_var() {
        assert!(plain_vars::secrets_in_vars(include_str!("../../wrangler.toml")).unwrap().is_empty());
        assert!(SECRETS_IN_VARS.is_empty(), "this build's wrangler.toml: {SECRETS_IN_VARS:?}");
        assert_eq!(secret_in_vars(SECRETS_IN_VARS), None);
    }

    #[test]
    fn a_secret_set_as_a_var_refuses_every_request_naming_the_fix() {
        let refused = secret_in_vars(&["JWT_SECRET", "SMTP_PASS"]).unwrap();
        let logged = refused.to_string();
        assert!(logged.contains("JWT_SECRET") && logged.contains("[vars]"), "{logged}");
        assert!(logged.contains("npx wrangler secret put JWT_SECRET") && logged.contains(".dev.vars"), "{logged}");
        let answered = misconfigured_message(Some(&refused));
        assert!(answered.contains("npx wrangler secret put JWT_SECRET") && answered.contains(".dev.vars"), "{answered}");
        assert_eq!(misconfigured_message(None), "Service is misconfigured; the worker log says what to fix");
    }

    #[test]
    fn missing_and_bad_values_are_named() {
        assert_eq!(parse(&[("SMTP_USER", "u")]).unwrap_err(), ConfigError::Missing("SMTP_PASS"));
        assert!(matches!(parse(&[("SMTP_PORT", "99999")]), Err(ConfigError::Invalid { name: "SMTP_PORT", .. })));
        assert!(matches!(parse(&[("SMTP_FROM", "nope")]), Err(ConfigError::Invalid { name: "SMTP_FROM", .. })));
    }
}
