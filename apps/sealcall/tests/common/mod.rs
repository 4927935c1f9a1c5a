//! What the tests of the real `sealcall` binary share.
#![allow(dead_code)]

use std::process::{Command, Stdio};

/// Every test user's password.
pub const PASSWORD: &str = "correct horse battery";
/// The tenant's administrator.
pub const ADMIN: &str = "admin@contoso.onmicrosoft.com";

/// The `sealcall` binary with the password in its environment and no standard input.
pub fn sealcall() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sealcall"));
    c.env("SEALCALL_PASSWORD", PASSWORD).stdin(Stdio::null());
    c
}
