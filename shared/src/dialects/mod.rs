//! The wire dialects: each turns one upstream protocol's requests into flow calls and renders
//! results and errors in that protocol's own shapes.
//!
//! A dialect is the only place that knows its wire format, and chooses HTTP statuses in exactly
//! one function. This module holds what they share: JSON bodies, headers, query strings.

pub mod check;
pub mod feathers;
pub mod gotrue;
pub mod graphql;
pub mod graphql_guard;
pub mod oauth_callback;
pub mod passwordless;
pub mod routes;
pub mod webauthn_wire;

use http::{HeaderMap, Response, StatusCode};
use serde::de::DeserializeOwned;

/// The request body a dialect handler sees (already size-checked by the app).
pub type Body = Vec<u8>;

/// A request the app refuses before any dialect handler reads it; each dialect renders it in
/// its own error shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The body is larger than [`routes::MAX_BODY_BYTES`] (413).
    TooLarge,
    /// A header name or value the adapter could not convert (400).
    MalformedHeader,
    /// A body whose `Content-Type` is not what the endpoint takes (415): browsers send
    /// `text/plain` cross-site without a preflight, so a JSON endpoint that read it anyway
    /// could be driven from any web page.
    MediaType(MediaType),
}

/// The body types endpoints take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/json`, or any `application/*+json`.
    Json,
    /// `application/x-www-form-urlencoded` (the passwordless confirmation forms).
    Form,
}

impl MediaType {
    /// Whether a `Content-Type` header value names this type (parameters such as `charset`
    /// allowed).
    pub fn accepts(self, content_type: &str) -> bool {
        let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match self {
            MediaType::Json => essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json")),
            MediaType::Form => essence == "application/x-www-form-urlencoded",
        }
    }

    /// The type's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            MediaType::Json => "application/json",
            MediaType::Form => "application/x-www-form-urlencoded",
        }
    }
}

impl Refusal {
    /// Status and a message, for dialects whose errors are a status and a text.
    pub fn status_and_message(self) -> (u16, String) {
        match self {
            Refusal::TooLarge => (413, "Request body is too large".into()),
            Refusal::MalformedHeader => (400, "A request header has an invalid name or value".into()),
            Refusal::MediaType(t) => (415, format!("Content-Type must be {}", t.name())),
        }
    }
}

/// Why a JSON body could not be used; the text is safe to show the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError(pub String);

/// Parses a JSON request body into `T`.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, JsonError> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(JsonError("request body is empty; expected a JSON object".into())),
        // serde reads a struct from an array of its fields in order too; no client sends one.
        Some(b'{') => {}
        Some(_) => return Err(JsonError("expected a JSON object".into())),
    }
    serde_json::from_slice(body).map_err(|e| JsonError(e.to_string()))
}

/// A redirect (`303`, or `302` where upstream answers that) to `location`, never cached.
pub fn redirect_response(status: StatusCode, location: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("location", location)
        .header("cache-control", "no-store")
        .body(Vec::new())
        .unwrap_or_else(|_| Response::new(Vec::new()))
}

/// A JSON response with extra headers; `cache-control: no-store` unless they set their own.
pub fn json_response(
    status: StatusCode,
    value: &serde_json::Value,
    headers: &[(&'static str, String)],
) -> Response<Body> {
    let mut builder = Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("cache-control")) {
        builder = builder.header("cache-control", "no-store");
    }
    for (k, v) in headers {
        builder = builder.header(*k, v.as_str());
    }
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    builder
        .body(body)
        .unwrap_or_else(|_| Response::new(b"{}".to_vec()))
}

/// The token from `Authorization: <scheme> <token>` for any of the given schemes
/// (case-insensitive), or `None`.
pub fn auth_token<'a>(headers: &'a HeaderMap, schemes: &[&str]) -> Option<&'a str> {
    let value = headers.get("authorization")?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    schemes
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// A header's value as text, if present and printable.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The client's self-description for its session: the User-Agent, or `unknown`.
pub fn platform(headers: &HeaderMap) -> String {
    header(headers, "user-agent")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("unknown")
        .to_string()
}

/// The first value of a query parameter.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The pairs of an `application/x-www-form-urlencoded` body (what HTML forms post).
pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// How the dialects without words of their own say that a kind of factor may not be used
/// (its `MFA_*_VERIFY_ENABLED` is off).
pub(crate) fn verify_disabled(kind: crate::model::FactorKind) -> String {
    match kind {
        crate::model::FactorKind::Totp => "TOTP verification is disabled",
        crate::model::FactorKind::Webauthn => "WebAuthn verification is disabled",
        crate::model::FactorKind::RecoveryCode => "Recovery code verification is disabled",
    }
    .into()
}
