//! The connection layer, below the router: every HTTP/1 request head is read
//! and checked here before hyper parses it, so that a head hyper would refuse
//! with a bare response of its own (no body, no request id) is answered by
//! the router with an `ApiError` instead.
//!
//! A head that breaks a limit or does not parse becomes a [`Refusal`]; hyper
//! is then handed a stand-in head (`GET /`, `connection: close`, marked with
//! a per-connection nonce) and the router answers it with the refusal's
//! error, so the answer passes through the same layers as any other (request
//! id, rate-limit headers, `ApiError` body, trace). Heads that pass reach
//! hyper unchanged, followed by exactly their body (`Content-Length` or
//! chunked, framed by hyper's rules), then the next head is checked.
//!
//! hyper's own limits are set above these ([`HYPER_MAX_BUF_SIZE`],
//! [`HYPER_MAX_HEADERS`]), so hyper never refuses a head that was let through.

mod body;
mod head;
mod io;

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::Request;
use axum::http::HeaderName;

pub(crate) use io::GuardedIo;

/// The longest request target (path and query) served, in bytes: 414 beyond.
pub(crate) const MAX_URI_BYTES: usize = 16 * 1024;
/// The largest header section (every header line after the request line), in
/// bytes: 431 beyond.
pub(crate) const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The most header fields one request may carry: 431 beyond.
pub(crate) const MAX_HEADERS: usize = 100;

/// hyper's read buffer (and its HTTP/2 header list limit): room for the
/// longest head let through, with margin.
pub(crate) const HYPER_MAX_BUF_SIZE: usize = 4 * (MAX_URI_BYTES + MAX_HEADER_BYTES);
/// hyper's header count limit, above [`MAX_HEADERS`].
pub(crate) const HYPER_MAX_HEADERS: usize = 2 * MAX_HEADERS;

/// The header that marks the stand-in head of a refused request.
const STAND_IN: HeaderName = HeaderName::from_static("x-tlx-refused-head");

/// Why a request head was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The request target is longer than [`MAX_URI_BYTES`] (414).
    UriTooLong,
    /// The header section is larger than [`MAX_HEADER_BYTES`] (431).
    HeadersTooLarge,
    /// More than [`MAX_HEADERS`] header fields (431).
    TooManyHeaders,
    /// The declared body is larger than any body could be (413).
    BodyTooLarge,
    /// The head does not parse as HTTP/1.x (400); the text says where.
    Malformed(String),
}

/// The refusal of one connection, handed from its reader to its router call.
#[derive(Debug, Clone)]
pub(crate) struct Refusals {
    inner: Arc<RefusalsInner>,
}

#[derive(Debug)]
struct RefusalsInner {
    /// Marks this connection's stand-in head; a client cannot guess it.
    nonce: String,
    refused: Mutex<Option<Refusal>>,
}

impl Refusals {
    /// A connection's slot, with a fresh nonce.
    pub(crate) fn new() -> Self {
        Self {
            inner: Arc::new(RefusalsInner {
                nonce: uuid::Uuid::new_v4().simple().to_string(),
                refused: Mutex::new(None),
            }),
        }
    }

    /// Records `refusal` and returns the stand-in head hyper parses instead.
    fn refuse(&self, refusal: Refusal) -> Vec<u8> {
        *self
            .inner
            .refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(refusal);
        format!(
            "GET / HTTP/1.1\r\nconnection: close\r\n{STAND_IN}: {}\r\n\r\n",
            self.inner.nonce
        )
        .into_bytes()
    }

    /// Puts the refusal on the stand-in request as an extension, and removes
    /// any marker header a client sent itself.
    pub(crate) fn tag(&self, request: &mut Request) {
        let stand_in = request
            .headers_mut()
            .remove(STAND_IN)
            .is_some_and(|value| value.as_bytes() == self.inner.nonce.as_bytes());
        if !stand_in {
            return;
        }
        let refusal = self
            .inner
            .refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(refusal) = refusal {
            request.extensions_mut().insert(refusal);
        }
    }
}
