//! Video: VP8 camera and screen-share streams, whole frames packetized for RTP.
//!
//! * [`source`]: where frames come from ([`TestPatternSource`], the X11 screen through
//!   [`screen`], frames fed in by the application), and the CLI specs `--video` / `--screen`.
//! * [`pattern`]: the deterministic [`TestPattern`] and what tests measure on received frames
//!   (frame counter, marker position, [`psnr_y`]).
//! * [`packet`]: the per-frame RTP payload format (a one-byte descriptor with start and end
//!   bits) and the [`Reassembler`] that rebuilds frames before anything looks inside them.
//! * [`keyframes`]: when a receiver may decode and asks for a keyframe ([`KeyframeGate`]), and
//!   when a sender sends one ([`KeyframePacer`]).
//! * [`pipeline`]: the encoder and decoder threads, off the 20 ms audio loop.
//! * [`bitrate`]: the send estimate of congestion control split into encoder targets.
//! * [`convert`]: BGRX ↔ I420 ↔ RGBA; [`y4m`]: YUV4MPEG2 output of what was received.
//!
//! The codec is libvpx's VP8 through `sealcall-vpx`; frames are [`VideoFrame`]s (I420).

pub mod bitrate;
pub mod convert;
pub mod keyframes;
pub mod packet;
pub mod pattern;
pub mod pipeline;
pub mod screen;
pub mod source;
pub mod y4m;

pub use keyframes::{Admit, KeyframeGate, KeyframePacer};
pub use packet::{MAX_RTP_PAYLOAD, MAX_VIDEO_FRAME_LEN, Reassembler, ReassemblyConfig};
pub use pattern::{TestPattern, psnr_y};
pub use pipeline::{DecodedVideo, EncodedVideo, VideoDecoderThread, VideoEncoderThread};
pub use sealcall_vpx::{Content, I420Frame as VideoFrame};
pub use source::{
    FedSource, FrameFeed, ScreenSpec, TestPatternSource, VideoSource, VideoSpec, open_camera,
    open_screen,
};

use sealcall_e2ee::MediaKind;

/// One of a call's two video streams. Each has its own RTP track, its own SFrame keys and
/// counters (so a hop that swaps them gets refusals), its own encoder and decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoStream {
    /// The camera (or the test pattern standing in for one).
    Camera,
    /// The shared screen or window.
    Screen,
}

impl VideoStream {
    /// Both streams.
    pub const ALL: [VideoStream; 2] = [VideoStream::Camera, VideoStream::Screen];

    /// `camera` or `screen`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Camera => "camera",
            Self::Screen => "screen",
        }
    }

    /// The media kind whose keys protect this stream.
    pub fn media_kind(self) -> MediaKind {
        match self {
            Self::Camera => MediaKind::Video,
            Self::Screen => MediaKind::Screen,
        }
    }
}

/// Default target bitrate of the camera stream, in kbit/s.
pub const CAMERA_KBPS: u32 = 800;
/// Default target bitrate of the screen share, in kbit/s.
pub const SCREEN_KBPS: u32 = 1200;
