//! The reference walkthrough end to end (written next).
#![allow(clippy::unwrap_used, clippy::expect_used)]

fn main() -> std::process::ExitCode {
    sealcall_scenarios::harness::run(Vec::new())
}
