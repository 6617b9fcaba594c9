//! Shaping an object for the wire with a `fields` filter: the one function
//! `GET` responses and webhook payloads both go through, so a subscription's
//! `fields` gives what `GET /v2/<object>/{id}?fields=…` gives.
//!
//! The filter's rules are [`FieldsFilter::apply`]'s. What is added here is
//! expansion: a filter that asks for sub-fields of a reference
//! (`customer(*)`, `customer(name)`, `orderLines(*)`) gets the referenced
//! object, loaded from the store (same company) and rendered, in place of its
//! stub, before the filter is applied. Expansion goes [`MAX_EXPANSION_DEPTH`]
//! levels deep (`project(customer(name))`); references to objects the server
//! does not host (nor created with one it hosts), or that no longer exist,
//! stay stubs.

use futures::future::BoxFuture;
use serde_json::{Map, Value};
use tripletex_webhooks_types::Subject;
use tripletex_webhooks_types::fields::FieldsFilter;

use super::{Resource, by_path, by_subject};
use crate::domain::model::complete::model_of;
use crate::domain::object::render;
use crate::store::{Store, StoreResult};

/// How many levels of references a filter may expand.
pub(crate) const MAX_EXPANSION_DEPTH: usize = 2;

/// Shapes `object` (a rendered object: `id`, `version`, `url`, its fields and
/// `changes`, as [`crate::domain::object::render`] makes it, or a stored webhook
/// payload) for the wire.
///
/// `subject` says what the object is (for which fields are references);
/// `company_id` whose objects expansions may load; `url_base` the scheme-less
/// base of `url` fields. An empty `filter` gives the default shape: every
/// field but `changes`, references as `{id, url}` stubs.
pub(crate) async fn shape(
    store: &dyn Store,
    company_id: i64,
    url_base: &str,
    subject: &Subject,
    mut object: Value,
    filter: &FieldsFilter,
) -> StoreResult<Value> {
    if let Value::Object(map) = &mut object {
        let ctx = Expansion {
            store,
            company_id,
            url_base,
        };
        ctx.expand_object(by_subject(subject), map, filter, MAX_EXPANSION_DEPTH)
            .await?;
    }
    Ok(filter.apply(&object))
}

/// What an expansion needs to load and render referenced objects.
#[derive(Clone, Copy)]
struct Expansion<'a> {
    store: &'a dyn Store,
    company_id: i64,
    url_base: &'a str,
}

impl<'a> Expansion<'a> {
    /// Replaces the stubs of `object` that `filter` expands with the
    /// referenced objects, `depth` levels deep.
    fn expand_object<'b>(
        self,
        resource: Option<&'static Resource>,
        object: &'b mut Map<String, Value>,
        filter: &'b FieldsFilter,
        depth: usize,
    ) -> BoxFuture<'b, StoreResult<()>>
    where
        'a: 'b,
    {
        Box::pin(async move {
            if depth == 0 {
                return Ok(());
            }
            for item in filter {
                let (Some(name), Some(sub)) = (item.name(), item.sub()) else {
                    continue;
                };
                let Some(value) = object.get_mut(name) else {
                    continue;
                };
                let declared = resource.and_then(|r| r.target_of(name));
                match value {
                    Value::Array(items) => {
                        for item in items {
                            self.expand_reference(declared, item, sub, depth).await?;
                        }
                    }
                    reference => {
                        self.expand_reference(declared, reference, sub, depth)
                            .await?;
                    }
                }
            }
            Ok(())
        })
    }

    /// Replaces one stub with its object, if it points to a hosted one (or a
    /// sub-object created with one) that exists.
    async fn expand_reference(
        self,
        declared: Option<&'static str>,
        reference: &mut Value,
        sub: &FieldsFilter,
        depth: usize,
    ) -> StoreResult<()> {
        let Some(id) = reference.get("id").and_then(Value::as_i64) else {
            return Ok(());
        };
        let Some(path) = declared
            .map(str::to_owned)
            .or_else(|| self.path_in_url(reference).map(str::to_owned))
            .filter(|path| by_path(path).is_some() || model_of(path).is_some())
        else {
            return Ok(());
        };
        let Some(record) = self.store.get_object(self.company_id, &path, id).await? else {
            return Ok(());
        };
        let mut rendered = render(&record, self.url_base);
        if let Value::Object(map) = &mut rendered {
            self.expand_object(by_path(&path), map, sub, depth.saturating_sub(1))
                .await?;
        }
        *reference = rendered;
        Ok(())
    }

    /// The resource path in a stub's `url` (`<url_base>/<path>/<id>`): how
    /// references of subjects without a table row (a `voucherstatus`'s
    /// `voucher`) find their target.
    fn path_in_url<'v>(&self, reference: &'v Value) -> Option<&'v str> {
        let url = reference.get("url")?.as_str()?;
        let rest = url.strip_prefix(self.url_base)?.strip_prefix('/')?;
        rest.rsplit_once('/').map(|(path, _)| path)
    }
}
