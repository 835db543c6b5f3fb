//! django-graphql-jwt over `POST /graphql`: the mutations `tokenAuth`, `verifyToken`,
//! `refreshToken` and `revokeToken`, and a `me` query for the bearer of
//! `Authorization: JWT <token>` (also `Bearer`, and the header name `Authentication`).
//!
//! A small GraphQL engine for this one fixed schema parses, validates and runs each document,
//! with variables, aliases, fragments, directives and introspection; depth and complexity are
//! capped. It answers as async-graphql, which served this dialect before, did. Resolver
//! failures come back as upstream does: HTTP 200, `errors[].message/locations/path` with
//! upstream's messages and the field `null` in `data`. Documents that cannot run at all
//! (syntax, validation, variables) get 400, chosen in `describe` and `respond`.
//!
//! Tokens are HS256 with the payload `{username, sub, exp, origIat, sid}`: `sid` names the
//! session, so ending it (logout elsewhere, a password change, `revokeToken`) ends the token too.
//! `refreshToken` keeps `origIat` and refuses once the refresh window after it has passed.
//!
//! Here: the HTTP entry ([`handle`]), reading the request, the refusals before the engine,
//! the error shape ([`GqlError`]) and the statuses. The engine: `lexer.rs` and `syntax.rs`
//! parse into `ast.rs`'s document, `schema.rs` describes the schema, `validate.rs` checks a
//! document against it (with `usage.rs` for the rules over whole operations and `overlap.rs`
//! for conflicting response keys), and `execute.rs` runs it with `introspection.rs`. The
//! objects the fields return and the resolvers' errors are in `resolvers.rs`; the backend
//! that does their work over the flows, in `backend.rs`. The document bounds checked before
//! parsing are the sibling module `graphql_guard`; the route table, in `routes.rs`.

mod ast;
mod backend;
mod execute;
mod introspection;
mod lexer;
mod overlap;
mod resolvers;
mod routes;
mod schema;
pub(crate) mod syntax;
mod usage;
mod validate;

pub use resolvers::{GenericScalar, GraphqlError, Me, Obtained, Revoked, Verified, MAX_COMPLEXITY, MAX_DEPTH, TOKEN_AUTH_COMPLEXITY};
pub use routes::{Api, Endpoint};

use super::graphql_guard::{self, Limit};
use super::{json_response, Body, Refusal as AppRefusal};
use crate::flows::Flows;
use crate::ports::Ports;
use backend::EdgeBackend;
use http::{Method, Request, Response, StatusCode};
use serde_json::{json, Map, Value};
use syntax::Pos;

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
/// picks statuses. An executed document is 400 when it could not run at all (`data` null with errors: syntax,
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

/// An error as the response shows it: the message, where in the document, and the path of
/// the field it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct GqlError {
    message: String,
    locations: Option<Vec<Pos>>,
    path: Option<Vec<String>>,
    extensions: Option<Value>,
}

impl GqlError {
    fn new(message: impl Into<String>, locations: Option<Vec<Pos>>) -> Self {
        GqlError { message: message.into(), locations: locations.filter(|l| !l.is_empty()), path: None, extensions: None }
    }

    /// The error with GraphQL's `extensions` (what the client needs to act on it).
    fn with_extensions(mut self, extensions: Option<Value>) -> Self {
        self.extensions = extensions;
        self
    }

    /// The error, of the field at response key `key` of the root.
    fn at_path(mut self, key: &str) -> Self {
        self.path = Some(vec![key.to_string()]);
        self
    }

    fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("message".into(), Value::String(self.message.clone()));
        if let Some(locations) = &self.locations {
            let at = locations.iter().map(|p| json!({"line": p.line, "column": p.column})).collect();
            out.insert("locations".into(), Value::Array(at));
        }
        if let Some(path) = &self.path {
            out.insert("path".into(), json!(path));
        }
        if let Some(extensions) = &self.extensions {
            out.insert("extensions".into(), extensions.clone());
        }
        Value::Object(out)
    }
}

/// The request's GraphQL parts.
struct GraphqlRequest {
    query: String,
    variables: Map<String, Value>,
    operation_name: Option<String>,
}

/// `{data, errors}`, and its status: 400 when nothing ran (errors without data), else 200.
fn respond(data: Value, errors: &[GqlError]) -> Response<Body> {
    let status = if !errors.is_empty() && data.is_null() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let mut body = Map::new();
    body.insert("data".into(), data);
    if !errors.is_empty() {
        body.insert("errors".into(), Value::Array(errors.iter().map(GqlError::to_json).collect()));
    }
    json_response(status, &Value::Object(body), &[])
}

/// A refusal in GraphQL's error shape.
pub fn refuse(refusal: Refusal) -> Response<Body> {
    let (status, message) = describe(refusal);
    json_response(status, &json!({"errors": [{"message": message}]}), &[])
}

/// Serves `POST /graphql`.
pub async fn handle<P: Ports + 'static>(auth: Flows<P>, req: &Request<Body>) -> Response<Body> {
    let request = match parse(req) {
        Ok(r) => r,
        Err(refusal) => return refuse(refusal),
    };
    // Bounded before the parser (which recurses per nesting level) and before validation and
    // the limits below (which expand fragments). A document that does not parse is reported
    // as a syntax error.
    if let Err(limit) = graphql_guard::check_text(&request.query) {
        return refuse(Refusal::Limit(limit));
    }
    let doc = match syntax::parse(&request.query) {
        Ok(doc) => doc,
        Err(e) => return respond(Value::Null, &[GqlError::new(e.message, Some(e.locations))]),
    };
    if let Err(limit) = graphql_guard::check_document(&doc) {
        return refuse(Refusal::Limit(limit));
    }
    if let Err(errors) = validate::validate(&doc, &request.variables) {
        return respond(Value::Null, &errors);
    }
    let operation = match execute::choose(&doc, request.operation_name.as_deref()) {
        Ok(op) => op,
        Err(e) => return respond(Value::Null, &[e]),
    };
    let backend = EdgeBackend {
        platform: super::platform(req.headers()),
        bearer: <Api as crate::dialects::routes::Api>::credential(req.headers()).map(str::to_string),
        auth,
    };
    let (data, errors) = execute::execute(&doc, operation, &request.variables, &backend).await;
    respond(data, &errors)
}

/// The GraphQL request in an HTTP request: `{query, variables?, operationName?}`.
fn parse(req: &Request<Body>) -> Result<GraphqlRequest, Refusal> {
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
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(v)) => v.clone(),
        Some(_) => return Err(Refusal::Variables),
    };
    let operation_name = match fields.get("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name.clone()),
        Some(_) => return Err(Refusal::OperationName),
    };
    Ok(GraphqlRequest { query: query.clone(), variables, operation_name })
}
