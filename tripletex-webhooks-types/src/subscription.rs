//! Subscriptions (`/event/subscription`): what is read back, and what is written.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::change::Change;
use crate::event_type::EventType;

/// A subscription as Tripletex returns it (`Subscription` in the spec).
///
/// Every field is optional because a `fields` filter on the request may drop
/// any of them. The write-only `authHeaderValue` and `hmacSharedSecret` are
/// never returned and so are not here; see [`NewSubscription`] and
/// [`SubscriptionUpdate`].
///
/// ```
/// use tripletex_webhooks_types::{Subscription, SubscriptionStatus, ValueResponse};
///
/// let body = r#"{"value":{"id":48620,"version":0,"url":"api.tripletex.io/v2/event/subscription/48620",
///   "event":"invoice.charged","targetUrl":"http://example.com","fields":null,
///   "status":"ACTIVE","authHeaderName":null}}"#;
/// let subscription = serde_json::from_str::<ValueResponse<Subscription>>(body)?.value;
/// assert_eq!(subscription.status, Some(SubscriptionStatus::Active));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// The subscription's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// How many times it has been modified with PUT (optimistic-lock revision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The change log; only present when asked for with `fields=*,changes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
    /// Its own scheme-less URL, e.g. `tripletex.no/v2/event/subscription/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The event it delivers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<EventType>,
    /// Where callbacks are POSTed, including any credentials or tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_url: Option<String>,
    /// The `fields` filter applied to the delivered object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<String>,
    /// Whether it delivers, or why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SubscriptionStatus>,
    /// The name of the custom authentication header sent with callbacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_header_name: Option<String>,
    /// Keys this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The status of a subscription.
///
/// `ACTIVE` and `DISABLED` are set by clients; the other `DISABLED_*` values
/// are set by Tripletex. Values added later are kept in [`SubscriptionStatus::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SubscriptionStatus {
    /// Callbacks are delivered.
    Active,
    /// Disabled by the client.
    Disabled,
    /// Disabled by Tripletex after deliveries failed constantly for about a week.
    DisabledTooManyErrors,
    /// Disabled by Tripletex for exceeding a rate limit.
    DisabledRateLimitExceeded,
    /// Disabled by Tripletex for misuse.
    DisabledMisuse,
    /// A status this crate does not know, kept verbatim.
    Unknown(String),
}

crate::wire_enum::string_enum!(SubscriptionStatus {
    Active => "ACTIVE",
    Disabled => "DISABLED",
    DisabledTooManyErrors => "DISABLED_TOO_MANY_ERRORS",
    DisabledRateLimitExceeded => "DISABLED_RATE_LIMIT_EXCEEDED",
    DisabledMisuse => "DISABLED_MISUSE",
});

impl SubscriptionStatus {
    /// Whether callbacks are delivered in this status.
    pub fn is_active(&self) -> bool {
        *self == Self::Active
    }

    /// Whether Tripletex (not the client) disabled the subscription.
    pub fn is_disabled_by_system(&self) -> bool {
        matches!(
            self,
            Self::DisabledTooManyErrors | Self::DisabledRateLimitExceeded | Self::DisabledMisuse
        )
    }
}

/// The body that creates a subscription (`POST /event/subscription`, or one
/// element of `POST /event/subscription/list`).
///
/// Secrets serialize in clear on the wire (Tripletex must receive them) but
/// never appear in `Debug` output.
///
/// ```
/// use tripletex_webhooks_types::NewSubscription;
///
/// let new = NewSubscription::new("product.create".parse()?, "https://example.com/hooks")
///     .with_fields("id,version,name")
///     .with_auth_header("Authorization", "Bearer abc123")
///     .with_hmac_secret("a-shared-secret");
/// let json = serde_json::to_value(&new).unwrap();
/// assert_eq!(json["authHeaderValue"], "Bearer abc123");
/// assert!(!format!("{new:?}").contains("abc123"));
/// # Ok::<(), tripletex_webhooks_types::ParseEventTypeError>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSubscription {
    /// The event to deliver.
    pub event: EventType,
    /// Where to POST callbacks: absolute http(s), optionally with
    /// `user:password@` (sent as Basic auth) or a token in the query.
    pub target_url: String,
    /// A `fields` filter for the delivered object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<String>,
    /// The initial status; Tripletex starts new subscriptions `ACTIVE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SubscriptionStatus>,
    /// The name of a header sent with every callback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_header_name: Option<String>,
    /// The value of that header (write-only).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::secret_serde::serialize"
    )]
    pub auth_header_value: Option<SecretString>,
    /// The HMAC signing secret, 10 to 100 characters (write-only).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::secret_serde::serialize"
    )]
    pub hmac_shared_secret: Option<SecretString>,
}

impl NewSubscription {
    /// A subscription of `event` delivering to `target_url`.
    pub fn new(event: EventType, target_url: impl Into<String>) -> Self {
        Self {
            event,
            target_url: target_url.into(),
            fields: None,
            status: None,
            auth_header_name: None,
            auth_header_value: None,
            hmac_shared_secret: None,
        }
    }

    /// Sets the `fields` filter.
    #[must_use]
    pub fn with_fields(mut self, fields: impl Into<String>) -> Self {
        self.fields = Some(fields.into());
        self
    }

    /// Sets the custom authentication header sent with every callback.
    #[must_use]
    pub fn with_auth_header(
        mut self,
        name: impl Into<String>,
        value: impl Into<SecretString>,
    ) -> Self {
        self.auth_header_name = Some(name.into());
        self.auth_header_value = Some(value.into());
        self
    }

    /// Sets the HMAC signing secret.
    #[must_use]
    pub fn with_hmac_secret(mut self, secret: impl Into<SecretString>) -> Self {
        self.hmac_shared_secret = Some(secret.into());
        self
    }
}

/// A partial update of a subscription (`PUT /event/subscription/{id}`, or one
/// element of `PUT /event/subscription/list`, where `id` and `version` are required).
///
/// Only the fields that are `Some` are changed. Set `version` to the version
/// you read to make the update fail with a conflict if someone changed it since.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionUpdate {
    /// The subscription to update (required in list updates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The version the change is based on, for optimistic locking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// A new event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<EventType>,
    /// A new target URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_url: Option<String>,
    /// A new `fields` filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<String>,
    /// A new status: clients may set `ACTIVE` or `DISABLED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SubscriptionStatus>,
    /// A new custom authentication header name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_header_name: Option<String>,
    /// A new custom authentication header value (write-only).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::secret_serde::serialize"
    )]
    pub auth_header_value: Option<SecretString>,
    /// A new HMAC signing secret (write-only).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::secret_serde::serialize"
    )]
    pub hmac_shared_secret: Option<SecretString>,
}

impl SubscriptionUpdate {
    /// An update that re-enables a subscription (`status: ACTIVE`), for example
    /// one Tripletex set to `DISABLED_TOO_MANY_ERRORS`.
    pub fn reenable() -> Self {
        Self {
            status: Some(SubscriptionStatus::Active),
            ..Self::default()
        }
    }

    /// Whether the update changes nothing.
    pub fn is_empty(&self) -> bool {
        self.event.is_none()
            && self.target_url.is_none()
            && self.fields.is_none()
            && self.status.is_none()
            && self.auth_header_name.is_none()
            && self.auth_header_value.is_none()
            && self.hmac_shared_secret.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recorded_create_response_round_trips_without_nulls() {
        let body = json!({"id": 48620, "version": 0, "url": "api.tripletex.io/v2/event/subscription/48620",
            "event": "invoice.charged", "targetUrl": "http://example.com", "fields": null,
            "status": "ACTIVE", "authHeaderName": null});
        let subscription: Subscription = serde_json::from_value(body).unwrap();
        assert_eq!(subscription.id, Some(48_620));
        assert_eq!(subscription.status, Some(SubscriptionStatus::Active));
        // `null` and absent mean the same; we omit them so the output validates
        // against the spec, which declares no field nullable.
        assert_eq!(
            serde_json::to_value(&subscription).unwrap(),
            json!({"id": 48620, "version": 0, "url": "api.tripletex.io/v2/event/subscription/48620",
                   "event": "invoice.charged", "targetUrl": "http://example.com", "status": "ACTIVE"})
        );
    }

    #[test]
    fn guide_listing_with_unknown_status_and_key() {
        let body = json!({"id": 1, "version": 0, "url": "https://tripletex.no/v2/event/subscription/1",
            "event": "product.create", "targetUrl": "http://webhook.target.io/foo",
            "fields": "*,currency(*)", "status": "PAUSED_FOR_MAINTENANCE", "lastDeliveryAt": "x"});
        let subscription: Subscription = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(
            subscription.status,
            Some(SubscriptionStatus::Unknown("PAUSED_FOR_MAINTENANCE".into()))
        );
        assert_eq!(serde_json::to_value(&subscription).unwrap(), body);
    }

    #[test]
    fn every_status_round_trips() {
        for status in [
            "ACTIVE",
            "DISABLED",
            "DISABLED_TOO_MANY_ERRORS",
            "DISABLED_RATE_LIMIT_EXCEEDED",
            "DISABLED_MISUSE",
        ] {
            let parsed: SubscriptionStatus = serde_json::from_value(json!(status)).unwrap();
            assert!(!parsed.is_unknown(), "{status}");
            assert_eq!(serde_json::to_value(&parsed).unwrap(), json!(status));
        }
        assert!(SubscriptionStatus::DisabledTooManyErrors.is_disabled_by_system());
        assert!(!SubscriptionStatus::Disabled.is_disabled_by_system());
    }

    #[test]
    fn secrets_serialize_but_never_debug() {
        let new = NewSubscription::new("product.create".parse().unwrap(), "https://example.com")
            .with_auth_header("Authorization", "Bearer topsecret")
            .with_hmac_secret("hmac-topsecret");
        let json = serde_json::to_value(&new).unwrap();
        assert_eq!(json["authHeaderValue"], "Bearer topsecret");
        assert_eq!(json["hmacSharedSecret"], "hmac-topsecret");
        let debug = format!("{new:?}");
        assert!(!debug.contains("topsecret"), "{debug}");

        let parsed: NewSubscription = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), json);
    }

    #[test]
    fn guide_subscribe_body_decodes() {
        let body = json!({"event": "product.create", "targetUrl": "https://your.receiver",
            "fields": "id,name", "authHeaderName": "Authorization", "authHeaderValue": "Bearer abc123"});
        let new: NewSubscription = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(new.event.to_string(), "product.create");
        assert_eq!(serde_json::to_value(&new).unwrap(), body);
    }

    #[test]
    fn update_is_partial() {
        let update = SubscriptionUpdate::reenable();
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            json!({"status": "ACTIVE"})
        );
        assert!(!update.is_empty());
        let update = SubscriptionUpdate {
            version: Some(3),
            hmac_shared_secret: Some("rotated-secret".into()),
            ..SubscriptionUpdate::default()
        };
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            json!({"version": 3, "hmacSharedSecret": "rotated-secret"})
        );
        assert!(!format!("{update:?}").contains("rotated"));
        assert!(SubscriptionUpdate::default().is_empty());
    }
}
