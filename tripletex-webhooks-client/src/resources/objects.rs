//! `GET /v2/{path}/{id}`: one object of a resource (`product`,
//! `ledger/account`, ...), typed or raw, with a `fields` filter.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::Client;
use crate::error::Result;
use crate::sync::ObjectSync;
use crate::transport::RequestSpec;

/// The objects under `/v2/{path}`, from [`Client::objects`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use tripletex_webhooks_server::{RunningServer, ServerConfig};
/// # let server = RunningServer::start(ServerConfig::for_tests()).await?;
/// # let client = tripletex_webhooks_client::Client::builder()
/// #     .base_url(server.base_url())
/// #     .session_token(server.create_session_token(0).await?)
/// #     .build()?;
/// # let token = server.create_session_token(0).await?;
/// # let created: serde_json::Value = reqwest::Client::new()
/// #     .post(format!("{}/product", server.base_url()))
/// #     .basic_auth("0", Some(secrecy::ExposeSecret::expose_secret(&token)))
/// #     .json(&serde_json::json!({"name": "Espresso"}))
/// #     .send().await?.error_for_status()?.json().await?;
/// # let id = created["value"]["id"].as_i64().expect("an id");
/// use tripletex_webhooks_types::models::Product;
///
/// let products = client.objects("product");
/// let product: Product = products.get(id).fields("id,version,name").send().await?;
/// assert_eq!(product.name.as_deref(), Some("Espresso"));
///
/// let raw = products.get(id).fields("id,name").raw().await?;
/// assert_eq!(raw["name"], "Espresso");
///
/// // An object that does not exist (or was deleted) answers 404.
/// assert!(products.get(id + 1000).raw().await.unwrap_err().is_not_found());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Objects<'a> {
    client: &'a Client,
    path: String,
}

impl<'a> Objects<'a> {
    pub(crate) fn new(client: &'a Client, path: &str) -> Self {
        Self {
            client,
            path: path.trim_matches('/').to_owned(),
        }
    }

    /// One object (`GET /v2/{path}/{id}`); see [`GetObject`].
    pub fn get(&self, id: i64) -> GetObject<'a> {
        GetObject {
            client: self.client,
            path: self.path.clone(),
            id,
            fields: None,
        }
    }

    /// A paged sync of the whole list, as [`Client::sync`].
    pub fn sync<T: DeserializeOwned + Send + 'static>(&self) -> ObjectSync<T> {
        self.client.sync(&self.path)
    }
}

/// `GET /v2/{path}/{id}`, from [`Objects::get`]: set `fields`, then
/// [`send`](Self::send) for a model or [`raw`](Self::raw) for JSON. An object
/// that does not exist fails with [`crate::Error::is_not_found`].
#[derive(Debug, Clone)]
#[must_use]
pub struct GetObject<'a> {
    client: &'a Client,
    path: String,
    id: i64,
    fields: Option<String>,
}

impl GetObject<'_> {
    /// A `fields` filter, such as `id,version,name` (default: the API's).
    pub fn fields(mut self, fields: impl Into<String>) -> Self {
        self.fields = Some(fields.into());
        self
    }

    /// The object, decoded as `T`.
    pub async fn send<T: DeserializeOwned>(self) -> Result<T> {
        self.client.value(&self.spec()).await
    }

    /// The object as the API sent it.
    pub async fn raw(self) -> Result<Value> {
        self.send::<Value>().await
    }

    fn spec(&self) -> RequestSpec {
        let id = self.id.to_string();
        let segments = self.path.split('/').chain(std::iter::once(id.as_str()));
        RequestSpec::new(Method::GET, segments).query_opt("fields", self.fields.as_deref())
    }
}
