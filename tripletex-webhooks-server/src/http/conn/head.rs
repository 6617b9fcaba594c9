//! Checks one request head (request line and headers) with the parser hyper
//! uses, against this server's limits and hyper's own framing rules.

use axum::http::{HeaderName, Method, Uri};

use super::body::Body;
use super::{MAX_HEADER_BYTES, MAX_HEADERS, MAX_URI_BYTES, Refusal};

/// A request line longer than the longest target by this much has a method
/// or version no client sends.
const REQUEST_LINE_SLACK: usize = 64;

/// The first bytes of an HTTP/2 connection with prior knowledge.
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The verdict on the bytes read so far.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Head {
    /// More bytes are needed.
    Incomplete,
    /// A head of `len` bytes that hyper will accept, followed by `body`.
    Complete {
        /// Its length, up to and including the empty line.
        len: usize,
        /// Where its body ends.
        body: Body,
    },
    /// Refused: the router answers with this.
    Refused(Refusal),
    /// The HTTP/2 preface: the connection is not HTTP/1.
    Http2,
}

/// Checks the head at the start of `buf`; `first` says whether it is the
/// connection's first (the only place the HTTP/2 preface may appear).
pub(crate) fn check(buf: &[u8], first: bool) -> Head {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => complete(&request, buf, len),
        Ok(httparse::Status::Partial) => partial(&request, buf),
        Err(httparse::Error::Version) if first && starts_http2(buf) => Head::Http2,
        Err(error) => Head::Refused(parse_error(error, buf)),
    }
}

fn starts_http2(buf: &[u8]) -> bool {
    let n = buf.len().min(HTTP2_PREFACE.len());
    buf[..n] == HTTP2_PREFACE[..n]
}

/// An incomplete head that already breaks a limit is refused without
/// waiting for the rest.
fn partial(request: &httparse::Request<'_, '_>, buf: &[u8]) -> Head {
    if request.path.is_some_and(|path| path.len() > MAX_URI_BYTES) {
        return Head::Refused(Refusal::UriTooLong);
    }
    match request_line_end(buf) {
        None if buf.len() > MAX_URI_BYTES + REQUEST_LINE_SLACK => {
            Head::Refused(if request.method.is_some() {
                Refusal::UriTooLong
            } else {
                Refusal::Malformed("The request method is too long.".to_owned())
            })
        }
        Some(end) if buf.len() - end > MAX_HEADER_BYTES => Head::Refused(Refusal::HeadersTooLarge),
        _ => Head::Incomplete,
    }
}

fn complete(request: &httparse::Request<'_, '_>, buf: &[u8], len: usize) -> Head {
    match verdict(request, buf, len) {
        Ok(body) => Head::Complete { len, body },
        Err(refusal) => Head::Refused(refusal),
    }
}

fn verdict(request: &httparse::Request<'_, '_>, buf: &[u8], len: usize) -> Result<Body, Refusal> {
    let path = request.path.unwrap_or_default();
    if path.len() > MAX_URI_BYTES {
        return Err(Refusal::UriTooLong);
    }
    let line_end = request_line_end(buf).unwrap_or(len);
    if len - line_end > MAX_HEADER_BYTES {
        return Err(Refusal::HeadersTooLarge);
    }
    // hyper builds these types from the parsed head; whatever they refuse,
    // hyper would refuse with a bare 400.
    if Uri::try_from(path).is_err() {
        return Err(Refusal::Malformed(
            "The request target is not a valid URI.".to_owned(),
        ));
    }
    if Method::from_bytes(request.method.unwrap_or_default().as_bytes()).is_err() {
        return Err(Refusal::Malformed(
            "The request method is invalid.".to_owned(),
        ));
    }
    if request
        .headers
        .iter()
        .any(|h| HeaderName::from_bytes(h.name.as_bytes()).is_err())
    {
        return Err(Refusal::Malformed("A header name is invalid.".to_owned()));
    }
    body(request)
}

/// The body's framing, by hyper's rules for requests: a `Transfer-Encoding`
/// must end in `chunked` (and is refused in HTTP/1.0) and overrides any
/// `Content-Length`; several `Content-Length`s must agree; no framing header
/// means no body.
fn body(request: &httparse::Request<'_, '_>) -> Result<Body, Refusal> {
    let mut transfer_encoding = false;
    let mut chunked = false;
    let mut length: Option<u64> = None;
    for header in request.headers.iter() {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            if request.version == Some(0) {
                return Err(Refusal::Malformed(
                    "Transfer-Encoding is not allowed in HTTP/1.0.".to_owned(),
                ));
            }
            transfer_encoding = true;
            length = None;
            chunked = ends_in_chunked(header.value);
        } else if header.name.eq_ignore_ascii_case("content-length") && !transfer_encoding {
            let value = digits(header.value).ok_or_else(|| {
                Refusal::Malformed("The Content-Length header is not a number.".to_owned())
            })?;
            if length.is_some_and(|earlier| earlier != value) {
                return Err(Refusal::Malformed(
                    "The Content-Length headers disagree.".to_owned(),
                ));
            }
            // hyper's largest body length.
            if value > u64::MAX - 2 {
                return Err(Refusal::BodyTooLarge);
            }
            length = Some(value);
        }
    }
    if transfer_encoding && !chunked {
        return Err(Refusal::Malformed(
            "A Transfer-Encoding must end with chunked.".to_owned(),
        ));
    }
    Ok(if chunked {
        Body::chunked()
    } else {
        Body::Length(length.unwrap_or(0))
    })
}

fn ends_in_chunked(value: &[u8]) -> bool {
    let visible = value
        .iter()
        .all(|b| *b == b'\t' || (0x20..0x7f).contains(b));
    visible
        && std::str::from_utf8(value).is_ok_and(|text| {
            text.rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
        })
}

/// A `Content-Length` value: decimal digits only, as hyper reads it.
fn digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, b| {
        let digit = char::from(*b).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Just past the request line (leading empty lines skipped, as httparse does).
fn request_line_end(buf: &[u8]) -> Option<usize> {
    let start = buf.iter().position(|b| *b != b'\r' && *b != b'\n')?;
    buf[start..]
        .iter()
        .position(|b| *b == b'\n')
        .map(|i| start + i + 1)
}

fn parse_error(error: httparse::Error, buf: &[u8]) -> Refusal {
    let text = match error {
        httparse::Error::TooManyHeaders => return Refusal::TooManyHeaders,
        httparse::Error::HeaderValue => match offending_header(buf) {
            Some(name) => format!(
                "The value of the header '{name}' contains a control character; header values \
                 may hold visible characters, spaces and tabs only."
            ),
            None => "A header value contains a control character.".to_owned(),
        },
        httparse::Error::HeaderName => {
            "A header name contains a character a header name may not hold.".to_owned()
        }
        httparse::Error::NewLine => "A line of the request head ends wrongly.".to_owned(),
        httparse::Error::Version => {
            "The request line does not end with HTTP/1.0 or HTTP/1.1.".to_owned()
        }
        httparse::Error::Token | httparse::Error::Status => {
            "The request line is malformed: it must be METHOD TARGET HTTP/1.1.".to_owned()
        }
    };
    Refusal::Malformed(text)
}

/// The name of the first header whose value holds a byte httparse refuses,
/// when that name is itself a plain token (it is echoed in the message).
fn offending_header(buf: &[u8]) -> Option<String> {
    let start = request_line_end(buf)?;
    buf[start..].split(|b| *b == b'\n').find_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let colon = line.iter().position(|b| *b == b':')?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let bad = value
            .iter()
            .any(|b| !(*b == b'\t' || (0x20..0x7f).contains(b) || *b >= 0x80));
        (bad && !name.is_empty() && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-'))
            .then(|| String::from_utf8_lossy(name).into_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(head: &[u8]) -> Refusal {
        match check(head, true) {
            Head::Refused(refusal) => refusal,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(head)),
        }
    }

    #[test]
    fn good_heads_pass_with_their_framing() {
        let cases: [(&[u8], Body); 5] = [
            (b"GET /v2/event HTTP/1.1\r\nHost: x\r\n\r\n", Body::Length(0)),
            (b"\r\nPOST /v2/product HTTP/1.1\r\nContent-Length: 12\r\n\r\n", Body::Length(12)),
            (b"PUT /x HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n", Body::Length(3)),
            (b"POST /x HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", Body::chunked()),
            (b"GET /x HTTP/1.0\r\n\r\n", Body::Length(0)),
        ];
        for (head, body) in cases {
            assert_eq!(
                check(head, false),
                Head::Complete {
                    len: head.len(),
                    body
                },
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
        assert_eq!(
            check(b"GET /v2/event HTTP/1.1\r\nHost:", false),
            Head::Incomplete
        );
    }

    #[test]
    fn limits_are_enforced_before_the_head_is_complete() {
        let long_target = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_URI_BYTES));
        assert_eq!(refused(long_target.as_bytes()), Refusal::UriTooLong);
        let unfinished = format!("GET /{}", "a".repeat(MAX_URI_BYTES + 100));
        assert_eq!(refused(unfinished.as_bytes()), Refusal::UriTooLong);
        let at_limit = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_URI_BYTES - 1));
        assert!(matches!(
            check(at_limit.as_bytes(), false),
            Head::Complete { .. }
        ));
        let big = format!(
            "GET / HTTP/1.1\r\nX-Big: {}\r\n",
            "b".repeat(MAX_HEADER_BYTES)
        );
        assert_eq!(refused(big.as_bytes()), Refusal::HeadersTooLarge);
        let many = (0..=MAX_HEADERS)
            .map(|i| format!("X-{i}: 1\r\n"))
            .collect::<Vec<_>>()
            .concat();
        assert_eq!(
            refused(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()),
            Refusal::TooManyHeaders
        );
    }

    #[test]
    fn what_hyper_would_refuse_is_refused() {
        let heads: [&[u8]; 9] = [
            b"GARBAGE\r\n\r\n",
            b"GET /x HTTP/9.9\r\n\r\n",
            b"GET /x y HTTP/1.1\r\n\r\n",
            b"GET /x HTTP/1.1\r\nIf-None-Match: \"a\x01b\"\r\n\r\n",
            b"GET /x HTTP/1.1\r\nBad Name: 1\r\n\r\n",
            b"POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        ];
        for head in heads {
            assert!(
                matches!(refused(head), Refusal::Malformed(_)),
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
        assert_eq!(
            refused(b"POST /x HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n"),
            Refusal::BodyTooLarge
        );
    }

    #[test]
    fn a_control_byte_names_its_header() {
        let Refusal::Malformed(text) =
            refused(b"GET /x HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"a\x7fb\"\r\n\r\n")
        else {
            panic!("not malformed");
        };
        assert!(text.contains("'If-None-Match'"), "{text}");
    }

    #[test]
    fn the_http2_preface_is_recognised_only_first() {
        assert_eq!(check(HTTP2_PREFACE, true), Head::Http2);
        assert_eq!(check(&HTTP2_PREFACE[..14], true), Head::Http2);
        assert!(matches!(check(HTTP2_PREFACE, false), Head::Refused(_)));
    }
}
