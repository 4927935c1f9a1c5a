//! The media of one answered call: transport, E2EE handshake, the 20 ms audio loop, and the
//! video streams (see [`crate::call_video`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sealcall_e2ee::rand_core::UnwrapErr;
use sealcall_e2ee::{
    CalleeHandshake, CallerAwaitingConfirm, CallerHandshake, CipherSuite, DeviceIdentity,
    Established, HandshakeMessage, HandshakeParams, IdentityPublicKey, Intent, MediaKind,
    StreamConfig,
};
use sealcall_policy::Side;
use sealcall_signaling::{CallId, ClientMessage, HandshakeBytes, SdpKind, SdpText, ServerMessage};
use tokio::sync::{mpsc, watch};

use crate::call::{MediaMode, MediaProgress, MediaStart};
use crate::call_video::{CallVideo, VideoReport, VideoStreamStats, VideoSwitch};
use crate::frames::{FrameStats, InboundFrames, OutboundFrames};
use crate::media::video::{FrameFeed, VideoSource};
use crate::media::{
    AudioSink, AudioSource, FRAME_DURATION, JitterConfig, MAX_PACKET_BYTES, MediaStats,
    OpusEncoder, ReceivePipeline, SendPipeline,
};
use crate::transport::{CallTransport, IceServer, TransportConfig, TransportEvent};

/// Live statistics of a call, for a stats panel.
#[derive(Debug, Clone, PartialEq)]
pub struct CallStats {
    /// Codec, bitrates, packets, loss, jitter.
    pub media: MediaStats,
    /// Outbound frame protection.
    pub outbound: FrameStats,
    /// Inbound frame protection.
    pub inbound: FrameStats,
    /// Current audio key epoch sent with (E2EE calls).
    pub send_epoch: Option<u64>,
    /// Current audio key epoch received with (E2EE calls).
    pub receive_epoch: Option<u64>,
    /// Whether the call is end-to-end encrypted.
    pub end_to_end: bool,
    /// The camera stream, both directions.
    pub camera: VideoStreamStats,
    /// The screen share, both directions.
    pub screen: VideoStreamStats,
}

/// What the media task tells the engine.
#[derive(Debug)]
pub(crate) enum FromMedia {
    Send(ClientMessage),
    Progress(CallId, MediaProgress),
    SecurityCode(CallId, String),
    FirstAudio(CallId),
    Stats(CallId, Box<CallStats>),
    Video(CallId, VideoReport),
}

/// A call's video: sources to start once the call is ready, the switch for changes during the
/// call, and the echo feed (the echo bot sends back the camera pictures it receives).
pub(crate) struct VideoParams {
    pub camera: Option<Box<dyn VideoSource>>,
    pub screen: Option<Box<dyn VideoSource>>,
    pub switch: VideoSwitch,
    pub echo: Option<FrameFeed>,
}

pub(crate) struct MediaParams {
    pub start: MediaStart,
    pub identity: Arc<DeviceIdentity>,
    pub device_id: String,
    pub transport: TransportConfig,
    pub stream: StreamConfig,
    pub source: Box<dyn AudioSource + Send>,
    pub sink: Box<dyn AudioSink + Send>,
    pub muted: Arc<AtomicBool>,
    pub switch: AudioSwitch,
    pub video: VideoParams,
}

enum Handshake {
    None,
    Caller(Box<CallerHandshake>),
    CallerConfirm(Box<CallerAwaitingConfirm>),
    Callee(Box<CalleeHandshake>),
    Done,
}

/// Handshake parameters. The peer's identity key from the directory is pinned; a key that does
/// not decode fails the call rather than running the handshake unpinned.
fn params(p: &MediaParams) -> Result<HandshakeParams, String> {
    let peer = IdentityPublicKey::from_bytes(&p.start.peer_identity.0).map_err(|e| {
        format!("the directory's identity key for the other device is unusable: {e}")
    })?;
    Ok(HandshakeParams {
        suite: CipherSuite::Aes128GcmSha256,
        call_id: p.start.call_id.as_str().as_bytes().to_vec(),
        local_device: p.device_id.as_bytes().to_vec(),
        intent: Intent::EndToEnd,
        expected_peer: Some(peer),
    })
}

struct Task {
    p: MediaParams,
    out: mpsc::UnboundedSender<FromMedia>,
    transport: CallTransport,
    outbound: OutboundFrames,
    inbound: InboundFrames,
    handshake: Handshake,
    connected: bool,
    reported_ready: bool,
    started: Instant,
}

impl Task {
    fn send(&self, msg: ClientMessage) {
        let _ = self.out.send(FromMedia::Send(msg));
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    fn fail(&self, why: String) {
        let _ = self.out.send(FromMedia::Progress(
            self.p.start.call_id.clone(),
            MediaProgress::Failed(why),
        ));
    }

    fn send_handshake(&self, bytes: Vec<u8>) -> Result<(), String> {
        let data = HandshakeBytes::new(bytes).map_err(|e| format!("handshake message: {e}"))?;
        self.send(ClientMessage::Handshake {
            call_id: self.p.start.call_id.clone(),
            data,
        });
        Ok(())
    }

    fn keys_ready(&mut self, est: Established) -> Result<(), String> {
        let code = est.security_code().to_string();
        let session = est.into_session(self.p.stream).map_err(|e| e.to_string())?;
        let (senders, receivers) = session.split();
        self.outbound
            .install_keys(senders)
            .map_err(|e| e.to_string())?;
        self.inbound
            .install_keys(receivers)
            .map_err(|e| e.to_string())?;
        self.handshake = Handshake::Done;
        let _ = self
            .out
            .send(FromMedia::SecurityCode(self.p.start.call_id.clone(), code));
        Ok(())
    }

    fn on_handshake(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut rng = UnwrapErr(getrandom::SysRng);
        let identity = Arc::clone(&self.p.identity);
        let state = std::mem::replace(&mut self.handshake, Handshake::None);
        match state {
            Handshake::None
                if self.p.start.side == Side::Callee && self.outbound.is_end_to_end() =>
            {
                let msg = HandshakeMessage::parse(bytes).map_err(|e| e.to_string())?;
                if !matches!(msg, HandshakeMessage::Commit(_)) {
                    return Err(format!("unexpected handshake message {}", msg.name()));
                }
                let (callee, response) =
                    CalleeHandshake::respond(&mut rng, &identity, params(&self.p)?, bytes)
                        .map_err(|e| format!("handshake: {e}"))?;
                self.handshake = Handshake::Callee(Box::new(callee));
                self.send_handshake(response)
            }
            Handshake::Callee(callee) => {
                let (est, confirm) = callee
                    .on_reveal(&identity, bytes)
                    .map_err(|e| format!("handshake: {e}"))?;
                self.send_handshake(confirm)?;
                self.keys_ready(est)
            }
            Handshake::Caller(caller) => {
                let (awaiting, reveal) = caller
                    .on_response(&identity, bytes)
                    .map_err(|e| format!("handshake: {e}"))?;
                self.handshake = Handshake::CallerConfirm(Box::new(awaiting));
                self.send_handshake(reveal)
            }
            Handshake::CallerConfirm(awaiting) => {
                let est = awaiting
                    .on_confirm(bytes)
                    .map_err(|e| format!("handshake: {e}"))?;
                self.keys_ready(est)
            }
            other => {
                self.handshake = other;
                Err("unexpected handshake message".into())
            }
        }
    }

    fn maybe_ready(&mut self) {
        if !self.reported_ready && self.connected && self.outbound.ready() {
            self.reported_ready = true;
            let _ = self.out.send(FromMedia::Progress(
                self.p.start.call_id.clone(),
                MediaProgress::Ready,
            ));
        }
    }

    async fn on_server(&mut self, msg: ServerMessage) -> Result<(), String> {
        match msg {
            ServerMessage::Sdp {
                kind: SdpKind::Offer,
                sdp,
                ..
            } => {
                let answer = self
                    .transport
                    .accept_offer(sdp.as_str())
                    .await
                    .map_err(|e| e.to_string())?;
                let sdp = SdpText::new(answer).map_err(|e| format!("answer: {e}"))?;
                self.send(ClientMessage::Sdp {
                    call_id: self.p.start.call_id.clone(),
                    kind: SdpKind::Answer,
                    sdp,
                });
                Ok(())
            }
            ServerMessage::Sdp {
                kind: SdpKind::Answer,
                sdp,
                ..
            } => self
                .transport
                .accept_answer(sdp.as_str())
                .await
                .map_err(|e| e.to_string()),
            ServerMessage::Handshake { data, .. } => self.on_handshake(data.as_bytes()),
            _ => Ok(()),
        }
    }

    fn stats(
        &self,
        send: &SendPipeline,
        recv: &ReceivePipeline,
        video: &mut CallVideo,
    ) -> CallStats {
        let [camera, screen] = video.stats(&self.outbound, &self.inbound);
        CallStats {
            media: send.stats().combine(&recv.stats()),
            outbound: self.outbound.stats(),
            inbound: self.inbound.stats(),
            send_epoch: self.outbound.epoch(MediaKind::Audio),
            receive_epoch: self.inbound.epoch(MediaKind::Audio),
            end_to_end: self.outbound.is_end_to_end(),
            camera,
            screen,
        }
    }

    fn report_video(&self, report: VideoReport) {
        let _ = self
            .out
            .send(FromMedia::Video(self.p.start.call_id.clone(), report));
    }
}

/// Replacement audio for a live call: the engine puts a new source or sink here and the media
/// loop swaps it in at the next frame, so input and output can change mid-call without a gap.
#[derive(Clone, Default)]
pub(crate) struct AudioSwitch {
    source: Arc<Mutex<Option<Box<dyn AudioSource + Send>>>>,
    sink: Arc<Mutex<Option<Box<dyn AudioSink + Send>>>>,
}

impl AudioSwitch {
    /// Queues a new source and sink for the live call.
    pub(crate) fn replace(
        &self,
        source: Box<dyn AudioSource + Send>,
        sink: Box<dyn AudioSink + Send>,
    ) {
        if let Ok(mut s) = self.source.lock() {
            *s = Some(source);
        }
        if let Ok(mut k) = self.sink.lock() {
            *k = Some(sink);
        }
    }
}

/// The call's input: sends silence while muted, and takes a replacement from the switch.
struct Mutable {
    inner: Box<dyn AudioSource + Send>,
    muted: Arc<AtomicBool>,
    switch: AudioSwitch,
}

impl AudioSource for Mutable {
    fn read_frame(&mut self, out: &mut crate::media::Frame) -> crate::Result<bool> {
        if let Some(next) = self.switch.source.lock().ok().and_then(|mut s| s.take()) {
            self.inner = next;
        }
        let more = self.inner.read_frame(out)?;
        if self.muted.load(Ordering::Relaxed) {
            out.fill(0);
        }
        Ok(more)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// The call's output, taking a replacement from the switch (the old one is finished first).
struct Switchable {
    inner: Box<dyn AudioSink + Send>,
    switch: AudioSwitch,
}

impl AudioSink for Switchable {
    fn write_frame(&mut self, pcm: &crate::media::Frame) -> crate::Result<()> {
        if let Some(next) = self.switch.sink.lock().ok().and_then(|mut s| s.take()) {
            let mut old = std::mem::replace(&mut self.inner, next);
            old.finish()?;
        }
        self.inner.write_frame(pcm)
    }

    fn finish(&mut self) -> crate::Result<()> {
        self.inner.finish()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// Runs one call's media until `stop` flips or the transport fails.
pub(crate) async fn run(
    p: MediaParams,
    mut inbox: mpsc::UnboundedReceiver<ServerMessage>,
    out: mpsc::UnboundedSender<FromMedia>,
    mut stop: watch::Receiver<bool>,
) {
    let call_id = p.start.call_id.clone();
    let mut transport_config = p.transport.clone();
    if let Some(turn) = &p.start.turn {
        transport_config.ice_servers.push(IceServer {
            urls: turn.urls.clone(),
            username: turn.username.clone(),
            credential: turn.credential.clone(),
        });
    }
    let (transport, mut events) = match CallTransport::new(transport_config).await {
        Ok(t) => t,
        Err(e) => {
            let _ = out.send(FromMedia::Progress(
                call_id,
                MediaProgress::Failed(e.to_string()),
            ));
            return;
        }
    };
    let end_to_end = p.start.mode == MediaMode::EndToEnd;
    let (outbound, inbound) = if end_to_end {
        (OutboundFrames::end_to_end(), InboundFrames::end_to_end())
    } else {
        (OutboundFrames::standard(), InboundFrames::standard())
    };
    let mut task = Task {
        p,
        out,
        transport,
        outbound,
        inbound,
        handshake: Handshake::None,
        connected: false,
        reported_ready: false,
        started: Instant::now(),
    };
    let source = Mutable {
        inner: std::mem::replace(&mut task.p.source, Box::new(crate::media::SilenceSource)),
        muted: Arc::clone(&task.p.muted),
        switch: task.p.switch.clone(),
    };
    let sink = Box::new(Switchable {
        inner: std::mem::replace(&mut task.p.sink, Box::new(crate::media::NullSink)),
        switch: task.p.switch.clone(),
    }) as Box<dyn AudioSink + Send>;
    let encoder = match OpusEncoder::new() {
        Ok(e) => e,
        Err(e) => return task.fail(e.to_string()),
    };
    let mut send: SendPipeline =
        SendPipeline::new(Box::new(source) as Box<dyn AudioSource + Send>, encoder);
    let mut recv: ReceivePipeline = match ReceivePipeline::new(JitterConfig::default(), sink) {
        Ok(r) => r,
        Err(e) => return task.fail(e.to_string()),
    };
    let mut video = CallVideo::new(
        task.p.video.camera.take(),
        task.p.video.screen.take(),
        task.p.video.switch.clone(),
        task.p.video.echo.take(),
    );

    // The caller opens the handshake and the WebRTC offer.
    if task.p.start.side == Side::Caller {
        if end_to_end {
            let mut rng = UnwrapErr(getrandom::SysRng);
            let hs_params = match params(&task.p) {
                Ok(p) => p,
                Err(e) => return task.fail(e),
            };
            match CallerHandshake::start(&mut rng, &task.p.identity, hs_params) {
                Ok((caller, commit)) => {
                    task.handshake = Handshake::Caller(Box::new(caller));
                    if let Err(e) = task.send_handshake(commit) {
                        return task.fail(e);
                    }
                }
                Err(e) => return task.fail(format!("handshake: {e}")),
            }
        }
        match task.transport.create_offer().await {
            Ok(offer) => match SdpText::new(offer) {
                Ok(sdp) => task.send(ClientMessage::Sdp {
                    call_id: call_id.clone(),
                    kind: SdpKind::Offer,
                    sdp,
                }),
                Err(e) => return task.fail(format!("offer: {e}")),
            },
            Err(e) => return task.fail(e.to_string()),
        }
    }

    let mut frame_tick = tokio::time::interval(FRAME_DURATION);
    frame_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut stats_tick = tokio::time::interval(Duration::from_secs(1));
    let mut packet = [0u8; MAX_PACKET_BYTES];
    let mut first_audio = false;
    let mut video_started = false;
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
            msg = inbox.recv() => {
                let Some(msg) = msg else { break };
                if let Err(e) = task.on_server(msg).await {
                    task.fail(e);
                    break;
                }
                task.maybe_ready();
                if task.reported_ready && !video_started {
                    video_started = true;
                    video.on_ready();
                }
            }
            Some(out) = video.encoded_rx.recv() => {
                match video.on_encoded(task.now(), out, &mut task.outbound, &task.transport).await {
                    Ok(Some(report)) => task.report_video(report),
                    Ok(None) => {}
                    Err(e) => {
                        task.fail(e);
                        break;
                    }
                }
            }
            Some(out) = video.decoded_rx.recv() => {
                if let Some(report) = video.on_decoded(task.now(), out) {
                    task.report_video(report);
                }
            }
            event = events.recv() => {
                match event {
                    Some(TransportEvent::Connected) => {
                        task.connected = true;
                        task.maybe_ready();
                        if task.reported_ready && !video_started {
                            video_started = true;
                            video.on_ready();
                        }
                    }
                    Some(TransportEvent::Video(rtp)) => {
                        let now = task.now();
                        video.on_packet(now, rtp, &mut task.inbound, &task.transport).await;
                    }
                    Some(TransportEvent::KeyframeRequest(stream)) => {
                        video.on_keyframe_request(stream);
                    }
                    Some(TransportEvent::Failed) => {
                        task.fail(if task.reported_ready {
                            "the media connection was lost".into()
                        } else {
                            "the media connection failed".into()
                        });
                        break;
                    }
                    Some(TransportEvent::Audio(rtp)) => {
                        let now = task.now();
                        if let Some(opus) = task.inbound.unprotect(now, MediaKind::Audio, &rtp.payload) {
                            recv.push_packet(rtp.seq, rtp.timestamp, opus, now);
                            if !first_audio {
                                first_audio = true;
                                let _ = task.out.send(FromMedia::FirstAudio(call_id.clone()));
                            }
                        }
                    }
                    Some(_) => {}
                    None => break,
                }
            }
            _ = frame_tick.tick() => {
                let now = task.now();
                video.apply_switch();
                for report in video.on_tick(now, &mut task.inbound, &task.transport).await {
                    task.report_video(report);
                }
                if task.connected {
                    if let Err(e) = recv.tick(now) {
                        task.fail(e.to_string());
                        break;
                    }
                    // Fail closed: nothing is encoded for the wire until frames may be sent.
                    if task.outbound.ready() {
                        match send.next_packet(&mut packet) {
                            Ok(Some(n)) => {
                                match task.outbound.protect(now, MediaKind::Audio, &packet[..n]) {
                                    Ok(Some(payload)) => {
                                        let payload = Bytes::copy_from_slice(payload);
                                        if let Err(e) = task.transport.send_audio(payload, FRAME_DURATION).await {
                                            task.fail(e.to_string());
                                            break;
                                        }
                                    }
                                    Ok(None) => {}
                                    Err(e) => {
                                        task.fail(e.to_string());
                                        break;
                                    }
                                }
                            }
                            Ok(None) => {}
                            Err(e) => {
                                task.fail(e.to_string());
                                break;
                            }
                        }
                    }
                }
            }
            _ = stats_tick.tick() => {
                let stats = task.stats(&send, &recv, &mut video);
                let _ = task.out.send(FromMedia::Stats(call_id.clone(), Box::new(stats)));
            }
        }
    }
    let _ = recv.finish();
    let _ = task.transport.close().await;
}
