//! A Feathers call as a Socket.IO event carries it: transport-commons' argument positions,
//! read into the same [`ServiceCall`] a REST request makes.

use super::errors::FeathersError;
use super::ServiceCall;
use crate::wire::feathers::{PASSKEY_CHALLENGES, PASSKEY_CREDENTIALS, PASSKEY_REGISTRATIONS, SECOND_FACTOR_CHALLENGES};
use serde_json::value::RawValue;
use serde_json::Value;

/// Reads a Feathers call the way a socket sends it, as event `method` with the arguments
/// `(path, ...args)` in transport-commons' positions: `find(params)`, `get`/`remove(id, params)`,
/// `create(data, params)`, `update`/`patch(id, data, params)`. Params from the client are only
/// a query, which these services do not read: a socket call is authenticated by its
/// connection (`token`), never by what it sends.
pub fn socket_call<'a>(
    method: &'static str,
    args: &'a [Box<RawValue>],
    token: Option<&'a str>,
    platform: &'a str,
) -> Result<ServiceCall<'a>, FeathersError> {
    let (path, rest) = args.split_first().ok_or(FeathersError::InvalidPath)?;
    let path: String = serde_json::from_str(path.get()).map_err(|_| FeathersError::InvalidPath)?;
    let params_at = match method {
        "find" => 0,
        "update" | "patch" => 2,
        _ => 1,
    };
    if rest.len() > params_at + 1 {
        return Err(FeathersError::TooManyArguments(method));
    }
    let id = match method {
        "get" | "remove" | "update" | "patch" => rest.first().and_then(|raw| record_id(raw.get())),
        _ => None,
    };
    let data_at = match method {
        "create" => Some(0),
        "update" | "patch" => Some(1),
        _ => None,
    };
    let data = data_at.and_then(|i| rest.get(i)).map(|raw| raw.get().as_bytes()).unwrap_or_default();
    let service = KNOWN_SERVICES.iter().find(|s| **s == path.trim_matches('/'));
    match service {
        Some(service) => Ok(ServiceCall { service, method, id, data, token, platform }),
        None => Err(FeathersError::NoService(path.chars().take(64).collect())),
    }
}

/// The services a socket can call.
const KNOWN_SERVICES: [&str; 6] = ["users", "authentication", PASSKEY_CHALLENGES, PASSKEY_REGISTRATIONS, PASSKEY_CREDENTIALS, SECOND_FACTOR_CHALLENGES];

/// A record id as a socket sends it: a string or a number; `null` is none.
fn record_id(json: &str) -> Option<String> {
    match serde_json::from_str::<Value>(json).ok()? {
        Value::String(s) => Some(s),
        Value::Null => None,
        other => Some(other.to_string().chars().take(64).collect()),
    }
}
