//! Configuration: command-line flags (each also read from an environment
//! variable) and the same settings for tests that start the server in-process.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use clap::Parser;
use secrecy::{ExposeSecret, SecretString};

/// The consumer token accepted when none is configured (local use only).
pub(crate) const DEFAULT_CONSUMER_TOKEN: &str = "local-consumer-token";
/// The employee token accepted when none is configured (local use only).
pub(crate) const DEFAULT_EMPLOYEE_TOKEN: &str = "local-employee-token";

/// A self-contained Tripletex API2 webhook provider.
#[derive(Debug, Clone, Parser)]
#[command(name = "tripletex-webhooks-server", version, about)]
pub struct ServerConfig {
    /// Address to listen on.
    #[arg(long, env = "TRIPLETEX_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Database URL: `sqlite://FILE` (created if missing) or `sqlite::memory:`.
    #[arg(
        long = "database",
        env = "TRIPLETEX_DATABASE_URL",
        default_value = "sqlite://tripletex-webhooks.db"
    )]
    pub database_url: String,

    /// The consumer token integrations must present when creating a session.
    #[arg(long, env = "TRIPLETEX_CONSUMER_TOKEN", default_value = DEFAULT_CONSUMER_TOKEN, hide_default_value = true)]
    pub consumer_token: SecretString,

    /// An employee token; each one is its own company. Repeatable (comma-separated in the env var).
    #[arg(long = "employee-token", env = "TRIPLETEX_EMPLOYEE_TOKENS", value_delimiter = ',', default_value = DEFAULT_EMPLOYEE_TOKEN, hide_default_value = true)]
    pub employee_tokens: Vec<SecretString>,

    /// Public base URL, used for the scheme-less `url` fields (default: from `--listen`).
    #[arg(long, env = "TRIPLETEX_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Per-token rate limit, `N/PERIOD` such as `100/1m` or `10/30s`.
    #[arg(long, env = "TRIPLETEX_RATE_LIMIT")]
    pub rate_limit: Option<RateLimit>,

    /// Disable the `/_emulator` test API.
    #[arg(long, env = "TRIPLETEX_NO_EMULATOR_API")]
    pub no_emulator_api: bool,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "TRIPLETEX_BODY_LIMIT", default_value_t = 2 * 1024 * 1024)]
    pub body_limit: usize,

    /// Delays between delivery attempts (the default spans about 30 hours).
    #[arg(long, env = "TRIPLETEX_RETRY_SCHEDULE", default_value = "1m,5m,15m,1h,2h,4h,8h,14h", value_parser = parse_schedule)]
    pub retry_schedule: DurationList,

    /// Random spread of each retry delay, as a fraction (0.1 = ±10%).
    #[arg(long, env = "TRIPLETEX_RETRY_JITTER", default_value_t = 0.1)]
    pub retry_jitter: f64,

    /// The longest one delivery attempt may take.
    #[arg(long, env = "TRIPLETEX_ATTEMPT_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub attempt_timeout: Duration,

    /// Disable a subscription whose deliveries have all failed for this long.
    #[arg(long, env = "TRIPLETEX_DISABLE_AFTER", default_value = "7d", value_parser = parse_duration)]
    pub disable_after: Duration,

    /// Refuse callbacks to loopback, private, link-local and metadata addresses.
    #[arg(long, env = "TRIPLETEX_BLOCK_PRIVATE_TARGETS")]
    pub block_private_targets: bool,

    /// Delivery attempts in flight at once, in all.
    #[arg(long, env = "TRIPLETEX_MAX_IN_FLIGHT", default_value_t = 256)]
    pub max_in_flight: usize,

    /// Delivery attempts in flight at once to one target (scheme, host, port).
    #[arg(long, env = "TRIPLETEX_MAX_IN_FLIGHT_PER_TARGET", default_value_t = 32)]
    pub max_in_flight_per_target: usize,
}

/// A comma-separated list of durations, such as a retry schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationList(pub Vec<Duration>);

fn parse_schedule(s: &str) -> Result<DurationList, String> {
    crate::delivery::schedule::parse_delays(s).map(DurationList)
}

impl ServerConfig {
    /// A configuration for tests: an ephemeral port on loopback, an in-memory
    /// database, the default tokens, no rate limit, no retry jitter.
    pub fn for_tests() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: "sqlite::memory:".to_owned(),
            consumer_token: SecretString::from(DEFAULT_CONSUMER_TOKEN),
            employee_tokens: vec![SecretString::from(DEFAULT_EMPLOYEE_TOKEN)],
            public_url: None,
            rate_limit: None,
            no_emulator_api: false,
            body_limit: 2 * 1024 * 1024,
            retry_schedule: DurationList(crate::delivery::schedule::DEFAULT_DELAYS.to_vec()),
            retry_jitter: 0.0,
            attempt_timeout: Duration::from_secs(10),
            disable_after: Duration::from_secs(7 * 86_400),
            block_private_targets: false,
            max_in_flight: 256,
            max_in_flight_per_target: 32,
        }
    }

    /// Whether the tokens are the built-in local ones (`local-consumer-token`
    /// and one employee token `local-employee-token`), which are safe to print.
    pub fn uses_default_credentials(&self) -> bool {
        self.consumer_token.expose_secret() == DEFAULT_CONSUMER_TOKEN
            && matches!(
                self.employee_tokens.as_slice(),
                [only] if only.expose_secret() == DEFAULT_EMPLOYEE_TOKEN
            )
    }

    /// The delivery settings these flags describe.
    pub(crate) fn delivery(&self) -> crate::delivery::DeliveryConfig {
        crate::delivery::DeliveryConfig {
            schedule: crate::delivery::RetrySchedule::new(
                self.retry_schedule.0.clone(),
                self.retry_jitter,
            ),
            attempt_timeout: self.attempt_timeout,
            disable_after: self.disable_after,
            block_private_targets: self.block_private_targets,
            max_in_flight: self.max_in_flight.max(1),
            max_in_flight_per_target: self.max_in_flight_per_target.max(1),
            ..crate::delivery::DeliveryConfig::default()
        }
    }
}

/// A rate limit: `requests` per `period`, counted per token in fixed windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed in one period.
    pub requests: u32,
    /// The length of a period.
    pub period: Duration,
}

impl FromStr for RateLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (requests, period) = s
            .split_once('/')
            .ok_or_else(|| format!("expected N/PERIOD such as 100/1m, got {s:?}"))?;
        let requests: u32 = requests
            .trim()
            .parse()
            .map_err(|_| format!("{requests:?} is not a number of requests"))?;
        if requests == 0 {
            return Err("the number of requests must be at least 1".to_owned());
        }
        let period = parse_duration(period.trim())?;
        Ok(Self { requests, period })
    }
}

/// Parses a duration such as `250ms`, `10s`, `5m`, `2h` or `7d` (a bare unit means 1).
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: u64 = if number.is_empty() {
        1
    } else {
        number
            .parse()
            .map_err(|_| format!("{s:?} is not a duration"))?
    };
    let seconds = match unit {
        "ms" => return Ok(Duration::from_millis(number)),
        "s" | "" => number,
        "m" => number * 60,
        "h" => number * 3600,
        "d" => number * 86_400,
        other => {
            return Err(format!(
                "unknown period unit {other:?}; use ms, s, m, h or d"
            ));
        }
    };
    if seconds == 0 {
        return Err("a duration must be longer than zero".to_owned());
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_parse() {
        assert_eq!(
            "100/1m".parse::<RateLimit>().unwrap(),
            RateLimit {
                requests: 100,
                period: Duration::from_secs(60)
            }
        );
        assert_eq!(
            "5/s".parse::<RateLimit>().unwrap().period,
            Duration::from_secs(1)
        );
        assert_eq!(
            "5/250ms".parse::<RateLimit>().unwrap().period,
            Duration::from_millis(250)
        );
        for bad in ["100", "x/1m", "0/1m", "10/1w", "10/0s"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_and_defaults() {
        let config = ServerConfig::try_parse_from([
            "server",
            "--employee-token",
            "a-1",
            "--employee-token",
            "b-2",
            "--database",
            "sqlite::memory:",
        ])
        .unwrap();
        assert_eq!(config.employee_tokens.len(), 2);
        assert_eq!(config.listen.port(), 8080);
        assert!(!format!("{config:?}").contains("a-1"));
    }
}
