//! What a video frame costs, stage by stage, and the end-to-end encryption's share of it.
//!
//! Two real streams: the camera test pattern at 640x480 (800 kbit/s, 30 fps) and the screen
//! test pattern at 1280x720 (screen-content mode, 1200 kbit/s, 10 fps). Five seconds of each
//! are encoded once: the stream's real frame sizes, its keyframe and its delta frames, are the
//! [`SizeDistribution`] and the trace the frame layer is timed on. Then each stage is timed on
//! its own:
//!
//! - sender: VP8 **encode** (the next picture, in order), SFrame **protect** (Sealcall, the
//!   stream's frames in order, their real sizes), **packetize** (a frame of the mean size into
//!   1200-byte RTP payloads, as the transport does, each payload its own buffer);
//! - receiver: **reassemble** (those payloads back into the frame), SFrame **unprotect** (the
//!   stream's frames in order, freshly protected, as in [`crate::cases`]), VP8 **decode** (the
//!   sequence in order).
//!
//! The raw AEAD call with the same 4-byte AAD runs the same trace, so [`TraceCost`] gives the
//! framing overhead on a real stream. The end-to-end encryption's share is (protect +
//! unprotect) / (all six stages).

use core::hint::black_box;
use core::time::Duration;
use std::time::Instant;

use sealcall_e2ee::{AeadBackend, CipherSuite, MediaKind};
use sealcall_engine::media::video::packet::{
    MAX_RTP_PAYLOAD, Reassembler, ReassemblyConfig, packetize,
};
use sealcall_engine::media::video::{CAMERA_KBPS, SCREEN_KBPS, TestPattern};
use sealcall_vpx::{Decoder, Encoder, EncoderConfig, I420Frame, TIMEBASE_HZ};

use crate::cases::{FrameCase, Implementation, new_trace_case};
use crate::measure::{Settings, Stats, sample};
use crate::{BenchError, Result};

/// Seconds of each stream encoded (the sequence the decode stage cycles through, and the trace
/// protect and unprotect run on).
const SEQUENCE_SECS: u32 = 5;

/// One of the two measured streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct VideoShape {
    /// `camera` or `screen`.
    pub name: &'static str,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Target bitrate, kbit/s.
    pub kbps: u32,
    /// Screen-content mode.
    pub screen: bool,
}

impl VideoShape {
    /// Pictures in the encoded sequence.
    pub fn sequence_len(&self) -> u64 {
        u64::from(self.fps * SEQUENCE_SECS)
    }

    /// The media kind (and so the SFrame key) the stream travels under.
    pub fn media(&self) -> MediaKind {
        if self.screen {
            MediaKind::Screen
        } else {
            MediaKind::Video
        }
    }
}

/// The encoded frame sizes of a stream: its keyframes and its delta frames, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SizeDistribution {
    /// Frames encoded.
    pub frames: usize,
    /// Of which keyframes (the encoder's first frame; VP8 adds more only when asked).
    pub keyframes: usize,
    /// The largest keyframe.
    pub keyframe_max: usize,
    /// The smallest delta frame (0 when there is none).
    pub delta_min: usize,
    /// The median delta frame.
    pub delta_median: usize,
    /// The 95th percentile delta frame.
    pub delta_p95: usize,
    /// The largest delta frame.
    pub delta_max: usize,
    /// Mean over all frames.
    pub mean: usize,
}

impl SizeDistribution {
    /// The distribution of `frames` (size, keyframe) in stream order.
    pub fn of(frames: &[(usize, bool)]) -> Self {
        let mut deltas: Vec<usize> = frames.iter().filter(|f| !f.1).map(|f| f.0).collect();
        deltas.sort_unstable();
        let at = |q: f64| {
            deltas
                .get(((deltas.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(0)
        };
        Self {
            frames: frames.len(),
            keyframes: frames.iter().filter(|f| f.1).count(),
            keyframe_max: frames
                .iter()
                .filter(|f| f.1)
                .map(|f| f.0)
                .max()
                .unwrap_or(0),
            delta_min: deltas.first().copied().unwrap_or(0),
            delta_median: at(0.5),
            delta_p95: at(0.95),
            delta_max: deltas.last().copied().unwrap_or(0),
            mean: frames.iter().map(|f| f.0).sum::<usize>() / frames.len().max(1),
        }
    }
}

/// The frame layer on a stream's real frames, in order: Sealcall against the raw AEAD call with
/// the same AAD (the floor), ns per frame.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct TraceCost {
    /// Sealcall's protect.
    pub protect: Stats,
    /// Sealcall's unprotect.
    pub unprotect: Stats,
    /// The raw AEAD seal with a 4-byte AAD.
    pub floor_protect: Stats,
    /// The raw AEAD open with a 4-byte AAD.
    pub floor_unprotect: Stats,
}

impl TraceCost {
    /// Sealcall's protect over the floor, percent of the floor (medians).
    pub fn protect_overhead_percent(&self) -> f64 {
        overhead_percent(self.protect.median_ns, self.floor_protect.median_ns)
    }

    /// Sealcall's unprotect over the floor, percent of the floor (medians).
    pub fn unprotect_overhead_percent(&self) -> f64 {
        overhead_percent(self.unprotect.median_ns, self.floor_unprotect.median_ns)
    }
}

fn overhead_percent(ns: f64, floor: f64) -> f64 {
    (ns - floor) / floor.max(f64::MIN_POSITIVE) * 100.0
}

/// The camera stream at 640x480 and the screen share at 1280x720.
pub const VIDEO_SHAPES: [VideoShape; 2] = [
    VideoShape {
        name: "camera",
        width: 640,
        height: 480,
        fps: 30,
        kbps: CAMERA_KBPS,
        screen: false,
    },
    VideoShape {
        name: "screen",
        width: 1280,
        height: 720,
        fps: 10,
        kbps: SCREEN_KBPS,
        screen: true,
    },
];

/// The stages, in pipeline order.
pub const STAGES: [&str; 6] = [
    "encode",
    "protect",
    "packetize",
    "reassemble",
    "unprotect",
    "decode",
];

/// One stream's result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VideoResult {
    /// The stream.
    pub shape: VideoShape,
    /// Mean encoded frame size over the sequence, bytes.
    pub mean_frame_bytes: usize,
    /// The keyframe's size, bytes.
    pub keyframe_bytes: usize,
    /// The encoded frame sizes.
    pub sizes: SizeDistribution,
    /// The frame layer on the stream's frames against the raw AEAD floor.
    pub trace: TraceCost,
    /// Each stage's timing, in [`STAGES`] order.
    pub stages: Vec<(&'static str, Stats)>,
    /// encode + protect + packetize, median, ns.
    pub send_ns: f64,
    /// reassemble + unprotect + decode, median, ns.
    pub receive_ns: f64,
    /// (protect + unprotect) / all stages, percent.
    pub e2ee_share_percent: f64,
    /// The sender's per-frame time as a share of one core at the stream's frame rate, percent.
    pub send_core_percent: f64,
}

fn encoder(shape: &VideoShape) -> Result<Encoder> {
    let mut c = if shape.screen {
        EncoderConfig::screen(shape.width, shape.height)
    } else {
        EncoderConfig::camera(shape.width, shape.height)
    };
    c.fps = shape.fps;
    c.bitrate_kbps = shape.kbps;
    Encoder::new(c).map_err(BenchError::ctx("vp8 encoder"))
}

/// The stream's pictures and their encoding, in order.
struct Sequence {
    pictures: Vec<I420Frame>,
    encoded: Vec<Vec<u8>>,
    keyframes: Vec<bool>,
}

fn sequence(shape: &VideoShape) -> Result<Sequence> {
    let pattern =
        TestPattern::new(shape.width, shape.height).map_err(BenchError::ctx("test pattern"))?;
    let pictures: Vec<I420Frame> = (0..shape.sequence_len())
        .map(|n| pattern.frame(n))
        .collect();
    let mut enc = encoder(shape)?;
    let step = u64::from(TIMEBASE_HZ / shape.fps);
    let (mut encoded, mut keyframes) = (Vec::new(), Vec::new());
    for (i, p) in pictures.iter().enumerate() {
        for f in enc
            .encode(p, i as u64 * step, false)
            .map_err(BenchError::ctx("vp8 encode"))?
        {
            keyframes.push(f.keyframe);
            encoded.push(f.data);
        }
    }
    if encoded.is_empty() {
        return Err(BenchError::new("the encoder produced nothing"));
    }
    Ok(Sequence {
        pictures,
        encoded,
        keyframes,
    })
}

/// A frame split into RTP payloads, one buffer each, as the transport sends them.
fn rtp_payloads(frame: &[u8]) -> Vec<Vec<u8>> {
    packetize(frame, MAX_RTP_PAYLOAD)
        .map(|p| {
            let mut v = Vec::new();
            p.write_to(&mut v);
            v
        })
        .collect()
}

/// Measures one stream.
pub fn measure(
    shape: &VideoShape,
    backend: AeadBackend,
    settings: &Settings,
    mut progress: impl FnMut(&str),
) -> Result<VideoResult> {
    let seq = sequence(shape)?;
    let sizes: Vec<usize> = seq.encoded.iter().map(Vec::len).collect();
    let frames: Vec<(usize, bool)> = sizes.iter().copied().zip(seq.keyframes.clone()).collect();
    let distribution = SizeDistribution::of(&frames);
    let mean = distribution.mean;
    let keyframe = seq.encoded.first().map_or(0, Vec::len);
    let sequence_len = shape.sequence_len();
    let mut stages = Vec::new();

    // Encode: the pictures in order, timestamps increasing at the frame rate.
    progress(&format!("video/{}/encode", shape.name));
    let mut enc = encoder(shape)?;
    let step = u64::from(TIMEBASE_HZ / shape.fps);
    let mut n = 0u64;
    let encode = sample(settings, |iters| {
        let start = Instant::now();
        for _ in 0..iters {
            let p = &seq.pictures[(n % sequence_len) as usize];
            black_box(
                enc.encode(p, n * step, false)
                    .map_err(BenchError::ctx("vp8 encode"))?,
            );
            n += 1;
        }
        Ok(start.elapsed())
    })?;
    stages.push(("encode", encode));

    // Protect and unprotect: Sealcall's frame layer on the stream's frames, in order.
    progress(&format!("video/{}/protect", shape.name));
    let trace_case = |implementation| {
        new_trace_case(
            implementation,
            CipherSuite::Aes128GcmSha256,
            shape.media(),
            &sizes,
        )
    };
    let mut case: Box<dyn FrameCase> = trace_case(Implementation::Sealcall(backend))?;
    let protect = sample(settings, |iters| case.time_protect(iters))?;

    // Packetize: a frame of the mean size into RTP payloads, one buffer each.
    progress(&format!("video/{}/packetize", shape.name));
    let frame: Vec<u8> = (0..mean).map(|i| (i * 31 + 7) as u8).collect();
    let packetize_stats = sample(settings, |iters| {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(rtp_payloads(&frame));
        }
        Ok(start.elapsed())
    })?;
    let payloads = rtp_payloads(&frame);
    stages.push(("protect", protect));
    stages.push(("packetize", packetize_stats));

    // Reassemble: those payloads, with sequence numbers running on.
    progress(&format!("video/{}/reassemble", shape.name));
    let mut r = Reassembler::new(ReassemblyConfig::default());
    let mut seq_no = 0u16;
    let reassemble = sample(settings, |iters| {
        let start = Instant::now();
        for i in 0..iters {
            for p in &payloads {
                r.push(Duration::ZERO, seq_no, i as u32, p)
                    .map_err(BenchError::ctx("reassemble"))?;
                seq_no = seq_no.wrapping_add(1);
            }
            let f = r
                .poll(Duration::ZERO)
                .ok_or_else(|| BenchError::new("reassembly produced no frame"))?;
            black_box(f);
        }
        Ok(start.elapsed())
    })?;
    stages.push(("reassemble", reassemble));

    progress(&format!("video/{}/unprotect", shape.name));
    let unprotect = sample(settings, |iters| case.time_unprotect(iters))?;
    stages.push(("unprotect", unprotect));
    let mut floor = trace_case(Implementation::RawAeadHeaderAad(backend))?;
    let trace = TraceCost {
        protect,
        unprotect,
        floor_protect: sample(settings, |iters| floor.time_protect(iters))?,
        floor_unprotect: sample(settings, |iters| floor.time_unprotect(iters))?,
    };

    // Decode: the sequence in order, starting again at its keyframe.
    progress(&format!("video/{}/decode", shape.name));
    let mut dec = Decoder::new().map_err(BenchError::ctx("vp8 decoder"))?;
    let mut k = 0usize;
    let decode = sample(settings, |iters| {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(
                dec.decode(&seq.encoded[k])
                    .map_err(BenchError::ctx("vp8 decode"))?,
            );
            k = (k + 1) % seq.encoded.len();
        }
        Ok(start.elapsed())
    })?;
    stages.push(("decode", decode));

    let med = |name: &str| {
        stages
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0.0, |(_, s)| s.median_ns)
    };
    let send_ns = med("encode") + med("protect") + med("packetize");
    let receive_ns = med("reassemble") + med("unprotect") + med("decode");
    let total = (send_ns + receive_ns).max(f64::MIN_POSITIVE);
    Ok(VideoResult {
        shape: *shape,
        mean_frame_bytes: mean,
        keyframe_bytes: keyframe,
        sizes: distribution,
        trace,
        e2ee_share_percent: (med("protect") + med("unprotect")) / total * 100.0,
        send_core_percent: send_ns * f64::from(shape.fps) / 1e9 * 100.0,
        stages,
        send_ns,
        receive_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_distribution_separates_keyframes_from_delta_frames() {
        let mut frames = vec![(20_000, true)];
        frames.extend((1..=20).map(|i| (i * 100, false)));
        let d = SizeDistribution::of(&frames);
        assert_eq!((d.frames, d.keyframes, d.keyframe_max), (21, 1, 20_000));
        assert_eq!((d.delta_min, d.delta_max), (100, 2_000));
        // Nearest rank over the 20 delta frames: index 9.5 -> 10 (1100 B), 18.05 -> 18 (1900 B).
        assert_eq!((d.delta_median, d.delta_p95), (1_100, 1_900));
        assert_eq!(d.mean, (20_000 + 21_000) / 21);
        assert_eq!(SizeDistribution::of(&[]).frames, 0);
    }

    /// The real camera stream: its keyframe and delta frames, and the frame layer timed on
    /// those frames against the floor (short sampling: this checks the numbers
    /// are there and consistent, not how fast they are).
    #[test]
    fn the_camera_stream_is_measured_on_its_real_frames() {
        let quick = Settings {
            warmup: Duration::from_millis(2),
            samples: 2,
            sample_time: Duration::from_millis(2),
        };
        let r = measure(&VIDEO_SHAPES[0], AeadBackend::RustCrypto, &quick, |_| {}).unwrap();
        let z = r.sizes;
        assert_eq!(z.frames, 150, "5 s at 30 fps: {z:?}");
        assert!(
            z.keyframes >= 1 && r.keyframe_bytes == z.keyframe_max,
            "{z:?}"
        );
        // No ordering between keyframe and delta sizes is asserted: measured here, the test
        // pattern's first keyframe (about 1.5 KB) is smaller than its median delta frame.
        assert!(z.keyframe_max > 0 && z.mean > 0, "{z:?}");
        assert!(
            z.delta_min <= z.delta_median && z.delta_median <= z.delta_p95,
            "{z:?}"
        );
        assert!(z.delta_p95 <= z.delta_max && z.delta_min > 0, "{z:?}");
        let t = r.trace;
        for s in [t.protect, t.unprotect, t.floor_protect, t.floor_unprotect] {
            assert!(s.median_ns > 0.0, "{t:?}");
        }
        let stages: Vec<&str> = r.stages.iter().map(|(n, _)| *n).collect();
        assert_eq!(stages, STAGES);
    }
}
