//! What the tests of the real `sealcall` binary share.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Every test user's password.
pub const PASSWORD: &str = "correct horse battery";
/// The tenant's administrator.
pub const ADMIN: &str = "admin@contoso.onmicrosoft.com";

/// Asserts that `sealcall` exited 0 (showing its output if not) and returns its standard output.
pub fn succeeded(out: &std::process::Output) -> String {
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    said
}

/// The `sealcall` binary with the password in its environment and no standard input.
pub fn sealcall() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sealcall"));
    c.env("SEALCALL_PASSWORD", PASSWORD).stdin(Stdio::null());
    c
}

/// A running `sealcall server`: its standard output, line by line.
pub struct Running {
    /// The process.
    pub child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    /// Starts `sealcall ARGS` with its standard output read line by line.
    pub fn start(args: &[&str]) -> Self {
        let mut child = sealcall()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// The rest of the first line that starts with `prefix` (within 60 s).
    pub fn after(&self, prefix: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no line starting with {prefix:?}"));
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.to_owned();
            }
        }
    }
}

impl Running {
    /// Sends the signal `name` (`TERM`, `KILL`, …).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -s {name} failed");
    }

    /// Waits up to `within` for the process to exit.
    pub fn exited_within(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
