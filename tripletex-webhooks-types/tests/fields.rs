//! Property tests for the `fields` filter: round trips, no panics, and
//! structural invariants of `apply`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use serde_json::{Map, Value};
use tripletex_webhooks_types::fields::{
    FieldSelection, FieldsFilter, FieldsParseErrorKind, MAX_DEPTH,
};

/// A filter tree as a test generates it: duplicates and `name()` allowed.
#[derive(Debug, Clone)]
enum Item {
    All,
    Field(String, Option<Vec<Item>>),
}

fn name() -> impl Strategy<Value = String> {
    // Few short names so that duplicates (and thus merging) are common.
    prop_oneof![
        "[a-c]",
        "[a-zA-Z0-9_]{1,8}",
        Just("changes".to_owned()),
        Just("id".to_owned()),
    ]
}

fn items() -> impl Strategy<Value = Vec<Item>> {
    let leaf = prop_oneof![
        1 => Just(Item::All),
        4 => name().prop_map(|name| Item::Field(name, None)),
    ];
    let item = leaf.prop_recursive(5, 64, 4, |inner| {
        prop_oneof![
            inner.clone(),
            (name(), prop::collection::vec(inner, 0..4))
                .prop_map(|(name, sub)| Item::Field(name, Some(sub))),
        ]
    });
    prop::collection::vec(item, 1..6)
}

/// Writes the tree as a `fields` string, optionally with spaces around tokens.
fn render(items: &[Item], spaced: bool) -> String {
    let separator = if spaced { " , " } else { "," };
    items
        .iter()
        .map(|item| match item {
            Item::All => "*".to_owned(),
            Item::Field(name, None) => name.clone(),
            Item::Field(name, Some(sub)) if spaced => format!("{name} ( {} )", render(sub, true)),
            Item::Field(name, Some(sub)) => format!("{name}({})", render(sub, false)),
        })
        .collect::<Vec<_>>()
        .join(separator)
}

/// A straightforward model of normalisation: the canonical string the
/// parser's `Display` must produce for `items`.
fn model(items: &[Item]) -> String {
    let mut merged: Vec<Item> = Vec::new();
    for item in items {
        match item {
            Item::All if merged.iter().any(|m| matches!(m, Item::All)) => {}
            Item::All => merged.push(Item::All),
            Item::Field(name, sub) => {
                let sub = sub
                    .clone()
                    .map(|s| if s.is_empty() { vec![Item::All] } else { s });
                let existing = merged
                    .iter_mut()
                    .find(|m| matches!(m, Item::Field(n, _) if n == name));
                match (existing, sub) {
                    (None, sub) => merged.push(Item::Field(name.clone(), sub)),
                    (Some(_), None) => {}
                    (Some(Item::Field(_, Some(old))), Some(sub)) => old.extend(sub),
                    (Some(Item::Field(_, slot)), Some(sub)) => *slot = Some(sub),
                    (Some(Item::All), Some(_)) => unreachable!(),
                }
            }
        }
    }
    merged
        .iter()
        .map(|item| match item {
            Item::All => "*".to_owned(),
            Item::Field(name, None) => name.clone(),
            Item::Field(name, Some(sub)) => format!("{name}({})", model(sub)),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("id".to_owned()),
        Just("url".to_owned()),
        Just("changes".to_owned()),
        "[a-c]",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z]{0,4}".prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 128, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Characters of the grammar, plus a few that are not.
fn grammar_string() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        8 => prop::sample::select(vec!['a', 'b', 'z', '*', '(', ')', ',', ' ']),
        1 => any::<char>(),
    ];
    prop::collection::vec(c, 0..64).prop_map(|chars| chars.into_iter().collect())
}

fn check_parse_outcome(input: &str) {
    match FieldsFilter::parse(input) {
        Ok(filter) => {
            let printed = filter.to_string();
            assert_eq!(FieldsFilter::parse(&printed).unwrap(), filter, "{input:?}");
        }
        Err(err) => {
            assert!(err.position() <= input.len(), "{input:?}: {err}");
            assert!(input.is_char_boundary(err.position()), "{input:?}: {err}");
            let _ = err.to_string();
        }
    }
}

/// Whether the top level of `filter` names `key` explicitly.
fn names(filter: &FieldsFilter, key: &str) -> bool {
    filter.iter().any(|item| item.name() == Some(key))
}

proptest! {
    #[test]
    fn generated_filters_round_trip(items in items(), spaced in any::<bool>()) {
        let filter = FieldsFilter::parse(&render(&items, spaced)).unwrap();
        let printed = filter.to_string();
        prop_assert_eq!(&printed, &model(&items));
        prop_assert_eq!(FieldsFilter::parse(&printed).unwrap(), filter);
    }

    #[test]
    fn grammar_strings_never_panic(input in grammar_string()) {
        check_parse_outcome(&input);
    }

    #[test]
    fn arbitrary_strings_never_panic(input in any::<String>()) {
        check_parse_outcome(&input);
    }

    #[test]
    fn apply_never_panics_and_is_a_projection(items in items(), value in json()) {
        let filter = FieldsFilter::parse(&render(&items, false)).unwrap();
        let shaped = filter.apply(&value);
        if let (Value::Object(source), Value::Object(result)) = (&value, &shaped) {
            // Result keys are a subsequence of the source keys.
            let mut source_keys = source.keys();
            for key in result.keys() {
                prop_assert!(source_keys.any(|k| k == key), "{key} out of order");
            }
            if !names(&filter, "changes") {
                prop_assert!(!result.contains_key("changes"));
            }
        }
        prop_assert_eq!(filter.apply(&shaped), shaped.clone());
    }

    #[test]
    fn default_shape_never_panics_and_is_idempotent(value in json()) {
        let shaped = FieldsFilter::default_shape(&value);
        prop_assert_eq!(FieldsFilter::default_shape(&shaped), shaped.clone());
        prop_assert_eq!(FieldsFilter::all().apply(&value), shaped);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let err = FieldsFilter::parse(&"a(".repeat(10_000)).unwrap_err();
    assert_eq!(
        err.kind(),
        &FieldsParseErrorKind::TooDeep { limit: MAX_DEPTH }
    );
    assert_eq!(err.position(), 2 * MAX_DEPTH + 1);
    for input in [
        "(".repeat(10_000),
        ")".repeat(10_000),
        "a(*(".repeat(10_000),
    ] {
        assert!(FieldsFilter::parse(&input).is_err());
    }
}

#[test]
fn public_tree_is_inspectable() {
    let filter = FieldsFilter::parse("*, document()").unwrap();
    let document = filter.get("document").unwrap();
    assert!(matches!(document, FieldSelection::Field { sub: Some(sub), .. } if sub.includes_all()));
}
