//! The connection's byte stream as hyper sees it: heads checked before they
//! are passed on, bodies passed through, a refused head replaced by the
//! stand-in, and a lingering close after a refusal.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::body::Body;
use super::head::{self, Head};
use super::{Refusal, Refusals};

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 8 * 1024;
/// An unfinished head is checked again only after this many more bytes (or
/// its end) arrived, so a head sent a byte at a time costs no more than a
/// few parses.
const RECHECK_AFTER: usize = 4 * 1024;
/// After a refusal, what the client still sends is read and dropped for up
/// to this long and this much before the socket closes, so that closing with
/// unread data (a TCP reset) cannot destroy the answer before it is read.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1024 * 1024;

/// A connection whose request heads are checked before hyper reads them.
#[derive(Debug)]
pub(crate) struct GuardedIo<T> {
    inner: T,
    state: State,
    /// Read from the socket, not yet checked.
    unchecked: BytesMut,
    /// Checked, for hyper to read.
    checked: BytesMut,
    /// How much of an unfinished head in `unchecked` was last checked.
    head_checked: usize,
    scratch: Box<[u8]>,
    /// The next head is the connection's first.
    first: bool,
    /// The socket reached its end.
    eof: bool,
    refusals: Refusals,
    linger: Option<Linger>,
}

#[derive(Debug)]
enum State {
    /// Waiting for a complete head.
    Head,
    /// Passing a body through.
    Body(Body),
    /// Not HTTP/1 (or framing this layer cannot follow): hyper decides alone.
    Passthrough,
    /// A head was refused: hyper has the stand-in and reads nothing more.
    Refused,
}

#[derive(Debug)]
struct Linger {
    deadline: Pin<Box<tokio::time::Sleep>>,
    drained: usize,
    write_closed: bool,
}

impl<T> GuardedIo<T> {
    /// Guards `inner`, reporting refusals to `refusals`.
    pub(crate) fn new(inner: T, refusals: Refusals) -> Self {
        Self {
            inner,
            state: State::Head,
            unchecked: BytesMut::new(),
            checked: BytesMut::new(),
            head_checked: 0,
            scratch: vec![0; READ_CHUNK].into_boxed_slice(),
            first: true,
            eof: false,
            refusals,
            linger: None,
        }
    }

    /// Moves what can be decided of `unchecked` to `checked`; whether
    /// anything changed.
    fn process(&mut self) -> bool {
        match &mut self.state {
            State::Refused => false,
            State::Passthrough => {
                self.checked = self.unchecked.split();
                !self.checked.is_empty()
            }
            State::Body(body) => {
                if self.unchecked.is_empty() {
                    return false;
                }
                match body.advance(&self.unchecked) {
                    Ok((taken, ended)) => {
                        self.checked = self.unchecked.split_to(taken);
                        if ended {
                            self.state = State::Head;
                        }
                    }
                    // hyper's decoder fails on the same byte and ends the connection.
                    Err(_) => self.state = State::Passthrough,
                }
                true
            }
            State::Head => {
                if !self.head_worth_checking() {
                    return false;
                }
                self.head_checked = self.unchecked.len();
                match head::check(&self.unchecked, self.first) {
                    Head::Incomplete => false,
                    Head::Complete { len, body } => {
                        self.first = false;
                        self.head_checked = 0;
                        self.checked = self.unchecked.split_to(len);
                        self.state = State::Body(body);
                        true
                    }
                    Head::Http2 => {
                        self.state = State::Passthrough;
                        true
                    }
                    Head::Refused(refusal) => {
                        self.refuse(refusal);
                        true
                    }
                }
            }
        }
    }

    /// Whether the head being read may have ended or grown past a limit
    /// since it was last checked.
    fn head_worth_checking(&self) -> bool {
        let read = self.unchecked.len();
        if read == self.head_checked {
            return false;
        }
        let new = &self.unchecked[self.head_checked.saturating_sub(2)..];
        self.head_checked == 0
            || read - self.head_checked >= RECHECK_AFTER
            || new.windows(2).any(|w| w == b"\n\n")
            || new.windows(3).any(|w| w == b"\n\r\n")
    }

    fn refuse(&mut self, refusal: Refusal) {
        tracing::debug!(?refusal, "request head refused");
        self.unchecked.clear();
        self.checked = BytesMut::from(&self.refusals.refuse(refusal)[..]);
        self.state = State::Refused;
    }
}

impl<T: AsyncRead + Unpin> GuardedIo<T> {
    /// Reads once from the socket into `unchecked`.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut buf = ReadBuf::new(&mut self.scratch);
        ready!(Pin::new(&mut self.inner).poll_read(cx, &mut buf))?;
        if buf.filled().is_empty() {
            self.eof = true;
        }
        self.unchecked.extend_from_slice(buf.filled());
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for GuardedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.checked.is_empty() {
                let n = this.checked.len().min(out.remaining());
                out.put_slice(&this.checked.split_to(n));
                return Poll::Ready(Ok(()));
            }
            if this.process() {
                continue;
            }
            match this.state {
                // hyper answers the stand-in and closes; until then it only
                // looks for the end of the stream, which must not come early.
                State::Refused => return Poll::Pending,
                _ if this.eof => {
                    // A partial head at the end: hyper sees it and the end.
                    this.checked = this.unchecked.split();
                    if this.checked.is_empty() {
                        return Poll::Ready(Ok(()));
                    }
                }
                _ => ready!(this.poll_fill(cx))?,
            }
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for GuardedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    /// After a refusal: closes the sending side, then reads and drops what
    /// the client still sends (bounded), so the answer is not reset away.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !matches!(this.state, State::Refused) {
            return Pin::new(&mut this.inner).poll_shutdown(cx);
        }
        let linger = this.linger.get_or_insert_with(|| Linger {
            deadline: Box::pin(tokio::time::sleep(LINGER)),
            drained: 0,
            write_closed: false,
        });
        if !linger.write_closed {
            ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            linger.write_closed = true;
        }
        while linger.drained < LINGER_BYTES {
            if linger.deadline.as_mut().poll(cx).is_ready() {
                break;
            }
            let mut buf = ReadBuf::new(&mut this.scratch);
            match ready!(Pin::new(&mut this.inner).poll_read(cx, &mut buf)) {
                Ok(()) if !buf.filled().is_empty() => linger.drained += buf.filled().len(),
                _ => break,
            }
        }
        Poll::Ready(Ok(()))
    }
}
