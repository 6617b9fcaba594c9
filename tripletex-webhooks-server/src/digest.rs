//! SHA-256 digests, hex-encoded: stored token digests and list `versionDigest`s.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// The digest under which a token is stored (tokens themselves never are):
/// lower-case hex of SHA-256 over it.
pub(crate) fn token_digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// The `versionDigest` of a result: a digest of one line per value (such as
/// `id:version`), `None` for an empty result, as Tripletex answers.
pub(crate) fn result_digest<I, S>(lines: I) -> Option<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut hasher = Sha256::new();
    let mut empty = true;
    for line in lines {
        hasher.update(line.as_ref().as_bytes());
        hasher.update(b";");
        empty = false;
    }
    (!empty).then(|| hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests() {
        assert_eq!(
            token_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(result_digest(Vec::<String>::new()), None);
        let a = result_digest(["1:0", "2:3"]);
        assert_eq!(a, result_digest(["1:0".to_owned(), "2:3".to_owned()]));
        assert_ne!(a, result_digest(["1:0", "2:4"]));
    }
}
