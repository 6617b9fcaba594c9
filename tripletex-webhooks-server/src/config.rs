//! Configuration: command-line flags (each also read from an environment
//! variable) and the same settings for tests that start the server in-process.
//!
//! Every default is a named constant, used by the flags, by
//! [`ServerConfig::for_tests`] and by the delivery engine's own defaults, so
//! the three cannot drift apart.

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

use clap::Parser;
use secrecy::{ExposeSecret, SecretString};

use crate::delivery::target_policy::{ProxyUrl, TargetPolicy};
use crate::delivery::{
    DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_DELAYS, DEFAULT_DISABLE_AFTER, DEFAULT_JITTER,
    DEFAULT_KEEP_DELIVERED, DEFAULT_LOG_BODY_LIMIT, DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_MAX_IN_FLIGHT_PER_TARGET, DeliveryConfig, RetrySchedule,
};
use crate::server::StartError;

/// The consumer token accepted when none is configured (local use only).
const DEFAULT_CONSUMER_TOKEN: &str = "local-consumer-token";
/// The employee token accepted when none is configured (local use only).
const DEFAULT_EMPLOYEE_TOKEN: &str = "local-employee-token";
/// The largest accepted request body unless configured: 2 MiB.
const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The duration defaults as flag text, written from the constants: clap
/// needs `&'static str` defaults, and `Duration` has no `Display`.
static DEFAULT_RETRY_SCHEDULE_ARG: LazyLock<String> = LazyLock::new(|| {
    let delays: Vec<String> = DEFAULT_DELAYS.iter().map(|d| duration_arg(*d)).collect();
    delays.join(",")
});
static DEFAULT_ATTEMPT_TIMEOUT_ARG: LazyLock<String> =
    LazyLock::new(|| duration_arg(DEFAULT_ATTEMPT_TIMEOUT));
static DEFAULT_DISABLE_AFTER_ARG: LazyLock<String> =
    LazyLock::new(|| duration_arg(DEFAULT_DISABLE_AFTER));
static DEFAULT_KEEP_DELIVERED_ARG: LazyLock<String> =
    LazyLock::new(|| duration_arg(DEFAULT_KEEP_DELIVERED));

fn duration_arg(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// A self-contained Tripletex API2 webhook provider.
///
/// Without token flags it accepts the consumer token `local-consumer-token`
/// and the employee token `local-employee-token` (for local use only).
#[derive(Clone, Parser)]
#[command(name = "tripletex-webhooks-server", version, about)]
pub struct ServerConfig {
    /// Address to listen on.
    #[arg(long, env = "TRIPLETEX_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Database URL: `sqlite://FILE` (created if missing), `sqlite::memory:`,
    /// or `postgres://USER@HOST/DB` (shared by several server processes).
    #[arg(
        long = "database",
        env = "TRIPLETEX_DATABASE_URL",
        default_value = "sqlite://tripletex-webhooks.db"
    )]
    pub database_url: String,

    /// What a `201` survives on embedded SQLite: `process` (a killed server
    /// loses nothing; a power loss may drop the last commits) or `power`
    /// (the WAL is synced before each answer). PostgreSQL's own settings
    /// (`synchronous_commit`, `fsync`) decide there.
    #[arg(long, env = "TRIPLETEX_DURABILITY", value_enum, default_value_t = Durability::Process)]
    pub durability: Durability,

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
    #[arg(long, env = "TRIPLETEX_BODY_LIMIT", default_value_t = DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,

    /// Delays between delivery attempts, such as `1m,5m,1h` (the default spans about 30 hours).
    #[arg(long, env = "TRIPLETEX_RETRY_SCHEDULE", default_value = DEFAULT_RETRY_SCHEDULE_ARG.as_str(), value_parser = parse_schedule)]
    pub retry_schedule: DurationList,

    /// Random spread of each retry delay, as a fraction (0.1 = ±10%).
    #[arg(long, env = "TRIPLETEX_RETRY_JITTER", default_value_t = DEFAULT_JITTER)]
    pub retry_jitter: f64,

    /// The longest one delivery attempt may take, such as `250ms` or `10s`.
    #[arg(long, env = "TRIPLETEX_ATTEMPT_TIMEOUT", default_value = DEFAULT_ATTEMPT_TIMEOUT_ARG.as_str(), value_parser = parse_duration)]
    pub attempt_timeout: Duration,

    /// Disable a subscription whose deliveries have all failed for this long, such as `2h` or `7d`.
    #[arg(long, env = "TRIPLETEX_DISABLE_AFTER", default_value = DEFAULT_DISABLE_AFTER_ARG.as_str(), value_parser = parse_duration)]
    pub disable_after: Duration,

    /// Refuse callbacks to loopback, private, link-local and metadata addresses.
    #[arg(long, env = "TRIPLETEX_BLOCK_PRIVATE_TARGETS")]
    pub block_private_targets: bool,

    /// Send callbacks through this HTTP(S) proxy, `http://[user:password@]host:port`
    /// (proxy settings in the environment are never used). Refused together
    /// with `--block-private-targets`: the proxy, not the server, would reach the target.
    #[arg(long, env = "TRIPLETEX_CALLBACK_PROXY", value_name = "URL")]
    pub callback_proxy: Option<SecretString>,

    /// Delivery attempts in flight at once, in all.
    #[arg(long, env = "TRIPLETEX_MAX_IN_FLIGHT", default_value_t = DEFAULT_MAX_IN_FLIGHT)]
    pub max_in_flight: usize,

    /// Delivery attempts in flight at once to one target (scheme, host, port).
    #[arg(long, env = "TRIPLETEX_MAX_IN_FLIGHT_PER_TARGET", default_value_t = DEFAULT_MAX_IN_FLIGHT_PER_TARGET)]
    pub max_in_flight_per_target: usize,

    /// Keep finished (delivered, failed or superseded) messages in the delivery log this long
    /// after they finished, on the server clock, such as `12h` or `30d`; pending ones stay.
    #[arg(long, env = "TRIPLETEX_KEEP_DELIVERED", default_value = DEFAULT_KEEP_DELIVERED_ARG.as_str(), value_parser = parse_duration)]
    pub keep_delivered: Duration,

    /// How many bytes of each callback's body the delivery log keeps (the rest is cut, and the
    /// attempt's request says `bodyTruncated`).
    #[arg(long, env = "TRIPLETEX_DELIVERY_LOG_BODY_LIMIT", default_value_t = DEFAULT_LOG_BODY_LIMIT)]
    pub delivery_log_body_limit: usize,
}

/// What a write the API has answered survives, on embedded SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Durability {
    /// A killed process loses nothing; an OS crash or power loss may lose
    /// the last commits (`synchronous=NORMAL`: the WAL is synced at
    /// checkpoints, not at each commit).
    #[default]
    Process,
    /// Nothing answered is lost even to a power loss: each commit syncs the
    /// WAL before the API answers (`synchronous=FULL`).
    Power,
}

/// A comma-separated list of durations, such as a retry schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationList(pub Vec<Duration>);

/// Parses `1m,5m,15m,1h` into delays.
fn parse_schedule(s: &str) -> Result<DurationList, String> {
    s.split(',')
        .map(|part| parse_duration(part.trim()))
        .collect::<Result<_, _>>()
        .map(DurationList)
}

impl ServerConfig {
    /// A configuration for tests: the defaults, except an ephemeral port on
    /// loopback, an in-memory SQLite database and no retry jitter.
    pub fn for_tests() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: "sqlite::memory:".to_owned(),
            durability: Durability::Process,
            consumer_token: SecretString::from(DEFAULT_CONSUMER_TOKEN),
            employee_tokens: vec![SecretString::from(DEFAULT_EMPLOYEE_TOKEN)],
            public_url: None,
            rate_limit: None,
            no_emulator_api: false,
            body_limit: DEFAULT_BODY_LIMIT,
            retry_schedule: DurationList(DEFAULT_DELAYS.to_vec()),
            retry_jitter: 0.0,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            disable_after: DEFAULT_DISABLE_AFTER,
            block_private_targets: false,
            callback_proxy: None,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_in_flight_per_target: DEFAULT_MAX_IN_FLIGHT_PER_TARGET,
            keep_delivered: DEFAULT_KEEP_DELIVERED,
            delivery_log_body_limit: DEFAULT_LOG_BODY_LIMIT,
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
    pub(crate) fn delivery(&self) -> Result<DeliveryConfig, StartError> {
        Ok(DeliveryConfig {
            schedule: RetrySchedule::new(self.retry_schedule.0.clone(), self.retry_jitter),
            attempt_timeout: self.attempt_timeout,
            disable_after: self.disable_after,
            targets: self.target_policy()?,
            max_in_flight: self.max_in_flight.max(1),
            max_in_flight_per_target: self.max_in_flight_per_target.max(1),
            log_body_limit: self.delivery_log_body_limit,
            ..DeliveryConfig::default()
        })
    }

    /// How callbacks reach their targets. A proxy with the private-target
    /// block is refused rather than half-enforced: the proxy resolves and
    /// connects itself, so no check here could cover the address it reaches.
    fn target_policy(&self) -> Result<TargetPolicy, StartError> {
        match (&self.callback_proxy, self.block_private_targets) {
            (Some(_), true) => Err(StartError::ProxyWithPrivateTargetBlock),
            (Some(proxy), false) => ProxyUrl::parse(proxy.expose_secret())
                .map(TargetPolicy::Proxy)
                .map_err(StartError::CallbackProxy),
            (None, true) => Ok(TargetPolicy::PublicOnly),
            (None, false) => Ok(TargetPolicy::Any),
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
        let period = period.trim();
        // `5/s` reads as five a second: a bare unit means one of it.
        let period = if period.starts_with(|c: char| c.is_ascii_alphabetic()) {
            parse_duration(&format!("1{period}"))?
        } else {
            parse_duration(period)?
        };
        Ok(Self { requests, period })
    }
}

impl ServerConfig {
    /// The database URL with any password replaced by `<redacted>`, for
    /// messages and logs.
    pub fn redacted_database_url(&self) -> String {
        crate::redact::database_url(&self.database_url)
    }
}

/// Secrets stay out: the tokens print as `[REDACTED]`, the database URL
/// without its password.
impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Destructured, so that a new field cannot be forgotten here.
        let Self {
            listen,
            database_url: _,
            durability,
            consumer_token,
            employee_tokens,
            public_url,
            rate_limit,
            no_emulator_api,
            body_limit,
            retry_schedule,
            retry_jitter,
            attempt_timeout,
            disable_after,
            block_private_targets,
            callback_proxy,
            max_in_flight,
            max_in_flight_per_target,
            keep_delivered,
            delivery_log_body_limit,
        } = self;
        f.debug_struct("ServerConfig")
            .field("listen", listen)
            .field("database_url", &self.redacted_database_url())
            .field("durability", durability)
            .field("consumer_token", consumer_token)
            .field("employee_tokens", employee_tokens)
            .field("public_url", public_url)
            .field("rate_limit", rate_limit)
            .field("no_emulator_api", no_emulator_api)
            .field("body_limit", body_limit)
            .field("retry_schedule", retry_schedule)
            .field("retry_jitter", retry_jitter)
            .field("attempt_timeout", attempt_timeout)
            .field("disable_after", disable_after)
            .field("block_private_targets", block_private_targets)
            .field("callback_proxy", callback_proxy)
            .field("max_in_flight", max_in_flight)
            .field("max_in_flight_per_target", max_in_flight_per_target)
            .field("keep_delivered", keep_delivered)
            .field("delivery_log_body_limit", delivery_log_body_limit)
            .finish()
    }
}

/// The longest duration a flag takes: a century keeps every timestamp the
/// server computes from one (milliseconds since 1970) far from overflow.
const MAX_DURATION: Duration = Duration::from_secs(3_155_760_000); // 100 years of 365.25 days

/// Parses a duration such as `250ms`, `10s`, `5m`, `1h30m` or `7d`; zero and
/// more than a century are refused.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(s)
        .map_err(|error| format!("{s:?} is not a duration: {error}"))?;
    if duration.is_zero() {
        return Err("a duration must be longer than zero".to_owned());
    }
    if duration > MAX_DURATION {
        return Err(format!("{s:?} is longer than a century"));
    }
    Ok(duration)
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
        for bad in ["100", "x/1m", "0/1m", "10/1lightyear", "10/0s"] {
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

    #[test]
    fn durability_is_process_unless_power_is_asked_for() {
        let parse = |extra: &[&str]| ServerConfig::try_parse_from([&["server"], extra].concat());
        assert_eq!(parse(&[]).unwrap().durability, Durability::Process);
        assert_eq!(
            parse(&["--durability", "power"]).unwrap().durability,
            Durability::Power
        );
        let refused = parse(&["--durability", "fsync"]).err().unwrap().to_string();
        assert!(
            refused.contains("possible values: process, power"),
            "{refused}"
        );
    }

    #[test]
    fn debug_hides_the_database_password() {
        let config = ServerConfig::try_parse_from([
            "server",
            "--database",
            "postgres://user:hunter2@db:5432/tripletex",
        ])
        .unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(
            debug.contains("postgres://user:<redacted>@db:5432/tripletex"),
            "{debug}"
        );
    }

    #[test]
    fn a_callback_proxy_is_used_alone_and_never_shown() {
        let parse = |extra: &[&str]| {
            let mut args = vec!["server", "--callback-proxy"];
            args.extend(extra);
            ServerConfig::try_parse_from(args).unwrap()
        };
        let config = parse(&["http://user:proxy-pw-1@127.0.0.1:3128"]);
        let delivery = config.delivery().unwrap();
        assert!(matches!(delivery.targets, TargetPolicy::Proxy(_)));
        assert!(!format!("{config:?}{delivery:?}").contains("proxy-pw-1"));

        let with_block = parse(&["http://127.0.0.1:3128", "--block-private-targets"]);
        let refused = with_block.delivery().unwrap_err();
        assert!(matches!(refused, StartError::ProxyWithPrivateTargetBlock));
        assert!(
            refused.to_string().contains("cannot be combined"),
            "{refused}"
        );

        let invalid = parse(&["socks5://user:proxy-pw-2@127.0.0.1:1080"]);
        let refused = invalid.delivery().unwrap_err();
        assert!(matches!(refused, StartError::CallbackProxy(_)));
        assert!(!refused.to_string().contains("proxy-pw-2"), "{refused}");
    }

    #[test]
    fn durations_parse_in_the_documented_forms() {
        for (text, expected) in [
            ("250ms", Duration::from_millis(250)),
            ("10s", Duration::from_secs(10)),
            ("5m", Duration::from_secs(300)),
            ("2h", Duration::from_secs(7200)),
            ("7d", Duration::from_secs(7 * 86_400)),
            ("1h30m", Duration::from_secs(5400)),
            ("1h 30m", Duration::from_secs(5400)),
        ] {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
        let unknown = parse_duration("10parsecs").unwrap_err();
        assert!(unknown.contains("unknown time unit"), "{unknown}");
        let missing = parse_duration("10").unwrap_err();
        assert!(missing.contains("time unit needed"), "{missing}");
        assert_eq!(
            parse_duration("0s").unwrap_err(),
            "a duration must be longer than zero"
        );
        assert!(parse_duration("m").is_err(), "a unit alone is no duration");
        for too_long in ["101years", "5000000000000d", "99999999999999999999999s"] {
            assert!(parse_duration(too_long).is_err(), "{too_long}");
        }
        assert_eq!(
            parse_duration("100years"),
            Ok(Duration::from_secs(3_155_760_000))
        );
    }

    #[test]
    fn delays_parse() {
        assert_eq!(
            parse_schedule("1m, 5m,2h").unwrap(),
            DurationList(vec![
                Duration::from_secs(60),
                Duration::from_secs(300),
                Duration::from_secs(7200)
            ])
        );
        assert!(parse_schedule("1m,soon").is_err());
    }

    /// The flags' defaults, `for_tests` and the delivery engine's defaults are
    /// one set of values: `for_tests` differs only where it says it does.
    #[test]
    fn the_three_sources_of_defaults_agree() {
        let flags = ServerConfig::try_parse_from(["server"]).unwrap();
        let tests = ServerConfig::for_tests();
        assert_eq!(
            flags.consumer_token.expose_secret(),
            tests.consumer_token.expose_secret()
        );
        let secrets = |config: &ServerConfig| -> Vec<String> {
            config
                .employee_tokens
                .iter()
                .map(|token| token.expose_secret().to_owned())
                .collect()
        };
        assert_eq!(secrets(&flags), secrets(&tests));
        assert!(flags.uses_default_credentials() && tests.uses_default_credentials());
        assert_eq!(flags.public_url, tests.public_url);
        assert_eq!(flags.rate_limit, tests.rate_limit);
        assert_eq!(flags.no_emulator_api, tests.no_emulator_api);
        assert_eq!(flags.body_limit, tests.body_limit);
        assert_eq!(flags.retry_schedule, tests.retry_schedule);
        assert_eq!(flags.attempt_timeout, tests.attempt_timeout);
        assert_eq!(flags.disable_after, tests.disable_after);
        assert_eq!(flags.block_private_targets, tests.block_private_targets);
        assert!(flags.callback_proxy.is_none() && tests.callback_proxy.is_none());
        assert_eq!(flags.max_in_flight, tests.max_in_flight);
        assert_eq!(
            flags.max_in_flight_per_target,
            tests.max_in_flight_per_target
        );
        assert_eq!(flags.keep_delivered, tests.keep_delivered);
        assert_eq!(flags.delivery_log_body_limit, tests.delivery_log_body_limit);
        // What `for_tests` deliberately changes.
        assert_eq!(flags.listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(tests.listen.port(), 0);
        assert_eq!(flags.database_url, "sqlite://tripletex-webhooks.db");
        assert_eq!(tests.database_url, "sqlite::memory:");
        assert!((flags.retry_jitter - DEFAULT_JITTER).abs() < f64::EPSILON);
        assert!(tests.retry_jitter.abs() < f64::EPSILON);

        let from_flags = flags.delivery().unwrap();
        let engine = DeliveryConfig::default();
        assert_eq!(from_flags.schedule, engine.schedule);
        assert_eq!(from_flags.attempt_timeout, engine.attempt_timeout);
        assert_eq!(from_flags.disable_after, engine.disable_after);
        assert_eq!(from_flags.targets, engine.targets);
        assert_eq!(from_flags.max_in_flight, engine.max_in_flight);
        assert_eq!(
            from_flags.max_in_flight_per_target,
            engine.max_in_flight_per_target
        );
        assert_eq!(from_flags.poll_interval, engine.poll_interval);
        assert_eq!(from_flags.log_body_limit, engine.log_body_limit);
        assert_eq!(flags.keep_delivered, DEFAULT_KEEP_DELIVERED);
    }
}
