//! The PKCE parameters every GoTrue endpoint that mails a link takes (`code_challenge`,
//! `code_challenge_method`), checked once, as upstream checks them.

use super::errors::GotrueError;
use crate::model::{PkceChallenge, PkceMethod};

/// The PKCE challenge a request sent (`code_challenge`, `code_challenge_method`), checked as
/// upstream checks it; `None` for an implicit-flow request (auth-js sends `null`s).
pub(super) fn pkce_challenge(challenge: Option<String>, method: Option<String>) -> Result<Option<PkceChallenge>, GotrueError> {
    let (challenge, method) = match (challenge.filter(|c| !c.is_empty()), method.filter(|m| !m.is_empty())) {
        (None, None) => return Ok(None),
        (Some(c), Some(m)) => (c, m),
        _ => return Err(GotrueError::Validation("PKCE flow requires code_challenge_method and code_challenge")),
    };
    if !(43..=128).contains(&challenge.len()) {
        return Err(GotrueError::Validation("code challenge has to be between 43 and 128 characters"));
    }
    if !challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)) {
        return Err(GotrueError::Validation(
            "code challenge can only contain alphanumeric characters, hyphens, periods, underscores and tildes",
        ));
    }
    // Upstream fails later with a 500 here; a client's mistake is a 400.
    let method = PkceMethod::parse(&method).ok_or(GotrueError::Validation("Invalid code_challenge_method"))?;
    Ok(Some(PkceChallenge { method, challenge }))
}
