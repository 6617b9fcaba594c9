//! Object sync: paging with `fields`, checksums and `If-None-Match`.

use futures::TryStreamExt;
use serde_json::json;
use tripletex_webhooks_client::sync::SyncState;
use tripletex_webhooks_client::types::models::Product;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::client;

fn products(ids: &[i64], from: i64, digest: Option<&str>) -> ResponseTemplate {
    let values: Vec<_> = ids
        .iter()
        .map(|id| json!({"id": id, "version": 1, "name": format!("product {id}")}))
        .collect();
    ResponseTemplate::new(200).set_body_json(json!({
        "fullResultSize": 3, "from": from, "count": values.len(),
        "versionDigest": digest, "values": values
    }))
}

async fn mount_page(server: &MockServer, from: i64, sent: &str, answer: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path("/v2/product"))
        .and(query_param("from", from.to_string()))
        .and(query_param("count", "2"))
        .and(query_param("fields", "id,version,name"))
        .and(header("if-none-match", sent))
        .respond_with(answer)
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_resumed_sync_skips_unchanged_pages() {
    let server = MockServer::start().await;
    mount_page(&server, 0, "0", products(&[1, 2], 0, Some("d1"))).await;
    mount_page(&server, 2, "0", products(&[3], 2, Some("d1"))).await;
    mount_page(&server, 0, "d1", ResponseTemplate::new(304)).await;
    mount_page(&server, 2, "d1", products(&[3], 2, Some("d2"))).await;
    let client = client(&server);
    let sync = || {
        client
            .sync::<Product>("product")
            .fields("id,version,name")
            .page_size(2)
    };

    let first = sync().collect().await.unwrap();
    let names: Vec<_> = first
        .objects
        .iter()
        .map(|p| p.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["product 1", "product 2", "product 3"]);
    assert_eq!(
        (first.pages, first.unchanged_pages, first.state.len()),
        (2, 0, 2)
    );

    // The state survives a trip through storage.
    let saved = serde_json::to_string(&first.state).unwrap();
    let state: SyncState = serde_json::from_str(&saved).unwrap();

    let mut pages = sync().resume(state).pages();
    let unchanged = pages.try_next().await.unwrap().unwrap();
    assert!(unchanged.is_unchanged());
    assert_eq!(
        (
            unchanged.from,
            unchanged.next_from,
            unchanged.full_result_size
        ),
        (0, Some(2), None)
    );
    let changed = pages.try_next().await.unwrap().unwrap();
    assert_eq!(changed.full_result_size, Some(3));
    assert_eq!(changed.values.unwrap().len(), 1);
    assert_eq!(changed.digest.as_deref(), Some("d2"));
    assert!(pages.try_next().await.unwrap().is_none());
    let next_state = pages.state();
    assert_eq!(next_state.len(), 2);
    assert_ne!(next_state, first.state);
}

#[tokio::test]
async fn a_state_of_another_query_is_ignored_and_etags_are_read() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/ledger/account"))
        .and(query_param("from", "0"))
        .and(header("if-none-match", "0"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "W/\"e1\"")
                .set_body_json(json!({"fullResultSize": 1, "values": [{"id": 9, "number": 1920}]})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let client = client(&server);
    let first = client
        .sync::<serde_json::Value>("/ledger/account/")
        .collect()
        .await
        .unwrap();
    assert_eq!(first.objects[0]["number"], 1920);
    assert_eq!(first.state.len(), 1);
    // Same path, other fields: the checksums do not apply.
    let again = client
        .sync::<serde_json::Value>("ledger/account")
        .fields("id")
        .resume(first.state)
        .objects()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
}

#[tokio::test]
async fn a_304_without_a_known_checksum_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/product"))
        .respond_with(ResponseTemplate::new(304))
        .mount(&server)
        .await;
    let error = client(&server)
        .sync::<Product>("product")
        .collect()
        .await
        .unwrap_err();
    assert!(error.is_decode(), "{error}");
}
