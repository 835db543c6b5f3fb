//! [`Dialect`]: the wire protocols a session can be started through, by their stored names. Only
//! the names live here; each protocol's wire format is in `crate::dialects`.

/// The protocol a session was started through, and whose credentials it issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dialect {
    /// Supabase Auth (GoTrue).
    Gotrue,
    /// FeathersJS.
    Feathers,
    /// django-graphql-jwt.
    Graphql,
    /// The passwordless API (opaque session tokens).
    Passwordless,
}

impl Dialect {
    /// Every dialect: what a deployment serves by default and `/api/check` accepts.
    pub const ALL: &'static [Dialect] = &[Dialect::Gotrue, Dialect::Feathers, Dialect::Graphql, Dialect::Passwordless];

    /// Stored name, and what `/api/check` reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Gotrue => "gotrue",
            Dialect::Feathers => "feathers",
            Dialect::Graphql => "graphql",
            Dialect::Passwordless => "passwordless",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "gotrue" => Some(Dialect::Gotrue),
            "feathers" => Some(Dialect::Feathers),
            "graphql" => Some(Dialect::Graphql),
            "passwordless" => Some(Dialect::Passwordless),
            _ => None,
        }
    }
}
