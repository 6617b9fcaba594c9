//! `GET /event` and `GET /event/{eventType}`.

use serde_json::json;
use tripletex_webhooks_client::DEFAULT_USER_AGENT;
use wiremock::matchers::{basic_auth, header, method, path};
use wiremock::{Mock, MockServer};

use crate::support::{SESSION_TOKEN, builder, client, value};

#[tokio::test]
async fn the_catalogue_is_fetched_with_basic_auth_and_decoded() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/event"))
        .and(basic_auth("0", SESSION_TOKEN))
        .and(header("accept", "application/json"))
        .and(header("user-agent", DEFAULT_USER_AGENT))
        .respond_with(value(json!({
            "product.create": {"description": "Product created", "payloadModel": "Product"},
            "order.delete": {"description": "Order deleted"},
            "timesheetEntry.approve": {"description": "A newer event"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let catalog = client(&server).events().list().await.unwrap();
    assert_eq!(catalog.events.len(), 3);
    let create = catalog.get(&"product.create".parse().unwrap()).unwrap();
    assert_eq!(create.payload_model.as_deref(), Some("Product"));
    assert!(catalog.contains(&"timesheetEntry.approve".parse().unwrap()));
}

#[tokio::test]
async fn one_event_with_its_examples_and_a_custom_company_and_user_agent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/event/product.create"))
        .and(basic_auth("4711", SESSION_TOKEN))
        .and(header("user-agent", "my-integration/1.0"))
        .respond_with(value(json!({
            "name": "product.create", "description": "Product created", "payloadModel": "Product",
            "examples": [{"subscriptionId": 1, "event": "product.create", "id": 7,
                          "value": {"id": 7, "version": 0, "name": "Espresso"}}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server)
        .http_client(reqwest::Client::new())
        .session_token(SESSION_TOKEN)
        .company_id(4711)
        .user_agent("my-integration/1.0")
        .build()
        .unwrap();
    assert_eq!(client.company_id(), 4711);
    let info = client
        .events()
        .get(&"product.create".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(info.payload_model.as_deref(), Some("Product"));
    assert_eq!(info.examples[0].id, 7);
}
