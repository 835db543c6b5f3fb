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
use crate::flows::{Ceremony, Descriptor};
use crate::signature::b64url;
use crate::webauthn::COSE_ALGORITHMS;
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

fn descriptors(list: &[Descriptor]) -> Vec<Value> {
    list.iter()
        .map(|d| {
            let mut v = json!({"type": "public-key", "id": b64url(&d.id)});
            if !d.transports.is_empty() {
                v["transports"] = json!(d.transports);
            }
            v
        })
        .collect()
}

/// The challenge's `webauthn` member for `ceremony`.
pub(super) fn credential_options(config: &Config, ceremony: &Ceremony) -> Value {
    let (rp_id, rp_name) = config.mfa.relying_party.as_ref().map_or(("", ""), |rp| (rp.id.as_str(), rp.name.as_str()));
    let timeout = config.mfa.challenge_expiry_secs.saturating_mul(1000);
    match ceremony {
        Ceremony::Create { challenge, user_handle, user_name, exclude } => {
            let mut options = json!({
                "rp": {"name": rp_name, "id": rp_id},
                "user": {"name": user_name, "displayName": user_name, "id": b64url(user_handle)},
                "challenge": b64url(challenge),
                "pubKeyCredParams": COSE_ALGORITHMS.iter().map(|alg| json!({"type": "public-key", "alg": alg})).collect::<Vec<_>>(),
                "timeout": timeout,
                "authenticatorSelection": {"requireResidentKey": false, "residentKey": "discouraged", "userVerification": "preferred"},
                "attestation": "none",
            });
            if !exclude.is_empty() {
                options["excludeCredentials"] = json!(descriptors(exclude));
            }
            json!({"type": "create", "credential_options": {"publicKey": options}})
        }
        Ceremony::Request { challenge, allow } => {
            let options = json!({
                "challenge": b64url(challenge),
                "timeout": timeout,
                "rpId": rp_id,
                "allowCredentials": descriptors(allow),
                "userVerification": "preferred",
            });
            json!({"type": "request", "credential_options": {"publicKey": options}})
        }
    }
}
