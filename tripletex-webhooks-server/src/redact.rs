//! Secrets kept out of logs: request targets and database URLs are logged
//! only through these functions.
//!
//! A request target is rewritten so that no value a client may have meant as
//! a secret survives: the segment after `token/session/` (a session token, in
//! `DELETE /v2/token/session/{token}`) unless it is one of the two actions,
//! and every query value except those of the parameters listed in
//! [`PLAIN_PARAMETERS`], which never carry credentials. Parameters the server
//! does not know are dropped whole (their name could be the secret).

use axum::http::Uri;

/// What replaces a secret.
pub(crate) const REDACTED: &str = "<redacted>";

/// Query parameters whose values are logged as sent.
const PLAIN_PARAMETERS: [&str; 13] = [
    "from",
    "count",
    "fields",
    "sorting",
    "ids",
    "expirationDate",
    "subscriptionId",
    "status",
    "versionDigest",
    "event",
    "objectId",
    "createdFrom",
    "createdTo",
];

/// Query parameters whose names are logged and values redacted.
const SECRET_PARAMETERS: [&str; 2] = ["consumerToken", "employeeToken"];

/// The path segments after `token/session/` that are actions, not tokens
/// (compared decoded, as the router sees them).
const SESSION_ACTIONS: [&str; 2] = [":create", ">whoAmI"];

/// `uri`'s path and query with secrets redacted, for logs.
pub(crate) fn request_target(uri: &Uri) -> String {
    let mut target = path(uri.path());
    if let Some(query) = uri.query() {
        target.push('?');
        target.push_str(&query_string(query));
    }
    target
}

/// A path with any session token segment redacted.
fn path(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    for (index, segment) in segments.iter().enumerate() {
        let after_session = index >= 2
            && segments[index - 1].eq_ignore_ascii_case("session")
            && segments[index - 2].eq_ignore_ascii_case("token");
        if after_session && !SESSION_ACTIONS.contains(&decode(segment).as_str()) {
            out.push(REDACTED);
        } else {
            out.push(segment);
        }
    }
    out.join("/")
}

/// A query string with every value but the plain parameters' redacted.
fn query_string(query: &str) -> String {
    let pairs: Vec<String> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            // Compared decoded, as the handlers read them.
            let name = decode(raw_name);
            if PLAIN_PARAMETERS.contains(&name.as_str()) {
                format!("{name}={raw_value}")
            } else if SECRET_PARAMETERS.contains(&name.as_str()) {
                format!("{name}={REDACTED}")
            } else {
                REDACTED.to_owned()
            }
        })
        .collect();
    pairs.join("&")
}

fn decode(raw: &str) -> String {
    url::form_urlencoded::parse(format!("n={raw}").as_bytes())
        .next()
        .map(|(_, name)| name.into_owned())
        .unwrap_or_default()
}

/// A database URL without its password, for messages and logs.
pub(crate) fn database_url(database_url: &str) -> String {
    match url::Url::parse(database_url) {
        Ok(mut url) if url.password().is_some() => {
            // A URL with a password has an authority, which takes another one.
            let _ = url.set_password(Some("redacted"));
            url.to_string()
                .replacen(":redacted@", &format!(":{REDACTED}@"), 1)
        }
        // Unparsable: any `user:password@` in it goes with the rest.
        Err(_) if database_url.contains('@') => REDACTED.to_owned(),
        Ok(_) | Err(_) => database_url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(raw: &str) -> String {
        request_target(&raw.parse::<Uri>().unwrap())
    }

    #[test]
    fn session_tokens_in_paths_are_redacted() {
        assert_eq!(
            target("/v2/token/session/tlx-secret"),
            "/v2/token/session/<redacted>"
        );
        assert_eq!(
            target("/v2/TOKEN/Session/tlx-secret/more"),
            "/v2/TOKEN/Session/<redacted>/more"
        );
        assert_eq!(
            target("/v2/token/session/%3EwhoAmI?fields=*"),
            "/v2/token/session/%3EwhoAmI?fields=*"
        );
        assert_eq!(
            target("/v2/token/session/%3ewhoAmI"),
            "/v2/token/session/%3ewhoAmI"
        );
        assert_eq!(
            target("/v2/token/session/%3Acreate?x=1"),
            "/v2/token/session/%3Acreate?<redacted>"
        );
        assert_eq!(target("/v2/product/12"), "/v2/product/12");
    }

    #[test]
    fn only_plain_query_values_survive() {
        assert_eq!(
            target(
                "/v2/token/session/:create?consumerToken=c1&employeeToken=e1&expirationDate=2099-01-01"
            ),
            "/v2/token/session/:create?consumerToken=<redacted>&employeeToken=<redacted>&expirationDate=2099-01-01"
        );
        assert_eq!(
            target("/x?consumer%54oken=c1&secret=s&tlx-abc&from=0&count=5"),
            "/x?consumerToken=<redacted>&<redacted>&<redacted>&from=0&count=5"
        );
    }

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            database_url("postgres://user:pw@host:5432/db?sslmode=require"),
            "postgres://user:<redacted>@host:5432/db?sslmode=require"
        );
        assert_eq!(
            database_url("postgres://user@host/db"),
            "postgres://user@host/db"
        );
        assert_eq!(
            database_url("sqlite://tripletex.db"),
            "sqlite://tripletex.db"
        );
        assert_eq!(database_url("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(database_url("mysql//user:pw@host"), "<redacted>");
    }
}
