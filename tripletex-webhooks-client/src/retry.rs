//! When and how long to wait before trying a request again.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use reqwest::{Method, StatusCode};

/// Which failed requests are tried again, how often, and after how long.
///
/// GET, PUT and DELETE are retried on 429, 502, 503 and 504 answers and on
/// connection errors; POST (which creates) only after
/// [`RetryPolicy::retry_post`]. Waits grow exponentially from
/// [`RetryPolicy::initial_backoff`] up to [`RetryPolicy::max_backoff`], with
/// jitter. A 429 that carries `X-Rate-Limit-Reset` waits exactly that many
/// seconds instead, unless that is longer than
/// [`RetryPolicy::max_rate_limit_wait`], in which case the error is returned
/// at once; Tripletex omits the header on some 429s, and then the backoff applies.
///
/// ```
/// use std::time::Duration;
/// use tripletex_webhooks_client::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .max_attempts(5)
///     .initial_backoff(Duration::from_millis(200))
///     .retry_post(true);
/// assert_eq!(policy.attempts(), 5);
/// assert_eq!(RetryPolicy::none().attempts(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_rate_limit_wait: Duration,
    retry_post: bool,
    jitter: bool,
}

impl Default for RetryPolicy {
    /// Four attempts, backoff from 500 ms to 30 s with jitter, rate-limit
    /// waits up to 60 s, POST not retried.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_rate_limit_wait: Duration::from_secs(60),
            retry_post: false,
            jitter: true,
        }
    }
}

/// Why an attempt failed, as far as retrying cares.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Failure {
    /// An answer with this status and, maybe, `X-Rate-Limit-Reset`.
    Status(StatusCode, Option<Duration>),
    /// No connection could be made.
    Connect,
    /// Anything else: never retried.
    Other,
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Attempts in all, the first included (at least 1).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The wait before the first retry; each further retry doubles it.
    #[must_use]
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The longest backoff between two attempts.
    #[must_use]
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The longest wait for a rate-limit period to reset (`X-Rate-Limit-Reset`);
    /// a longer one returns the rate-limited error at once.
    #[must_use]
    pub fn max_rate_limit_wait(mut self, wait: Duration) -> Self {
        self.max_rate_limit_wait = wait;
        self
    }

    /// Whether POST requests are retried too. Off by default: a POST whose
    /// answer was lost may have created its subscription, and a retry would
    /// create it twice.
    #[must_use]
    pub fn retry_post(mut self, retry: bool) -> Self {
        self.retry_post = retry;
        self
    }

    /// Whether backoffs are randomised (between half and all of the delay).
    #[must_use]
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// Attempts in all, the first included.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Whether requests with this method may be retried.
    pub fn retries(&self, method: &Method) -> bool {
        *method != Method::POST || self.retry_post
    }

    /// How long to wait before attempt `attempt + 1` after attempt `attempt`
    /// (1-based) failed, or `None` to give up.
    pub(crate) fn delay(
        &self,
        method: &Method,
        attempt: u32,
        failure: Failure,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts || !self.retries(method) {
            return None;
        }
        match failure {
            Failure::Status(StatusCode::TOO_MANY_REQUESTS, Some(reset)) => {
                (reset <= self.max_rate_limit_wait).then_some(reset)
            }
            Failure::Status(status, _) if is_retryable_status(status) => {
                Some(self.backoff(attempt))
            }
            Failure::Connect => Some(self.backoff(attempt)),
            Failure::Status(..) | Failure::Other => None,
        }
    }

    /// The backoff after failed attempt `attempt` (1-based).
    fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let delay = self
            .initial_backoff
            .saturating_mul(1 << exponent)
            .min(self.max_backoff);
        if self.jitter {
            let half = delay / 2;
            half + half.mul_f64(random_fraction())
        } else {
            delay
        }
    }
}

/// 429, 502, 503 and 504.
fn is_retryable_status(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// A random number in `[0, 1)`, from the standard library's randomly keyed hasher.
fn random_fraction() -> f64 {
    let bits = RandomState::new().build_hasher().finish() >> 11;
    #[allow(clippy::cast_precision_loss)]
    let fraction = bits as f64 / (1u64 << 53) as f64;
    fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESET: Option<Duration> = Some(Duration::from_secs(3));

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(350))
            .jitter(false)
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = policy().max_attempts(10);
        let delays: Vec<_> = (1..=4)
            .map(|attempt| policy.delay(&Method::GET, attempt, Failure::Connect))
            .collect();
        let ms = |n| Some(Duration::from_millis(n));
        assert_eq!(delays, [ms(100), ms(200), ms(350), ms(350)]);
    }

    #[test]
    fn jitter_stays_between_half_and_all() {
        let policy = policy().jitter(true);
        for _ in 0..100 {
            let delay = policy.backoff(2);
            assert!(
                (Duration::from_millis(100)..=Duration::from_millis(200)).contains(&delay),
                "{delay:?}"
            );
        }
    }

    #[test]
    fn statuses_methods_and_attempts() {
        let policy = policy();
        let status =
            |code: u16| Failure::Status(StatusCode::from_u16(code).unwrap_or_default(), None);
        for code in [429, 502, 503, 504] {
            assert!(
                policy.delay(&Method::PUT, 1, status(code)).is_some(),
                "{code}"
            );
        }
        for code in [400, 401, 404, 409, 422, 500] {
            assert!(
                policy.delay(&Method::GET, 1, status(code)).is_none(),
                "{code}"
            );
        }
        assert!(policy.delay(&Method::POST, 1, status(503)).is_none());
        assert!(
            policy
                .clone()
                .retry_post(true)
                .delay(&Method::POST, 1, status(503))
                .is_some()
        );
        assert!(policy.delay(&Method::GET, 4, status(503)).is_none());
        assert!(policy.delay(&Method::GET, 1, Failure::Other).is_none());
        assert!(
            RetryPolicy::none()
                .delay(&Method::GET, 1, Failure::Connect)
                .is_none()
        );
        assert_eq!(RetryPolicy::default().max_attempts(0).attempts(), 1);
    }

    #[test]
    fn rate_limit_reset_is_honoured_up_to_the_cap() {
        let policy = policy();
        let limited = |reset| Failure::Status(StatusCode::TOO_MANY_REQUESTS, reset);
        assert_eq!(policy.delay(&Method::GET, 1, limited(RESET)), RESET);
        assert_eq!(
            policy.delay(&Method::GET, 1, limited(None)),
            Some(Duration::from_millis(100))
        );
        let impatient = policy.max_rate_limit_wait(Duration::from_secs(1));
        assert_eq!(impatient.delay(&Method::GET, 1, limited(RESET)), None);
    }
}
