//! Requests hyper would refuse below the router, sent over raw sockets (no
//! HTTP client sends them): each gets an `ApiError` body with its request id
//! and the rate-limit headers, like every other response. And what is let
//! through still works: the longest allowed target, keep-alive and
//! pipelining across chunked bodies, and the body limit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use common::raw::{RawConnection, exchange};
use common::{Harness, test_config};
use secrecy::ExposeSecret;

/// The limits the server documents (README, Configuration).
const MAX_URI_BYTES: usize = 16 * 1024;
const MAX_HEADER_BYTES: usize = 32 * 1024;
const MAX_HEADERS: usize = 100;

fn basic(h: &Harness) -> String {
    let credentials = format!("0:{}", h.token.expose_secret());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

#[tokio::test]
async fn a_70000_character_query_is_a_414_api_error() {
    let h = Harness::start().await;
    let request = format!(
        "GET /v2/event?fields={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(70_000)
    );
    let mut connection = RawConnection::open(h.server.local_addr()).await;
    connection.send(request.as_bytes()).await;
    let response = connection.response().await;
    let body = response.assert_api_error(414, 4000);
    assert!(
        body["message"].as_str().unwrap().contains("16384 bytes"),
        "{body}"
    );
    assert!(connection.closed().await, "the connection stays open");
}

#[tokio::test]
async fn a_target_one_byte_over_the_limit_is_414_and_one_at_it_is_served() {
    let h = Harness::start().await;
    let prefix = "/v2/event?fields=";
    let at_limit = format!("{prefix}{}", "a".repeat(MAX_URI_BYTES - prefix.len()));
    let response = exchange(
        h.server.local_addr(),
        format!("GET {at_limit} HTTP/1.1\r\n\r\n").as_bytes(),
    )
    .await;
    // Served: the handler itself answers.
    assert_eq!(
        response.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&response.body)
    );
    let over = format!("{at_limit}a");
    exchange(
        h.server.local_addr(),
        format!("GET {over} HTTP/1.1\r\n\r\n").as_bytes(),
    )
    .await
    .assert_api_error(414, 4000);
}

#[tokio::test]
async fn an_oversized_header_block_is_a_431_api_error() {
    let h = Harness::start().await;
    let big = format!(
        "GET /v2/event HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(MAX_HEADER_BYTES)
    );
    let body = exchange(h.server.local_addr(), big.as_bytes())
        .await
        .assert_api_error(431, 4000);
    assert!(
        body["message"].as_str().unwrap().contains("32768 bytes"),
        "{body}"
    );

    // Far past hyper's own buffer (which would answer a bare 431).
    let huge = format!(
        "GET /v2/event HTTP/1.1\r\n{}\r\n",
        "X-Filler: 0123456789abcdef0123456789abcdef\r\n".repeat(20_000)
    );
    exchange(h.server.local_addr(), huge.as_bytes())
        .await
        .assert_api_error(431, 4000);

    let many = (0..=MAX_HEADERS)
        .map(|i| format!("X-{i}: 1\r\n"))
        .collect::<Vec<_>>()
        .concat();
    let body = exchange(
        h.server.local_addr(),
        format!("GET /v2/event HTTP/1.1\r\n{many}\r\n").as_bytes(),
    )
    .await
    .assert_api_error(431, 4000);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("100 header fields"),
        "{body}"
    );
}

#[tokio::test]
async fn a_header_with_control_bytes_is_a_400_api_error_naming_it() {
    let h = Harness::start().await;
    let mut request = format!(
        "GET /v2/event/subscription HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nIf-None-Match: \"",
        basic(&h)
    )
    .into_bytes();
    request.extend_from_slice(b"ab\x01\x02\x7fcd\"\r\n\r\n");
    let body = exchange(h.server.local_addr(), &request)
        .await
        .assert_api_error(400, 4000);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("'If-None-Match'"),
        "{body}"
    );
}

#[tokio::test]
async fn malformed_request_lines_are_400_api_errors() {
    let h = Harness::start().await;
    let requests: [&[u8]; 6] = [
        b"GARBAGE\r\n\r\n",
        b"GET /v2/event HTTP/9.9\r\n\r\n",
        b"GET /v2/event junk HTTP/1.1\r\n\r\n",
        b"GET /v2/ev\x01ent HTTP/1.1\r\n\r\n",
        b"G(T /v2/event HTTP/1.1\r\n\r\n",
        b"GET /v2/event HTTP/1.1\r\nNo Colon Here\r\n\r\n",
    ];
    for request in requests {
        let response = exchange(h.server.local_addr(), request).await;
        assert_eq!(
            response.status,
            400,
            "{:?}: {response:?}",
            String::from_utf8_lossy(request)
        );
        response.assert_api_error(400, 4000);
    }
}

#[tokio::test]
async fn framing_hyper_refuses_is_a_400_or_413_api_error() {
    let h = Harness::start().await;
    let cases: [(&[u8], u16); 4] = [
        (
            b"POST /v2/product HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            400,
        ),
        (
            b"POST /v2/product HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
            400,
        ),
        (
            b"POST /v2/product HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            400,
        ),
        (
            b"POST /v2/product HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n",
            413,
        ),
    ];
    for (request, status) in cases {
        exchange(h.server.local_addr(), request)
            .await
            .assert_api_error(status, 4000);
    }
}

/// Keep-alive and pipelining over chunked and sized bodies still work with
/// the heads checked, and a bad head after good ones is answered in turn.
#[tokio::test]
async fn pipelined_requests_are_answered_in_order_up_to_a_refused_one() {
    let h = Harness::start().await;
    let auth = basic(&h);
    let product = br#"{"name":"Espresso","number":"E1"}"#;
    let mut pipeline = Vec::new();
    pipeline.extend_from_slice(
        format!(
            "POST /v2/product HTTP/1.1\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .as_bytes(),
    );
    let (first, rest) = product.split_at(10);
    for piece in [first, rest] {
        pipeline.extend_from_slice(format!("{:x};ext=1\r\n", piece.len()).as_bytes());
        pipeline.extend_from_slice(piece);
        pipeline.extend_from_slice(b"\r\n");
    }
    pipeline.extend_from_slice(b"0\r\nX-Trailer: yes\r\n\r\n");
    pipeline.extend_from_slice(
        format!(
            "POST /v2/product HTTP/1.1\r\nAuthorization: {auth}\r\nContent-Length: {}\r\n\r\n",
            product.len()
        )
        .as_bytes(),
    );
    pipeline.extend_from_slice(product);
    pipeline.extend_from_slice(b"GET /v2/event HTTP/1.1\r\n\r\n");
    pipeline.extend_from_slice(b"GET /v2/event HTTP/1.1\r\nX-Bad: \x01\r\n\r\n");
    pipeline.extend_from_slice(b"GET /v2/event HTTP/1.1\r\n\r\n");

    let mut connection = RawConnection::open(h.server.local_addr()).await;
    connection.send(&pipeline).await;
    for _ in 0..2 {
        let created = connection.response().await;
        assert_eq!(created.status, 201, "{created:?}");
        assert_eq!(created.json()["value"]["name"], "Espresso");
    }
    assert_eq!(connection.response().await.status, 200);
    connection.response().await.assert_api_error(400, 4000);
    // Nothing after the refused head is served.
    assert!(connection.closed().await);
}

#[tokio::test]
async fn the_body_limit_holds_for_sized_and_chunked_bodies() {
    let mut config = test_config();
    config.body_limit = 1024;
    let h = Harness::with_config(config).await;
    let auth = basic(&h);
    let body = format!(r#"{{"name":"{}"}}"#, "x".repeat(2000));
    let sized = format!(
        "POST /v2/product HTTP/1.1\r\nAuthorization: {auth}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    exchange(h.server.local_addr(), sized.as_bytes())
        .await
        .assert_api_error(413, 4000);
    let chunked = format!(
        "POST /v2/product HTTP/1.1\r\nAuthorization: {auth}\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    exchange(h.server.local_addr(), chunked.as_bytes())
        .await
        .assert_api_error(413, 4000);
}

/// HTTP/2 with prior knowledge still works through the guard, and its
/// requests meet the same limits in the middleware.
#[tokio::test]
async fn over_http2_the_limits_answer_with_api_errors_too() {
    let h = Harness::start().await;
    let http2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = http2.get(h.url("/event")).send().await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    let long = format!("/v2/event?fields={}", "a".repeat(MAX_URI_BYTES));
    let response = http2.get(h.url(&long["/v2".len()..])).send().await.unwrap();
    common::assert_api_error(response, 414, 4000).await;
    let response = http2
        .get(h.url("/event"))
        .header("x-big", "b".repeat(MAX_HEADER_BYTES))
        .send()
        .await
        .unwrap();
    common::assert_api_error(response, 431, 4000).await;
}

/// A head that arrives in pieces (here a byte at a time) is put together
/// before it is checked, and a slow malformed one is still refused.
#[tokio::test]
async fn heads_sent_a_byte_at_a_time_are_served_or_refused() {
    let h = Harness::start().await;
    let good = format!(
        "GET /v2/event?fields={} HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(5000),
        "p".repeat(6000)
    );
    let bad = b"GET /v2/event HTTP/1.1\r\nHost: x\r\nX-Bad: \x01\r\n\r\n".to_vec();
    for (request, status) in [(good.into_bytes(), 200), (bad, 400)] {
        let mut connection = RawConnection::open(h.server.local_addr()).await;
        for byte in &request {
            connection.send(std::slice::from_ref(byte)).await;
        }
        let response = connection.response().await;
        assert_eq!(response.status, status, "{response:?}");
        assert!(response.header("x-tlx-request-id").is_some());
    }
}
