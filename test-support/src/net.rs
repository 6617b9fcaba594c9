//! Loopback network fixtures.

use std::net::SocketAddr;

use tokio::net::TcpSocket;

/// A loopback port that refuses every connection for as long as this value
/// lives: bound, so no other socket can take it, but never listening, so the
/// kernel answers a connect with a reset.
///
/// Unlike a port found by binding a listener and dropping it, the port
/// cannot be handed to somebody else while the test uses it.
pub struct RefusingPort {
    _socket: TcpSocket,
    addr: SocketAddr,
}

impl RefusingPort {
    /// Binds an ephemeral loopback port without listening on it.
    pub fn bind() -> Self {
        let socket = TcpSocket::new_v4().expect("a TCP socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("an ephemeral loopback port");
        let addr = socket.local_addr().expect("the bound address");
        Self {
            _socket: socket,
            addr,
        }
    }

    /// The refusing address, `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

#[cfg(test)]
mod tests {
    use super::RefusingPort;

    #[tokio::test]
    async fn connections_are_refused() {
        let port = RefusingPort::bind();
        let error = tokio::net::TcpStream::connect(port.addr())
            .await
            .expect_err("nobody listens");
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
    }
}
