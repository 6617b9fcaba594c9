//! Session tokens created from the consumer and employee tokens, renewed
//! transparently a margin before they expire.
//!
//! `PUT /token/session/:create?consumerToken=…&employeeToken=…&expirationDate=YYYY-MM-DD`
//! puts both tokens in the query string: that URL is never logged, and its
//! answer (which holds the session token) is never quoted in errors.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use secrecy::SecretString;
use time::{Date, OffsetDateTime, UtcOffset};
use tokio::sync::Mutex;
use tripletex_webhooks_types::{SessionToken, ValueResponse};

use crate::auth::same_secret;
use crate::error::Result;
use crate::transport::{RequestSpec, Transport};

/// Where the client reads the current time (injectable for tests).
pub(crate) type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// How long sessions last and when they are renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SessionSettings {
    /// Days from the renewal point to the requested `expirationDate`.
    pub(crate) validity_days: u16,
    /// Renew this long before the expiry.
    pub(crate) renew_before: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            validity_days: 2,
            // Tripletex expires tokens at midnight Norwegian time, one or two
            // hours before midnight UTC: the margin covers that.
            renew_before: Duration::from_secs(3 * 3600),
        }
    }
}

/// A live session.
struct Session {
    token: SecretString,
    expires_at: OffsetDateTime,
}

/// Creates the session on first use and renews it before it expires; one
/// renewal at a time, the other requests wait for it.
pub(crate) struct SessionManager {
    consumer_token: SecretString,
    employee_token: SecretString,
    settings: SessionSettings,
    clock: Clock,
    current: Mutex<Option<Session>>,
}

impl SessionManager {
    pub(crate) fn new(
        consumer_token: SecretString,
        employee_token: SecretString,
        settings: SessionSettings,
        clock: Clock,
    ) -> Self {
        Self {
            consumer_token,
            employee_token,
            settings,
            clock,
            current: Mutex::new(None),
        }
    }

    /// The current session token, created or renewed first when needed.
    pub(crate) async fn token(&self, transport: &Transport) -> Result<SecretString> {
        let mut current = self.current.lock().await;
        let now = (self.clock)();
        if let Some(session) = current.as_ref().filter(|s| self.is_fresh(s, now)) {
            return Ok(session.token.clone());
        }
        let session = self.create(transport, now).await?;
        let token = session.token.clone();
        *current = Some(session);
        Ok(token)
    }

    /// Drops the session if it is still `token`.
    pub(crate) async fn invalidate(&self, token: &SecretString) {
        let mut current = self.current.lock().await;
        if current
            .as_ref()
            .is_some_and(|session| same_secret(&session.token, token))
        {
            tracing::debug!("session token refused; it will be renewed");
            *current = None;
        }
    }

    fn is_fresh(&self, session: &Session, now: OffsetDateTime) -> bool {
        now + self.settings.renew_before < session.expires_at
    }

    async fn create(&self, transport: &Transport, now: OffsetDateTime) -> Result<Session> {
        let requested = self.expiration_date(now);
        let spec = RequestSpec::new(Method::PUT, ["token", "session", ":create"])
            .secret_query("consumerToken", &self.consumer_token)
            .secret_query("employeeToken", &self.employee_token)
            .query("expirationDate", format_date(requested));
        let response = transport.execute(&spec, None).await?;
        let created = response.json::<ValueResponse<SessionToken>>()?.value;
        let token = created
            .token
            .ok_or_else(|| response.decode_error("the created session has no token"))?;
        let date = created
            .expiration_date
            .as_deref()
            .and_then(parse_date)
            .unwrap_or(requested);
        tracing::debug!(expiration_date = %format_date(date), "session token created");
        Ok(Session {
            token,
            expires_at: date.midnight().assume_utc(),
        })
    }

    /// The date to ask for: `validity_days` after the renewal point, so a new
    /// session always outlives the margin.
    fn expiration_date(&self, now: OffsetDateTime) -> Date {
        let renewal_point = (now + self.settings.renew_before).to_offset(UtcOffset::UTC);
        renewal_point
            .date()
            .saturating_add(time::Duration::days(i64::from(self.settings.validity_days)))
    }
}

impl std::fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionManager")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// `YYYY-MM-DD`.
pub(crate) fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn parse_date(raw: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(raw.get(..10).unwrap_or(raw), format).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn manager(validity_days: u16) -> SessionManager {
        SessionManager::new(
            SecretString::from("c"),
            SecretString::from("e"),
            SessionSettings {
                validity_days,
                renew_before: Duration::from_secs(3600),
            },
            Arc::new(OffsetDateTime::now_utc),
        )
    }

    #[test]
    fn the_expiration_date_outlives_the_margin() {
        let manager = manager(1);
        assert_eq!(
            manager.expiration_date(datetime!(2026-03-01 10:00 UTC)),
            date!(2026 - 03 - 02)
        );
        // 23:30 + 1 h is already tomorrow: ask for the day after.
        assert_eq!(
            manager.expiration_date(datetime!(2026-03-01 23:30 UTC)),
            date!(2026 - 03 - 03)
        );
        assert_eq!(
            manager.expiration_date(datetime!(2026-03-02 00:30 +02:00)),
            date!(2026 - 03 - 02)
        );
    }

    #[test]
    fn freshness_keeps_the_margin() {
        let manager = manager(1);
        let session = Session {
            token: SecretString::from("t"),
            expires_at: datetime!(2026-03-02 00:00 UTC),
        };
        assert!(manager.is_fresh(&session, datetime!(2026-03-01 22:59 UTC)));
        assert!(!manager.is_fresh(&session, datetime!(2026-03-01 23:00 UTC)));
    }

    #[test]
    fn dates_round_trip() {
        let day = date!(2026 - 01 - 09);
        assert_eq!(format_date(day), "2026-01-09");
        assert_eq!(parse_date("2026-01-09"), Some(day));
        assert_eq!(parse_date("2026-01-09T00:00:00"), Some(day));
        assert_eq!(parse_date("soon"), None);
    }
}
