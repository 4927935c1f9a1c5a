//! # sealcall-engine
//!
//! The call engine behind Sealcall's desktop app and command line: it signs in, rings the other
//! person, negotiates end-to-end encryption when both may and want it, and carries Opus audio over
//! WebRTC with every frame protected by `sealcall-e2ee` inside the hop-by-hop DTLS-SRTP.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod call;
mod error;
pub mod frames;
pub mod media;
pub mod transport;

pub use error::{EngineError, Result};
