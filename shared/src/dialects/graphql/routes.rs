//! graphql-jwt's route table: one endpoint, `/graphql`, open to anyone. Its operations
//! authenticate per field (a token argument, or the `Authorization` header), as
//! django-graphql-jwt does, so the route itself guards nothing.

use super::{handle, refuse, Refusal};
use crate::dialects::{header, Body};
use crate::dialects::routes::{self, Guard, Hit, Refused, Route, Verb};
use crate::flows::{Dialect, Flows};
use crate::ports::Ports;
use http::{HeaderMap, Request, Response};

/// The one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/graphql` (the executor answers a method other than POST itself).
    Graphql,
}

/// graphql-jwt's routes.
pub struct Api;

impl routes::Api for Api {
    type Endpoint = Endpoint;
    const ROUTES: &'static [Route<Endpoint>] = &[Route::json(Verb::Any, "/graphql", Guard::Open, Endpoint::Graphql)];
    const ACCEPTS: &'static [Dialect] = &[Dialect::Graphql];

    fn normalize(path: &str) -> &str {
        path.trim_end_matches('/')
    }

    /// `Authorization` (or `Authentication`): `JWT <token>` or `Bearer <token>`. The route is
    /// open; the operations that act for a bearer (`me`, and `verifyToken` without an
    /// argument) read it from here.
    fn credential(headers: &HeaderMap) -> Option<&str> {
        let value = header(headers, "authorization").or_else(|| header(headers, "authentication"))?;
        let (scheme, token) = value.trim().split_once(' ')?;
        let known = scheme.eq_ignore_ascii_case("jwt") || scheme.eq_ignore_ascii_case("bearer");
        Some(token.trim()).filter(|t| known && !t.is_empty())
    }

    fn refuse<P: Ports>(_flows: &Flows<P>, _req: &Request<Body>, why: Refused<Endpoint>) -> Response<Body> {
        match why {
            Refused::Request(r) => refuse(Refusal::App(r)),
            Refused::NoRoute | Refused::Guard(..) => refuse(Refusal::Method),
        }
    }

    async fn serve<P: Ports + 'static>(flows: &Flows<P>, req: &Request<Body>, _hit: Hit<'_, Endpoint>) -> Response<Body> {
        handle(flows.clone(), req).await
    }
}
