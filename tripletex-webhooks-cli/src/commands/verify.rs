//! `verify`: a captured callback checked offline with the receiver's own
//! verification (the HMAC over the exact bytes, then the decoding).

use std::io::{IsTerminal, Read};

use bytes::Bytes;
use serde_json::{Value, json};
use tripletex_webhooks_client::types::signature::{IDEMPOTENCY_KEY_HEADER, SIGNATURE_HEADER};
use tripletex_webhooks_receiver::{Admission, AuthFailure, Receiver, Rejection, WebhookConfig};

use super::subscriptions::secret;
use crate::cli::VerifyArgs;
use crate::error::{CliError, exit};
use crate::output::{Output, Tone};

/// The largest body read (Tripletex's callbacks are far smaller).
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// Verifies the callback and prints its event, or fails with why it does not verify.
pub(crate) async fn run(args: &VerifyArgs, output: Output) -> Result<u8, CliError> {
    let secret = secret(
        args.secret_env.as_deref(),
        args.secret_file.as_deref(),
        "--secret",
    )?
    .ok_or_else(|| {
        CliError::Usage("--secret-env VAR or --secret-file PATH is required".to_owned())
    })?;
    let body = read_body(args.body.as_deref())?;
    let config = WebhookConfig::builder()
        .hmac_secret(secret)
        .body_limit(BODY_LIMIT)
        .build()
        .map_err(|error| CliError::Usage(format!("the secret: {error}")))?;
    let receiver = Receiver::new(config);
    let request = http::Request::post("/")
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(
            IDEMPOTENCY_KEY_HEADER,
            header_value(&args.idempotency_key, "--idempotency-key")?,
        )
        .header(
            SIGNATURE_HEADER,
            header_value(&args.signature, "--signature")?,
        )
        .body(())
        .map_err(|error| CliError::Usage(format!("the headers: {error}")))?;
    let (parts, ()) = request.into_parts();
    let webhook = match receiver.receive(&parts, body.clone()).await {
        Ok(Admission::Deliver(admitted)) => {
            let (webhook, commit) = admitted.into_parts();
            commit.failure().await;
            webhook
        }
        Ok(Admission::Acknowledge(webhook)) => webhook,
        Err(rejection) => return Err(CliError::NotVerified(why(&rejection))),
    };
    let event = webhook.event();
    let value = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|envelope| envelope.get("value").cloned())
        .unwrap_or(Value::Null);
    let model = event.payload.payload_model();
    let version = event.payload.object_version();
    if output.is_json() {
        output.json(&json!({
            "verified": true,
            "subscriptionId": event.subscription_id,
            "event": event.event.to_string(),
            "id": event.id,
            "model": model,
            "version": version,
            "value": value,
        }))?;
        return Ok(exit::OK);
    }
    let version = version.map_or_else(String::new, |v| format!(", version {v}"));
    output.line(&format!(
        "{} {} of object {} (subscription {}{version})",
        output.paint("verified:", Tone::Good),
        event.event,
        event.id,
        event.subscription_id
    ))?;
    output.line(&format!("model: {}", model.unwrap_or("none")))?;
    if !value.is_null() {
        output.line(&serde_json::to_string_pretty(&value).unwrap_or_default())?;
    }
    Ok(exit::OK)
}

/// Why a callback was rejected, in words.
fn why(rejection: &Rejection) -> String {
    match rejection {
        Rejection::Unauthorized { reason, .. } => match reason {
            AuthFailure::WrongSignature => {
                "the signature does not match: the body was changed, or the secret \
                or the idempotency key is not the one it was signed with"
                    .to_owned()
            }
            AuthFailure::MalformedSignature | AuthFailure::MissingSignature => {
                "the signature is malformed: not base64".to_owned()
            }
            AuthFailure::BadIdempotencyKey => {
                "the idempotency key is empty or not visible ASCII".to_owned()
            }
            other => format!("authentication failed ({other})"),
        },
        Rejection::BadRequest(bad) => {
            format!("the signature matches, but the body is not a Tripletex webhook: {bad}")
        }
        Rejection::PayloadTooLarge { limit } => format!("the body is over {limit} bytes"),
        other => other.to_string(),
    }
}

fn header_value(text: &str, flag: &str) -> Result<http::HeaderValue, CliError> {
    http::HeaderValue::from_str(text.trim())
        .map_err(|_| CliError::NotVerified(format!("{flag} is not a valid header value")))
}

fn read_body(path: Option<&std::path::Path>) -> Result<Bytes, CliError> {
    let mut body = Vec::new();
    match path {
        Some(path) if path.as_os_str() != "-" => {
            body = std::fs::read(path).map_err(|error| {
                CliError::Usage(format!("cannot read {}: {error}", path.display()))
            })?;
        }
        _ => {
            if std::io::stdin().is_terminal() {
                return Err(CliError::Usage(
                    "give the callback's body as a file, or pipe it on stdin".to_owned(),
                ));
            }
            std::io::stdin()
                .take(u64::try_from(BODY_LIMIT).unwrap_or(u64::MAX) + 1)
                .read_to_end(&mut body)
                .map_err(|error| CliError::Usage(format!("cannot read stdin: {error}")))?;
        }
    }
    Ok(Bytes::from(body))
}
