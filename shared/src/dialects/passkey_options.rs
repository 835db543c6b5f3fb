//! A passkey ceremony's options as the browser's WebAuthn API takes them, in JSON: the
//! `PublicKeyCredentialCreationOptionsJSON` of a registration and the
//! `PublicKeyCredentialRequestOptionsJSON` of a sign-in (binary members base64url, no
//! `publicKey` wrapper), as go-webauthn renders them. One rendering for every dialect that
//! offers passkeys (GoTrue's `/passkeys/*/options`, Feathers' `passkey-registrations` and
//! `passkey-challenges`), from the flows' [`PasskeyOptions`]; each dialect wraps it in its own
//! body. The rules (which challenge, which credentials to exclude) are the flows'.
//!
//! Registrations ask for a discoverable credential (`residentKey: "required"`) and sign-ins
//! name no credential (the discoverable flow: nothing to enumerate); both ask for
//! `userVerification: "required"`, since a passkey signs in at `aal2`.

use crate::flows::PasskeyOptions;
use crate::model::PasskeyCeremony;
use crate::signature::b64url;
use crate::webauthn::COSE_ALGORITHMS;
use crate::Config;
use serde_json::{json, Value};

/// The options of the ceremony `o` started: creation options for a registration (its
/// challenge names the account), request options for a sign-in.
pub fn public_key(config: &Config, o: &PasskeyOptions) -> Value {
    let (rp_id, rp_name) = config.mfa.relying_party.as_ref().map_or(("", ""), |rp| (rp.id.as_str(), rp.name.as_str()));
    let timeout = config.mfa.challenge_expiry_secs.saturating_mul(1000);
    let challenge = b64url(&o.challenge.challenge);
    let user = match (o.challenge.ceremony, &o.challenge.user_id) {
        (PasskeyCeremony::Registration, Some(user)) => user,
        _ => return json!({"challenge": challenge, "timeout": timeout, "rpId": rp_id, "userVerification": "required"}),
    };
    let mut options = json!({
        "rp": {"name": rp_name, "id": rp_id},
        "user": {"name": o.user_name, "displayName": o.user_name, "id": b64url(user.as_str().as_bytes())},
        "challenge": challenge,
        "pubKeyCredParams": COSE_ALGORITHMS.iter().map(|alg| json!({"type": "public-key", "alg": alg})).collect::<Vec<_>>(),
        "timeout": timeout,
        "authenticatorSelection": {"requireResidentKey": true, "residentKey": "required", "userVerification": "required"},
        "attestation": "none",
    });
    if !o.exclude.is_empty() {
        options["excludeCredentials"] = o.exclude.iter().map(|id| json!({"type": "public-key", "id": b64url(id)})).collect();
    }
    options
}
