//! What every handler shares: storage, the clock, the rate limiter and the
//! settings requests are checked against.

use std::collections::HashMap;
use std::sync::Arc;

use secrecy::SecretString;

use crate::clock::Clock;
use crate::delivery::DeliveryStatus;
use crate::http::rate_limit::RateLimiter;
use crate::live::Live;
use crate::store::{Company, Outbox, Store};

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    /// Storage.
    pub(crate) store: Arc<dyn Store>,
    /// The outbox (the delivery log and redelivery of the emulator API).
    pub(crate) outbox: Arc<dyn Outbox>,
    /// The server clock.
    pub(crate) clock: Clock,
    /// The rate limiter.
    pub(crate) rate_limiter: Arc<RateLimiter>,
    /// The scheme-less base of `url` fields, e.g. `127.0.0.1:8080/v2`.
    pub(crate) url_base: String,
    /// The consumer token sessions must be created with.
    pub(crate) consumer_token: SecretString,
    /// The companies, by employee-token digest.
    pub(crate) companies: Arc<HashMap<String, Company>>,
    /// The largest accepted request body.
    pub(crate) body_limit: usize,
    /// Whether `/_emulator` (the emulator API and the dashboard) is served.
    pub(crate) emulator_api: bool,
    /// Whether the dashboard signs a browser on loopback in by itself: only
    /// with the built-in local credentials, which are public anyway.
    pub(crate) dashboard_auto_sign_in: bool,
    /// Whether the dispatcher runs (for `GET /ready`).
    pub(crate) delivery: DeliveryStatus,
    /// The live stream (`GET /_emulator/stream`).
    pub(crate) live: Live,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("url_base", &self.url_base)
            .field("companies", &self.companies.len())
            .field("body_limit", &self.body_limit)
            .field("emulator_api", &self.emulator_api)
            .field("dashboard_auto_sign_in", &self.dashboard_auto_sign_in)
            .field("delivery_running", &self.delivery.is_running())
            .finish_non_exhaustive()
    }
}
