//! The HTTP app: `(method, path, headers, body) -> response`, independent of the runtime.
//!
//! Routes each request to its dialect (`/auth/v1/*` and other root paths: GoTrue; `/auth/*`:
//! passwordless; `/users*` and `/authentication*`: Feathers; `/graphql`: graphql-jwt;
//! `/api/check`), answers 404 for the dialects `DIALECTS` leaves out, enforces the body size
//! limit before any parsing, and
//! answers CORS (bearer tokens, no cookies, so any origin may call). It holds no rules of its
//! own: those are in the flows, and wire shapes are in the dialects.

use crate::dialects::{check, feathers, gotrue, graphql, json_response, passwordless, Body};
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
        let declared = crate::dialects::header(req.headers(), "content-length")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        // Adapters may skip reading a body whose declared length is over the limit.
        let too_large = req.body().len() > MAX_BODY_BYTES || declared > MAX_BODY_BYTES as u64;
        let served = |d: Dialect| self.auth.config().serves(d);
        let gotrue_mount = path.strip_prefix("/auth/v1").filter(|p| p.is_empty() || p.starts_with('/'));
        if let Some(gotrue_path) = gotrue_mount {
            if !served(Dialect::Gotrue) {
                return self.not_served(req, &path, too_large).await;
            }
            return self.gotrue(req, gotrue_path, too_large).await;
        }
        if path.starts_with("/auth/") {
            if !served(Dialect::Passwordless) {
                return self.not_served(req, &path, too_large).await;
            }
            if too_large {
                let e = passwordless::PasswordlessError::PayloadTooLarge;
                return passwordless::render_error(&self.auth, &e);
            }
            return passwordless::handle(&self.auth, req, &path).await;
        }
        if feathers::owns(&path) {
            if !served(Dialect::Feathers) {
                return self.not_served(req, &path, too_large).await;
            }
            if too_large {
                return feathers::render_error(&self.auth, &feathers::FeathersError::PayloadTooLarge);
            }
            return feathers::handle(&self.auth, req, &path).await;
        }
        if path == "/graphql" || path == "/graphql/" {
            if !served(Dialect::Graphql) {
                return self.not_served(req, &path, too_large).await;
            }
            if too_large {
                return graphql::refuse(graphql::Refusal::TooLarge);
            }
            return graphql::handle(Rc::clone(&self.auth), req).await;
        }
        if path == "/api/check" && req.method() == Method::GET {
            return check::handle(&self.auth, req).await;
        }
        if !served(Dialect::Gotrue) {
            return self.not_served(req, &path, too_large).await;
        }
        self.gotrue(req, &path, too_large).await
    }

    /// The answer for the paths of a dialect this deployment does not serve (`DIALECTS`):
    /// exactly what an unknown path gets (GoTrue's 404 where GoTrue is served), so nobody can
    /// tell which dialects are switched off.
    async fn not_served(&self, req: &Request<Body>, path: &str, too_large: bool) -> Response<Body> {
        match self.auth.config().serves(Dialect::Gotrue) {
            true => self.gotrue(req, path, too_large).await,
            false => json_response(StatusCode::NOT_FOUND, &serde_json::json!({"error": "not found"}), &[]),
        }
    }

    async fn gotrue(&self, req: &Request<Body>, path: &str, too_large: bool) -> Response<Body> {
        if too_large {
            return gotrue::render_error(&self.auth, req.headers(), &gotrue::GotrueError::PayloadTooLarge);
        }
        gotrue::handle(&self.auth, req, path).await
    }
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
