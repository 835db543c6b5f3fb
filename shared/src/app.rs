//! The HTTP app: `(method, path, headers, body) -> response`, independent of the runtime.
//!
//! Routes each request to its dialect (`/auth/v1/*` and other root paths: GoTrue; `/auth/*`:
//! passwordless; `/users*` and `/authentication*`: Feathers; `/graphql`: graphql-jwt;
//! `/api/check`), answers 404 for the dialects `DIALECTS` leaves out, enforces the body size
//! limit before any parsing, and
//! answers CORS (bearer tokens, no cookies, so any origin may call). It holds no rules of its
//! own: those are in the flows, and wire shapes are in the dialects.

use crate::dialects::{check, feathers, gotrue, graphql, json_response, passwordless, Body, MediaType, Refusal};
use crate::flows::{Auth, Dialect, FlowError};
use crate::ports::Ports;
use crate::Config;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use std::rc::Rc;

/// Largest request body accepted, in bytes. Auth requests are small; this bounds parsing work.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole service over one set of ports.
pub struct App<P> {
    // Shared with the GraphQL executor, whose request data must own what it holds.
    auth: Rc<Auth<P>>,
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

    /// Sends the mail the last answered requests queued. Adapters call it once the answer is
    /// on its way (the worker in `ctx.waitUntil`), so no answer waits for, or reveals, a mail.
    pub async fn send_queued(&self) {
        self.auth.send_queued().await;
    }

    /// Answers one request; mail it causes is only queued (see [`App::send_queued`]).
    pub async fn handle(&self, req: Request<Body>) -> Response<Body> {
        // Cloudflare sets CF-Connecting-IP on every request that reaches the worker.
        let client = crate::dialects::header(req.headers(), "cf-connecting-ip").unwrap_or("unknown");
        self.auth.set_client(client.trim());
        let mut response = if req.method() == Method::OPTIONS {
            preflight()
        } else {
            self.route(&req).await
        };
        if req.headers().contains_key("origin") {
            let h = response.headers_mut();
            h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
            h.insert(
                "access-control-expose-headers",
                HeaderValue::from_static("x-sb-error-code, x-supabase-api-version"),
            );
        }
        response
    }

    async fn route(&self, req: &Request<Body>) -> Response<Body> {
        let path = req.uri().path().to_string();
        let served = |d: Dialect| self.auth.config().serves(d);
        let gotrue_mount = path.strip_prefix("/auth/v1").filter(|p| p.is_empty() || p.starts_with('/'));
        if let Some(gotrue_path) = gotrue_mount {
            if !served(Dialect::Gotrue) {
                return self.not_served(req, &path).await;
            }
            return self.gotrue(req, gotrue_path).await;
        }
        if path.starts_with("/auth/") {
            if !served(Dialect::Passwordless) {
                return self.not_served(req, &path).await;
            }
            let body_type = match passwordless::takes_form(req.method(), &path) {
                true => MediaType::Form,
                false => MediaType::Json,
            };
            if let Some(r) = refusal(req, body_type) {
                return passwordless::render_error(&self.auth, &passwordless::PasswordlessError::Refused(r));
            }
            return passwordless::handle(&self.auth, req, &path).await;
        }
        if feathers::owns(&path) {
            if !served(Dialect::Feathers) {
                return self.not_served(req, &path).await;
            }
            if let Some(r) = refusal(req, MediaType::Json) {
                return feathers::render_error(&self.auth, &feathers::FeathersError::Refused(r));
            }
            return feathers::handle(&self.auth, req, &path).await;
        }
        if path == "/graphql" || path == "/graphql/" {
            if !served(Dialect::Graphql) {
                return self.not_served(req, &path).await;
            }
            if let Some(r) = refusal(req, MediaType::Json) {
                return graphql::refuse(graphql::Refusal::App(r));
            }
            return graphql::handle(Rc::clone(&self.auth), req).await;
        }
        if path == "/api/check" && req.method() == Method::GET {
            return check::handle(&self.auth, req).await;
        }
        if !served(Dialect::Gotrue) {
            return self.not_served(req, &path).await;
        }
        self.gotrue(req, &path).await
    }

    /// The answer for the paths of a dialect this deployment does not serve (`DIALECTS`):
    /// exactly what an unknown path gets (GoTrue's 404 where GoTrue is served), so nobody can
    /// tell which dialects are switched off.
    async fn not_served(&self, req: &Request<Body>, path: &str) -> Response<Body> {
        match self.auth.config().serves(Dialect::Gotrue) {
            true => self.gotrue(req, path).await,
            false => json_response(StatusCode::NOT_FOUND, &serde_json::json!({"error": "not found"}), &[]),
        }
    }

    async fn gotrue(&self, req: &Request<Body>, path: &str) -> Response<Body> {
        if let Some(r) = refusal(req, MediaType::Json) {
            return gotrue::render_error(&self.auth, req.headers(), &gotrue::GotrueError::Refused(r));
        }
        gotrue::handle(&self.auth, req, path).await
    }
}

/// Marks a request whose adapter dropped a header it could not convert (a name with byte
/// 0xff, say): the app answers it 400, in the dialect's shape.
pub const MALFORMED_HEADER_MARK: &str = "x-portcullis-malformed-header";

/// Why the request is refused before any handler reads it, if it is: a header the adapter
/// could not convert, a body over [`MAX_BODY_BYTES`] (adapters may skip reading one whose
/// declared length is over it), or a body that is not of `body_type`. Bodiless requests take
/// any `Content-Type`.
fn refusal(req: &Request<Body>, body_type: MediaType) -> Option<Refusal> {
    let headers = req.headers();
    if headers.contains_key(MALFORMED_HEADER_MARK) {
        return Some(Refusal::MalformedHeader);
    }
    let declared = crate::dialects::header(headers, "content-length")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if req.body().len() > MAX_BODY_BYTES || declared > MAX_BODY_BYTES as u64 {
        return Some(Refusal::TooLarge);
    }
    let content_type = crate::dialects::header(headers, "content-type").unwrap_or_default();
    if !req.body().is_empty() && !body_type.accepts(content_type) {
        return Some(Refusal::MediaType(body_type));
    }
    None
}


fn preflight() -> Response<Body> {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header("access-control-allow-methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
        .header(
            "access-control-allow-headers",
            "authorization, authentication, content-type, apikey, x-client-info, x-supabase-api-version",
        )
        .header("access-control-max-age", "86400")
        .body(Vec::new())
        .unwrap_or_else(|_| Response::new(Vec::new()))
}
