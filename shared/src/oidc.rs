//! OpenID Connect, as a relying party checks it: an issuer's discovery document
//! ([`Discovery`]), its published keys ([`ProviderKeys`]) and the `id_token`s it signs
//! ([`verify_id_token`]: signature through the signature port, then `iss`, `aud`, `azp`,
//! `exp`, `nbf` and `iat`; the issuer's access tokens are refused by their `typ`). Fetching
//! documents and what a verified token does to accounts are the flows' (`flows/external`);
//! the nonce rule differs between GoTrue's `id_token` grant and the redirect flow, so the
//! caller checks it on the returned claims.
//!
//! Only asymmetric algorithms are accepted (RS256, ES256, EdDSA): never `none`, and never
//! HS256, whose key would be the client secret, so a token signed with it proves nothing the
//! client could not forge.

use crate::signature::{from_b64url, Alg, Key, Signatures};
use serde_json::{Map, Value};

/// The longest `id_token` read, in bytes.
pub const MAX_ID_TOKEN_BYTES: usize = 16 * 1024;
/// How far clocks may disagree, in seconds, for `exp`, `nbf` and `iat`.
pub const CLOCK_LEEWAY_SECS: i64 = 60;
/// The most keys kept from one JWKS.
const MAX_KEYS: usize = 32;

/// Why a document or token was refused; the text is for the log and never holds a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// A discovery document or key set that is not what the issuer should publish.
    #[error("provider document refused: {0}")]
    Document(String),
    /// The token is not a well-formed JWS of an accepted algorithm, or no published key of its
    /// issuer signed it.
    #[error("id_token refused: {0}")]
    Token(String),
    /// The token is for none of the accepted clients (`aud`, `azp`): the client ids it names.
    #[error("id_token audience {0:?} is not accepted")]
    Audience(Vec<String>),
    /// The token names no subject.
    #[error("id_token has no sub")]
    NoSubject,
}

/// What a relying party needs from a discovery document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// The issuer, as the document names it.
    pub issuer: String,
    /// Where users are sent to sign in.
    pub authorization_endpoint: String,
    /// Where codes are exchanged.
    pub token_endpoint: String,
    /// The key set.
    pub jwks_uri: String,
    /// The UserInfo endpoint, if there is one.
    pub userinfo_endpoint: Option<String>,
}

/// How a token's `iss` must read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuerRule<'a> {
    /// Exactly this.
    Exact(&'a str),
    /// Microsoft's multi-tenant endpoint: `https://login.microsoftonline.com/<tenant>/v2.0`.
    AnyAzureTenant,
}

impl IssuerRule<'_> {
    /// Whether `iss` satisfies the rule.
    pub fn accepts(&self, iss: &str) -> bool {
        match self {
            // Google's tokens may name their issuer without the scheme (its documentation says
            // to accept both).
            IssuerRule::Exact(want) => iss == *want || (*want == "https://accounts.google.com" && iss == "accounts.google.com"),
            IssuerRule::AnyAzureTenant => iss
                .strip_prefix("https://login.microsoftonline.com/")
                .and_then(|rest| rest.strip_suffix("/v2.0"))
                .is_some_and(|tenant| !tenant.is_empty() && tenant.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')),
        }
    }
}

impl Discovery {
    /// Parses `<issuer>/.well-known/openid-configuration`: its `issuer` must satisfy `rule`
    /// (for Microsoft's multi-tenant endpoint, the document names `{tenantid}`), and every
    /// endpoint must be https (or http to this machine, as the issuer itself may be).
    pub fn parse(body: &str, rule: IssuerRule<'_>) -> Result<Discovery, OidcError> {
        let doc: Map<String, Value> = serde_json::from_str(body).map_err(|e| OidcError::Document(format!("not a JSON object: {e}")))?;
        let text = |name: &str| doc.get(name).and_then(Value::as_str).map(str::to_string);
        let issuer = text("issuer").ok_or_else(|| OidcError::Document("no issuer".into()))?;
        let matches = match rule {
            IssuerRule::AnyAzureTenant => issuer == "https://login.microsoftonline.com/{tenantid}/v2.0" || rule.accepts(&issuer),
            IssuerRule::Exact(want) => issuer.trim_end_matches('/') == want,
        };
        if !matches {
            return Err(OidcError::Document(format!("the document names issuer {issuer:?}")));
        }
        let endpoint = |name: &str| -> Result<String, OidcError> {
            let url = text(name).ok_or_else(|| OidcError::Document(format!("no {name}")))?;
            match safe_url(&url) {
                true => Ok(url),
                false => Err(OidcError::Document(format!("{name} {url:?} is not https"))),
            }
        };
        Ok(Discovery {
            authorization_endpoint: endpoint("authorization_endpoint")?,
            token_endpoint: endpoint("token_endpoint")?,
            jwks_uri: endpoint("jwks_uri")?,
            userinfo_endpoint: text("userinfo_endpoint").filter(|u| safe_url(u)),
            issuer,
        })
    }
}

/// https, or http to this machine (a development provider).
pub fn safe_url(url: &str) -> bool {
    if url.starts_with("https://") {
        return !url.chars().any(|c| c.is_whitespace() || c.is_control());
    }
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let bare = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    bare == "localhost" || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// An issuer's signing keys, as its JWKS publishes them (keys Portcullis cannot use, or
/// marked for encryption, left out).
#[derive(Debug, Clone, Default)]
pub struct ProviderKeys {
    keys: Vec<(Option<String>, Key)>,
}

impl ProviderKeys {
    /// Parses a JWKS.
    pub fn parse(body: &str) -> Result<ProviderKeys, OidcError> {
        let doc: Value = serde_json::from_str(body).map_err(|e| OidcError::Document(format!("key set is not JSON: {e}")))?;
        let list = doc.get("keys").and_then(Value::as_array).ok_or_else(|| OidcError::Document("key set has no keys".into()))?;
        let keys = list
            .iter()
            .filter(|jwk| jwk.get("use").and_then(Value::as_str).is_none_or(|u| u == "sig"))
            .filter_map(|jwk| {
                let alg = match (jwk.get("kty").and_then(Value::as_str)?, jwk.get("crv").and_then(Value::as_str)) {
                    ("RSA", _) => Alg::Rs256,
                    ("EC", Some("P-256")) => Alg::Es256,
                    ("OKP", Some("Ed25519")) => Alg::EdDsa,
                    _ => return None,
                };
                // A key that names its algorithm is used for that one only.
                if jwk.get("alg").and_then(Value::as_str).is_some_and(|named| named != alg.name()) {
                    return None;
                }
                let key = Key::from_jwk(alg, jwk).ok().filter(|k| !k.is_private())?;
                Some((jwk.get("kid").and_then(Value::as_str).map(str::to_string), key))
            })
            .take(MAX_KEYS)
            .collect();
        Ok(ProviderKeys { keys })
    }

    /// Whether some key has id `kid`.
    pub fn has(&self, kid: &str) -> bool {
        self.keys.iter().any(|(k, _)| k.as_deref() == Some(kid))
    }
}

/// The claims of a verified `id_token`.
#[derive(Debug, Clone, PartialEq)]
pub struct IdTokenClaims {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `nonce`, if present.
    pub nonce: Option<String>,
    /// `at_hash`, if present.
    pub at_hash: Option<String>,
    /// `email`, if present.
    pub email: Option<String>,
    /// `email_verified` (a boolean, or the strings `"true"`/`"false"` some providers send).
    pub email_verified: bool,
    /// Every claim, as sent.
    pub all: Map<String, Value>,
}

/// What a token must satisfy besides its signature.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// Its issuer.
    pub issuer: IssuerRule<'a>,
    /// The client ids accepted as audience.
    pub audiences: &'a [String],
    /// Now, unix seconds.
    pub now_secs: i64,
}

/// The `kid` of a compact JWS's header, to tell whether the key set must be fetched anew.
pub fn token_kid(token: &str) -> Option<String> {
    let header = token.split('.').next().and_then(from_b64url)?;
    let header: Map<String, Value> = serde_json::from_slice(&header).ok()?;
    header.get("kid").and_then(Value::as_str).map(str::to_string)
}

/// Checks `token`'s signature against `keys` and its claims against `expect`.
pub async fn verify_id_token(
    signatures: &impl Signatures,
    keys: &ProviderKeys,
    token: &str,
    expect: &Expect<'_>,
) -> Result<IdTokenClaims, OidcError> {
    let bad = |why: &str| OidcError::Token(why.into());
    if token.len() > MAX_ID_TOKEN_BYTES {
        return Err(bad("too long"));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad("not a compact JWS"));
    };
    let header: Map<String, Value> = from_b64url(h).and_then(|b| serde_json::from_slice(&b).ok()).ok_or_else(|| bad("bad header"))?;
    let alg = header.get("alg").and_then(Value::as_str).and_then(Alg::from_name).filter(|a| *a != Alg::Hs256).ok_or_else(|| bad("algorithm not accepted"))?;
    if header.get("crit").is_some() {
        return Err(bad("critical header extensions are not understood"));
    }
    // The issuer's JWT access tokens (RFC 9068) may name this client too; they are no ID token.
    if header.get("typ").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")) {
        return Err(bad("an access token"));
    }
    let signature = from_b64url(s).ok_or_else(|| bad("bad signature encoding"))?;
    let kid = header.get("kid").and_then(Value::as_str);
    let signed = &token.as_bytes()[..h.len() + 1 + p.len()];
    let mut verified = false;
    for (_, key) in keys.keys.iter().filter(|(k, key)| key.alg() == alg && (kid.is_none() || k.as_deref() == kid)) {
        if signatures.verify(key, signed, &signature).await.unwrap_or(false) {
            verified = true;
            break;
        }
    }
    if !verified {
        return Err(bad("no published key of the issuer signed it"));
    }
    let claims: Map<String, Value> = from_b64url(p).and_then(|b| serde_json::from_slice(&b).ok()).ok_or_else(|| bad("bad claims"))?;
    check_claims(claims, expect)
}

/// The claim checks of [`verify_id_token`], on claims whose signature checked out.
fn check_claims(claims: Map<String, Value>, expect: &Expect<'_>) -> Result<IdTokenClaims, OidcError> {
    let bad = |why: &str| OidcError::Token(why.into());
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_string);
    let time = |name: &str| claims.get(name).and_then(Value::as_f64).map(|t| t as i64);
    let issuer = text("iss").ok_or_else(|| bad("no iss"))?;
    // Keycloak says what its tokens are (`ID`, `Bearer`, `Refresh`, `Logout`).
    if text("typ").is_some_and(|t| !t.eq_ignore_ascii_case("ID")) {
        return Err(bad("not an ID token"));
    }
    if !expect.issuer.accepts(&issuer) {
        return Err(bad("issued by another issuer"));
    }
    let audiences: Vec<String> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    };
    let accepted = |a: &str| expect.audiences.iter().any(|c| !c.is_empty() && c == a);
    if !audiences.iter().any(|a| accepted(a)) {
        return Err(OidcError::Audience(audiences));
    }
    // OpenID Connect Core 3.1.3.7: with several audiences, the party it was issued to.
    match claims.get("azp") {
        None => {}
        Some(Value::String(azp)) if accepted(azp) => {}
        Some(azp) => return Err(OidcError::Audience(vec![azp.as_str().map_or_else(|| azp.to_string(), str::to_string)])),
    }
    let now = expect.now_secs;
    match time("exp") {
        Some(exp) if exp.saturating_add(CLOCK_LEEWAY_SECS) > now => {}
        Some(_) => return Err(bad("expired")),
        None => return Err(bad("no exp")),
    }
    if time("nbf").is_some_and(|nbf| nbf > now + CLOCK_LEEWAY_SECS) || time("iat").is_some_and(|iat| iat > now + CLOCK_LEEWAY_SECS) {
        return Err(bad("not valid yet"));
    }
    let subject = text("sub").filter(|s| !s.is_empty() && s.len() <= 255).ok_or(OidcError::NoSubject)?;
    let email_verified = match claims.get("email_verified") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    Ok(IdTokenClaims {
        issuer,
        subject,
        nonce: text("nonce"),
        at_hash: text("at_hash"),
        email: text("email").filter(|e| !e.is_empty()),
        email_verified,
        all: claims,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn expect(aud: &[String]) -> Expect<'_> {
        Expect { issuer: IssuerRule::Exact("https://idp.example.com"), audiences: aud, now_secs: 1_000_000 }
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn claims_are_held_to_issuer_audience_and_time() {
        let aud = vec!["portcullis".to_string(), String::new()];
        let good = json!({"iss": "https://idp.example.com", "aud": ["portcullis", "other"], "azp": "portcullis", "exp": 1_000_100, "iat": 999_990, "sub": "u1", "email": "a@example.com", "email_verified": "true"});
        let ok = check_claims(claims(good.clone()), &expect(&aud)).unwrap();
        assert_eq!((ok.subject.as_str(), ok.email.as_deref(), ok.email_verified), ("u1", Some("a@example.com"), true));
        let with = |k: &str, v: Value| {
            let mut c = claims(good.clone());
            c.insert(k.into(), v);
            check_claims(c, &expect(&aud))
        };
        assert_eq!(with("iss", json!("https://evil.example.com")), Err(OidcError::Token("issued by another issuer".into())));
        assert_eq!(with("aud", json!("other")), Err(OidcError::Audience(vec!["other".into()])));
        assert_eq!(with("aud", json!([""])), Err(OidcError::Audience(vec![String::new()])), "an empty client id is no client");
        assert_eq!(with("azp", json!("other")), Err(OidcError::Audience(vec!["other".into()])));
        assert_eq!(with("azp", json!(7)), Err(OidcError::Audience(vec!["7".into()])), "an azp that is no client id");
        assert_eq!(with("exp", json!(1_000_000 - CLOCK_LEEWAY_SECS)), Err(OidcError::Token("expired".into())));
        assert!(with("exp", json!(999_990)).is_ok(), "within the leeway");
        assert_eq!(with("nbf", json!(1_000_500)), Err(OidcError::Token("not valid yet".into())));
        assert_eq!(with("sub", json!("")), Err(OidcError::NoSubject));
        assert_eq!(with("typ", json!("Bearer")), Err(OidcError::Token("not an ID token".into())));
        assert!(with("typ", json!("ID")).is_ok());
        assert!(!with("email_verified", json!("yes")).unwrap().email_verified);
        let mut no_exp = claims(good);
        no_exp.remove("exp");
        assert_eq!(check_claims(no_exp, &expect(&aud)), Err(OidcError::Token("no exp".into())));
    }

    #[test]
    fn azure_tenants_and_documents() {
        let google = IssuerRule::Exact("https://accounts.google.com");
        assert!(google.accepts("accounts.google.com") && google.accepts("https://accounts.google.com"));
        assert!(!IssuerRule::Exact("https://idp.example.com").accepts("idp.example.com"), "only Google's, which it documents");
        let any = IssuerRule::AnyAzureTenant;
        assert!(any.accepts("https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"));
        for bad in ["https://login.microsoftonline.com//v2.0", "https://login.microsoftonline.com/a/b/v2.0", "https://evil.com/x/v2.0"] {
            assert!(!any.accepts(bad), "{bad}");
        }
        let doc = json!({"issuer": "https://idp.example.com/", "authorization_endpoint": "https://idp.example.com/auth", "token_endpoint": "https://idp.example.com/token", "jwks_uri": "https://idp.example.com/jwks"}).to_string();
        assert!(Discovery::parse(&doc, IssuerRule::Exact("https://idp.example.com")).is_ok());
        assert!(Discovery::parse(&doc, IssuerRule::Exact("https://other.example.com")).is_err());
        let clear = doc.replace("https://idp.example.com/jwks", "http://idp.example.com/jwks");
        assert!(Discovery::parse(&clear, IssuerRule::Exact("https://idp.example.com")).is_err(), "keys never in the clear");
    }

    #[test]
    fn key_sets_keep_only_usable_signing_keys() {
        let ec = json!({"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "kid": "a"});
        let mut enc = ec.clone();
        enc["use"] = "enc".into();
        enc["kid"] = "b".into();
        let mut wrong_alg = ec.clone();
        wrong_alg["alg"] = "RS256".into();
        wrong_alg["kid"] = "c".into();
        let set = json!({"keys": [ec, enc, wrong_alg, {"kty": "oct", "k": "AAAA", "kid": "d"}]}).to_string();
        let keys = ProviderKeys::parse(&set).unwrap();
        assert!(keys.has("a") && !keys.has("b") && !keys.has("c") && !keys.has("d"));
        assert!(ProviderKeys::parse("{}").is_err());
    }
}
