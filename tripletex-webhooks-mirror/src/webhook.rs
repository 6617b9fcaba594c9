//! The webhook service: the receiver layer, then the version rule.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;
use tripletex_webhooks_receiver::{TripletexWebhookLayer, Webhook, WebhookConfig};

use crate::change::Source;
use crate::error::{MirrorError, Result};
use crate::mirror::Mirror;

impl Mirror {
    /// The receiver's configuration for the mirror's callbacks: its auth
    /// header and HMAC secret.
    pub fn webhook_config(&self) -> Result<WebhookConfig> {
        let config = self.config();
        let mut builder = WebhookConfig::builder();
        if let Some((name, value)) = &config.auth_header {
            builder = builder.header_auth(name.clone(), value.clone());
        }
        if let Some(secret) = &config.hmac_secret {
            builder = builder.hmac_secret(secret.clone());
        }
        if config.auth_header.is_none() && config.hmac_secret.is_none() {
            builder = builder.allow_unauthenticated();
        }
        builder.build().map_err(MirrorError::Receiver)
    }

    /// The axum service to mount in the app: `POST` on the target URL's path,
    /// behind the receiver layer (authentication, decoding, dedup); each
    /// event is applied with the version rule and answered `200`, or `500`
    /// (so Tripletex retries) when the store fails.
    pub fn webhooks(&self) -> Result<Router> {
        let layer = TripletexWebhookLayer::new(self.webhook_config()?);
        Ok(Router::new()
            .route(&self.config().route, post(receive))
            .layer(layer)
            .with_state(self.clone()))
    }

    /// Applies one received event with the version rule.
    pub async fn apply_webhook(&self, webhook: &Webhook) -> Result<bool> {
        let event = webhook.event();
        let subject = event.event.subject();
        if self.subject_config(subject).is_none() {
            return Ok(false);
        }
        let change = if event.event.is_delete() {
            self.store()
                .apply_delete(subject.as_str(), event.id, Source::Webhook)
                .await?
        } else {
            let body: Value =
                serde_json::from_slice(webhook.raw_body()).map_err(|source| MirrorError::Data {
                    context: format!("the body of a {} webhook", event.event),
                    source,
                })?;
            let value = body.get("value").cloned().unwrap_or(Value::Null);
            self.store()
                .apply_object(subject.as_str(), &value, Source::Webhook)
                .await?
        };
        self.deliver_changes().await?;
        Ok(change.is_some())
    }
}

async fn receive(State(mirror): State<Mirror>, webhook: Webhook) -> StatusCode {
    match mirror.apply_webhook(&webhook).await {
        Ok(_) => StatusCode::OK,
        Err(error) => {
            tracing::warn!(%error, "mirror could not apply a webhook");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}
