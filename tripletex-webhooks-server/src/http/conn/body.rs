//! Where a request body ends, so the next head can be found and checked: a
//! `Content-Length` count, or the chunked framing read the way hyper's
//! decoder reads it (hyper decodes the body itself; this only follows it).

/// How far the body of the current request reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    /// This many bytes remain.
    Length(u64),
    /// Chunked, at this point of the framing.
    Chunked(Chunked),
}

/// The framing ended in a way hyper's decoder refuses too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvalidFraming;

/// Where in the chunked framing the reader is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chunked {
    state: ChunkState,
    size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    Start,
    Size,
    SizeLws,
    Extension,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    EndCr,
    Trailer,
    TrailerLf,
    EndLf,
    End,
}

impl Body {
    /// A chunked body, before its first chunk.
    pub(crate) fn chunked() -> Self {
        Self::Chunked(Chunked {
            state: ChunkState::Start,
            size: 0,
        })
    }

    /// Follows the body over `bytes`: how many of them belong to it, and
    /// whether it ended there.
    pub(crate) fn advance(&mut self, bytes: &[u8]) -> Result<(usize, bool), InvalidFraming> {
        match self {
            Self::Length(remaining) => {
                let taken = usize::try_from(*remaining).map_or(bytes.len(), |r| r.min(bytes.len()));
                *remaining -= taken as u64;
                Ok((taken, *remaining == 0))
            }
            Self::Chunked(chunked) => chunked.advance(bytes),
        }
    }
}

impl Chunked {
    fn advance(&mut self, bytes: &[u8]) -> Result<(usize, bool), InvalidFraming> {
        let mut at = 0;
        while at < bytes.len() && self.state != ChunkState::End {
            if self.state == ChunkState::Data {
                let taken = usize::try_from(self.size)
                    .map_or(bytes.len() - at, |s| s.min(bytes.len() - at));
                self.size -= taken as u64;
                at += taken;
                if self.size == 0 {
                    self.state = ChunkState::DataCr;
                }
                continue;
            }
            self.state = self.step(bytes[at])?;
            at += 1;
        }
        Ok((at, self.state == ChunkState::End))
    }

    /// One byte of framing (everything but chunk data).
    fn step(&mut self, byte: u8) -> Result<ChunkState, InvalidFraming> {
        use ChunkState::{
            DataCr, DataLf, End, EndCr, EndLf, Extension, Size, SizeLf, SizeLws, Start, Trailer,
            TrailerLf,
        };
        let next = match (self.state, byte) {
            (Start | Size, b) if hex(b).is_some() => {
                let digit = hex(b).unwrap_or_default();
                self.size = self
                    .size
                    .checked_mul(16)
                    .and_then(|s| s.checked_add(digit))
                    .ok_or(InvalidFraming)?;
                Size
            }
            (Size | SizeLws, b'\t' | b' ') => SizeLws,
            (Size | SizeLws | Extension, b'\r') => SizeLf,
            (Extension, b'\n') => return Err(InvalidFraming),
            (Size | SizeLws, b';') | (Extension, _) => Extension,
            (SizeLf, b'\n') if self.size == 0 => EndCr,
            (SizeLf, b'\n') => ChunkState::Data,
            (DataCr, b'\r') => DataLf,
            (DataLf, b'\n') => Start,
            (EndCr, b'\r') => EndLf,
            (Trailer, b'\r') => TrailerLf,
            (EndCr | Trailer, _) => Trailer,
            (TrailerLf, b'\n') => EndCr,
            (EndLf, b'\n') => End,
            _ => return Err(InvalidFraming),
        };
        Ok(next)
    }
}

fn hex(byte: u8) -> Option<u64> {
    char::from(byte).to_digit(16).map(u64::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `bytes` in pieces of `step` bytes; (consumed, ended).
    fn follow(mut body: Body, bytes: &[u8], step: usize) -> Result<(usize, bool), InvalidFraming> {
        let mut consumed = 0;
        for piece in bytes.chunks(step) {
            let (taken, ended) = body.advance(piece)?;
            consumed += taken;
            if ended {
                return Ok((consumed, true));
            }
        }
        Ok((consumed, false))
    }

    #[test]
    fn a_length_body_ends_after_its_bytes() {
        assert_eq!(Body::Length(5).advance(b"abcdefg"), Ok((5, true)));
        assert_eq!(Body::Length(10).advance(b"abc"), Ok((3, false)));
        assert_eq!(Body::Length(0).advance(b"GET"), Ok((0, true)));
    }

    #[test]
    fn chunked_bodies_end_where_hyper_ends_them() {
        let bodies: [&[u8]; 4] = [
            b"5\r\nhello\r\n0\r\n\r\n",
            b"5;name=value\r\nhello\r\nA \t\r\n0123456789\r\n0\r\n\r\n",
            b"3\r\nabc\r\n0\r\nExpires: never\r\nX-Trailer: 1\r\n\r\n",
            b"000\r\n\r\n",
        ];
        for body in bodies {
            let mut with_next = body.to_vec();
            with_next.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
            for step in [1, 2, 7, with_next.len()] {
                assert_eq!(
                    follow(Body::chunked(), &with_next, step),
                    Ok((body.len(), true)),
                    "{:?} in pieces of {step}",
                    String::from_utf8_lossy(body)
                );
            }
        }
    }

    #[test]
    fn broken_chunked_framing_is_refused() {
        let broken: [&[u8]; 6] = [
            b"x\r\n",
            b"5\nhello",
            b"5\r\nhelloX",
            b"5;ext\n",
            b"0\r\nbad\rX",
            b"fffffffffffffffff\r\n",
        ];
        for body in broken {
            assert_eq!(
                follow(Body::chunked(), body, 1),
                Err(InvalidFraming),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
