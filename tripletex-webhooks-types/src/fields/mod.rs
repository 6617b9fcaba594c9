//! The API2 `fields` filter: parse a `fields=` expression and shape JSON with it.
//!
//! ```
//! use serde_json::json;
//! use tripletex_webhooks_types::fields::FieldsFilter;
//!
//! let filter: FieldsFilter = "id, customer(name)".parse()?;
//! let order = json!({
//!     "id": 7,
//!     "url": "api.tripletex.io/v2/order/7",
//!     "customer": { "id": 3, "url": "api.tripletex.io/v2/customer/3", "name": "Acme" },
//! });
//! assert_eq!(filter.apply(&order), json!({ "id": 7, "customer": { "name": "Acme" } }));
//! assert_eq!(filter.to_string(), "id,customer(name)");
//! # Ok::<(), tripletex_webhooks_types::fields::FieldsParseError>(())
//! ```
//!
//! # Grammar
//!
//! A comma-separated list of items. An item is `*` or a field name (ASCII
//! letters, digits and `_`), and a name may be followed by a parenthesised
//! sub-list, nested up to [`MAX_DEPTH`] levels. Whitespace is allowed around
//! every token. Empty parentheses (`document()`) mean the same as
//! `document(*)`. An empty (or all-whitespace) string is the empty filter,
//! which stands for "no `fields` parameter" and gives the default shape.
//!
//! Duplicates are merged while parsing, so equal filters compare equal:
//! `*,*` is `*`, `a,a(b)` is `a(b)` (expanding wins) and `a(b),a(c)` is
//! `a(b,c)`. Items keep the order of their first occurrence.
//!
//! # Semantics (see [`FieldsFilter::apply`])
//!
//! - Default shape (empty filter) and `*`: every key except `changes`;
//!   references (nested objects with an `id` key) become `{id,url}` stubs,
//!   also inside arrays; other values are kept as they are.
//! - `name`: only that key, shaped like under `*`.
//! - `name(sub)`: `sub` is applied to the nested object, or to every element
//!   of a nested array. `project(name)` gives `{"name": ...}`: the id is not
//!   implied.
//! - `changes` is included only when named explicitly (`*,changes`).
//! - Names the object does not have are simply absent from the result.

mod apply;
mod error;
mod normalise;
mod parse;
mod serde_impls;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

pub use error::{FieldsParseError, FieldsParseErrorKind};

/// How many parenthesised levels a filter may nest before parsing fails with
/// [`FieldsParseErrorKind::TooDeep`]. Bounds the parser's recursion, so
/// hostile input cannot overflow the stack.
pub const MAX_DEPTH: usize = 32;

/// The key that `*` and the default shape leave out.
const CHANGES: &str = "changes";

/// A parsed `fields` filter: the items of one list level.
///
/// Every value is normalised (no duplicate items, no empty sub-lists), which
/// is what makes `==` meaningful and lets [`Display`](fmt::Display) print a
/// canonical form that parses back to an equal filter. Besides
/// [`FieldsFilter::all`], filters are built by [`FieldsFilter::parse`] (or
/// [`str::parse`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FieldsFilter {
    items: Vec<FieldSelection>,
}

/// One item of a [`FieldsFilter`] list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldSelection {
    /// `*`: every field of the object except `changes`.
    All,
    /// A named field, optionally with a sub-selection.
    Field {
        /// The field (JSON key) name.
        name: String,
        /// The sub-selection in parentheses, if any. Never empty: `name()` is
        /// stored as `name(*)`.
        sub: Option<FieldsFilter>,
    },
}

impl FieldSelection {
    /// The field name, or `None` for `*`.
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::All => None,
            Self::Field { name, .. } => Some(name),
        }
    }

    /// The sub-selection of a `name(...)` item, or `None` for `*` and bare names.
    pub fn sub(&self) -> Option<&FieldsFilter> {
        match self {
            Self::All => None,
            Self::Field { sub, .. } => sub.as_ref(),
        }
    }

    /// Whether this item is `*`.
    pub fn is_all(&self) -> bool {
        matches!(self, Self::All)
    }
}

impl FieldsFilter {
    /// Parses a `fields` expression such as `*,orderLines(*),changes`.
    pub fn parse(input: &str) -> Result<Self, FieldsParseError> {
        parse::parse(input)
    }

    /// The filter `*`.
    pub fn all() -> Self {
        Self {
            items: vec![FieldSelection::All],
        }
    }

    /// Whether this is the empty filter, i.e. "no `fields`": the default shape.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether this level contains `*`.
    pub fn includes_all(&self) -> bool {
        self.items.iter().any(FieldSelection::is_all)
    }

    /// The number of (deduplicated) items at this level.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The items at this level, in order of first occurrence.
    pub fn iter(&self) -> std::slice::Iter<'_, FieldSelection> {
        self.items.iter()
    }

    /// The item naming `name` explicitly at this level, if any. `*` is not
    /// consulted; use [`FieldsFilter::includes`] to ask whether a key is kept.
    pub fn get(&self, name: &str) -> Option<&FieldSelection> {
        self.items.iter().find(|item| item.name() == Some(name))
    }

    /// Whether [`apply`](FieldsFilter::apply) keeps the key `name` at this
    /// level (if the object has it): named explicitly, or implied by `*` or
    /// the default shape (which never imply `changes`).
    pub fn includes(&self, name: &str) -> bool {
        self.get(name).is_some() || (name != CHANGES && (self.is_empty() || self.includes_all()))
    }
}

impl<'a> IntoIterator for &'a FieldsFilter {
    type Item = &'a FieldSelection;
    type IntoIter = std::slice::Iter<'a, FieldSelection>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl FromStr for FieldsFilter {
    type Err = FieldsParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

/// Prints the canonical form: no whitespace, duplicates merged, `name()`
/// written as `name(*)`. The empty filter prints as the empty string.
impl fmt::Display for FieldsFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, item) in self.items.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            fmt::Display::fmt(item, f)?;
        }
        Ok(())
    }
}

/// Prints one item in canonical form (`*`, `name` or `name(sub)`).
impl fmt::Display for FieldSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("*"),
            Self::Field { name, sub: None } => f.write_str(name),
            Self::Field {
                name,
                sub: Some(sub),
            } => write!(f, "{name}({sub})"),
        }
    }
}
