//! `cargo xtask`: Sealcall's project chores.
//!
//! - `cargo xtask run [-- ARGS]`: the desktop app with an embedded demo server and echo bot
//!   (`-- --user NAME` opens another window as NAME); without a display, the headless
//!   `sealcall demo`.
//! - `cargo xtask test`: installs missing Debian packages, then runs every check CI runs.
//! - `cargo xtask fuzz-check`: type-checks the cargo-fuzz targets (also part of `test`).
//! - `cargo xtask screenshot`: regenerates docs/screenshot-e2ee-call.png under Xvfb.

use std::env;
use std::process::{Command, ExitCode};

/// What `cargo xtask screenshot` needs on top: a virtual X server, software OpenGL, ImageMagick.
const SCREENSHOT_PACKAGES: &[&str] = &[
    "xvfb",
    "xauth",
    "imagemagick",
    "libgl1-mesa-dri",
    "libegl1",
    "libgl1",
    "libx11-6",
    "libxcursor1",
    "libxrandr2",
    "libxi6",
    "libxkbcommon-x11-0",
];

/// Optional features that CI builds and tests too, so every backend passes every test.
const WORKSPACE_FEATURES: &str = "sealcall-e2ee/aws-lc";

/// Debian packages the workspace needs to build and test. Grows with the workspace.
/// `cmake` builds the bundled libopus; `libasound2-dev` and `pkg-config` are for `cpal` (ALSA);
/// `nasm` is for assembly in native crates; `libvpx-dev` is VP8 for `sealcall-vpx` (linked
/// through pkg-config); `xvfb` and `xauth` give the screen-share tests an X server;
/// `chromium` and `chromium-driver` run the admin center's browser tests (WebDriver);
/// `postgresql` is the second storage backend the server tests run against (the harness starts
/// its own cluster with `initdb` and `pg_ctl`), `redis-server` the bus between server nodes;
/// `espeak-ng` speaks the test sentences the audio-processing tests play through an echo path.
const DEBIAN_PACKAGES: &[&str] = &[
    "cmake",
    "pkg-config",
    "libasound2-dev",
    "nasm",
    "libvpx-dev",
    "xvfb",
    "xauth",
    "chromium",
    "chromium-driver",
    "postgresql",
    "redis-server",
    "espeak-ng",
];

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
        "screenshot" => screenshot(rest),
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
         fuzz-check      type-check the cargo-fuzz targets in fuzz/\n\
         screenshot      regenerate docs/screenshot-e2ee-call.png under Xvfb"
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
    ensure_packages(DEBIAN_PACKAGES)?;
    let args: Vec<&String> = args.iter().skip_while(|a| *a == "--").collect();
    let has_display = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| env::var_os(v).is_some_and(|x| !x.is_empty()));
    let mut cmd = cargo();
    if has_display {
        cmd.args([
            "run",
            "--quiet",
            "--release",
            "-p",
            "sealcall-desktop",
            "--",
            "--embedded",
        ]);
        cmd.args(args);
        return step("Sealcall desktop (embedded demo server and echo bot)", cmd);
    }
    println!(
        "\nNo display (DISPLAY and WAYLAND_DISPLAY are unset), so the desktop app cannot open a window.\n\
         Running the headless demo instead: `sealcall demo` (an embedded server, an echo bot and an\n\
         end-to-end encrypted test call). For real calls use `sealcall call` / `sealcall answer`\n\
         (see README, \"Using the command line\")."
    );
    // No `--quiet`: the first release build takes minutes, and cargo's progress shows it.
    cmd.args(["run", "--release", "-p", "sealcall", "--", "demo"]);
    step(
        "Sealcall demo: embedded server, echo bot, end-to-end encrypted test call",
        cmd,
    )
}

/// Regenerates docs/screenshot-e2ee-call.png: the desktop app in an E2EE call under Xvfb.
fn screenshot(args: &[String]) -> Result<(), String> {
    ensure_packages(DEBIAN_PACKAGES)?;
    ensure_packages(SCREENSHOT_PACKAGES)?;
    let mut cmd = Command::new("bash");
    cmd.arg("apps/sealcall-desktop/scripts/screenshot.sh");
    cmd.args(args.iter().skip_while(|a| *a == "--"));
    step("screenshot of the desktop app in an E2EE call (Xvfb)", cmd)
}

fn missing_packages(wanted: &[&'static str]) -> Vec<&'static str> {
    wanted
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
fn ensure_packages(wanted: &[&'static str]) -> Result<(), String> {
    let missing = missing_packages(wanted);
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
    ensure_packages(DEBIAN_PACKAGES)?;
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
