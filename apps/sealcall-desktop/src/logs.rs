//! The app's log file: every `tracing` event of the app and the engine (what `RUST_LOG` picks;
//! by default `info` for Sealcall's crates and `warn` for the rest) as plain lines in
//! `DATA_DIR/logs/sealcall-desktop.YYYY-MM-DD.log`, a new file each day, the newest
//! [`MAX_LOG_FILES`] kept. The engine logs chosen fields only, never a secret (see
//! docs/SERVER.md, *Logs*); Help > "Open log folder" opens the folder.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tracing_appender::rolling::{Builder, RollingFileAppender, Rotation};

/// How many daily files are kept (older ones are deleted when a new one starts).
pub const MAX_LOG_FILES: usize = 7;

/// What is logged without `RUST_LOG`.
const DEFAULT_FILTER: &str = "warn,sealcall_desktop=info,sealcall_engine=info,sealcall_server=info";

/// The log folder under a data directory.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("logs")
}

/// The daily-rotated file appender in `dir` (created if missing).
pub fn appender(dir: &Path) -> Result<RollingFileAppender> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the log folder {}", dir.display()))?;
    Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix("sealcall-desktop")
        .filename_suffix("log")
        .max_log_files(MAX_LOG_FILES)
        .build(dir)
        .with_context(|| format!("opening a log file in {}", dir.display()))
}

/// A subscriber that writes to the log file in `dir`, filtered by `RUST_LOG` (or the default).
pub fn subscriber(dir: &Path) -> Result<impl tracing::Subscriber + Send + Sync + 'static> {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec)
            .with_context(|| format!("RUST_LOG={spec:?} is not a valid filter"))?,
        _ => EnvFilter::new(DEFAULT_FILTER),
    };
    Ok(tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(appender(dir)?)
        .finish())
}

/// Installs [`subscriber`] for the whole process.
pub fn install(dir: &Path) -> Result<()> {
    tracing::subscriber::set_global_default(subscriber(dir)?)
        .map_err(|e| anyhow::anyhow!("installing the logger: {e}"))
}

/// Opens `dir` in the desktop's file manager (`xdg-open`, or `open` on macOS).
pub fn open_folder(dir: &Path) -> Result<()> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("running {opener} {}", dir.display()))?;
    Ok(())
}

/// The log files in `dir`, oldest first.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("sealcall-desktop") && n.ends_with(".log"))
        })
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_written_to_todays_file_and_old_files_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let logs = log_dir(dir.path());
        let subscriber = subscriber(&logs).unwrap();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "sealcall_desktop", answer = 42, "a test event");
            tracing::debug!(target: "sealcall_desktop", "filtered out by default");
        });
        let files = files(&logs);
        assert_eq!(files.len(), 1, "{files:?}");
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(
            text.contains("a test event") && text.contains("answer=42"),
            "{text}"
        );
        assert!(!text.contains("filtered out"), "{text}");
        assert!(!text.contains('\u{1b}'), "no colour codes in the file");
    }
}
