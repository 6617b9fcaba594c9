//! `/event/subscription`: list, get, create, update, delete, the bulk `/list`
//! variants, re-enabling, and reconciling to a desired set.

use futures::{Stream, StreamExt, TryStreamExt};
use reqwest::Method;
use tripletex_webhooks_types::{ListResponse, NewSubscription, Subscription, SubscriptionUpdate};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::paging::{DEFAULT_PAGE_SIZE, pages};
use crate::reconcile::{Reconcile, ReconcilePlan, ReconcileReport, apply_plan};
use crate::transport::RequestSpec;

const BASE: [&str; 2] = ["event", "subscription"];
const LIST: [&str; 3] = ["event", "subscription", "list"];

/// Webhook subscriptions, from [`Client::subscriptions`].
///
/// Subscriptions belong to the employee token's company. POSTs (create) are
/// not retried unless the [`RetryPolicy`](crate::RetryPolicy) says so; use
/// [`Subscriptions::reconcile`] for a create that is safe to repeat.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use tripletex_webhooks_server::{RunningServer, ServerConfig};
/// # let server = RunningServer::start(ServerConfig::for_tests()).await?;
/// # let client = tripletex_webhooks_client::Client::builder()
/// #     .base_url(server.base_url())
/// #     .session_token(server.create_session_token(0).await?)
/// #     .build()?;
/// use futures::TryStreamExt;
/// use tripletex_webhooks_types::{NewSubscription, SubscriptionStatus, SubscriptionUpdate};
///
/// let subscriptions = client.subscriptions();
/// let created = subscriptions
///     .create(&NewSubscription::new("product.create".parse()?, "https://example.com/hooks")
///         .with_fields("id,version,name"))
///     .await?;
/// let id = created.id.expect("an id");
///
/// // A partial update, locked on the version we read.
/// let update = SubscriptionUpdate { version: created.version, fields: Some("*".into()), ..Default::default() };
/// let updated = subscriptions.update(id, &update).await?;
/// assert_eq!(updated.fields.as_deref(), Some("*"));
///
/// // Every page, as one stream.
/// let all: Vec<_> = subscriptions.list().count(100).stream().try_collect().await?;
/// assert_eq!(all.len(), 1);
/// assert_eq!(all[0].status, Some(SubscriptionStatus::Active));
///
/// subscriptions.delete(id).await?;
/// assert!(subscriptions.get(id).await.unwrap_err().is_not_found());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Subscriptions<'a> {
    client: &'a Client,
}

impl<'a> Subscriptions<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// A page of subscriptions (`GET /event/subscription`), or all of them
    /// as a stream; see [`ListSubscriptions`].
    pub fn list(self) -> ListSubscriptions<'a> {
        ListSubscriptions {
            client: self.client,
            params: ListParams::default(),
        }
    }

    /// Every subscription, walking all pages (`list().stream()`).
    pub fn stream(self) -> impl Stream<Item = Result<Subscription>> + Send + 'static {
        self.list().stream()
    }

    /// One subscription (`GET /event/subscription/{id}`).
    pub async fn get(self, id: i64) -> Result<Subscription> {
        self.client.value(&item(Method::GET, id)).await
    }

    /// Creates a subscription (`POST /event/subscription`).
    pub async fn create(self, new: &NewSubscription) -> Result<Subscription> {
        let spec = RequestSpec::new(Method::POST, BASE).json(new)?;
        self.client.value(&spec).await
    }

    /// Changes the fields of `update` that are set (`PUT /event/subscription/{id}`).
    /// With `version` set, a subscription changed since fails with
    /// [`Error::is_conflict`].
    pub async fn update(self, id: i64, update: &SubscriptionUpdate) -> Result<Subscription> {
        let spec = item(Method::PUT, id).json(update)?;
        self.client.value(&spec).await
    }

    /// Deletes a subscription (`DELETE /event/subscription/{id}`).
    pub async fn delete(self, id: i64) -> Result<()> {
        self.client.send(&item(Method::DELETE, id)).await.map(drop)
    }

    /// Sets a subscription `ACTIVE` again, for example after Tripletex set it
    /// `DISABLED_TOO_MANY_ERRORS` (`PUT` with `status: ACTIVE`).
    pub async fn reenable(self, id: i64) -> Result<Subscription> {
        self.update(id, &SubscriptionUpdate::reenable()).await
    }

    /// Creates several subscriptions in one request (`POST /event/subscription/list`).
    pub async fn create_many(self, news: &[NewSubscription]) -> Result<Vec<Subscription>> {
        if news.is_empty() {
            return Ok(Vec::new());
        }
        let spec = RequestSpec::new(Method::POST, LIST).json(&news)?;
        Ok(self
            .client
            .json::<ListResponse<Subscription>>(&spec)
            .await?
            .values)
    }

    /// Updates several subscriptions in one request (`PUT /event/subscription/list`);
    /// each update needs its `id` and `version`.
    pub async fn update_many(self, updates: &[SubscriptionUpdate]) -> Result<Vec<Subscription>> {
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(index) = updates
            .iter()
            .position(|update| update.id.is_none() || update.version.is_none())
        {
            return Err(Error::invalid_input(format!(
                "update {index} lacks its id or version, which a list update requires"
            )));
        }
        let spec = RequestSpec::new(Method::PUT, LIST).json(&updates)?;
        Ok(self
            .client
            .json::<ListResponse<Subscription>>(&spec)
            .await?
            .values)
    }

    /// Deletes several subscriptions in one request
    /// (`DELETE /event/subscription/list?ids=1,2,3`).
    pub async fn delete_many(self, ids: &[i64]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let spec = RequestSpec::new(Method::DELETE, LIST).query("ids", ids);
        self.client.send(&spec).await.map(drop)
    }

    /// Makes the subscriptions match `desired`: see [`Reconcile`].
    pub fn reconcile(self, desired: impl IntoIterator<Item = NewSubscription>) -> Reconcile<'a> {
        Reconcile::new(self.client, desired.into_iter().collect())
    }

    /// Carries out a plan from [`Reconcile::dry_run`] as it is, for example
    /// after someone approved it.
    pub async fn apply_plan(self, plan: ReconcilePlan) -> Result<ReconcileReport> {
        apply_plan(self.client, plan).await
    }
}

fn item(method: Method, id: i64) -> RequestSpec {
    let id = id.to_string();
    RequestSpec::new(method, ["event", "subscription", id.as_str()])
}

/// The query of `GET /event/subscription`.
#[derive(Debug, Clone, Default)]
struct ListParams {
    from: i64,
    count: Option<i64>,
    sorting: Option<String>,
    fields: Option<String>,
}

impl ListParams {
    fn spec(&self, from: i64) -> RequestSpec {
        RequestSpec::new(Method::GET, BASE)
            .query("from", from)
            .query_opt("count", self.count)
            .query_opt("sorting", self.sorting.as_deref())
            .query_opt("fields", self.fields.as_deref())
    }
}

/// `GET /event/subscription`, from [`Subscriptions::list`]: set the query,
/// then [`send`](Self::send) for one page or [`stream`](Self::stream) for all.
///
/// ```
/// # async fn demo(client: tripletex_webhooks_client::Client) -> tripletex_webhooks_client::Result<()> {
/// let page = client.subscriptions().list().from(0).count(50).sorting("event,-id").send().await?;
/// println!("{} of about {}", page.values.len(), page.full_result_size);
/// let _everything = client.subscriptions().list().fields("id,event,status").all().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ListSubscriptions<'a> {
    client: &'a Client,
    params: ListParams,
}

impl ListSubscriptions<'_> {
    /// The index of the first subscription (default 0).
    pub fn from(mut self, from: i64) -> Self {
        self.params.from = from;
        self
    }

    /// The page size (Tripletex's default is 1000).
    pub fn count(mut self, count: i64) -> Self {
        self.params.count = Some(count);
        self
    }

    /// The order, such as `event,-id` (`-` for descending).
    pub fn sorting(mut self, sorting: impl Into<String>) -> Self {
        self.params.sorting = Some(sorting.into());
        self
    }

    /// A `fields` filter; `*,changes` adds the change log.
    pub fn fields(mut self, fields: impl Into<String>) -> Self {
        self.params.fields = Some(fields.into());
        self
    }

    /// One page.
    pub async fn send(self) -> Result<ListResponse<Subscription>> {
        self.client.json(&self.params.spec(self.params.from)).await
    }

    /// Every subscription from `from` on, fetching page after page of
    /// `count` (default 1000). The stream ends after the first error.
    pub fn stream(self) -> impl Stream<Item = Result<Subscription>> + Send + 'static {
        let client = self.client.clone();
        let params = self.params;
        let count = params.count.unwrap_or(DEFAULT_PAGE_SIZE);
        let params = ListParams {
            count: Some(count),
            ..params
        };
        let start = params.from;
        pages(start, count, move |from| {
            let client = client.clone();
            let spec = params.spec(from);
            async move { client.json::<ListResponse<Subscription>>(&spec).await }
        })
        .map_ok(|page| futures::stream::iter(page.values.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    /// Every subscription from `from` on, collected.
    pub async fn all(self) -> Result<Vec<Subscription>> {
        self.stream().try_collect().await
    }
}
