//! WebAuthn ceremony options on the wire, for every dialect that runs one: the
//! `PublicKeyCredentialCreationOptions` and `PublicKeyCredentialRequestOptions` JSON that
//! `navigator.credentials.create` / `get` take once their binary members (base64url here) are
//! decoded, as go-webauthn renders them (GoTrue wraps them in its own `webauthn` member).
//!
//! Beyond go-webauthn's defaults: `attestation: "none"` and an explicit
//! `authenticatorSelection`; the timeout is the challenge's lifetime
//! (`MFA_CHALLENGE_EXPIRY_DURATION`); `allowCredentials` names the challenged factor's
//! credential only, with the transports its registration named.

use crate::config::Config;
use crate::flows::{Ceremony, Descriptor};
use crate::signature::b64url;
use crate::webauthn::COSE_ALGORITHMS;
use serde_json::{json, Value};

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

/// The `publicKey` options of `ceremony`.
pub(crate) fn public_key_options(config: &Config, ceremony: &Ceremony) -> Value {
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
            options
        }
        Ceremony::Request { challenge, allow } => {
            json!({
                "challenge": b64url(challenge),
                "timeout": timeout,
                "rpId": rp_id,
                "allowCredentials": descriptors(allow),
                "userVerification": "preferred",
            })
        }
    }
}
