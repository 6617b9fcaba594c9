//! Verify and decode one Tripletex webhook, the way a receiver does it.
//!
//! ```text
//! cargo run -p examples --example decode_envelope
//! cargo run -p examples --example decode_envelope -- body.json SECRET IDEMPOTENCY-KEY SIGNATURE
//! ```
//!
//! Without arguments it signs and decodes a built-in sample; with a file it
//! decodes that body and, given a secret, key and signature, verifies it first.

use std::process::ExitCode;

use tripletex_webhooks_types::secrecy::SecretString;
use tripletex_webhooks_types::{EventPayload, ObjectChange, TripletexEvent, signature};

const SAMPLE: &str = r#"{"subscriptionId":12,"event":"product.update","id":7,
  "value":{"id":7,"version":3,"name":"Espresso","priceExcludingVatCurrency":32.0,
           "vatType":{"id":3,"url":"tripletex.no/v2/ledger/vatType/3"}}}"#;

fn main() -> ExitCode {
    match run(&std::env::args().skip(1).collect::<Vec<_>>()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let (body, check) = match args {
        [] => {
            let secret = SecretString::from("sample-shared-secret");
            let signature = signature::sign(&secret, "sample-key", SAMPLE.as_bytes());
            println!("signed the built-in sample: x-request-signature: {signature}");
            (
                SAMPLE.as_bytes().to_vec(),
                Some((secret, "sample-key".to_owned(), signature)),
            )
        }
        [path] => (read(path)?, None),
        [path, secret, key, signature] => (
            read(path)?,
            Some((
                SecretString::from(secret.as_str()),
                key.clone(),
                signature.clone(),
            )),
        ),
        _ => {
            return Err(
                "usage: decode_envelope [BODY_FILE [SECRET IDEMPOTENCY_KEY SIGNATURE]]".into(),
            );
        }
    };
    if let Some((secret, key, signature)) = check {
        signature::verify(&secret, &key, &body, &signature)
            .map_err(|e| format!("rejected: {e}"))?;
        println!("signature verified");
    }
    let event = TripletexEvent::from_slice(&body).map_err(|e| e.to_string())?;
    println!(
        "{} for {} (subscription {})",
        event.event,
        event.object_key(),
        event.subscription_id
    );
    describe(&event.payload);
    Ok(())
}

fn read(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("reading {path}: {e}"))
}

fn describe(payload: &EventPayload) {
    match payload {
        EventPayload::Product(ObjectChange::Created(p) | ObjectChange::Updated(p)) => println!(
            "product {:?} version {:?}: {:?}",
            p.id,
            p.version,
            p.name.as_deref().unwrap_or("(no name)")
        ),
        EventPayload::Unknown(raw) => println!("an event this version does not know: {raw}"),
        other if other.payload_model().is_none() => println!("deleted: only the id is sent"),
        other => println!("{other:#?}"),
    }
}
