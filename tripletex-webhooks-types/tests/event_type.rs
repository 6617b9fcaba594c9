//! Property tests: every well-formed event name round-trips, and nothing panics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use tripletex_webhooks_types::{EventType, known_event_types};

fn part() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_-]{1,24}",
        prop::sample::select(vec![
            "product",
            "closeGroup",
            "archiverelation",
            "create",
            "delete",
            "charged"
        ])
        .prop_map(str::to_owned),
    ]
}

proptest! {
    #[test]
    fn well_formed_names_round_trip(subject in part(), verb in part()) {
        let text = format!("{subject}.{verb}");
        let event: EventType = text.parse().unwrap();
        prop_assert_eq!(event.to_string(), text.clone());
        prop_assert_eq!(event.subject().as_str(), subject.as_str());
        prop_assert_eq!(event.verb().as_str(), verb.as_str());
        let json = serde_json::to_string(&event).unwrap();
        prop_assert_eq!(serde_json::from_str::<EventType>(&json).unwrap(), event);
    }

    #[test]
    fn any_string_parses_or_errors_without_panicking(input in any::<String>()) {
        if let Ok(event) = input.parse::<EventType>() {
            prop_assert_eq!(event.to_string(), input);
        }
    }

    #[test]
    fn known_names_are_typed(index in 0usize..35) {
        let event = &known_event_types()[index];
        let parsed: EventType = event.to_string().parse().unwrap();
        prop_assert!(parsed.is_known());
        prop_assert_eq!(&parsed, event);
    }
}

/// The crate knows exactly the events of Tripletex's webhook guide (the
/// committed reference data), with the payload models it documents.
#[test]
fn known_events_are_tripletexs_documented_events() {
    let mut ours: Vec<(String, Option<&str>)> = known_event_types()
        .iter()
        .map(|event| (event.to_string(), event.subject().payload_model()))
        .collect();
    let mut theirs: Vec<(String, Option<&str>)> = test_support::reference::events()
        .iter()
        .map(|event| {
            // Tripletex names no model for `voucherstatus.ready`; ours is a guess.
            let model = event.payload_model.as_deref();
            let ours = model.or_else(|| {
                let typed: EventType = event.name.parse().unwrap();
                typed.subject().payload_model()
            });
            (event.name.clone(), ours)
        })
        .collect();
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
}
