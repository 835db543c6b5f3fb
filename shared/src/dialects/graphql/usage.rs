//! The validation rules that need each operation together with the fragments it reaches:
//! variables used where their type does not fit (async-graphql's VariableInAllowedPosition),
//! undefined and unused variables, and fragments no operation uses. `validate.rs` records
//! what each definition uses ([`Scope`]) as it walks the document; the rules run here once it
//! has walked all of it, with async-graphql's messages and locations.
//!
//! async-graphql 7.2.1 had the VariableInAllowedPosition rule but never ran it (its chain of
//! visitors did not pass argument values on to it), so it let `$u: String` fill `String!`;
//! Portcullis applies it, with that rule's words.

use super::schema::TypeRef;
use super::syntax::{Document, Pos, Type};
use super::GqlError;

/// What one operation or fragment uses, in document order.
#[derive(Default)]
pub struct Scope {
    /// Each variable used, with where to report it if it is undefined (only a variable that is
    /// an argument's whole value is reported).
    pub vars: Vec<(String, Option<Pos>)>,
    /// Each variable that is the whole value of a known argument: where (the field or the
    /// directive) and the argument's type.
    pub typed: Vec<(String, Pos, TypeRef)>,
    /// The fragments spread, repeats included.
    pub spreads: Vec<String>,
}

/// The errors of the whole-document rules, given the scopes of `doc`'s fragments and
/// operations (in document order).
pub fn whole_document(doc: &Document, fragments: &[Scope], operations: &[Scope]) -> Vec<GqlError> {
    let (mut misplaced, mut undefined, mut unused) = (Vec::new(), Vec::new(), Vec::new());
    let mut used_fragments = vec![false; doc.fragments.len()];
    for (op, scope) in doc.operations.iter().zip(operations) {
        let reached = reached(doc, fragments, scope);
        let scopes: Vec<&Scope> = std::iter::once(scope).chain(reached.iter().map(|&i| &fragments[i])).collect();
        reached.iter().for_each(|&i| used_fragments[i] = true);
        let defined = |name: &str| op.variables.iter().find(|d| d.name.name == name);
        for s in &scopes {
            for (name, at, position) in &s.typed {
                let Some(def) = defined(name) else { continue };
                // A nullable variable with a default counts as non-null.
                let declared = match &def.ty {
                    Type::NonNull(_) => def.ty.clone(),
                    ty if def.default.is_some() => Type::NonNull(Box::new(ty.clone())),
                    ty => ty.clone(),
                };
                if !fits(*position, &declared) {
                    // async-graphql's words, with the types where they belong (its rule swapped them).
                    let message = format!("Variable \"{name}\" of type \"{}\" used in position expecting type \"{position}\"", def.ty);
                    misplaced.push(GqlError::new(message, Some(vec![def.pos, *at])));
                }
            }
            for (name, pos) in &s.vars {
                if let (Some(pos), None) = (pos, defined(name)) {
                    // A named operation is named, and located too.
                    let (message, at) = match &op.name {
                        Some(op_name) => (format!("Variable \"${name}\" is not defined by operation \"{}\"", op_name.name), vec![op.pos, *pos]),
                        None => (format!("Variable \"${name}\" is not defined"), vec![*pos]),
                    };
                    undefined.push(GqlError::new(message, Some(at)));
                }
            }
        }
        for def in &op.variables {
            if !scopes.iter().any(|s| s.vars.iter().any(|(n, _)| *n == def.name.name)) {
                let by = op.name.as_ref().map(|n| format!(" by operation \"{}\"", n.name)).unwrap_or_default();
                unused.push(GqlError::new(format!("Variable \"${}\" is not used{by}", def.name.name), Some(vec![def.pos])));
            }
        }
    }
    // In the order async-graphql's rules reported them at the document's end.
    let never_used = doc.fragments.iter().zip(used_fragments).filter(|(_, used)| !used);
    misplaced.extend(unused);
    misplaced.extend(never_used.map(|(f, _)| GqlError::new(format!("Fragment \"{}\" is never used", f.name.name), Some(vec![f.pos]))));
    misplaced.extend(undefined);
    misplaced
}

/// The fragments `scope` reaches, by index, depth first in the order of the spreads, each
/// once: the order async-graphql's rules walked them in. Fragments that spread each other
/// without an operation reaching them (which `graphql_guard` does not see) end the walk too.
fn reached(doc: &Document, fragments: &[Scope], scope: &Scope) -> Vec<usize> {
    let mut order = Vec::new();
    let mut stack = vec![scope.spreads.iter()];
    while let Some(top) = stack.last_mut() {
        let Some(name) = top.next() else {
            stack.pop();
            continue;
        };
        if let Some(i) = doc.fragments.iter().position(|f| f.name.name == *name) {
            if !order.contains(&i) {
                order.push(i);
                stack.extend(fragments.get(i).map(|s| s.spreads.iter()));
            }
        }
    }
    order
}

/// Whether a variable of type `var` may stand where `position` is expected, as async-graphql's
/// `MetaTypeName::is_subtype` decides it: the same named type, no less strict about null, lists
/// alike.
fn fits(position: TypeRef, var: &Type) -> bool {
    match (position, var) {
        (TypeRef::NN(p), Type::NonNull(v)) => fits(*p, v),
        (TypeRef::N(_), Type::NonNull(v)) => fits(position, v),
        (TypeRef::N(p), Type::Named(v)) => p == v,
        (TypeRef::L(p), Type::List(v)) => fits(*p, v),
        _ => false,
    }
}
