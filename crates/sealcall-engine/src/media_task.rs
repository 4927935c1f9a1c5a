//! The media of one answered call: transport, E2EE handshake, the 20 ms audio loop, and the
//! video streams (see [`crate::call_video`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sealcall_e2ee::rand_core::UnwrapErr;
use sealcall_e2ee::{
    CalleeHandshake, CallerAwaitingConfirm, CallerHandshake, CipherSuite, Completed, ControlOpener,
    ControlSealer, DeviceIdentity, Established, HandshakeMessage, HandshakeParams,
    IdentityPublicKey, Intent, MediaKind, PostQuantum, StreamConfig,
};
use sealcall_policy::{
    CallIntent, E2eeGrant, Feature, LocalState, Outcome, Settlement, Side, local_intent, settle,
};
use sealcall_signaling::{
    CallId, ClientMessage, ControlBytes, HandshakeBytes, PeerMessage, SdpKind, SdpText,
    ServerMessage, encode_peer, parse_peer_message,
};
use tokio::sync::{mpsc, watch};

use crate::call::{MediaMode, MediaProgress, MediaStart};
use crate::call_video::{CallVideo, VideoReport, VideoStreamStats, VideoSwitch};
use crate::frames::{FrameStats, InboundFrames, OutboundFrames};
use crate::media::video::{FrameFeed, VideoSource};
use crate::media::{
    AudioSink, AudioSource, CallRecorder, FRAME_DURATION, FRAME_SAMPLES, Frame, JitterConfig,
    MAX_PACKET_BYTES, MediaStats, OpusEncoder, ProcessedSource, ProcessingStats, ReceivePipeline,
    ReferenceSink, SendPipeline, SharedProcessor,
};
use crate::post_quantum::{PostQuantumStatus, handshake_failure, local_post_quantum};
use crate::transport::{
    CallTransport, IceServer, TransportConfig, TransportEvent, sdp_fingerprint,
};

/// Live statistics of a call, for a stats panel.
#[derive(Debug, Clone, PartialEq)]
pub struct CallStats {
    /// Codec, bitrates, packets, loss, jitter.
    pub media: MediaStats,
    /// Echo cancellation, noise suppression and gain control on the microphone: which parts
    /// run, the echo return loss enhancement, the delay, the cost.
    pub audio_processing: ProcessingStats,
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
    /// What congestion control estimates this side may send, kbit/s (GCC over the peer's
    /// transport-wide feedback); the video streams' targets are shares of it.
    pub send_estimate_kbps: u32,
}

// A sealed peer message always fits the signaling message's bound, and a peer message the
// control channel's plaintext.
const _: () = assert!(sealcall_signaling::MAX_CONTROL_BYTES == sealcall_e2ee::MAX_CONTROL_MESSAGE);
const _: () =
    assert!(sealcall_signaling::MAX_PEER_MESSAGE_BYTES == sealcall_e2ee::MAX_CONTROL_PLAINTEXT);

/// Control messages that may wait for the channel's keys (they arrive before this side settled
/// the call); more are dropped.
const MAX_PENDING_CONTROL: usize = 16;

/// Whether a call is on hold, and by whom. While either side holds it, neither side sends
/// media or plays what arrives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HoldState {
    /// This device put the call on hold.
    pub by_me: bool,
    /// The other device put it on hold (as it said in a sealed control message).
    pub by_peer: bool,
}

impl HoldState {
    /// Whether media is paused.
    pub fn is_held(self) -> bool {
        self.by_me || self.by_peer
    }
}

/// How long the other device has to acknowledge the recording notice before the recording is
/// given up (nothing recorded).
pub const RECORDING_NOTICE_TIMEOUT: Duration = Duration::from_secs(5);

/// A recording of the call on this device, as reported in
/// [`crate::EngineEvent::Recording`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordingState {
    /// The other device was asked to show that the call is recorded; nothing is recorded
    /// until it confirms.
    Waiting {
        /// The file being prepared.
        path: std::path::PathBuf,
    },
    /// Recording: the other device confirmed that it shows the notice.
    Recording {
        /// The file.
        path: std::path::PathBuf,
    },
    /// Stopped (by the user or because the call ended); the file is complete.
    Stopped {
        /// The file.
        path: std::path::PathBuf,
        /// How much was recorded.
        duration: Duration,
    },
    /// Nothing was recorded and the file was removed, for this reason.
    Failed(String),
}

/// This device's recording of the call.
enum Recording {
    Off,
    /// Asked for the other side's acknowledgement at `since`.
    Waiting {
        recorder: CallRecorder,
        since: Instant,
    },
    On(CallRecorder),
}

/// The first repeat of a changed hold state.
const HOLD_RESEND_FIRST: Duration = Duration::from_secs(2);
/// The repeat of a hold that lasts.
const HOLD_RESEND_HELD: Duration = Duration::from_secs(10);

/// Frames played, copied for a recording while one runs (`None` otherwise).
type PlayoutTap = Arc<Mutex<Option<Vec<Frame>>>>;

/// What the engine asks of a call's media task.
// One message per signaling message or user action: boxing the large variant would only add
// an allocation to every relayed SDP, candidate and handshake message.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum ToMedia {
    /// A message from the server for this call.
    Server(ServerMessage),
    /// Put the call on hold (`true`) or resume it.
    Hold(bool),
    /// Start recording into this (new, empty) file, or stop (`None`).
    Record(Option<CallRecorder>),
}

/// What the media task tells the engine.
#[derive(Debug)]
pub(crate) enum FromMedia {
    Send(ClientMessage),
    Progress(CallId, MediaProgress),
    SecurityCode(CallId, String, PostQuantumStatus),
    FirstAudio(CallId),
    Stats(CallId, Box<CallStats>),
    Video(CallId, VideoReport),
    /// The server's account of the call contradicts what the two devices signed.
    Warning(CallId, String),
    /// The call's hold state changed.
    Hold(CallId, HoldState),
    /// This device's recording changed.
    Recording(CallId, RecordingState),
    /// The other device started (`true`) or stopped recording the call.
    PeerRecording(CallId, bool),
    /// Something to tell the user about the call.
    Notice(String),
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
    /// The call's audio processing, shared by playout (the echo reference) and capture.
    pub processing: SharedProcessor,
    pub video: VideoParams,
    /// This device's own state (setting, cached policy, capability), for its signed intent.
    pub local: LocalState,
    /// This device's post-quantum setting (raised to required by a cached policy that says so).
    pub post_quantum: PostQuantum,
}

enum Handshake {
    None,
    Caller(Box<CallerHandshake>),
    CallerConfirm(Box<CallerAwaitingConfirm>),
    Callee(Box<CalleeHandshake>),
    Done,
}

/// Handshake parameters: this device's own intent (from its own state, never the server's
/// decision) and the fingerprint of its DTLS certificate. The peer's identity key from the
/// directory is pinned; a key that does not decode fails the call rather than running the
/// handshake unpinned.
fn params(p: &MediaParams, dtls_fingerprint: [u8; 32]) -> Result<HandshakeParams, String> {
    let peer = IdentityPublicKey::from_bytes(&p.start.peer_identity.0).map_err(|e| {
        format!("the directory's identity key for the other device is unusable: {e}")
    })?;
    Ok(HandshakeParams {
        suite: CipherSuite::Aes128GcmSha256,
        call_id: p.start.call_id.as_str().as_bytes().to_vec(),
        local_device: p.device_id.as_bytes().to_vec(),
        intent: match local_intent(&p.local) {
            CallIntent::EndToEnd => Intent::EndToEnd,
            CallIntent::Standard => Intent::Standard,
        },
        dtls_fingerprint,
        post_quantum: local_post_quantum(p.post_quantum, &p.local),
        expected_peer: Some(peer),
    })
}

/// The fingerprint of our own DTLS certificate, from the description we send.
fn own_fingerprint(sdp: &str) -> Result<[u8; 32], String> {
    sdp_fingerprint(sdp).ok_or_else(|| "our session description has no SHA-256 fingerprint".into())
}

struct Task {
    p: MediaParams,
    out: mpsc::UnboundedSender<FromMedia>,
    transport: CallTransport,
    outbound: OutboundFrames,
    inbound: InboundFrames,
    handshake: Handshake,
    /// Our DTLS certificate's fingerprint, once our description exists.
    fingerprint: Option<[u8; 32]>,
    /// A Commit that arrived before our answer (so before our fingerprint was known).
    pending_commit: Option<Vec<u8>>,
    /// The verified handshake, until the call's mode is settled.
    completed: Option<Completed>,
    settled: bool,
    connected: bool,
    reported_ready: bool,
    started: Instant,
    /// The settled keys' post-quantum status (end-to-end calls).
    post_quantum: Option<PostQuantumStatus>,
    /// The call's end-to-end control channel, once the call is settled.
    control: Option<(ControlSealer, ControlOpener)>,
    /// Sealed control messages that arrived before the channel existed.
    pending_control: Vec<ControlBytes>,
    hold: HoldState,
    /// Whether the video streams were last told the call is held.
    was_held: bool,
    /// When to send this device's hold state again, and how often it was sent again since it
    /// changed (a dropped message, or one sent while signaling was down, must not leave the
    /// other side held).
    hold_resend: Option<(Instant, u32)>,
    /// Whether the user was warned about a control message that failed its check.
    control_warned: bool,
    recording: Recording,
    /// Playout copied for the recording.
    tap: PlayoutTap,
    /// Whether the other device records the call (as it said).
    peer_recording: bool,
}

impl Task {
    fn send(&self, msg: ClientMessage) {
        let _ = self.out.send(FromMedia::Send(msg));
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    fn fail(&self, why: String) {
        tracing::warn!(
            call_id = %self.p.start.call_id,
            side = ?self.p.start.side,
            after_ms = self.started.elapsed().as_millis() as u64,
            reason = %why,
            "call media failed"
        );
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

    fn keys_ready(&mut self, grant: &E2eeGrant, est: Established) -> Result<(), String> {
        let code = est.security_code().to_string();
        let post_quantum = PostQuantumStatus::of(est.verified());
        let session = est.into_session(self.p.stream).map_err(|e| e.to_string())?;
        let (senders, receivers) = session.split();
        self.outbound
            .install_keys(grant, senders)
            .map_err(|e| e.to_string())?;
        self.inbound
            .install_keys(grant, receivers)
            .map_err(|e| e.to_string())?;
        self.post_quantum = Some(post_quantum);
        let _ = self.out.send(FromMedia::SecurityCode(
            self.p.start.call_id.clone(),
            code,
            post_quantum,
        ));
        Ok(())
    }

    /// Once the handshake verified and DTLS is up: checks that the certificate the transport
    /// saw is the one the peer signed, then settles the call's mode from the two signed
    /// intents (the server's decision is advice) and lets media flow, or ends the call.
    async fn try_settle(&mut self) -> Result<(), String> {
        if self.settled || !self.connected || self.completed.is_none() {
            return Ok(());
        }
        let Some(mut completed) = self.completed.take() else {
            return Ok(());
        };
        let seen = self.transport.remote_fingerprint().await.ok_or(
            "the media connection is up but its certificate is unknown; the call was ended",
        )?;
        let verified = completed.verified();
        if verified.peer_device != self.p.start.peer_device.as_str().as_bytes() {
            return Err(
                "the other device signed another device id than the one the service named: \
                 someone may be in the middle of this call. The call was ended before any media."
                    .into(),
            );
        }
        if seen != verified.peer_fingerprint {
            return Err(
                "the media connection's certificate is not the one the other device \
                        signed: someone may be in the middle of this call. The call was ended \
                        before any media."
                    .into(),
            );
        }
        let peer_intent = match verified.peer_intent {
            Intent::EndToEnd => CallIntent::EndToEnd,
            _ => CallIntent::Standard,
        };
        let server = match self.p.start.mode {
            MediaMode::EndToEnd => Outcome::EndToEnd,
            MediaMode::Standard { .. } => Outcome::Standard,
        };
        let settlement = settle(
            &self.p.local,
            self.p.start.side,
            &self.p.start.peer,
            peer_intent,
            server,
        );
        if let Some(w) = settlement.warning() {
            let _ = self.out.send(FromMedia::Warning(
                self.p.start.call_id.clone(),
                w.user_message().to_owned(),
            ));
        }
        let control = completed
            .take_control_channel()
            .ok_or("the call's control channel was already taken")?;
        self.settled = true;
        match (settlement, completed) {
            (Settlement::EndToEnd { grant, .. }, Completed::EndToEnd(est)) => {
                self.keys_ready(&grant, est)?;
            }
            (Settlement::Standard { .. }, Completed::Standard(_)) => {
                self.outbound.settle_standard().map_err(|e| e.to_string())?;
                self.inbound.settle_standard().map_err(|e| e.to_string())?;
            }
            (Settlement::End { reason, .. }, _) => return Err(reason.user_message().into()),
            // The handshake and the settlement read the same two signed intents.
            _ => return Err("the call's signed intents disagree with themselves".into()),
        }
        // Only a call that settled gets its control channel, and then what waited for it.
        self.control = Some(control.split());
        for data in std::mem::take(&mut self.pending_control) {
            self.on_control(&data);
        }
        self.maybe_ready();
        Ok(())
    }

    /// Puts the call on hold or resumes it, and tells the other device in a sealed control
    /// message. The hold is enforced here whatever the other device does: nothing is sent or
    /// played while it lasts.
    fn set_hold(&mut self, on: bool) {
        if self.control.is_none() {
            let _ = self.out.send(FromMedia::Notice(
                "hold is available once the call is connected".into(),
            ));
            return;
        }
        if self.hold.by_me == on {
            return;
        }
        self.send_peer(if on {
            PeerMessage::Hold {}
        } else {
            PeerMessage::Resume {}
        });
        self.hold.by_me = on;
        self.hold_resend = Some((Instant::now() + HOLD_RESEND_FIRST, 0));
        self.report_hold();
    }

    /// Sends this device's hold state again when it is due: at 2, 4 and 8 s after a change,
    /// then every 10 s while this device holds the call. The other side applies a repeat as a
    /// no-op.
    fn resend_hold(&mut self) {
        let Some((at, sent)) = self.hold_resend else {
            return;
        };
        if Instant::now() < at {
            return;
        }
        self.send_peer(if self.hold.by_me {
            PeerMessage::Hold {}
        } else {
            PeerMessage::Resume {}
        });
        let sent = sent + 1;
        self.hold_resend = match (self.hold.by_me, sent) {
            (false, 3..) => None,
            (_, 0..=2) => Some((Instant::now() + HOLD_RESEND_FIRST * (1 << sent), sent)),
            (true, _) => Some((Instant::now() + HOLD_RESEND_HELD, sent)),
        };
    }

    /// Seals a message for the other device and sends it; `false` (with a notice) when it
    /// could not be sent.
    fn send_peer(&mut self, msg: PeerMessage) -> bool {
        let Some((sealer, _)) = self.control.as_mut() else {
            return false;
        };
        let sealed = encode_peer(&msg)
            .map_err(|e| e.to_string())
            .and_then(|text| sealer.seal(text.as_bytes()).map_err(|e| e.to_string()))
            .and_then(ControlBytes::new);
        match sealed {
            Ok(data) => {
                self.send(ClientMessage::Control {
                    call_id: self.p.start.call_id.clone(),
                    data,
                });
                true
            }
            Err(e) => {
                let _ = self.out.send(FromMedia::Notice(format!(
                    "could not tell the other device: {e}"
                )));
                false
            }
        }
    }

    fn report_recording(&self, state: RecordingState) {
        tracing::info!(call_id = %self.p.start.call_id, state = ?state, "call recording");
        let _ = self
            .out
            .send(FromMedia::Recording(self.p.start.call_id.clone(), state));
    }

    /// Starts (asks the other device to show the notice first) or stops this device's
    /// recording.
    fn set_recording(&mut self, recorder: Option<CallRecorder>) {
        match (
            recorder,
            std::mem::replace(&mut self.recording, Recording::Off),
        ) {
            (Some(recorder), Recording::Off) => {
                // The engine checked the mode; checked again here, where it is settled.
                let refused = if self.outbound.is_end_to_end() {
                    Some(Feature::Recording.user_message())
                } else if self.control.is_none() {
                    Some("recording is available once the call is connected".to_owned())
                } else {
                    None
                };
                if let Some(why) = refused {
                    let _ = recorder.discard();
                    return self.report_recording(RecordingState::Failed(why));
                }
                let path = recorder.path().to_path_buf();
                if !self.send_peer(PeerMessage::RecordingStarted {}) {
                    let _ = recorder.discard();
                    return self.report_recording(RecordingState::Failed(
                        "the other device could not be told; nothing was recorded".into(),
                    ));
                }
                self.recording = Recording::Waiting {
                    recorder,
                    since: Instant::now(),
                };
                self.report_recording(RecordingState::Waiting { path });
            }
            (Some(recorder), current) => {
                self.recording = current;
                let _ = recorder.discard();
                let _ = self.out.send(FromMedia::Notice(
                    "the call is already being recorded".into(),
                ));
            }
            (None, Recording::Off) => {}
            (None, current) => {
                self.send_peer(PeerMessage::RecordingStopped {});
                self.end_recording(current, "you stopped it before the other device confirmed");
            }
        }
    }

    /// Finishes a recording (or discards one that never started) and reports it.
    fn end_recording(&mut self, recording: Recording, unconfirmed: &str) {
        if let Ok(mut tap) = self.tap.lock() {
            *tap = None;
        }
        match recording {
            Recording::Off => {}
            Recording::Waiting { recorder, .. } => {
                let _ = recorder.discard();
                self.report_recording(RecordingState::Failed(format!(
                    "nothing was recorded: {unconfirmed}"
                )));
            }
            Recording::On(recorder) => match recorder.finish() {
                Ok(done) => self.report_recording(RecordingState::Stopped {
                    duration: done.duration(),
                    path: done.path,
                }),
                Err(e) => self.report_recording(RecordingState::Failed(e.to_string())),
            },
        }
    }

    /// One tick of a recording: what was sent and what was played go into the file; a notice
    /// the other device did not confirm in time gives the recording up.
    fn record_tick(&mut self, sent: Option<&Frame>) {
        if let Recording::Waiting { since, .. } = &self.recording
            && since.elapsed() > RECORDING_NOTICE_TIMEOUT
        {
            let waiting = std::mem::replace(&mut self.recording, Recording::Off);
            self.send_peer(PeerMessage::RecordingStopped {});
            self.end_recording(
                waiting,
                "the other device did not confirm that it shows the recording notice",
            );
            return;
        }
        let Recording::On(recorder) = &mut self.recording else {
            return;
        };
        const SILENCE: Frame = [0; FRAME_SAMPLES];
        let mut result = recorder.local(sent.unwrap_or(&SILENCE));
        // Drained in place: the tap keeps its capacity, so a tick allocates nothing.
        if let Ok(mut tap) = self.tap.lock()
            && let Some(played) = tap.as_mut()
        {
            for frame in played.drain(..) {
                result = result.and_then(|()| recorder.remote(&frame));
            }
        }
        if let Err(e) = result {
            let on = std::mem::replace(&mut self.recording, Recording::Off);
            self.send_peer(PeerMessage::RecordingStopped {});
            self.end_recording(on, "");
            let _ = self
                .out
                .send(FromMedia::Notice(format!("the recording stopped: {e}")));
        }
    }

    fn report_hold(&self) {
        tracing::info!(
            call_id = %self.p.start.call_id,
            by_me = self.hold.by_me,
            by_peer = self.hold.by_peer,
            "call hold changed"
        );
        let _ = self
            .out
            .send(FromMedia::Hold(self.p.start.call_id.clone(), self.hold));
    }

    /// A sealed control message from the other device: opened, or refused with a warning
    /// (the service altered, forged or replayed it).
    fn on_control(&mut self, data: &ControlBytes) {
        let Some((_, opener)) = self.control.as_mut() else {
            if self.pending_control.len() < MAX_PENDING_CONTROL {
                self.pending_control.push(data.clone());
            } else {
                tracing::warn!(call_id = %self.p.start.call_id, "too many control messages before the call settled; one dropped");
            }
            return;
        };
        let opened = match opener.open(data.as_bytes()) {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(call_id = %self.p.start.call_id, error = %e, "control message refused");
                // Once per call: a service that keeps altering messages cannot flood the UI.
                if std::mem::replace(&mut self.control_warned, true) {
                    return;
                }
                let _ = self.out.send(FromMedia::Warning(
                    self.p.start.call_id.clone(),
                    "A message from the other device failed its end-to-end check: the service \
                     may have altered, forged or replayed it. It was ignored."
                        .into(),
                ));
                return;
            }
        };
        if opened.missed > 0 {
            tracing::info!(call_id = %self.p.start.call_id, missed = opened.missed, "control messages dropped on the way");
        }
        match parse_peer_message(&opened.plaintext) {
            Ok(PeerMessage::Hold {}) => self.peer_hold(true),
            Ok(PeerMessage::Resume {}) => self.peer_hold(false),
            Ok(PeerMessage::RecordingStarted {}) => self.peer_asks_to_record(),
            Ok(PeerMessage::RecordingAcknowledged {}) => {
                match std::mem::replace(&mut self.recording, Recording::Off) {
                    Recording::Waiting { recorder, .. } => {
                        if let Ok(mut tap) = self.tap.lock() {
                            *tap = Some(Vec::new());
                        }
                        let path = recorder.path().to_path_buf();
                        self.recording = Recording::On(recorder);
                        self.report_recording(RecordingState::Recording { path });
                    }
                    // Not asked for (late, after a stop): nothing changes.
                    other => self.recording = other,
                }
            }
            Ok(PeerMessage::RecordingStopped {}) => {
                if self.peer_recording {
                    self.peer_recording = false;
                    let _ = self.out.send(FromMedia::PeerRecording(
                        self.p.start.call_id.clone(),
                        false,
                    ));
                }
            }
            Err(e) => {
                // Authentic but not understood: a newer peer; ignored.
                tracing::info!(call_id = %self.p.start.call_id, code = ?e.code(), "peer message not understood");
                let _ = self.out.send(FromMedia::Notice(format!(
                    "the other device sent something this version does not understand ({e})"
                )));
            }
        }
    }

    /// Tells the media when the call goes on or off hold. On resume the audio jitter buffer
    /// starts over (the pause is not jitter, and the next packets are not late), and the other
    /// device is asked for a keyframe on each stream (its resume keyframe may have arrived
    /// here while this side still held).
    async fn sync_hold(&mut self, video: &mut CallVideo, recv: &mut ReceivePipeline) {
        let held = self.hold.is_held();
        if held != self.was_held {
            self.was_held = held;
            video.set_held(held);
            if !held {
                recv.restart();
                for stream in crate::media::video::VideoStream::ALL {
                    let _ = self.transport.request_keyframe(stream).await;
                }
            }
        }
    }

    /// The other device asks to record: show it, then confirm (it records only after that).
    /// This device's policy blocks recording in an end-to-end encrypted call: no confirmation
    /// then, so the other device records nothing.
    fn peer_asks_to_record(&mut self) {
        if self.outbound.is_end_to_end() {
            let _ = self.out.send(FromMedia::Notice(
                "the other device asked to record this end-to-end encrypted call; it was refused"
                    .into(),
            ));
            return;
        }
        if !self.peer_recording {
            self.peer_recording = true;
            let _ = self
                .out
                .send(FromMedia::PeerRecording(self.p.start.call_id.clone(), true));
        }
        self.send_peer(PeerMessage::RecordingAcknowledged {});
    }

    fn peer_hold(&mut self, on: bool) {
        if self.hold.by_peer != on {
            self.hold.by_peer = on;
            self.report_hold();
        }
    }

    /// Answers a Commit (the callee, once its own fingerprint is known).
    fn respond(&mut self, commit: &[u8], fingerprint: [u8; 32]) -> Result<(), String> {
        let mut rng = UnwrapErr(getrandom::SysRng);
        let (callee, response) = CalleeHandshake::respond(
            &mut rng,
            &self.p.identity,
            params(&self.p, fingerprint)?,
            commit,
        )
        .map_err(|e| handshake_failure(&e))?;
        self.handshake = Handshake::Callee(Box::new(callee));
        self.send_handshake(response)
    }

    fn on_handshake(&mut self, bytes: &[u8]) -> Result<(), String> {
        let identity = Arc::clone(&self.p.identity);
        let state = std::mem::replace(&mut self.handshake, Handshake::None);
        match state {
            Handshake::None if self.p.start.side == Side::Callee => {
                let msg = HandshakeMessage::parse(bytes).map_err(|e| e.to_string())?;
                if !matches!(msg, HandshakeMessage::Commit(_)) {
                    return Err(format!("unexpected handshake message {}", msg.name()));
                }
                match self.fingerprint {
                    Some(fp) => self.respond(bytes, fp),
                    None if self.pending_commit.is_none() => {
                        self.pending_commit = Some(bytes.to_vec());
                        Ok(())
                    }
                    None => Err("a second handshake Commit".into()),
                }
            }
            Handshake::Callee(callee) => {
                let (completed, confirm) = callee
                    .complete(&identity, bytes)
                    .map_err(|e| handshake_failure(&e))?;
                self.send_handshake(confirm)?;
                self.handshake = Handshake::Done;
                self.completed = Some(completed);
                Ok(())
            }
            Handshake::Caller(caller) => {
                let (awaiting, reveal) = caller
                    .on_response(&identity, bytes)
                    .map_err(|e| handshake_failure(&e))?;
                self.handshake = Handshake::CallerConfirm(Box::new(awaiting));
                self.send_handshake(reveal)
            }
            Handshake::CallerConfirm(awaiting) => {
                let completed = awaiting
                    .complete(bytes)
                    .map_err(|e| handshake_failure(&e))?;
                self.handshake = Handshake::Done;
                self.completed = Some(completed);
                Ok(())
            }
            other => {
                self.handshake = other;
                Err("unexpected handshake message".into())
            }
        }
    }

    fn maybe_ready(&mut self) {
        if !self.reported_ready && self.connected && self.settled && self.outbound.ready() {
            self.reported_ready = true;
            tracing::info!(
                call_id = %self.p.start.call_id,
                side = ?self.p.start.side,
                end_to_end = self.outbound.is_end_to_end(),
                post_quantum = self.post_quantum.map(tracing::field::debug),
                setup_ms = self.started.elapsed().as_millis() as u64,
                "call media ready"
            );
            let _ = self.out.send(FromMedia::Progress(
                self.p.start.call_id.clone(),
                MediaProgress::Ready {
                    end_to_end: self.outbound.is_end_to_end(),
                },
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
                let fingerprint = own_fingerprint(&answer)?;
                self.fingerprint = Some(fingerprint);
                let sdp = SdpText::new(answer).map_err(|e| format!("answer: {e}"))?;
                self.send(ClientMessage::Sdp {
                    call_id: self.p.start.call_id.clone(),
                    kind: SdpKind::Answer,
                    sdp,
                });
                match self.pending_commit.take() {
                    Some(commit) => self.respond(&commit, fingerprint),
                    None => Ok(()),
                }
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
            ServerMessage::Control { data, .. } => {
                self.on_control(&data);
                Ok(())
            }
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
            audio_processing: self.p.processing.lock().stats(),
            outbound: self.outbound.stats(),
            inbound: self.inbound.stats(),
            send_epoch: self.outbound.epoch(MediaKind::Audio),
            receive_epoch: self.inbound.epoch(MediaKind::Audio),
            end_to_end: self.outbound.is_end_to_end(),
            camera,
            screen,
            send_estimate_kbps: video.send_estimate_kbps(),
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

/// The call's input as captured: takes a replacement from the switch (the audio processing
/// restarts for the new input).
struct Switching {
    inner: Box<dyn AudioSource + Send>,
    switch: AudioSwitch,
    processing: SharedProcessor,
}

impl AudioSource for Switching {
    fn read_frame(&mut self, out: &mut crate::media::Frame) -> crate::Result<bool> {
        if let Some(next) = self.switch.source.lock().ok().and_then(|mut s| s.take()) {
            self.inner = next;
            self.processing.lock().input_changed(self.inner.is_device());
        }
        self.inner.read_frame(out)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn is_device(&self) -> bool {
        self.inner.is_device()
    }

    fn buffered(&self) -> Option<Duration> {
        self.inner.buffered()
    }
}

/// The call's input as sent: exact silence while muted. Muting comes after the processing,
/// which goes on hearing the microphone (so the echo canceller stays converged) while what it
/// would send is replaced by zeros.
struct Mutable<S> {
    inner: S,
    muted: Arc<AtomicBool>,
}

impl<S: AudioSource> AudioSource for Mutable<S> {
    fn read_frame(&mut self, out: &mut crate::media::Frame) -> crate::Result<bool> {
        let more = self.inner.read_frame(out)?;
        if self.muted.load(Ordering::Relaxed) {
            out.fill(0);
        }
        Ok(more)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn is_device(&self) -> bool {
        self.inner.is_device()
    }

    fn buffered(&self) -> Option<Duration> {
        self.inner.buffered()
    }
}

/// The call's output, taking a replacement from the switch (the old one is finished first,
/// and the echo canceller restarts: the echo path is another).
struct Switchable {
    inner: Box<dyn AudioSink + Send>,
    switch: AudioSwitch,
    processing: SharedProcessor,
    tap: PlayoutTap,
}

impl AudioSink for Switchable {
    fn write_frame(&mut self, pcm: &crate::media::Frame) -> crate::Result<()> {
        if let Some(next) = self.switch.sink.lock().ok().and_then(|mut s| s.take()) {
            let mut old = std::mem::replace(&mut self.inner, next);
            self.processing.lock().output_changed();
            old.finish()?;
        }
        if let Ok(mut tap) = self.tap.lock()
            && let Some(frames) = tap.as_mut()
            && frames.len() < 50
        {
            frames.push(*pcm);
        }
        self.inner.write_frame(pcm)
    }

    fn finish(&mut self) -> crate::Result<()> {
        self.inner.finish()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn buffered(&self) -> Option<Duration> {
        self.inner.buffered()
    }
}

/// Runs one call's media until `stop` flips or the transport fails.
pub(crate) async fn run(
    p: MediaParams,
    mut inbox: mpsc::UnboundedReceiver<ToMedia>,
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
    // Every call starts with nothing flowing: the mode is settled from the two signed intents
    // once the handshake verified and DTLS is up.
    let (outbound, inbound) = (OutboundFrames::end_to_end(), InboundFrames::end_to_end());
    let mut task = Task {
        p,
        out,
        transport,
        outbound,
        inbound,
        handshake: Handshake::None,
        fingerprint: None,
        pending_commit: None,
        completed: None,
        settled: false,
        connected: false,
        reported_ready: false,
        started: Instant::now(),
        post_quantum: None,
        control: None,
        pending_control: Vec::new(),
        hold: HoldState::default(),
        was_held: false,
        hold_resend: None,
        control_warned: false,
        recording: Recording::Off,
        tap: PlayoutTap::default(),
        peer_recording: false,
    };
    tracing::info!(
        call_id = %call_id,
        side = ?task.p.start.side,
        peer = %task.p.start.peer,
        peer_device = %task.p.start.peer_device,
        announced_mode = ?task.p.start.mode,
        relay = task.p.start.turn.is_some(),
        "call media starting"
    );
    // Playout is the echo reference (processed before the microphone within each tick: the
    // loop below plays, then captures); the microphone goes through the processing before Opus.
    let processing = task.p.processing.clone();
    let source = Mutable {
        inner: ProcessedSource::new(
            Switching {
                inner: std::mem::replace(&mut task.p.source, Box::new(crate::media::SilenceSource)),
                switch: task.p.switch.clone(),
                processing: processing.clone(),
            },
            processing.clone(),
        ),
        muted: Arc::clone(&task.p.muted),
    };
    let sink = Box::new(ReferenceSink::new(
        Switchable {
            inner: std::mem::replace(&mut task.p.sink, Box::new(crate::media::NullSink)),
            switch: task.p.switch.clone(),
            processing: processing.clone(),
            tap: Arc::clone(&task.tap),
        },
        processing,
    )) as Box<dyn AudioSink + Send>;
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

    // The caller sends the WebRTC offer, then opens the handshake with the fingerprint of the
    // certificate that offer carries (the callee gets them in that order).
    if task.p.start.side == Side::Caller {
        let offer = match task.transport.create_offer().await {
            Ok(offer) => offer,
            Err(e) => return task.fail(e.to_string()),
        };
        let fingerprint = match own_fingerprint(&offer) {
            Ok(f) => f,
            Err(e) => return task.fail(e),
        };
        task.fingerprint = Some(fingerprint);
        match SdpText::new(offer) {
            Ok(sdp) => task.send(ClientMessage::Sdp {
                call_id: call_id.clone(),
                kind: SdpKind::Offer,
                sdp,
            }),
            Err(e) => return task.fail(format!("offer: {e}")),
        }
        let mut rng = UnwrapErr(getrandom::SysRng);
        let hs_params = match params(&task.p, fingerprint) {
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
            Err(e) => return task.fail(handshake_failure(&e)),
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
                let msg = match msg {
                    None => break,
                    Some(ToMedia::Hold(on)) => {
                        task.set_hold(on);
                        task.sync_hold(&mut video, &mut recv).await;
                        continue;
                    }
                    Some(ToMedia::Record(recorder)) => {
                        task.set_recording(recorder);
                        continue;
                    }
                    Some(ToMedia::Server(msg)) => msg,
                };
                if let Err(e) = task.on_server(msg).await {
                    task.fail(e);
                    break;
                }
                if let Err(e) = task.try_settle().await {
                    task.fail(e);
                    break;
                }
                task.sync_hold(&mut video, &mut recv).await;
                task.maybe_ready();
                if task.reported_ready && !video_started {
                    video_started = true;
                    video.on_ready();
                }
            }
            Some(out) = video.encoded_rx.recv() => {
                // On hold: pictures are not sent (a keyframe starts the stream again).
                if task.hold.is_held() {
                    continue;
                }
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
                        if let Err(e) = task.try_settle().await {
                            task.fail(e);
                            break;
                        }
                        task.sync_hold(&mut video, &mut recv).await;
                        task.maybe_ready();
                        if task.reported_ready && !video_started {
                            video_started = true;
                            video.on_ready();
                        }
                    }
                    // On hold nothing that arrives is shown or played, whatever the peer sends.
                    Some(TransportEvent::Video(_) | TransportEvent::Audio(_)) if task.hold.is_held() => {}
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
                // An old epoch's receive key goes when its grace ends, traffic or not.
                task.inbound.expire(now);
                video.apply_switch();
                let held = task.hold.is_held();
                for report in video.on_tick(now, &mut task.inbound, &task.transport).await {
                    task.report_video(report);
                }
                if task.connected {
                    if let Err(e) = recv.tick(now) {
                        task.fail(e.to_string());
                        break;
                    }
                    // Fail closed: nothing is encoded for the wire until frames may be sent.
                    // On hold the microphone is read (and dropped), nothing is sent.
                    let mut sent = false;
                    if task.outbound.ready() && held {
                        if let Err(e) = send.skip_frame() {
                            task.fail(e.to_string());
                            break;
                        }
                    } else if task.outbound.ready() {
                        match send.next_packet(&mut packet) {
                            Ok(Some(n)) => {
                                match task.outbound.protect(now, MediaKind::Audio, &packet[..n]) {
                                    Ok(Some(payload)) => {
                                        let payload = Bytes::copy_from_slice(payload);
                                        if let Err(e) = task.transport.send_audio(payload, FRAME_DURATION).await {
                                            task.fail(e.to_string());
                                            break;
                                        }
                                        sent = true;
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
                    // A recording keeps what was sent (silence on hold) beside what was played.
                    task.record_tick(sent.then(|| send.last_frame()));
                    task.resend_hold();
                }
            }
            _ = stats_tick.tick() => {
                let stats = task.stats(&send, &recv, &mut video);
                let _ = task.out.send(FromMedia::Stats(call_id.clone(), Box::new(stats)));
            }
        }
    }
    let recording = std::mem::replace(&mut task.recording, Recording::Off);
    task.end_recording(
        recording,
        "the call ended before the other device confirmed",
    );
    log_summary(&task, &task.stats(&send, &recv, &mut video));
    let _ = recv.finish();
    let _ = task.transport.close().await;
}

/// The call's media in numbers, once, at its end: counts only, never media.
fn log_summary(task: &Task, stats: &CallStats) {
    tracing::info!(
        call_id = %task.p.start.call_id,
        side = ?task.p.start.side,
        end_to_end = stats.end_to_end,
        post_quantum = task.post_quantum.map(tracing::field::debug),
        duration_ms = task.started.elapsed().as_millis() as u64,
        packets_sent = stats.media.packets_sent,
        packets_received = stats.media.packets_received,
        packets_lost = stats.media.packets_lost,
        frames_protected = stats.outbound.frames,
        frames_unprotected = stats.inbound.frames,
        auth_failures = stats.inbound.auth_failures,
        replays = stats.inbound.replays,
        rejected = stats.inbound.rejected,
        video_frames_sent = stats.camera.frames_sent + stats.screen.frames_sent,
        "call media ended"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{AudioProcessor, Frame, ProcessingParts, SamplesSource};

    /// While muted, what goes to the encoder is exact silence, even with every part of the
    /// processing running on a microphone that hears the far end (the echo canceller's own
    /// output would not be zero).
    #[test]
    fn muted_sends_exact_silence_through_the_processing() {
        let processing = SharedProcessor::new(AudioProcessor::with_parts(ProcessingParts::ALL));
        let noise: Vec<i16> = (0..crate::media::FRAME_SAMPLES * 200)
            .map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> 20) as i16 - 2048)
            .collect();
        let muted = Arc::new(AtomicBool::new(false));
        let mut source = Mutable {
            inner: ProcessedSource::new(
                Switching {
                    inner: Box::new(SamplesSource::new(noise.clone())),
                    switch: AudioSwitch::default(),
                    processing: processing.clone(),
                },
                processing.clone(),
            ),
            muted: Arc::clone(&muted),
        };
        let mut sink = ReferenceSink::new(crate::media::NullSink, processing.clone());
        let mut frame: Frame = [0; crate::media::FRAME_SAMPLES];
        for (i, far) in noise.chunks_exact(crate::media::FRAME_SAMPLES).enumerate() {
            muted.store(i >= 100, Ordering::Relaxed);
            sink.write_frame(far.try_into().unwrap()).unwrap();
            source.read_frame(&mut frame).unwrap();
            if i < 100 {
                continue;
            }
            assert!(frame.iter().all(|&s| s == 0), "frame {i} is not silent");
        }
        // The processing kept running while muted.
        assert_eq!(processing.lock().stats().frames, 200);
    }
}
