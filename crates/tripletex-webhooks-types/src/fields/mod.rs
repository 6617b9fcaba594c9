//! The API2 `fields` filter.
