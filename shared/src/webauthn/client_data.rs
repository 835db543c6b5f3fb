//! The client data (`CollectedClientData`, WebAuthn section 5.8.1), which the browser writes and
//! the authenticator signs the hash of: its ceremony type, the challenge, the origin, and
//! whether it ran in a cross-origin frame. Other members (`tokenBinding`, extensions, anything
//! a later level adds) are read past.

use super::{Expected, WebauthnError};
use crate::signature::b64url;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The ceremony type of a registration's client data.
pub(super) const CREATE: &str = "webauthn.create";
/// The ceremony type of an authentication's client data.
pub(super) const GET: &str = "webauthn.get";

/// Longest origin a refusal repeats.
const MAX_ORIGIN_SHOWN: usize = 200;

#[derive(Deserialize)]
struct ClientData {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: Option<bool>,
    #[serde(rename = "topOrigin", default)]
    top_origin: Option<String>,
}

/// Checks the client data (section 7.1 steps 5 to 12, 7.2 steps 8 to 14): JSON, of ceremony
/// `kind`, with the expected challenge (compared in constant time, as base64url), one of the
/// allowed origins exactly, and not from a cross-origin frame. Answers its SHA-256, which the
/// authenticator signed.
pub(super) fn check(json: &[u8], kind: &str, expected: &Expected<'_>) -> Result<[u8; 32], WebauthnError> {
    let data: ClientData = serde_json::from_slice(json).map_err(|_| WebauthnError::Malformed("clientDataJSON is not the client data's JSON"))?;
    if data.kind != kind {
        return Err(WebauthnError::WrongType);
    }
    // An empty expected challenge is a caller's bug (a challenge not found), never a match.
    if expected.challenge.is_empty() || !bool::from(b64url(expected.challenge).as_bytes().ct_eq(data.challenge.as_bytes())) {
        return Err(WebauthnError::ChallengeMismatch);
    }
    if !expected.origins.contains(&data.origin) {
        return Err(WebauthnError::OriginNotAllowed(data.origin.chars().take(MAX_ORIGIN_SHOWN).collect()));
    }
    if data.cross_origin == Some(true) || data.top_origin.is_some() {
        return Err(WebauthnError::CrossOrigin);
    }
    Ok(Sha256::digest(json).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINS: [&str; 2] = ["https://app.example.com", "https://example.com"];

    fn check_json(json: &str) -> Result<[u8; 32], WebauthnError> {
        let origins: Vec<String> = ORIGINS.iter().map(|o| o.to_string()).collect();
        let expected = Expected { challenge: b"challenge!", origins: &origins, rp_id: "example.com", user_verification: false };
        check(json.as_bytes(), CREATE, &expected)
    }

    fn client_data(kind: &str, challenge: &str, origin: &str, tail: &str) -> String {
        format!(r#"{{"type":"{kind}","challenge":"{challenge}","origin":"{origin}"{tail}}}"#)
    }

    #[test]
    fn the_expected_client_data_answers_its_hash() {
        let json = client_data(CREATE, &b64url(b"challenge!"), "https://example.com", r#","crossOrigin":false,"other_keys_can_be_added_here":"x""#);
        assert_eq!(check_json(&json), Ok(Sha256::digest(json.as_bytes()).into()));
    }

    #[test]
    fn every_member_is_checked() {
        let challenge = b64url(b"challenge!");
        let origin = "https://app.example.com";
        assert_eq!(check_json(&client_data(GET, &challenge, origin, "")), Err(WebauthnError::WrongType));
        assert_eq!(check_json(&client_data("webauthn.create ", &challenge, origin, "")), Err(WebauthnError::WrongType));
        assert_eq!(check_json(&client_data(CREATE, &b64url(b"challenge?"), origin, "")), Err(WebauthnError::ChallengeMismatch));
        assert_eq!(check_json(&client_data(CREATE, &format!("{challenge}="), origin, "")), Err(WebauthnError::ChallengeMismatch));
        assert_eq!(check_json(&client_data(CREATE, "", origin, "")), Err(WebauthnError::ChallengeMismatch));
        let origins = vec![origin.to_string()];
        let nothing_issued = Expected { challenge: b"", origins: &origins, rp_id: "example.com", user_verification: false };
        assert_eq!(check(client_data(CREATE, "", origin, "").as_bytes(), CREATE, &nothing_issued), Err(WebauthnError::ChallengeMismatch));
        for other in ["https://app.example.com/", "http://app.example.com", "https://app.example.com.evil.test", "https://evil.app.example.com", "https://APP.example.com", ""] {
            assert_eq!(check_json(&client_data(CREATE, &challenge, other, "")), Err(WebauthnError::OriginNotAllowed(other.into())), "{other}");
        }
        let long = format!("https://{}.test", "a".repeat(500));
        assert!(matches!(check_json(&client_data(CREATE, &challenge, &long, "")), Err(WebauthnError::OriginNotAllowed(o)) if o.len() == 200));
        assert_eq!(check_json(&client_data(CREATE, &challenge, origin, r#","crossOrigin":true"#)), Err(WebauthnError::CrossOrigin));
        assert_eq!(check_json(&client_data(CREATE, &challenge, origin, r#","topOrigin":"https://evil.test""#)), Err(WebauthnError::CrossOrigin));
    }

    #[test]
    fn what_is_not_the_client_datas_json_is_malformed() {
        let challenge = b64url(b"challenge!");
        let origin = "https://app.example.com";
        for json in [
            String::new(),
            "[]".into(),
            format!(r#"{{"type":"{CREATE}","challenge":"{challenge}"}}"#),
            client_data(CREATE, &challenge, origin, r#","crossOrigin":"false""#),
            client_data(CREATE, &challenge, origin, r#","type":"webauthn.get""#),
            client_data(CREATE, &challenge, origin, "").replace('}', ""),
        ] {
            assert!(matches!(check_json(&json), Err(WebauthnError::Malformed(_))), "{json}");
        }
    }
}
