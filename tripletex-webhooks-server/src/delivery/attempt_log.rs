//! The info line each attempt prints, as `stripe listen` does:
//! `product.create #12 v3 -> http://127.0.0.1:3000/hook 200 in 3 ms` (the
//! version left out for events without one), and for a failure its reason
//! and what happens next. `RUST_LOG` turns it off
//! (`tripletex_webhooks_server::delivery=warn`).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::sender::AttemptResult;
use crate::store::outbox::{ClaimedMessage, NextStep};

/// Logs one finished attempt at info level.
pub(super) fn log_attempt(message: &ClaimedMessage, result: &AttemptResult, next: NextStep) {
    let what = headline(message);
    let took = result.duration.as_millis();
    match (&result.error, result.status) {
        (None, Some(status)) => tracing::info!("{what} {status} in {took} ms"),
        (None, None) => tracing::info!("{what} in {took} ms"),
        (Some(error), _) => tracing::info!("{what} failed in {took} ms: {error}; {}", then(next)),
    }
}

/// `event #object vVERSION -> target`: what went where.
fn headline(message: &ClaimedMessage) -> String {
    let version = message
        .object_version
        .map(|v| format!(" v{v}"))
        .unwrap_or_default();
    format!(
        "{} #{}{version} -> {}",
        message.event,
        message.object_id,
        shown_target(&message.target_url)
    )
}

/// The span's `outcome`: what an attempt led to.
pub(super) fn outcome_name(next: NextStep) -> &'static str {
    match next {
        NextStep::Delivered => "delivered",
        NextStep::RetryAt(_) => "retrying",
        NextStep::GiveUp => "failed",
        NextStep::Release => "released",
    }
}

fn then(next: NextStep) -> String {
    match next {
        NextStep::RetryAt(at_ms) => {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
                .ok()
                .and_then(|at| at.format(&Rfc3339).ok())
                .map_or_else(
                    || "retried later".to_owned(),
                    |at| format!("next attempt at {at}"),
                )
        }
        NextStep::GiveUp => "no attempts left: failed".to_owned(),
        NextStep::Delivered | NextStep::Release => String::new(),
    }
}

/// The target's host and any port, as the attempt span records it.
pub(super) fn shown_host(target_url: &str) -> String {
    url::Url::parse(target_url).map_or_else(
        |_| "(invalid target URL)".to_owned(),
        |url| {
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}{port}", url.host_str().unwrap_or_default())
        },
    )
}

/// The target as a log may show it: no credentials, no query (tokens often
/// travel there), `?…` where one was.
fn shown_target(target_url: &str) -> String {
    let Ok(url) = url::Url::parse(target_url) else {
        return "(invalid target URL)".to_owned();
    };
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let query = if url.query().is_some() { "?…" } else { "" };
    format!(
        "{}://{}{port}{}{query}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.path()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_shown_without_secrets() {
        assert_eq!(
            shown_target("https://user:pw@example.com:8443/hook?token=abc"),
            "https://example.com:8443/hook?…"
        );
        assert_eq!(
            shown_target("http://127.0.0.1:3000/hook"),
            "http://127.0.0.1:3000/hook"
        );
    }

    fn message(object_version: Option<i32>) -> ClaimedMessage {
        ClaimedMessage {
            id: 1,
            company_id: 1,
            subscription_id: 1,
            event: "product.update".parse().unwrap(),
            object_id: 12,
            object_version,
            request_id: None,
            payload: Ok(None),
            idempotency_key: String::new(),
            attempts: 0,
            lease_until_ms: 0,
            target_url: "http://user:pw@127.0.0.1:3000/hook?token=t".to_owned(),
            fields: None,
            auth_header_name: None,
            auth_header_value: None,
            hmac_shared_secret: None,
        }
    }

    #[test]
    fn the_line_names_the_event_object_version_and_target() {
        assert_eq!(
            headline(&message(Some(3))),
            "product.update #12 v3 -> http://127.0.0.1:3000/hook?…"
        );
        assert_eq!(
            headline(&message(None)),
            "product.update #12 -> http://127.0.0.1:3000/hook?…"
        );
        assert_eq!(
            shown_host("https://u:p@example.com:8443/x?t=1"),
            "example.com:8443"
        );
    }

    #[test]
    fn what_happens_next_is_said() {
        assert_eq!(
            then(NextStep::RetryAt(1_700_000_000_000)),
            "next attempt at 2023-11-14T22:13:20Z"
        );
        assert_eq!(then(NextStep::GiveUp), "no attempts left: failed");
    }
}
