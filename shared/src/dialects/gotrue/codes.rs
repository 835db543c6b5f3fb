//! Upstream's error codes (supabase/auth `internal/api/apierrors/errorcode.go`), the ones
//! Portcullis answers with: the `error_code` of GoTrue's errors (`errors`).

/// `anonymous_provider_disabled`
pub const ANONYMOUS_PROVIDER_DISABLED: &str = "anonymous_provider_disabled";
/// `bad_oauth_callback`
pub const BAD_OAUTH_CALLBACK: &str = "bad_oauth_callback";
/// `bad_oauth_state`
pub const BAD_OAUTH_STATE: &str = "bad_oauth_state";
/// `bad_code_verifier`
pub const BAD_CODE_VERIFIER: &str = "bad_code_verifier";
/// `bad_json`
pub const BAD_JSON: &str = "bad_json";
/// `bad_jwt`
pub const BAD_JWT: &str = "bad_jwt";
/// `captcha_failed`
pub const CAPTCHA_FAILED: &str = "captcha_failed";
/// `email_exists`
pub const EMAIL_EXISTS: &str = "email_exists";
/// `email_not_confirmed`
pub const EMAIL_NOT_CONFIRMED: &str = "email_not_confirmed";
/// `flow_state_expired`
pub const FLOW_STATE_EXPIRED: &str = "flow_state_expired";
/// `flow_state_not_found`
pub const FLOW_STATE_NOT_FOUND: &str = "flow_state_not_found";
/// `invalid_credentials`
pub const INVALID_CREDENTIALS: &str = "invalid_credentials";
/// `manual_linking_disabled`
pub const MANUAL_LINKING_DISABLED: &str = "manual_linking_disabled";
/// `mfa_factor_not_found`
pub const MFA_FACTOR_NOT_FOUND: &str = "mfa_factor_not_found";
/// `mfa_phone_enroll_not_enabled`
pub const MFA_PHONE_ENROLL_NOT_ENABLED: &str = "mfa_phone_enroll_not_enabled";
/// `mfa_totp_enroll_not_enabled`
pub const MFA_TOTP_ENROLL_NOT_ENABLED: &str = "mfa_totp_enroll_not_enabled";
/// `mfa_webauthn_enroll_not_enabled`
pub const MFA_WEBAUTHN_ENROLL_NOT_ENABLED: &str = "mfa_webauthn_enroll_not_enabled";
/// `mfa_webauthn_verify_not_enabled`
pub const MFA_WEBAUTHN_VERIFY_NOT_ENABLED: &str = "mfa_webauthn_verify_not_enabled";
/// `mfa_recovery_codes_enroll_not_enabled`
pub const MFA_RECOVERY_CODES_ENROLL_NOT_ENABLED: &str = "mfa_recovery_codes_enroll_not_enabled";
/// `mfa_recovery_codes_verify_not_enabled`
pub const MFA_RECOVERY_CODES_VERIFY_NOT_ENABLED: &str = "mfa_recovery_codes_verify_not_enabled";
/// `mfa_recovery_codes_locked`
pub const MFA_RECOVERY_CODES_LOCKED: &str = "mfa_recovery_codes_locked";
/// `mfa_recovery_codes_sole_factor`
pub const MFA_RECOVERY_CODES_SOLE_FACTOR: &str = "mfa_recovery_codes_sole_factor";
/// `mfa_verified_factor_exists`
pub const MFA_VERIFIED_FACTOR_EXISTS: &str = "mfa_verified_factor_exists";
/// `webauthn_credential_exists`
pub const WEBAUTHN_CREDENTIAL_EXISTS: &str = "webauthn_credential_exists";
/// `not_admin`
pub const NOT_ADMIN: &str = "not_admin";
/// `not_found`
pub const NOT_FOUND: &str = "not_found";
/// `no_authorization`
pub const NO_AUTHORIZATION: &str = "no_authorization";
/// `otp_expired`
pub const OTP_EXPIRED: &str = "otp_expired";
/// `over_email_send_rate_limit`
pub const OVER_EMAIL_SEND_RATE_LIMIT: &str = "over_email_send_rate_limit";
/// `over_request_rate_limit`
pub const OVER_REQUEST_RATE_LIMIT: &str = "over_request_rate_limit";
/// `passkey_disabled`
pub const PASSKEY_DISABLED: &str = "passkey_disabled";
/// `too_many_passkeys`
pub const TOO_MANY_PASSKEYS: &str = "too_many_passkeys";
/// `webauthn_challenge_not_found`
pub const WEBAUTHN_CHALLENGE_NOT_FOUND: &str = "webauthn_challenge_not_found";
/// `webauthn_challenge_expired`
pub const WEBAUTHN_CHALLENGE_EXPIRED: &str = "webauthn_challenge_expired";
/// `webauthn_verification_failed`
pub const WEBAUTHN_VERIFICATION_FAILED: &str = "webauthn_verification_failed";
/// `phone_provider_disabled`
pub const PHONE_PROVIDER_DISABLED: &str = "phone_provider_disabled";
/// `provider_disabled`
pub const PROVIDER_DISABLED: &str = "provider_disabled";
/// `reauthentication_needed`
pub const REAUTHENTICATION_NEEDED: &str = "reauthentication_needed";
/// `reauthentication_not_valid`
pub const REAUTHENTICATION_NOT_VALID: &str = "reauthentication_not_valid";
/// `refresh_token_already_used`
pub const REFRESH_TOKEN_ALREADY_USED: &str = "refresh_token_already_used";
/// `refresh_token_not_found`
pub const REFRESH_TOKEN_NOT_FOUND: &str = "refresh_token_not_found";
/// `request_too_large`
pub const REQUEST_TOO_LARGE: &str = "request_too_large";
/// `saml_provider_disabled`
pub const SAML_PROVIDER_DISABLED: &str = "saml_provider_disabled";
/// `session_expired`
pub const SESSION_EXPIRED: &str = "session_expired";
/// `session_not_found`
pub const SESSION_NOT_FOUND: &str = "session_not_found";
/// `signup_disabled`
pub const SIGNUP_DISABLED: &str = "signup_disabled";
/// `unexpected_failure`
pub const UNEXPECTED_FAILURE: &str = "unexpected_failure";
/// `user_already_exists`
pub const USER_ALREADY_EXISTS: &str = "user_already_exists";
/// `user_banned`
pub const USER_BANNED: &str = "user_banned";
/// `user_not_found`
pub const USER_NOT_FOUND: &str = "user_not_found";
/// `validation_failed`
pub const VALIDATION_FAILED: &str = "validation_failed";
/// `weak_password`
pub const WEAK_PASSWORD: &str = "weak_password";
/// `web3_provider_disabled`
pub const WEB3_PROVIDER_DISABLED: &str = "web3_provider_disabled";
/// `insufficient_aal`
pub const INSUFFICIENT_AAL: &str = "insufficient_aal";
/// `mfa_challenge_expired`
pub const MFA_CHALLENGE_EXPIRED: &str = "mfa_challenge_expired";
/// `mfa_factor_name_conflict`
pub const MFA_FACTOR_NAME_CONFLICT: &str = "mfa_factor_name_conflict";
/// `mfa_ip_address_mismatch`
pub const MFA_IP_ADDRESS_MISMATCH: &str = "mfa_ip_address_mismatch";
/// `mfa_totp_verify_not_enabled`
pub const MFA_TOTP_VERIFY_NOT_ENABLED: &str = "mfa_totp_verify_not_enabled";
/// `mfa_verification_failed`
pub const MFA_VERIFICATION_FAILED: &str = "mfa_verification_failed";
/// `too_many_enrolled_mfa_factors`
pub const TOO_MANY_ENROLLED_MFA_FACTORS: &str = "too_many_enrolled_mfa_factors";
/// `identity_already_exists`
pub const IDENTITY_ALREADY_EXISTS: &str = "identity_already_exists";
/// `identity_not_found`
pub const IDENTITY_NOT_FOUND: &str = "identity_not_found";
/// `single_identity_not_deletable`
pub const SINGLE_IDENTITY_NOT_DELETABLE: &str = "single_identity_not_deletable";
