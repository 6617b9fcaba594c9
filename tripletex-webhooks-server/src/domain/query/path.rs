//! A field path of a query (`name`, `project.name`,
//! `customer.accountManager.id`), checked against the model, and its value
//! in an object, following references into the objects they name.

use std::collections::HashMap;

use serde_json::Value;

use crate::domain::model::{FieldType, path_of, property};

/// Rendered objects a path may follow a reference into, by resource path and id.
pub(crate) type Lookup = HashMap<(&'static str, i64), Value>;

/// One step of a path: a property, and the resource to load its object
/// from when the path goes on into it (`None` for the last step, a step into
/// a value object, or one whose next step is the stub's own `id` or `url`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    name: String,
    load: Option<&'static str>,
}

/// A checked field path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldPath {
    steps: Vec<Step>,
    /// What the last step holds.
    kind: FieldType,
}

impl FieldPath {
    /// Parses `text` (dot-separated) against `model`; why not, if it names
    /// no field, or goes on from one that is neither a reference nor a value
    /// object.
    pub(crate) fn parse(model: &str, text: &str) -> Result<Self, String> {
        let names: Vec<&str> = text.split('.').map(str::trim).collect();
        let mut steps = Vec::with_capacity(names.len());
        let mut current: &str = model;
        let mut last = FieldType::Free;
        for (index, name) in names.iter().enumerate() {
            let (_, kind) = property(current, name)
                .ok_or_else(|| format!("{current} has no field '{name}' (in '{text}')."))?;
            let next = names.get(index + 1);
            let mut load = None;
            if let Some(next) = next {
                current = match &kind {
                    FieldType::Reference { model } => {
                        if !matches!(*next, "id" | "url") {
                            load = path_of(model);
                        }
                        model
                    }
                    FieldType::Embedded { model } => model,
                    _ => return Err(format!("'{name}' has no fields (in '{text}').")),
                };
            }
            last = kind;
            steps.push(Step {
                name: (*name).to_owned(),
                load,
            });
        }
        Ok(Self { steps, kind: last })
    }

    /// What the field at the end of the path holds.
    pub(crate) fn kind(&self) -> &FieldType {
        &self.kind
    }

    /// The resources whose objects this path follows references into.
    pub(crate) fn loads(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.steps.iter().filter_map(|step| step.load)
    }

    /// The value at this path in `object`, if there is one.
    pub(crate) fn resolve<'v>(&self, object: &'v Value, lookup: &'v Lookup) -> Option<&'v Value> {
        let mut current = object;
        for step in &self.steps {
            let mut value = current.get(&step.name)?;
            if let Some(resource) = step.load {
                let id = value.get("id")?.as_i64()?;
                value = lookup.get(&(resource, id))?;
            }
            current = value;
        }
        Some(current).filter(|value| !value.is_null())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn paths_follow_references_through_the_lookup() {
        let path = FieldPath::parse("Project", "customer.accountManager.id").unwrap();
        assert_eq!(path.loads().collect::<Vec<_>>(), ["customer"]);
        let project = json!({"customer": {"id": 4, "url": "u"}});
        let mut lookup = Lookup::new();
        assert_eq!(path.resolve(&project, &lookup), None);
        lookup.insert(("customer", 4), json!({"accountManager": {"id": 9}}));
        assert_eq!(path.resolve(&project, &lookup), Some(&json!(9)));
        let id = FieldPath::parse("Order", "customer.id").unwrap();
        assert_eq!(id.loads().count(), 0);
        assert_eq!(
            id.resolve(&json!({"customer": {"id": 2}}), &lookup),
            Some(&json!(2))
        );
        assert_eq!(id.resolve(&json!({"customer": null}), &lookup), None);
    }

    #[test]
    fn paths_must_name_fields_of_the_model() {
        assert!(FieldPath::parse("Product", "colour").is_err());
        assert!(FieldPath::parse("Product", "name.first").is_err());
        assert!(FieldPath::parse("Order", "orderLines.count").is_err());
        assert!(FieldPath::parse("Order", "project.nope").is_err());
        assert!(FieldPath::parse("Employee", "internationalId.number").is_ok());
    }
}
