//! Sends `N` signed `product.update` deliveries through the receiver part's
//! route, bare or behind `TripletexWebhookLayer`, in process (no sockets),
//! for counting instructions with callgrind:
//!
//! ```sh
//! cargo build --release -p bench --example layer_instructions
//! for route in bare layer; do for n in 2000 12000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$route.$n \
//!     target/release/examples/layer_instructions $route $n
//! done; done
//! ```
//!
//! (instructions at 12,000 − at 2,000) / 10,000 is the cost of one delivery
//! without the setup; layer − bare is what the layer adds to one.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;
use tripletex_webhooks_bench::fixtures::product_envelope;
use tripletex_webhooks_bench::receiver_routes::{self, AUTH_HEADER, AUTH_VALUE, HMAC_SECRET, PATH};
use tripletex_webhooks_types::secrecy::SecretString;
use tripletex_webhooks_types::signature;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let route = args.next().unwrap_or_default();
    let n: i64 = args.next().unwrap_or_else(|| "1000".into()).parse()?;
    let router = match route.as_str() {
        "bare" => receiver_routes::bare(),
        "layer" => receiver_routes::layered(receiver_routes::config()?),
        other => return Err(format!("route {other:?}: expected bare or layer").into()),
    };
    let secret = SecretString::from(HMAC_SECRET);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        for id in 1..=n {
            let body = product_envelope(1, id, 1);
            let key = format!("bench-{id}-1");
            let signature = signature::sign(&secret, &key, body.as_bytes());
            let request = Request::post(PATH)
                .header("content-type", "application/json")
                .header(AUTH_HEADER, AUTH_VALUE)
                .header("idempotency-key", key)
                .header("x-request-signature", signature)
                .body(Body::from(body))?;
            let response = router.clone().oneshot(request).await?;
            if response.status() != StatusCode::OK {
                return Err(format!("delivery {id}: {}", response.status()).into());
            }
        }
        Ok(())
    })
}
