//! Unit tests for the `fields` filter.

mod apply;
mod parse;
