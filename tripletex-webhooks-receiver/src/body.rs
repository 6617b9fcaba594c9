//! Reading a request body up to a limit into one [`Bytes`]: a body that
//! arrives in one piece, as a webhook's usually does, is kept as it came,
//! without a copy or a list of chunks.

use axum::body::HttpBody;
use bytes::{Buf, Bytes, BytesMut};
use http_body_util::BodyExt;

/// Why a body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// More than the limit.
    TooLarge,
    /// The body failed (the connection broke, a malformed chunk).
    Unreadable,
}

/// The body's data, at most `limit` bytes; trailers are ignored.
pub(crate) async fn read_limited<B: HttpBody>(body: B, limit: usize) -> Result<Bytes, ReadError> {
    let mut body = std::pin::pin!(body);
    let mut whole = Bytes::new();
    // Only when a second chunk arrives.
    let mut joined = BytesMut::new();
    let mut length = 0_usize;
    while let Some(frame) = body.as_mut().frame().await {
        let frame = frame.map_err(|_| ReadError::Unreadable)?;
        let Ok(mut data) = frame.into_data() else {
            continue;
        };
        length = length.saturating_add(data.remaining());
        if length > limit {
            return Err(ReadError::TooLarge);
        }
        let chunk = data.copy_to_bytes(data.remaining());
        if whole.is_empty() && joined.is_empty() {
            whole = chunk;
        } else {
            if joined.is_empty() {
                joined.reserve(length);
                joined.extend_from_slice(&std::mem::take(&mut whole));
            }
            joined.extend_from_slice(&chunk);
        }
    }
    Ok(if joined.is_empty() {
        whole
    } else {
        joined.freeze()
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::convert::Infallible;

    use axum::body::Body;
    use futures::stream;
    use http_body_util::Full;

    use super::*;

    fn chunks(parts: &[&'static str]) -> Body {
        let parts: Vec<_> = parts
            .iter()
            .map(|part| Ok::<_, Infallible>(Bytes::from_static(part.as_bytes())))
            .collect();
        Body::from_stream(stream::iter(parts))
    }

    #[tokio::test]
    async fn one_chunk_is_kept_as_it_came() {
        let sent = Bytes::from_static(b"{\"id\":1}");
        let read = read_limited(Full::new(sent.clone()), 8).await.unwrap();
        assert_eq!(read, sent);
        assert_eq!(read.as_ptr(), sent.as_ptr(), "not copied");
        assert_eq!(
            read_limited(Full::new(sent), 7).await,
            Err(ReadError::TooLarge)
        );
    }

    #[tokio::test]
    async fn chunks_are_joined_up_to_the_limit() {
        assert_eq!(
            read_limited(chunks(&["{\"a\"", "", ":1", "}"]), 8)
                .await
                .unwrap(),
            Bytes::from_static(b"{\"a\":1}")
        );
        assert_eq!(
            read_limited(chunks(&["", ""]), 0).await.unwrap(),
            Bytes::new()
        );
        assert_eq!(
            read_limited(chunks(&["1234", "5678", "9"]), 8).await,
            Err(ReadError::TooLarge)
        );
    }

    #[tokio::test]
    async fn a_failing_body_is_unreadable() {
        let failing = Body::from_stream(stream::iter([
            Ok(Bytes::from_static(b"{")),
            Err(std::io::Error::other("connection reset")),
        ]));
        assert_eq!(read_limited(failing, 8).await, Err(ReadError::Unreadable));
    }
}
