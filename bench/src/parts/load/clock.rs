//! The one clock every process of the user-shaped load records with: the
//! wall clock (`CLOCK_REALTIME`) is one per machine, so a 201 seen by the
//! load generator and a callback seen by the receiver can be compared.

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch (0 for a clock set before 1970).
pub(crate) fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|since| i64::try_from(since.as_micros()).ok())
        .unwrap_or(0)
}
