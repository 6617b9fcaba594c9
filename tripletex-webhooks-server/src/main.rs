//! `tripletex-webhooks-server`: the bundled Tripletex webhook provider.

use std::process::ExitCode;

use clap::Parser;
use secrecy::ExposeSecret;
use tripletex_webhooks_server::{RunningServer, ServerConfig};

// Every request allocates (bodies, JSON maps) on one thread and often frees
// on another; mimalloc's per-thread heaps cost less than glibc's arenas there
// (BENCHMARKS.md, "Group commit"). The library leaves the choice to its users.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .init();
    let config = ServerConfig::parse();
    let mut server = match RunningServer::start(config.clone()).await {
        Ok(server) => server,
        Err(error) => {
            tracing::error!(%error, "failed to start");
            return ExitCode::FAILURE;
        }
    };
    print_welcome(&config, &server);
    let trigger = server.shutdown_trigger();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        trigger();
    });
    match server.wait().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "server failed");
            ExitCode::FAILURE
        }
    }
}

/// Prints where the server listens and, only for the built-in local tokens,
/// a ready `curl` line: configured tokens are secrets and never printed.
fn print_welcome(config: &ServerConfig, server: &RunningServer) {
    let base = server.base_url();
    println!(
        "Tripletex API emulator on {base} (database {})",
        config.redacted_database_url()
    );
    if let Some(dashboard) = server.dashboard_url() {
        println!("Dashboard: {dashboard}");
    }
    if !config.uses_default_credentials() {
        return;
    }
    let consumer = config.consumer_token.expose_secret();
    let employee = server
        .employee_tokens()
        .first()
        .map_or("", ExposeSecret::expose_secret);
    println!("Default local credentials: consumer token {consumer}, employee token {employee}");
    println!("Create a session token:");
    println!(
        "  curl -X PUT '{base}/token/session/:create?consumerToken={consumer}&employeeToken={employee}&expirationDate=2099-01-01'"
    );
    println!("then: curl -u 0:<token> {base}/event/subscription");
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
