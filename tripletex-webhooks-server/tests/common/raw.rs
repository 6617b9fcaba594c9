//! A raw HTTP/1 client over a TCP socket, for requests no HTTP client will
//! send (control bytes in headers, malformed request lines, huge heads).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One response as read off the socket.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts what every error response carries: an `ApiError` body with
    /// this status and code whose `requestId` is the `x-tlx-request-id`
    /// header, and the rate-limit headers. Returns the body.
    pub fn assert_api_error(&self, status: u16, code: i64) -> Value {
        assert_eq!(self.status, status, "{self:?}");
        let body = self.json();
        assert_eq!(body["status"], status, "{body}");
        assert_eq!(body["code"], code, "{body}");
        let request_id = self.header("x-tlx-request-id").expect("x-tlx-request-id");
        assert_eq!(body["requestId"], request_id, "{body}");
        for name in [
            "x-rate-limit-limit",
            "x-rate-limit-remaining",
            "x-rate-limit-reset",
        ] {
            assert!(self.header(name).is_some(), "no {name}: {self:?}");
        }
        assert!(
            self.header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "{self:?}"
        );
        body
    }
}

/// An open connection to the server.
pub struct RawConnection {
    stream: TcpStream,
    buffered: Vec<u8>,
}

impl RawConnection {
    pub async fn open(addr: SocketAddr) -> Self {
        Self {
            stream: TcpStream::connect(addr).await.unwrap(),
            buffered: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Reads one response (its body by `Content-Length` or chunked).
    pub async fn response(&mut self) -> RawResponse {
        let (status, headers, head_len) = loop {
            let mut parsed = [httparse::EMPTY_HEADER; 64];
            let mut response = httparse::Response::new(&mut parsed);
            if let httparse::Status::Complete(len) = response.parse(&self.buffered).unwrap() {
                let headers = response
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_owned(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect::<Vec<_>>();
                break (response.code.unwrap(), headers, len);
            }
            self.fill("the response head").await;
        };
        self.buffered.drain(..head_len);
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let body = if header("transfer-encoding").is_some() {
            self.chunked_body().await
        } else {
            let length: usize = header("content-length").map_or(0, |v| v.parse().unwrap());
            while self.buffered.len() < length {
                self.fill("the response body").await;
            }
            self.buffered.drain(..length).collect()
        };
        RawResponse {
            status,
            headers,
            body,
        }
    }

    /// Whether the server closed the connection (after what was read).
    pub async fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        match tokio::time::timeout(test_support::WITHIN, self.stream.read_to_end(&mut rest)).await {
            Ok(Ok(_)) => rest.is_empty() && self.buffered.is_empty(),
            Ok(Err(_)) => self.buffered.is_empty(),
            Err(_) => false,
        }
    }

    async fn chunked_body(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = self.buffered.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                self.fill("a chunk size").await;
            };
            let size_text = String::from_utf8_lossy(&self.buffered[..line_end]).into_owned();
            let size =
                usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
            self.buffered.drain(..line_end + 2);
            while self.buffered.len() < size + 2 {
                self.fill("a chunk").await;
            }
            body.extend(self.buffered.drain(..size));
            self.buffered.drain(..2);
            if size == 0 {
                return body;
            }
        }
    }

    async fn fill(&mut self, what: &str) {
        let mut chunk = vec![0u8; 16 * 1024];
        let n = tokio::time::timeout(test_support::WITHIN, self.stream.read(&mut chunk))
            .await
            .unwrap_or_else(|_| panic!("no {what} within {:?}", test_support::WITHIN))
            .unwrap_or_else(|e| panic!("reading {what}: {e}"));
        assert!(
            n > 0,
            "the server closed the connection before {what}; had {:?}",
            String::from_utf8_lossy(&self.buffered)
        );
        self.buffered.extend_from_slice(&chunk[..n]);
    }
}

/// Sends `bytes` on a fresh connection and reads one response.
pub async fn exchange(addr: SocketAddr, bytes: &[u8]) -> RawResponse {
    let mut connection = RawConnection::open(addr).await;
    connection.send(bytes).await;
    connection.response().await
}
