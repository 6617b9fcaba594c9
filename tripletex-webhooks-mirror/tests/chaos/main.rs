//! The chaos test of the mirror: against the bundled server in-process and
//! as the binary, on SQLite and (when `DATABASE_URL` is set) PostgreSQL.
//! Three subjects, thousands of objects, other clients writing during the
//! backfill, the mirror process SIGKILLed mid-backfill and restarted, its
//! receiver down for a while, deliveries lost to a disabled subscription.
//! After the resync the local copy equals the server's object by object
//! with the configured `fields`, and database triggers saw no write make a
//! stored version go backwards.
//!
//! It runs its own `main` (no harness): the same executable, run with
//! [`child::CHILD`] set, is the mirror process.

#![allow(
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout
)]

mod audit;
mod child;
mod scenario;
mod tripletex;

use std::process::ExitCode;

use tripletex::Kind;
use tripletex_webhooks_types::Subject;

/// The subjects mirrored: subject, API path, `fields`.
pub const SUBJECTS: [(Subject, &str, &str); 3] = [
    (Subject::Product, "product", "id,version,name,number"),
    (Subject::Customer, "customer", "id,version,name,email"),
    (Subject::Supplier, "supplier", "id,version,name"),
];

fn main() -> ExitCode {
    if std::env::var_os(child::CHILD).is_some() {
        return child::main();
    }
    // `cargo test -- --list` and filters: this test has one entry.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("chaos: test");
        return ExitCode::SUCCESS;
    }
    if args
        .iter()
        .any(|a| !a.starts_with('-') && !"chaos".contains(a.as_str()))
    {
        return ExitCode::SUCCESS;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        for kind in [Kind::InProcess, Kind::Binary] {
            let file = dir.path().join(format!("{kind:?}.db"));
            scenario::run(kind, &format!("sqlite://{}", file.display())).await;
            // Without it, `url` prints why PostgreSQL is skipped.
            if let Some(url) = test_support::services::url("DATABASE_URL") {
                scenario::run(kind, &fresh_database(&url, kind).await).await;
            }
        }
    });
    println!("test result: ok. chaos passed");
    ExitCode::SUCCESS
}

/// A new, empty database on the server of `url`; its URL.
async fn fresh_database(url: &str, kind: Kind) -> String {
    use sqlx::Executor as _;
    sqlx::any::install_default_drivers();
    let name = format!(
        "mirror_chaos_{}_{}",
        format!("{kind:?}").to_lowercase(),
        std::process::id()
    );
    let admin = sqlx::AnyPool::connect(url).await.unwrap();
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
        .await
        .unwrap();
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    admin.close().await;
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}
