//! The bundled server's emulator API, through the client's
//! [`EmulatorClient`] with the same settings as every other command.
//!
//! Tripletex itself has no such API: a Tripletex host is refused before any
//! request (and before credentials are asked for), and a server that answers
//! 404 for the routes is reported as having none (exit code 5).

use std::time::Duration;

use serde_json::Value;
use tripletex_webhooks_client::emulator::{DeliveryFilter, EmulatorClient, EventStream};
use tripletex_webhooks_client::types::ListResponse;
use tripletex_webhooks_client::types::emulator::{DeliveryRecord, Emitted, EmulatorClock};
use url::Url;

use crate::error::CliError;
use crate::settings::{Settings, is_tripletex};

/// The bundled server's developer message for a route it does not have.
const UNKNOWN_ROUTE: &str = "No such endpoint.";

/// A handle on the emulator API whose errors say when there is none.
#[derive(Debug)]
pub(crate) struct Emulator {
    client: EmulatorClient,
    base_url: Url,
}

impl Emulator {
    /// A handle for these settings; refuses Tripletex's own hosts.
    pub(crate) fn new(settings: &Settings) -> Result<Self, CliError> {
        refuse_tripletex(&settings.base_url)?;
        Ok(Self {
            client: EmulatorClient::from_client(settings.client()?),
            base_url: settings.base_url.clone(),
        })
    }

    /// `POST /_emulator/events`: emits `event` for object `id`.
    pub(crate) async fn emit(
        &self,
        event: &str,
        id: i64,
        value: Value,
    ) -> Result<Emitted, CliError> {
        self.client
            .emit(event, id, value)
            .await
            .map_err(|e| self.error(e))
    }

    /// `GET /_emulator/clock`.
    pub(crate) async fn clock(&self) -> Result<EmulatorClock, CliError> {
        self.client.now().await.map_err(|e| self.error(e))
    }

    /// `POST /_emulator/clock/advance`.
    pub(crate) async fn advance(&self, by: Duration) -> Result<EmulatorClock, CliError> {
        self.client.advance(by).await.map_err(|e| self.error(e))
    }

    /// `GET /_emulator/deliveries`: one page.
    pub(crate) async fn deliveries(
        &self,
        filter: &DeliveryFilter,
    ) -> Result<ListResponse<DeliveryRecord>, CliError> {
        self.client
            .deliveries(filter)
            .await
            .map_err(|e| self.error(e))
    }

    /// `POST /_emulator/deliveries/{id}/redeliver`.
    pub(crate) async fn redeliver(&self, id: i64) -> Result<(), CliError> {
        self.client.redeliver(id).await.map_err(|e| self.error(e))
    }

    /// `GET /_emulator/stream`: the live stream from now on.
    pub(crate) async fn stream(&self) -> Result<EventStream, CliError> {
        self.client.stream().await.map_err(|e| self.error(e))
    }

    /// A 404 of the route itself (not of a delivery) means no emulator API.
    pub(crate) fn error(&self, error: tripletex_webhooks_client::Error) -> CliError {
        let unknown_route = error.is_not_found()
            && error.api_error().is_none_or(|api| {
                [api.message.as_deref(), api.developer_message.as_deref()]
                    .contains(&Some(UNKNOWN_ROUTE))
            });
        if unknown_route {
            let path = error.path().unwrap_or("/_emulator");
            return CliError::NoEmulator(format!(
                "{} has no emulator API ({path} answered 404): is it the bundled server, started \
                 without --no-emulator-api?",
                self.base_url
            ));
        }
        CliError::Api(error)
    }
}

/// Refuses Tripletex's own hosts, which have no emulator API.
pub(crate) fn refuse_tripletex(base_url: &Url) -> Result<(), CliError> {
    if is_tripletex(base_url) {
        return Err(CliError::NoEmulator(format!(
            "{} is Tripletex itself: trigger, deliveries, redeliver and clock work only against \
             the bundled server (--base-url local)",
            base_url.host_str().unwrap_or_default()
        )));
    }
    Ok(())
}
