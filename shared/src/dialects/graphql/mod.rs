//! django-graphql-jwt over `POST /graphql`: the mutations `tokenAuth`, `verifyToken`,
//! `refreshToken` and `revokeToken`, and a `me` query for the bearer of
//! `Authorization: JWT <token>` (also `Bearer`, and the header name `Authentication`).
//!
//! A real GraphQL executor (async-graphql) parses, validates and runs each document, with
//! variables, aliases, fragments and introspection; depth and complexity are capped. Resolver
//! failures come back as upstream does: HTTP 200, `errors[].message/locations/path` with
//! upstream's messages and the field `null` in `data`. Documents that cannot run at all
//! (syntax, validation, variables) get 400, chosen in `describe` and `status_of`.
//!
//! Tokens are HS256 with the payload `{username, sub, exp, origIat, sid}`: `sid` names the
//! session, so ending it (logout elsewhere, a password change, `revokeToken`) ends the token too.
//! `refreshToken` keeps `origIat` and refuses once the refresh window after it has passed.
//!
//! Here: the HTTP entry ([`handle`]), reading the request, the refusals before the executor and
//! the statuses. The schema, its types and resolvers are in `resolvers.rs`; the backend that
//! runs them over the flows, with its mapping of flow errors, in `backend.rs`. The document
//! bounds checked before the executor are the sibling module `graphql_guard`; the route
//! table, in `routes.rs`.

mod backend;
mod resolvers;
mod routes;

pub use routes::{Api, Endpoint};
pub use resolvers::{
    schema, GenericScalar, GraphqlError, Me, Mutation, Obtained, Query, Revoked, Verified, MAX_COMPLEXITY, MAX_DEPTH,
    TOKEN_AUTH_COMPLEXITY,
};

use super::graphql_guard::{self, Limit};
use super::{json_response, Body, Refusal as AppRefusal};
use crate::flows::Flows;
use crate::ports::Ports;
use async_graphql::{Value as GqlValue, Variables};
use backend::EdgeBackend;
use http::{Method, Request, Response, StatusCode};
use resolvers::Backend;
use send_wrapper::SendWrapper;
use serde_json::{json, Value};
use std::rc::Rc;

/// A request refused before it reached the executor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a POST.
    Method,
    /// The body is not JSON.
    Json,
    /// A JSON array: a batch.
    Batch,
    /// JSON, but not an object.
    NotObject,
    /// No `query` string.
    NoQuery,
    /// `variables` is not an object.
    Variables,
    /// `operationName` is not a string.
    OperationName,
    /// The app refused the request before reading it (size, headers, content type).
    App(AppRefusal),
    /// The document breaks one of the bounds of `graphql_guard`.
    Limit(Limit),
}

/// Status and message of a refusal, and of an executed document: the one place this dialect
/// picks statuses. An executed document is 400 when it could not run at all (no `data`: syntax,
/// validation, variables, limits), else 200 with any resolver errors inside.
fn describe(refusal: Refusal) -> (StatusCode, String) {
    let bad = StatusCode::BAD_REQUEST;
    match refusal {
        Refusal::Method => (StatusCode::METHOD_NOT_ALLOWED, "GraphQL only supports POST requests here.".into()),
        Refusal::Json => (bad, "POST body sent invalid JSON.".into()),
        Refusal::Batch => (bad, "Batch GraphQL requests are not enabled.".into()),
        Refusal::NotObject => (bad, "POST body must be a JSON object.".into()),
        Refusal::NoQuery => (bad, "Must provide query string.".into()),
        Refusal::Variables => (bad, "Variables are invalid JSON.".into()),
        Refusal::OperationName => (bad, "operationName must be a string.".into()),
        Refusal::App(r) => {
            let (status, message) = r.status_and_message();
            (StatusCode::from_u16(status).unwrap_or(bad), message)
        }
        Refusal::Limit(limit) => (bad, limit.message()),
    }
}

fn status_of(response: &async_graphql::Response) -> StatusCode {
    match (response.errors.is_empty(), &response.data) {
        (false, GqlValue::Null) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

/// A refusal in GraphQL's error shape.
pub fn refuse(refusal: Refusal) -> Response<Body> {
    let (status, message) = describe(refusal);
    json_response(status, &json!({"errors": [{"message": message}]}), &[])
}

/// Serves `POST /graphql`.
pub async fn handle<P: Ports + 'static>(auth: Flows<P>, req: &Request<Body>) -> Response<Body> {
    let mut request = match parse(req) {
        Ok(r) => r,
        Err(refusal) => return refuse(refusal),
    };
    // Bounded before async-graphql parses (its parser recurses per nesting level) and before
    // it validates (its checks expand fragments without memoising). A document that does not
    // parse is left to the executor, which reports the syntax error.
    if let Err(limit) = graphql_guard::check_text(&request.query) {
        return refuse(Refusal::Limit(limit));
    }
    if let Ok(doc) = request.parsed_query() {
        if let Err(limit) = graphql_guard::check_document(doc) {
            return refuse(Refusal::Limit(limit));
        }
    }
    let backend: Rc<dyn Backend> = Rc::new(EdgeBackend {
        platform: super::platform(req.headers()),
        bearer: <Api as crate::dialects::routes::Api>::credential(req.headers()).map(str::to_string),
        auth,
    });
    let response = schema().execute(request.data(SendWrapper::new(backend))).await;
    let status = status_of(&response);
    json_response(status, &serde_json::to_value(&response).unwrap_or_default(), &[])
}

/// The GraphQL request in an HTTP request: `{query, variables?, operationName?}`.
fn parse(req: &Request<Body>) -> Result<async_graphql::Request, Refusal> {
    if req.method() != Method::POST {
        return Err(Refusal::Method);
    }
    let fields = match serde_json::from_slice(req.body()).map_err(|_| Refusal::Json)? {
        Value::Object(fields) => fields,
        Value::Array(_) => return Err(Refusal::Batch),
        _ => return Err(Refusal::NotObject),
    };
    let Some(Value::String(query)) = fields.get("query") else {
        return Err(Refusal::NoQuery);
    };
    let variables = match fields.get("variables") {
        None | Some(Value::Null) => Variables::default(),
        Some(v @ Value::Object(_)) => Variables::from_json(v.clone()),
        Some(_) => return Err(Refusal::Variables),
    };
    let request = async_graphql::Request::new(query.as_str()).variables(variables);
    match fields.get("operationName") {
        None | Some(Value::Null) => Ok(request),
        Some(Value::String(name)) => Ok(request.operation_name(name.as_str())),
        Some(_) => Err(Refusal::OperationName),
    }
}

