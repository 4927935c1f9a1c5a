//! Records the compiler version and the versions of the crates the benchmarks compare, from the
//! workspace's Cargo.lock, so `sealcall bench` can put them in its JSON.

use std::path::PathBuf;
use std::process::Command;

/// Crates whose exact versions a benchmark result depends on.
const CRATES: &[&str] = &[
    "sealcall-e2ee",
    "aes-gcm",
    "aes",
    "ghash",
    "ml-kem",
    "aws-lc-rs",
    "aws-lc-sys",
    "sframe",
    "ring",
    "rtc-srtp",
    "rtc-crypto",
    "opus",
    "opusic-sys",
    "criterion",
];

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=SEALCALL_BENCH_RUSTC={version}");

    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let lock = manifest.join("..").join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    println!("cargo:rerun-if-changed=build.rs");
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    let mut found: Vec<(String, String)> = Vec::new();
    for package in text.split("[[package]]") {
        let field = |key: &str| {
            package.lines().find_map(|line| {
                let rest = line.strip_prefix(key)?.trim_start().strip_prefix('=')?;
                Some(rest.trim().trim_matches('"').to_owned())
            })
        };
        if let (Some(name), Some(version)) = (field("name"), field("version"))
            && CRATES.contains(&name.as_str())
        {
            found.push((name, version));
        }
    }
    found.sort();
    let list: Vec<String> = found.iter().map(|(n, v)| format!("{n}={v}")).collect();
    println!("cargo:rustc-env=SEALCALL_BENCH_CRATES={}", list.join(","));
}
