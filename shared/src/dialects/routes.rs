//! The route tables' machinery: what a route declares, how a path finds its route, and how a
//! route's guard is resolved before its handler runs.
//!
//! Each dialect owns one table ([`Api::ROUTES`]): method, path pattern, the body type it
//! takes, what the caller must have proven ([`Guard`]), and the endpoint that serves it. The
//! app finds the dialect by its mount point (`MOUNTS` in the `app` module), then [`dispatch`]
//! finds the route, refuses what the request cannot be ([`refusal`]: headers, size, body
//! type), resolves the guard through the flows' one bearer road, and hands the handler the
//! resolved [`Caller`]. A route's caller is established here and nowhere else; a dialect only
//! renders a refusal in its own error shape. (A credential that arrives as data, such as
//! Feathers' `jwt` strategy or graphql-jwt's token arguments, is the operation's input, checked
//! by the handler through the same bearer road.)

use super::{header, Body, MediaType, Refusal};
use crate::flows::{AdminError, Bearer, BearerError, Dialect, Flows, InternalError};
use crate::ports::Ports;
use core::future::Future;
use core::pin::Pin;
use http::{HeaderMap, Method, Request, Response};

/// The methods a route answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
    /// Any method (for a route that answers every other method the same way).
    Any,
}

impl Verb {
    fn admits(self, method: &Method) -> bool {
        match self {
            Verb::Get => method == Method::GET,
            Verb::Post => method == Method::POST,
            Verb::Put => method == Method::PUT,
            Verb::Patch => method == Method::PATCH,
            Verb::Delete => method == Method::DELETE,
            Verb::Any => true,
        }
    }
}

/// What a caller must have proven before a route's handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Nothing.
    Open,
    /// A live session of one of the dialect's accepted dialects ([`Api::ACCEPTS`]), presented
    /// as the dialect presents credentials ([`Api::credential`]).
    Session,
    /// GoTrue's service role (the service-role key).
    ServiceRole,
}

/// One route: a method and a path pattern, the body type it takes, its guard, and the
/// endpoint that serves it.
///
/// Patterns are `/`-separated: a literal segment matches itself, `{name}` any one segment
/// (even an empty one), and a final `*` one or more segments.
#[derive(Debug, Clone, Copy)]
pub struct Route<E> {
    /// The method.
    pub verb: Verb,
    /// The path pattern, relative to the dialect's mount point.
    pub path: &'static str,
    /// The body type it takes (a bodiless request takes any).
    pub media: MediaType,
    /// What the caller must have proven.
    pub guard: Guard,
    /// What serves it.
    pub endpoint: E,
}

impl<E> Route<E> {
    /// A route taking JSON.
    pub const fn json(verb: Verb, path: &'static str, guard: Guard, endpoint: E) -> Self {
        Route { verb, path, media: MediaType::Json, guard, endpoint }
    }

    /// A route taking an HTML form.
    pub const fn form(verb: Verb, path: &'static str, guard: Guard, endpoint: E) -> Self {
        Route { verb, path, media: MediaType::Form, guard, endpoint }
    }
}

/// The first route of `routes` for `method` and `path`, with the segments its `{name}`s
/// matched, in order.
pub fn find<'r, 'p, E>(routes: &'r [Route<E>], method: &Method, path: &'p str) -> Option<(&'r Route<E>, Vec<&'p str>)> {
    routes
        .iter()
        .filter(|r| r.verb.admits(method))
        .find_map(|r| matches(r.path, path).map(|params| (r, params)))
}

/// The `{name}` segments of `path` if it matches `pattern`.
fn matches<'p>(pattern: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let mut want = pattern.split('/');
    let mut have = path.split('/');
    let mut params = Vec::new();
    loop {
        match (want.next(), have.next()) {
            (None, None) => return Some(params),
            (Some("*"), Some(_)) => return want.next().is_none().then_some(params),
            (Some(w), Some(h)) if w.starts_with('{') && w.ends_with('}') => params.push(h),
            (Some(w), Some(h)) if w == h => {}
            _ => return None,
        }
    }
}

/// Who the caller is, as its route's guard established.
#[derive(Debug)]
pub enum Caller {
    /// Nobody in particular ([`Guard::Open`]).
    Anyone,
    /// The holder of this live session ([`Guard::Session`]).
    Session(Box<Bearer>),
    /// The service role ([`Guard::ServiceRole`]).
    ServiceRole,
}

impl Caller {
    /// The session, for a route whose guard is [`Guard::Session`]; an internal error
    /// otherwise (a route table that names the wrong guard).
    pub fn session(self) -> Result<Bearer, InternalError> {
        match self {
            Caller::Session(b) => Ok(*b),
            _ => Err(InternalError("route table: this endpoint needs a session guard".into())),
        }
    }
}

/// Why a guard did not let the caller through.
#[derive(Debug)]
#[non_exhaustive]
pub enum Denied {
    /// No credential was presented.
    Missing,
    /// The credential is no live session of an accepted dialect.
    Bearer(BearerError),
    /// The credential is not the service role's.
    NotServiceRole(AdminError),
}

/// Why a request was answered without its handler.
#[derive(Debug)]
pub enum Refused<E> {
    /// No route of the dialect matches.
    NoRoute,
    /// The request cannot be read (size, body type, headers).
    Request(Refusal),
    /// The route's guard denied the caller.
    Guard(E, Denied),
}

/// A routed request whose guard let it through.
#[derive(Debug)]
pub struct Hit<'p, E> {
    /// The endpoint.
    pub endpoint: E,
    /// The path, relative to the dialect's mount point.
    pub path: &'p str,
    /// The path segments the route's `{name}`s matched.
    pub params: Vec<&'p str>,
    /// Who is calling.
    pub caller: Caller,
}

/// A dialect's HTTP surface: its route table and how it renders what is refused before a
/// handler runs.
pub trait Api {
    /// What serves a route.
    type Endpoint: Copy + std::fmt::Debug + 'static;
    /// Every route; the first match wins.
    const ROUTES: &'static [Route<Self::Endpoint>];
    /// The dialects whose sessions [`Guard::Session`] accepts here.
    const ACCEPTS: &'static [Dialect];
    /// The body type assumed for a request no route matches.
    const MEDIA: MediaType = MediaType::Json;

    /// The path as the table is written for it (a dialect that ignores a trailing `/` trims
    /// it here).
    fn normalize(path: &str) -> &str {
        path
    }

    /// The credential the request presents, where this dialect reads it.
    fn credential(headers: &HeaderMap) -> Option<&str>;

    /// The answer when no handler runs, in the dialect's error shape.
    fn refuse<P: Ports>(flows: &Flows<P>, req: &Request<Body>, why: Refused<Self::Endpoint>) -> Response<Body>;

    /// Serves a request whose route's guard let it through.
    async fn serve<P: Ports + 'static>(flows: &Flows<P>, req: &Request<Body>, hit: Hit<'_, Self::Endpoint>) -> Response<Body>;

    /// Last touches every answer of the dialect gets (headers), whoever produced it.
    fn finish(_req: &Request<Body>, response: Response<Body>) -> Response<Body> {
        response
    }
}

/// Answers `req` (at `path`, relative to the dialect's mount point) through dialect `A`'s
/// table: the route, then the request's refusal if any, then the route's guard, then its
/// handler.
pub async fn dispatch<A: Api, P: Ports + 'static>(flows: &Flows<P>, req: &Request<Body>, path: &str) -> Response<Body> {
    let path = A::normalize(path);
    let found = find(A::ROUTES, req.method(), path);
    let media = found.as_ref().map_or(A::MEDIA, |(route, _)| route.media);
    let response = if let Some(refusal) = refusal(req, media) {
        A::refuse(flows, req, Refused::Request(refusal))
    } else if let Some((route, params)) = found {
        match admit(flows, route.guard, A::ACCEPTS, A::credential(req.headers())).await {
            Ok(caller) => split(A::serve(flows, req, Hit { endpoint: route.endpoint, path, params, caller })).await,
            Err(denied) => A::refuse(flows, req, Refused::Guard(route.endpoint, denied)),
        }
    } else {
        A::refuse(flows, req, Refused::NoRoute)
    };
    A::finish(req, response)
}

/// `future` behind a pointer, so that its state machine stays a function of its own instead of
/// being inlined into its caller's. The engine compiles and optimizes a wasm function whole,
/// when it first runs: awaited directly, every handler of every dialect became one function of
/// a few hundred kilobytes that an isolate's first request paid for, whatever it asked
/// (`make bench`: the first request took 51 ms, 28 ms with the handlers split). One small
/// allocation per request.
#[inline(never)]
pub fn split<'a, T>(future: impl Future<Output = T> + 'a) -> Pin<Box<dyn Future<Output = T> + 'a>> {
    Box::pin(future)
}

/// Resolves `guard` for the presented `credential` (whatever carried it: a header, a socket's
/// authentication): the one place a route's caller is established.
pub async fn admit<P: Ports>(
    flows: &Flows<P>,
    guard: Guard,
    accepts: &[Dialect],
    credential: Option<&str>,
) -> Result<Caller, Denied> {
    match guard {
        Guard::Open => Ok(Caller::Anyone),
        Guard::Session => {
            let token = credential.ok_or(Denied::Missing)?;
            let bearer = flows.authenticate(token, accepts).await.map_err(Denied::Bearer)?;
            Ok(Caller::Session(Box::new(bearer)))
        }
        Guard::ServiceRole => {
            let token = credential.ok_or(Denied::Missing)?;
            flows.authorize_admin(token).await.map_err(Denied::NotServiceRole)?;
            Ok(Caller::ServiceRole)
        }
    }
}

/// Largest request body accepted, in bytes. Auth requests are small; this bounds parsing work.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Marks a request whose adapter dropped a header it could not convert (a name with byte
/// 0xff, say): the app answers it 400, in the dialect's shape.
pub const MALFORMED_HEADER_MARK: &str = "x-portcullis-malformed-header";

/// Why the request is refused before any handler reads it, if it is: a header the adapter
/// could not convert, a body over [`MAX_BODY_BYTES`] (adapters may skip reading one whose
/// declared length is over it), or a body that is not of `body_type`. Bodiless requests take
/// any `Content-Type`.
pub fn refusal(req: &Request<Body>, body_type: MediaType) -> Option<Refusal> {
    let headers = req.headers();
    if headers.contains_key(MALFORMED_HEADER_MARK) {
        return Some(Refusal::MalformedHeader);
    }
    let declared = header(headers, "content-length")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if req.body().len() > MAX_BODY_BYTES || declared > MAX_BODY_BYTES as u64 {
        return Some(Refusal::TooLarge);
    }
    let content_type = header(headers, "content-type").unwrap_or_default();
    if !req.body().is_empty() && !body_type.accepts(content_type) {
        return Some(Refusal::MediaType(body_type));
    }
    None
}


#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn patterns_match_literals_parameters_and_a_trailing_rest() {
        assert_eq!(matches("/admin/users/{id}", "/admin/users/42"), Some(vec!["42"]));
        assert_eq!(matches("/admin/users/{id}", "/admin/users/"), Some(vec![""]));
        assert_eq!(matches("/admin/users/{id}", "/admin/users/4/2"), None);
        assert_eq!(matches("/sso/*", "/sso/a/b"), Some(vec![]));
        assert_eq!(matches("/sso/*", "/sso"), None);
        assert_eq!(matches("/user", "/user/"), None);
        assert_eq!(matches("/user", "/user"), Some(vec![]));
    }

    #[test]
    fn the_first_route_for_the_method_wins() {
        let routes = [
            Route::json(Verb::Get, "/a/{x}", Guard::Session, 1),
            Route::json(Verb::Any, "/a/{x}", Guard::Open, 2),
        ];
        assert_eq!(find(&routes, &Method::GET, "/a/b").map(|(r, p)| (r.endpoint, p)), Some((1, vec!["b"])));
        assert_eq!(find(&routes, &Method::PUT, "/a/b").map(|(r, _)| r.endpoint), Some(2));
        assert!(find(&routes, &Method::PUT, "/b").is_none());
    }
}
