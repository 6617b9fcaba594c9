//! What every dashboard page shares: the frame around it (title, navigation),
//! turning a template into a response with the headers a page needs, the
//! dashboard's errors, and how times, durations and bodies are shown.
//!
//! All HTML escaping is askama's: every value a page shows may have come from
//! a user (an object, a target URL, a receiver's answer).

use askama::Template;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

use crate::http::error::ServerError;

/// The frame of a page: its title and which section of the navigation it is in.
#[derive(Debug, Clone)]
pub(crate) struct Chrome {
    /// The page's title (the `<title>` and its heading).
    pub(crate) title: String,
    /// The section: `deliveries`, `subscriptions`, `objects`, `events`,
    /// `clock`, or `login` (no navigation).
    pub(crate) section: &'static str,
}

impl Chrome {
    /// A page titled `title` in `section`.
    pub(crate) fn new(section: &'static str, title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            section,
        }
    }

    /// Whether the navigation link of `section` is the current page's.
    pub(crate) fn is(&self, section: &str) -> bool {
        self.section == section
    }
}

/// Why a dashboard request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UiError {
    /// A template did not render (a defect).
    #[error("rendering a dashboard page: {0}")]
    Render(#[from] askama::Error),
    /// What the API would have answered.
    #[error(transparent)]
    Server(#[from] ServerError),
}

impl From<crate::store::StoreError> for UiError {
    fn from(error: crate::store::StoreError) -> Self {
        Self::Server(error.into())
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            Self::Render(error) => {
                tracing::error!(%error, "a dashboard page did not render");
                ServerError::Store(crate::store::StoreError::Backend(
                    "a dashboard page did not render".to_owned(),
                ))
                .into_response()
            }
            Self::Server(error) => error.into_response(),
        }
    }
}

/// What dashboard handlers return.
pub(crate) type UiResult = Result<Response, UiError>;

/// `template` as an HTML page with `status`.
pub(crate) fn html(status: StatusCode, template: &impl Template) -> UiResult {
    let body = template.render()?;
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Only our own script and style: nothing inline, no other origin.
    headers.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("same-origin"),
    );
    Ok(response)
}

/// `template` as a page (200).
pub(crate) fn ok(template: &impl Template) -> UiResult {
    html(StatusCode::OK, template)
}

/// A `303 See Other` to `location` (a path of the dashboard), after a form.
pub(crate) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::try_from(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// A time on the server clock (ms since the epoch), as a person reads it:
/// `2026-12-03 09:41:07.123 UTC`.
pub(crate) fn at(ms: i64) -> String {
    let Ok(at) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else {
        return format!("{ms} ms");
    };
    let format = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3] UTC"
    );
    at.format(&format).unwrap_or_else(|_| format!("{ms} ms"))
}

/// A span of milliseconds as a person reads it: `2h 5m`, `1m 30s`, `250ms`.
pub(crate) fn span(ms: i64) -> String {
    let ms = u64::try_from(ms).unwrap_or(0);
    let rounded = if ms >= 1_000 { ms / 1000 * 1000 } else { ms };
    humantime::format_duration(std::time::Duration::from_millis(rounded)).to_string()
}

/// A body as it is best read: JSON pretty-printed, anything else as it came.
pub(crate) fn pretty_body(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| body.to_owned())
}

/// One option of a `<select>`.
#[derive(Debug, Clone)]
pub(crate) struct Choice {
    /// What the form sends.
    pub(crate) value: String,
    /// What a person sees.
    pub(crate) label: String,
    /// Whether it is the chosen one.
    pub(crate) selected: bool,
}

/// The options `(value, label)`, the one whose value is `selected` chosen.
pub(crate) fn choices(
    options: impl IntoIterator<Item = (String, String)>,
    selected: &str,
) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == selected,
            value,
            label,
        })
        .collect()
}

/// A query string (`?a=1&b=2`, or empty) of the non-empty `pairs`.
pub(crate) fn query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (name, value) in pairs {
        if !value.is_empty() {
            serializer.append_pair(name, value);
            any = true;
        }
    }
    if any {
        format!("?{}", serializer.finish())
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_spans_and_bodies_read_well() {
        assert_eq!(at(0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(at(1_500), "1970-01-01 00:00:01.500 UTC");
        assert_eq!(span(250), "250ms");
        assert_eq!(span(90_500), "1m 30s");
        assert_eq!(span(7_975), "7s");
        assert_eq!(span(-5), "0s");
        assert_eq!(pretty_body(r#"{"a":1}"#), "{\n  \"a\": 1\n}");
        assert_eq!(pretty_body("not json"), "not json");
        assert_eq!(query([("a", "1"), ("b", ""), ("c", "x y")]), "?a=1&c=x+y");
        assert_eq!(query([("a", "")]), "");
    }
}
