//! GoTrue's WebAuthn MFA on the wire: a challenge's `webauthn` member as supabase/auth renders
//! go-webauthn's options (`{type: "create"|"request", credential_options: {publicKey: {...}}}`,
//! binary members base64url, which auth-js's `deserializeCredentialCreationOptions` and
//! `deserializeCredentialRequestOptions` read), and the `webauthn` member of a verify.
//!
//! Beyond upstream's rendering: `attestation: "none"` and an explicit `authenticatorSelection`
//! (upstream sends `{}` and no attestation, so auth-js's defaults ask for `direct`, which
//! brings formats this service does not verify); the timeout is the challenge's lifetime
//! (`MFA_CHALLENGE_EXPIRY_DURATION`, go-webauthn's 300 000 ms by default); and
//! `allowCredentials` names the challenged factor's credential only, with the transports its
//! registration named (upstream's exclusions say `usb`, `nfc` for every credential).

use crate::config::Config;
use crate::dialects::webauthn_wire::factor_options;
use crate::flows::Ceremony;
use serde::Deserialize;
use serde_json::{json, Value};

/// The `webauthn` member of `POST /factors/{id}/verify`.
#[derive(Deserialize)]
pub(super) struct WebauthnBody {
    /// `create` or `request`.
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    /// The credential's JSON (auth-js sends the object `toJSON()` gives).
    pub(super) credential_response: Option<Value>,
}

/// The challenge's `webauthn` member for `ceremony`.
pub(super) fn credential_options(config: &Config, ceremony: &Ceremony) -> Value {
    let kind = match ceremony {
        Ceremony::Create { .. } => "create",
        Ceremony::Request { .. } => "request",
    };
    json!({"type": kind, "credential_options": {"publicKey": factor_options(config, ceremony)}})
}
