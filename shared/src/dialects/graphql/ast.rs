//! A parsed GraphQL document: its operations and fragments, selections, arguments,
//! directives, values and types, each with its position in the text.
//!
//! Not here: the parser that builds them (`syntax.rs`).

/// A position in the document: 1-based line and column, counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// A value literal (or, in `Const` position, one without variables).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Variable(String),
    Number(serde_json::Number),
    String(String),
    Boolean(bool),
    Null,
    Enum(String),
    List(Vec<Value>),
    Object(Vec<(String, Value)>),
}

/// A variable's or an argument's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    Named(String),
    List(Box<Type>),
    NonNull(Box<Type>),
}

impl Type {
    /// The named type under any wrappers.
    pub fn named(&self) -> &str {
        match self {
            Type::Named(n) => n,
            Type::List(t) | Type::NonNull(t) => t.named(),
        }
    }
}

impl std::fmt::Display for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Type::Named(n) => f.write_str(n),
            Type::List(t) => write!(f, "[{t}]"),
            Type::NonNull(t) => write!(f, "{t}!"),
        }
    }
}

/// A name with where it stands.
#[derive(Debug, Clone)]
pub struct Name {
    pub pos: Pos,
    pub name: String,
}

/// `name: value`, as an argument; `pos` is the value's.
#[derive(Debug, Clone)]
pub struct Argument {
    pub name: Name,
    pub pos: Pos,
    pub value: Value,
}

/// `@name(arguments)`.
#[derive(Debug, Clone)]
pub struct Directive {
    pub pos: Pos,
    pub name: Name,
    pub arguments: Vec<Argument>,
}

/// `alias: name(arguments) @directives { selections }`.
#[derive(Debug, Clone)]
pub struct Field {
    pub pos: Pos,
    pub alias: Option<Name>,
    pub name: Name,
    pub arguments: Vec<Argument>,
    pub directives: Vec<Directive>,
    pub selection_set: SelectionSet,
}

impl Field {
    /// The key of the field in the response.
    pub fn key(&self) -> &str {
        self.alias.as_ref().unwrap_or(&self.name).name.as_str()
    }
}

/// One item of a selection set.
#[derive(Debug, Clone)]
pub enum Selection {
    Field(Field),
    /// `...Name @directives`.
    Spread { pos: Pos, name: Name, directives: Vec<Directive> },
    /// `... on Type @directives { selections }`.
    Inline { pos: Pos, on: Option<Name>, directives: Vec<Directive>, selection_set: SelectionSet },
}

/// `{ selections }`; empty where a field has none.
#[derive(Debug, Clone, Default)]
pub struct SelectionSet {
    pub pos: Pos,
    pub items: Vec<Selection>,
}

/// `$name: Type = default`.
#[derive(Debug, Clone)]
pub struct VariableDefinition {
    pub pos: Pos,
    pub name: Name,
    pub ty: Type,
    pub default: Option<(Pos, Value)>,
    pub directives: Vec<Directive>,
}

/// `query` or `mutation` (or `subscription`, which this schema has not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    Query,
    Mutation,
    Subscription,
}

/// An operation; `name` is `None` for an anonymous one.
#[derive(Debug, Clone)]
pub struct Operation {
    pub pos: Pos,
    pub kind: OperationKind,
    pub name: Option<Name>,
    pub variables: Vec<VariableDefinition>,
    pub directives: Vec<Directive>,
    pub selection_set: SelectionSet,
}

/// `fragment Name on Type @directives { selections }`.
#[derive(Debug, Clone)]
pub struct Fragment {
    pub pos: Pos,
    pub name: Name,
    pub on: Name,
    pub directives: Vec<Directive>,
    pub selection_set: SelectionSet,
}

/// A parsed document: its operations and fragments in document order.
#[derive(Debug, Clone, Default)]
pub struct Document {
    pub operations: Vec<Operation>,
    pub fragments: Vec<Fragment>,
}

impl Document {
    /// The fragment of that name.
    pub fn fragment(&self, name: &str) -> Option<&Fragment> {
        self.fragments.iter().find(|f| f.name.name == name)
    }
}
