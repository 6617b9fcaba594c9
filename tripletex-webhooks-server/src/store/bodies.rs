//! Objects as stored: their body and change log as one JSON array
//! (`[body, changes]`), raw DEFLATE, with a preset dictionary per resource
//! made from the committed model data; delivery attempts' exchanges
//! (`[request, response]`) the same way, with a dictionary of their own.
//!
//! Much of a small object is its field names, the shape of its reference
//! stubs and of its change log, which deflate cannot reuse within one
//! object; a dictionary holding them lets it. An exchange is mostly header
//! names and values every callback repeats. The dictionaries are kept in
//! the database (`body_dictionaries`) and each row names the one it was
//! compressed with (`objects.body_dictionary`,
//! `attempts.exchange_dictionary`), so a row stays readable after a release
//! changes the model data, and with it the current dictionary.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tripletex_webhooks_types::emulator::{MessageRecord, ResponseRecord};
use tripletex_webhooks_types::{Change, ChangeType};

use super::{BodyError, StoreError, StoreResult};
use crate::delivery::sender::CALLBACK_USER_AGENT;
use crate::domain::model::complete::model_of;
use crate::domain::model::data::data;

/// The most bytes of a dictionary: the compressor hashes all of it on every
/// write, so a longer one costs time for fields a body rarely has.
const MAX_DICTIONARY: usize = 2048;

/// The start of every reference stub the store writes.
const STUB_PATTERN: &str = r#"{"id":0,"url":""#;

/// The deflate level of stored bodies.
const LEVEL: u32 = 6;

/// The dictionary of `resource` objects, shaped like what it compresses:
/// `[`, the stub pattern, its model's defaults as compact JSON in the
/// model's order (cut to fit [`MAX_DICTIONARY`]), then `,` and a change log
/// of one entry, `]`; `None` for a resource without a model.
pub(crate) fn dictionary(resource: &str) -> Option<Vec<u8>> {
    let (_, defaults) = model_of(resource)?;
    let defaults = serde_json::to_vec(defaults).ok()?;
    let head = format!("[{STUB_PATTERN}");
    let tail = format!(",{}]", serde_json::to_string(&[sample_change()]).ok()?);
    let room = MAX_DICTIONARY.saturating_sub(head.len() + tail.len());
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&defaults[..defaults.len().min(room)]);
    bytes.extend_from_slice(tail.as_bytes());
    Some(bytes)
}

/// A change as every log starts, its values zero: the dictionary needs
/// only its keys and shape.
fn sample_change() -> Change {
    Change {
        employee_id: Some(0),
        timestamp: Some("1970-01-01T00:00:00".to_owned()),
        change_type: Some(ChangeType::Create),
    }
}

/// What the dictionary of delivery attempts' exchanges is stored as, in
/// place of a resource (no resource path starts with `_`).
pub(crate) const ATTEMPTS: &str = "_attempts";

/// The dictionary of attempts' exchanges: `[request, response]` of a
/// callback as the sender makes it and a receiver answers, its values
/// empty where they differ between attempts.
fn attempts_dictionary() -> Option<Vec<u8>> {
    let headers = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    };
    let json = "application/json";
    let request = serde_json::json!({
        "url": "https://",
        "headers": headers(&[
            ("content-type", json),
            ("idempotency-key", ""),
            ("user-agent", CALLBACK_USER_AGENT),
        ]),
        "bodyTruncated": false,
        "bodyRendered": true,
    });
    let response = ResponseRecord {
        status: 200,
        message: MessageRecord {
            headers: headers(&[
                ("content-length", ""),
                ("content-type", json),
                ("date", "Thu, 01 Jan 1970 00:00:00 GMT"),
                ("server", ""),
            ]),
            body: String::new(),
            body_truncated: false,
        },
    };
    serde_json::to_vec(&(request, response)).ok()
}

/// The current dictionary of everything the store deflates: by resource,
/// the hosted ones and the sub-objects created with them, and [`ATTEMPTS`].
pub(crate) fn current_dictionaries() -> Vec<(String, Vec<u8>)> {
    let data = data();
    let sub_objects = data
        .sub_model_defaults
        .keys()
        .filter_map(|model| data.model_paths.get(model));
    let mut resources: Vec<&String> = data.resources.keys().chain(sub_objects).collect();
    resources.sort();
    resources.dedup();
    let objects = resources
        .into_iter()
        .filter_map(|resource| Some((resource.clone(), dictionary(resource)?)));
    let attempts = attempts_dictionary().map(|bytes| (ATTEMPTS.to_owned(), bytes));
    objects.chain(attempts).collect()
}

/// The hex SHA-256 of a dictionary: what tells two of a resource apart.
pub(crate) fn digest(dictionary: &[u8]) -> String {
    hex(&Sha256::digest(dictionary))
}

/// `bytes` as lower-case hex digits.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// A dictionary as the database keeps it.
#[derive(Debug, Clone)]
pub(crate) struct StoredDictionary {
    /// Its id, which the rows compressed with it name.
    pub(crate) id: i64,
    /// The resource whose bodies it is for.
    pub(crate) resource: String,
    /// Its [`digest`].
    pub(crate) digest: String,
    /// Its bytes.
    pub(crate) bytes: Vec<u8>,
}

/// Every dictionary in the database, and which is current for each resource.
#[derive(Debug, Default)]
pub(crate) struct Dictionaries {
    /// Every stored dictionary by id: rows may name any of them. Grows when
    /// a newer release sharing the database stores its own
    /// ([`Dictionaries::add`]).
    by_id: RwLock<HashMap<i64, Arc<[u8]>>>,
    /// The id of each resource's current dictionary, which writes use.
    current: HashMap<String, i64>,
}

/// An object ready to store: its deflated JSON and the dictionary it used.
#[derive(Debug)]
pub(crate) struct Packed {
    /// The JSON, raw DEFLATE.
    pub(crate) deflated: Vec<u8>,
    /// The id of the dictionary it was compressed with; `None` for none.
    pub(crate) dictionary: Option<i64>,
}

impl Dictionaries {
    /// The `stored` dictionaries, each resource's current one being the
    /// stored one whose digest is that of its entry in `current`.
    pub(crate) fn new(stored: Vec<StoredDictionary>, current: &[(String, Vec<u8>)]) -> Self {
        let wanted: HashMap<&str, String> = current
            .iter()
            .map(|(resource, bytes)| (resource.as_str(), digest(bytes)))
            .collect();
        let current = stored
            .iter()
            .filter(|entry| wanted.get(entry.resource.as_str()) == Some(&entry.digest))
            .map(|entry| (entry.resource.clone(), entry.id))
            .collect();
        let dictionaries = Self {
            by_id: RwLock::default(),
            current,
        };
        dictionaries.add(stored);
        dictionaries
    }

    /// Makes the `stored` dictionaries not yet known readable.
    pub(crate) fn add(&self, stored: Vec<StoredDictionary>) {
        let mut by_id = self.by_id.write().unwrap_or_else(PoisonError::into_inner);
        for entry in stored {
            by_id.entry(entry.id).or_insert_with(|| entry.bytes.into());
        }
    }

    fn bytes(&self, id: i64) -> Option<Arc<[u8]>> {
        let by_id = self.by_id.read().unwrap_or_else(PoisonError::into_inner);
        by_id.get(&id).cloned()
    }

    /// `value` (a `resource` object's `[body, changes]`) as it is stored now.
    pub(crate) fn pack(&self, resource: &str, value: &impl Serialize) -> StoreResult<Packed> {
        let json = super::rows::to_json(value)?;
        let current = self.current.get(resource).copied();
        let dictionary = current.and_then(|id| self.bytes(id));
        Ok(Packed {
            deflated: deflate(json.as_bytes(), dictionary.as_deref())?,
            dictionary: current,
        })
    }

    /// The JSON deflated in `deflated` with the dictionary `dictionary`, decoded.
    pub(crate) fn unpack<T: DeserializeOwned>(
        &self,
        deflated: &[u8],
        dictionary: Option<i64>,
    ) -> Result<T, BodyError> {
        let dictionary = dictionary
            .map(|id| self.bytes(id).ok_or(BodyError::UnknownDictionary(id)))
            .transpose()?;
        let json = inflate(deflated, dictionary.as_deref())?;
        serde_json::from_slice(&json).map_err(|e| BodyError::Json(e.to_string()))
    }
}

/// `input`, raw DEFLATE, with `dictionary` preset.
pub(super) fn deflate(input: &[u8], dictionary: Option<&[u8]>) -> StoreResult<Vec<u8>> {
    let failed = |e: flate2::CompressError| StoreError::Backend(format!("deflating a body: {e}"));
    COMPRESS.with_borrow_mut(|compress| {
        compress.reset();
        if let Some(dictionary) = dictionary {
            compress.set_dictionary(dictionary).map_err(failed)?;
        }
        let mut output = Vec::with_capacity(input.len() / 2 + 64);
        loop {
            let rest = input.get(offset(compress.total_in())..).unwrap_or_default();
            match compress.compress_vec(rest, &mut output, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => return Ok(output),
                Ok(Status::Ok | Status::BufError) => output.reserve(output.capacity()),
                Err(e) => return Err(failed(e)),
            }
        }
    })
}

/// The bytes `deflated` holds, raw DEFLATE with `dictionary` preset.
pub(super) fn inflate(deflated: &[u8], dictionary: Option<&[u8]>) -> Result<Vec<u8>, BodyError> {
    let failed = |e: flate2::DecompressError| BodyError::Inflate(e.to_string());
    DECOMPRESS.with_borrow_mut(|decompress| {
        decompress.reset(false);
        if let Some(dictionary) = dictionary {
            decompress.set_dictionary(dictionary).map_err(failed)?;
        }
        let mut output = Vec::with_capacity(deflated.len() * 3 + 64);
        loop {
            let rest = deflated
                .get(offset(decompress.total_in())..)
                .unwrap_or_default();
            let status = decompress
                .decompress_vec(rest, &mut output, FlushDecompress::Finish)
                .map_err(failed)?;
            if status == Status::StreamEnd {
                return Ok(output);
            }
            // Room was left and the stream did not end: the input ran out.
            if output.len() < output.capacity() {
                return Err(BodyError::Inflate("the stream ends early".to_owned()));
            }
            output.reserve(output.capacity());
        }
    })
}

thread_local! {
    /// One compressor a thread, reset for each body: a new one allocates and
    /// clears a few hundred KiB of tables, which cost more than compressing.
    static COMPRESS: RefCell<Compress> = RefCell::new(Compress::new(Compression::new(LEVEL), false));
    /// One decompressor a thread, reset for each body.
    static DECOMPRESS: RefCell<Decompress> = RefCell::new(Decompress::new(false));
}

/// A stream's byte count as an index (past any slice where it does not fit).
fn offset(total: u64) -> usize {
    usize::try_from(total).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::*;

    fn body(value: Value) -> Map<String, Value> {
        serde_json::from_value(value).unwrap()
    }

    fn stored(id: i64, resource: &str, bytes: Vec<u8>) -> StoredDictionary {
        StoredDictionary {
            id,
            resource: resource.to_owned(),
            digest: digest(&bytes),
            bytes,
        }
    }

    #[test]
    fn every_hosted_resource_and_sub_object_has_a_small_dictionary() {
        let current = current_dictionaries();
        let resources: Vec<&str> = current.iter().map(|(r, _)| r.as_str()).collect();
        for resource in [
            "product",
            "order",
            "order/orderline",
            "ledger/posting",
            ATTEMPTS,
        ] {
            assert!(resources.contains(&resource), "{resource}: {resources:?}");
        }
        assert!(current.iter().all(|(_, d)| d.len() <= MAX_DICTIONARY));
        assert_eq!(
            dictionary("product"),
            dictionary("product"),
            "deterministic"
        );
        assert!(dictionary("nothing").is_none());
    }

    /// An object as the store packs it.
    type Object = (Map<String, Value>, Vec<Change>);

    #[test]
    fn a_dictionary_shrinks_a_product() {
        let product = body(json!({
            "name": "Espresso beans", "number": "L-7", "isInactive": false,
            "costExcludingVatCurrency": 112.5, "weightUnit": "kg",
            "vatType": {"id": 3, "url": "h/v2/ledger/vatType/3"},
            "currency": {"id": 1, "url": "h/v2/currency/1"},
        }));
        let current = current_dictionaries();
        let stored = vec![stored(1, "product", dictionary("product").unwrap())];
        let with = Dictionaries::new(stored, &current);
        let without = Dictionaries::default();
        let object: Object = (product, vec![sample_change()]);
        let (packed, plain) = (
            with.pack("product", &object).unwrap(),
            without.pack("product", &object).unwrap(),
        );
        assert_eq!((packed.dictionary, plain.dictionary), (Some(1), None));
        assert!(
            packed.deflated.len() < plain.deflated.len(),
            "{} < {}",
            packed.deflated.len(),
            plain.deflated.len()
        );
        let unpacked: Object = with.unpack(&packed.deflated, Some(1)).unwrap();
        assert_eq!(unpacked, object);
        let unpacked: Object = with.unpack(&plain.deflated, None).unwrap();
        assert_eq!(unpacked, object);
    }

    #[test]
    fn only_the_dictionary_of_the_current_digest_is_current() {
        let current = current_dictionaries();
        let old = stored(1, "product", b"an older dictionary".to_vec());
        let now = stored(2, "product", dictionary("product").unwrap());
        let dictionaries = Dictionaries::new(vec![old, now], &current);
        let product = body(json!({"name": "Espresso"}));
        assert_eq!(
            dictionaries.pack("product", &product).unwrap().dictionary,
            Some(2)
        );
        let only_old = Dictionaries::new(vec![stored(1, "product", b"old".to_vec())], &current);
        assert_eq!(only_old.pack("product", &product).unwrap().dictionary, None);
    }

    #[test]
    fn broken_input_is_an_error() {
        let dictionaries = Dictionaries::default();
        let packed = dictionaries.pack("product", &body(json!({"name": "Espresso"})));
        let deflated = packed.unwrap().deflated;
        let unpack = |bytes: &[u8], dictionary| dictionaries.unpack::<Value>(bytes, dictionary);
        assert!(matches!(
            unpack(&deflated, Some(9)),
            Err(BodyError::UnknownDictionary(9))
        ));
        let cut = &deflated[..deflated.len() / 2];
        assert!(matches!(unpack(cut, None), Err(BodyError::Inflate(_))));
        assert!(unpack(&[0xff, 0, 0xff], None).is_err());
        assert!(unpack(&[], None).is_err());
        let not_json = deflate(b"not json", None).unwrap();
        assert!(matches!(unpack(&not_json, None), Err(BodyError::Json(_))));
    }

    #[test]
    fn the_thread_s_reused_streams_keep_no_state_between_bodies() {
        let (first, second) = (b"{\"name\":\"Espresso\"}".as_slice(), b"[1,2,3]".as_slice());
        let dictionary = b"{\"name\":\"".as_slice();
        let with = deflate(first, Some(dictionary)).unwrap();
        let without = deflate(second, None).unwrap();
        assert_eq!(deflate(first, Some(dictionary)).unwrap(), with);
        // A failed stream leaves nothing behind for the next one.
        assert!(inflate(&with[..with.len() / 2], Some(dictionary)).is_err());
        assert!(inflate(&with, None).is_err());
        assert_eq!(inflate(&without, None).unwrap(), second);
        assert_eq!(inflate(&with, Some(dictionary)).unwrap(), first);
        assert_eq!(inflate(&without, None).unwrap(), second);
    }
}
