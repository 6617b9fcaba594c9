//! Merging duplicate items, so that filters meaning the same thing are equal.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::{FieldSelection, FieldsFilter};

/// An item as written, before duplicates are merged. `Some(vec![])` is `name()`.
pub(super) enum RawItem {
    All,
    Field {
        name: String,
        sub: Option<Vec<RawItem>>,
    },
}

/// Merges duplicates level by level: `*` is kept once, a name is kept once at
/// its first position, a sub-selection wins over a bare name and two
/// sub-selections of one name are combined. `name()` becomes `name(*)`.
pub(super) fn normalise(items: Vec<RawItem>) -> FieldsFilter {
    let mut level = Level::default();
    for item in items {
        level.add(item);
    }
    level.finish()
}

/// The merge state of one list level. The raw sub-lists of a repeated name
/// are concatenated and normalised once in [`Level::finish`], which keeps
/// the work linear even for inputs like `a(b),a(c),a(d),...`.
#[derive(Default)]
struct Level {
    has_all: bool,
    /// Items in order of first occurrence: `None` is `*`.
    order: Vec<Option<String>>,
    subs: HashMap<String, Option<Vec<RawItem>>>,
}

impl Level {
    fn add(&mut self, item: RawItem) {
        match item {
            RawItem::All if self.has_all => {}
            RawItem::All => {
                self.has_all = true;
                self.order.push(None);
            }
            RawItem::Field { name, sub } => self.add_field(name, sub.map(star_if_empty)),
        }
    }

    fn add_field(&mut self, name: String, sub: Option<Vec<RawItem>>) {
        match self.subs.entry(name) {
            Entry::Vacant(entry) => {
                self.order.push(Some(entry.key().clone()));
                entry.insert(sub);
            }
            Entry::Occupied(mut entry) => merge_into(entry.get_mut(), sub),
        }
    }

    fn finish(mut self) -> FieldsFilter {
        let items = self
            .order
            .into_iter()
            .map(|slot| match slot {
                None => FieldSelection::All,
                Some(name) => {
                    let sub = self.subs.remove(&name).flatten().map(normalise);
                    FieldSelection::Field { name, sub }
                }
            })
            .collect();
        FieldsFilter { items }
    }
}

/// `name()` means `name(*)`; storing it that way gives both spellings one tree.
fn star_if_empty(sub: Vec<RawItem>) -> Vec<RawItem> {
    if sub.is_empty() {
        vec![RawItem::All]
    } else {
        sub
    }
}

/// Folds a repeated name's sub-list into the first one's.
fn merge_into(existing: &mut Option<Vec<RawItem>>, extra: Option<Vec<RawItem>>) {
    let Some(extra) = extra else {
        // A bare repeat adds nothing: `a(b),a` is `a(b)`.
        return;
    };
    match existing {
        Some(list) => list.extend(extra),
        None => *existing = Some(extra),
    }
}
