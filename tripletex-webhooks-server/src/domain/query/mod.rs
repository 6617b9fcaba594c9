//! List queries as pure functions over rendered objects: the search
//! parameters of the resource's official list operation, each with its
//! documented meaning, all of them ANDed, then `sorting`.
//!
//! - [`path`]: field paths, following references into other objects.
//! - [`filter`]: one search parameter.
//! - [`sort`]: the `sorting` parameter.
//! - [`compare`]: how values compare.
//!
//! Parameters a resource's list operation does not have are ignored, as
//! Tripletex ignores them; ones whose meaning no field of the model answers
//! (the data marks them `none`) are accepted and not applied.

mod compare;
mod filter;
pub(crate) mod path;
mod sort;

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::domain::model::{FieldType, FilterKind, data};
use crate::domain::resources::Resource;
use filter::Filter;
use path::FieldPath;
pub(crate) use path::Lookup;
use sort::{SortKey, compare, parse_sorting};

/// Why a list query cannot run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum QueryError {
    /// A `sorting` key the model lacks (422, code 17000).
    #[error("{0}")]
    Sorting(String),
    /// A search parameter whose value its field cannot hold (422, code 21000).
    #[error("{0}")]
    Param(String),
}

/// A parsed list query.
#[derive(Debug, Default)]
pub(crate) struct Query {
    filters: Vec<Filter>,
    sorting: Vec<SortKey>,
}

impl Query {
    /// The query the request's parameters make for `resource`.
    pub(crate) fn parse(
        resource: &Resource,
        params: &HashMap<String, String>,
    ) -> Result<Self, QueryError> {
        let search = data()
            .resources
            .get(resource.path)
            .map_or(&[][..], |row| row.search.as_slice());
        let mut filters = Vec::new();
        for param in search {
            let Some(raw) = params
                .get(&param.param)
                .filter(|raw| !raw.trim().is_empty())
            else {
                continue;
            };
            let path = param
                .field
                .as_deref()
                .and_then(|field| FieldPath::parse(resource.model, field).ok());
            if let Some(path) = &path {
                check_value(&param.param, param.filter, path.kind(), raw)?;
            }
            filters.push(Filter::new(param.filter, path, raw));
        }
        let sorting = match params.get("sorting") {
            Some(sorting) => parse_sorting(resource.model, sorting).map_err(QueryError::Sorting)?,
            None => Vec::new(),
        };
        Ok(Self { filters, sorting })
    }

    /// Whether the query neither filters nor sorts: every object, by id.
    pub(crate) fn is_empty(&self) -> bool {
        self.filters.is_empty() && self.sorting.is_empty()
    }

    /// The resources whose objects the query follows references into: the
    /// caller loads them into the [`Lookup`].
    pub(crate) fn loads(&self) -> BTreeSet<&'static str> {
        let filters = self.filters.iter().flat_map(Filter::loads);
        let keys = self.sorting.iter().flat_map(|key| key.path.loads());
        filters.chain(keys).collect()
    }

    /// The objects (in id order) that pass every filter, sorted.
    pub(crate) fn select(&self, objects: Vec<Value>, lookup: &Lookup) -> Vec<Value> {
        let mut selected: Vec<Value> = objects
            .into_iter()
            .filter(|object| self.filters.iter().all(|f| f.matches(object, lookup)))
            .collect();
        selected.sort_by(|a, b| compare(&self.sorting, a, b, lookup));
        selected
    }
}

/// Refuses a value its field cannot hold: a boolean but `true`/`false`, a
/// number (or, for lists, numbers) that does not parse.
fn check_value(
    param: &str,
    kind: FilterKind,
    field: &FieldType,
    raw: &str,
) -> Result<(), QueryError> {
    let items: Vec<&str> = if kind == FilterKind::In {
        raw.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .collect()
    } else {
        vec![raw.trim()]
    };
    let fits = |item: &&str| match field {
        FieldType::Boolean => {
            item.eq_ignore_ascii_case("true") || item.eq_ignore_ascii_case("false")
        }
        FieldType::Integer { .. } if kind != FilterKind::Contains => item.parse::<i64>().is_ok(),
        FieldType::Number if kind != FilterKind::Contains => item.parse::<f64>().is_ok(),
        FieldType::Text {
            values: Some(values),
        } if kind == FilterKind::Equals => values.iter().any(|value| value == *item),
        _ => true,
    };
    match items.iter().find(|item| !fits(item)) {
        Some(item) => Err(QueryError::Param(format!(
            "Illegal value '{item}' for the parameter {param}."
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::resources::{RESOURCES, by_path};

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_search_parameter_of_the_data_names_a_field_of_its_model() {
        for resource in RESOURCES {
            let row = &data().resources[resource.path];
            for param in &row.search {
                if let Some(field) = &param.field {
                    assert!(
                        FieldPath::parse(resource.model, field).is_ok(),
                        "{}: {} -> {field}",
                        resource.path,
                        param.param
                    );
                }
            }
        }
    }

    #[test]
    fn filters_are_anded_and_unknown_parameters_ignored() {
        let product = by_path("product").unwrap();
        let query = Query::parse(
            product,
            &params(&[("name", "esp"), ("isInactive", "false"), ("colour", "red")]),
        )
        .unwrap();
        let objects = vec![
            json!({"id": 1, "name": "Espresso", "isInactive": false}),
            json!({"id": 2, "name": "Espresso", "isInactive": true}),
            json!({"id": 3, "name": "Lungo", "isInactive": false}),
        ];
        let ids: Vec<_> = query
            .select(objects, &Lookup::new())
            .iter()
            .map(|o| o["id"].clone())
            .collect();
        assert_eq!(ids, [json!(1)]);
    }

    #[test]
    fn bad_values_and_sort_keys_are_refused() {
        let product = by_path("product").unwrap();
        for bad in [
            ("isInactive", "maybe"),
            ("ids", "1,x"),
            ("costExcludingVatCurrencyFrom", "cheap"),
        ] {
            assert!(
                matches!(
                    Query::parse(product, &params(&[bad])),
                    Err(QueryError::Param(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Query::parse(product, &params(&[("sorting", "-colour")])),
            Err(QueryError::Sorting(_))
        ));
        let project = by_path("project").unwrap();
        let query = Query::parse(
            project,
            &params(&[
                ("sorting", "customer.name"),
                ("customerAccountManagerId", "4"),
            ]),
        )
        .unwrap();
        assert_eq!(query.loads().into_iter().collect::<Vec<_>>(), ["customer"]);
    }
}
