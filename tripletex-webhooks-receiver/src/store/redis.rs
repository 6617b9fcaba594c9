//! [`RedisStore`]: a dedup store shared by receiver replicas, on Redis, with
//! per-object claims taken by atomic Lua scripts.

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use ::redis::aio::ConnectionManager;
use ::redis::{AsyncCommands as _, Client, Script};
use async_trait::async_trait;

use super::memory::DEFAULT_TTL;
use super::{Claim, DedupStore, Lease, StoreError};
use crate::dedup::{DedupKey, Mark, Seen};

/// Compares two canonical decimal `i64`s exactly (Lua numbers are doubles,
/// which cannot hold every `i64`): -1, 0 or 1.
const CMP: &str = r"
local function cmp(a, b)
  local na, nb = a:sub(1, 1) == '-', b:sub(1, 1) == '-'
  if na ~= nb then return na and -1 or 1 end
  local c
  if a == b then return 0
  elseif #a ~= #b then c = (#a < #b) and -1 or 1
  else c = (a < b) and -1 or 1 end
  if na then return -c end
  return c
end
";

/// KEYS: record hash, claim key. ARGV: mark kind (`v`, `t`, `d`), version,
/// lease token, lease TTL in ms. Returns `{status, recorded, version,
/// deleted, claim pttl}` with status 0 claimed, 1 already handled, 2 busy;
/// the rules of `dedup::decide`.
const CLAIM: &str = r"
local rec = redis.call('HMGET', KEYS[1], 'r', 'v', 'd')
local recorded = rec[1] == '1'
local version = rec[2] or ''
local deleted = rec[3] == '1'
local kind, v = ARGV[1], ARGV[2]
local fresh
if not recorded then fresh = true
elseif kind == 'v' then fresh = (not deleted) and (version == '' or cmp(version, v) < 0)
elseif kind == 't' then fresh = not deleted
else fresh = false end
local status, pttl = 1, -1
if fresh then
  if redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[4]) then
    status = 0
  else
    status = 2
    pttl = redis.call('PTTL', KEYS[2])
  end
end
return {status, recorded and 1 or 0, version, deleted and 1 or 0, pttl}
";

/// KEYS: record hash, claim key. ARGV: mark kind, version, the committer's
/// lease token (empty for a plain record), record TTL in ms (0: none).
/// Merges monotonically, then releases the claim if the token still holds it.
const RECORD: &str = r"
redis.call('HSET', KEYS[1], 'r', '1')
if ARGV[1] == 'v' then
  local known = redis.call('HGET', KEYS[1], 'v')
  if (not known) or cmp(known, ARGV[2]) < 0 then redis.call('HSET', KEYS[1], 'v', ARGV[2]) end
elseif ARGV[1] == 't' then
  redis.call('HSET', KEYS[1], 'd', '1')
end
if ARGV[4] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[4]) else redis.call('PERSIST', KEYS[1]) end
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
";

/// KEYS: claim key. ARGV: lease token. Deletes the claim if the token holds it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

struct Scripts {
    claim: Script,
    record: Script,
    release: Script,
}

static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    claim: Script::new(&format!("{CMP}{CLAIM}")),
    record: Script::new(&format!("{CMP}{RECORD}")),
    release: Script::new(RELEASE),
});

/// A [`DedupStore`] on Redis, shared by every replica of a receiver.
///
/// Per key, two Redis keys with one hash tag (so they share a cluster slot):
/// `PREFIX{object:SUBJECT:ID}` (or `PREFIX{delivery:IDEMPOTENCY-KEY}`), a
/// hash of what was handled (`r` recorded, `v` version, `d` deleted), and
/// `PREFIX{…}:claim`, the claim: the holder's lease token, with the lease's
/// TTL as the key's expiry, so a crashed replica's claim disappears by itself.
///
/// Each operation is one Lua script, atomic in Redis: [`claim`](DedupStore::claim)
/// compares the mark with the hash (exactly, as decimal strings: Lua numbers
/// cannot hold every `i64`) and, when it is new, takes the claim with
/// `SET NX PX`; [`commit`](DedupStore::commit) merges monotonically into the
/// hash and deletes the claim if it still holds the committer's token;
/// [`release`](DedupStore::release) deletes it under the same condition.
///
/// Records expire [`DEFAULT_TTL`](crate::store::DEFAULT_TTL) (a week, well
/// past Tripletex's ~30 hours of retries) after they were last recorded,
/// unless [`with_ttl`](Self::with_ttl) or [`without_ttl`](Self::without_ttl)
/// says otherwise: what is forgotten is handled again if redelivered.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tripletex_webhooks_receiver::{TripletexWebhookLayer, WebhookConfig};
/// use tripletex_webhooks_receiver::store::RedisStore;
///
/// let store = RedisStore::connect("redis://127.0.0.1:6379").await?.with_prefix("myapp:dedup:");
/// let config = WebhookConfig::builder()
///     .hmac_secret("shared-secret")
///     .store(store)
///     .build()?;
/// let layer = TripletexWebhookLayer::new(config);
/// # drop(layer);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
    ttl: Option<Duration>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// The key prefix unless [`with_prefix`](Self::with_prefix) says otherwise.
    pub const DEFAULT_PREFIX: &str = "tripletex-webhooks:dedup:";

    /// Connects to `url` (`redis://[user:password@]host:port[/db]`, or
    /// `rediss://` with a TLS feature of the `redis` crate) through a
    /// [`ConnectionManager`], which reconnects by itself.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = Client::open(url)?;
        Ok(Self::new(client.get_connection_manager().await?))
    }

    /// Uses an existing connection manager.
    pub fn new(connection: ConnectionManager) -> Self {
        Self {
            connection,
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            ttl: Some(DEFAULT_TTL),
        }
    }

    /// The same store with its keys under `prefix` (for several applications
    /// or environments on one Redis). Without `{` or `}`, so that each key's
    /// hash tag is its own.
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into().replace(['{', '}'], "_");
        self
    }

    /// The same store forgetting a key `ttl` after it was last recorded
    /// (default [`DEFAULT_TTL`](crate::store::DEFAULT_TTL), a week).
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// The same store never forgetting a key by itself.
    #[must_use]
    pub fn without_ttl(mut self) -> Self {
        self.ttl = None;
        self
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The connection manager.
    pub fn connection(&self) -> &ConnectionManager {
        &self.connection
    }

    /// Deletes every key under the prefix (records and claims, with `SCAN`
    /// and `UNLINK`); returns how many. For tests and teardown.
    pub async fn clear(&self) -> Result<u64, StoreError> {
        let mut connection = self.connection.clone();
        let pattern = format!("{}*", escape_glob(&self.prefix));
        let mut cursor: u64 = 0;
        let mut removed = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = ::redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(500)
                .query_async(&mut connection)
                .await?;
            if !keys.is_empty() {
                let n: u64 = connection.unlink(&keys).await?;
                removed += n;
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }

    /// The record hash's key and the claim's key.
    fn keys(&self, key: &DedupKey) -> (String, String) {
        let record = match key {
            DedupKey::Object(object) => {
                format!("{}{{object:{}:{}}}", self.prefix, object.subject, object.id)
            }
            DedupKey::Delivery(idempotency_key) => {
                format!("{}{{delivery:{idempotency_key}}}", self.prefix)
            }
        };
        let claim = format!("{record}:claim");
        (record, claim)
    }

    async fn upsert(&self, key: &DedupKey, mark: Mark, token: &str) -> Result<(), StoreError> {
        let (record, claim) = self.keys(key);
        let (kind, version) = mark_args(mark);
        let ttl_ms = self.ttl.map_or(0, |ttl| {
            u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
        });
        let _: i64 = SCRIPTS
            .record
            .key(record)
            .key(claim)
            .arg(kind)
            .arg(version)
            .arg(token)
            .arg(ttl_ms)
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(())
    }
}

/// The mark's kind and version, as the scripts read them.
fn mark_args(mark: Mark) -> (&'static str, String) {
    match mark {
        Mark::Version(version) => ("v", version.to_string()),
        Mark::Tombstone => ("t", String::new()),
        Mark::Delivered => ("d", String::new()),
    }
}

/// Escapes `SCAN MATCH`'s glob characters.
fn escape_glob(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn parse_version(text: &str) -> Result<Option<i64>, StoreError> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| StoreError::msg(format!("invalid version {text:?} in Redis")))
}

#[async_trait]
impl DedupStore for RedisStore {
    async fn seen(&self, key: &DedupKey) -> Result<Option<Seen>, StoreError> {
        let (record, _) = self.keys(key);
        let (recorded, version, deleted): (Option<String>, Option<String>, Option<String>) =
            ::redis::cmd("HMGET")
                .arg(record)
                .arg("r")
                .arg("v")
                .arg("d")
                .query_async(&mut self.connection.clone())
                .await?;
        if recorded.as_deref() != Some("1") {
            return Ok(None);
        }
        Ok(Some(Seen {
            version: parse_version(version.as_deref().unwrap_or_default())?,
            deleted: deleted.as_deref() == Some("1"),
        }))
    }

    async fn record(&self, key: &DedupKey, mark: Mark) -> Result<(), StoreError> {
        self.upsert(key, mark, "").await
    }

    async fn claim(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<Claim, StoreError> {
        let (record, claim) = self.keys(key);
        let (kind, version) = mark_args(mark);
        let (status, recorded, known, deleted, pttl): (i64, i64, String, i64, i64) = SCRIPTS
            .claim
            .key(record)
            .key(claim)
            .arg(kind)
            .arg(version)
            .arg(lease.token())
            .arg(lease.ttl_millis())
            .invoke_async(&mut self.connection.clone())
            .await?;
        let seen = if recorded == 1 {
            Some(Seen {
                version: parse_version(&known)?,
                deleted: deleted == 1,
            })
        } else {
            None
        };
        match (status, seen) {
            (0, previous) => Ok(Claim::Claimed { previous }),
            (1, Some(seen)) => Ok(Claim::AlreadyHandled(seen)),
            (2, _) => Ok(Claim::Busy {
                retry_after: u64::try_from(pttl).ok().map(Duration::from_millis),
            }),
            (status, seen) => Err(StoreError::msg(format!(
                "unexpected claim answer {status} ({seen:?}) from Redis"
            ))),
        }
    }

    async fn commit(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<(), StoreError> {
        self.upsert(key, mark, lease.token()).await
    }

    async fn release(&self, key: &DedupKey, lease: &Lease) -> Result<(), StoreError> {
        let (_, claim) = self.keys(key);
        let _: i64 = SCRIPTS
            .release
            .key(claim)
            .arg(lease.token())
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_are_escaped_and_versions_parsed() {
        assert_eq!(escape_glob("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
        assert_eq!(parse_version("").unwrap(), None);
        assert_eq!(
            parse_version("-9223372036854775808").unwrap(),
            Some(i64::MIN)
        );
        assert!(parse_version("x").is_err());
    }
}
