//! The media layer: [`audio`] (Opus at 48 kHz mono in 20 ms frames) and [`video`] (VP8 camera
//! and screen share, whole frames packetized for RTP).
//!
//! Everything here except device capture and playout is sans-IO: time is passed in explicitly
//! (as a [`Duration`](std::time::Duration) since an arbitrary epoch chosen by the caller) and
//! nothing spawns threads. The audio items are re-exported here, so `media::OpusEncoder` and
//! `media::audio::OpusEncoder` name the same thing.

pub mod audio;
pub mod video;

pub use audio::*;
