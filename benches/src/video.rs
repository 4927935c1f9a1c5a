//! What a video frame costs, stage by stage, and the end-to-end encryption's share of it.
//!
//! Two real streams: the camera test pattern at 640x480 (800 kbit/s, 30 fps) and the screen
//! test pattern at 1280x720 (screen-content mode, 1200 kbit/s, 10 fps). A short sequence is
//! encoded once to learn the stream's real frame sizes; then each stage is timed on its own:
//!
//! - sender: VP8 **encode** (the next picture, in order), SFrame **protect** (Sealcall, a frame
//!   of the stream's mean size), **packetize** (into 1200-byte RTP payloads, as the transport
//!   does, each payload its own buffer);
//! - receiver: **reassemble** (those payloads back into the frame), SFrame **unprotect** (a ring
//!   of fresh frames, as in [`crate::cases`]), VP8 **decode** (the sequence in order).
//!
//! The end-to-end encryption's share is (protect + unprotect) / (all six stages).

use core::hint::black_box;
use core::time::Duration;
use std::time::Instant;

use sealcall_e2ee::{AeadBackend, CipherSuite};
use sealcall_engine::media::video::packet::{
    MAX_RTP_PAYLOAD, Reassembler, ReassemblyConfig, packetize,
};
use sealcall_engine::media::video::{CAMERA_KBPS, SCREEN_KBPS, TestPattern};
use sealcall_vpx::{Decoder, Encoder, EncoderConfig, I420Frame, TIMEBASE_HZ};

use crate::cases::{FrameCase, Implementation, new_case};
use crate::measure::{Settings, Stats, sample};
use crate::{BenchError, Result};

/// Pictures encoded per stream (the sequence the decode stage cycles through).
const SEQUENCE: u64 = 60;

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
}

fn sequence(shape: &VideoShape) -> Result<Sequence> {
    let pattern =
        TestPattern::new(shape.width, shape.height).map_err(BenchError::ctx("test pattern"))?;
    let pictures: Vec<I420Frame> = (0..SEQUENCE).map(|n| pattern.frame(n)).collect();
    let mut enc = encoder(shape)?;
    let step = u64::from(TIMEBASE_HZ / shape.fps);
    let mut encoded = Vec::new();
    for (i, p) in pictures.iter().enumerate() {
        for f in enc
            .encode(p, i as u64 * step, false)
            .map_err(BenchError::ctx("vp8 encode"))?
        {
            encoded.push(f.data);
        }
    }
    if encoded.is_empty() {
        return Err(BenchError::new("the encoder produced nothing"));
    }
    Ok(Sequence { pictures, encoded })
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
    let mean = seq.encoded.iter().map(Vec::len).sum::<usize>() / seq.encoded.len();
    let keyframe = seq.encoded.first().map_or(0, Vec::len);
    let mut stages = Vec::new();

    // Encode: the pictures in order, timestamps increasing at the frame rate.
    progress(&format!("video/{}/encode", shape.name));
    let mut enc = encoder(shape)?;
    let step = u64::from(TIMEBASE_HZ / shape.fps);
    let mut n = 0u64;
    let encode = sample(settings, |iters| {
        let start = Instant::now();
        for _ in 0..iters {
            let p = &seq.pictures[(n % SEQUENCE) as usize];
            black_box(
                enc.encode(p, n * step, false)
                    .map_err(BenchError::ctx("vp8 encode"))?,
            );
            n += 1;
        }
        Ok(start.elapsed())
    })?;
    stages.push(("encode", encode));

    // Protect and unprotect: Sealcall's frame layer at the stream's mean frame size.
    progress(&format!("video/{}/protect", shape.name));
    let mut case: Box<dyn FrameCase> = new_case(
        Implementation::Sealcall(backend),
        CipherSuite::Aes128GcmSha256,
        mean,
    )?;
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
        e2ee_share_percent: (med("protect") + med("unprotect")) / total * 100.0,
        send_core_percent: send_ns * f64::from(shape.fps) / 1e9 * 100.0,
        stages,
        send_ns,
        receive_ns,
    })
}
