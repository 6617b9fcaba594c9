//! A recursive-descent parser for `fields` expressions.
//!
//! Recursion is bounded by [`MAX_DEPTH`], so no input can overflow the stack,
//! and the cursor only ever moves by whole `char`s, so positions stay on
//! `char` boundaries even for multi-byte UTF-8 input.

use super::normalise::{RawItem, normalise};
use super::{FieldsFilter, FieldsParseError, FieldsParseErrorKind as Kind, MAX_DEPTH};

type Parsed<T> = Result<T, FieldsParseError>;

/// Parses `input` and merges duplicate items (see [`normalise`]).
pub(super) fn parse(input: &str) -> Parsed<FieldsFilter> {
    let mut parser = Parser { input, pos: 0 };
    Ok(normalise(parser.top_level()?))
}

/// Characters allowed in a field name.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

struct Parser<'a> {
    input: &'a str,
    /// Byte offset of the next unread character.
    pos: usize,
}

impl Parser<'_> {
    /// The whole input: empty (or only whitespace) means "no filter".
    fn top_level(&mut self) -> Parsed<Vec<RawItem>> {
        self.skip_whitespace();
        if self.peek().is_none() {
            return Ok(Vec::new());
        }
        self.list(0)
    }

    /// `item (',' item)*`. Stops at the end of the input, or (when nested)
    /// before a `)`, which the caller consumes or reports as unclosed.
    fn list(&mut self, depth: usize) -> Parsed<Vec<RawItem>> {
        let mut items = Vec::new();
        loop {
            items.push(self.item(depth)?);
            self.skip_whitespace();
            match self.peek() {
                Some(',') => self.bump(','),
                Some(')') if depth == 0 => return Err(self.error(Kind::UnmatchedParenthesis)),
                None | Some(')') => return Ok(items),
                Some(other) => return Err(self.error(Kind::UnexpectedChar(other))),
            }
        }
    }

    /// `*` or `name` or `name(list)`.
    fn item(&mut self, depth: usize) -> Parsed<RawItem> {
        self.skip_whitespace();
        match self.peek() {
            Some('*') => self.star(),
            Some(c) if is_name_char(c) => self.field(depth),
            Some(')') if depth == 0 => Err(self.error(Kind::UnmatchedParenthesis)),
            found => Err(self.error(Kind::MissingFieldName(found))),
        }
    }

    fn star(&mut self) -> Parsed<RawItem> {
        self.bump('*');
        self.skip_whitespace();
        if self.peek() == Some('(') {
            return Err(self.error(Kind::SubSelectionOnStar));
        }
        Ok(RawItem::All)
    }

    fn field(&mut self, depth: usize) -> Parsed<RawItem> {
        let name = self.name();
        self.skip_whitespace();
        let sub = if self.peek() == Some('(') {
            Some(self.sub_list(depth + 1)?)
        } else {
            None
        };
        Ok(RawItem::Field { name, sub })
    }

    /// `( list? )` at nesting level `depth` (1 for the first parentheses).
    fn sub_list(&mut self, depth: usize) -> Parsed<Vec<RawItem>> {
        let open = self.pos;
        if depth > MAX_DEPTH {
            let kind = Kind::TooDeep { limit: MAX_DEPTH };
            return Err(FieldsParseError::new(open, kind));
        }
        self.bump('(');
        self.skip_whitespace();
        let items = match self.peek() {
            // `name()` (normalised to `name(*)` later), or the input ended.
            Some(')') | None => Vec::new(),
            Some(_) => self.list(depth)?,
        };
        if self.peek() != Some(')') {
            return Err(FieldsParseError::new(open, Kind::UnclosedParenthesis));
        }
        self.bump(')');
        Ok(items)
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek().filter(|&c| is_name_char(c)) {
            name.push(c);
            self.bump(c);
        }
        name
    }

    fn skip_whitespace(&mut self) {
        while let Some(c) = self.peek().filter(char::is_ascii_whitespace) {
            self.bump(c);
        }
    }

    fn peek(&self) -> Option<char> {
        self.input.get(self.pos..)?.chars().next()
    }

    /// Advances past `c`, which must be the character just peeked.
    fn bump(&mut self, c: char) {
        self.pos += c.len_utf8();
    }

    fn error(&self, kind: Kind) -> FieldsParseError {
        FieldsParseError::new(self.pos, kind)
    }
}
