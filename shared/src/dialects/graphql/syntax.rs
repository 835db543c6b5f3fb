//! The GraphQL executable-document grammar: a recursive-descent parser over the lexer's
//! tokens, building the document (`ast.rs`). Syntax errors read as async-graphql's (pest's)
//! did: the position, the line, and what was expected there.
//!
//! The parser recurses once per nesting level; `graphql_guard::check_text` bounds the nesting
//! before it runs, and [`MAX_RECURSION`] bounds it here again.
//!
//! Not here: what the names mean (`schema.rs`), validation (`validate.rs`), execution.

pub(crate) use super::ast::*;
use super::lexer::{Lexer, Token};
use std::fmt::Write as _;

/// Deepest nesting the parser follows (the guard allows 32 levels of brackets).
const MAX_RECURSION: usize = 64;

/// Why a document does not parse, with where (as async-graphql reports it).
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub message: String,
    pub locations: Vec<Pos>,
}

/// Parses an executable document.
pub fn parse(source: &str) -> Result<Document, SyntaxError> {
    let mut p = Parser { lex: Lexer::new(source), depth: 0 };
    let mut doc = Document::default();
    loop {
        let (pos, token) = p.lex.peek().map_err(|e| p.error_at(e, &["executable_definition"]))?;
        match token {
            Token::Eof if doc.operations.is_empty() && doc.fragments.is_empty() => {
                return Err(p.expected(pos, &["executable_definition"]))
            }
            Token::Eof => break,
            Token::Name(n) if n == "fragment" => doc.fragments.push(p.fragment()?),
            Token::Name(n) if matches!(n.as_str(), "query" | "mutation" | "subscription") => doc.operations.push(p.operation()?),
            Token::Punct('{') => {
                let selection_set = p.selection_set()?;
                doc.operations.push(Operation {
                    pos,
                    kind: OperationKind::Query,
                    name: None,
                    variables: Vec::new(),
                    directives: Vec::new(),
                    selection_set,
                });
            }
            _ if doc.operations.is_empty() && doc.fragments.is_empty() => return Err(p.expected(pos, &["executable_definition"])),
            _ => return Err(p.expected(pos, &["EOI", "executable_definition"])),
        }
    }
    structure(doc)
}

/// The document-level rules async-graphql's parser applied: an anonymous operation stands
/// alone, names are unique, there is an operation. Locations as it gave them.
fn structure(doc: Document) -> Result<Document, SyntaxError> {
    let fail = |message: String, locations: Vec<Pos>| Err(SyntaxError { message, locations });
    let mut seen: Vec<&Operation> = Vec::new();
    for op in &doc.operations {
        if let Some(first) = seen.first() {
            match (&first.name, &op.name) {
                (None, Some(_)) => return fail("document contains multiple operations".into(), vec![first.pos, op.pos]),
                (_, None) => return fail("document contains multiple operations".into(), vec![op.pos, first.pos]),
                (Some(_), Some(name)) => {
                    if let Some(same) = seen.iter().find(|o| o.name.as_ref().is_some_and(|n| n.name == name.name)) {
                        return fail(format!("operation {} is defined twice", name.name), vec![op.pos, same.pos]);
                    }
                }
            }
        }
        seen.push(op);
    }
    for (i, f) in doc.fragments.iter().enumerate() {
        if let Some(first) = doc.fragments[..i].iter().find(|g| g.name.name == f.name.name) {
            return fail(format!("fragment {} is defined twice", f.name.name), vec![f.pos, first.pos]);
        }
    }
    if doc.operations.is_empty() {
        return fail("document does not contain an operation".into(), Vec::new());
    }
    Ok(doc)
}

struct Parser<'a> {
    lex: Lexer<'a>,
    depth: usize,
}

type Parsed<T> = Result<T, SyntaxError>;

impl Parser<'_> {
    /// pest's message: where, the line with a caret, and the rules it expected there.
    fn expected(&self, pos: Pos, rules: &[&str]) -> SyntaxError {
        let line = self.lex.line_text(pos.line);
        let gutter = " ".repeat(pos.line.to_string().len());
        let list = match rules {
            [one] => (*one).to_string(),
            [a, b] => format!("{a} or {b}"),
            [rest @ .., last] => format!("{}, or {last}", rest.join(", ")),
            [] => String::new(),
        };
        let mut message = String::new();
        let _ = write!(
            message,
            "{gutter}--> {}:{}\n{gutter} |\n{} | {line}\n{gutter} | {}^---\n{gutter} |\n{gutter} = expected {list}",
            pos.line,
            pos.column,
            pos.line,
            " ".repeat(pos.column.saturating_sub(1)),
        );
        SyntaxError { message, locations: vec![pos] }
    }

    /// A lexical error: pest reports the rules it was trying at the bad character.
    fn error_at(&self, pos: Pos, rules: &[&str]) -> SyntaxError {
        self.expected(pos, rules)
    }

    fn next(&mut self, rules: &[&str]) -> Parsed<(Pos, Token)> {
        self.lex.next().map_err(|pos| self.error_at(pos, rules))
    }

    fn peek(&mut self, rules: &[&str]) -> Parsed<(Pos, Token)> {
        self.lex.peek().map_err(|pos| self.error_at(pos, rules))
    }

    fn punct(&mut self, c: char, rules: &[&str]) -> Parsed<Pos> {
        match self.next(rules)? {
            (pos, Token::Punct(p)) if p == c => Ok(pos),
            (pos, _) => Err(self.expected(pos, rules)),
        }
    }

    fn is_punct(&mut self, c: char) -> bool {
        matches!(self.lex.peek(), Ok((_, Token::Punct(p))) if p == c)
    }

    fn name(&mut self, rules: &[&str]) -> Parsed<Name> {
        match self.next(rules)? {
            (pos, Token::Name(name)) => Ok(Name { pos, name }),
            (pos, _) => Err(self.expected(pos, rules)),
        }
    }

    fn deeper(&mut self) -> Parsed<()> {
        self.depth += 1;
        if self.depth > MAX_RECURSION {
            return Err(SyntaxError { message: "recursion limit exceeded.".into(), locations: Vec::new() });
        }
        Ok(())
    }

    fn operation(&mut self) -> Parsed<Operation> {
        let (pos, token) = self.next(&["operation_type"])?;
        let kind = match token {
            Token::Name(n) if n == "mutation" => OperationKind::Mutation,
            Token::Name(n) if n == "subscription" => OperationKind::Subscription,
            _ => OperationKind::Query,
        };
        let name = match self.peek(&["name", "variable_definitions", "selection_set", "directive"])? {
            (_, Token::Name(_)) => Some(self.name(&["name"])?),
            _ => None,
        };
        let next: &[&str] = if name.is_some() {
            &["variable_definitions", "selection_set", "directive"]
        } else {
            &["name", "variable_definitions", "selection_set", "directive"]
        };
        match self.peek(next)? {
            (_, Token::Punct('(' | '@' | '{')) => {}
            (at, _) => return Err(self.expected(at, next)),
        }
        let mut variables = Vec::new();
        if self.is_punct('(') {
            self.punct('(', &["variable_definitions"])?;
            while !self.is_punct(')') {
                variables.push(self.variable_definition()?);
            }
            self.punct(')', &["variable_definition"])?;
        }
        let directives = self.directives(&["directive"])?;
        if !self.is_punct('{') {
            let (at, _) = self.peek(&["selection_set", "directive"])?;
            return Err(self.expected(at, &["selection_set", "directive"]));
        }
        let selection_set = self.selection_set()?;
        Ok(Operation { pos, kind, name, variables, directives, selection_set })
    }

    fn variable_definition(&mut self) -> Parsed<VariableDefinition> {
        let pos = self.punct('$', &["variable_definition"])?;
        let name = self.name(&["name"])?;
        self.punct(':', &["type_"])?;
        let ty = self.ty(0)?;
        let directives = self.directives(&["directives", "default_value", "variable_definition"])?;
        let default = if self.is_punct('=') {
            self.punct('=', &["default_value"])?;
            let (at, _) = self.peek(&["const_value"])?;
            Some((at, self.value(true)?))
        } else {
            None
        };
        Ok(VariableDefinition { pos, name, ty, default, directives })
    }

    fn ty(&mut self, depth: usize) -> Parsed<Type> {
        if depth > MAX_RECURSION {
            return Err(SyntaxError { message: "recursion limit exceeded.".into(), locations: Vec::new() });
        }
        let inner = match self.next(&["type_"])? {
            (_, Token::Name(n)) => Type::Named(n),
            (_, Token::Punct('[')) => {
                let t = self.ty(depth + 1)?;
                self.punct(']', &["type_"])?;
                Type::List(Box::new(t))
            }
            (pos, _) => return Err(self.expected(pos, &["type_"])),
        };
        if self.is_punct('!') {
            self.punct('!', &["type_"])?;
            return Ok(Type::NonNull(Box::new(inner)));
        }
        Ok(inner)
    }

    fn fragment(&mut self) -> Parsed<Fragment> {
        let (pos, _) = self.next(&["fragment_definition"])?;
        let name = self.name(&["name"])?;
        match self.next(&["type_condition"])? {
            (_, Token::Name(n)) if n == "on" => {}
            (at, _) => return Err(self.expected(at, &["type_condition"])),
        }
        let on = self.name(&["name"])?;
        let directives = self.directives(&["directives", "selection_set"])?;
        let selection_set = self.selection_set()?;
        Ok(Fragment { pos, name, on, directives, selection_set })
    }

    fn selection_set(&mut self) -> Parsed<SelectionSet> {
        self.deeper()?;
        let pos = self.punct('{', &["selection_set"])?;
        let mut items = Vec::new();
        // What pest listed as expected after the previous selection.
        let mut after: &[&str] = &["selection"];
        loop {
            match self.peek(after)? {
                (_, Token::Punct('}')) if !items.is_empty() => break,
                (_, Token::Name(_) | Token::Spread) => {
                    let item = self.selection()?;
                    after = match &item {
                        Selection::Field(f) if !f.selection_set.items.is_empty() => &["selection"],
                        Selection::Field(f) if f.arguments.is_empty() && f.directives.is_empty() => {
                            &["selection_set", "selection", "directive", "arguments"]
                        }
                        Selection::Field(_) => &["selection_set", "selection", "directive"],
                        Selection::Spread { .. } => &["selection", "directive"],
                        Selection::Inline { .. } => &["selection"],
                    };
                    items.push(item);
                }
                (at, _) => return Err(self.expected(at, after)),
            }
        }
        self.punct('}', &["selection"])?;
        self.depth -= 1;
        Ok(SelectionSet { pos, items })
    }

    fn selection(&mut self) -> Parsed<Selection> {
        match self.peek(&["selection"])? {
            (_, Token::Name(_)) => Ok(Selection::Field(self.field()?)),
            (pos, Token::Spread) => {
                self.next(&["selection"])?;
                let expected: &[&str] = &["selection_set", "type_condition", "directive", "name"];
                match self.peek(expected)? {
                    (_, Token::Name(n)) if n != "on" => {
                        let name = self.name(&["name"])?;
                        let directives = self.directives(&["directive"])?;
                        Ok(Selection::Spread { pos, name, directives })
                    }
                    (_, Token::Name(_)) => {
                        self.next(&["type_condition"])?;
                        let on = Some(self.name(&["name"])?);
                        let directives = self.directives(&["directive"])?;
                        let selection_set = self.selection_set()?;
                        Ok(Selection::Inline { pos, on, directives, selection_set })
                    }
                    (_, Token::Punct('{' | '@')) => {
                        let directives = self.directives(&["directive"])?;
                        let selection_set = self.selection_set()?;
                        Ok(Selection::Inline { pos, on: None, directives, selection_set })
                    }
                    (at, _) => Err(self.expected(at, expected)),
                }
            }
            (pos, _) => Err(self.expected(pos, &["selection"])),
        }
    }

    fn field(&mut self) -> Parsed<Field> {
        let first = self.name(&["selection"])?;
        let pos = first.pos;
        let (alias, name) = if self.is_punct(':') {
            self.punct(':', &["name"])?;
            (Some(first), self.name(&["name"])?)
        } else {
            (None, first)
        };
        let arguments = self.arguments(&["name"])?;
        let directives = self.directives(&["directives", "selection_set", "selection"])?;
        let selection_set = if self.is_punct('{') { self.selection_set()? } else { SelectionSet::default() };
        Ok(Field { pos, alias, name, arguments, directives, selection_set })
    }

    fn arguments(&mut self, _after: &[&str]) -> Parsed<Vec<Argument>> {
        let mut arguments = Vec::new();
        if !self.is_punct('(') {
            return Ok(arguments);
        }
        self.punct('(', &["arguments"])?;
        loop {
            let name = self.name(&["name"])?;
            self.punct(':', &["value"])?;
            let (pos, _) = self.peek(&["value"])?;
            let value = self.value(false)?;
            arguments.push(Argument { pos, name, value });
            if self.is_punct(')') {
                break;
            }
        }
        self.punct(')', &["name"])?;
        Ok(arguments)
    }

    fn directives(&mut self, _after: &[&str]) -> Parsed<Vec<Directive>> {
        let mut directives = Vec::new();
        while self.is_punct('@') {
            let pos = self.punct('@', &["directive"])?;
            let name = self.name(&["name"])?;
            let arguments = self.arguments(&[])?;
            directives.push(Directive { pos, name, arguments });
        }
        Ok(directives)
    }

    fn value(&mut self, constant: bool) -> Parsed<Value> {
        let rules: &[&str] = if constant { &["const_value"] } else { &["value"] };
        self.deeper()?;
        let value = match self.next(rules)? {
            (_, Token::Punct('$')) if !constant => Value::Variable(self.name(&["name"])?.name),
            (_, Token::Number(n)) => Value::Number(n),
            (_, Token::Str(s)) => Value::String(s),
            (_, Token::Name(n)) if n == "true" || n == "false" => Value::Boolean(n == "true"),
            (_, Token::Name(n)) if n == "null" => Value::Null,
            (_, Token::Name(n)) => Value::Enum(n),
            (_, Token::Punct('[')) => {
                let mut items = Vec::new();
                while !self.is_punct(']') {
                    items.push(self.value(constant)?);
                }
                self.punct(']', rules)?;
                Value::List(items)
            }
            (_, Token::Punct('{')) => {
                let mut fields = Vec::new();
                while !self.is_punct('}') {
                    let name = self.name(&["name"])?;
                    self.punct(':', rules)?;
                    fields.push((name.name, self.value(constant)?));
                }
                self.punct('}', rules)?;
                Value::Object(fields)
            }
            (pos, _) => return Err(self.expected(pos, rules)),
        };
        self.depth -= 1;
        Ok(value)
    }
}
