//! The file of `subscriptions apply`: a company's desired subscriptions in
//! TOML, secrets named by environment variable, never written in it.

use std::collections::BTreeSet;

use secrecy::SecretString;
use serde::Deserialize;
use tripletex_webhooks_client::types::{EventType, NewSubscription};

use crate::error::CliError;

/// The format, for `apply --help` and the README.
pub(crate) const FORMAT_HELP: &str = r#"The file (TOML) lists the desired subscriptions; each [[subscription]] has one or more events:

  # Optional: only existing subscriptions whose target URL starts with this are
  # compared, and deleted with --prune (when the employee token is shared);
  # every target below must start with it.
  scope = "https://example.com/"

  [[subscription]]
  events = ["product.create", "product.update", "product.delete"]
  target = "https://example.com/webhooks/tripletex"
  fields = "id,version,name"                  # optional `fields` filter
  auth_header = "X-Tripletex-Token"           # optional custom header ...
  auth_value_env = "TRIPLETEX_WEBHOOK_TOKEN"  # ... its value from this environment variable
  hmac_secret_env = "TRIPLETEX_WEBHOOK_HMAC"  # optional HMAC secret from this environment variable

  [[subscription]]
  events = ["order.create"]
  target = "https://example.com/webhooks/orders"

Subscriptions are matched by (event, target). The plan creates the missing ones, updates those whose
fields or auth header differ, re-enables disabled ones (such as DISABLED_TOO_MANY_ERRORS), and with
--prune deletes the others (in scope). Secrets are write-only in Tripletex: they are sent on create
and with every update, and to unchanged subscriptions only with --resend-secrets. A second run
plans nothing.

Exit codes: 0 applied (or --dry-run: nothing would change), 2 --dry-run: something would change,
1 a request failed, 64 the file or a variable it names is missing or invalid.

Examples:
  tripletex-webhooks subscriptions apply webhooks.toml --dry-run
  tripletex-webhooks subscriptions apply webhooks.toml
  tripletex-webhooks --base-url prod subscriptions apply webhooks.toml --prune --json"#;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DesiredFile {
    #[serde(default)]
    scope: Option<String>,
    #[serde(default, rename = "subscription")]
    subscriptions: Vec<DesiredEntry>,
}

/// One `[[subscription]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DesiredEntry {
    events: Vec<String>,
    target: String,
    #[serde(default)]
    fields: Option<String>,
    #[serde(default)]
    auth_header: Option<String>,
    #[serde(default)]
    auth_value_env: Option<String>,
    #[serde(default)]
    hmac_secret_env: Option<String>,
}

/// The desired state, ready for `reconcile`.
#[derive(Debug)]
pub(crate) struct Desired {
    /// The target URL prefix that limits what is compared and pruned.
    pub(crate) scope: Option<String>,
    /// One per (event, target).
    pub(crate) subscriptions: Vec<NewSubscription>,
}

/// Parses the file's text; `var` reads the environment variables it names.
pub(crate) fn parse(text: &str, var: impl Fn(&str) -> Option<String>) -> Result<Desired, CliError> {
    let file: DesiredFile =
        toml::from_str(text).map_err(|error| CliError::Usage(one_line(&error.to_string())))?;
    let secret = |name: &str, what: &str| -> Result<SecretString, CliError> {
        var(name)
            .filter(|value| !value.is_empty())
            .map(SecretString::from)
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "the environment variable {name} (the {what}) is not set"
                ))
            })
    };
    let mut seen = BTreeSet::new();
    let mut subscriptions = Vec::new();
    for (index, entry) in file.subscriptions.iter().enumerate() {
        let at = format!("subscription {}", index + 1);
        if entry.events.is_empty() {
            return Err(CliError::Usage(format!("{at}: `events` is empty")));
        }
        if url::Url::parse(&entry.target).is_err() {
            return Err(CliError::Usage(format!(
                "{at}: `target` is not an absolute URL"
            )));
        }
        if let Some(scope) = &file.scope {
            if !entry.target.starts_with(scope.as_str()) {
                // Out of scope, its existing subscription would not be seen,
                // and every run would create it again.
                return Err(CliError::Usage(format!(
                    "{at}: `target` does not start with `scope` ({scope:?})"
                )));
            }
        }
        let auth = match (&entry.auth_header, &entry.auth_value_env) {
            (Some(header), Some(env)) => Some((header.clone(), secret(env, "auth header value")?)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(CliError::Usage(format!(
                    "{at}: `auth_header` needs `auth_value_env`"
                )));
            }
            (None, Some(_)) => {
                return Err(CliError::Usage(format!(
                    "{at}: `auth_value_env` needs `auth_header`"
                )));
            }
        };
        let hmac = entry
            .hmac_secret_env
            .as_deref()
            .map(|env| secret(env, "HMAC secret"))
            .transpose()?;
        for raw in &entry.events {
            let event: EventType = raw
                .parse()
                .map_err(|error| CliError::Usage(format!("{at}: event {raw:?}: {error}")))?;
            if !seen.insert((event.to_string(), entry.target.clone())) {
                return Err(CliError::Usage(format!(
                    "{at}: {event} to this target is listed twice"
                )));
            }
            let mut new = NewSubscription::new(event, entry.target.clone());
            if let Some(fields) = &entry.fields {
                new = new.with_fields(fields.clone());
            }
            if let Some((name, value)) = &auth {
                new = new.with_auth_header(name.clone(), value.clone());
            }
            if let Some(secret) = &hmac {
                new = new.with_hmac_secret(secret.clone());
            }
            subscriptions.push(new);
        }
    }
    Ok(Desired {
        scope: file.scope,
        subscriptions,
    })
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "HOOK_SECRET").then(|| "a-shared-secret".to_owned())
    }

    #[test]
    fn the_documented_format_parses() {
        let text = r#"
            scope = "https://example.com/"
            [[subscription]]
            events = ["product.create", "product.update"]
            target = "https://example.com/hooks"
            fields = "id,version"
            auth_header = "X-Token"
            auth_value_env = "HOOK_SECRET"
            hmac_secret_env = "HOOK_SECRET"
            [[subscription]]
            events = ["order.create"]
            target = "https://example.com/orders"
        "#;
        let desired = parse(text, env).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(desired.scope.as_deref(), Some("https://example.com/"));
        assert_eq!(desired.subscriptions.len(), 3);
        let first = &desired.subscriptions[0];
        assert_eq!(first.fields.as_deref(), Some("id,version"));
        assert_eq!(
            first
                .hmac_shared_secret
                .as_ref()
                .map(|s| s.expose_secret().to_owned()),
            Some("a-shared-secret".to_owned())
        );
        assert!(desired.subscriptions[2].auth_header_name.is_none());
    }

    #[test]
    fn mistakes_are_usage_errors_that_name_the_problem() {
        let cases = [
            (
                "[[subscription]]\nevents = [\"product.create\"]\n",
                "target",
            ),
            (
                "[[subscription]]\nevents = []\ntarget = \"https://x\"\n",
                "`events` is empty",
            ),
            (
                "[[subscription]]\nevents = [\"nope\"]\ntarget = \"https://x\"\n",
                "nope",
            ),
            (
                "[[subscription]]\nevents = [\"product.create\"]\ntarget = \"x\"\n",
                "absolute URL",
            ),
            (
                "[[subscription]]\nevents = [\"product.create\"]\ntarget = \"https://x\"\nhmac_secret_env = \"MISSING\"\n",
                "MISSING",
            ),
            (
                "[[subscription]]\nevents = [\"product.create\"]\ntarget = \"https://x\"\nauth_header = \"X\"\n",
                "auth_value_env",
            ),
            (
                "[[subscription]]\nevents = [\"product.create\", \"product.create\"]\ntarget = \"https://x\"\n",
                "twice",
            ),
            (
                "[[subscription]]\nevents = [\"product.create\"]\ntarget = \"https://x\"\ntypo = 1\n",
                "typo",
            ),
            (
                "scope = \"https://a/\"\n[[subscription]]\nevents = [\"product.create\"]\ntarget = \"https://b/h\"\n",
                "does not start with `scope`",
            ),
        ];
        for (text, expected) in cases {
            match parse(text, env) {
                Err(CliError::Usage(message)) => {
                    assert!(message.contains(expected), "{message:?} lacks {expected:?}");
                    assert!(!message.contains('\n'), "{message:?}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
