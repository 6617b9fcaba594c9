//! What the delivery log keeps of an attempt's request and response: the
//! request as sent but without credentials or secret values, the response's
//! status, headers and the start of its body, and never a subscription's
//! secret, even one a receiver echoes back.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap};
use secrecy::{ExposeSecret, SecretString};
use tripletex_webhooks_types::emulator::{MessageRecord, RequestRecord, ResponseRecord};

use crate::redact::REDACTED;

/// How much of a response's body is kept.
pub(crate) const RESPONSE_BODY_LIMIT: usize = 4096;

/// How long a response's body is read for (the connection is reused only
/// once it is read to its end).
const RESPONSE_READ_TIME: Duration = Duration::from_millis(200);

/// Secrets shorter than this are not searched for in responses: they would
/// match all over a body.
const SHORTEST_SCRUBBED: usize = 4;

/// The secrets of one callback, to be kept out of what a response shows.
#[derive(Debug, Default)]
pub(crate) struct Secrets(Vec<SecretString>);

impl Secrets {
    /// Adds a secret.
    pub(crate) fn add(&mut self, secret: impl Into<String>) {
        let secret = secret.into();
        if secret.len() >= SHORTEST_SCRUBBED {
            self.0.push(SecretString::from(secret));
        }
    }

    /// The values (or, for a bare `?token`, the names) of a URL's query.
    pub(crate) fn add_query(&mut self, url: &url::Url) {
        for (name, value) in url.query_pairs() {
            self.add(if value.is_empty() { name } else { value });
        }
    }

    /// `text` with every secret replaced by [`REDACTED`].
    fn scrub(&self, text: &str) -> String {
        self.0.iter().fold(text.to_owned(), |text, secret| {
            text.replace(secret.expose_secret(), REDACTED)
        })
    }
}

/// A request as the delivery log keeps it: the URL without its query values
/// (credentials were moved out of it into a header), the `Authorization`
/// and other sensitive headers redacted, and the body up to `body_limit`.
pub(crate) fn request_record(
    url: &url::Url,
    headers: &HeaderMap,
    body: &[u8],
    body_limit: usize,
) -> RequestRecord {
    let (body, body_truncated) = capped(body, body_limit);
    RequestRecord {
        url: shown_url(url),
        message: MessageRecord {
            headers: header_record(headers, |name, value| {
                if name == AUTHORIZATION || value.is_sensitive() {
                    REDACTED.to_owned()
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                }
            }),
            body,
            body_truncated,
        },
    }
}

/// Reads the start of a response's body (for a short while) and records the
/// response, with `secrets` scrubbed from its headers and body.
pub(crate) async fn response_record(
    mut response: reqwest::Response,
    secrets: &Secrets,
) -> ResponseRecord {
    let status = response.status().as_u16();
    let headers = header_record(response.headers(), |_, value| {
        secrets.scrub(&String::from_utf8_lossy(value.as_bytes()))
    });
    let deadline = tokio::time::Instant::now() + RESPONSE_READ_TIME;
    let mut body = Vec::new();
    let mut complete = false;
    // Read to the end, within the time, so the connection can be reused.
    loop {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                let room = (RESPONSE_BODY_LIMIT + 1).saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(Ok(None)) => {
                complete = true;
                break;
            }
            Ok(Err(_)) | Err(_) => break,
        }
    }
    let (text, cut) = capped(&body, RESPONSE_BODY_LIMIT);
    ResponseRecord {
        status,
        message: MessageRecord {
            headers,
            body: secrets.scrub(&text),
            body_truncated: cut || !complete,
        },
    }
}

/// Header names and values as `show` shows each value; repeated names joined.
fn header_record(
    headers: &HeaderMap,
    show: impl Fn(&reqwest::header::HeaderName, &reqwest::header::HeaderValue) -> String,
) -> BTreeMap<String, String> {
    let mut record: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let shown = show(name, value);
        record
            .entry(name.as_str().to_owned())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&shown);
            })
            .or_insert(shown);
    }
    record
}

/// A subscription's target URL as the dashboard shows it: without
/// `user:password@`, its query's values redacted (either may be a credential).
pub(crate) fn shown_target(target_url: &str) -> String {
    match url::Url::parse(target_url) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            shown_url(&url)
        }
        Err(_) => REDACTED.to_owned(),
    }
}

/// The URL with its query's values redacted (a bare `?token` redacted whole).
fn shown_url(url: &url::Url) -> String {
    let mut base = url.clone();
    base.set_query(None);
    let query: Vec<String> = url
        .query_pairs()
        .map(|(name, value)| {
            if value.is_empty() {
                REDACTED.to_owned()
            } else {
                format!("{name}={REDACTED}")
            }
        })
        .collect();
    if query.is_empty() {
        base.into()
    } else {
        format!("{base}?{}", query.join("&"))
    }
}

/// The first `limit` bytes as text (cut back to a character's start) and
/// whether anything was cut.
fn capped(bytes: &[u8], limit: usize) -> (String, bool) {
    if bytes.len() <= limit {
        return (String::from_utf8_lossy(bytes).into_owned(), false);
    }
    let mut cut = limit;
    // A UTF-8 continuation byte is 0b10xx_xxxx: back off to the character's start.
    while cut > 0 && bytes[cut] & 0xC0 == 0x80 {
        cut -= 1;
    }
    (String::from_utf8_lossy(&bytes[..cut]).into_owned(), true)
}

#[cfg(test)]
mod tests {
    use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};

    use super::*;

    #[test]
    fn requests_are_kept_without_their_secrets() {
        let url = url::Url::parse("https://example.com/hook?token=abc123&bare&n=1").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic dTpw"));
        let mut custom = HeaderValue::from_static("key-1234");
        custom.set_sensitive(true);
        headers.insert(HeaderName::from_static("x-api-key"), custom);
        let record = request_record(&url, &headers, "{\"a\":\"ø\"}".as_bytes(), 7);
        assert_eq!(
            record.url,
            "https://example.com/hook?token=<redacted>&<redacted>&n=<redacted>"
        );
        assert_eq!(record.message.headers["authorization"], REDACTED);
        assert_eq!(record.message.headers["x-api-key"], REDACTED);
        assert_eq!(record.message.headers["content-type"], "application/json");
        // 7 bytes would cut `ø` (2 bytes) in half: the cut backs off before it.
        assert_eq!(
            (record.message.body.as_str(), record.message.body_truncated),
            ("{\"a\":\"", true)
        );
    }

    #[test]
    fn secrets_are_scrubbed_and_short_values_left_alone() {
        let mut secrets = Secrets::default();
        secrets.add("Bearer top-secret");
        secrets.add("abc");
        secrets.add_query(&url::Url::parse("https://x/?t=query-token&bare-token").unwrap());
        assert_eq!(
            secrets.scrub("Bearer top-secret, query-token, bare-token, abc"),
            "<redacted>, <redacted>, <redacted>, abc"
        );
    }

    #[test]
    fn bodies_within_the_limit_are_whole() {
        assert_eq!(capped(b"short", 10), ("short".to_owned(), false));
        assert_eq!(capped(b"exactly10!", 10), ("exactly10!".to_owned(), false));
        assert_eq!(capped(b"eleven chars", 10), ("eleven cha".to_owned(), true));
    }
}
