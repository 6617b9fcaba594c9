//! `GET /v2/{path}/{id}`: one object, typed or raw, and its 404.

use serde_json::json;
use tripletex_webhooks_client::types::models::Product;
use wiremock::matchers::{basic_auth, method, path, query_param};
use wiremock::{Mock, MockServer};

use crate::support::{SESSION_TOKEN, api_error, client, value};

#[tokio::test]
async fn one_object_is_fetched_with_its_fields_typed_and_raw() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/product/42"))
        .and(basic_auth("0", SESSION_TOKEN))
        .and(query_param("fields", "id,version,name"))
        .respond_with(value(json!({"id": 42, "version": 3, "name": "Espresso"})))
        .expect(2)
        .mount(&server)
        .await;
    let client = client(&server);
    let products = client.objects("product");
    let product: Product = products
        .get(42)
        .fields("id,version,name")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (product.id, product.version, product.name.as_deref()),
        (Some(42), Some(3), Some("Espresso"))
    );
    let raw = products
        .get(42)
        .fields("id,version,name")
        .raw()
        .await
        .unwrap();
    assert_eq!(raw, json!({"id": 42, "version": 3, "name": "Espresso"}));
}

#[tokio::test]
async fn a_nested_path_without_fields_sends_no_fields() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/ledger/account/7"))
        .respond_with(value(json!({"id": 7, "version": 0, "number": 1920})))
        .expect(1)
        .mount(&server)
        .await;
    let raw = client(&server)
        .objects("/ledger/account/")
        .get(7)
        .raw()
        .await
        .unwrap();
    assert_eq!(raw["number"], 1920);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].url.query(), None);
}

#[tokio::test]
async fn a_missing_object_is_not_found_and_other_failures_are_not() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/product/404"))
        .respond_with(api_error(404, 6000, "Object not found"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/product/403"))
        .respond_with(api_error(403, 9000, "Forbidden"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/product/1"))
        .respond_with(value(json!({"id": "not a number"})))
        .mount(&server)
        .await;
    let client = client(&server);
    let missing = client.objects("product").get(404).raw().await.unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");
    assert_eq!(
        missing.api_error().map(|e| e.code),
        Some(tripletex_webhooks_client::types::ErrorCode::NotFound)
    );
    let forbidden = client.objects("product").get(403).raw().await.unwrap_err();
    assert!(
        !forbidden.is_not_found() && forbidden.is_auth(),
        "{forbidden:?}"
    );
    let undecodable = client
        .objects("product")
        .get(1)
        .send::<Product>()
        .await
        .unwrap_err();
    assert!(
        undecodable.is_decode() && !undecodable.is_not_found(),
        "{undecodable:?}"
    );
}
