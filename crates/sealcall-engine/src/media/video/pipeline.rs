//! The encoder and decoder threads of a video stream, off the 20 ms audio loop.
//!
//! An [`VideoEncoderThread`] polls its [`VideoSource`] at the source's frame rate, encodes
//! with VP8 (keyframes when asked, paced by a [`KeyframePacer`]; the target bitrate can change
//! at any frame) and hands each encoded frame to the call's media task, which protects and
//! sends it. A [`VideoDecoderThread`] decodes the frames the media task admitted (complete,
//! authenticated, in order, keyframe first) and hands back pictures. Both talk through bounded
//! channels: a slow consumer never makes memory grow.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sealcall_vpx::{Content, Decoder, Encoder, EncoderConfig, I420Frame};
use tokio::sync::mpsc;

use super::VideoStream;
use super::bitrate::affordable_fps;
use super::keyframes::KeyframePacer;
use super::source::VideoSource;
use crate::transport::VIDEO_CLOCK_RATE;

/// One encoded frame, ready to protect and send.
#[derive(Debug)]
pub struct EncodedVideo {
    /// The stream it belongs to.
    pub stream: VideoStream,
    /// The VP8 frame.
    pub data: Vec<u8>,
    /// Whether it is a keyframe.
    pub keyframe: bool,
    /// Its RTP timestamp (90 kHz from the stream's start).
    pub timestamp: u32,
    /// When the source produced the picture.
    pub captured: Instant,
    /// Picture width.
    pub width: u32,
    /// Picture height.
    pub height: u32,
    /// Time the encoder took.
    pub encode_time: Duration,
}

/// What an encoder thread reports.
#[derive(Debug)]
pub enum EncoderOutput {
    /// A frame to send.
    Frame(EncodedVideo),
    /// The source or the encoder failed; the thread has stopped.
    Failed(VideoStream, String),
}

/// A source that has given nothing new for this long stops being sent until it does.
const SILENT_SOURCE_PAUSE: Duration = Duration::from_secs(1);

struct EncoderControl {
    /// The newest picture from the source and its capture time (90 kHz), for a self-view.
    preview: Mutex<Option<(I420Frame, u32)>>,
    stop: AtomicBool,
    keyframe_requests: AtomicU64,
    target_kbps: AtomicU32,
    dropped: AtomicU64,
}

/// A running encoder thread. Dropping it stops the thread (within one frame interval).
pub struct VideoEncoderThread {
    control: Arc<EncoderControl>,
    handle: Option<JoinHandle<()>>,
    describe: String,
}

impl VideoEncoderThread {
    /// Starts encoding `source` for `stream` at `kbps`, sending frames to `out`.
    pub fn spawn(
        stream: VideoStream,
        source: Box<dyn VideoSource>,
        kbps: u32,
        out: mpsc::Sender<EncoderOutput>,
    ) -> Self {
        let control = Arc::new(EncoderControl {
            preview: Mutex::new(None),
            stop: AtomicBool::new(false),
            keyframe_requests: AtomicU64::new(0),
            target_kbps: AtomicU32::new(kbps),
            dropped: AtomicU64::new(0),
        });
        let describe = source.describe();
        let ctl = Arc::clone(&control);
        let handle = std::thread::Builder::new()
            .name(format!("sealcall-{}-encoder", stream.label()))
            .spawn(move || encode_loop(stream, source, &ctl, &out))
            .ok();
        Self {
            control,
            handle,
            describe,
        }
    }

    /// The peer asked for a keyframe: the next frame the pacer allows is one.
    pub fn request_keyframe(&self) {
        self.control
            .keyframe_requests
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Changes the target bitrate from the next frame on.
    pub fn set_bitrate(&self, kbps: u32) {
        self.control.target_kbps.store(kbps, Ordering::Relaxed);
    }

    /// The newest picture the source gave since the last call (a self-view shows it), with its
    /// capture time on the 90 kHz clock of the stream's RTP timestamps.
    pub fn take_preview(&self) -> Option<(I420Frame, u32)> {
        self.control.preview.lock().ok().and_then(|mut p| p.take())
    }

    /// The current target bitrate, kbit/s.
    pub fn bitrate(&self) -> u32 {
        self.control.target_kbps.load(Ordering::Relaxed)
    }

    /// Encoded frames dropped because the media task was behind (each followed by a keyframe).
    pub fn dropped(&self) -> u64 {
        self.control.dropped.load(Ordering::Relaxed)
    }

    /// The source, for the UI.
    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        self.control.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for VideoEncoderThread {
    fn drop(&mut self) {
        self.control.stop.store(true, Ordering::Relaxed);
    }
}

fn encoder_config(content: Content, width: u32, height: u32, fps: u32, kbps: u32) -> EncoderConfig {
    let mut config = match content {
        Content::Screen => EncoderConfig::screen(width, height),
        _ => EncoderConfig::camera(width, height),
    };
    config.fps = fps;
    config.bitrate_kbps = kbps;
    config
}

fn encode_loop(
    stream: VideoStream,
    mut source: Box<dyn VideoSource>,
    control: &EncoderControl,
    out: &mpsc::Sender<EncoderOutput>,
) {
    let fail = |e: String| {
        let _ = out.blocking_send(EncoderOutput::Failed(stream, e));
    };
    let fps = source.fps().max(1);
    let interval = Duration::from_secs(1) / fps;
    let started = Instant::now();
    let mut next = started;
    let mut encoder: Option<Encoder> = None;
    let mut size = (0u32, 0u32);
    let mut kbps = control.target_kbps.load(Ordering::Relaxed);
    let mut pacer = KeyframePacer::default();
    let mut seen_requests = 0u64;
    let mut last: Option<I420Frame> = None;
    let mut last_pts: Option<u64> = None;
    let mut last_new = Instant::now();
    let mut paused = false;
    let mut credit = 1.0f64;
    while !control.stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        next += interval;
        if next + interval < Instant::now() {
            next = Instant::now();
        }
        if control.stop.load(Ordering::Relaxed) {
            break;
        }
        let captured = Instant::now();
        // The capture time on the 90 kHz clock: libvpx's rate control derives the frame rate
        // from it, and it is the frame's RTP timestamp (truncated to 32 bits).
        let ticks = (captured.duration_since(started).as_micros() as u64)
            .saturating_mul(u64::from(VIDEO_CLOCK_RATE))
            / 1_000_000;
        let pts = last_pts.map_or(ticks, |p| ticks.max(p + 1));
        let frame = match source.next_frame() {
            Ok(Some(f)) => {
                if let Ok(mut p) = control.preview.lock() {
                    *p = Some((f.clone(), pts as u32));
                }
                last_new = Instant::now();
                if std::mem::take(&mut paused) {
                    // The receiver has stopped showing this stream: start it again afresh.
                    pacer.request();
                }
                last = Some(f);
                match &last {
                    Some(f) => f,
                    None => continue,
                }
            }
            // Nothing new: repeat the last picture, but a source that stays silent (the echo
            // bot's feed once the caller's camera is off) pauses the stream instead.
            Ok(None) if last_new.elapsed() > SILENT_SOURCE_PAUSE => {
                paused = true;
                continue;
            }
            Ok(None) => match &last {
                Some(f) => f,
                None => continue,
            },
            Err(e) => return fail(e.to_string()),
        };
        if encoder.is_none() || size != (frame.width(), frame.height()) {
            size = (frame.width(), frame.height());
            let cfg = encoder_config(source.content(), size.0, size.1, fps, kbps);
            match Encoder::new(cfg) {
                Ok(e) => encoder = Some(e),
                Err(e) => return fail(format!("{} encoder: {e}", stream.label())),
            }
            // A new encoder starts with a keyframe; make the pacer agree.
            pacer = KeyframePacer::default();
        }
        let Some(enc) = encoder.as_mut() else {
            continue;
        };
        let target = control.target_kbps.load(Ordering::Relaxed);
        if target != kbps && enc.set_bitrate(target).is_ok() {
            kbps = target;
        }
        // A bitrate too low for this many pictures: send fewer (the capture times tell libvpx's
        // rate control how much time each frame has to pay for).
        credit = (credit + affordable_fps(kbps, size.0, size.1, fps) / f64::from(fps)).min(1.0);
        let keyframe_due = control.keyframe_requests.load(Ordering::Relaxed) != seen_requests;
        if credit < 1.0 - 1e-9 && !keyframe_due {
            continue;
        }
        credit = 0.0;
        let requests = control.keyframe_requests.load(Ordering::Relaxed);
        if requests != seen_requests {
            seen_requests = requests;
            pacer.request();
        }
        let t = started.elapsed();
        let force = pacer.force_now(t);
        last_pts = Some(pts);
        let begin = Instant::now();
        let encoded = match enc.encode(frame, pts, force) {
            Ok(v) => v,
            Err(e) => return fail(format!("{} encoder: {e}", stream.label())),
        };
        let encode_time = begin.elapsed();
        let timestamp = pts as u32;
        for f in encoded {
            if f.keyframe {
                pacer.sent_keyframe(t);
            }
            let msg = EncoderOutput::Frame(EncodedVideo {
                stream,
                data: f.data,
                keyframe: f.keyframe,
                timestamp,
                captured,
                width: size.0,
                height: size.1,
                encode_time,
            });
            match out.try_send(msg) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // A lost delta frame breaks the chain: the next one must be a keyframe.
                    control.dropped.fetch_add(1, Ordering::Relaxed);
                    pacer = KeyframePacer::new(Duration::ZERO);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            }
        }
    }
}

/// One decoded picture.
#[derive(Debug)]
pub struct DecodedVideo {
    /// The stream it belongs to.
    pub stream: VideoStream,
    /// The picture.
    pub frame: I420Frame,
    /// The RTP timestamp of the frame it was decoded from.
    pub timestamp: u32,
    /// Whether it was decoded from a keyframe.
    pub keyframe: bool,
    /// Time the decoder took.
    pub decode_time: Duration,
}

/// What a decoder thread reports.
#[derive(Debug)]
pub enum DecoderOutput {
    /// A picture to show.
    Picture(DecodedVideo),
    /// The decoder refused a frame: the receiver needs a keyframe.
    Error(VideoStream, String),
}

struct DecodeJob {
    data: Vec<u8>,
    timestamp: u32,
    keyframe: bool,
}

/// A running decoder thread for one stream. Dropping it ends the thread.
pub struct VideoDecoderThread {
    jobs: std::sync::mpsc::SyncSender<DecodeJob>,
    dropped: Arc<AtomicU64>,
}

impl VideoDecoderThread {
    /// Starts a decoder for `stream`, reporting to `out`.
    pub fn spawn(stream: VideoStream, out: mpsc::Sender<DecoderOutput>) -> Self {
        let (jobs, rx) = std::sync::mpsc::sync_channel::<DecodeJob>(16);
        let dropped = Arc::new(AtomicU64::new(0));
        let _ = std::thread::Builder::new()
            .name(format!("sealcall-{}-decoder", stream.label()))
            .spawn(move || {
                let mut decoder = match Decoder::new() {
                    Ok(d) => d,
                    Err(e) => {
                        let _ = out.blocking_send(DecoderOutput::Error(stream, e.to_string()));
                        return;
                    }
                };
                while let Ok(job) = rx.recv() {
                    let begin = Instant::now();
                    let msg = match decoder.decode(&job.data) {
                        Ok(Some(frame)) => DecoderOutput::Picture(DecodedVideo {
                            stream,
                            frame,
                            timestamp: job.timestamp,
                            keyframe: job.keyframe,
                            decode_time: begin.elapsed(),
                        }),
                        Ok(None) => continue,
                        Err(e) => DecoderOutput::Error(stream, e.to_string()),
                    };
                    if out.blocking_send(msg).is_err() {
                        break;
                    }
                }
            });
        Self { jobs, dropped }
    }

    /// Queues an admitted frame. Returns `false` (and counts it) when the decoder is too far
    /// behind: the caller must then wait for a keyframe.
    pub fn decode(&self, data: Vec<u8>, timestamp: u32, keyframe: bool) -> bool {
        let job = DecodeJob {
            data,
            timestamp,
            keyframe,
        };
        if self.jobs.try_send(job).is_ok() {
            return true;
        }
        self.dropped.fetch_add(1, Ordering::Relaxed);
        false
    }

    /// Frames not decoded because the decoder was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
