//! Introspection over the static schema: `__schema`, `__type(name:)` and the fields of the
//! introspection types (`__Type`, `__Field`, `__InputValue`, `__EnumValue`, `__Directive`),
//! answered as async-graphql answered them for this schema.
//!
//! Not here: the schema itself (`schema.rs`), the selection machinery (`execute.rs`).

use super::schema::{type_named, DirectiveDef, FieldDef, InputDef, Kind, TypeRef, DIRECTIVES, SCHEMA_DESCRIPTION, TYPES};
use serde_json::Value as Json;

/// Something introspection describes: an object whose fields a selection reads.
#[derive(Debug, Clone, Copy)]
pub enum Node {
    Schema,
    Type(TypeRef),
    Field(&'static FieldDef),
    InputValue(&'static InputDef),
    EnumValue(&'static str, Option<&'static str>),
    Directive(&'static DirectiveDef),
}

/// A field's answer: a leaf value, one node, or a list of nodes.
pub enum Answer {
    Leaf(Json),
    One(Node),
    Many(Vec<Node>),
}

impl Node {
    /// The node's type name, for `__typename`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Node::Schema => "__Schema",
            Node::Type(_) => "__Type",
            Node::Field(_) => "__Field",
            Node::InputValue(_) => "__InputValue",
            Node::EnumValue(..) => "__EnumValue",
            Node::Directive(_) => "__Directive",
        }
    }

    /// The value of `field` (a field of this node's type; validation made sure).
    pub fn answer(&self, field: &str) -> Answer {
        let text = |s: Option<&str>| Answer::Leaf(s.map_or(Json::Null, |s| Json::String(s.into())));
        let not_deprecated = |f: &str| match f {
            "isDeprecated" => Some(Answer::Leaf(Json::Bool(false))),
            "deprecationReason" => Some(Answer::Leaf(Json::Null)),
            _ => None,
        };
        match *self {
            Node::Schema => match field {
                "description" => text(Some(SCHEMA_DESCRIPTION)),
                "types" => Answer::Many(TYPES.iter().map(|t| Node::Type(TypeRef::N(t.name))).collect()),
                "queryType" => Answer::One(Node::Type(TypeRef::N("Query"))),
                "mutationType" => Answer::One(Node::Type(TypeRef::N("Mutation"))),
                "directives" => Answer::Many(DIRECTIVES.iter().map(Node::Directive).collect()),
                _ => Answer::Leaf(Json::Null),
            },
            Node::Type(t) => type_answer(t, field),
            Node::Field(f) => match field {
                "name" => text(Some(f.name)),
                "description" => text(f.description),
                "args" => Answer::Many(f.args.iter().map(Node::InputValue).collect()),
                "type" => Answer::One(Node::Type(f.ty)),
                other => not_deprecated(other).unwrap_or(Answer::Leaf(Json::Null)),
            },
            Node::InputValue(a) => match field {
                "name" => text(Some(a.name)),
                "description" => text(a.description),
                "type" => Answer::One(Node::Type(a.ty)),
                "defaultValue" => text(a.default),
                other => not_deprecated(other).unwrap_or(Answer::Leaf(Json::Null)),
            },
            Node::EnumValue(name, description) => match field {
                "name" => text(Some(name)),
                "description" => text(description),
                other => not_deprecated(other).unwrap_or(Answer::Leaf(Json::Null)),
            },
            Node::Directive(d) => match field {
                "name" => text(Some(d.name)),
                "description" => text(d.description),
                "locations" => Answer::Leaf(Json::Array(d.locations.iter().map(|l| Json::String((*l).into())).collect())),
                "args" => Answer::Many(d.args.iter().map(Node::InputValue).collect()),
                "isRepeatable" => Answer::Leaf(Json::Bool(false)),
                _ => Answer::Leaf(Json::Null),
            },
        }
    }
}

/// A `__Type`'s fields: a wrapper (`NON_NULL`, `LIST`) has only `kind` and `ofType`.
fn type_answer(t: TypeRef, field: &str) -> Answer {
    let null = Answer::Leaf(Json::Null);
    let def = match t {
        TypeRef::NN(inner) | TypeRef::L(inner) => {
            return match field {
                "kind" => Answer::Leaf(Json::String(if matches!(t, TypeRef::NN(_)) { "NON_NULL" } else { "LIST" }.into())),
                "ofType" => Answer::One(Node::Type(*inner)),
                _ => null,
            }
        }
        TypeRef::N(name) => match type_named(name) {
            Some(def) => def,
            None => return null,
        },
    };
    let object = def.kind == Kind::Object;
    match field {
        "kind" => Answer::Leaf(Json::String(def.kind.name().into())),
        "name" => Answer::Leaf(Json::String(def.name.into())),
        "description" => Answer::Leaf(def.description.map_or(Json::Null, |d| Json::String(d.into()))),
        "fields" if object => Answer::Many(def.fields.iter().map(Node::Field).collect()),
        "interfaces" if object => Answer::Many(Vec::new()),
        "enumValues" if def.kind == Kind::Enum => Answer::Many(def.enum_values.iter().map(|(n, d)| Node::EnumValue(n, *d)).collect()),
        _ => null,
    }
}

/// `__type(name:)`.
pub fn type_by_name(name: &str) -> Option<Node> {
    type_named(name).map(|t| Node::Type(TypeRef::N(t.name)))
}
