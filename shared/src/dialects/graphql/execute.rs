//! Execution of a validated operation: choosing it by `operationName`, collecting each
//! selection set's fields (`@skip`/`@include`, fragments whose type applies), coercing
//! arguments with the variables, running the root fields one after another, and shaping the
//! answers by their selections, as async-graphql did: a field whose arguments cannot be read
//! is left out with its error, an object left with no fields is `null`, and a resolver's
//! failure is the field `null` with its error.
//!
//! Not here: the resolvers' work (`resolvers.rs`, `backend.rs`), introspection's answers.

use super::introspection::{type_by_name, Answer, Node};
use super::resolvers::{Backend, GraphqlError};
use super::syntax::{Document, Field, Operation, OperationKind, Pos, Selection, SelectionSet, Value};
use super::GqlError;
use crate::secret::{Password, RefreshSecret, Secret};
use serde_json::{Map, Value as Json};

/// The operation `name` picks (async-graphql's rules and messages).
pub fn choose<'d>(doc: &'d Document, name: Option<&str>) -> Result<&'d Operation, GqlError> {
    match name {
        Some(name) => doc
            .operations
            .iter()
            .find(|o| o.name.as_ref().is_some_and(|n| n.name == name))
            .ok_or_else(|| GqlError::new(format!("Unknown operation named \"{name}\""), None)),
        None if doc.operations.len() == 1 => doc.operations.first().ok_or_else(|| GqlError::new("", None)),
        None => Err(GqlError::new("Operation name required in request.", None)),
    }
}

/// Runs `op`; the `data` and the field errors.
pub async fn execute(doc: &Document, op: &Operation, variables: &Map<String, Json>, backend: &dyn Backend) -> (Json, Vec<GqlError>) {
    let mut run = Run { doc, op, variables, errors: Vec::new() };
    let root = if op.kind == OperationKind::Mutation { "Mutation" } else { "Query" };
    let mut data = Map::new();
    for field in run.collect(&op.selection_set, root) {
        let key = field.key().to_string();
        let value = if field.name.name == "__typename" {
            Json::String(root.into())
        } else {
            match run.root_field(field, backend).await {
                Ok(v) => v,
                Err(e) => {
                    run.errors.push(e.at_path(&key));
                    continue;
                }
            }
        };
        insert(&mut data, key, value);
    }
    (object_or_null(data), run.errors)
}

struct Run<'a> {
    doc: &'a Document,
    op: &'a Operation,
    variables: &'a Map<String, Json>,
    errors: Vec<GqlError>,
}

impl<'a> Run<'a> {
    /// The fields `set` selects on an object of type `ty`, in order.
    fn collect(&self, set: &'a SelectionSet, ty: &str) -> Vec<&'a Field> {
        let mut out = Vec::new();
        self.collect_into(set, ty, &mut out, 0);
        out
    }

    fn collect_into(&self, set: &'a SelectionSet, ty: &str, out: &mut Vec<&'a Field>, depth: usize) {
        if depth > 64 {
            return;
        }
        for selection in &set.items {
            match selection {
                Selection::Field(f) if !self.skipped(&f.directives) => out.push(f),
                Selection::Field(_) => {}
                Selection::Spread { name, directives, .. } => {
                    if let (false, Some(fragment)) = (self.skipped(directives), self.doc.fragment(&name.name)) {
                        if fragment.on.name == ty {
                            self.collect_into(&fragment.selection_set, ty, out, depth + 1);
                        }
                    }
                }
                Selection::Inline { on, directives, selection_set, .. } => {
                    if !self.skipped(directives) && on.as_ref().is_none_or(|on| on.name == ty) {
                        self.collect_into(selection_set, ty, out, depth + 1);
                    }
                }
            }
        }
    }

    /// `@skip(if: true)` or `@include` without `if: true` (a missing variable reads false).
    fn skipped(&self, directives: &[super::syntax::Directive]) -> bool {
        directives.iter().any(|d| {
            let include = match d.name.name.as_str() {
                "skip" => false,
                "include" => true,
                _ => return false,
            };
            let Some(arg) = d.arguments.iter().find(|a| a.name.name == "if") else { return false };
            let value = self.value(&arg.value, arg.pos).ok();
            include != (value == Some(Json::Bool(true)))
        })
    }

    /// A literal with the variables put in.
    fn value(&self, value: &Value, pos: Pos) -> Result<Json, GqlError> {
        Ok(match value {
            Value::Variable(name) => self
                .variables
                .get(name)
                .cloned()
                .or_else(|| {
                    let def = self.op.variables.iter().find(|d| d.name.name == *name)?;
                    def.default.as_ref().and_then(|(p, v)| self.value(v, *p).ok())
                })
                .filter(|_| self.op.variables.iter().any(|d| d.name.name == *name))
                .ok_or_else(|| GqlError::new(format!("Variable {name} is not defined."), Some(vec![pos])))?,
            Value::Number(n) => Json::Number(n.clone()),
            Value::String(s) | Value::Enum(s) => Json::String(s.clone()),
            Value::Boolean(b) => Json::Bool(*b),
            Value::Null => Json::Null,
            Value::List(items) => Json::Array(items.iter().map(|i| self.value(i, pos)).collect::<Result<_, _>>()?),
            Value::Object(fields) => {
                Json::Object(fields.iter().map(|(k, v)| Ok((k.clone(), self.value(v, pos)?))).collect::<Result<_, GqlError>>()?)
            }
        })
    }

    /// A string argument (`required` for `String!`), as async-graphql parsed it.
    fn string(&self, field: &Field, name: &str, required: bool) -> Result<Option<String>, GqlError> {
        let Some(arg) = field.arguments.iter().find(|a| a.name.name == name) else {
            return if required { Err(parse_error("String", "null", Pos::default())) } else { Ok(None) };
        };
        match self.value(&arg.value, arg.pos)? {
            Json::String(s) => Ok(Some(s)),
            Json::Null if !required => Ok(None),
            other => Err(parse_error("String", &other.to_string(), arg.pos)),
        }
    }

    async fn root_field(&mut self, field: &'a Field, backend: &dyn Backend) -> Result<Json, GqlError> {
        let name = field.name.name.as_str();
        let result = match name {
            "__schema" => return Ok(self.node(Node::Schema, &field.selection_set)),
            "__type" => {
                let wanted = self.string(field, "name", true)?.unwrap_or_default();
                return Ok(type_by_name(&wanted).map_or(Json::Null, |n| self.node(n, &field.selection_set)));
            }
            "me" => backend.me().await.map(|m| m.fields()),
            "tokenAuth" => {
                let username = self.string(field, "username", true)?.unwrap_or_default();
                let password = self.string(field, "password", true)?.unwrap_or_default();
                backend.token_auth(username, Password::new(password)).await.map(|o| o.fields())
            }
            "verifyToken" => {
                let token = self.string(field, "token", false)?;
                backend.verify(token.unwrap_or_default()).await.map(|v| v.fields())
            }
            "refreshToken" => {
                let token = self.string(field, "token", false)?;
                let refresh = self.string(field, "refreshToken", false)?;
                backend.refresh(token, refresh.map(RefreshSecret::new)).await.map(|o| o.fields())
            }
            "totpAuth" => {
                let ticket = self.string(field, "ticket", true)?.unwrap_or_default();
                let code = self.string(field, "code", true)?.unwrap_or_default();
                let factor = self.string(field, "factorId", false)?;
                backend.totp_auth(Secret::new(ticket), code, factor).await.map(|o| o.fields())
            }
            "webauthnChallenge" => {
                let ticket = self.string(field, "ticket", true)?.unwrap_or_default();
                let factor = self.string(field, "factorId", false)?;
                backend.webauthn_challenge(Secret::new(ticket), factor).await.map(|c| c.fields())
            }
            "webauthnAuth" => {
                let ticket = self.string(field, "ticket", true)?.unwrap_or_default();
                let challenge = self.string(field, "challengeId", true)?.unwrap_or_default();
                let credential = self.string(field, "credential", true)?.unwrap_or_default();
                let factor = self.string(field, "factorId", false)?;
                backend.webauthn_auth(Secret::new(ticket), challenge, credential, factor).await.map(|o| o.fields())
            }
            "revokeToken" => {
                let refresh = self.string(field, "refreshToken", true)?.unwrap_or_default();
                backend.revoke(RefreshSecret::new(refresh)).await.map(|r| r.fields())
            }
            _ => return Ok(Json::Null),
        };
        Ok(match result {
            Ok((ty, fields)) => self.object(ty, &fields, &field.selection_set),
            Err(e) => {
                self.errors.push(resolver_error(&e, field));
                Json::Null
            }
        })
    }

    /// An object of the schema's own types, from all its field values.
    fn object(&mut self, ty: &str, fields: &Map<String, Json>, set: &'a SelectionSet) -> Json {
        let mut out = Map::new();
        for f in self.collect(set, ty) {
            let value = match f.name.name.as_str() {
                "__typename" => Json::String(ty.into()),
                name => fields.get(name).cloned().unwrap_or(Json::Null),
            };
            insert(&mut out, f.key().to_string(), value);
        }
        object_or_null(out)
    }

    /// An introspection node, by its selection.
    fn node(&mut self, node: Node, set: &'a SelectionSet) -> Json {
        let mut out = Map::new();
        for f in self.collect(set, node.type_name()) {
            let value = match f.name.name.as_str() {
                "__typename" => Json::String(node.type_name().into()),
                name => match node.answer(name) {
                    Answer::Leaf(v) => v,
                    Answer::One(n) => self.node(n, &f.selection_set),
                    Answer::Many(ns) => Json::Array(ns.into_iter().map(|n| self.node(n, &f.selection_set)).collect()),
                },
            };
            insert(&mut out, f.key().to_string(), value);
        }
        object_or_null(out)
    }
}

/// An input that does not parse as its type, in async-graphql's words.
fn parse_error(ty: &str, found: &str, pos: Pos) -> GqlError {
    GqlError::new(format!("Failed to parse \"{ty}\": Expected input type \"{ty}\", found {found}."), Some(vec![pos]))
}

/// A resolver's failure at its field.
fn resolver_error(e: &GraphqlError, field: &Field) -> GqlError {
    GqlError::new(e.message(), Some(vec![field.pos])).at_path(field.key()).with_extensions(e.extensions())
}

/// Sets a response key, merging objects selected twice under one key.
fn insert(map: &mut Map<String, Json>, key: String, value: Json) {
    match (map.get_mut(&key), value) {
        (Some(Json::Object(prev)), Json::Object(next)) => {
            for (k, v) in next {
                insert(prev, k, v);
            }
        }
        (_, value) => {
            map.insert(key, value);
        }
    }
}

/// async-graphql answered an object without fields as `null`.
fn object_or_null(map: Map<String, Json>) -> Json {
    if map.is_empty() {
        Json::Null
    } else {
        Json::Object(map)
    }
}
