//! GraphQL's lexical grammar: names, numbers, strings and block strings (with their escapes
//! and indentation), punctuators, and what is ignored (white space, commas, the BOM,
//! comments). Positions are counted in characters, as async-graphql counted them.
//!
//! Not here: the grammar over these tokens (`syntax.rs`).

use super::syntax::Pos;

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Name(String),
    Number(serde_json::Number),
    Str(String),
    /// One of `! $ & ( ) : = @ [ ] { } |`.
    Punct(char),
    /// `...`
    Spread,
    Eof,
}

/// Tokens from a source, one ahead. An error is the position of the bad character.
pub struct Lexer<'a> {
    source: &'a str,
    at: usize,
    line: usize,
    column: usize,
    ahead: Option<(Pos, Token, usize, usize, usize)>,
}

impl<'a> Lexer<'a> {
    pub fn new(source: &'a str) -> Self {
        Lexer { source, at: 0, line: 1, column: 1, ahead: None }
    }

    /// The text of a line (1-based), for error messages.
    pub fn line_text(&self, line: usize) -> &'a str {
        self.source.split('\n').nth(line.saturating_sub(1)).unwrap_or("").trim_end_matches('\r')
    }

    /// The next token, without taking it. A token that does not lex leaves the position where
    /// it was, so the next `peek` or `next` meets the same error there (never the rest of the
    /// bad token read as if it were good).
    pub fn peek(&mut self) -> Result<(Pos, Token), Pos> {
        if self.ahead.is_none() {
            let saved = (self.at, self.line, self.column);
            let lexed = self.lex();
            if let Ok((pos, token)) = &lexed {
                self.ahead = Some((*pos, token.clone(), self.at, self.line, self.column));
            }
            (self.at, self.line, self.column) = saved;
            lexed?;
        }
        match &self.ahead {
            Some((pos, token, ..)) => Ok((*pos, token.clone())),
            None => Err(self.pos()),
        }
    }

    pub fn next(&mut self) -> Result<(Pos, Token), Pos> {
        if let Some((pos, token, at, line, column)) = self.ahead.take() {
            (self.at, self.line, self.column) = (at, line, column);
            return Ok((pos, token));
        }
        self.lex()
    }

    fn pos(&self) -> Pos {
        Pos { line: self.line, column: self.column }
    }

    fn current(&self) -> Option<char> {
        self.source[self.at..].chars().next()
    }

    fn rest(&self) -> &'a str {
        &self.source[self.at..]
    }

    /// Steps over one character, counting lines as async-graphql did (`\r` restarts the
    /// column without a new line).
    fn bump(&mut self) -> Option<char> {
        let c = self.current()?;
        self.at += c.len_utf8();
        match c {
            '\r' => self.column = 1,
            '\n' => {
                self.line += 1;
                self.column = 1;
            }
            _ => self.column += 1,
        }
        Some(c)
    }

    fn skip_ignored(&mut self) {
        while let Some(c) = self.current() {
            match c {
                ' ' | ',' | '\t' | '\n' | '\r' | '\u{feff}' => {
                    self.bump();
                }
                '#' => {
                    while self.current().is_some_and(|c| c != '\n' && c != '\r') {
                        self.bump();
                    }
                }
                _ => break,
            }
        }
    }

    fn lex(&mut self) -> Result<(Pos, Token), Pos> {
        self.skip_ignored();
        let pos = self.pos();
        let Some(c) = self.current() else { return Ok((pos, Token::Eof)) };
        let token = match c {
            '!' | '$' | '&' | '(' | ')' | ':' | '=' | '@' | '[' | ']' | '{' | '}' | '|' => {
                self.bump();
                Token::Punct(c)
            }
            '.' if self.rest().starts_with("...") => {
                for _ in 0..3 {
                    self.bump();
                }
                Token::Spread
            }
            '_' | 'a'..='z' | 'A'..='Z' => {
                let start = self.at;
                while self.current().is_some_and(|c| c == '_' || c.is_ascii_alphanumeric()) {
                    self.bump();
                }
                Token::Name(self.source[start..self.at].to_string())
            }
            '-' | '0'..='9' => self.number(pos)?,
            '"' if self.rest().starts_with("\"\"\"") => self.block_string(pos)?,
            '"' => self.string(pos)?,
            _ => return Err(pos),
        };
        Ok((pos, token))
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, not followed by a name's start.
    fn number(&mut self, pos: Pos) -> Result<Token, Pos> {
        let start = self.at;
        if self.current() == Some('-') {
            self.bump();
        }
        match self.current() {
            Some('0') => {
                self.bump();
            }
            Some('1'..='9') => self.digits(),
            _ => return Err(pos),
        }
        let mut float = false;
        if self.current() == Some('.') && self.rest()[1..].starts_with(|c: char| c.is_ascii_digit()) {
            self.bump();
            self.digits();
            float = true;
        }
        if matches!(self.current(), Some('e' | 'E')) {
            let rest = self.rest()[1..].trim_start_matches(['+', '-']);
            if rest.starts_with(|c: char| c.is_ascii_digit()) && self.rest()[1..].len() - rest.len() <= 1 {
                self.bump();
                if matches!(self.current(), Some('+' | '-')) {
                    self.bump();
                }
                self.digits();
                float = true;
            }
        }
        if self.current().is_some_and(|c| c == '_' || c.is_ascii_alphabetic() || c == '.') {
            // `1.` and `1a` are no number; `1.` stops at the dot, as pest's rule did.
            if self.current() != Some('.') {
                return Err(pos);
            }
        }
        let text = &self.source[start..self.at];
        let number = if float {
            text.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
        } else {
            text.parse::<i64>().ok().map(serde_json::Number::from).or_else(|| text.parse::<f64>().ok().and_then(serde_json::Number::from_f64))
        };
        number.map(Token::Number).ok_or(pos)
    }

    fn digits(&mut self) {
        while self.current().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
    }

    fn string(&mut self, pos: Pos) -> Result<Token, Pos> {
        self.bump();
        let mut out = String::new();
        loop {
            match self.current() {
                None | Some('\n' | '\r') => return Err(pos),
                Some('"') => {
                    self.bump();
                    return Ok(Token::Str(out));
                }
                Some('\\') => {
                    self.bump();
                    let escaped = match self.bump() {
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('/') => '/',
                        Some('b') => '\u{8}',
                        Some('f') => '\u{c}',
                        Some('n') => '\n',
                        Some('r') => '\r',
                        Some('t') => '\t',
                        Some('u') => {
                            let hex = self.rest().get(..4).filter(|h| h.chars().all(|c| c.is_ascii_hexdigit())).ok_or(pos)?;
                            let c = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32).ok_or(pos)?;
                            for _ in 0..4 {
                                self.bump();
                            }
                            c
                        }
                        _ => return Err(pos),
                    };
                    out.push(escaped);
                }
                Some(c) => {
                    self.bump();
                    out.push(c);
                }
            }
        }
    }

    /// A block string: raw text up to `"""` (`\"""` stands for `"""`), its common indentation
    /// and blank first and last lines removed.
    fn block_string(&mut self, pos: Pos) -> Result<Token, Pos> {
        for _ in 0..3 {
            self.bump();
        }
        let mut raw = String::new();
        loop {
            if self.rest().starts_with("\\\"\"\"") {
                for _ in 0..4 {
                    self.bump();
                }
                raw.push_str("\"\"\"");
            } else if self.rest().starts_with("\"\"\"") {
                for _ in 0..3 {
                    self.bump();
                }
                return Ok(Token::Str(block_string_value(&raw)));
            } else {
                match self.bump() {
                    Some(c) => raw.push(c),
                    None => return Err(pos),
                }
            }
        }
    }
}

/// The spec's BlockStringValue.
fn block_string_value(raw: &str) -> String {
    let lines: Vec<&str> = raw.split("\r\n").flat_map(|l| l.split(['\n', '\r'])).collect();
    let indent = lines
        .iter()
        .skip(1)
        .filter_map(|l| {
            let n = l.len() - l.trim_start_matches([' ', '\t']).len();
            (n < l.len()).then_some(n)
        })
        .min()
        .unwrap_or(0);
    let out: Vec<&str> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| if i == 0 { *l } else { l.get(indent..).unwrap_or("") })
        .collect();
    // The blank lines at each end go, by slicing once: removing them one by one from the
    // front is quadratic in a document of 16,000 blank lines.
    let blank = |l: &&str| l.trim_matches([' ', '\t']).is_empty();
    let first = out.iter().position(|l| !blank(l)).unwrap_or(out.len());
    let last = out.iter().rposition(|l| !blank(l)).map_or(first, |i| i + 1);
    out.get(first..last).unwrap_or_default().join("\n")
}
