//! Whether a subscription's callback settings can be sent: its target URL
//! and its auth header. Subscriptions are checked with these at create and
//! update, so that nothing accepted fails at every delivery.
//!
//! Messages never repeat the checked value: a target URL may carry
//! credentials and a header value is a secret.

use super::sender::url_credentials;

/// The characters of an HTTP token besides letters and digits (RFC 9110 `tchar`).
const TOKEN_PUNCTUATION: &[u8] = b"!#$%&'*+-.^_`|~";

/// Why `raw` cannot be a callback's target URL; `None` when it can.
///
/// Refused besides what does not parse as an absolute http(s) URL:
/// whitespace, control characters and backslashes (URL parsers drop or
/// rewrite them, so what is sent would differ from what was stored), port 0,
/// a fragment (an HTTP request never carries one), and `user:password@` that
/// Basic authentication cannot carry.
pub(crate) fn target_url_problem(raw: &str) -> Option<String> {
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some(
            "The target URL must not contain whitespace or control characters.".to_owned(),
        );
    }
    if raw.contains('\\') {
        return Some("The target URL must not contain backslashes.".to_owned());
    }
    let url = match url::Url::parse(raw) {
        Ok(url) => url,
        Err(error) => return Some(format!("The target URL must be an absolute URL: {error}.")),
    };
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Some("The target URL must use http or https.".to_owned());
    }
    if url.port() == Some(0) {
        return Some("The target URL's port must be 1 to 65535.".to_owned());
    }
    if url.fragment().is_some() {
        return Some(
            "The target URL must not have a fragment (#…): it is never sent in a request."
                .to_owned(),
        );
    }
    url_credentials(&url)
        .err()
        .map(|problem| format!("The target URL's credentials cannot be sent: {problem}."))
}

/// Why `name` cannot be a header name; `None` when it is an HTTP token (or
/// empty, which means no header).
pub(crate) fn header_name_problem(name: &str) -> Option<String> {
    let is_tchar = |b: u8| b.is_ascii_alphanumeric() || TOKEN_PUNCTUATION.contains(&b);
    (!name.bytes().all(is_tchar)).then(|| {
        "The header name must be an HTTP token: letters, digits and !#$%&'*+-.^_`|~ only \
         (no spaces, colons or control characters)."
            .to_owned()
    })
}

/// Why `value` cannot be a header value; `None` when it is visible ASCII,
/// with spaces or tabs only between visible characters (leading and trailing
/// ones would be stripped by the receiver).
pub(crate) fn header_value_problem(value: &str) -> Option<String> {
    let visible = |b: &u8| (0x21..=0x7e).contains(b);
    let bytes = value.as_bytes();
    let sendable = bytes
        .iter()
        .all(|b| visible(b) || matches!(b, b' ' | b'\t'))
        && bytes.first().is_none_or(visible)
        && bytes.last().is_none_or(visible);
    (!sendable).then(|| {
        "The header value must be visible ASCII characters, with spaces or tabs only between \
         them (no control characters, line breaks or non-ASCII characters)."
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_urls_that_cannot_be_sent_are_refused() {
        for good in [
            "https://u:p@example.com/hook?t=1",
            "http://127.0.0.1:9/x",
            "http://[::1]:8080/",
            "https://example.com",
            "https://:only-a-password@example.com/",
            "https://us%40er:p%3Ass@example.com/",
            "https://exämple.com/pä",
        ] {
            assert_eq!(target_url_problem(good), None, "{good}");
        }
        for (bad, problem) in [
            ("/relative", "absolute"),
            ("example.com/hook", "absolute"),
            ("", "absolute"),
            ("ftp://example.com", "http or https"),
            ("mailto:a@b.c", "http or https"),
            ("file:///etc/passwd", "http or https"),
            ("http://", "absolute"),
            ("http://exa mple.com/", "whitespace"),
            (" https://example.com/", "whitespace"),
            ("https://example.com/\n", "whitespace"),
            ("https://exa\tmple.com/", "whitespace"),
            ("https://example.com/\u{7f}", "control"),
            ("https://example.com/a\u{0}b", "control"),
            ("https:\\\\example.com\\hook", "backslashes"),
            ("http://example.com:0/", "port"),
            ("https://example.com/hook#part", "fragment"),
            ("https://example.com/hook#", "fragment"),
            ("https://%ff:pw@example.com/", "not UTF-8"),
            ("https://a%3Ab:pw@example.com/", "contains ':'"),
            ("https://user:p%0D%0Aw@example.com/", "control characters"),
        ] {
            let message = target_url_problem(bad).unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(message.contains(problem), "{bad:?}: {message}");
        }
    }

    #[test]
    fn header_names_are_tokens() {
        for good in [
            "Authorization",
            "X-Api-Key",
            "x_key.v2",
            "!#$%&'*+-.^_`|~09azAZ",
            "",
        ] {
            assert_eq!(header_name_problem(good), None, "{good}");
        }
        for bad in [
            "X-A\r\nX-Injected: 1",
            "X A",
            "(optional) custom header name, e.g. Authorization",
            "X-Key:",
            "X\u{0}Key",
            "Nøkkel",
            "\"quoted\"",
            "a/b",
            "{x}",
        ] {
            assert!(header_name_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn header_values_are_visible_ascii() {
        for good in ["Bearer abc123", "a", "a\tb", "x!~\"(),/:;<=>?@[]{}", ""] {
            assert_eq!(header_value_problem(good), None, "{good:?}");
        }
        for bad in [
            "Bearer abc\r\nX-Injected: 1",
            "Bearer\u{1}abc",
            "abc\u{7f}",
            "line\nbreak",
            " leading",
            "trailing\t",
            "Bærer",
            "\u{0}",
        ] {
            let message = header_value_problem(bad).unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(!message.contains(bad), "{message}");
        }
    }
}
