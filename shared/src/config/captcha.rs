//! Upstream's `SECURITY_CAPTCHA_*` settings: which provider verifies CAPTCHA responses, with
//! which secret, where and how long to wait. The verification itself is a flow
//! (`flows/captcha.rs`).

use super::{flag, num, url_var, ConfigError};
use crate::secret::Secret;

/// Upstream's CAPTCHA providers, by `SECURITY_CAPTCHA_PROVIDER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptchaProvider {
    /// hCaptcha (upstream's default).
    Hcaptcha,
    /// Cloudflare Turnstile.
    Turnstile,
}

/// How CAPTCHA responses are verified, server side.
#[derive(Debug, Clone)]
pub struct Captcha {
    /// Which provider.
    pub provider: CaptchaProvider,
    /// The provider's secret key (`SECURITY_CAPTCHA_SECRET`, a secret).
    pub secret: Secret<String>,
    /// Where responses are verified: the provider's `siteverify` unless
    /// `SECURITY_CAPTCHA_VERIFY_URL` says otherwise (a self-hosted or test endpoint).
    pub verify_url: String,
    /// How long to wait for the provider (`SECURITY_CAPTCHA_TIMEOUT`, seconds; upstream 10).
    pub timeout_secs: u32,
}

/// `SECURITY_CAPTCHA_*`, upstream's settings (without `GOTRUE_`).
pub(super) fn captcha(var: &impl Fn(&'static str) -> Option<String>, secret: Option<String>) -> Result<Option<Captcha>, ConfigError> {
    if !flag(var("SECURITY_CAPTCHA_ENABLED"), "SECURITY_CAPTCHA_ENABLED")? {
        return Ok(None);
    }
    let provider = match var("SECURITY_CAPTCHA_PROVIDER").as_deref() {
        None | Some("hcaptcha") => CaptchaProvider::Hcaptcha,
        Some("turnstile") => CaptchaProvider::Turnstile,
        Some(other) => {
            return Err(ConfigError::Invalid {
                name: "SECURITY_CAPTCHA_PROVIDER",
                reason: format!("{other:?}: use \"hcaptcha\" or \"turnstile\""),
            })
        }
    };
    let secret = secret.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).ok_or(ConfigError::Missing("SECURITY_CAPTCHA_SECRET"))?;
    let verify_url = match var("SECURITY_CAPTCHA_VERIFY_URL") {
        Some(url) => url_var(Some(url), "SECURITY_CAPTCHA_VERIFY_URL")?,
        None => match provider {
            CaptchaProvider::Hcaptcha => "https://hcaptcha.com/siteverify".into(),
            CaptchaProvider::Turnstile => "https://challenges.cloudflare.com/turnstile/v0/siteverify".into(),
        },
    };
    Ok(Some(Captcha {
        provider,
        secret: Secret::new(secret),
        verify_url,
        timeout_secs: num(var("SECURITY_CAPTCHA_TIMEOUT"), "SECURITY_CAPTCHA_TIMEOUT", 10, 1, 60)?,
    }))
}
