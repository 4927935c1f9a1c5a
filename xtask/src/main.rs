//! `cargo xtask`: Sealcall's project chores.
//!
//! - `cargo xtask run [-- ARGS]`: the main job (today: `sealcall demo`, an embedded server, an
//!   echo bot and an end-to-end encrypted test call; it becomes the desktop app).
//! - `cargo xtask test`: installs missing Debian packages, then runs every check CI runs.
//! - `cargo xtask fuzz-check`: type-checks the cargo-fuzz targets (also part of `test`).

use std::env;
use std::process::{Command, ExitCode};

/// Optional features that CI builds and tests too, so every backend passes every test.
const WORKSPACE_FEATURES: &str = "sealcall-e2ee/aws-lc";

/// Debian packages the workspace needs to build and test. Grows with the workspace.
/// `cmake` builds the bundled libopus; `libasound2-dev` and `pkg-config` are for `cpal` (ALSA);
/// `nasm` is for assembly in native crates.
const DEBIAN_PACKAGES: &[&str] = &["cmake", "pkg-config", "libasound2-dev", "nasm"];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match task {
        "run" => run(rest),
        "test" => test(),
        "fuzz-check" => fuzz_check(),
        "help" | "--help" | "-h" => {
            print_help();
            Ok(())
        }
        other => Err(format!("unknown task `{other}`; try `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_help() {
    println!(
        "cargo xtask <task>\n\n\
         run [-- ARGS]   the main job: an embedded server, an echo bot and an E2EE test call\n\
         test            install missing system packages, then fmt, clippy, tests, docs, fuzz check\n\
         fuzz-check      type-check the cargo-fuzz targets in fuzz/"
    );
}

fn cargo() -> Command {
    Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn step(name: &str, mut cmd: Command) -> Result<(), String> {
    println!("\n==> {name}");
    let status = cmd
        .status()
        .map_err(|e| format!("{name}: could not start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})"))
    }
}

fn run(args: &[String]) -> Result<(), String> {
    ensure_packages()?;
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--quiet",
        "--release",
        "-p",
        "sealcall",
        "--",
        "demo",
    ]);
    cmd.args(args.iter().skip_while(|a| *a == "--"));
    step(
        "Sealcall demo: embedded server, echo bot, end-to-end encrypted test call",
        cmd,
    )
}

fn missing_packages() -> Vec<&'static str> {
    DEBIAN_PACKAGES
        .iter()
        .copied()
        .filter(|pkg| {
            !Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", pkg])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
                .unwrap_or(false)
        })
        .collect()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Installs missing Debian packages: directly as root, through sudo otherwise; when neither
/// works it prints the exact command and fails.
fn ensure_packages() -> Result<(), String> {
    let missing = missing_packages();
    if missing.is_empty() {
        return Ok(());
    }
    let line = format!(
        "apt-get install -y --no-install-recommends {}",
        missing.join(" ")
    );
    println!("\n==> installing system packages: {}", missing.join(" "));
    let prefix: Vec<&str> = if is_root() {
        vec![]
    } else if Command::new("sudo")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        vec!["sudo", "-n"]
    } else {
        return Err(format!(
            "missing system packages; run as root:\n    apt-get update && {line}"
        ));
    };
    let sh = |words: &[&str]| {
        let mut all: Vec<&str> = prefix.clone();
        all.extend_from_slice(words);
        let mut cmd = Command::new(all[0]);
        cmd.args(&all[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    step("apt-get update", sh(&["apt-get", "update", "-q"]))?;
    let mut install = vec!["apt-get", "install", "-y", "-q", "--no-install-recommends"];
    install.extend(missing.iter().copied());
    step("apt-get install", sh(&install))
}

fn test() -> Result<(), String> {
    ensure_packages()?;
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    step("cargo fmt --check", fmt)?;

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    step("cargo clippy", clippy)?;

    let mut tests = cargo();
    tests.args(["test", "--workspace", "--features", WORKSPACE_FEATURES]);
    step("cargo test", tests)?;

    let mut doc = cargo();
    doc.args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings");
    step("cargo doc", doc)?;

    fuzz_check()?;
    println!("\nAll checks passed.");
    Ok(())
}

fn fuzz_check() -> Result<(), String> {
    let mut check = cargo();
    check.args(["check", "--manifest-path", "fuzz/Cargo.toml", "--bins"]);
    step("cargo check (fuzz targets)", check)
}
