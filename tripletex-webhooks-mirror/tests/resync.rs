//! Resync's delete confirmation against a scripted API: an object absent
//! from the complete list is tombstoned only when its `GET` answers 404.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};
use tripletex_webhooks_client::Client;
use tripletex_webhooks_mirror::{Mirror, Source};
use tripletex_webhooks_types::Subject;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FIELDS: &str = "id,version,name";

fn product(id: i64, version: i64) -> Value {
    json!({"id": id, "version": version, "name": format!("p{id} v{version}")})
}

/// A mirror of products on `server`, holding `local` already.
async fn mirror_of(server: &MockServer, local: &[Value]) -> Mirror {
    let client = Client::builder()
        .base_url(format!("{}/v2", server.uri()))
        .session_token("session-token")
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mirror = Mirror::builder()
        .client(client)
        .subject(Subject::Product, FIELDS)
        .target_url("https://app.example/hooks")
        .store_url("sqlite::memory:")
        .build()
        .await
        .unwrap();
    for object in local {
        mirror
            .store()
            .apply_object("product", object, Source::Webhook)
            .await
            .unwrap();
    }
    mirror
}

/// The complete list answers only `values`.
async fn list(server: &MockServer, values: Vec<Value>) {
    let size = values.len();
    Mock::given(method("GET"))
        .and(path("/v2/product"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "fullResultSize": size, "from": 0, "count": size, "versionDigest": null,
            "values": values
        })))
        .mount(server)
        .await;
}

async fn get(server: &MockServer, id: i64, answer: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(format!("/v2/product/{id}")))
        .and(query_param("fields", FIELDS))
        .respond_with(answer)
        .expect(1)
        .mount(server)
        .await;
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({
        "status": 404, "code": 6000, "message": "Object not found"
    }))
}

#[tokio::test]
async fn an_object_missing_from_the_list_but_still_gettable_is_not_deleted() {
    let server = MockServer::start().await;
    list(&server, vec![product(1, 0)]).await;
    // 2 still exists (a newer version), 3 is gone.
    get(
        &server,
        2,
        ResponseTemplate::new(200).set_body_json(json!({"value": product(2, 4)})),
    )
    .await;
    get(&server, 3, not_found()).await;
    let mirror = mirror_of(&server, &[product(1, 0), product(2, 1), product(3, 0)]).await;

    let report = mirror.resync().await.unwrap();
    assert_eq!(
        (
            report.seen,
            report.repaired_updates,
            report.repaired_deletes,
            report.confirmed_present
        ),
        (1, 1, 1, 1),
        "{report:?}"
    );
    let kept = mirror.store().object("product", 2).await.unwrap().unwrap();
    assert_eq!((kept.version, kept.deleted), (4, false));
    assert_eq!(kept.data.unwrap()["name"], "p2 v4");
    let gone = mirror.store().object("product", 3).await.unwrap().unwrap();
    assert_eq!((gone.version, gone.deleted), (0, true));
}

#[tokio::test]
async fn a_failed_confirmation_deletes_nothing_and_fails_the_resync() {
    let server = MockServer::start().await;
    list(&server, Vec::new()).await;
    get(
        &server,
        5,
        ResponseTemplate::new(500).set_body_json(json!({
            "status": 500, "code": 1000, "message": "Internal error"
        })),
    )
    .await;
    let mirror = mirror_of(&server, &[product(5, 2)]).await;

    let error = mirror.resync().await.unwrap_err();
    assert!(error.to_string().contains("confirming"), "{error}");
    let kept = mirror.store().object("product", 5).await.unwrap().unwrap();
    assert_eq!((kept.version, kept.deleted), (2, false));
}
