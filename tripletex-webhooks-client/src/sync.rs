//! Syncing the objects that events name (`GET /v2/product`, ...), page by
//! page, skipping pages that did not change since the last run.
//!
//! The webhooks guide asks integrations to "sync up all data from e.g.
//! `GET /v2/product`" after subscribing, to check object versions, and to
//! keep a nightly sync. [`ObjectSync`] walks such a list with `from`/`count`
//! and a `fields` filter, and uses Tripletex's checksum protocol: with
//! `If-None-Match` the answer's `versionDigest` is a checksum, and sending it
//! back answers `304 Not Modified` while nothing changed. Keep the
//! [`SyncState`] of a run (it serializes) and resume the next run from it:
//! unchanged pages then cost one cheap request each and carry no values.
//!
//! Tripletex calls the checksum experimental and may compute it over more
//! than the requested page, so a change anywhere can refetch every page; it
//! also ignores changes to expanded references. A sync never reports
//! deletions: those come as `*.delete` events. Run a full sync (no state)
//! now and then.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use reqwest::header::ETAG;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tripletex_webhooks_types::{ListResponse, Subject};

use crate::client::Client;
use crate::error::Result;
use crate::paging::next_from;
use crate::transport::{RawResponse, RequestSpec};

/// The default page size of a sync.
pub const DEFAULT_SYNC_PAGE_SIZE: i64 = 1000;

/// Sent as `If-None-Match` when no checksum is known yet: any non-empty
/// value asks Tripletex to make `versionDigest` a checksum.
const CHECKSUM_PROBE: &str = "0";

/// The API path of the objects a subject's events are about: `product`,
/// `ledger/account` for `account`, `ledger/voucher` for `voucher`, ...
/// `None` for subjects without a list endpoint here.
///
/// ```
/// use tripletex_webhooks_client::sync::object_path;
/// use tripletex_webhooks_types::Subject;
///
/// assert_eq!(object_path(&Subject::Product), Some("product"));
/// assert_eq!(object_path(&Subject::Account), Some("ledger/account"));
/// assert_eq!(object_path(&Subject::Notification), None);
/// ```
pub fn object_path(subject: &Subject) -> Option<&'static str> {
    Some(match subject {
        Subject::Product => "product",
        Subject::Order => "order",
        Subject::Customer => "customer",
        Subject::Supplier => "supplier",
        Subject::Employee => "employee",
        Subject::Contact => "contact",
        Subject::Project => "project",
        Subject::Account => "ledger/account",
        Subject::Voucher => "ledger/voucher",
        Subject::Invoice => "invoice",
        _ => return None,
    })
}

/// A sync of `GET /v2/{path}`, from [`Client::sync`].
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
/// # let token = server.create_session_token(0).await?;
/// # reqwest::Client::new()
/// #     .post(format!("{}/product", server.base_url()))
/// #     .basic_auth("0", Some(secrecy::ExposeSecret::expose_secret(&token)))
/// #     .json(&serde_json::json!({"name": "Espresso"}))
/// #     .send().await?.error_for_status()?;
/// use tripletex_webhooks_types::models::Product;
///
/// let first = client.sync::<Product>("product").fields("id,version,name").collect().await?;
/// assert_eq!(first.objects[0].name.as_deref(), Some("Espresso"));
/// for product in &first.objects {
///     println!("{:?} v{:?}: {:?}", product.id, product.version, product.name);
/// }
///
/// // Later: resume from the saved state; unchanged pages come back empty.
/// let next = client.sync::<Product>("product").fields("id,version,name")
///     .resume(first.state).collect().await?;
/// assert!(next.objects.is_empty());
/// assert_eq!(next.unchanged_pages, 1);
/// # Ok(()) }
/// ```
#[must_use]
pub struct ObjectSync<T> {
    client: Client,
    path: String,
    fields: Option<String>,
    page_size: i64,
    resume: SyncState,
    model: PhantomData<fn() -> T>,
}

/// One page of a sync.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SyncPage<T> {
    /// The index of the page's first object.
    pub from: i64,
    /// The page's objects, or `None` when it did not change since the resumed state.
    pub values: Option<Vec<T>>,
    /// The checksum the page was answered with, when the API gave one.
    pub digest: Option<String>,
    /// Where the next page starts, `None` after the last.
    pub next_from: Option<i64>,
    /// The size of the whole list (`fullResultSize`) when the page changed,
    /// `None` for an unchanged page (a `304` carries no body).
    pub full_result_size: Option<i64>,
}

impl<T> SyncPage<T> {
    /// Whether the page did not change (`304 Not Modified`).
    pub fn is_unchanged(&self) -> bool {
        self.values.is_none()
    }
}

/// What a sync saw, to resume the next one from: the checksum of each page.
/// It applies only to a sync of the same path, fields and page size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    path: String,
    fields: Option<String>,
    page_size: i64,
    pages: BTreeMap<i64, PageMark>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PageMark {
    digest: String,
    next_from: Option<i64>,
}

impl SyncState {
    /// Whether no page checksum is known (the next sync fetches everything).
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// How many pages have a checksum.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    fn record<T>(&mut self, page: &SyncPage<T>) {
        match &page.digest {
            Some(digest) => {
                self.pages.insert(
                    page.from,
                    PageMark {
                        digest: digest.clone(),
                        next_from: page.next_from,
                    },
                );
            }
            None => {
                self.pages.remove(&page.from);
            }
        }
    }

    fn applies_to(&self, other: &Self) -> bool {
        self.path == other.path && self.fields == other.fields && self.page_size == other.page_size
    }
}

/// Everything one sync fetched, from [`ObjectSync::collect`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SyncOutcome<T> {
    /// The objects of the pages that changed.
    pub objects: Vec<T>,
    /// The state to resume the next sync from.
    pub state: SyncState,
    /// How many pages were fetched in all.
    pub pages: usize,
    /// How many of them had not changed.
    pub unchanged_pages: usize,
}

impl<T: DeserializeOwned + Send + 'static> ObjectSync<T> {
    pub(crate) fn new(client: Client, path: &str) -> Self {
        Self {
            client,
            path: path.trim_matches('/').to_owned(),
            fields: None,
            page_size: DEFAULT_SYNC_PAGE_SIZE,
            resume: SyncState::default(),
            model: PhantomData,
        }
    }

    /// The `fields` filter, such as `id,version,name`.
    pub fn fields(mut self, fields: impl Into<String>) -> Self {
        self.fields = Some(fields.into());
        self
    }

    /// Objects per page (default 1000, at least 1).
    pub fn page_size(mut self, page_size: i64) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// Skip the pages unchanged since the run that produced `state`.
    pub fn resume(mut self, state: SyncState) -> Self {
        self.resume = state;
        self
    }

    /// The pages, in order; [`SyncStream::state`] has the state to resume from.
    pub fn pages(self) -> SyncStream<T> {
        let fresh = SyncState {
            path: self.path.clone(),
            fields: self.fields.clone(),
            page_size: self.page_size,
            pages: BTreeMap::new(),
        };
        let resume = if self.resume.applies_to(&fresh) {
            self.resume.pages
        } else {
            BTreeMap::new()
        };
        let state = Arc::new(Mutex::new(fresh));
        let walker = Walker {
            client: self.client,
            segments: self.path.split('/').map(str::to_owned).collect(),
            fields: self.fields,
            page_size: self.page_size,
            resume,
            state: Arc::clone(&state),
            model: PhantomData,
        };
        let inner = futures::stream::try_unfold((Some(0), walker), |(next, walker)| async move {
            let Some(from) = next else {
                return Ok(None);
            };
            let page = walker.fetch(from).await?;
            walker.record(&page);
            let after = page.next_from;
            Ok(Some((page, (after, walker))))
        })
        .boxed();
        SyncStream { inner, state }
    }

    /// The objects of the changed pages (all objects, without a resumed state).
    pub fn objects(self) -> impl Stream<Item = Result<T>> + Send + 'static {
        self.pages()
            .map_ok(|page| {
                futures::stream::iter(page.values.unwrap_or_default().into_iter().map(Ok))
            })
            .try_flatten()
    }

    /// Runs the whole sync and collects it.
    pub async fn collect(self) -> Result<SyncOutcome<T>> {
        let mut pages = self.pages();
        let mut outcome = SyncOutcome {
            objects: Vec::new(),
            state: SyncState::default(),
            pages: 0,
            unchanged_pages: 0,
        };
        while let Some(page) = pages.try_next().await? {
            outcome.pages += 1;
            match page.values {
                Some(values) => outcome.objects.extend(values),
                None => outcome.unchanged_pages += 1,
            }
        }
        outcome.state = pages.state();
        Ok(outcome)
    }
}

/// The stream of a sync's pages, from [`ObjectSync::pages`]. It ends after the first error.
///
/// ```
/// # async fn demo(client: tripletex_webhooks_client::Client, saved: tripletex_webhooks_client::sync::SyncState)
/// #     -> tripletex_webhooks_client::Result<()> {
/// use futures::TryStreamExt;
/// use tripletex_webhooks_types::models::Product;
///
/// let mut pages = client.sync::<Product>("product").resume(saved).pages();
/// while let Some(page) = pages.try_next().await? {
///     for product in page.values.unwrap_or_default() {
///         // upsert `product`, comparing its version with what you hold
///     }
/// }
/// let to_save = pages.state();
/// # Ok(()) }
/// ```
pub struct SyncStream<T> {
    inner: BoxStream<'static, Result<SyncPage<T>>>,
    state: Arc<Mutex<SyncState>>,
}

impl<T> SyncStream<T> {
    /// The state after the pages yielded so far: resume the next sync from it.
    pub fn state(&self) -> SyncState {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl<T> Stream for SyncStream<T> {
    type Item = Result<SyncPage<T>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

impl<T> std::fmt::Debug for SyncStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncStream")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl<T> std::fmt::Debug for ObjectSync<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectSync")
            .field("path", &self.path)
            .field("fields", &self.fields)
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

/// Fetches the pages of one sync.
struct Walker<T> {
    client: Client,
    segments: Vec<String>,
    fields: Option<String>,
    page_size: i64,
    resume: BTreeMap<i64, PageMark>,
    state: Arc<Mutex<SyncState>>,
    model: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Walker<T> {
    async fn fetch(&self, from: i64) -> Result<SyncPage<T>> {
        let mark = self.resume.get(&from);
        let spec = RequestSpec::new(Method::GET, &self.segments)
            .query("from", from)
            .query("count", self.page_size)
            .query_opt("fields", self.fields.as_deref())
            .if_none_match(mark.map_or(CHECKSUM_PROBE, |mark| mark.digest.as_str()));
        let response = self.client.send(&spec).await?;
        if response.status == StatusCode::NOT_MODIFIED {
            let mark = mark.ok_or_else(|| {
                response.decode_error("304 Not Modified for a page without a known checksum")
            })?;
            tracing::debug!(from, "page unchanged");
            return Ok(SyncPage {
                from,
                values: None,
                digest: Some(mark.digest.clone()),
                next_from: mark.next_from,
                full_result_size: None,
            });
        }
        self.changed_page(from, &response)
    }

    fn changed_page(&self, from: i64, response: &RawResponse) -> Result<SyncPage<T>> {
        let list: ListResponse<T> = response.json()?;
        let digest = list.version_digest.clone().or_else(|| {
            // Tripletex plans to move the checksum to ETag.
            let etag = response.headers.get(ETAG)?.to_str().ok()?;
            Some(etag.trim_start_matches("W/").trim_matches('"').to_owned())
        });
        let next_from = next_from(from, self.page_size, &list);
        Ok(SyncPage {
            from,
            full_result_size: Some(list.full_result_size),
            values: Some(list.values),
            digest: digest.filter(|d| !d.is_empty()),
            next_from,
        })
    }

    fn record(&self, page: &SyncPage<T>) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(page);
    }
}
