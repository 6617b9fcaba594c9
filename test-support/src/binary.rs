//! The programs the tests run as processes: the server binary and the
//! `examples` programs, found where cargo puts them and built once if they are
//! missing or older than their sources.
//!
//! Why not `env!("CARGO_BIN_EXE_tripletex-webhooks-server")`: cargo only sets
//! it for the tests of the package that owns the binary. Why not always run
//! `cargo build`: with `cargo test --workspace` (CI) the programs were just
//! built, and a `cargo build -p <one package>` resolves features for that
//! package alone, which can rebuild half the dependency tree. So: cargo puts
//! a workspace's binaries in `<target>/<profile>/`, examples in
//! `<target>/<profile>/examples/` and this test in `<target>/<profile>/deps/`;
//! a program there is used when it is newer than every source file it is
//! built from, and otherwise built with the same cargo, profile and target
//! directory, once per test process. `TRIPLETEX_SERVER_BIN` names a server
//! binary to use instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::SystemTime;

const SERVER: &str = "tripletex-webhooks-server";

/// An up-to-date server binary.
pub fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("TRIPLETEX_SERVER_BIN") {
        return PathBuf::from(path);
    }
    program(
        SERVER,
        &["tripletex-webhooks-server", "tripletex-webhooks-types"],
        &["-p", SERVER, "--bin", SERVER],
    )
}

/// An up-to-date build of `cargo run -p examples --example <name>`.
pub fn example_binary(name: &str) -> PathBuf {
    program(
        &format!("examples/{name}"),
        &[
            "examples",
            "tripletex-webhooks-client",
            "tripletex-webhooks-receiver",
            "tripletex-webhooks-server",
            "tripletex-webhooks-types",
        ],
        &["-p", "examples", "--example", name],
    )
}

/// The program at `<target>/<profile>/<relative>`, built with `cargo build
/// <build_args>` unless it is newer than the packages it is built from.
fn program(relative: &str, packages: &[&str], build_args: &[&str]) -> PathBuf {
    // One build at a time, each program at most once per test process.
    static BUILT: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut built = BUILT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(path) = built.get(relative) {
        return path.clone();
    }
    let profile_dir = profile_dir();
    let path = profile_dir.join(format!("{relative}{}", std::env::consts::EXE_SUFFIX));
    let workspace = workspace_root();
    let mut sources = vec![workspace.join("Cargo.lock")];
    for package in packages {
        let package = workspace.join(package);
        // Not `tests/` or `benches/`: they are not part of the program.
        for part in ["src", "migrations", "Cargo.toml"] {
            sources.push(package.join(part));
        }
        if package.ends_with("examples") {
            sources.push(package.join(format!("{}.rs", relative.trim_start_matches("examples/"))));
        }
    }
    if !is_newer_than(&path, &sources) {
        build(&profile_dir, build_args);
    }
    assert!(
        path.is_file(),
        "{} is missing after building it",
        path.display()
    );
    built.insert(relative.to_owned(), path.clone());
    path
}

/// `<target>/<profile>`: this test executable is in its `deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test runs from <target>/<profile>/deps")
        .to_path_buf()
}

/// Whether `program` exists and is newer than every file under `sources`.
fn is_newer_than(program: &Path, sources: &[PathBuf]) -> bool {
    let Some(built) = modified(program) else {
        return false;
    };
    sources
        .iter()
        .filter_map(|path| newest(path))
        .all(|source| source <= built)
}

fn build(profile_dir: &Path, build_args: &[&str]) {
    let target_dir = profile_dir.parent().expect("<target>/<profile>");
    let profile = profile_dir
        .file_name()
        .and_then(|name| name.to_str())
        .expect("a profile directory name");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace_root())
        .arg("build")
        .args(build_args)
        .arg("--target-dir")
        .arg(target_dir);
    match profile {
        "debug" => {}
        "release" => {
            command.arg("--release");
        }
        other => {
            command.args(["--profile", other]);
        }
    }
    eprintln!("building a program the tests run: {command:?}");
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "{command:?} failed: {status}");
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the test-support package is in the workspace root")
        .to_path_buf()
}

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file, or of any file under a directory.
fn newest(path: &Path) -> Option<SystemTime> {
    if path.is_file() {
        return modified(path);
    }
    let entries = std::fs::read_dir(path).ok()?;
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| newest(&entry.path()))
        .max()
}
