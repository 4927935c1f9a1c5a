//! The VP8 [`Decoder`].

use core::fmt;

use crate::error::Error;
use crate::ffi::RawDecoder;
use crate::frame::{I420Frame, MAX_DIMENSION};
use crate::header::vp8_frame_info;

/// The longest encoded frame the decoder accepts: 16 MiB. A VP8 frame at [`MAX_DIMENSION`]
/// squared is far smaller at any sane bitrate (a raw 4096x4096 I420 picture is 24 MiB).
pub const MAX_ENCODED_FRAME_LEN: usize = 16 << 20;

/// A VP8 decoder (libvpx) that copies each picture out into an [`I420Frame`].
///
/// Built for untrusted input: every frame's header is parsed in Rust first
/// ([`crate::vp8_frame_info`]) and refused unless well formed; key frames declaring more than the
/// decoder's limit (by default [`MAX_DIMENSION`] in each direction) never reach libvpx;
/// interframes are refused until a key frame has decoded cleanly; and a frame libvpx flags as
/// corrupt (truncated data, or predicting from a frame that failed), or a frame meant to be shown
/// that libvpx accepts without producing a picture (which libvpx 1.12 does for some invalid
/// reference updates), is reported as [`Error::CorruptFrame`] instead of shown. libvpx runs
/// without error concealment, postprocessing or frame threading.
///
/// After an error, keep feeding frames: the next clean key frame restores the picture. A caller
/// that loses frames should ask the sender for a key frame, as VP8 cannot tell it that a
/// reference is missing.
///
/// `Send` but not `Sync`.
pub struct Decoder {
    raw: RawDecoder,
    max_width: u32,
    max_height: u32,
    /// The dimensions of the last key frame given to libvpx, which libvpx has adopted.
    stream: Option<(u32, u32)>,
    /// Whether the last key frame given to libvpx decoded cleanly, so interframes can follow.
    synced: bool,
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("max_width", &self.max_width)
            .field("max_height", &self.max_height)
            .field("stream", &self.stream)
            .field("synced", &self.synced)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// A decoder for streams up to [`MAX_DIMENSION`] x [`MAX_DIMENSION`].
    pub fn new() -> Result<Self, Error> {
        Self::with_max_dimensions(MAX_DIMENSION, MAX_DIMENSION)
    }

    /// A decoder that refuses key frames wider than `max_width` or taller than `max_height`
    /// ([`Error::StreamTooLarge`]). Each limit must be between 1 and [`MAX_DIMENSION`].
    pub fn with_max_dimensions(max_width: u32, max_height: u32) -> Result<Self, Error> {
        if !(1..=MAX_DIMENSION).contains(&max_width) || !(1..=MAX_DIMENSION).contains(&max_height) {
            return Err(Error::InvalidDimensions {
                width: max_width,
                height: max_height,
                max: MAX_DIMENSION,
            });
        }
        Ok(Decoder {
            raw: RawDecoder::new()?,
            max_width,
            max_height,
            stream: None,
            synced: false,
        })
    }

    /// The largest `(width, height)` this decoder accepts.
    pub fn max_dimensions(&self) -> (u32, u32) {
        (self.max_width, self.max_height)
    }

    /// The `(width, height)` of the stream: those of the last key frame given to libvpx.
    pub fn stream_dimensions(&self) -> Option<(u32, u32)> {
        self.stream
    }

    /// Decodes one VP8 frame. `Ok(None)` exactly when the frame is not meant to be shown (its
    /// `show_frame` bit is clear); a shown frame gives a picture or an error.
    ///
    /// The picture always has the dimensions of the stream's last key frame header.
    ///
    /// Errors: [`Error::InvalidBitstream`] (including empty input), [`Error::InputTooLarge`],
    /// [`Error::StreamTooLarge`], [`Error::NoKeyframe`], [`Error::CorruptFrame`],
    /// [`Error::Codec`] (libvpx refused the data).
    pub fn decode(&mut self, data: &[u8]) -> Result<Option<I420Frame>, Error> {
        let mut frame = I420Frame::empty();
        Ok(self.decode_into(data, &mut frame)?.then_some(frame))
    }

    /// As [`decode`](Self::decode), writing the picture into `out` (reshaped to the stream's
    /// dimensions, reusing its allocations) and returning whether there was one. On error, or
    /// when there is no picture, `out` is unchanged.
    pub fn decode_into(&mut self, data: &[u8], out: &mut I420Frame) -> Result<bool, Error> {
        if data.len() > MAX_ENCODED_FRAME_LEN {
            return Err(Error::InputTooLarge {
                len: data.len(),
                max: MAX_ENCODED_FRAME_LEN,
            });
        }
        let info = vp8_frame_info(data).ok_or(Error::InvalidBitstream)?;
        let dims = match info.dimensions() {
            Some((width, height)) => {
                if width > self.max_width || height > self.max_height {
                    return Err(Error::StreamTooLarge {
                        width,
                        height,
                        max_width: self.max_width,
                        max_height: self.max_height,
                    });
                }
                // libvpx adopts a key frame's dimensions as soon as it looks at it, and a failed
                // key frame leaves no clean reference: no interframes until the next good one.
                self.stream = Some((width, height));
                self.synced = false;
                (width, height)
            }
            None => match self.stream {
                Some(dims) if self.synced => dims,
                _ => return Err(Error::NoKeyframe),
            },
        };

        self.raw.decode(data)?;
        let corrupted = self.raw.frame_corrupted()?;
        if corrupted {
            // Drain the picture so libvpx's output state is consistent, but do not show it.
            self.raw.take_frame(dims.0, dims.1, None)?;
            return Err(Error::CorruptFrame);
        }
        if info.keyframe {
            self.synced = true;
        }
        if !info.show_frame {
            // Not for display (libvpx gives no picture for these; drain one if it ever did).
            self.raw.take_frame(dims.0, dims.1, None)?;
            return Ok(false);
        }
        if !self.raw.take_frame(dims.0, dims.1, Some(out))? {
            // libvpx accepted a frame meant to be shown and produced nothing. libvpx 1.12 does
            // this when a frame's golden/altref copy flags are invalid: the receive function
            // (vp8dx_receive_compressed_data) drops swap_frame_buffers' error after updating the
            // references part way. Their state is unknown, so wait for a key frame.
            self.synced = false;
            return Err(Error::CorruptFrame);
        }
        Ok(true)
    }
}
