//! Where the API is and who calls it: the base URL (with its shorthands) from
//! the flags, the credentials from the environment only.

use std::net::IpAddr;
use std::time::Duration;

use secrecy::SecretString;
use tripletex_webhooks_client::{Client, PRODUCTION_BASE_URL, TEST_BASE_URL};
use url::Url;

use crate::error::CliError;

/// The bundled server's default port (`--listen 127.0.0.1:8080`).
pub(crate) const LOCAL_PORT: u16 = 8080;

/// The bundled server's built-in local tokens, used against a loopback
/// server when the environment has no credentials.
const LOCAL_CONSUMER_TOKEN: &str = "local-consumer-token";
const LOCAL_EMPLOYEE_TOKEN: &str = "local-employee-token";

/// The `User-Agent` of every request.
pub(crate) const USER_AGENT: &str = concat!("tripletex-webhooks-cli/", env!("CARGO_PKG_VERSION"));

/// How the tool authenticates. Never printed: no `Debug` of the secrets.
#[derive(Clone)]
pub(crate) enum Credentials {
    /// An existing session token.
    Session(SecretString),
    /// Consumer and employee tokens to create a session token from.
    Tokens {
        /// The integration's consumer token.
        consumer: SecretString,
        /// The customer's employee token.
        employee: SecretString,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Session(_) => "Credentials::Session(..)",
            Self::Tokens { .. } => "Credentials::Tokens(..)",
        })
    }
}

/// Everything needed to call the API.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The API base URL, ending in `/v2`.
    pub(crate) base_url: Url,
    /// The company to act for.
    pub(crate) company_id: i64,
    /// The longest one attempt may take.
    pub(crate) timeout: Duration,
    /// Who calls.
    pub(crate) credentials: Credentials,
}

impl Settings {
    /// From the flags and the process environment.
    pub(crate) fn new(
        base_url: &str,
        company_id: i64,
        timeout: Duration,
    ) -> Result<Self, CliError> {
        let base_url = resolve_base_url(base_url)?;
        let credentials = credentials(|name| std::env::var(name).ok(), &base_url)?;
        Ok(Self {
            base_url,
            company_id,
            timeout,
            credentials,
        })
    }

    /// A client of the Tripletex API with these settings.
    pub(crate) fn client(&self) -> Result<Client, CliError> {
        let builder = Client::builder()
            .base_url(self.base_url.as_str())
            .company_id(self.company_id)
            .timeout(self.timeout)
            .user_agent(USER_AGENT);
        let builder = match &self.credentials {
            Credentials::Session(token) => builder.session_token(token.clone()),
            Credentials::Tokens { consumer, employee } => builder
                .consumer_token(consumer.clone())
                .employee_token(employee.clone()),
        };
        Ok(builder.build()?)
    }
}

/// `prod`, `test`, `local`, `local:PORT`, or an http(s) URL.
pub(crate) fn resolve_base_url(raw: &str) -> Result<Url, CliError> {
    let raw = raw.trim();
    let expanded = match raw {
        "prod" | "production" => PRODUCTION_BASE_URL.to_owned(),
        "test" => TEST_BASE_URL.to_owned(),
        "local" => format!("http://127.0.0.1:{LOCAL_PORT}/v2"),
        other => match other.strip_prefix("local:") {
            Some(port) => {
                let port: u16 = port.parse().map_err(|_| {
                    CliError::Usage(format!("--base-url {other:?}: the port must be a number"))
                })?;
                format!("http://127.0.0.1:{port}/v2")
            }
            None => other.to_owned(),
        },
    };
    let url = Url::parse(&expanded).map_err(|error| {
        CliError::Usage(format!(
            "--base-url {raw:?} is not prod, test, local, local:PORT or a URL: {error}"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(CliError::Usage(format!(
            "--base-url {raw:?} must be an http or https URL"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(CliError::Usage(
            "--base-url must not carry credentials: set them in the environment".to_owned(),
        ));
    }
    Ok(url)
}

/// Whether the URL's host is this machine.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Whether the URL is Tripletex itself (production or its test environment).
pub(crate) fn is_tripletex(url: &Url) -> bool {
    url.host_str().is_some_and(|host| {
        let host = host.to_ascii_lowercase();
        ["tripletex.no", "tripletex.tech", "tripletex.io"]
            .iter()
            .any(|domain| host == *domain || host.ends_with(&format!(".{domain}")))
    })
}

/// The credentials from the environment (read through `var`); against a
/// loopback server without any, the bundled server's local tokens.
fn credentials(
    var: impl Fn(&str) -> Option<String>,
    base_url: &Url,
) -> Result<Credentials, CliError> {
    let get = |name: &str| var(name).filter(|value| !value.trim().is_empty());
    let session = get("TRIPLETEX_SESSION_TOKEN");
    let consumer = get("TRIPLETEX_CONSUMER_TOKEN");
    let employee = get("TRIPLETEX_EMPLOYEE_TOKEN");
    match (session, consumer, employee) {
        (Some(token), None, None) => Ok(Credentials::Session(token.into())),
        (Some(_), _, _) => Err(CliError::Usage(
            "set either TRIPLETEX_SESSION_TOKEN or TRIPLETEX_CONSUMER_TOKEN and TRIPLETEX_EMPLOYEE_TOKEN, not both"
                .to_owned(),
        )),
        (None, Some(consumer), Some(employee)) => Ok(Credentials::Tokens {
            consumer: consumer.into(),
            employee: employee.into(),
        }),
        (None, Some(_), None) => Err(CliError::Usage(
            "TRIPLETEX_EMPLOYEE_TOKEN is not set (TRIPLETEX_CONSUMER_TOKEN is)".to_owned(),
        )),
        (None, None, Some(_)) => Err(CliError::Usage(
            "TRIPLETEX_CONSUMER_TOKEN is not set (TRIPLETEX_EMPLOYEE_TOKEN is)".to_owned(),
        )),
        (None, None, None) if is_loopback(base_url) => Ok(Credentials::Tokens {
            consumer: LOCAL_CONSUMER_TOKEN.into(),
            employee: LOCAL_EMPLOYEE_TOKEN.into(),
        }),
        (None, None, None) => Err(CliError::NoCredentials),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(raw: &str) -> String {
        resolve_base_url(raw)
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn shorthands_expand() {
        assert_eq!(url("prod"), "https://tripletex.no/v2");
        assert_eq!(url("test"), "https://api-test.tripletex.tech/v2");
        assert_eq!(url("local"), "http://127.0.0.1:8080/v2");
        assert_eq!(url("local:9000"), "http://127.0.0.1:9000/v2");
        assert_eq!(url("http://10.0.0.1:1/v2"), "http://10.0.0.1:1/v2");
        for bad in [
            "local:x",
            "tripletex.no",
            "ftp://x/v2",
            "https://u:p@tripletex.no/v2",
            "",
        ] {
            assert!(
                matches!(resolve_base_url(bad), Err(CliError::Usage(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn hosts_are_classified() {
        let parse = |raw| resolve_base_url(raw).unwrap_or_else(|_| unreachable!());
        assert!(is_tripletex(&parse("prod")) && is_tripletex(&parse("test")));
        assert!(!is_tripletex(&parse("local")) && is_loopback(&parse("local")));
        assert!(is_loopback(&parse("http://localhost:1/v2")));
        assert!(is_loopback(&parse("http://[::1]:1/v2")));
        assert!(!is_tripletex(&parse("https://nottripletex.no/v2")));
    }

    #[test]
    fn credentials_come_from_the_environment() {
        let local = resolve_base_url("local").unwrap_or_else(|_| unreachable!());
        let prod = resolve_base_url("prod").unwrap_or_else(|_| unreachable!());
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            }
        };
        assert!(matches!(
            credentials(env(&[("TRIPLETEX_SESSION_TOKEN", "s")]), &prod),
            Ok(Credentials::Session(_))
        ));
        assert!(matches!(
            credentials(
                env(&[
                    ("TRIPLETEX_CONSUMER_TOKEN", "c"),
                    ("TRIPLETEX_EMPLOYEE_TOKEN", "e")
                ]),
                &prod
            ),
            Ok(Credentials::Tokens { .. })
        ));
        assert!(matches!(
            credentials(env(&[]), &prod),
            Err(CliError::NoCredentials)
        ));
        assert!(matches!(
            credentials(env(&[]), &local),
            Ok(Credentials::Tokens { .. })
        ));
        assert!(matches!(
            credentials(env(&[("TRIPLETEX_CONSUMER_TOKEN", "c")]), &prod),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            credentials(
                env(&[
                    ("TRIPLETEX_SESSION_TOKEN", "s"),
                    ("TRIPLETEX_CONSUMER_TOKEN", "c")
                ]),
                &local
            ),
            Err(CliError::Usage(_))
        ));
        let secret = credentials(env(&[("TRIPLETEX_SESSION_TOKEN", "hunter2")]), &prod);
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
