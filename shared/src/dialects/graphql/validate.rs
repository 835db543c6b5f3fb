//! Validation of a parsed document against the schema, with async-graphql's rules and
//! messages: unknown fields, types, arguments and fragments, argument and variable types,
//! required arguments, leaf selections, fragment conditions, directive locations, conflicting
//! response keys; then the recursion, depth and complexity bounds. Errors come in document
//! order (fragments first, then operations, as async-graphql visited them), those that need
//! the whole document last; at most a hundred of them ([`MAX_ERRORS`]).
//!
//! Not here: the rules over an operation with the fragments it reaches (undefined, unused and
//! misplaced variables, unused fragments: `usage.rs`, fed what this walk records), how
//! conflicting response keys are found (`overlap.rs`, called on each selection set), the
//! bounds checked before parsing (`graphql_guard`), execution.

use super::overlap;
use super::schema::{directive_named, type_named, FieldDef, InputDef, Kind, TypeDef, TypeRef};
use super::syntax::{Argument, Directive, Document, Fragment, OperationKind, Pos, Selection, SelectionSet, Type, Value};
use super::usage::{whole_document, Scope};
use super::{GqlError, MAX_COMPLEXITY, MAX_DEPTH, TOKEN_AUTH_COMPLEXITY};
use crate::dialects::graphql_guard::MAX_EXPANDED_FIELDS;
use serde_json::{Map, Value as Json};
use std::collections::HashMap;

/// Deepest nesting of selection sets (fragment spreads counting one), as async-graphql's
/// `limit_recursive_depth(32)`.
const MAX_RECURSIVE_DEPTH: usize = 32;

/// Most validation errors an answer lists, then graphql-core's notice that it stopped (its
/// `max_errors` and graphql-js's `maxErrors` default): past a hundred the document is
/// nonsense, and listing every error let a 10 KB document ask for a 120 KB answer.
const MAX_ERRORS: usize = 100;

/// Work the conflicting-response-key checks of one document may take (`overlap.rs`). When all
/// its fragments serve its operations, they walk each selection the guard counted once for each
/// selection set between it and its field (inline fragments and spreads, at most
/// [`MAX_RECURSIVE_DEPTH`]): at most half of this, a few milliseconds. Unused fragments, which
/// the guard does not count, thousands of conflicts or arguments by the hundred can spend it,
/// and the document is refused as too complex.
const CONFLICT_BUDGET: usize = 2 * MAX_EXPANDED_FIELDS as usize * (MAX_RECURSIVE_DEPTH + 1);

/// Checks `doc`; the errors, if any, as the response shows them.
pub fn validate(doc: &Document, variables: &Map<String, Json>) -> Result<(), Vec<GqlError>> {
    recursive_depth(doc)?;
    let mut v = Validator { doc, variables, errors: Vec::new(), scope: Scope::default(), budget: CONFLICT_BUDGET };
    let mut scopes = Vec::new();
    for fragment in &doc.fragments {
        v.fragment(fragment);
        scopes.push(std::mem::take(&mut v.scope));
    }
    let mut op_scopes = Vec::new();
    for op in &doc.operations {
        if op.kind == OperationKind::Subscription {
            // async-graphql's two visits of the document each said so.
            v.error("Schema is not configured for subscriptions.", op.pos);
            v.error("Schema is not configured for subscriptions.", op.pos);
            op_scopes.push(Scope::default());
            continue;
        }
        let root = type_named(if op.kind == OperationKind::Query { "Query" } else { "Mutation" });
        let mut seen: Vec<&str> = Vec::new();
        for def in &op.variables {
            let name = def.ty.named();
            if let Some((_, default)) = &def.default {
                if type_named(name).is_some() && !valid_input(default, &def.ty, &|_| None) {
                    v.error(format!("Invalid default value for argument: \"{}\", expected type \"{name}\"", def.name.name), def.pos);
                }
            }
            match type_named(name) {
                None => {
                    v.error(format!("Unknown type \"{name}\""), def.pos);
                    v.error(format!("Unknown type \"{name}\""), def.pos);
                }
                Some(t) if t.kind == Kind::Object => {
                    v.error(format!("Variable \"{}\" cannot be of non-input type \"{name}\"", def.name.name), def.pos)
                }
                Some(_) => {}
            }
            if seen.contains(&def.name.name.as_str()) {
                v.error(format!("There can only be one variable named \"${}\"", def.name.name), def.pos);
            }
            seen.push(&def.name.name);
            v.directives(&def.directives, "VARIABLE_DEFINITION");
        }
        let location = if op.kind == OperationKind::Query { "QUERY" } else { "MUTATION" };
        v.directives(&op.directives, location);
        v.selection_set(&op.selection_set, root);
        op_scopes.push(std::mem::take(&mut v.scope));
    }
    v.errors.extend(whole_document(doc, &scopes, &op_scopes));
    let (complexity, depth) = cost(doc);
    if complexity > MAX_COMPLEXITY || v.budget == 0 {
        return Err(vec![GqlError::new("Query is too complex.", None)]);
    }
    if depth > MAX_DEPTH {
        return Err(vec![GqlError::new("Query is nested too deep.", None)]);
    }
    if v.errors.len() > MAX_ERRORS {
        v.errors.truncate(MAX_ERRORS);
        v.errors.push(GqlError::new("Too many validation errors, error limit reached. Validation aborted.", None));
    }
    if v.errors.is_empty() {
        Ok(())
    } else {
        Err(v.errors)
    }
}

struct Validator<'a> {
    doc: &'a Document,
    variables: &'a Map<String, Json>,
    errors: Vec<GqlError>,
    /// What the current definition uses.
    scope: Scope,
    /// What is left of [`CONFLICT_BUDGET`].
    budget: usize,
}

impl<'a> Validator<'a> {
    fn error(&mut self, message: impl Into<String>, pos: Pos) {
        self.errors.push(GqlError::new(message, Some(vec![pos])));
    }

    fn fragment(&mut self, fragment: &'a Fragment) {
        let on = type_named(&fragment.on.name);
        match on {
            None => self.error(format!("Unknown type \"{}\"", fragment.on.name), fragment.pos),
            Some(t) if t.kind != Kind::Object => self.error(
                format!("Fragment \"{}\" cannot condition non composite type \"{}\"", fragment.name.name, t.name),
                fragment.pos,
            ),
            Some(_) => {}
        }
        self.directives(&fragment.directives, "FRAGMENT_DEFINITION");
        self.selection_set(&fragment.selection_set, on);
    }

    fn selection_set(&mut self, set: &'a SelectionSet, parent: Option<&'static TypeDef>) {
        // As async-graphql's rule did, on entering the set: before what is inside it.
        overlap::check(self.doc, set, &mut self.budget, &mut self.errors);
        for selection in &set.items {
            match selection {
                Selection::Field(field) => {
                    if field.name.name == "__typename" {
                        continue;
                    }
                    let def = parent.and_then(|p| field_of(p, &field.name.name));
                    self.field(field, parent, def);
                }
                Selection::Spread { pos, name, directives } => {
                    self.scope.spreads.push(name.name.clone());
                    match self.doc.fragment(&name.name) {
                        None => self.error(format!("Unknown fragment: \"{}\"", name.name), *pos),
                        Some(fragment) => {
                            if let (Some(p), Some(on)) = (parent, type_named(&fragment.on.name)) {
                                if p.name != on.name {
                                    self.error(format!("Fragment \"{}\" cannot be spread here as objects of type \"{}\" can never be of type \"{}\"", name.name, p.name, on.name), *pos);
                                }
                            }
                        }
                    }
                    self.directives(directives, "FRAGMENT_SPREAD");
                }
                Selection::Inline { pos, on, directives, selection_set } => {
                    let ty = match on {
                        None => parent,
                        Some(on) => {
                            let ty = type_named(&on.name);
                            match (ty, parent) {
                                (None, _) => self.error(format!("Unknown type \"{}\"", on.name), *pos),
                                (Some(t), Some(p)) if t.name != p.name => self.error(
                                    format!("Fragment cannot be spread here as objects of type \"{}\" can never be of type \"{}\"", p.name, t.name),
                                    *pos,
                                ),
                                _ => {}
                            }
                            ty
                        }
                    };
                    self.directives(directives, "INLINE_FRAGMENT");
                    self.selection_set(selection_set, ty);
                }
            }
        }
    }

    fn field(&mut self, field: &'a super::syntax::Field, parent: Option<&'static TypeDef>, def: Option<&'static FieldDef>) {
        let (Some(parent), name) = (parent, &field.name.name) else {
            return self.field_rest(field, None, None);
        };
        let Some(def) = def else {
            self.error(format!("Unknown field \"{name}\" on type \"{}\".", parent.name), field.pos);
            return self.field_rest(field, None, None);
        };
        let ty = type_named(def.ty.named());
        match ty {
            Some(t) if t.kind == Kind::Object && field.selection_set.items.is_empty() => {
                self.error(format!("Field \"{name}\" of type \"{}\" must have a selection of subfields", t.name), field.pos)
            }
            Some(t) if t.kind != Kind::Object && !field.selection_set.items.is_empty() => self.error(
                format!("Field \"{name}\" must not have a selection since type \"{}\" has no subfields", t.name),
                field.pos,
            ),
            _ => {}
        }
        for required in def.args.iter().filter(|a| matches!(a.ty, TypeRef::NN(_)) && a.default.is_none()) {
            if !field.arguments.iter().any(|a| a.name.name == required.name) {
                self.error(
                    format!("Field \"{name}\" argument \"{}\" of type \"{}\" is required but not provided", required.name, parent.name),
                    field.pos,
                );
            }
        }
        self.arguments(&field.arguments, Some(def.args), Some((name.as_str(), parent.name, field.pos)));
        self.field_rest(field, ty, Some(()))
    }

    fn field_rest(&mut self, field: &'a super::syntax::Field, ty: Option<&'static TypeDef>, known: Option<()>) {
        if known.is_none() {
            self.arguments(&field.arguments, None, None);
        }
        self.directives(&field.directives, "FIELD");
        self.selection_set(&field.selection_set, ty);
    }

    /// Types, names and uniqueness of arguments; `field` names the field and its type for
    /// messages, and where it is.
    fn arguments(&mut self, args: &'a [Argument], defs: Option<&'static [InputDef]>, field: Option<(&str, &str, Pos)>) {
        for (i, a) in args.iter().enumerate() {
            let def = defs.and_then(|d| d.iter().find(|d| d.name == a.name.name));
            self.uses(&a.value, Some(a.name.pos), def.zip(field).map(|(d, (_, _, at))| (at, d.ty)));
            if let Some(def) = def {
                let vars = self.variables;
                let lookup = |n: &str| vars.get(n).cloned();
                if !valid_input(&a.value, &to_syntax(def.ty), &lookup) {
                    self.error(format!("Invalid value for argument \"{}\", expected type \"{}\"", a.name.name, def.ty.named()), a.name.pos);
                }
            } else if let (Some(_), Some((f, p, _))) = (defs, field) {
                self.error(format!("Unknown argument \"{}\" on field \"{f}\" of type \"{p}\".", a.name.name), a.name.pos);
            }
            if args[..i].iter().any(|b| b.name.name == a.name.name) {
                self.error(format!("There can only be one argument named \"{}\"", a.name.name), a.name.pos);
            }
        }
    }

    fn directives(&mut self, directives: &'a [Directive], location: &str) {
        for d in directives {
            let def = directive_named(&d.name.name);
            if let Some(def) = def {
                if !def.locations.contains(&location) {
                    self.error(format!("Directive \"{}\" may not be used on \"{location}\"", d.name.name), d.pos);
                }
            }
            for a in &d.arguments {
                let arg = def.and_then(|def| def.args.iter().find(|x| x.name == a.name.name));
                self.uses(&a.value, Some(d.pos), arg.map(|arg| (d.pos, arg.ty)));
                if let Some(arg) = arg {
                    let vars = self.variables;
                    if !valid_input(&a.value, &to_syntax(arg.ty), &|n: &str| vars.get(n).cloned()) {
                        self.error(format!("Invalid value for argument \"{}\", expected type \"{}\"", a.name.name, arg.ty.named()), a.name.pos);
                    }
                }
            }
        }
    }

    /// Remembers the variables in an argument's value for the whole-document rules (`usage.rs`):
    /// where an undefined one is reported (`pos`, for a value that is one variable), and where
    /// and at which type a variable that is the whole value is used (`typed`).
    fn uses(&mut self, value: &Value, pos: Option<Pos>, typed: Option<(Pos, TypeRef)>) {
        match value {
            Value::Variable(n) => {
                self.scope.vars.push((n.clone(), pos));
                self.scope.typed.extend(typed.map(|(at, ty)| (n.clone(), at, ty)));
            }
            Value::List(items) => items.iter().for_each(|i| self.uses(i, None, None)),
            Value::Object(fields) => fields.iter().for_each(|(_, i)| self.uses(i, None, None)),
            _ => {}
        }
    }
}

/// The field `name` of `ty`, with the query root's introspection fields.
fn field_of(ty: &'static TypeDef, name: &str) -> Option<&'static FieldDef> {
    ty.fields.iter().find(|f| f.name == name).or_else(|| if ty.name == "Query" { META_FIELDS.iter().find(|f| f.name == name) } else { None })
}

/// `__schema` and `__type(name:)`, which the query root has without listing them.
static META_FIELDS: [FieldDef; 2] = [
    FieldDef { name: "__schema", ty: TypeRef::NN(&TypeRef::N("__Schema")), description: None, args: &[] },
    FieldDef {
        name: "__type",
        ty: TypeRef::N("__Type"),
        description: None,
        args: &[InputDef { name: "name", ty: TypeRef::NN(&TypeRef::N("String")), description: None, default: None }],
    },
];

/// The schema's type reference as a document type.
fn to_syntax(t: TypeRef) -> Type {
    match t {
        TypeRef::N(n) => Type::Named(n.into()),
        TypeRef::NN(t) => Type::NonNull(Box::new(to_syntax(*t))),
        TypeRef::L(t) => Type::List(Box::new(to_syntax(*t))),
    }
}

/// Whether `value` fits `ty`; a variable counts as its value when the request gives one,
/// and as fitting when not (that is checked when it is used).
pub fn valid_input(value: &Value, ty: &Type, vars: &dyn Fn(&str) -> Option<Json>) -> bool {
    if let Value::Variable(name) = value {
        return vars(name).is_none_or(|v| valid_json(&v, ty));
    }
    match (ty, value) {
        (Type::NonNull(_), Value::Null) => false,
        (Type::NonNull(t), v) => valid_input(v, t, vars),
        (_, Value::Null) => true,
        (Type::List(t), Value::List(items)) => items.iter().all(|i| valid_input(i, t, vars)),
        (Type::List(t), v) => valid_input(v, t, vars),
        (Type::Named(n), v) => scalar_fits(n, v),
    }
}

fn scalar_fits(name: &str, v: &Value) -> bool {
    match (name, v) {
        ("String" | "ID", Value::String(_)) => true,
        ("ID", Value::Number(n)) => n.is_i64() || n.is_u64(),
        ("Boolean", Value::Boolean(_)) => true,
        ("Int", Value::Number(n)) => n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
        ("Float", Value::Number(_)) => true,
        ("GenericScalar", _) => true,
        _ => false,
    }
}

fn valid_json(v: &Json, ty: &Type) -> bool {
    match (ty, v) {
        (Type::NonNull(_), Json::Null) => false,
        (Type::NonNull(t), v) => valid_json(v, t),
        (_, Json::Null) => true,
        (Type::List(t), Json::Array(items)) => items.iter().all(|i| valid_json(i, t)),
        (Type::List(t), v) => valid_json(v, t),
        (Type::Named(n), Json::String(s)) => scalar_fits(n, &Value::String(s.clone())),
        (Type::Named(n), Json::Bool(b)) => scalar_fits(n, &Value::Boolean(*b)),
        (Type::Named(n), Json::Number(x)) => scalar_fits(n, &Value::Number(x.clone())),
        (Type::Named(n), _) => *n == "GenericScalar",
    }
}

/// Nesting of selection sets, spreads counting one, at most [`MAX_RECURSIVE_DEPTH`];
/// fragments' heights are memoised (the guard has refused cycles).
fn recursive_depth(doc: &Document) -> Result<(), Vec<GqlError>> {
    fn walk(doc: &Document, set: &SelectionSet, depth: usize, memo: &mut HashMap<String, usize>) -> Result<usize, Pos> {
        if depth > MAX_RECURSIVE_DEPTH {
            return Err(set.pos);
        }
        let mut height = 0;
        for s in &set.items {
            let h = match s {
                Selection::Field(f) if !f.selection_set.items.is_empty() => 1 + walk(doc, &f.selection_set, depth + 1, memo)?,
                Selection::Field(_) => 0,
                Selection::Inline { selection_set, .. } => 1 + walk(doc, selection_set, depth + 1, memo)?,
                Selection::Spread { name, .. } => match (memo.get(&name.name), doc.fragment(&name.name)) {
                    (Some(h), _) if depth + 1 + h <= MAX_RECURSIVE_DEPTH => 1 + h,
                    (_, Some(f)) => {
                        let h = walk(doc, &f.selection_set, depth + 1, memo)? ;
                        memo.insert(name.name.clone(), h);
                        1 + h
                    }
                    (_, None) => 0,
                },
            };
            height = height.max(h);
        }
        Ok(height)
    }
    let mut memo = HashMap::new();
    for op in &doc.operations {
        walk(doc, &op.selection_set, 0, &mut memo).map_err(|pos| {
            vec![GqlError::new(format!("The recursion depth of the query cannot be greater than `{MAX_RECURSIVE_DEPTH}`"), Some(vec![pos]))]
        })?;
    }
    Ok(())
}

/// async-graphql's complexity (each field 1 plus its children, `tokenAuth` 100 plus its
/// children, `__typename` nothing) summed over the operations, and the deepest field, with
/// fragments expanded: memoised per fragment and parent type.
fn cost(doc: &Document) -> (usize, usize) {
    fn walk(doc: &Document, set: &SelectionSet, parent: Option<&'static TypeDef>, memo: &mut HashMap<String, (usize, usize)>) -> (usize, usize) {
        let (mut complexity, mut depth) = (0usize, 0usize);
        for s in &set.items {
            let (c, d) = match s {
                Selection::Field(f) if f.name.name == "__typename" => (0, 0),
                Selection::Field(f) => {
                    let def = parent.and_then(|p| field_of(p, &f.name.name));
                    let child = def.and_then(|d| type_named(d.ty.named()));
                    let (c, d) = walk(doc, &f.selection_set, child, memo);
                    // A sign-in costs TOKEN_AUTH_COMPLEXITY and at least one field under it, so
                    // `tokenAuth { __typename }` (whose child costs nothing) cannot fit a fifth
                    // password check under MAX_COMPLEXITY.
                    let sign_in = parent.is_some_and(|p| p.name == "Mutation") && matches!(f.name.name.as_str(), "tokenAuth" | "totpAuth");
                    let own = if sign_in { TOKEN_AUTH_COMPLEXITY.saturating_add(c.max(1)) } else { 1usize.saturating_add(c) };
                    (own, d + 1)
                }
                Selection::Inline { on, selection_set, .. } => {
                    let ty = on.as_ref().map_or(parent, |n| type_named(&n.name));
                    walk(doc, selection_set, ty, memo)
                }
                Selection::Spread { name, .. } => {
                    let key = format!("{}@{}", name.name, parent.map_or("", |p| p.name));
                    match (memo.get(&key), doc.fragment(&name.name)) {
                        (Some(v), _) => *v,
                        (None, Some(f)) => {
                            let v = walk(doc, &f.selection_set, parent, memo);
                            memo.insert(key, v);
                            v
                        }
                        (None, None) => (0, 0),
                    }
                }
            };
            complexity = complexity.saturating_add(c);
            depth = depth.max(d);
        }
        (complexity, depth)
    }
    let mut memo = HashMap::new();
    let (mut complexity, mut depth) = (0usize, 0usize);
    for op in &doc.operations {
        let root = match op.kind {
            OperationKind::Query => type_named("Query"),
            OperationKind::Mutation => type_named("Mutation"),
            OperationKind::Subscription => None,
        };
        let (c, d) = walk(doc, &op.selection_set, root, &mut memo);
        complexity = complexity.saturating_add(c);
        depth = depth.max(d);
    }
    (complexity, depth)
}
