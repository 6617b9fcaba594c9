//! Why and where a `fields` expression failed to parse.

use std::fmt;

/// A `fields` expression that does not follow the grammar.
///
/// Displays as e.g. `invalid fields filter at position 3: expected a field
/// name, found ','`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fields filter at position {position}: {kind}")]
pub struct FieldsParseError {
    position: usize,
    kind: FieldsParseErrorKind,
}

impl FieldsParseError {
    pub(super) fn new(position: usize, kind: FieldsParseErrorKind) -> Self {
        Self { position, kind }
    }

    /// Byte offset into the input where the problem was found. Always on a
    /// `char` boundary; equal to the input length for "end of input" errors.
    pub fn position(&self) -> usize {
        self.position
    }

    /// What was wrong.
    pub fn kind(&self) -> &FieldsParseErrorKind {
        &self.kind
    }
}

/// The reason a [`FieldsParseError`] was raised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldsParseErrorKind {
    /// A character that cannot appear here, e.g. the `b` in `a b` or any
    /// character outside the grammar (`-`, `.`, non-ASCII letters).
    #[error("unexpected character {0:?}")]
    UnexpectedChar(char),
    /// A field name (or `*`) was required: `a,,b`, a leading or trailing
    /// comma, or `(` without a name before it. Holds what was found instead,
    /// `None` for the end of the input.
    #[error("expected a field name, found {}", Found(*.0))]
    MissingFieldName(Option<char>),
    /// The input ended inside parentheses. The position is the unclosed `(`.
    #[error("unclosed '('")]
    UnclosedParenthesis,
    /// A `)` with no `(` to close.
    #[error("unmatched ')'")]
    UnmatchedParenthesis,
    /// `*(...)`: `*` cannot have a sub-selection. The position is the `(`.
    #[error("'*' cannot have a sub-selection")]
    SubSelectionOnStar,
    /// Parentheses nested deeper than [`MAX_DEPTH`](super::MAX_DEPTH). The
    /// position is the first `(` beyond the limit.
    #[error("parentheses nested deeper than {limit} levels")]
    TooDeep {
        /// The nesting limit that was exceeded.
        limit: usize,
    },
}

/// Renders "what was found" for [`FieldsParseErrorKind::MissingFieldName`].
struct Found(Option<char>);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(found) => write!(f, "{found:?}"),
            None => f.write_str("end of input"),
        }
    }
}
