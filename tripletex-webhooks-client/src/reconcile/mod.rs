//! Reconciliation: make the subscriptions match a desired set, safely at
//! every start of an integration.

mod plan;

use std::sync::Arc;

use tripletex_webhooks_types::{NewSubscription, Subscription};

use crate::client::Client;
use crate::error::Result;

pub use plan::{Difference, PlannedUpdate, ReconcilePlan, redact_url};

type Scope = Arc<dyn Fn(&Subscription) -> bool + Send + Sync>;

/// Makes the subscriptions match a desired set, from [`Subscriptions::reconcile`](crate::Subscriptions::reconcile).
///
/// Desired subscriptions are [`NewSubscription`]s, matched to existing ones
/// by (event, target URL). The plan creates the missing ones, updates those
/// whose `fields`, auth header name or status differ (re-enabling any that
/// are disabled, such as `DISABLED_TOO_MANY_ERRORS`), and, with
/// [`delete_extra`](Self::delete_extra), deletes the others in
/// [`scope`](Self::scope). [`dry_run`](Self::dry_run) returns the plan;
/// [`apply`](Self::apply) carries it out with the bulk endpoints (updates
/// are locked on the version read). Running it again plans nothing: it is
/// safe to call at every start.
///
/// The secrets (`authHeaderValue`, `hmacSharedSecret`) are write-only, so
/// they cannot be compared: they are sent on create and with every update,
/// and re-sent to unchanged subscriptions only with
/// [`resend_secrets`](Self::resend_secrets) (to rotate them).
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
/// use tripletex_webhooks_types::NewSubscription;
///
/// let target = "https://example.com/webhooks/tripletex";
/// let desired = ["product.create", "product.update", "product.delete"]
///     .into_iter()
///     .map(|event| Ok(NewSubscription::new(event.parse()?, target).with_hmac_secret("a-shared-secret")))
///     .collect::<Result<Vec<_>, tripletex_webhooks_types::ParseEventTypeError>>()?;
///
/// let plan = client.subscriptions().reconcile(desired.clone()).dry_run().await?;
/// assert_eq!(plan.creates.len(), 3);
///
/// let report = client.subscriptions().reconcile(desired.clone()).apply().await?;
/// assert_eq!(report.created.len(), 3);
///
/// // The second run has nothing to do.
/// let again = client.subscriptions().reconcile(desired).apply().await?;
/// assert!(again.plan.is_noop());
/// # Ok(()) }
/// ```
#[must_use]
pub struct Reconcile<'a> {
    client: &'a Client,
    desired: Vec<NewSubscription>,
    delete_extra: bool,
    resend_secrets: bool,
    scope: Option<Scope>,
}

/// What [`Reconcile::apply`] did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReconcileReport {
    /// The plan that was carried out.
    pub plan: ReconcilePlan,
    /// The subscriptions created.
    pub created: Vec<Subscription>,
    /// The subscriptions updated (and re-enabled), as they are now.
    pub updated: Vec<Subscription>,
    /// The ids of the subscriptions deleted.
    pub deleted: Vec<i64>,
}

impl ReconcileReport {
    /// The desired subscriptions as they are now: created, updated and unchanged.
    pub fn subscriptions(&self) -> impl Iterator<Item = &Subscription> {
        self.created
            .iter()
            .chain(&self.updated)
            .chain(&self.plan.unchanged)
    }
}

impl<'a> Reconcile<'a> {
    pub(crate) fn new(client: &'a Client, desired: Vec<NewSubscription>) -> Self {
        Self {
            client,
            desired,
            delete_extra: false,
            resend_secrets: false,
            scope: None,
        }
    }

    /// Also delete the existing subscriptions (in scope) that are not
    /// desired, including duplicates of desired ones. Off by default.
    pub fn delete_extra(mut self, delete: bool) -> Self {
        self.delete_extra = delete;
        self
    }

    /// Re-send the secrets of desired subscriptions to existing ones even
    /// when nothing visible differs (to rotate them). Off by default.
    pub fn resend_secrets(mut self, resend: bool) -> Self {
        self.resend_secrets = resend;
        self
    }

    /// Only consider (and never touch others than) the existing subscriptions
    /// for which `in_scope` is true, such as those of this integration's
    /// target host, when the employee token is shared.
    pub fn scope(
        mut self,
        in_scope: impl Fn(&Subscription) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.scope = Some(Arc::new(in_scope));
        self
    }

    /// The plan, computed from the current subscriptions; changes nothing.
    pub async fn dry_run(&self) -> Result<ReconcilePlan> {
        let existing = self.client.subscriptions().list().all().await?;
        let everything = |_: &Subscription| true;
        let scope: &dyn Fn(&Subscription) -> bool = match &self.scope {
            Some(scope) => scope.as_ref(),
            None => &everything,
        };
        let options = plan::PlanOptions {
            delete_extra: self.delete_extra,
            resend_secrets: self.resend_secrets,
            scope,
        };
        plan::plan(&self.desired, existing, &options)
    }

    /// Plans, then carries the plan out.
    pub async fn apply(&self) -> Result<ReconcileReport> {
        let plan = self.dry_run().await?;
        apply_plan(self.client, plan).await
    }
}

impl std::fmt::Debug for Reconcile<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconcile")
            .field("desired", &self.desired)
            .field("delete_extra", &self.delete_extra)
            .field("resend_secrets", &self.resend_secrets)
            .field("scoped", &self.scope.is_some())
            .finish_non_exhaustive()
    }
}

/// Carries out a plan: creates, then updates, then deletes, one bulk request each.
pub(crate) async fn apply_plan(client: &Client, plan: ReconcilePlan) -> Result<ReconcileReport> {
    let subscriptions = client.subscriptions();
    let created = subscriptions.create_many(&plan.creates).await?;
    let changes: Vec<_> = plan.updates.iter().map(|u| u.update.clone()).collect();
    let updated = subscriptions.update_many(&changes).await?;
    let deleted: Vec<i64> = plan.deletes.iter().filter_map(|s| s.id).collect();
    subscriptions.delete_many(&deleted).await?;
    tracing::info!(
        created = created.len(),
        updated = updated.len(),
        deleted = deleted.len(),
        unchanged = plan.unchanged.len(),
        "subscriptions reconciled"
    );
    Ok(ReconcileReport {
        plan,
        created,
        updated,
        deleted,
    })
}
