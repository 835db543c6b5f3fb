//! Which web origins' pages a browser lets call this service (CORS): `CORS_ALLOWED_ORIGINS`,
//! by default the site's own, and the origin of a URL as the allow-list compares it.

use super::ConfigError;

/// The web origins whose pages a browser lets call this service (CORS): what
/// `CORS_ALLOWED_ORIGINS` lists, by default the site's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// Every origin (`*`), only when the setting says so.
    Any,
    /// These origins, each `scheme://host[:port]` in lower case without a default port.
    List(Vec<String>),
}

impl CorsOrigins {
    /// Whether a request's `Origin` header names an allowed origin.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            CorsOrigins::Any => true,
            CorsOrigins::List(list) => exact_origin(origin).is_some_and(|o| list.contains(&o)),
        }
    }
}

/// The origin (`scheme://host[:port]`, lower case, without the scheme's default port) of an
/// http(s) URL; `None` for anything else.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default().to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let host_port = host_port.strip_suffix(default_port).unwrap_or(&host_port);
    if host_port.is_empty() || host_port.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    Some(format!("{scheme}://{host_port}"))
}

/// `s` as an origin if it is nothing but one (an optional trailing `/` aside): no path, query,
/// fragment or credentials.
fn exact_origin(s: &str) -> Option<String> {
    let s = s.strip_suffix('/').unwrap_or(s);
    let (_, rest) = s.split_once("://")?;
    if rest.contains(['/', '?', '#', '@']) {
        return None;
    }
    origin_of(s)
}

/// `CORS_ALLOWED_ORIGINS`: `*`, or comma-separated origins; unset, the origins of `SITE_URL`,
/// `API_EXTERNAL_URL` and the http(s) entries of `URI_ALLOW_LIST`.
pub(super) fn cors_origins(v: Option<String>, site: &[&str]) -> Result<CorsOrigins, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { name: "CORS_ALLOWED_ORIGINS", reason };
    let mut list: Vec<String> = Vec::new();
    let mut add = |o: String| {
        if !list.contains(&o) {
            list.push(o);
        }
    };
    let Some(v) = v else {
        site.iter().filter_map(|u| origin_of(u)).for_each(add);
        return Ok(CorsOrigins::List(list));
    };
    let entries: Vec<&str> = v.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();
    if entries == ["*"] {
        return Ok(CorsOrigins::Any);
    }
    for entry in entries {
        if entry == "*" {
            return Err(invalid("\"*\" allows every origin and must stand alone".into()));
        }
        add(exact_origin(entry).ok_or_else(|| invalid(format!("{entry:?} is not an origin (http(s)://host[:port])")))?);
    }
    if list.is_empty() {
        return Err(invalid("names no origin; leave it unset for the site's own".into()));
    }
    Ok(CorsOrigins::List(list))
}
