//! A header value kept as received, known to be text.

use std::fmt;

use http::HeaderValue;

/// A header value checked once to be visible ASCII, kept without copying:
/// cloning a received [`HeaderValue`] shares its bytes with the request.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct HeaderText(HeaderValue);

impl HeaderText {
    /// `value`, if it is visible ASCII (what [`HeaderValue::to_str`] accepts).
    pub(crate) fn new(value: &HeaderValue) -> Option<Self> {
        value.to_str().ok().map(|_| Self(value.clone()))
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        // Checked to be ASCII when made, so this never falls back.
        std::str::from_utf8(self.0.as_bytes()).unwrap_or_default()
    }

    /// Whether it is the empty string.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for HeaderText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_visible_ascii_and_refuses_the_rest() {
        let text = HeaderText::new(&HeaderValue::from_static("key-1")).unwrap();
        assert_eq!(text.as_str(), "key-1");
        assert_eq!(format!("{text:?}"), "\"key-1\"");
        assert!(!text.is_empty());
        assert!(
            HeaderText::new(&HeaderValue::from_static(""))
                .unwrap()
                .is_empty()
        );
        let binary = HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap();
        assert!(HeaderText::new(&binary).is_none());
    }
}
