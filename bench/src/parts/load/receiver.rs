//! The loopback receiver of the user-shaped load, in a process of its own
//! (this binary run with [`RECEIVE_ARG`]): it records when each callback
//! arrived on the wall clock, which the load generator's process shares
//! (`Instant` is per process and cannot be compared across them).
//!
//! Routes: `POST /hook` records the envelope's object id and answers 200;
//! `POST /ceiling` does the same work without recording (the machine's
//! ceiling); `GET /count` is how many callbacks arrived; `GET /arrivals` is
//! every arrival as `ID MICROS` lines; `POST /reset` forgets them. It prints
//! `READY <url>` and stops when its stdin closes.

use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpListener;

use super::clock::now_micros;
use crate::Res;

/// The hidden first argument that makes the binary a receiver.
pub(crate) const RECEIVE_ARG: &str = "__receive";

/// The envelope's object id: all the receiver needs to match arrivals.
#[derive(serde::Deserialize)]
struct Envelope {
    id: i64,
}

type Arrivals = Arc<Mutex<Vec<(i64, i64)>>>;

/// The child's side: serves until stdin closes.
pub(crate) fn receive_main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bench receiver: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench receiver: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn hook(State(arrivals): State<Arrivals>, body: Bytes) -> StatusCode {
    let at = now_micros();
    match serde_json::from_slice::<Envelope>(&body) {
        Ok(envelope) => {
            lock(&arrivals).push((envelope.id, at));
            StatusCode::OK
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn ceiling(body: Bytes) -> StatusCode {
    match serde_json::from_slice::<Envelope>(&body) {
        Ok(_) => StatusCode::OK,
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn count(State(arrivals): State<Arrivals>) -> String {
    lock(&arrivals).len().to_string()
}

async fn dump(State(arrivals): State<Arrivals>) -> String {
    use std::fmt::Write as _;
    let arrivals = lock(&arrivals).clone();
    let mut out = String::with_capacity(arrivals.len() * 24);
    for (id, at) in arrivals {
        let _ = writeln!(out, "{id} {at}");
    }
    out
}

async fn reset(State(arrivals): State<Arrivals>) -> StatusCode {
    lock(&arrivals).clear();
    StatusCode::NO_CONTENT
}

fn lock(arrivals: &Arrivals) -> std::sync::MutexGuard<'_, Vec<(i64, i64)>> {
    arrivals.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn serve() -> Res<()> {
    let arrivals: Arrivals = Arc::default();
    let app = Router::new()
        .route("/hook", post(hook))
        .route("/ceiling", post(ceiling))
        .route("/count", get(count))
        .route("/arrivals", get(dump))
        .route("/reset", post(reset))
        .with_state(arrivals);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("READY http://{}", listener.local_addr()?);
    let stopped = async {
        let mut stdin = tokio::io::stdin();
        let mut buf = [0_u8; 64];
        while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stopped)
        .await?;
    Ok(())
}

/// Parses the `ID MICROS` lines of `GET /arrivals`.
pub(crate) fn parse_arrivals(text: &str) -> Res<Vec<(i64, i64)>> {
    text.lines()
        .map(|line| {
            let (id, at) = line
                .split_once(' ')
                .ok_or_else(|| format!("not an arrival: {line:?}"))?;
            Ok((id.parse()?, at.parse()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_round_trip_and_garbage_is_refused() {
        assert_eq!(
            parse_arrivals("7 1700000000000001\n-1 2\n").unwrap(),
            vec![(7, 1_700_000_000_000_001), (-1, 2)]
        );
        assert!(parse_arrivals("7\n").is_err());
        assert!(parse_arrivals("x 1\n").is_err());
    }
}
