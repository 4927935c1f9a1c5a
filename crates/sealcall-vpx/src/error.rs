//! The crate's one error type.
//!
//! Messages name sizes, limits and libvpx status codes, never frame content: no pixel values, no
//! encoded bytes, and no libvpx detail strings (those are not needed, since every input is
//! validated here before libvpx sees it).

use core::fmt;

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A width or height is 0 or above the limit (see [`crate::MAX_DIMENSION`]).
    #[error("invalid frame dimensions {width}x{height}: each must be between 1 and {max}")]
    InvalidDimensions {
        /// The requested width in pixels.
        width: u32,
        /// The requested height in pixels.
        height: u32,
        /// The largest width or height allowed.
        max: u32,
    },
    /// A plane given to [`crate::I420Frame::from_planes`] has the wrong length.
    #[error("the {plane} plane has {actual} bytes, but the frame dimensions need {expected}")]
    PlaneSize {
        /// Which plane.
        plane: Plane,
        /// The length the dimensions call for.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// An [`crate::EncoderConfig`] field is out of range; the text names the field and range.
    #[error("invalid encoder configuration: {0}")]
    InvalidConfig(&'static str),
    /// A target bitrate outside [`crate::MIN_BITRATE_KBPS`]`..=`[`crate::MAX_BITRATE_KBPS`].
    #[error("bitrate {kbps} kbit/s is outside {min}..={max} kbit/s")]
    InvalidBitrate {
        /// The bitrate asked for, in kbit/s.
        kbps: u32,
        /// The lowest bitrate allowed, in kbit/s.
        min: u32,
        /// The highest bitrate allowed, in kbit/s.
        max: u32,
    },
    /// The frame given to [`crate::Encoder::encode`] is not the configured size.
    #[error(
        "the frame is {frame_width}x{frame_height} but the encoder is configured for {width}x{height}"
    )]
    FrameSizeMismatch {
        /// The frame's width.
        frame_width: u32,
        /// The frame's height.
        frame_height: u32,
        /// The configured width.
        width: u32,
        /// The configured height.
        height: u32,
    },
    /// A presentation timestamp that is not after the previous frame's, or above
    /// [`crate::MAX_PTS`].
    #[error("presentation timestamp {pts} is not after the previous one or exceeds {max}")]
    InvalidPts {
        /// The timestamp given.
        pts: u64,
        /// The largest timestamp allowed.
        max: u64,
    },
    /// Encoded input above [`crate::MAX_ENCODED_FRAME_LEN`].
    #[error("an encoded frame of {len} bytes exceeds the {max}-byte limit")]
    InputTooLarge {
        /// The input's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The input is not a well-formed VP8 frame: empty, shorter than its frame header, a bad key
    /// frame start code, zero dimensions, or a first partition longer than the data (see
    /// [`crate::vp8_frame_info`]).
    #[error("not a well-formed VP8 frame")]
    InvalidBitstream,
    /// An interframe arrived before the decoder had decoded a complete key frame (or after a key
    /// frame failed to decode). The sender must send a key frame.
    #[error("an interframe arrived without a decoded key frame to predict from")]
    NoKeyframe,
    /// A key frame declares dimensions above the decoder's limit. It was not given to libvpx.
    #[error(
        "the stream is {width}x{height}, above the decoder's limit of {max_width}x{max_height}"
    )]
    StreamTooLarge {
        /// The width the key frame declares.
        width: u32,
        /// The height the key frame declares.
        height: u32,
        /// The decoder's width limit.
        max_width: u32,
        /// The decoder's height limit.
        max_height: u32,
    },
    /// libvpx decoded the frame but flags it corrupt (its data ran short, or it predicts from a
    /// frame that failed to decode), or accepted a frame meant to be shown without producing a
    /// picture. Nothing is returned; a key frame is needed.
    #[error("the frame is corrupt or predicts from a corrupt frame; a key frame is needed")]
    CorruptFrame,
    /// A libvpx call failed.
    #[error("libvpx {operation} failed: {status}")]
    Codec {
        /// The libvpx function that failed.
        operation: &'static str,
        /// Its status code.
        status: CodecStatus,
    },
    /// libvpx returned an image that breaks its documented contract (wrong format, size or
    /// strides). Never expected; the image is not read.
    #[error("libvpx returned an unexpected image: {0}")]
    UnexpectedImage(&'static str),
}

/// One of an [`crate::I420Frame`]'s three planes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Plane {
    /// Luma.
    Y,
    /// Blue-difference chroma (Cb).
    U,
    /// Red-difference chroma (Cr).
    V,
}

impl fmt::Display for Plane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Plane::Y => "Y",
            Plane::U => "U",
            Plane::V => "V",
        })
    }
}

/// A libvpx status code (`vpx_codec_err_t`) other than success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CodecStatus {
    /// `VPX_CODEC_ERROR`: unspecified error.
    Error,
    /// `VPX_CODEC_MEM_ERROR`: memory allocation failed.
    MemError,
    /// `VPX_CODEC_ABI_MISMATCH`: the library's ABI differs from the headers this was built with.
    AbiMismatch,
    /// `VPX_CODEC_INCAPABLE`: the algorithm lacks a required capability.
    Incapable,
    /// `VPX_CODEC_UNSUP_BITSTREAM`: the bitstream uses features the decoder lacks, or is not VP8.
    UnsupportedBitstream,
    /// `VPX_CODEC_UNSUP_FEATURE`: the stream needs a feature the decoder lacks.
    UnsupportedFeature,
    /// `VPX_CODEC_CORRUPT_FRAME`: the data is corrupt.
    CorruptFrame,
    /// `VPX_CODEC_INVALID_PARAM`: libvpx rejected a parameter.
    InvalidParam,
    /// A value outside the documented set (libvpx's VP8 decoder can return -1).
    Other(u32),
}

impl CodecStatus {
    /// Maps a raw non-zero `vpx_codec_err_t` value.
    pub(crate) fn from_raw(raw: u32) -> Self {
        match raw {
            1 => CodecStatus::Error,
            2 => CodecStatus::MemError,
            3 => CodecStatus::AbiMismatch,
            4 => CodecStatus::Incapable,
            5 => CodecStatus::UnsupportedBitstream,
            6 => CodecStatus::UnsupportedFeature,
            7 => CodecStatus::CorruptFrame,
            8 => CodecStatus::InvalidParam,
            other => CodecStatus::Other(other),
        }
    }
}

impl fmt::Display for CodecStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecStatus::Error => f.write_str("unspecified error"),
            CodecStatus::MemError => f.write_str("memory allocation failed"),
            CodecStatus::AbiMismatch => f.write_str("ABI version mismatch"),
            CodecStatus::Incapable => f.write_str("algorithm lacks a required capability"),
            CodecStatus::UnsupportedBitstream => f.write_str("unsupported bitstream"),
            CodecStatus::UnsupportedFeature => f.write_str("unsupported feature"),
            CodecStatus::CorruptFrame => f.write_str("corrupt frame"),
            CodecStatus::InvalidParam => f.write_str("invalid parameter"),
            CodecStatus::Other(raw) => write!(f, "status {raw}"),
        }
    }
}
