//! The services some tests need (PostgreSQL, Redis), found through the
//! environment, and skips that say so.
//!
//! A test without its service is skipped with a line on the real standard
//! error (the test harness hides what `eprintln!` prints in a passing test)
//! that names the test and the reason. With `REQUIRE_SERVICES=1` (set by
//! `.ci/run`) a missing service fails the test instead.

use std::io::Write;

/// The environment variable that turns a skip into a failure.
pub const REQUIRE_SERVICES: &str = "REQUIRE_SERVICES";

/// The value of `variable` (such as `DATABASE_URL`), or `None` after
/// printing why the calling test skips; panics instead under
/// `REQUIRE_SERVICES=1`.
pub fn url(variable: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            skip(&format!("{variable} is not set"));
            None
        }
    }
}

/// Skips the calling test, printing its name and `why` where a person running
/// the tests sees it; panics instead under `REQUIRE_SERVICES=1`.
pub fn skip(why: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    assert!(
        !required(),
        "{test}: {why}, and {REQUIRE_SERVICES}=1 forbids skipping"
    );
    // Straight to the process's stderr: the harness captures only the
    // print macros.
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

fn required() -> bool {
    std::env::var(REQUIRE_SERVICES).is_ok_and(|v| v == "1")
}
