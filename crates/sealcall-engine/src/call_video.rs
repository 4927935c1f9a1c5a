//! The video half of one call's media task: two streams (camera, screen), each with an encoder
//! thread on the way out and a reassembler, keyframe gate and decoder thread on the way in.
//!
//! Outbound: encoded frames come from the encoder threads, are protected under the stream's own
//! key (E2EE calls; held back until keys exist, never sent in the clear) and sent whole through
//! the transport's packetizer. Inbound: packets are reassembled into complete frames, each is
//! unprotected (refused frames count as loss), and only then does anything look inside it: the
//! gate admits a keyframe first and nothing after a gap until the next keyframe, asking the
//! sender with PLIs meanwhile.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sealcall_vpx::vp8_frame_info;
use tokio::sync::mpsc;

use crate::frames::{InboundFrames, OutboundFrames};
use crate::media::video::bitrate::{allocate, worth_changing};
use crate::media::video::pipeline::{DecoderOutput, EncoderOutput};
use crate::media::video::{
    Admit, FrameFeed, KeyframeGate, Reassembler, ReassemblyConfig, VideoDecoderThread,
    VideoEncoderThread, VideoFrame, VideoSource, VideoStream,
};
use crate::transport::{CallTransport, RtpVideo};

/// How long a stream may be silent before the receiver says it stopped.
const STOPPED_AFTER: Duration = Duration::from_millis(1500);

/// How often the encoders' targets follow the send estimate.
const ADAPT_EVERY: Duration = Duration::from_millis(200);

/// Pictures of one stream handed out and not yet dropped by the embedder, at most: past it the
/// embedder is behind and new pictures are skipped (counted), so memory stays bounded.
const MAX_PICTURES_IN_FLIGHT: usize = 4;

/// Live numbers of one video stream, for a stats panel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VideoStreamStats {
    /// Whether this side is sending the stream.
    pub sending: bool,
    /// The source being sent (e.g. `test pattern 640x480@30`).
    pub source: Option<String>,
    /// Sent picture size.
    pub sent_resolution: Option<(u32, u32)>,
    /// Frames sent in the last second.
    pub sent_fps: f64,
    /// Sent bitrate over the last second, kbit/s.
    pub sent_kbps: f64,
    /// Target bitrate of the encoder, kbit/s.
    pub target_kbps: u32,
    /// Frames sent in all.
    pub frames_sent: u64,
    /// Keyframes sent in all.
    pub keyframes_sent: u64,
    /// Keyframe requests received from the peer.
    pub keyframe_requests_received: u64,
    /// Average encode time per frame.
    pub encode_time: Option<Duration>,
    /// Received picture size.
    pub received_resolution: Option<(u32, u32)>,
    /// Pictures decoded in the last second.
    pub received_fps: f64,
    /// Received bitrate over the last second, kbit/s.
    pub received_kbps: f64,
    /// Pictures decoded in all.
    pub frames_decoded: u64,
    /// Decoded pictures not handed out because the embedder still held the previous ones.
    pub pictures_skipped: u64,
    /// Keyframes decoded in all.
    pub keyframes_received: u64,
    /// Complete frames received (before unprotecting).
    pub frames_received: u64,
    /// Received frames refused by end-to-end protection (forged, replayed, wrong key).
    pub frames_refused: u64,
    /// Delta frames dropped while waiting for a keyframe.
    pub frames_waiting_for_keyframe: u64,
    /// Keyframe requests (PLIs) sent.
    pub keyframe_requests_sent: u64,
    /// Gaps in the received packets (after retransmissions).
    pub gaps: u64,
    /// Frames the decoder refused.
    pub decode_errors: u64,
    /// Average decode time per picture.
    pub decode_time: Option<Duration>,
    /// Current send key epoch (E2EE calls).
    pub send_epoch: Option<u64>,
    /// Current receive key epoch (E2EE calls).
    pub receive_epoch: Option<u64>,
}

/// A picture of the peer's video, as an embedder receives it.
#[derive(Debug, Clone)]
pub struct VideoPicture {
    /// Which stream.
    pub stream: VideoStream,
    /// The decoded picture (I420).
    pub frame: Arc<VideoFrame>,
    /// RTP timestamp (90 kHz) of the frame.
    pub timestamp: u32,
    /// Decoded from a keyframe.
    pub keyframe: bool,
    /// The first picture after something of the stream was lost (a gap in the received packets
    /// after retransmissions, a refused frame, a decoder error). The receiver resumes only at a
    /// keyframe, so such a picture is always a keyframe.
    pub after_gap: bool,
}

/// What the video half asks the media task to report.
#[derive(Debug)]
pub(crate) enum VideoReport {
    Picture(VideoPicture),
    Local(VideoPicture),
    Stopped(VideoStream),
    Notice(String),
}

/// A queued change: a stream's new source, or `None` to stop it.
type SourceChange = (VideoStream, Option<Box<dyn VideoSource>>);

/// A change of video source for a live call, put in by the engine.
#[derive(Clone, Default)]
pub(crate) struct VideoSwitch(Arc<Mutex<Vec<SourceChange>>>);

impl VideoSwitch {
    /// Replaces (or, with `None`, stops) a stream's source.
    pub(crate) fn set(&self, stream: VideoStream, source: Option<Box<dyn VideoSource>>) {
        if let Ok(mut q) = self.0.lock() {
            q.retain(|(s, _)| *s != stream);
            q.push((stream, source));
        }
    }

    fn take(&self) -> Vec<SourceChange> {
        self.0
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Window {
    frames: u64,
    bytes: u64,
    last_frames: u64,
    last_bytes: u64,
}

impl Window {
    fn add(&mut self, bytes: usize) {
        self.frames += 1;
        self.bytes += bytes as u64;
    }

    /// (fps, kbit/s) since the last call, over `secs`.
    fn rate(&mut self, secs: f64) -> (f64, f64) {
        let f = (self.frames - self.last_frames) as f64 / secs;
        let k = (self.bytes - self.last_bytes) as f64 * 8.0 / 1000.0 / secs;
        self.last_frames = self.frames;
        self.last_bytes = self.bytes;
        (f, k)
    }
}

struct Send {
    encoder: Option<VideoEncoderThread>,
    /// A source waiting for the call to be ready.
    pending: Option<Box<dyn VideoSource>>,
    /// The most this stream asks for, kbit/s; congestion control may give it less.
    kbps: u32,
    window: Window,
    keyframes: u64,
    requests: u64,
    encode_total: Duration,
    size: Option<(u32, u32)>,
    previews: Vec<Arc<VideoFrame>>,
    /// Held since the last keyframe sent: wait for the next one.
    resync: bool,
}

struct Recv {
    reassembler: Reassembler,
    gate: KeyframeGate,
    decoder: VideoDecoderThread,
    window_in: Window,
    window_out: Window,
    frames_received: u64,
    refused: u64,
    decode_errors: u64,
    keyframes: u64,
    decode_total: Duration,
    size: Option<(u32, u32)>,
    last_picture: Option<Instant>,
    stopped_reported: bool,
    in_flight: Vec<Arc<VideoFrame>>,
    skipped: u64,
    /// Something was lost (a gap, a refused frame, a decoder error) since the last frame sent
    /// to the decoder.
    lost: bool,
    /// The RTP timestamp of the first frame sent to the decoder after a loss.
    resumed_at: Option<u32>,
}

/// Hands out pictures while the embedder keeps up: at most [`MAX_PICTURES_IN_FLIGHT`] may be
/// held at once, a new one past that is skipped (`None`).
fn hand_out(in_flight: &mut Vec<Arc<VideoFrame>>, frame: VideoFrame) -> Option<Arc<VideoFrame>> {
    in_flight.retain(|f| Arc::strong_count(f) > 1);
    if in_flight.len() >= MAX_PICTURES_IN_FLIGHT {
        return None;
    }
    let frame = Arc::new(frame);
    in_flight.push(Arc::clone(&frame));
    Some(frame)
}

struct Stream {
    id: VideoStream,
    send: Send,
    recv: Recv,
}

/// The video of one call.
pub(crate) struct CallVideo {
    streams: [Stream; 2],
    encoded_tx: mpsc::Sender<EncoderOutput>,
    pub(crate) encoded_rx: mpsc::Receiver<EncoderOutput>,
    pub(crate) decoded_rx: mpsc::Receiver<DecoderOutput>,
    pub(crate) switch: VideoSwitch,
    echo: Option<FrameFeed>,
    ready: bool,
    last_stats: Instant,
    /// The transport's send estimate as last seen, bit/s.
    estimate_bps: f64,
    last_adapt: Instant,
}

impl CallVideo {
    /// Video for a call: the initial sources (started once the call is ready), the switch the
    /// engine changes them through, and an optional feed that receives every decoded camera
    /// picture (the echo bot sends it back).
    pub(crate) fn new(
        camera: Option<Box<dyn VideoSource>>,
        screen: Option<Box<dyn VideoSource>>,
        switch: VideoSwitch,
        echo: Option<FrameFeed>,
    ) -> Self {
        let (encoded_tx, encoded_rx) = mpsc::channel(8);
        let (decoded_tx, decoded_rx) = mpsc::channel(8);
        let stream = |id: VideoStream, pending, kbps| Stream {
            id,
            send: Send {
                encoder: None,
                pending,
                kbps,
                window: Window::default(),
                keyframes: 0,
                requests: 0,
                encode_total: Duration::ZERO,
                size: None,
                previews: Vec::new(),
                resync: false,
            },
            recv: Recv {
                reassembler: Reassembler::new(ReassemblyConfig::default()),
                gate: KeyframeGate::default(),
                decoder: VideoDecoderThread::spawn(id, decoded_tx.clone()),
                window_in: Window::default(),
                window_out: Window::default(),
                frames_received: 0,
                refused: 0,
                decode_errors: 0,
                keyframes: 0,
                decode_total: Duration::ZERO,
                size: None,
                last_picture: None,
                stopped_reported: false,
                in_flight: Vec::new(),
                skipped: 0,
                lost: false,
                resumed_at: None,
            },
        };
        Self {
            streams: [
                stream(
                    VideoStream::Camera,
                    camera,
                    crate::media::video::CAMERA_KBPS,
                ),
                stream(
                    VideoStream::Screen,
                    screen,
                    crate::media::video::SCREEN_KBPS,
                ),
            ],
            encoded_tx,
            encoded_rx,
            decoded_rx,
            switch,
            echo,
            ready: false,
            last_stats: Instant::now(),
            estimate_bps: crate::transport::INITIAL_SEND_BITRATE,
            last_adapt: Instant::now(),
        }
    }

    /// Encoder targets for the streams sending now, plus `also` (about to start).
    fn allocation(&self, also: Option<VideoStream>) -> crate::media::video::bitrate::Allocation {
        let ceiling = |i: usize| {
            let s = &self.streams[i];
            (s.send.encoder.is_some() || also == Some(s.id)).then_some(s.send.kbps)
        };
        allocate(self.estimate_bps, ceiling(0), ceiling(1))
    }

    /// Follows the transport's send estimate: each sending encoder gets its share of it.
    pub(crate) fn adapt(&mut self, estimate_bps: f64) {
        self.estimate_bps = estimate_bps;
        let allocation = self.allocation(None);
        for s in &mut self.streams {
            if let (Some(enc), Some(target)) = (&s.send.encoder, allocation.get(s.id))
                && worth_changing(enc.bitrate(), target)
            {
                enc.set_bitrate(target);
            }
        }
    }

    /// The send estimate as last seen, kbit/s.
    pub(crate) fn send_estimate_kbps(&self) -> u32 {
        (self.estimate_bps / 1000.0) as u32
    }

    fn stream(&mut self, id: VideoStream) -> &mut Stream {
        match id {
            VideoStream::Camera => &mut self.streams[0],
            VideoStream::Screen => &mut self.streams[1],
        }
    }

    fn start(&mut self, id: VideoStream, source: Box<dyn VideoSource>) {
        let tx = self.encoded_tx.clone();
        // Dropping signals the old thread to stop; it is not joined here, so the media task
        // (and its 20 ms audio loop) never waits for an encoder to finish its frame.
        drop(self.stream(id).send.encoder.take());
        let allocation = self.allocation(Some(id));
        let s = self.stream(id);
        let kbps = allocation.get(id).unwrap_or(s.send.kbps);
        s.send.encoder = Some(VideoEncoderThread::spawn(id, source, kbps, tx));
        // The stream already sending now shares the estimate with this one.
        let estimate = self.estimate_bps;
        self.adapt(estimate);
    }

    /// Frames may flow now (connected, and keys installed in an E2EE call): start the sources.
    pub(crate) fn on_ready(&mut self) {
        self.ready = true;
        for id in VideoStream::ALL {
            if let Some(src) = self.stream(id).send.pending.take() {
                self.start(id, src);
            }
        }
    }

    /// Applies source changes the engine queued.
    pub(crate) fn apply_switch(&mut self) {
        for (id, source) in self.switch.take() {
            match source {
                Some(src) if self.ready => self.start(id, src),
                Some(src) => self.stream(id).send.pending = Some(src),
                None => {
                    let s = self.stream(id);
                    s.send.pending = None;
                    drop(s.send.encoder.take());
                }
            }
        }
    }

    /// An encoder thread's output: protect and send a frame, or stop a failed stream.
    pub(crate) async fn on_encoded(
        &mut self,
        now: Duration,
        out: EncoderOutput,
        outbound: &mut OutboundFrames,
        transport: &CallTransport,
    ) -> Result<Option<VideoReport>, String> {
        let v = match out {
            EncoderOutput::Frame(v) => v,
            EncoderOutput::Failed(id, why) => {
                self.stream(id).send.encoder = None;
                return Ok(Some(VideoReport::Notice(format!(
                    "{} stopped: {why}",
                    id.label()
                ))));
            }
        };
        let id = v.stream;
        // After a hold, nothing before the stream's next keyframe.
        let s = self.stream(id);
        if s.send.resync && !v.keyframe {
            return Ok(None);
        }
        s.send.resync = false;
        // Fail closed: nothing leaves before frames may be sent, and never in the clear.
        let payload = match outbound.protect(now, id.media_kind(), &v.data) {
            Ok(Some(p)) => p.to_vec(),
            Ok(None) => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        transport
            .send_video_frame(id, &payload, v.timestamp)
            .await
            .map_err(|e| e.to_string())?;
        let s = self.stream(id);
        s.send.window.add(payload.len());
        s.send.encode_total += v.encode_time;
        s.send.size = Some((v.width, v.height));
        if v.keyframe {
            s.send.keyframes += 1;
        }
        Ok(None)
    }

    /// The call went on hold (pictures stop being sent) or off it: each stream starts again
    /// from a keyframe, and nothing that depends on a picture the other side never got is
    /// sent.
    pub(crate) fn set_held(&mut self, held: bool) {
        for s in &mut self.streams {
            if held {
                s.send.resync = true;
            } else if let Some(enc) = &s.send.encoder {
                enc.request_keyframe();
            }
        }
    }

    /// The peer asked for a keyframe on one of our streams.
    pub(crate) fn on_keyframe_request(&mut self, id: VideoStream) {
        let s = self.stream(id);
        s.send.requests += 1;
        if let Some(enc) = &s.send.encoder {
            enc.request_keyframe();
        }
    }

    /// One received video packet.
    pub(crate) async fn on_packet(
        &mut self,
        now: Duration,
        rtp: RtpVideo,
        inbound: &mut InboundFrames,
        transport: &CallTransport,
    ) {
        let s = self.stream(rtp.stream);
        s.recv.window_in.add(rtp.payload.len());
        // A refused packet (bad descriptor, oversize) changes nothing but the counters.
        let _ = s
            .recv
            .reassembler
            .push(now, rtp.seq, rtp.timestamp, &rtp.payload);
        self.drain(now, rtp.stream, inbound, transport).await;
    }

    /// Timers: frames waiting behind a lost packet, keyframe requests, stopped streams, and the
    /// encoders' targets following the send estimate.
    pub(crate) async fn on_tick(
        &mut self,
        now: Duration,
        inbound: &mut InboundFrames,
        transport: &CallTransport,
    ) -> Vec<VideoReport> {
        if self.last_adapt.elapsed() >= ADAPT_EVERY {
            self.last_adapt = Instant::now();
            self.adapt(transport.send_estimate_bps());
        }
        let mut reports = Vec::new();
        for id in VideoStream::ALL {
            self.drain(now, id, inbound, transport).await;
            let send = &mut self.stream(id).send;
            if let Some((preview, timestamp)) = send.encoder.as_ref().and_then(|e| e.take_preview())
                && let Some(frame) = hand_out(&mut send.previews, preview)
            {
                reports.push(VideoReport::Local(VideoPicture {
                    stream: id,
                    frame,
                    timestamp,
                    keyframe: false,
                    after_gap: false,
                }));
            }
            let r = &mut self.stream(id).recv;
            if let Some(at) = r.last_picture
                && at.elapsed() > STOPPED_AFTER
                && !r.stopped_reported
            {
                r.stopped_reported = true;
                // The next picture of this stream starts afresh from a keyframe.
                r.gate.on_loss(now);
                reports.push(VideoReport::Stopped(id));
            }
        }
        reports
    }

    async fn drain(
        &mut self,
        now: Duration,
        id: VideoStream,
        inbound: &mut InboundFrames,
        transport: &CallTransport,
    ) {
        let s = self.stream(id);
        while let Some(frame) = s.recv.reassembler.poll(now) {
            s.recv.frames_received += 1;
            let Some(plain) = inbound.unprotect(now, id.media_kind(), &frame.data) else {
                // Forged, replayed, under the wrong stream's key, or before keys: lost.
                s.recv.refused += 1;
                s.recv.lost = true;
                s.recv.gate.on_loss(now);
                continue;
            };
            let keyframe = vp8_frame_info(plain).is_some_and(|i| i.keyframe);
            s.recv.lost |= frame.after_gap;
            if s.recv.gate.admit(now, keyframe, frame.after_gap) == Admit::Decode {
                if s.recv
                    .decoder
                    .decode(plain.to_vec(), frame.timestamp, keyframe)
                {
                    if std::mem::take(&mut s.recv.lost) {
                        s.recv.resumed_at = Some(frame.timestamp);
                    }
                } else {
                    s.recv.lost = true;
                    s.recv.gate.on_loss(now);
                }
            }
        }
        if s.recv.gate.poll_pli(now) {
            let _ = transport.request_keyframe(id).await;
        }
    }

    /// A decoder thread's output.
    pub(crate) fn on_decoded(&mut self, now: Duration, out: DecoderOutput) -> Option<VideoReport> {
        match out {
            DecoderOutput::Picture(d) => {
                let echo = self.echo.clone();
                let r = &mut self.stream(d.stream).recv;
                r.window_out.add(0);
                r.decode_total += d.decode_time;
                r.size = Some((d.frame.width(), d.frame.height()));
                r.last_picture = Some(Instant::now());
                r.stopped_reported = false;
                if d.keyframe {
                    r.keyframes += 1;
                }
                if d.stream == VideoStream::Camera
                    && let Some(feed) = echo
                {
                    feed.put(d.frame.clone());
                }
                let after_gap = r.resumed_at == Some(d.timestamp);
                if after_gap {
                    r.resumed_at = None;
                }
                let Some(frame) = hand_out(&mut r.in_flight, d.frame) else {
                    r.skipped += 1;
                    return None;
                };
                Some(VideoReport::Picture(VideoPicture {
                    stream: d.stream,
                    frame,
                    timestamp: d.timestamp,
                    keyframe: d.keyframe,
                    after_gap,
                }))
            }
            DecoderOutput::Error(id, _) => {
                let r = &mut self.stream(id).recv;
                r.decode_errors += 1;
                r.lost = true;
                r.gate.on_decode_error(now);
                None
            }
        }
    }

    /// Numbers for the stats panel (call about once a second).
    pub(crate) fn stats(
        &mut self,
        outbound: &OutboundFrames,
        inbound: &InboundFrames,
    ) -> [VideoStreamStats; 2] {
        let secs = self.last_stats.elapsed().as_secs_f64().max(0.001);
        self.last_stats = Instant::now();
        let one = |s: &mut Stream| {
            let (sent_fps, sent_kbps) = s.send.window.rate(secs);
            let (_, received_kbps) = s.recv.window_in.rate(secs);
            let (received_fps, _) = s.recv.window_out.rate(secs);
            let gate = s.recv.gate.stats();
            let kind = s.id.media_kind();
            VideoStreamStats {
                sending: s.send.encoder.is_some(),
                source: s.send.encoder.as_ref().map(|e| e.describe().to_owned()),
                sent_resolution: s.send.size,
                sent_fps,
                sent_kbps,
                target_kbps: s.send.encoder.as_ref().map_or(s.send.kbps, |e| e.bitrate()),
                frames_sent: s.send.window.frames,
                keyframes_sent: s.send.keyframes,
                keyframe_requests_received: s.send.requests,
                encode_time: u32::try_from(s.send.window.frames)
                    .ok()
                    .filter(|n| *n > 0)
                    .map(|n| s.send.encode_total / n),
                received_resolution: s.recv.size,
                received_fps,
                received_kbps,
                frames_decoded: s.recv.window_out.frames,
                pictures_skipped: s.recv.skipped,
                keyframes_received: s.recv.keyframes,
                frames_received: s.recv.frames_received,
                frames_refused: s.recv.refused,
                frames_waiting_for_keyframe: gate.dropped_waiting,
                keyframe_requests_sent: gate.plis,
                gaps: s.recv.reassembler.stats().gaps,
                decode_errors: s.recv.decode_errors,
                decode_time: u32::try_from(s.recv.window_out.frames)
                    .ok()
                    .filter(|n| *n > 0)
                    .map(|n| s.recv.decode_total / n),
                send_epoch: outbound.epoch(kind),
                receive_epoch: inbound.epoch(kind),
            }
        };
        let [a, b] = &mut self.streams;
        [one(a), one(b)]
    }
}
