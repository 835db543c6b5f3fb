//! WebAuthn ceremony options on the wire, for every dialect that runs one: the
//! `PublicKeyCredentialCreationOptionsJSON` and `PublicKeyCredentialRequestOptionsJSON` that
//! `navigator.credentials.create` / `get` take once their binary members (base64url here) are
//! decoded, as go-webauthn renders them, with no `publicKey` wrapper (GoTrue wraps a factor's
//! in its own `webauthn` member; each dialect wraps them in its own body). The rules (which
//! challenge, which credentials to name) are the flows'.
//!
//! Two kinds of ceremony: a second factor's ([`factor_options`]: a security key, user
//! verification preferred, `allowCredentials` naming the challenged factor's credential with
//! the transports its registration named) and a passkey's ([`passkey_options`]: a discoverable
//! credential, user verification required since a passkey signs in at `aal2`, and a sign-in
//! that names no credential, so that nothing can be enumerated). Beyond go-webauthn's
//! defaults: `attestation: "none"`, an explicit `authenticatorSelection`, and the challenge's
//! lifetime (`MFA_CHALLENGE_EXPIRY_DURATION`) as the timeout.

use crate::config::Config;
use crate::flows::{Ceremony, Descriptor, PasskeyOptions};
use crate::model::PasskeyCeremony;
use crate::signature::b64url;
use crate::webauthn::COSE_ALGORITHMS;
use serde_json::{json, Value};

/// What a kind of ceremony asks of the authenticator.
struct Asks {
    /// A discoverable credential (`residentKey: "required"`), or not (`"discouraged"`).
    resident: bool,
    /// `userVerification`.
    verification: &'static str,
}

const FACTOR: Asks = Asks { resident: false, verification: "preferred" };
const PASSKEY: Asks = Asks { resident: true, verification: "required" };

fn descriptor(id: &[u8], transports: &[String]) -> Value {
    let mut v = json!({"type": "public-key", "id": b64url(id)});
    if !transports.is_empty() {
        v["transports"] = json!(transports);
    }
    v
}

fn timeout(config: &Config) -> i64 {
    config.mfa.challenge_expiry_secs.saturating_mul(1000)
}

fn rp_id(config: &Config) -> &str {
    config.mfa.relying_party.as_ref().map_or("", |rp| rp.id.as_str())
}

/// Creation options: register a credential for the account `user_handle` named `user_name`.
fn creation(config: &Config, asks: &Asks, challenge: &[u8], user_handle: &[u8], user_name: &str, exclude: Vec<Value>) -> Value {
    let rp_name = config.mfa.relying_party.as_ref().map_or("", |rp| rp.name.as_str());
    let resident = if asks.resident { "required" } else { "discouraged" };
    let mut options = json!({
        "rp": {"name": rp_name, "id": rp_id(config)},
        "user": {"name": user_name, "displayName": user_name, "id": b64url(user_handle)},
        "challenge": b64url(challenge),
        "pubKeyCredParams": COSE_ALGORITHMS.iter().map(|alg| json!({"type": "public-key", "alg": alg})).collect::<Vec<_>>(),
        "timeout": timeout(config),
        "authenticatorSelection": {"requireResidentKey": asks.resident, "residentKey": resident, "userVerification": asks.verification},
        "attestation": "none",
    });
    if !exclude.is_empty() {
        options["excludeCredentials"] = Value::Array(exclude);
    }
    options
}

/// Request options: sign `challenge`, with one of `allow` (`None`: any discoverable one).
fn request(config: &Config, asks: &Asks, challenge: &[u8], allow: Option<Vec<Value>>) -> Value {
    let mut options = json!({"challenge": b64url(challenge), "timeout": timeout(config), "rpId": rp_id(config), "userVerification": asks.verification});
    if let Some(allow) = allow {
        options["allowCredentials"] = Value::Array(allow);
    }
    options
}

/// The options of a second factor's `ceremony`.
pub(crate) fn factor_options(config: &Config, ceremony: &Ceremony) -> Value {
    let list = |d: &[Descriptor]| d.iter().map(|d| descriptor(&d.id, &d.transports)).collect();
    match ceremony {
        Ceremony::Create { challenge, user_handle, user_name, exclude } => creation(config, &FACTOR, challenge, user_handle, user_name, list(exclude)),
        Ceremony::Request { challenge, allow } => request(config, &FACTOR, challenge, Some(list(allow))),
    }
}

/// The options of the passkey ceremony `o` started: creation options for a registration (its
/// challenge names the account), request options naming no credential for a sign-in.
pub(crate) fn passkey_options(config: &Config, o: &PasskeyOptions) -> Value {
    let challenge = &o.challenge.challenge;
    match (o.challenge.ceremony, &o.challenge.user_id) {
        (PasskeyCeremony::Registration, Some(user)) => {
            let exclude = o.exclude.iter().map(|id| descriptor(id, &[])).collect();
            creation(config, &PASSKEY, challenge, user.as_str().as_bytes(), &o.user_name, exclude)
        }
        _ => request(config, &PASSKEY, challenge, None),
    }
}
