//! # sealcall-vpx
//!
//! Sealcall's VP8 video codec: a safe wrapper over the system's libvpx for real-time calls.
//!
//! - [`Encoder`] / [`EncoderConfig`]: one-pass, real-time, constant-bitrate VP8 encoding tuned
//!   as WebRTC tunes libvpx, for [`Content::Camera`] or [`Content::Screen`], with mid-stream
//!   bitrate changes and forced key frames.
//! - [`Decoder`]: VP8 decoding of untrusted input into an [`I420Frame`], with size limits and
//!   corruption reporting.
//! - [`vp8_frame_info`]: a pure-Rust parser of the VP8 frame header (RFC 6386, section 9.1), to
//!   tell key frames and their dimensions without decoding.
//! - [`I420Frame`]: a tightly packed 8-bit YUV 4:2:0 picture, odd dimensions included.
//! - [`fuzzing`]: the body of the `vp8_decode` fuzz target.
//!
//! ```
//! use sealcall_vpx::{vp8_frame_info, Decoder, Encoder, EncoderConfig, I420Frame, TIMEBASE_HZ};
//! # fn main() -> Result<(), sealcall_vpx::Error> {
//! let mut encoder = Encoder::new(EncoderConfig::camera(64, 48))?;
//! let mut decoder = Decoder::new()?;
//! let mut picture = I420Frame::new(64, 48)?;
//! for i in 0..3u8 {
//!     picture.y_mut().fill(16 + 60 * i); // a brightening grey
//!     let pts = u64::from(i) * u64::from(TIMEBASE_HZ / 30);
//!     for packet in encoder.encode(&picture, pts, false)? {
//!         let header = vp8_frame_info(&packet.data).expect("libvpx writes valid headers");
//!         assert_eq!(header.keyframe, packet.keyframe);
//!         assert_eq!(packet.keyframe, i == 0); // the first frame is a key frame
//!
//!         let decoded = decoder.decode(&packet.data)?.expect("every frame is shown");
//!         assert_eq!((decoded.width(), decoded.height()), (64, 48));
//!         let luma = decoded.y()[0];
//!         assert!(luma.abs_diff(picture.y()[0]) <= 3, "{luma}");
//!     }
//! }
//! // Garbage is an error, never undefined behaviour.
//! assert!(decoder.decode(&[0xde, 0xad, 0xbe, 0xef]).is_err());
//! # Ok(()) }
//! ```
//!
//! ## Why `env-libvpx-sys`, and libvpx 1.12
//!
//! Sealcall builds on Debian 12, whose libvpx is 1.12 (with Debian's security fixes). The
//! bindings come from `env-libvpx-sys`, which ships bindings pre-generated per libvpx version
//! (1.3 to 1.13) and picks them by the version pkg-config reports, so the build needs
//! `libvpx-dev` and `pkg-config` but no libclang. The `vpx-rs` crate (0.2) needs libvpx 1.13 or
//! later, which Debian 12 does not have. Only VP8 is wrapped: it is what the engine sends.
//!
//! ## Safety
//!
//! This is the workspace's one crate allowed `unsafe`, and only in its private `ffi` module
//! (`unsafe_code` is denied everywhere else; clippy's `undocumented_unsafe_blocks` is denied
//! and `multiple_unsafe_ops_per_block` warns, so every `unsafe` block does one thing and says
//! why it is sound). The argument in brief, detailed in that module:
//!
//! - The Rust side validates everything before libvpx sees it: frame sizes against the plane
//!   lengths and the configuration, timestamps against overflow in libvpx's arithmetic, encoder
//!   settings against their ranges, and every encoded frame's header, key frame dimensions
//!   against the decoder's limit and lengths against `c_uint`.
//! - libvpx status codes are read as integers, not as the bindings' Rust enum, because libvpx's
//!   VP8 decoder can return `-1`, which would be undefined behaviour in a Rust enum. Enum-typed
//!   fields that libvpx writes are read as integers too, and its partly initialised packets field
//!   by field.
//! - Codec contexts are heap-allocated (stable address), opaque to Rust, destroyed exactly once
//!   in `Drop`, and used only through `&mut self`, so never concurrently; the wrappers are `Send`
//!   and not `Sync`.
//! - Whatever libvpx lends (compressed packets, decoded images) is copied into Rust-owned memory
//!   before the method returns, after checking strides and dimensions, so no borrowed pointer
//!   outlives the call that made it valid.
//!
//! What stays trusted is libvpx itself decoding hostile data without memory errors. The wrapper
//! shrinks that surface (malformed headers, oversize frames and interframes without a key frame
//! never reach it; error concealment, postprocessing and threading are off) and the `vp8_decode`
//! fuzz target exercises the rest. Errors never carry frame content, and `Debug` on frames prints
//! only sizes.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod decoder;
mod encoder;
mod error;
#[allow(unsafe_code)]
mod ffi;
mod frame;
pub mod fuzzing;
mod header;

pub use decoder::{Decoder, MAX_ENCODED_FRAME_LEN};
pub use encoder::{
    Content, EncodedFrame, Encoder, EncoderConfig, MAX_BITRATE_KBPS, MAX_CPU_USED, MAX_FPS,
    MAX_KEYFRAME_INTERVAL, MAX_PTS, MAX_THREADS, MIN_BITRATE_KBPS, TIMEBASE_HZ,
};
pub use error::{CodecStatus, Error, Plane};
pub use frame::{BLACK_LUMA, I420Frame, MAX_DIMENSION, NEUTRAL_CHROMA};
pub use header::{
    VP8_INTERFRAME_HEADER_LEN, VP8_KEYFRAME_HEADER_LEN, VP8_START_CODE, Vp8FrameInfo, Vp8FrameSize,
    vp8_frame_info,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}

    #[test]
    fn codecs_are_send() {
        assert_send::<Encoder>();
        assert_send::<Decoder>();
    }
}
