//! `Client`: one handle per resource, and the authenticated send.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tripletex_webhooks_types::{LoggedInUserInfo, ValueResponse};
use url::Url;

use crate::auth::Auth;
use crate::builder::ClientBuilder;
use crate::error::Result;
use crate::resources::{Events, Objects, Subscriptions};
use crate::sync::ObjectSync;
use crate::transport::{Credentials, RawResponse, RequestSpec, Transport};

/// A Tripletex API2 client, organised by resource: [`Client::events`],
/// [`Client::subscriptions`], [`Client::objects`], [`Client::sync`].
///
/// Cheap to clone: clones share the connection pool and the session token.
/// Build one with [`Client::builder`].
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    auth: Auth,
    company_id: i64,
}

impl Client {
    /// A [`ClientBuilder`] (production base URL, no credentials yet).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    pub(crate) fn from_parts(transport: Transport, auth: Auth, company_id: i64) -> Self {
        Self {
            inner: Arc::new(Inner {
                transport,
                auth,
                company_id,
            }),
        }
    }

    /// The event catalogue: `GET /event` and `GET /event/{eventType}`.
    pub fn events(&self) -> Events<'_> {
        Events::new(self)
    }

    /// Webhook subscriptions: `/event/subscription` and its bulk `/list` variants.
    pub fn subscriptions(&self) -> Subscriptions<'_> {
        Subscriptions::new(self)
    }

    /// The objects under `/v2/{path}` (such as `product` or
    /// `ledger/account`): one object by id, typed or raw, with `fields`.
    pub fn objects(&self, path: &str) -> Objects<'_> {
        Objects::new(self, path)
    }

    /// A paged sync of the objects under `GET /v2/{path}` (such as `product`
    /// or `ledger/account`; see [`crate::sync::object_path`]), skipping pages
    /// that did not change since a previous run.
    pub fn sync<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
    ) -> ObjectSync<T> {
        ObjectSync::new(self.clone(), path)
    }

    /// Who the session token belongs to: `GET /token/session/>whoAmI`.
    /// A cheap way to check the credentials.
    pub async fn who_am_i(&self) -> Result<LoggedInUserInfo> {
        self.value(&RequestSpec::new(
            Method::GET,
            ["token", "session", ">whoAmI"],
        ))
        .await
    }

    /// The API base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.transport.base_url
    }

    /// The company id sent as the Basic username (0: the token owner's).
    pub fn company_id(&self) -> i64 {
        self.inner.company_id
    }

    /// Sends with the session token; a managed session that Tripletex refuses
    /// (401) is renewed once and the request sent again.
    pub(crate) async fn send(&self, spec: &RequestSpec) -> Result<RawResponse> {
        let token = self.inner.auth.token(&self.inner.transport).await?;
        let result = self.send_with(spec, &token).await;
        match result {
            Err(error)
                if error.status() == Some(StatusCode::UNAUTHORIZED) && self.inner.auth.renews() =>
            {
                self.inner.auth.invalidate(&token).await;
                let token = self.inner.auth.token(&self.inner.transport).await?;
                self.send_with(spec, &token).await
            }
            other => other,
        }
    }

    async fn send_with(
        &self,
        spec: &RequestSpec,
        token: &secrecy::SecretString,
    ) -> Result<RawResponse> {
        let credentials = Credentials {
            company_id: self.inner.company_id,
            token,
        };
        self.inner.transport.execute(spec, Some(credentials)).await
    }

    /// Opens a streaming answer with the session token (renewed once, as
    /// [`Client::send`] does, when refused).
    pub(crate) async fn open(&self, spec: &RequestSpec) -> Result<reqwest::Response> {
        let token = self.inner.auth.token(&self.inner.transport).await?;
        let credentials = Credentials {
            company_id: self.inner.company_id,
            token: &token,
        };
        let result = self.inner.transport.open(spec, Some(credentials)).await;
        match result {
            Err(error)
                if error.status() == Some(StatusCode::UNAUTHORIZED) && self.inner.auth.renews() =>
            {
                self.inner.auth.invalidate(&token).await;
                let token = self.inner.auth.token(&self.inner.transport).await?;
                let credentials = Credentials {
                    company_id: self.inner.company_id,
                    token: &token,
                };
                self.inner.transport.open(spec, Some(credentials)).await
            }
            other => other,
        }
    }

    /// Sends and decodes the `value` of a `{"value": …}` answer.
    pub(crate) async fn value<T: DeserializeOwned>(&self, spec: &RequestSpec) -> Result<T> {
        let response = self.send(spec).await?;
        Ok(response.json::<ValueResponse<T>>()?.value)
    }

    /// Sends and decodes the whole answer.
    pub(crate) async fn json<T: DeserializeOwned>(&self, spec: &RequestSpec) -> Result<T> {
        self.send(spec).await?.json()
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.transport.base_url.as_str())
            .field("company_id", &self.inner.company_id)
            .field("auth", &self.inner.auth)
            .finish_non_exhaustive()
    }
}
