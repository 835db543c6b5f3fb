//! Second-factor settings, named as GoTrue's without the `GOTRUE_` prefix (`MFA_*`), with its
//! defaults: TOTP enrollment and verification on, WebAuthn's off, ten factors an account,
//! challenges and unfinished enrollments kept five minutes. The WebAuthn relying party
//! (`WEBAUTHN_RP_*`, as GoTrue's) is required, not guessed from `SITE_URL`, once either
//! WebAuthn switch is on: a ceremony bound to the wrong origin fails in every browser, and
//! an origin allowed by accident is one a phishing page could use. Passkey sign-in
//! (`PASSKEY_ENABLED`, GoTrue's `GOTRUE_PASSKEY_ENABLED`, off by default) uses the same relying
//! party and challenge lifetime, and needs the relying party too. Recovery codes
//! (`MFA_RECOVERY_CODES_ENROLL_ENABLED`, `MFA_RECOVERY_CODES_VERIFY_ENABLED`) are off by
//! default: auth-js calls them experimental.

use super::{flag, list, num, ConfigError};
use crate::model::FactorKind;

/// How second factors behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mfa {
    /// New TOTP factors may be enrolled (`MFA_TOTP_ENROLL_ENABLED`, default on).
    pub totp_enroll_enabled: bool,
    /// TOTP factors may be challenged and verified (`MFA_TOTP_VERIFY_ENABLED`, default on).
    pub totp_verify_enabled: bool,
    /// Most factors an account may have, verified or not (`MFA_MAX_ENROLLED_FACTORS`, 10).
    pub max_enrolled_factors: u32,
    /// Most verified factors an account may have (`MFA_MAX_VERIFIED_FACTORS`, 10).
    pub max_verified_factors: u32,
    /// Seconds a challenge can be answered (`MFA_CHALLENGE_EXPIRY_DURATION`, 300).
    pub challenge_expiry_secs: i64,
    /// Seconds an enrollment that was never challenged is kept (`MFA_FACTOR_EXPIRY_DURATION`,
    /// 300).
    pub factor_expiry_secs: i64,
    /// New WebAuthn factors may be enrolled (`MFA_WEB_AUTHN_ENROLL_ENABLED`, default off).
    pub webauthn_enroll_enabled: bool,
    /// WebAuthn factors may be challenged and verified (`MFA_WEB_AUTHN_VERIFY_ENABLED`,
    /// default off).
    pub webauthn_verify_enabled: bool,
    /// The WebAuthn relying party, if configured; always set when a WebAuthn switch is on.
    pub relying_party: Option<RelyingParty>,
    /// Passkey sign-in and the `/passkeys` API are on (`PASSKEY_ENABLED`, default off).
    pub passkey_enabled: bool,
    /// Most passkeys an account may have (`PASSKEY_MAX_PASSKEYS_PER_USER`, 10).
    pub max_passkeys_per_user: u32,
    /// Sets of recovery codes may be generated and regenerated
    /// (`MFA_RECOVERY_CODES_ENROLL_ENABLED`, default off).
    pub recovery_codes_enroll_enabled: bool,
    /// Recovery codes may be used (`MFA_RECOVERY_CODES_VERIFY_ENABLED`, default off).
    pub recovery_codes_verify_enabled: bool,
}

impl Mfa {
    /// Whether factors of `kind` may be enrolled.
    pub fn enroll_enabled(&self, kind: FactorKind) -> bool {
        match kind {
            FactorKind::Totp => self.totp_enroll_enabled,
            FactorKind::Webauthn => self.webauthn_enroll_enabled,
            FactorKind::RecoveryCode => self.recovery_codes_enroll_enabled,
        }
    }

    /// Whether factors of `kind` may be challenged and verified.
    pub fn verify_enabled(&self, kind: FactorKind) -> bool {
        match kind {
            FactorKind::Totp => self.totp_verify_enabled,
            FactorKind::Webauthn => self.webauthn_verify_enabled,
            FactorKind::RecoveryCode => self.recovery_codes_verify_enabled,
        }
    }
}

/// Where WebAuthn ceremonies run (GoTrue's `WEBAUTHN_RP_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// The relying party id, a domain (`WEBAUTHN_RP_ID`, `example.com`): credentials are
    /// scoped to it.
    pub id: String,
    /// The origins a ceremony may run in (`WEBAUTHN_RP_ORIGINS`, a comma list of
    /// `https://app.example.com`), each the id's host or a subdomain of it.
    pub origins: Vec<String>,
    /// The name an authenticator shows (`WEBAUTHN_RP_DISPLAY_NAME`, default `SITE_NAME`).
    pub name: String,
}

/// Reads `WEBAUTHN_RP_*`: `None` when neither id nor origins is set.
fn relying_party(var: &impl Fn(&'static str) -> Option<String>) -> Result<Option<RelyingParty>, ConfigError> {
    let invalid = |name, reason: String| ConfigError::Invalid { name, reason };
    let (id, origins) = (var("WEBAUTHN_RP_ID"), list(var("WEBAUTHN_RP_ORIGINS")));
    let id = match (id, origins.is_empty()) {
        (None, true) => return Ok(None),
        (None, false) => return Err(ConfigError::Missing("WEBAUTHN_RP_ID")),
        (Some(_), true) => return Err(ConfigError::Missing("WEBAUTHN_RP_ORIGINS")),
        (Some(id), false) => id,
    };
    let domain_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    if !id.chars().all(domain_char) || id.starts_with('.') || id.ends_with('.') || id.contains("..") {
        return Err(invalid("WEBAUTHN_RP_ID", format!("{id:?} is not a lowercase domain (no scheme, port or path)")));
    }
    // Browsers refuse a bare top-level domain (`com`) as a relying party; `localhost` is the
    // one name without a dot they take.
    if !id.contains('.') && id != "localhost" {
        return Err(invalid("WEBAUTHN_RP_ID", format!("{id:?} is a top-level name; give the site's domain (example.com)")));
    }
    for origin in &origins {
        let host = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
            .map(|rest| rest.split_once(':').map_or(rest, |(host, port)| if port.chars().all(|c| c.is_ascii_digit()) && !port.is_empty() { host } else { "" }))
            .unwrap_or_default();
        let within = host == id || host.strip_suffix(id.as_str()).is_some_and(|sub| sub.ends_with('.') && sub.len() > 1);
        // WebAuthn runs only in secure contexts: https, or plain http on localhost.
        let local = host == "localhost" || host.ends_with(".localhost");
        let secure = origin.starts_with("https://") || local;
        if host.is_empty() || !host.chars().all(domain_char) || !within || !secure {
            return Err(invalid(
                "WEBAUTHN_RP_ORIGINS",
                format!("{origin:?} is not an https origin (scheme, host, optional port; no path; http only on localhost) on {id:?} or a subdomain of it"),
            ));
        }
    }
    let name = var("WEBAUTHN_RP_DISPLAY_NAME").or_else(|| var("SITE_NAME")).unwrap_or_else(|| "Portcullis".into());
    Ok(Some(RelyingParty { id, origins, name }))
}

/// Reads the `MFA_*` settings.
pub(super) fn mfa(var: &impl Fn(&'static str) -> Option<String>) -> Result<Mfa, ConfigError> {
    let on_unless = |name: &'static str| match var(name) {
        None => Ok(true),
        v => flag(v, name),
    };
    let webauthn_enroll_enabled = flag(var("MFA_WEB_AUTHN_ENROLL_ENABLED"), "MFA_WEB_AUTHN_ENROLL_ENABLED")?;
    let webauthn_verify_enabled = flag(var("MFA_WEB_AUTHN_VERIFY_ENABLED"), "MFA_WEB_AUTHN_VERIFY_ENABLED")?;
    let relying_party = relying_party(var)?;
    if (webauthn_enroll_enabled || webauthn_verify_enabled) && relying_party.is_none() {
        return Err(ConfigError::Invalid {
            name: "WEBAUTHN_RP_ID",
            reason: "WebAuthn factors are on (MFA_WEB_AUTHN_*_ENABLED): set WEBAUTHN_RP_ID and WEBAUTHN_RP_ORIGINS".into(),
        });
    }
    let passkey_enabled = flag(var("PASSKEY_ENABLED"), "PASSKEY_ENABLED")?;
    if passkey_enabled && relying_party.is_none() {
        return Err(ConfigError::Invalid {
            name: "WEBAUTHN_RP_ID",
            reason: "passkeys are on (PASSKEY_ENABLED): set WEBAUTHN_RP_ID and WEBAUTHN_RP_ORIGINS".into(),
        });
    }
    Ok(Mfa {
        totp_enroll_enabled: on_unless("MFA_TOTP_ENROLL_ENABLED")?,
        totp_verify_enabled: on_unless("MFA_TOTP_VERIFY_ENABLED")?,
        max_enrolled_factors: num(var("MFA_MAX_ENROLLED_FACTORS"), "MFA_MAX_ENROLLED_FACTORS", 10, 1, 100)?,
        max_verified_factors: num(var("MFA_MAX_VERIFIED_FACTORS"), "MFA_MAX_VERIFIED_FACTORS", 10, 1, 100)?,
        challenge_expiry_secs: num(var("MFA_CHALLENGE_EXPIRY_DURATION"), "MFA_CHALLENGE_EXPIRY_DURATION", 300, 30, 3600)?,
        factor_expiry_secs: num(var("MFA_FACTOR_EXPIRY_DURATION"), "MFA_FACTOR_EXPIRY_DURATION", 300, 60, 86_400)?,
        webauthn_enroll_enabled,
        webauthn_verify_enabled,
        relying_party,
        passkey_enabled,
        max_passkeys_per_user: num(var("PASSKEY_MAX_PASSKEYS_PER_USER"), "PASSKEY_MAX_PASSKEYS_PER_USER", 10, 1, 100)?,
        recovery_codes_enroll_enabled: flag(var("MFA_RECOVERY_CODES_ENROLL_ENABLED"), "MFA_RECOVERY_CODES_ENROLL_ENABLED")?,
        recovery_codes_verify_enabled: flag(var("MFA_RECOVERY_CODES_VERIFY_ENABLED"), "MFA_RECOVERY_CODES_VERIFY_ENABLED")?,
    })
}
