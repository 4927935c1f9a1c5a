//! # sealcall-engine
//!
//! The call engine behind Sealcall's desktop app and command line: it signs in, rings the other
//! person, negotiates end-to-end encryption when both may and want it, and carries Opus audio,
//! VP8 camera video and a VP8 screen share over WebRTC, with every frame protected by
//! `sealcall-e2ee` inside the hop-by-hop DTLS-SRTP.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod call;
mod call_video;
pub mod contacts;
mod engine;
mod error;
pub mod frames;
pub mod identity;
pub mod media;
mod media_task;
mod pacer;
mod post_quantum;
pub mod transport;

pub use call_video::{VideoPicture, VideoStreamStats};
pub use engine::{
    AudioRoute, ConnectionState, CustomAudio, Engine, EngineConfig, EngineEvent, EngineEvents,
    Fingerprint, STANDARD_CALL_FEATURES, SessionInfo, Trust, check_server_url, next_event,
};
pub use error::{EngineError, Result};
pub use media::video::{ScreenSpec, VideoSpec, VideoStream};
pub use media_task::{CallStats, HoldState, RECORDING_NOTICE_TIMEOUT, RecordingState};
pub use post_quantum::PostQuantumStatus;
pub use sealcall_e2ee::PostQuantum;
