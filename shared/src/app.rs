//! The HTTP app: `(method, path, headers, body) -> response`, independent of the runtime.
//!
//! Finds each request's dialect by its mount point (`MOUNTS`: `/auth/v1/*` and every other
//! root path: GoTrue; `/auth/*`: passwordless; `/users*`, `/authentication*` and the passkey
//! services (`/passkey-challenges`, `/passkey-registrations`, `/passkey-credentials`) and
//! `/second-factor-challenges`, `/oauth/*` (sign-in through identity providers): Feathers;
//! `/graphql`: graphql-jwt; `GET /api/check`), answers for the dialects `DIALECTS` leaves out
//! as for an unknown path, and hands the request to [`dispatch`] with that dialect's
//! route table, which enforces the body size limit and type before any parsing and every
//! route's guard before its handler. Answers CORS for the origins `CORS_ALLOWED_ORIGINS`
//! allows (by default the site's own: bearer tokens and no cookies, but a page that may call
//! spends its visitors' per-client budgets). It holds no rules of its own: those are in the flows, and wire shapes are in
//! the dialects.

pub use crate::dialects::routes::{MALFORMED_HEADER_MARK, MAX_BODY_BYTES};

use crate::dialects::routes::dispatch;
use crate::dialects::{check, feathers, gotrue, graphql, json_response, passwordless, Body};
use crate::flows::{Auth, Dialect, FlowError, Flows, Outbox};
use crate::ports::Ports;
use crate::realtime::{AuthChange, Call, Connection};
use crate::config::CorsOrigins;
use crate::Config;
use http::header::VARY;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use std::rc::Rc;

/// The whole service over one set of ports. Built once per isolate and shared by every
/// request it answers, at once or in turn: what belongs to one request travels in that
/// request's [`crate::flows::Scope`], never in the app.
pub struct App<P> {
    auth: Rc<Auth<P>>,
}

/// An answer, and what its request left to do once it is on its way.
#[derive(Debug)]
pub struct Answer {
    /// What the client gets.
    pub response: Response<Body>,
    /// Mail and budget give-backs for [`App::deliver`], after the response went out.
    pub outbox: Outbox,
}

impl<P: Ports + 'static> App<P> {
    /// The app over `ports` with `config`.
    pub fn new(ports: P, config: Config) -> Result<Self, FlowError> {
        Ok(Self {
            auth: Rc::new(Auth::new(ports, config)?),
        })
    }

    /// The auth service inside (for tests and adapters).
    pub fn auth(&self) -> &Auth<P> {
        &self.auth
    }

    /// The client a request comes from, as the throttles key it: the value of the header
    /// `RATE_LIMIT_HEADER` names (on Cloudflare, `CF-Connecting-IP`, which the edge sets and a
    /// client cannot), or `unknown` for every request where no header is believed (`make dev`,
    /// where a client may send any `CF-Connecting-IP` it likes).
    pub fn client_of<'h>(&self, headers: &'h http::HeaderMap) -> &'h str {
        let named = self.auth.config().rate_limit_header.as_deref();
        named.and_then(|h| crate::dialects::header(headers, h)).map(str::trim).filter(|v| !v.is_empty()).unwrap_or("unknown")
    }

    /// The flows for one request from `client`, in a fresh scope.
    pub fn flows(&self, client: &str) -> Flows<P> {
        Flows::new(Rc::clone(&self.auth), Rc::new(self.auth.scope(client)))
    }

    /// Does what an answered request left in its outbox. Adapters call it once the answer is
    /// on its way (the worker in `ctx.waitUntil`), so no answer waits for, or reveals, a mail.
    pub async fn deliver(&self, outbox: Outbox) {
        self.auth.deliver(outbox).await;
    }

    /// Answers one request; mail it causes comes back in the [`Answer`]'s outbox.
    pub async fn handle(&self, req: Request<Body>) -> Answer {
        let flows = self.flows(self.client_of(req.headers()));
        let preflight = req.method() == Method::OPTIONS;
        let mut response = match preflight {
            true => Response::builder().status(StatusCode::NO_CONTENT).body(Vec::new()).unwrap_or_default(),
            false => route(&flows, &req).await,
        };
        let origin = crate::dialects::header(req.headers(), "origin");
        cors(&self.auth.config().cors_origins, origin, preflight, response.headers_mut());
        Answer { response, outbox: flows.scope().take_outbox() }
    }

    /// Whether a request for `path` goes to a Socket.IO connection (Feathers' real-time
    /// transport at `/socket.io/`, while Feathers is served); the adapter then hands it to the
    /// connection's holder, which calls [`App::socket_call`] for each Feathers call on it.
    /// Otherwise the path is answered by [`App::handle`] like any other.
    pub fn routes_to_socket(&self, path: &str) -> bool {
        crate::realtime::engine::is_endpoint(path) && self.auth.config().serves(Dialect::Feathers)
    }

    /// Runs a Feathers call made on a Socket.IO connection, in a scope of the connection's
    /// client: the same flows and rules as a REST request. Returns the answer to send (if the
    /// client asked for one), what the call did to the connection's authentication, and the
    /// outbox for [`App::deliver`].
    pub async fn socket_call(&self, conn: &Connection, call: &Call) -> (Option<String>, AuthChange, Outbox) {
        let flows = self.flows(&conn.client);
        let (answer, change) = crate::realtime::connection::run(&flows, conn, call).await;
        (answer, change, flows.scope().take_outbox())
    }
}

/// Which API a mount point leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mounted {
    /// GoTrue, with its admin API.
    Gotrue,
    /// The passwordless API.
    Passwordless,
    /// Feathers' REST services.
    Feathers,
    /// graphql-jwt.
    Graphql,
    /// The resource check (every dialect's credentials).
    Check,
}

/// Where a mount point is.
#[derive(Debug, Clone, Copy)]
enum At {
    /// This path, or anything under it (`<path>/...`).
    Prefix(&'static str),
    /// Anything that starts so.
    StartsWith(&'static str),
    /// Exactly this path, with or without a trailing `/`.
    Exact(&'static str),
    /// Exactly this path, `GET` only.
    ExactGet(&'static str),
    /// Every path.
    Everything,
}

/// A dialect's mount point; `strip` makes its routes relative to it.
#[derive(Debug, Clone, Copy)]
struct Mount {
    at: At,
    strip: bool,
    api: Mounted,
}

/// The dialects' mount points, the first that matches wins: GoTrue under `/auth/v1` (and at
/// `/`, for every path no other dialect takes), the passwordless API under `/auth/`, Feathers'
/// two services, graphql-jwt at `/graphql`, and the resource check at `GET /api/check`. Each
/// dialect's own table (`ROUTES` beside its handlers) says what each route needs.
const MOUNTS: &[Mount] = &[
    Mount { at: At::Prefix("/auth/v1"), strip: true, api: Mounted::Gotrue },
    Mount { at: At::StartsWith("/auth/"), strip: false, api: Mounted::Passwordless },
    Mount { at: At::Prefix("/users"), strip: false, api: Mounted::Feathers },
    Mount { at: At::Prefix("/authentication"), strip: false, api: Mounted::Feathers },
    Mount { at: At::Prefix("/passkey-challenges"), strip: false, api: Mounted::Feathers },
    Mount { at: At::Prefix("/passkey-registrations"), strip: false, api: Mounted::Feathers },
    Mount { at: At::Prefix("/passkey-credentials"), strip: false, api: Mounted::Feathers },
    Mount { at: At::Prefix("/second-factor-challenges"), strip: false, api: Mounted::Feathers },
    Mount { at: At::Prefix("/oauth"), strip: false, api: Mounted::Feathers },
    Mount { at: At::Exact("/graphql"), strip: false, api: Mounted::Graphql },
    Mount { at: At::ExactGet("/api/check"), strip: false, api: Mounted::Check },
    Mount { at: At::Everything, strip: false, api: Mounted::Gotrue },
];

impl At {
    /// The path relative to the mount point, if `path` is under it.
    fn take<'p>(self, method: &Method, path: &'p str) -> Option<&'p str> {
        match self {
            At::Prefix(p) => path.strip_prefix(p).filter(|rest| rest.is_empty() || rest.starts_with('/')),
            At::StartsWith(p) => path.starts_with(p).then_some(""),
            At::Exact(p) => (path == p || path.strip_suffix('/') == Some(p)).then_some(""),
            At::ExactGet(p) => (path == p && method == Method::GET).then_some(""),
            At::Everything => Some(""),
        }
    }
}

/// Answers one request through the table of the dialect its path is mounted at.
async fn route<P: Ports + 'static>(flows: &Flows<P>, req: &Request<Body>) -> Response<Body> {
    let path = req.uri().path();
    // The last mount takes every path; GoTrue's is the answer for anything else too.
    let (api, relative) = MOUNTS
        .iter()
        .find_map(|m| m.at.take(req.method(), path).map(|rest| (m.api, if m.strip { rest } else { path })))
        .unwrap_or((Mounted::Gotrue, path));
    let dialect = match api {
        Mounted::Gotrue => Some(Dialect::Gotrue),
        Mounted::Passwordless => Some(Dialect::Passwordless),
        Mounted::Feathers => Some(Dialect::Feathers),
        Mounted::Graphql => Some(Dialect::Graphql),
        Mounted::Check => None,
    };
    if dialect.is_some_and(|d| !flows.config().serves(d)) {
        return not_served(flows, req, path).await;
    }
    match api {
        Mounted::Gotrue => dispatch::<gotrue::Api, P>(flows, req, relative).await,
        Mounted::Passwordless => dispatch::<passwordless::Api, P>(flows, req, relative).await,
        Mounted::Feathers => dispatch::<feathers::Api, P>(flows, req, relative).await,
        Mounted::Graphql => dispatch::<graphql::Api, P>(flows, req, relative).await,
        Mounted::Check => dispatch::<check::Api, P>(flows, req, relative).await,
    }
}

/// The answer for the paths of a dialect this deployment does not serve (`DIALECTS`):
/// exactly what an unknown path gets (GoTrue's 404 where GoTrue is served), so nobody can
/// tell which dialects are switched off.
async fn not_served<P: Ports + 'static>(flows: &Flows<P>, req: &Request<Body>, path: &str) -> Response<Body> {
    match flows.config().serves(Dialect::Gotrue) {
        true => dispatch::<gotrue::Api, P>(flows, req, path).await,
        false => json_response(StatusCode::NOT_FOUND, &serde_json::json!({"error": "not found"}), &[]),
    }
}

/// The CORS headers of an answer to a request from the web page at `origin`: for an allowed
/// origin, that origin (or `*` where every origin is, by choice), the headers GoTrue's clients
/// read, and on a preflight the methods and request headers they may use; for any other,
/// none, so the browser keeps the answer from the page and sends no request a preflight
/// guards. Where the list decides, every answer varies by `Origin`, for caches.
fn cors(allowed: &CorsOrigins, origin: Option<&str>, preflight: bool, h: &mut HeaderMap) {
    if let CorsOrigins::List(_) = allowed {
        h.append(VARY, HeaderValue::from_static("Origin"));
    }
    let Some(origin) = origin.filter(|o| allowed.allows(o)) else { return };
    let allow_origin = match allowed {
        CorsOrigins::Any => HeaderValue::from_static("*"),
        CorsOrigins::List(_) => match HeaderValue::from_str(origin) {
            Ok(v) => v,
            Err(_) => return,
        },
    };
    h.insert("access-control-allow-origin", allow_origin);
    h.insert(
        "access-control-expose-headers",
        HeaderValue::from_static("x-sb-error-code, x-supabase-api-version"),
    );
    if preflight {
        h.insert("access-control-allow-methods", HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"));
        h.insert(
            "access-control-allow-headers",
            HeaderValue::from_static("authorization, authentication, content-type, apikey, x-client-info, x-supabase-api-version"),
        );
        h.insert("access-control-max-age", HeaderValue::from_static("86400"));
    }
}
