//! The info line each attempt prints, as `stripe listen` does:
//! `product.create #12 -> http://127.0.0.1:3000/hook 200 in 3 ms`, and for a
//! failure its reason and what happens next. `RUST_LOG` turns it off
//! (`tripletex_webhooks_server::delivery=warn`).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::sender::AttemptResult;
use crate::store::outbox::{ClaimedMessage, NextStep};

/// Logs one finished attempt at info level.
pub(super) fn log_attempt(message: &ClaimedMessage, result: &AttemptResult, next: NextStep) {
    let what = format!(
        "{} #{} -> {}",
        message.event,
        message.object_id,
        shown_target(&message.target_url)
    );
    let took = result.duration.as_millis();
    match (&result.error, result.status) {
        (None, Some(status)) => tracing::info!("{what} {status} in {took} ms"),
        (None, None) => tracing::info!("{what} in {took} ms"),
        (Some(error), _) => tracing::info!("{what} failed in {took} ms: {error}; {}", then(next)),
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

/// The target as a log may show it: no credentials, no query (tokens often
/// travel there), `?…` where one was.
pub(super) fn shown_target(target_url: &str) -> String {
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

    #[test]
    fn what_happens_next_is_said() {
        assert_eq!(
            then(NextStep::RetryAt(1_700_000_000_000)),
            "next attempt at 2023-11-14T22:13:20Z"
        );
        assert_eq!(then(NextStep::GiveUp), "no attempts left: failed");
    }
}
