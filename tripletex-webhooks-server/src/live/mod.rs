//! The live stream behind `GET /_emulator/stream`: finished attempts and
//! subscription status changes, as [`StreamEvent`]s, to every listener of
//! the company they belong to.
//!
//! - Nothing is built while nobody listens: publishers ask
//!   [`Live::is_listening`] first (a listener, or one that left less than
//!   [`LINGER`] ago, so that a reconnecting `EventSource` resumes without loss).
//! - A slow listener never holds delivery up: events go out on a bounded
//!   `broadcast` channel, and a listener that falls behind gets
//!   [`StreamEvent::Lagged`] with the number it missed.
//! - Ids are consecutive per process; the last [`RECENT`] events are kept,
//!   so a listener that resumes (`Last-Event-ID`, `?after=`) within them
//!   misses nothing, and one that resumes from further back is told it lagged.
//! - A process streams the attempts it made itself: processes sharing one
//!   PostgreSQL database each stream their own.

mod hub;
mod listener;
mod publisher;

use std::time::Duration;

pub(crate) use hub::{Live, Published};
pub(crate) use publisher::{RecordedAttempt, Sources, spawn as spawn_publisher};
#[cfg(doc)]
use tripletex_webhooks_types::emulator::StreamEvent;

/// How many events are kept for listeners that resume.
pub(crate) const RECENT: usize = 1024;
/// How many events a listener may fall behind before it lags.
const CHANNEL: usize = 1024;
/// How long after the last listener left events are still built and kept.
pub(crate) const LINGER: Duration = Duration::from_secs(60);
/// How many batches of recorded attempts may wait for the publisher.
const BACKLOG: usize = 256;
