//! # sealcall-benches
//!
//! What end-to-end encryption costs per media frame in Sealcall, measured the same way for
//! every implementation so the numbers compare:
//!
//! - [`cases`]: one [`FrameCase`] per implementation: Sealcall's [`FrameSender`] /
//!   [`FrameReceiver`] (each AEAD backend), the raw AEAD call with no framing (the floor), the
//!   `sframe` crate (RFC 9605) and webrtc-rs' SRTP (`rtc-srtp`, AEAD_AES_128_GCM / _256_GCM).
//! - [`extras`]: the whole handshake (X25519 alone and the X25519 + ML-KEM-768 hybrid, with its
//!   messages' sizes), ML-KEM-768 keygen, encapsulate and decapsulate, one rekey, and Opus
//!   encode + protect of a 20 ms frame.
//! - [`measure`]: the timing loops. The criterion benches (`benches/`) and `sealcall bench` call
//!   the very same loops ([`FrameCase::time_protect`], [`FrameCase::time_unprotect`],
//!   [`Routine::run`]); `sealcall bench` adds its own short sampling on top.
//! - [`report`]: the machine, the versions, the table and the JSON of a `sealcall bench` run.
//! - `audio` (feature `audio-processing`): echo cancellation, noise suppression, gain control
//!   and the high-pass filter on the microphone, each part and the whole chain, per 10 ms frame.
//! - `video` (feature `video`): a VP8 frame stage by stage — encode, protect, packetize,
//!   reassemble, unprotect, decode — at 640x480 and 1280x720, and the encryption's share.
//!
//! ## How unprotect is timed honestly
//! Unprotect includes the replay check, so a frame can be opened once only, and it decrypts in
//! place. Every implementation therefore gets the same treatment: a ring of fresh protected
//! frames (sized to stay in the L2 cache) is filled *outside* the timed region, then the ring is
//! unprotected in order *inside* it, and this repeats until the iteration count is reached.
//! Counters only ever increase, so every timed unprotect passes the replay check for real and
//! no copy-back (memcpy) is timed.
//!
//! [`FrameSender`]: sealcall_e2ee::FrameSender
//! [`FrameReceiver`]: sealcall_e2ee::FrameReceiver

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

#[cfg(feature = "audio-processing")]
pub mod audio;
pub mod cases;
pub mod extras;
pub mod machine;
pub mod measure;
pub mod report;
#[cfg(feature = "video")]
pub mod video;

pub use cases::{FrameCase, Implementation, new_case, new_trace_case};
pub use extras::Routine;

use core::fmt;

/// A media frame shape the benchmarks use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct FrameShape {
    /// Payload bytes.
    pub bytes: usize,
    /// What the size stands for.
    pub name: &'static str,
}

/// The real media shapes: two audio frames, an RTP-sized video packet, a video frame and a
/// screen-share frame.
pub const FRAME_SHAPES: [FrameShape; 5] = [
    FrameShape {
        bytes: 64,
        name: "audio frame",
    },
    FrameShape {
        bytes: 160,
        name: "audio frame",
    },
    FrameShape {
        bytes: 1200,
        name: "video packet",
    },
    FrameShape {
        bytes: 16 * 1024,
        name: "video frame",
    },
    FrameShape {
        bytes: 128 * 1024,
        name: "screen-share frame",
    },
];

/// The frame sizes in bytes, in [`FRAME_SHAPES`] order.
pub const FRAME_SIZES: [usize; 5] = [64, 160, 1200, 16 * 1024, 128 * 1024];

/// The audio budget a frame's cost is compared with: one 20 ms audio frame, in nanoseconds.
pub const AUDIO_BUDGET_NS: f64 = 20_000_000.0;

/// Which operation is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// Encrypt and frame.
    Protect,
    /// Parse, replay check, authenticate and decrypt.
    Unprotect,
}

impl Op {
    /// Both operations.
    pub const ALL: [Op; 2] = [Op::Protect, Op::Unprotect];

    /// A short name.
    pub const fn name(self) -> &'static str {
        match self {
            Op::Protect => "protect",
            Op::Unprotect => "unprotect",
        }
    }
}

/// An error while setting up or running a benchmark case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchError(String);

impl BenchError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// A closure turning any displayable error into a [`BenchError`] that names its context.
    pub fn ctx<E: fmt::Display>(context: &'static str) -> impl Fn(E) -> BenchError {
        move |e| BenchError(format!("{context}: {e}"))
    }
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BenchError {}

/// Result of this crate.
pub type Result<T> = core::result::Result<T, BenchError>;

/// Formats a byte count the way the tables do: `64 B`, `16 KiB`.
pub fn size_label(bytes: usize) -> String {
    if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}
