//! The conformance suite of [`DedupStore`]: the claim protocol and the
//! monotonic records every store must keep, checked through two handles.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};
use tripletex_webhooks_types::{ObjectKey, Subject};

use crate::dedup::{DedupKey, Mark, Seen};
use crate::store::{Claim, DedupStore, Lease, StoreError};

/// How long a condition the suite waits for (a claim lapsing on the store's
/// clock) may take before the suite fails: generous, so a loaded machine
/// fails only a store that is really wrong.
const WITHIN: Duration = Duration::from_secs(30);

/// How often such a condition is checked.
const POLL: Duration = Duration::from_millis(10);

/// Runs the conformance suite of [`DedupStore`] against a store: panics,
/// naming the broken rule, when the store breaks the claim protocol or the
/// monotonic records the receiver relies on. This crate's own stores run it.
///
/// `first` and `second` are two handles on one store, as two replicas would
/// hold them (two pools on one database, two connections to one Redis, two
/// `SqliteStore`s on one file); for a store that lives in one process, pass
/// the same store twice. The store must start empty (a fresh table, key
/// prefix or file): the suite uses the keys `product/1` to `product/5` and
/// the idempotency key `conformance-key:1`. It takes a little over two
/// seconds: a claim with a two-second TTL is left to lapse on the store's
/// own clock.
///
/// What it checks: a claim makes the object busy for every other lease,
/// whatever the version, until it is committed or released; committed
/// versions answer duplicates and stale versions as already handled, even
/// while a newer version is claimed; a release lets another lease claim at
/// once and records nothing; a stale lease cannot release a newer claim; a
/// tombstone makes every later version stale; the idempotency-key fallback;
/// a lapsed claim is taken over, and its holder's late commit records
/// without releasing the new claim; records merge monotonically over the
/// whole `i64` range, compared exactly.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use tripletex_webhooks_receiver::store::MemoryStore;
/// use tripletex_webhooks_receiver::test_util::check_store;
///
/// // Your own store here; one in-process store is passed twice.
/// let store = MemoryStore::new();
/// check_store(&store, &store).await;
/// # }
/// ```
pub async fn check_store(first: &dyn DedupStore, second: &dyn DedupStore) {
    let (a, b) = (Handle(first), Handle(second));
    a_claim_excludes_others_until_committed(&a, &b).await;
    committed_versions_and_releases(&a, &b).await;
    a_tombstone_makes_later_versions_stale(&a, &b).await;
    the_idempotency_key_fallback(&a, &b).await;
    a_release_leaves_nothing_behind(&a, &b).await;
    a_lapsed_claim_is_taken_over(&a, &b).await;
    records_merge_monotonically(&a, &b).await;
}

/// A store handle whose errors fail the suite.
struct Handle<'a>(&'a dyn DedupStore);

impl Handle<'_> {
    async fn claim(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Claim {
        ok("claim", key, self.0.claim(key, mark, lease).await)
    }

    async fn commit(&self, key: &DedupKey, mark: Mark, lease: &Lease) {
        ok("commit", key, self.0.commit(key, mark, lease).await);
    }

    async fn release(&self, key: &DedupKey, lease: &Lease) {
        ok("release", key, self.0.release(key, lease).await);
    }

    async fn record(&self, key: &DedupKey, mark: Mark) {
        ok("record", key, self.0.record(key, mark).await);
    }

    async fn seen(&self, key: &DedupKey) -> Option<Seen> {
        ok("seen", key, self.0.seen(key).await)
    }
}

fn ok<T>(operation: &str, key: &DedupKey, result: Result<T, StoreError>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("store conformance: {operation}({key}) failed: {error}"),
    }
}

/// Fails the suite unless `actual` is `expected`.
#[allow(clippy::needless_pass_by_value)] // by value: the call sites pass what a store answered
fn expect<T: PartialEq + Debug>(rule: &str, actual: T, expected: T) {
    assert!(
        actual == expected,
        "store conformance: {rule}: expected {expected:?}, got {actual:?}"
    );
}

fn expect_busy(rule: &str, claim: &Claim) {
    assert!(
        matches!(claim, Claim::Busy { .. }),
        "store conformance: {rule}: expected Busy, got {claim:?}"
    );
}

fn expect_claimed(rule: &str, claim: &Claim) {
    assert!(
        matches!(claim, Claim::Claimed { .. }),
        "store conformance: {rule}: expected Claimed, got {claim:?}"
    );
}

fn object(id: i64) -> DedupKey {
    DedupKey::Object(ObjectKey {
        subject: Subject::Product,
        id,
    })
}

/// A lease that outlives the suite.
fn lease() -> Lease {
    Lease::new(Duration::from_secs(30))
}

const V: fn(i64) -> Mark = Mark::Version;

async fn a_claim_excludes_others_until_committed(a: &Handle<'_>, b: &Handle<'_>) {
    let key = object(1);
    let a5 = lease();
    expect(
        "a first claim",
        a.claim(&key, V(5), &a5).await,
        Claim::Claimed { previous: None },
    );
    for version in [5, 7, 3] {
        match b.claim(&key, V(version), &lease()).await {
            Claim::Busy {
                retry_after: Some(remaining),
            } => assert!(
                (Duration::from_secs(20)..=Duration::from_secs(30)).contains(&remaining),
                "store conformance: a busy answer's retry_after is the rest of the 30 s \
                 lease just taken, got {remaining:?}"
            ),
            // A store that does not know the other claim's TTL says so.
            Claim::Busy { retry_after: None } => {}
            other => panic!(
                "store conformance: v{version} while another lease holds v5: expected Busy, got {other:?}"
            ),
        }
    }
    expect("a claim records nothing", b.seen(&key).await, None);
    a.commit(&key, V(5), &a5).await;
    expect(
        "a commit records",
        b.seen(&key).await,
        Some(Seen::from_mark(V(5))),
    );
}

async fn committed_versions_and_releases(a: &Handle<'_>, b: &Handle<'_>) {
    let key = object(1);
    let v5 = Seen::from_mark(V(5));
    expect(
        "a duplicate",
        b.claim(&key, V(5), &lease()).await,
        Claim::AlreadyHandled(v5),
    );
    expect(
        "a stale version",
        b.claim(&key, V(3), &lease()).await,
        Claim::AlreadyHandled(v5),
    );
    let b6 = lease();
    expect(
        "a newer version",
        b.claim(&key, V(6), &b6).await,
        Claim::Claimed { previous: Some(v5) },
    );
    expect(
        "a duplicate while a newer version is claimed",
        a.claim(&key, V(5), &lease()).await,
        Claim::AlreadyHandled(v5),
    );
    b.release(&key, &b6).await;
    let a6 = lease();
    expect(
        "a claim right after a release",
        a.claim(&key, V(6), &a6).await,
        Claim::Claimed { previous: Some(v5) },
    );
    b.release(&key, &b6).await;
    expect_busy(
        "a late release with an old lease leaves the new claim",
        &b.claim(&key, V(6), &lease()).await,
    );
    a.commit(&key, V(6), &a6).await;
}

async fn a_tombstone_makes_later_versions_stale(a: &Handle<'_>, b: &Handle<'_>) {
    let key = object(1);
    let delete = lease();
    expect_claimed("a delete", &a.claim(&key, Mark::Tombstone, &delete).await);
    a.commit(&key, Mark::Tombstone, &delete).await;
    let gone = Seen {
        version: Some(6),
        deleted: true,
    };
    expect(
        "a version after the delete",
        b.claim(&key, V(9), &lease()).await,
        Claim::AlreadyHandled(gone),
    );
    expect(
        "the delete again",
        b.claim(&key, Mark::Tombstone, &lease()).await,
        Claim::AlreadyHandled(gone),
    );
}

async fn the_idempotency_key_fallback(a: &Handle<'_>, b: &Handle<'_>) {
    let delivery = DedupKey::Delivery("conformance-key:1".to_owned());
    let first = lease();
    expect(
        "a first delivery by key",
        a.claim(&delivery, Mark::Delivered, &first).await,
        Claim::Claimed { previous: None },
    );
    expect_busy(
        "the same key while claimed",
        &b.claim(&delivery, Mark::Delivered, &lease()).await,
    );
    a.commit(&delivery, Mark::Delivered, &first).await;
    expect(
        "the same key after its commit",
        b.claim(&delivery, Mark::Delivered, &lease()).await,
        Claim::AlreadyHandled(Seen::default()),
    );
}

async fn a_release_leaves_nothing_behind(a: &Handle<'_>, b: &Handle<'_>) {
    let key = object(2);
    let claim = lease();
    expect_claimed("a first claim", &a.claim(&key, V(1), &claim).await);
    a.release(&key, &claim).await;
    expect("a released claim records nothing", b.seen(&key).await, None);
    let again = lease();
    expect_claimed(
        "a claim after a release",
        &b.claim(&key, V(1), &again).await,
    );
    b.release(&key, &again).await;
}

async fn a_lapsed_claim_is_taken_over(a: &Handle<'_>, b: &Handle<'_>) {
    let key = object(3);
    // Long enough to outlive the busy probe below on a loaded machine.
    let short = Lease::new(Duration::from_secs(2));
    expect_claimed("a short claim", &a.claim(&key, V(1), &short).await);
    expect_busy(
        "another lease while the short claim is live",
        &b.claim(&key, V(1), &lease()).await,
    );
    let taken_over = lease();
    let claim = eventually("the short claim to lapse", || async {
        match b.claim(&key, V(2), &taken_over).await {
            Claim::Busy { .. } => None,
            other => Some(other),
        }
    })
    .await;
    expect(
        "a claim after the other lapsed",
        claim,
        Claim::Claimed { previous: None },
    );
    a.commit(&key, V(1), &short).await;
    expect(
        "a lapsed holder's late commit records",
        b.seen(&key).await,
        Some(Seen::from_mark(V(1))),
    );
    expect_busy(
        "a lapsed holder's late commit leaves the new claim",
        &a.claim(&key, V(2), &lease()).await,
    );
    b.commit(&key, V(2), &taken_over).await;
    expect(
        "the new holder's commit",
        a.seen(&key).await,
        Some(Seen::from_mark(V(2))),
    );
}

async fn records_merge_monotonically(a: &Handle<'_>, b: &Handle<'_>) {
    let key = object(4);
    a.record(&key, V(-5)).await;
    assert!(
        matches!(
            b.claim(&key, V(-6), &lease()).await,
            Claim::AlreadyHandled(_)
        ),
        "store conformance: a negative version below the one recorded is stale"
    );
    a.record(&key, V(i64::MAX)).await;
    b.record(&key, V(i64::MAX - 1)).await;
    expect(
        "a lower record never replaces a higher one",
        a.seen(&key).await,
        Some(Seen::from_mark(V(i64::MAX))),
    );
    expect(
        "versions up to i64::MAX",
        b.claim(&key, V(i64::MAX - 1), &lease()).await,
        Claim::AlreadyHandled(Seen::from_mark(V(i64::MAX))),
    );
    let near = object(5);
    a.record(&near, V(9_007_199_254_740_993)).await;
    expect(
        "versions compared exactly, not as doubles",
        b.claim(&near, V(9_007_199_254_740_992), &lease()).await,
        Claim::AlreadyHandled(Seen::from_mark(V(9_007_199_254_740_993))),
    );
}

/// Polls `check` until it gives a value; fails the suite after [`WITHIN`].
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let deadline = Instant::now() + WITHIN;
    loop {
        tick.tick().await;
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "store conformance: timed out after {WITHIN:?} waiting for {what}"
        );
    }
}
