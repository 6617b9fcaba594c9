//! `GET /event` and `GET /event/{eventType}`.

use reqwest::Method;
use tripletex_webhooks_types::{EventCatalog, EventInfo, EventType};

use crate::client::Client;
use crate::error::Result;
use crate::transport::RequestSpec;

/// The event catalogue, from [`Client::events`].
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
/// let catalog = client.events().list().await?;
/// let product_create = "product.create".parse()?;
/// assert_eq!(
///     catalog.get(&product_create).and_then(|e| e.payload_model.as_deref()),
///     Some("Product")
/// );
///
/// let info = client.events().get(&product_create).await?;
/// assert!(!info.examples.is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Events<'a> {
    client: &'a Client,
}

impl<'a> Events<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Every event Tripletex can send, with its description and payload model
    /// (`GET /event`).
    pub async fn list(self) -> Result<EventCatalog> {
        self.client
            .value(&RequestSpec::new(Method::GET, ["event"]))
            .await
    }

    /// One event's details with example deliveries (`GET /event/{eventType}`);
    /// a name the API does not know fails with [`crate::Error::is_not_found`].
    pub async fn get(self, event: &EventType) -> Result<EventInfo> {
        let name = event.to_string();
        self.client
            .value(&RequestSpec::new(Method::GET, ["event", name.as_str()]))
            .await
    }
}
