//! Second-factor settings, named as GoTrue's without the `GOTRUE_` prefix (`MFA_*`), with its
//! defaults: TOTP enrollment and verification on, ten factors an account, challenges and
//! unfinished enrollments kept five minutes.

use super::{flag, num, ConfigError};

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
}

/// Reads the `MFA_*` settings.
pub(super) fn mfa(var: &impl Fn(&'static str) -> Option<String>) -> Result<Mfa, ConfigError> {
    let on_unless = |name: &'static str| match var(name) {
        None => Ok(true),
        v => flag(v, name),
    };
    Ok(Mfa {
        totp_enroll_enabled: on_unless("MFA_TOTP_ENROLL_ENABLED")?,
        totp_verify_enabled: on_unless("MFA_TOTP_VERIFY_ENABLED")?,
        max_enrolled_factors: num(var("MFA_MAX_ENROLLED_FACTORS"), "MFA_MAX_ENROLLED_FACTORS", 10, 1, 100)?,
        max_verified_factors: num(var("MFA_MAX_VERIFIED_FACTORS"), "MFA_MAX_VERIFIED_FACTORS", 10, 1, 100)?,
        challenge_expiry_secs: num(var("MFA_CHALLENGE_EXPIRY_DURATION"), "MFA_CHALLENGE_EXPIRY_DURATION", 300, 30, 3600)?,
        factor_expiry_secs: num(var("MFA_FACTOR_EXPIRY_DURATION"), "MFA_FACTOR_EXPIRY_DURATION", 300, 60, 86_400)?,
    })
}
