//! Starting and stopping the server, in a binary or in-process for tests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tripletex_webhooks_client::emulator::EmulatorClient;

use crate::clock::Clock;
use crate::config::{Durability, ServerConfig};
use crate::delivery::{Dispatcher, DispatcherHandle, retention};
use crate::digest::token_digest;
use crate::domain::object::url_base;
use crate::http::rate_limit::RateLimiter;
use crate::http::router::router;
use crate::http::serve::serve;
use crate::http::state::AppState;
use crate::live::{self, Live};
use crate::store::{Company, Outbox, PgStore, SqliteStore, Store, StoreError};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The committed model data does not decode (a defect of the build).
    #[error("{0}")]
    ModelData(String),
    /// The database could not be opened or migrated.
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    /// The HTTP client for callbacks could not be built.
    #[error("cannot build the callback HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    /// `--callback-proxy` is not a usable proxy URL (not repeated here: it may
    /// hold credentials).
    #[error("invalid --callback-proxy: {0}")]
    CallbackProxy(String),
    /// `--callback-proxy` together with `--block-private-targets`.
    #[error(
        "--callback-proxy cannot be combined with --block-private-targets: the proxy resolves and \
         connects to callback targets itself, out of reach of the server's address check; enforce \
         the target policy in the proxy and drop --block-private-targets, or drop the proxy"
    )]
    ProxyWithPrivateTargetBlock,
    /// The database URL (shown without its password) names an unsupported engine.
    #[error("unsupported database URL {0:?}: use sqlite://FILE, sqlite::memory: or postgres://…")]
    UnsupportedDatabase(String),
}

/// Why [`RunningServer::emulator`] could not make a handle.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorHandleError {
    /// The session could not be created.
    #[error("cannot create a session for the emulator handle: {0}")]
    Session(#[from] StoreError),
    /// The client could not be built.
    #[error("cannot build the emulator handle: {0}")]
    Client(#[from] tripletex_webhooks_client::Error),
}

/// A running server.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use tripletex_webhooks_server::{RunningServer, ServerConfig};
///
/// let server = RunningServer::start(ServerConfig::for_tests()).await?;
/// println!("Tripletex API at {}", server.base_url());
/// let token = server.create_session_token(0).await?;
/// // ... point a client at server.base_url() with `token` ...
/// server.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    state: AppState,
    employee_tokens: Vec<SecretString>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    dispatcher: Option<DispatcherHandle>,
    clock_saver: JoinHandle<()>,
    /// Deletes old finished messages (`--keep-delivered`).
    retention: JoinHandle<()>,
    /// Turns recorded attempts into live stream events.
    publisher: JoinHandle<()>,
}

impl RunningServer {
    /// Opens the database, binds the listener and serves in a background task.
    pub async fn start(config: ServerConfig) -> Result<Self, StartError> {
        crate::domain::model::data::check()
            .map_err(|error| StartError::ModelData(error.to_string()))?;
        let delivery = config.delivery()?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let url_base = url_base(&public_url);
        let (store, outbox) =
            open_store(&config.database_url, config.durability, &url_base).await?;
        let mut companies = HashMap::new();
        for token in &config.employee_tokens {
            let digest = token_digest(token.expose_secret());
            let company = store.ensure_company(&digest).await?;
            companies.insert(digest, company);
        }
        let clock = Clock::with_offset_ms(store.clock_offset().await?);
        let released = outbox.release_all_leases(clock.now_ms()).await?;
        if released > 0 {
            tracing::info!(
                released,
                "messages in flight when the last process stopped are due again"
            );
        }
        let live = Live::new(first_event_id());
        let publisher = live::spawn_publisher(
            &live,
            live::Sources {
                store: Arc::clone(&store),
                outbox: Arc::clone(&outbox),
                url_base: url_base.clone(),
            },
        );
        let dispatcher = Dispatcher::new(
            Arc::clone(&outbox),
            Arc::clone(&store),
            url_base.clone(),
            clock.clone(),
            delivery,
            live.clone(),
        )?
        .spawn();
        let clock_saver = save_clock_offsets(clock.clone(), Arc::clone(&store));
        let retention = retention::spawn(Arc::clone(&outbox), clock.clone(), config.keep_delivered);
        let state = AppState {
            store,
            outbox,
            rate_limiter: Arc::new(RateLimiter::new(config.rate_limit, clock.clone())),
            clock,
            url_base,
            consumer_token: config.consumer_token.clone(),
            companies: Arc::new(companies),
            body_limit: config.body_limit,
            emulator_api: !config.no_emulator_api,
            dashboard_auto_sign_in: config.uses_default_credentials(),
            delivery: dispatcher.status(),
            live,
        };
        let (shutdown, signal) = oneshot::channel::<()>();
        let app = router(state.clone());
        let live = state.live.clone();
        let task = tokio::spawn(serve(listener, app, async move {
            let _ = signal.await;
            // Open streams end, so that their connections can finish.
            live.close();
        }));
        tracing::info!(%addr, "tripletex-webhooks-server listening");
        Ok(Self {
            addr,
            state,
            employee_tokens: config.employee_tokens,
            shutdown: Some(shutdown),
            task: Some(task),
            dispatcher: Some(dispatcher),
            clock_saver,
            retention,
            publisher,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API base URL, e.g. `http://127.0.0.1:41234/v2`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v2", self.addr)
    }

    /// The dashboard's URL, e.g. `http://127.0.0.1:41234/_emulator/ui/`;
    /// `None` with `--no-emulator-api`, which turns it off.
    pub fn dashboard_url(&self) -> Option<String> {
        self.state
            .emulator_api
            .then(|| format!("http://{}{}", self.addr, crate::http::ui::HOME))
    }

    /// The server clock (advance it to run retry schedules quickly).
    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// The consumer token sessions are created with.
    pub fn consumer_token(&self) -> &SecretString {
        &self.state.consumer_token
    }

    /// The employee tokens, one per company.
    pub fn employee_tokens(&self) -> &[SecretString] {
        &self.employee_tokens
    }

    /// Creates a session token for the company of employee token `index`,
    /// valid for a year of server time, without going through HTTP.
    pub async fn create_session_token(&self, index: usize) -> Result<SecretString, StoreError> {
        let employee_token = self
            .employee_tokens
            .get(index)
            .ok_or(StoreError::NotFound {
                what: "employee token",
                id: i64::try_from(index).unwrap_or(-1),
            })?;
        let company: Company = *self
            .state
            .companies
            .get(&token_digest(employee_token.expose_secret()))
            .ok_or(StoreError::NotFound {
                what: "company",
                id: -1,
            })?;
        let expiration_date = self.state.clock.now().date() + time::Duration::days(365);
        let expires_at = time::OffsetDateTime::new_utc(expiration_date, time::Time::MIDNIGHT);
        let expires_at_ms =
            i64::try_from(expires_at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        let token = SecretString::from(format!("tlx-{}", uuid::Uuid::new_v4()));
        self.state
            .store
            .create_session(
                &token_digest(token.expose_secret()),
                company,
                expiration_date,
                expires_at_ms,
            )
            .await?;
        Ok(token)
    }

    /// A typed handle on this server's emulator API, as the company of the
    /// first employee token (a session valid for a year of server time).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    ///
    /// use tripletex_webhooks_client::emulator::DeliveryFilter;
    /// use tripletex_webhooks_client::types::NewSubscription;
    /// use tripletex_webhooks_server::{RunningServer, ServerConfig};
    ///
    /// let server = RunningServer::start(ServerConfig::for_tests()).await?;
    /// let emulator = server.emulator().await?;
    /// // A target that refuses connections: the attempt fails, and is logged.
    /// let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    /// emulator
    ///     .client()
    ///     .subscriptions()
    ///     .create(&NewSubscription::new("product.delete".parse()?, format!("http://{closed}/hook")))
    ///     .await?;
    /// emulator.emit("product.delete", 42, serde_json::Value::Null).await?;
    /// let log = emulator
    ///     .wait_for_deliveries(
    ///         &DeliveryFilter::new().object(42),
    ///         |log| log.iter().any(|d| d.attempts > 0),
    ///         Duration::from_secs(30),
    ///     )
    ///     .await?;
    /// assert!(log[0].attempt_log[0].error.is_some());
    /// assert!(log[0].next_attempt_at_ms.is_some(), "retried later");
    /// server.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn emulator(&self) -> Result<EmulatorClient, EmulatorHandleError> {
        let token = self.create_session_token(0).await?;
        Ok(EmulatorClient::new(self.base_url(), token)?)
    }

    /// Stops accepting requests, finishes those in flight, and waits.
    pub async fn shutdown(mut self) {
        self.stop().await;
    }

    /// Waits until the server stops (after the [`RunningServer::shutdown_trigger`]
    /// fires, or an error), then stops delivery gracefully.
    pub async fn wait(mut self) -> std::io::Result<()> {
        let result = match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other),
            None => Ok(()),
        };
        self.stop_delivery().await;
        self.save_clock_offset().await;
        result
    }

    /// Stops delivery while the API goes on serving: nothing more is
    /// claimed, attempts in flight finish and are recorded, and `GET /ready`
    /// answers 503 from then on (so a load balancer can drain this instance
    /// before it stops). [`RunningServer::shutdown`] does this too.
    pub async fn stop_delivery(&mut self) {
        if let Some(dispatcher) = self.dispatcher.take() {
            dispatcher.shutdown().await;
        }
    }

    /// A handle that shuts the server down when called (for signal handlers).
    pub fn shutdown_trigger(&mut self) -> impl FnOnce() + Send + 'static {
        let sender = self.shutdown.take();
        move || {
            if let Some(sender) = sender {
                let _ = sender.send(());
            }
        }
    }

    async fn stop(&mut self) {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.stop_delivery().await;
        self.save_clock_offset().await;
    }

    /// Saves an advance the background saver may not have reached yet.
    async fn save_clock_offset(&self) {
        let offset = self.state.clock.offset_ms();
        if let Err(error) = self.state.store.save_clock_offset(offset).await {
            tracing::warn!(%error, "saving the emulator clock's offset failed");
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.clock_saver.abort();
        self.retention.abort();
        self.publisher.abort();
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
    }
}

/// The id of this process's first stream event: real time in µs, so that
/// ids never repeat across restarts (a resume from an earlier process's id
/// is then told it lagged rather than replayed wrong events).
fn first_event_id() -> u64 {
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000;
    u64::try_from(now).unwrap_or(1)
}

/// Saves the clock's offset whenever it is advanced, so a restart continues
/// where the clock was (the emulator API's advance also saves before it
/// answers; this covers [`RunningServer::clock`]).
fn save_clock_offsets(clock: Clock, store: Arc<dyn Store>) -> JoinHandle<()> {
    let mut jumps = clock.changed();
    tokio::spawn(async move {
        while jumps.changed().await.is_ok() {
            if let Err(error) = store.save_clock_offset(clock.offset_ms()).await {
                tracing::warn!(%error, "saving the emulator clock's offset failed");
            }
        }
    })
}

async fn open_store(
    database_url: &str,
    durability: Durability,
    url_base: &str,
) -> Result<(Arc<dyn Store>, Arc<dyn Outbox>), StartError> {
    if database_url.starts_with("sqlite:") {
        let store = Arc::new(SqliteStore::connect(database_url, durability, url_base).await?);
        Ok((
            Arc::clone(&store) as Arc<dyn Store>,
            store as Arc<dyn Outbox>,
        ))
    } else if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        let store = Arc::new(PgStore::connect(database_url, url_base).await?);
        Ok((
            Arc::clone(&store) as Arc<dyn Store>,
            store as Arc<dyn Outbox>,
        ))
    } else {
        Err(StartError::UnsupportedDatabase(
            crate::redact::database_url(database_url),
        ))
    }
}
