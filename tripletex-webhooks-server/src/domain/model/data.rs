//! The committed model data (`data/tripletex-models.json`, made from
//! Tripletex's official OpenAPI document by `data/make_models.py`) and the
//! required fields (`data/tripletex-required-fields.json`, from the last
//! Swagger 2 document by `data/extract_required.py`), decoded once.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::{Map, Value};

const MODELS: &str = include_str!("../../../data/tripletex-models.json");
const REQUIRED: &str = include_str!("../../../data/tripletex-required-fields.json");

/// Why the committed model data cannot be used (a defect of the build, found
/// at start-up rather than on a request).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ModelDataError {
    /// A data file does not decode.
    #[error("the committed {file} does not decode: {source}")]
    Decode {
        /// Which file.
        file: &'static str,
        /// What is wrong with it.
        #[source]
        source: serde_json::Error,
    },
}

/// Everything the data says.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ModelData {
    /// The official document's `info.version`.
    pub(crate) openapi_version: String,
    /// The API path of each model that has one (`Currency` → `currency`).
    pub(crate) model_paths: HashMap<String, String>,
    /// The hosted resources by API path.
    pub(crate) resources: HashMap<String, ResourceData>,
    /// The defaults of sub-objects created with their parent, by model.
    pub(crate) sub_model_defaults: HashMap<String, Map<String, Value>>,
    /// The official schemas the hosted models reach, by name.
    pub(crate) schemas: Map<String, Value>,
    /// The fields a create must carry, by model.
    #[serde(skip)]
    pub(crate) required: HashMap<String, Vec<String>>,
}

/// One hosted resource's row.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ResourceData {
    /// Its model (`Product`).
    pub(crate) model: String,
    /// The methods the official document has on `/{path}/{id}`.
    pub(crate) item: Vec<String>,
    /// The methods on `/{path}/list`.
    pub(crate) list: Vec<String>,
    /// List fields whose new items (without `id`) are created with the
    /// object: field → the sub-object's field that points back to it.
    pub(crate) nested: HashMap<String, String>,
    /// Each field's value while the object has none, in the model's order.
    pub(crate) defaults: Map<String, Value>,
    /// The search parameters of its list operation.
    pub(crate) search: Vec<SearchParam>,
}

/// One search parameter of a list operation.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SearchParam {
    /// Its name (`customerId`).
    pub(crate) param: String,
    /// Its documented meaning.
    pub(crate) filter: FilterKind,
    /// The field path it compares (`customer.id`), if any.
    pub(crate) field: Option<String>,
    /// Its schema in the official document.
    pub(crate) schema: Value,
}

/// The documented meaning of a search parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum FilterKind {
    /// "List of IDs": the field is one of a comma-separated list.
    In,
    /// "Equals".
    Equals,
    /// "Containing": the field contains the text, ignoring case.
    Contains,
    /// "From and including".
    From,
    /// "To and excluding".
    To,
    /// "Only return elements that have changed since this date and time".
    ChangedSince,
    /// No field of the model answers it: accepted and not applied.
    None,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequiredData {
    required_fields: HashMap<String, Vec<String>>,
}

static DATA: LazyLock<Result<ModelData, ModelDataError>> = LazyLock::new(load);

fn load() -> Result<ModelData, ModelDataError> {
    let mut data: ModelData =
        serde_json::from_str(MODELS).map_err(|source| ModelDataError::Decode {
            file: "data/tripletex-models.json",
            source,
        })?;
    let required: RequiredData =
        serde_json::from_str(REQUIRED).map_err(|source| ModelDataError::Decode {
            file: "data/tripletex-required-fields.json",
            source,
        })?;
    data.required = required.required_fields;
    Ok(data)
}

/// Whether the data decodes: checked once at start-up, so that a broken
/// build fails there and [`data`] never meets the error.
pub(crate) fn check() -> Result<(), &'static ModelDataError> {
    DATA.as_ref().map(drop)
}

/// The model data; empty only if [`check`] failed.
pub(crate) fn data() -> &'static ModelData {
    static EMPTY: LazyLock<ModelData> = LazyLock::new(ModelData::default);
    DATA.as_ref().unwrap_or(&EMPTY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_data_decodes_and_covers_the_ten_resources() {
        assert!(check().is_ok(), "{:?}", check().err());
        let data = data();
        assert_eq!(data.resources.len(), 10);
        assert_eq!(data.openapi_version, "2.72.00");
        assert_eq!(data.model_paths["Currency"], "currency");
        assert_eq!(
            data.required["Order"],
            ["customer", "orderDate", "deliveryDate"]
        );
        assert!(data.schemas["Product"]["properties"]["name"].is_object());
    }
}
