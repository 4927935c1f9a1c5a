//! The VP8 [`Encoder`] and its [`EncoderConfig`].

use core::fmt;

use crate::error::Error;
use crate::ffi::{EncoderParams, RawEncoder, RawPacket};
use crate::frame::{I420Frame, MAX_DIMENSION};

/// The clock of presentation timestamps: 90 kHz, the RTP clock rate of video. A frame's `pts` is
/// its capture time in 1/90000 s, not a frame counter (see [`Encoder::encode`]).
pub const TIMEBASE_HZ: u32 = 90_000;

/// The largest presentation timestamp accepted: 2^50 ticks of [`TIMEBASE_HZ`], about 396 years.
/// The bound keeps libvpx's internal timestamp arithmetic (ticks * 1000 / 9, in `int64_t`) far
/// from overflow.
pub const MAX_PTS: u64 = 1 << 50;

/// The lowest target bitrate, in kbit/s.
pub const MIN_BITRATE_KBPS: u32 = 10;

/// The highest target bitrate, in kbit/s.
pub const MAX_BITRATE_KBPS: u32 = 50_000;

/// The highest frame rate [`EncoderConfig::fps`] may name.
pub const MAX_FPS: u32 = 120;

/// The most encoder threads [`EncoderConfig::threads`] may ask for.
pub const MAX_THREADS: u32 = 16;

/// The highest speed [`EncoderConfig::cpu_used`] may ask for. libvpx accepts 16, but at 16 its
/// rate control misses the target badly (measured here), so 15 is the top.
pub const MAX_CPU_USED: u8 = 15;

/// The longest [`EncoderConfig::keyframe_max_interval`], in frames.
pub const MAX_KEYFRAME_INTERVAL: u32 = 100_000;

/// What the encoder is fed, which selects libvpx's tuning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Content {
    /// Camera video: natural images, motion, sensor noise.
    Camera,
    /// A shared screen or window: sharp text and edges, large static areas, low frame rate.
    /// Turns on libvpx's screen content mode (`VP8E_SET_SCREEN_CONTENT_MODE` 1: screen-tuned
    /// mode decisions and background refresh, without mode 2's dropping of frames that overshoot)
    /// and a higher quality floor (minimum quantizer 12) that keeps bits for text edges instead of
    /// polishing flat areas.
    Screen,
}

/// Settings for an [`Encoder`]. Start from [`EncoderConfig::camera`] or
/// [`EncoderConfig::screen`] and change fields as needed.
///
/// Fixed for every encoder, as WebRTC configures libvpx for real-time calls: one pass, the
/// real-time deadline (`VPX_DL_REALTIME`), constant bitrate (`VPX_CBR`) with a 1000 ms rate
/// buffer (500 ms initial, 600 ms optimal), 100% undershoot and 15% overshoot allowed, quantizer
/// at most 56, no look-ahead (`g_lag_in_frames` 0, so each frame comes out of the same
/// [`Encoder::encode`] call it went into), error-resilient mode (no entropy-context carry-over,
/// so a lost frame does not poison later ones' probabilities), one token partition, no spatial
/// resizing, no denoiser, and no frame dropping (`rc_dropframe_thresh` 0): every input frame
/// yields one compressed frame, even when that overshoots the target.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncoderConfig {
    /// Frame width in pixels, 1 to [`MAX_DIMENSION`]. Odd values are fine.
    pub width: u32,
    /// Frame height in pixels, 1 to [`MAX_DIMENSION`]. Odd values are fine.
    pub height: u32,
    /// The nominal frame rate, 1 to [`MAX_FPS`]: each frame's duration is taken as `1 / fps`.
    /// Rate control follows the actual timestamps; this sets the starting point and the key
    /// frame size cap.
    pub fps: u32,
    /// The target bitrate in kbit/s, [`MIN_BITRATE_KBPS`] to [`MAX_BITRATE_KBPS`]. Change it
    /// mid-stream with [`Encoder::set_bitrate`].
    pub bitrate_kbps: u32,
    /// Camera or screen tuning.
    pub content: Content,
    /// Speed over quality, 0 (slowest, best) to [`MAX_CPU_USED`]. It is a fixed speed: it is
    /// passed to libvpx as `-cpu_used`, since a positive value there makes libvpx adapt the speed
    /// to wall-clock encode times, which makes output depend on machine load.
    pub cpu_used: u8,
    /// Encoder threads, 1 to [`MAX_THREADS`].
    pub threads: u32,
    /// The longest run of frames between key frames, 1 to [`MAX_KEYFRAME_INTERVAL`] (1: every
    /// frame is a key frame). libvpx may also place a key frame earlier, at a scene cut.
    pub keyframe_max_interval: u32,
}

/// A target bitrate of one kbit/s per `pixels_per_kbps` pixels a second, clamped to 100..=4000.
fn default_bitrate(width: u32, height: u32, fps: u32, pixels_per_kbps: u64) -> u32 {
    let pixels_per_second = u64::from(width) * u64::from(height) * u64::from(fps);
    let kbps = pixels_per_second / pixels_per_kbps;
    kbps.clamp(100, 4_000) as u32
}

impl EncoderConfig {
    /// Camera video at 30 frame/s. The bitrate scales with the picture area: 800 kbit/s at
    /// 640x480, 2400 kbit/s at 1280x720, 200 kbit/s at 320x240 (between 100 and 4000). Speed 6,
    /// one thread, a key frame at least every 300 frames (10 s).
    pub fn camera(width: u32, height: u32) -> Self {
        let fps = 30;
        EncoderConfig {
            width,
            height,
            fps,
            bitrate_kbps: default_bitrate(width, height, fps, 11_520),
            content: Content::Camera,
            cpu_used: 6,
            threads: 1,
            keyframe_max_interval: 300,
        }
    }

    /// Screen content at 5 frame/s. The bitrate scales with the picture area: 1200 kbit/s at
    /// 1280x720, 2700 kbit/s at 1920x1080 (between 100 and 4000). Speed 8, one thread, a key
    /// frame at least every 300 frames (60 s): screen key frames are large.
    pub fn screen(width: u32, height: u32) -> Self {
        let fps = 5;
        EncoderConfig {
            width,
            height,
            fps,
            bitrate_kbps: default_bitrate(width, height, fps, 3_840),
            content: Content::Screen,
            cpu_used: 8,
            threads: 1,
            keyframe_max_interval: 300,
        }
    }

    /// Checks every field against its documented range.
    pub fn validate(&self) -> Result<(), Error> {
        if !(1..=MAX_DIMENSION).contains(&self.width) || !(1..=MAX_DIMENSION).contains(&self.height)
        {
            return Err(Error::InvalidDimensions {
                width: self.width,
                height: self.height,
                max: MAX_DIMENSION,
            });
        }
        check_bitrate(self.bitrate_kbps)?;
        if !(1..=MAX_FPS).contains(&self.fps) {
            return Err(Error::InvalidConfig("fps must be between 1 and 120"));
        }
        if self.cpu_used > MAX_CPU_USED {
            return Err(Error::InvalidConfig("cpu_used must be between 0 and 15"));
        }
        if !(1..=MAX_THREADS).contains(&self.threads) {
            return Err(Error::InvalidConfig("threads must be between 1 and 16"));
        }
        if !(1..=MAX_KEYFRAME_INTERVAL).contains(&self.keyframe_max_interval) {
            return Err(Error::InvalidConfig(
                "keyframe_max_interval must be between 1 and 100000",
            ));
        }
        Ok(())
    }

    /// The libvpx settings for this (validated) configuration.
    fn params(&self) -> EncoderParams {
        let (min_quantizer, screen_content_mode) = match self.content {
            Content::Camera => (2, 0),
            Content::Screen => (12, 1),
        };
        let buffer_optimal_ms = 600;
        // WebRTC's cap on a key frame's size, in percent of an average frame: half the optimal
        // buffer's worth of bits, and never below three average frames.
        let max_intra_bitrate_pct = (buffer_optimal_ms / 2 * self.fps / 10).max(300);
        EncoderParams {
            width: self.width,
            height: self.height,
            threads: self.threads,
            timebase_den: TIMEBASE_HZ,
            bitrate_kbps: self.bitrate_kbps,
            min_quantizer,
            max_quantizer: 56,
            undershoot_pct: 100,
            overshoot_pct: 15,
            buffer_ms: 1000,
            buffer_initial_ms: 500,
            buffer_optimal_ms,
            keyframe_max_interval: self.keyframe_max_interval,
            cpu_used: -i32::from(self.cpu_used),
            screen_content_mode,
            static_threshold: 1,
            noise_sensitivity: 0,
            max_intra_bitrate_pct,
        }
    }
}

fn check_bitrate(kbps: u32) -> Result<(), Error> {
    if (MIN_BITRATE_KBPS..=MAX_BITRATE_KBPS).contains(&kbps) {
        Ok(())
    } else {
        Err(Error::InvalidBitrate {
            kbps,
            min: MIN_BITRATE_KBPS,
            max: MAX_BITRATE_KBPS,
        })
    }
}

/// One compressed VP8 frame.
///
/// `Debug` prints the length and flags, never the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodedFrame {
    /// The VP8 frame, starting with its uncompressed data chunk (see [`crate::vp8_frame_info`]).
    pub data: Vec<u8>,
    /// A key frame: decodable on its own.
    pub keyframe: bool,
    /// The presentation timestamp of the input frame, in [`TIMEBASE_HZ`] ticks.
    pub pts: u64,
}

impl fmt::Debug for EncodedFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncodedFrame")
            .field("len", &self.data.len())
            .field("keyframe", &self.keyframe)
            .field("pts", &self.pts)
            .finish()
    }
}

/// A real-time VP8 encoder (libvpx).
///
/// `Send` but not `Sync`: move it to the thread that encodes.
pub struct Encoder {
    raw: RawEncoder,
    config: EncoderConfig,
    /// The duration of one frame in timebase ticks.
    frame_duration: u32,
    last_pts: Option<u64>,
    packets: Vec<RawPacket>,
}

impl fmt::Debug for Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoder")
            .field("config", &self.config)
            .field("last_pts", &self.last_pts)
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// An encoder for `config`, which is validated first ([`EncoderConfig::validate`]).
    pub fn new(config: EncoderConfig) -> Result<Self, Error> {
        config.validate()?;
        let raw = RawEncoder::new(&config.params())?;
        Ok(Encoder {
            raw,
            frame_duration: TIMEBASE_HZ / config.fps,
            config,
            last_pts: None,
            packets: Vec::new(),
        })
    }

    /// Encodes `frame`, captured at `pts` (in [`TIMEBASE_HZ`] ticks; strictly increasing, at
    /// most [`MAX_PTS`]), and returns the compressed frames libvpx produced.
    ///
    /// Pass the capture time, not a frame counter: libvpx's rate control takes the frame rate
    /// from the gaps between timestamps, so a counter (a gap of one tick) reads as 90000 frame/s
    /// and starves every frame (measured at 640x480 and 800 kbit/s: 298 kbit/s and 35.5 dB
    /// instead of 739 kbit/s and 39.6 dB). At a steady rate, frame `n` is at
    /// `n * (TIMEBASE_HZ / fps)`.
    ///
    /// With this configuration (no look-ahead, no frame dropping) that is exactly one frame, but
    /// callers should handle any number. The first frame and any with `force_keyframe` are key
    /// frames.
    ///
    /// Fails with [`Error::FrameSizeMismatch`] if `frame` is not the configured size,
    /// [`Error::InvalidPts`], or [`Error::Codec`].
    pub fn encode(
        &mut self,
        frame: &I420Frame,
        pts: u64,
        force_keyframe: bool,
    ) -> Result<Vec<EncodedFrame>, Error> {
        let mut out = Vec::with_capacity(1);
        self.encode_into(frame, pts, force_keyframe, &mut out)?;
        Ok(out)
    }

    /// As [`encode`](Self::encode), appending to `out` (which is not cleared) so its allocation
    /// can be reused.
    pub fn encode_into(
        &mut self,
        frame: &I420Frame,
        pts: u64,
        force_keyframe: bool,
        out: &mut Vec<EncodedFrame>,
    ) -> Result<(), Error> {
        if frame.width() != self.config.width || frame.height() != self.config.height {
            return Err(Error::FrameSizeMismatch {
                frame_width: frame.width(),
                frame_height: frame.height(),
                width: self.config.width,
                height: self.config.height,
            });
        }
        let invalid_pts = Error::InvalidPts { pts, max: MAX_PTS };
        if pts > MAX_PTS || self.last_pts.is_some_and(|last| pts <= last) {
            return Err(invalid_pts);
        }
        let Ok(pts_signed) = i64::try_from(pts) else {
            return Err(invalid_pts);
        };
        self.packets.clear();
        self.raw.encode(
            frame,
            pts_signed,
            self.frame_duration.into(),
            force_keyframe,
            &mut self.packets,
        )?;
        self.last_pts = Some(pts);
        out.reserve(self.packets.len());
        for packet in self.packets.drain(..) {
            // libvpx maps the timestamp back exactly; fall back to the input's if it ever did not
            // fit.
            let pts = u64::try_from(packet.pts).unwrap_or(pts);
            out.push(EncodedFrame {
                data: packet.data,
                keyframe: packet.keyframe,
                pts,
            });
        }
        Ok(())
    }

    /// Changes the target bitrate from the next frame on (libvpx's `vpx_codec_enc_config_set`).
    ///
    /// Fails with [`Error::InvalidBitrate`] outside [`MIN_BITRATE_KBPS`]`..=`[`MAX_BITRATE_KBPS`];
    /// the old bitrate then stays.
    pub fn set_bitrate(&mut self, kbps: u32) -> Result<(), Error> {
        check_bitrate(kbps)?;
        self.raw.set_bitrate(kbps)?;
        self.config.bitrate_kbps = kbps;
        Ok(())
    }

    /// The current target bitrate in kbit/s.
    pub fn bitrate_kbps(&self) -> u32 {
        self.config.bitrate_kbps
    }

    /// The configuration, with the current bitrate.
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_bitrates_scale_with_area() {
        assert_eq!(EncoderConfig::camera(640, 480).bitrate_kbps, 800);
        assert_eq!(EncoderConfig::camera(1280, 720).bitrate_kbps, 2400);
        assert_eq!(EncoderConfig::camera(320, 240).bitrate_kbps, 200);
        assert_eq!(EncoderConfig::camera(16, 16).bitrate_kbps, 100);
        assert_eq!(EncoderConfig::camera(4096, 4096).bitrate_kbps, 4000);
        assert_eq!(EncoderConfig::screen(1280, 720).bitrate_kbps, 1200);
        assert_eq!(EncoderConfig::screen(1920, 1080).bitrate_kbps, 2700);
    }

    #[test]
    fn validation_names_each_range() {
        assert!(EncoderConfig::camera(640, 480).validate().is_ok());
        assert!(EncoderConfig::screen(4096, 4096).validate().is_ok());
        let bad = |f: fn(&mut EncoderConfig)| {
            let mut c = EncoderConfig::camera(64, 64);
            f(&mut c);
            c.validate().unwrap_err()
        };
        assert!(matches!(
            bad(|c| c.width = 0),
            Error::InvalidDimensions { .. }
        ));
        assert!(matches!(
            bad(|c| c.height = 4097),
            Error::InvalidDimensions { .. }
        ));
        assert!(matches!(
            bad(|c| c.bitrate_kbps = 9),
            Error::InvalidBitrate { .. }
        ));
        assert!(matches!(
            bad(|c| c.bitrate_kbps = 50_001),
            Error::InvalidBitrate { .. }
        ));
        assert!(matches!(bad(|c| c.fps = 0), Error::InvalidConfig(_)));
        assert!(matches!(bad(|c| c.fps = 121), Error::InvalidConfig(_)));
        assert!(matches!(bad(|c| c.cpu_used = 16), Error::InvalidConfig(_)));
        assert!(matches!(bad(|c| c.threads = 0), Error::InvalidConfig(_)));
        assert!(matches!(bad(|c| c.threads = 17), Error::InvalidConfig(_)));
        assert!(matches!(
            bad(|c| c.keyframe_max_interval = 0),
            Error::InvalidConfig(_)
        ));
    }

    #[test]
    fn params_follow_content() {
        let camera = EncoderConfig::camera(640, 480).params();
        assert_eq!(camera.cpu_used, -6);
        assert_eq!(camera.screen_content_mode, 0);
        assert_eq!(camera.max_intra_bitrate_pct, 900);
        let screen = EncoderConfig::screen(1280, 720).params();
        assert_eq!(screen.screen_content_mode, 1);
        assert_eq!(screen.min_quantizer, 12);
        assert_eq!(screen.max_intra_bitrate_pct, 300);
    }
}
