//! What the numbers were measured on: CPU, cores, OS, compiler and crate versions.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// The machine a run measured.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Machine {
    /// CPU model name (`/proc/cpuinfo`), or `unknown`.
    pub cpu_model: String,
    /// Logical CPUs this process may use.
    pub logical_cpus: usize,
    /// CPU features that matter for AES-GCM speed, as far as `/proc/cpuinfo` says.
    pub aes_features: Vec<String>,
    /// Operating system (`/etc/os-release` PRETTY_NAME, else the target OS).
    pub os: String,
    /// Kernel release, if known.
    pub kernel: String,
    /// Target architecture.
    pub arch: String,
    /// Host name, if known.
    pub hostname: String,
}

impl Machine {
    /// Reads what it can; never fails.
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |key: &str| {
            cpuinfo.lines().find_map(|line| {
                let (k, v) = line.split_once(':')?;
                (k.trim() == key).then(|| v.trim().to_owned())
            })
        };
        let cpu_model = field("model name").unwrap_or_else(|| "unknown".to_owned());
        let flags = field("flags").unwrap_or_default();
        let aes_features = ["aes", "pclmulqdq", "avx2", "vaes", "vpclmulqdq", "avx512f"]
            .iter()
            .filter(|f| flags.split_whitespace().any(|x| x == **f))
            .map(|f| (*f).to_owned())
            .collect();
        let os = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| {
                    l.strip_prefix("PRETTY_NAME=")
                        .map(|v| v.trim_matches('"').to_owned())
                })
            })
            .unwrap_or_else(|| std::env::consts::OS.to_owned());
        let read = |path: &str| {
            std::fs::read_to_string(path)
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|_| "unknown".to_owned())
        };
        Self {
            cpu_model,
            logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            aes_features,
            os,
            kernel: read("/proc/sys/kernel/osrelease"),
            arch: std::env::consts::ARCH.to_owned(),
            hostname: read("/proc/sys/kernel/hostname"),
        }
    }
}

/// The compiler that built the benchmarks.
pub const RUSTC_VERSION: &str = env!("SEALCALL_BENCH_RUSTC");

/// Versions of the measured crates, from the workspace's Cargo.lock at build time. A crate that
/// is locked at more than one version lists each, comma-separated.
pub fn crate_versions() -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for item in env!("SEALCALL_BENCH_CRATES").split(',') {
        if let Some((name, version)) = item.split_once('=') {
            out.entry(name.to_owned())
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(version);
                })
                .or_insert_with(|| version.to_owned());
        }
    }
    out.insert(
        "sealcall-benches".to_owned(),
        env!("CARGO_PKG_VERSION").to_owned(),
    );
    out
}

/// Whether the build was optimised (a debug build's numbers mean nothing).
pub const OPTIMISED: bool = !cfg!(debug_assertions);

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_utc(secs)
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339).
pub fn format_utc(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{secs} s after 1970"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn versions_name_the_core() {
        let v = crate_versions();
        assert!(v.contains_key("sealcall-e2ee"));
        assert!(v.contains_key("sframe"));
        assert!(v.contains_key("ml-kem"));
    }
}
