//! Request checks that need no secret: `Content-Type`, `Content-Length`, the
//! `idempotency-key` header, and decoding the body with the types crate.

use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName};
use tripletex_webhooks_types::signature::IDEMPOTENCY_KEY_HEADER;
use tripletex_webhooks_types::{DecodeError, TripletexEvent};

use super::header_text::HeaderText;
use crate::error::{BadRequest, Rejection};

/// The body as decoded: the typed event and the dedup facts of its envelope.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) event: TripletexEvent,
    /// `value.version`, when the payload carries one.
    pub(crate) version: Option<i64>,
}

/// Whether `Content-Type` is JSON: `application/json` or `application/*+json`,
/// any parameters, any case. Missing or repeated is not.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some(subtype) = strip_prefix_ignore_case(essence, "application/") else {
        return false;
    };
    subtype.eq_ignore_ascii_case("json")
        || (subtype.len() > "+json".len() && ends_with_ignore_case(subtype, "+json"))
}

/// `text` without `prefix`, compared in any ASCII case (without allocating).
fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

/// Whether `text` ends with `suffix` in any ASCII case.
fn ends_with_ignore_case(text: &str, suffix: &str) -> bool {
    text.len()
        .checked_sub(suffix.len())
        .and_then(|start| text.get(start..))
        .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
}

/// The declared `Content-Length`, if any; a repeated or unparsable one is a
/// bad request.
pub(crate) fn content_length(headers: &HeaderMap) -> Result<Option<u64>, Rejection> {
    let mut values = headers.get_all(CONTENT_LENGTH).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Some)
            .ok_or(Rejection::BadRequest(BadRequest::ContentLength)),
        (Some(_), Some(_)) => Err(Rejection::BadRequest(BadRequest::ContentLength)),
    }
}

/// The `idempotency-key` header for dedup: absent or empty is `None`; repeated
/// or not visible ASCII is a bad request.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<HeaderText>, Rejection> {
    let name = HeaderName::from_static(IDEMPOTENCY_KEY_HEADER);
    let mut values = headers.get_all(&name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => {
            let key =
                HeaderText::new(value).ok_or(Rejection::BadRequest(BadRequest::IdempotencyKey))?;
            Ok((!key.is_empty()).then_some(key))
        }
        (Some(_), Some(_)) => Err(Rejection::BadRequest(BadRequest::IdempotencyKey)),
    }
}

/// Decodes the envelope and its typed payload; never panics on any input.
pub(crate) fn decode(body: &[u8]) -> Result<Decoded, DecodeError> {
    let event = TripletexEvent::from_slice(body)?;
    Ok(Decoded {
        version: event.object_version(),
        event,
    })
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn content_type(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(CONTENT_TYPE, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn json_content_types() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            " application/json ;charset=UTF-8",
            "application/vnd.tripletex+json",
            "APPLICATION/VND.TRIPLETEX+JSON",
        ] {
            assert!(is_json(&content_type(&[ok])), "{ok}");
        }
        for bad in [
            "",
            "text/plain",
            "application/xml",
            "application/jsonp",
            "application/+json",
            "application/",
            "applicat",
            "application/json+",
            "json",
            "text/json",
            "multipart/form-data",
        ] {
            assert!(!is_json(&content_type(&[bad])), "{bad}");
        }
        assert!(!is_json(&HeaderMap::new()), "missing");
        assert!(
            !is_json(&content_type(&["application/json", "application/json"])),
            "repeated"
        );
    }

    #[test]
    fn lengths_and_keys() {
        let mut headers = HeaderMap::new();
        assert_eq!(content_length(&headers).unwrap(), None);
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("12"));
        assert_eq!(content_length(&headers).unwrap(), Some(12));
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("-1"));
        assert!(content_length(&headers).is_err());
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("12"));
        headers.append(CONTENT_LENGTH, HeaderValue::from_static("12"));
        assert!(content_length(&headers).is_err());

        let mut headers = HeaderMap::new();
        assert_eq!(idempotency_key(&headers).unwrap(), None);
        headers.insert(IDEMPOTENCY_KEY_HEADER, HeaderValue::from_static(""));
        assert_eq!(idempotency_key(&headers).unwrap(), None);
        headers.insert(IDEMPOTENCY_KEY_HEADER, HeaderValue::from_static("k-1"));
        assert_eq!(
            idempotency_key(&headers)
                .unwrap()
                .as_ref()
                .map(HeaderText::as_str),
            Some("k-1")
        );
        headers.append(IDEMPOTENCY_KEY_HEADER, HeaderValue::from_static("k-2"));
        assert!(idempotency_key(&headers).is_err());
        let mut headers = HeaderMap::new();
        headers.insert(
            IDEMPOTENCY_KEY_HEADER,
            HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        );
        assert!(idempotency_key(&headers).is_err());
    }
}
