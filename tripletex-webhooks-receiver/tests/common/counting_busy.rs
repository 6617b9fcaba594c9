//! A view of a store that counts the `Busy` answers its claims get: how a
//! test sees a delivery wait for a claim held elsewhere.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;
use tripletex_webhooks_receiver::dedup::{DedupKey, Mark, Seen};
use tripletex_webhooks_receiver::store::{Claim, DedupStore, Lease, StoreError};

/// `store`, counting into `busy` every claim it answers `Busy`.
#[derive(Debug)]
pub struct CountingBusy {
    pub store: Arc<dyn DedupStore>,
    pub busy: watch::Sender<usize>,
}

#[async_trait]
impl DedupStore for CountingBusy {
    async fn seen(&self, key: &DedupKey) -> Result<Option<Seen>, StoreError> {
        self.store.seen(key).await
    }

    async fn record(&self, key: &DedupKey, mark: Mark) -> Result<(), StoreError> {
        self.store.record(key, mark).await
    }

    async fn claim(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<Claim, StoreError> {
        let claim = self.store.claim(key, mark, lease).await?;
        if matches!(claim, Claim::Busy { .. }) {
            self.busy.send_modify(|busy| *busy += 1);
        }
        Ok(claim)
    }

    async fn commit(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<(), StoreError> {
        self.store.commit(key, mark, lease).await
    }

    async fn release(&self, key: &DedupKey, lease: &Lease) -> Result<(), StoreError> {
        self.store.release(key, lease).await
    }
}
