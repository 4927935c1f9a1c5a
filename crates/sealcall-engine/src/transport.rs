//! The WebRTC transport of one call: one peer connection with an Opus audio track and two video
//! tracks (camera and screen share), DTLS-SRTP, NACK retransmissions and keyframe requests.
//!
//! This module is the only place in Sealcall that touches the `webrtc` crate. It moves opaque
//! payloads: in an end-to-end encrypted call each audio payload and each video frame is an SFrame
//! frame (see [`crate::frames`]), in a standard call a plain Opus packet or VP8 frame. The Opus
//! payloader passes a payload through unchanged (one frame per RTP packet); video frames are split
//! by Sealcall's own packetizer ([`crate::media::video::packet`]) and sent as RTP packets of a
//! codec of Sealcall's own ([`VIDEO_MIME_TYPE`]), so ciphertext is never parsed by a codec
//! packetizer. Received RTP payloads arrive as [`TransportEvent::Audio`] and
//! [`TransportEvent::Video`] exactly as any relay holding the hop-by-hop keys would see them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use std::collections::VecDeque;
use std::sync::atomic::AtomicU16;

use bytes::Bytes;
use rtc::interceptor::{
    Attribute, BandwidthEstimator, CongestionControlBuilder, EstimatorStats, Gcc, Interceptor,
    NackGeneratorBuilder, NackResponderBuilder, Packet, PacketReport, Registry, Slot, StreamInfo,
    TaggedPacket,
};
use rtc::media::Sample;
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_rtcp_reports, configure_twcc,
};
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_OPUS;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RtpCodecKind, TYPE_RTCP_FB_NACK,
};
use rtc::sansio::Protocol;
use tokio::sync::{Mutex, mpsc, watch};
use webrtc::media_stream::MediaStreamTrack;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceGatheringState, RTCIceServer, RTCIceTransportPolicy,
    RTCPeerConnectionState, RTCSessionDescription, SettingEngineBuilder,
};
use webrtc::rtp_transceiver::RtpSender;

use crate::error::{EngineError, Result};
use crate::media::video::VideoStream;
use crate::media::video::packet::{MAX_RTP_PAYLOAD, packetize};
use crate::pacer::PriorityPacer;

/// The RTP codec of Sealcall's video tracks: whole frames (VP8, SFrame-protected in an E2EE
/// call) split by Sealcall's packetizer. Both video m-lines carry it.
pub const VIDEO_MIME_TYPE: &str = "video/x-sealcall-frame";
/// The payload type offered for [`VIDEO_MIME_TYPE`].
pub const VIDEO_PAYLOAD_TYPE: u8 = 98;
/// The payload type offered for Opus.
pub const OPUS_PAYLOAD_TYPE: u8 = 111;
/// RTP clock of the video tracks.
pub const VIDEO_CLOCK_RATE: u32 = 90_000;
/// The SRTP replay window, in packets: large enough that NACK retransmissions of a 1080p
/// keyframe (over 200 packets) are not refused as replays.
pub const SRTP_REPLAY_WINDOW: usize = 1024;

/// Where send-side congestion control starts, in bit/s: enough for audio, the camera and a
/// screen share at their default bitrates, so a good path is used from the first frame and a
/// constrained one is found within seconds.
pub const INITIAL_SEND_BITRATE: f64 = 2_500_000.0;
/// The lowest send estimate congestion control goes to, in bit/s (audio and a small picture).
pub const MIN_SEND_BITRATE: f64 = 150_000.0;
/// The highest send estimate, in bit/s: well above what a call's streams ask for.
pub const MAX_SEND_BITRATE: f64 = 20_000_000.0;

/// A STUN or TURN server for ICE, e.g. the server's embedded TURN relay with per-call credentials.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IceServer {
    /// `turn:host:port` or `stun:host:port` URLs.
    pub urls: Vec<String>,
    /// TURN user name (empty for STUN).
    pub username: String,
    /// TURN credential (empty for STUN). Never logged.
    pub credential: String,
}

/// How a call's transport connects.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Local UDP addresses to bind, e.g. `127.0.0.1:0` for loopback tests or `0.0.0.0:0`.
    pub udp_addrs: Vec<String>,
    /// STUN/TURN servers.
    pub ice_servers: Vec<IceServer>,
    /// Delay between ICE connectivity checks (default 20 ms: connects in tens of ms on a LAN).
    pub ice_check_interval: Duration,
    /// How long to wait for ICE gathering before sending a description.
    pub gather_timeout: Duration,
    /// Use only relay (TURN) candidates: media always goes through the relay (hides the
    /// device's addresses from the peer; also how tests prove the relay works).
    pub relay_only: bool,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            udp_addrs: vec!["0.0.0.0:0".to_owned()],
            ice_servers: Vec::new(),
            ice_check_interval: Duration::from_millis(20),
            gather_timeout: Duration::from_secs(5),
            relay_only: false,
        }
    }
}

impl TransportConfig {
    /// A configuration bound to the loopback interface only (tests, local demos).
    pub fn loopback() -> Self {
        Self {
            udp_addrs: vec!["127.0.0.1:0".to_owned()],
            ..Self::default()
        }
    }
}

/// One received RTP packet of the audio track, after DTLS-SRTP: what a hop sees.
#[derive(Debug, Clone)]
pub struct RtpAudio {
    /// RTP sequence number.
    pub seq: u16,
    /// RTP timestamp (48 kHz clock).
    pub timestamp: u32,
    /// The RTP payload.
    pub payload: Bytes,
}

/// One received RTP packet of a video track, after DTLS-SRTP: what a hop sees.
#[derive(Debug, Clone)]
pub struct RtpVideo {
    /// Which of the peer's video tracks it came on.
    pub stream: VideoStream,
    /// RTP sequence number.
    pub seq: u16,
    /// RTP timestamp (90 kHz clock).
    pub timestamp: u32,
    /// RTP marker bit (last packet of a frame).
    pub marker: bool,
    /// The RTP payload (descriptor and a slice of the frame).
    pub payload: Bytes,
}

/// What the transport reports.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TransportEvent {
    /// DTLS-SRTP is up; media can flow.
    Connected,
    /// The connection failed or was lost.
    Failed,
    /// The connection closed.
    Closed,
    /// An audio packet arrived.
    Audio(RtpAudio),
    /// A video packet arrived.
    Video(RtpVideo),
    /// The peer asked for a keyframe (PLI or FIR) on one of our video streams.
    KeyframeRequest(VideoStream),
}

/// The SHA-256 fingerprint in a session description (`a=fingerprint:sha-256 AB:CD:…`), at
/// session or media level; `None` if there is none or the descriptions disagree.
pub fn sdp_fingerprint(sdp: &str) -> Option<[u8; 32]> {
    let mut found: Option<[u8; 32]> = None;
    for line in sdp.lines() {
        let Some(rest) = line.trim_end().strip_prefix("a=fingerprint:") else {
            continue;
        };
        let Some((algorithm, value)) = rest.split_once(' ') else {
            continue;
        };
        if !algorithm.eq_ignore_ascii_case("sha-256") {
            continue;
        }
        let fp = parse_fingerprint(value.trim())?;
        if found.is_some_and(|f| f != fp) {
            return None;
        }
        found = Some(fp);
    }
    found
}

/// `AB:CD:…` (32 colon-separated hex bytes, either case) as bytes.
pub fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let mut parts = text.split(':');
    for byte in &mut out {
        let part = parts.next()?;
        if part.len() != 2 {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// Track ids are `camera-<hex>` / `screen-<hex>`: the prefix says which stream a remote track
/// is, and the random part keeps local and remote ids apart (the `webrtc` crate routes RTCP
/// by track id).
fn video_track_id(stream: VideoStream) -> String {
    format!("{}-{:08x}", stream.label(), random_u32())
}

fn stream_of_track(track_id: &str) -> Option<VideoStream> {
    [VideoStream::Camera, VideoStream::Screen]
        .into_iter()
        .find(|s| track_id.starts_with(&format!("{}-", s.label())))
}

/// Remote video tracks by stream, to send keyframe requests on.
#[derive(Default)]
struct RemoteVideo {
    camera: Option<(Arc<dyn TrackRemote>, u32)>,
    screen: Option<(Arc<dyn TrackRemote>, u32)>,
}

impl RemoteVideo {
    fn slot(&mut self, stream: VideoStream) -> &mut Option<(Arc<dyn TrackRemote>, u32)> {
        match stream {
            VideoStream::Camera => &mut self.camera,
            VideoStream::Screen => &mut self.screen,
        }
    }
}

struct Handler {
    gathered: watch::Sender<bool>,
    events: mpsc::UnboundedSender<TransportEvent>,
    remote_video: Arc<Mutex<RemoteVideo>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let event = match state {
            RTCPeerConnectionState::Connected => TransportEvent::Connected,
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Disconnected => {
                TransportEvent::Failed
            }
            RTCPeerConnectionState::Closed => TransportEvent::Closed,
            _ => return,
        };
        let _ = self.events.send(event);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let kind = track.kind().await;
        if kind == RtpCodecKind::Video {
            let Some(stream) = stream_of_track(&track.track_id().await) else {
                return;
            };
            let ssrc = track.ssrcs().await.first().copied().unwrap_or(0);
            *self.remote_video.lock().await.slot(stream) = Some((Arc::clone(&track), ssrc));
            let events = self.events.clone();
            tokio::spawn(async move {
                while let Some(evt) = track.poll().await {
                    match evt {
                        TrackRemoteEvent::OnRtpPacket(packet) => {
                            let video = RtpVideo {
                                stream,
                                seq: packet.header.sequence_number,
                                timestamp: packet.header.timestamp,
                                marker: packet.header.marker,
                                payload: packet.payload.clone(),
                            };
                            if events.send(TransportEvent::Video(video)).is_err() {
                                break;
                            }
                        }
                        TrackRemoteEvent::OnEnded => break,
                        _ => {}
                    }
                }
            });
            return;
        }
        if kind != RtpCodecKind::Audio {
            return;
        }
        let events = self.events.clone();
        tokio::spawn(async move {
            while let Some(evt) = track.poll().await {
                match evt {
                    TrackRemoteEvent::OnRtpPacket(packet) => {
                        let audio = RtpAudio {
                            seq: packet.header.sequence_number,
                            timestamp: packet.header.timestamp,
                            payload: packet.payload.clone(),
                        };
                        if events.send(TransportEvent::Audio(audio)).is_err() {
                            break;
                        }
                    }
                    TrackRemoteEvent::OnEnded => break,
                    _ => {}
                }
            }
        });
    }
}

/// Marks PLI and FIR packets for the application, so a sender learns that its peer needs a
/// keyframe (the `webrtc` crate delivers inbound RTCP only when an interceptor asks).
struct KeyframeRequestForwarder {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequestForwarder {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> std::result::Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            let requests: Vec<Box<dyn rtc::rtcp::Packet>> = packets
                .iter()
                .filter(|p| {
                    let any = p.as_any();
                    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
                })
                .cloned()
                .collect();
            if requests.is_empty() {
                // Other RTCP has been handled by the interceptors nearer the wire.
                return Ok(());
            }
            msg.message.packet = Packet::Rtcp(requests);
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> std::result::Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write.pop_front()
    }
}

impl Interceptor for KeyframeRequestForwarder {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

/// Google Congestion Control (from the `rtc` crate) with its target published to the call: the
/// congestion control interceptor owns the estimator, so the number is pushed out after every
/// update rather than read from it.
struct PublishedEstimate {
    gcc: Gcc,
    target: Arc<AtomicU64>,
}

impl PublishedEstimate {
    fn publish(&self) {
        self.target
            .store(self.gcc.target_bitrate().to_bits(), Ordering::Relaxed);
    }
}

impl BandwidthEstimator for PublishedEstimate {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        self.gcc.on_reports(now, reports);
        self.publish();
    }

    fn target_bitrate(&self) -> f64 {
        self.gcc.target_bitrate()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.gcc.handle_timeout(now);
        self.publish();
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.gcc.poll_timeout()
    }

    fn stats(&self) -> EstimatorStats {
        self.gcc.stats()
    }
}

/// NACK and PLI for video, as the crate's `configure_nack` but asking for each missing packet
/// at most [`NACKS_PER_PACKET`] times: the reassembler gives up on a gap after 150 ms, and a
/// packet asked for every 100 ms without end keeps a congested link full of retransmissions
/// that arrive too late to use.
fn configure_video_nack(registry: Registry, media: &mut MediaEngine) -> Registry {
    for parameter in ["", "pli"] {
        media.register_feedback(
            RTCPFeedback {
                typ: TYPE_RTCP_FB_NACK.to_owned(),
                parameter: parameter.to_owned(),
            },
            RtpCodecKind::Video,
        );
    }
    registry
        .with(Slot::NackResponder, NackResponderBuilder::new().build())
        .with(
            Slot::NackGenerator,
            NackGeneratorBuilder::new()
                .with_max_nacks_per_packet(NACKS_PER_PACKET)
                .build(),
        )
}

/// How many times a receiver asks for one missing video packet.
pub const NACKS_PER_PACKET: u16 = 3;

/// One of our video tracks.
struct VideoTrack {
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    seq: AtomicU16,
    packets: AtomicU64,
}

/// The transport of one call.
pub struct CallTransport {
    pc: Arc<dyn PeerConnection>,
    audio: Arc<TrackLocalStaticSample>,
    audio_sender: Arc<dyn RtpSender>,
    audio_ssrc: u32,
    audio_pt: Mutex<Option<u8>>,
    camera: VideoTrack,
    screen: VideoTrack,
    remote_video: Arc<Mutex<RemoteVideo>>,
    gathered: watch::Receiver<bool>,
    config: TransportConfig,
    sent: AtomicU64,
    send_estimate: Arc<AtomicU64>,
}

fn webrtc_err(what: &'static str) -> impl Fn(webrtc::error::Error) -> EngineError {
    move |e| EngineError::Transport(format!("{what}: {e}"))
}

impl CallTransport {
    /// Builds a peer connection with one send-and-receive Opus audio track and two
    /// send-and-receive video tracks (camera, screen), all in the first offer so that starting
    /// video later needs no renegotiation. Events arrive on the returned channel.
    pub async fn new(
        config: TransportConfig,
    ) -> Result<(Self, mpsc::UnboundedReceiver<TransportEvent>)> {
        let mut media = MediaEngine::default();
        media
            .register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: opus_codec(),
                    payload_type: OPUS_PAYLOAD_TYPE,
                },
                RtpCodecKind::Audio,
            )
            .map_err(webrtc_err("codecs"))?;
        media
            .register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: video_codec(),
                    payload_type: VIDEO_PAYLOAD_TYPE,
                },
                RtpCodecKind::Video,
            )
            .map_err(webrtc_err("codecs"))?;
        // Send-side congestion control: the peer reports arrivals (TWCC), GCC turns them into a
        // send estimate, the pacer holds the wire to it and the call splits it among its streams.
        let send_estimate = Arc::new(AtomicU64::new(INITIAL_SEND_BITRATE.to_bits()));
        let estimator = PublishedEstimate {
            gcc: Gcc::new(INITIAL_SEND_BITRATE, MIN_SEND_BITRATE, MAX_SEND_BITRATE),
            target: Arc::clone(&send_estimate),
        };
        // The crate's `configure_congestion_control` less its pacer: ours lets voice overtake
        // queued video (see `crate::pacer`).
        let audio_ssrc = random_u32();
        let registry = configure_twcc(
            configure_rtcp_reports(configure_video_nack(Registry::new(), &mut media)),
            &mut media,
        )
        .map_err(|e| EngineError::Transport(format!("congestion control: {e}")))?
        .with(
            Slot::CongestionControl,
            CongestionControlBuilder::new(estimator).build(),
        )
        .with(
            Slot::Pacer,
            PriorityPacer::new(audio_ssrc, INITIAL_SEND_BITRATE),
        )
        .with(
            Slot::from(14_000),
            KeyframeRequestForwarder {
                read: VecDeque::new(),
                write: VecDeque::new(),
            },
        );
        let settings = SettingEngineBuilder::new()
            .with_ice_connection_attempts(Some(config.ice_check_interval), None)
            .with_srtp_replay_protection_window(SRTP_REPLAY_WINDOW)
            .build();
        let ice_servers = config
            .ice_servers
            .iter()
            .map(|s| RTCIceServer {
                urls: s.urls.clone(),
                username: s.username.clone(),
                credential: s.credential.clone(),
            })
            .collect();
        let policy = if config.relay_only {
            RTCIceTransportPolicy::Relay
        } else {
            RTCIceTransportPolicy::All
        };
        let rtc_config = RTCConfigurationBuilder::new()
            .with_ice_servers(ice_servers)
            .with_ice_transport_policy(policy)
            .build();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (gathered_tx, gathered_rx) = watch::channel(false);
        let remote_video = Arc::new(Mutex::new(RemoteVideo::default()));
        let runtime = webrtc::runtime::default_runtime()
            .ok_or_else(|| EngineError::Transport("no async runtime".into()))?;
        let pc = PeerConnectionBuilder::new()
            .with_configuration(rtc_config)
            .with_media_engine(media)
            .with_setting_engine(settings)
            .with_handler(Arc::new(Handler {
                gathered: gathered_tx,
                events: events_tx.clone(),
                remote_video: Arc::clone(&remote_video),
            }))
            .with_interceptor_registry(registry)
            .with_runtime(runtime)
            .with_udp_addrs(config.udp_addrs.clone())
            .build()
            .await
            .map_err(webrtc_err("peer connection"))?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let audio = Arc::new(
            TrackLocalStaticSample::new(
                Instant::now(),
                MediaStreamTrack::new(
                    "sealcall".to_owned(),
                    "audio".to_owned(),
                    "audio".to_owned(),
                    RtpCodecKind::Audio,
                    vec![RTCRtpEncodingParameters {
                        rtp_coding_parameters: RTCRtpCodingParameters {
                            ssrc: Some(audio_ssrc),
                            ..Default::default()
                        },
                        codec: opus_codec(),
                        ..Default::default()
                    }],
                ),
            )
            .map_err(webrtc_err("audio track"))?,
        );
        let audio_sender = pc
            .add_track(Arc::clone(&audio) as Arc<dyn TrackLocal>)
            .await
            .map_err(webrtc_err("add track"))?;
        let camera = add_video_track(&pc, VideoStream::Camera, &events_tx).await?;
        let screen = add_video_track(&pc, VideoStream::Screen, &events_tx).await?;
        Ok((
            Self {
                pc,
                audio,
                audio_sender,
                audio_ssrc,
                audio_pt: Mutex::new(None),
                camera,
                screen,
                remote_video,
                gathered: gathered_rx,
                config,
                sent: AtomicU64::new(0),
                send_estimate,
            },
            events_rx,
        ))
    }

    async fn wait_gathered(&self) -> Result<String> {
        let mut rx = self.gathered.clone();
        let wait = rx.wait_for(|done| *done);
        match tokio::time::timeout(self.config.gather_timeout, wait).await {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => return Err(EngineError::Transport("ICE gathering stopped".into())),
            Err(_) => return Err(EngineError::Transport("ICE gathering timed out".into())),
        }
        self.pc
            .local_description()
            .await
            .map(|d| d.sdp)
            .ok_or_else(|| EngineError::Transport("no local description".into()))
    }

    /// Creates the SDP offer (with all ICE candidates gathered).
    pub async fn create_offer(&self) -> Result<String> {
        let offer = self
            .pc
            .create_offer(None)
            .await
            .map_err(webrtc_err("offer"))?;
        self.pc
            .set_local_description(offer)
            .await
            .map_err(webrtc_err("local offer"))?;
        self.wait_gathered().await
    }

    /// Takes the peer's offer and returns the SDP answer (with all ICE candidates gathered).
    pub async fn accept_offer(&self, sdp: &str) -> Result<String> {
        let offer =
            RTCSessionDescription::offer(sdp.to_owned()).map_err(webrtc_err("parse offer"))?;
        self.pc
            .set_remote_description(offer)
            .await
            .map_err(webrtc_err("remote offer"))?;
        let answer = self
            .pc
            .create_answer(None)
            .await
            .map_err(webrtc_err("answer"))?;
        self.pc
            .set_local_description(answer)
            .await
            .map_err(webrtc_err("local answer"))?;
        self.wait_gathered().await
    }

    /// Takes the peer's answer.
    pub async fn accept_answer(&self, sdp: &str) -> Result<()> {
        let answer =
            RTCSessionDescription::answer(sdp.to_owned()).map_err(webrtc_err("parse answer"))?;
        self.pc
            .set_remote_description(answer)
            .await
            .map_err(webrtc_err("remote answer"))
    }

    async fn payload_type(&self) -> Result<u8> {
        let mut pt = self.audio_pt.lock().await;
        if let Some(pt) = *pt {
            return Ok(pt);
        }
        let params = self
            .audio_sender
            .get_parameters()
            .await
            .map_err(webrtc_err("sender parameters"))?;
        let found = params
            .rtp_parameters
            .codecs
            .first()
            .map(|c| c.payload_type)
            .ok_or_else(|| EngineError::Transport("no negotiated audio codec".into()))?;
        *pt = Some(found);
        Ok(found)
    }

    /// Sends one 20 ms audio payload (an SFrame frame in an E2EE call, an Opus packet otherwise).
    pub async fn send_audio(&self, payload: Bytes, duration: Duration) -> Result<()> {
        let pt = self.payload_type().await?;
        self.audio
            .sample_writer(self.audio_ssrc, pt)
            .write_sample(&Sample {
                data: payload,
                duration,
                ..Sample::new(Instant::now())
            })
            .await
            .map_err(webrtc_err("send audio"))?;
        self.sent.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn video(&self, stream: VideoStream) -> &VideoTrack {
        match stream {
            VideoStream::Camera => &self.camera,
            VideoStream::Screen => &self.screen,
        }
    }

    /// Sends one whole video frame (an SFrame frame in an E2EE call, a VP8 frame otherwise) on
    /// a video track: split into RTP packets of at most [`MAX_RTP_PAYLOAD`] bytes, marker on
    /// the last. Returns the number of packets.
    pub async fn send_video_frame(
        &self,
        stream: VideoStream,
        frame: &[u8],
        timestamp: u32,
    ) -> Result<usize> {
        let track = self.video(stream);
        let mut count = 0;
        for part in packetize(frame, MAX_RTP_PAYLOAD) {
            let mut payload = Vec::new();
            part.write_to(&mut payload);
            let packet = rtc::rtp::Packet {
                header: rtc::rtp::Header {
                    version: 2,
                    marker: part.marker(),
                    payload_type: VIDEO_PAYLOAD_TYPE,
                    sequence_number: track.seq.fetch_add(1, Ordering::Relaxed),
                    timestamp,
                    ssrc: track.ssrc,
                    ..Default::default()
                },
                payload: Bytes::from(payload),
            };
            track
                .track
                .write_rtp(packet)
                .await
                .map_err(webrtc_err("send video"))?;
            count += 1;
        }
        track.packets.fetch_add(count as u64, Ordering::Relaxed);
        Ok(count)
    }

    /// Asks the peer for a keyframe on its video stream (an RTCP PLI). Does nothing until the
    /// peer's track is known.
    pub async fn request_keyframe(&self, stream: VideoStream) -> Result<()> {
        let remote = self.remote_video.lock().await.slot(stream).clone();
        let Some((track, media_ssrc)) = remote else {
            return Ok(());
        };
        track
            .write_rtcp(vec![Box::new(PictureLossIndication {
                sender_ssrc: self.video(stream).ssrc,
                media_ssrc,
            })])
            .await
            .map_err(webrtc_err("keyframe request"))
    }

    /// Video packets of a stream handed to the transport so far.
    pub fn video_packets_sent(&self, stream: VideoStream) -> u64 {
        self.video(stream).packets.load(Ordering::Relaxed)
    }

    /// The SHA-256 fingerprint of the certificate the peer presented in DTLS, or `None` before
    /// DTLS is up. The engine compares it with the fingerprint the peer signed in the handshake.
    pub async fn remote_fingerprint(&self) -> Option<[u8; 32]> {
        use rtc::statistics::StatsSelector;
        use rtc::statistics::report::RTCStatsReportEntry;
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        let id = report.transport()?.remote_certificate_id.clone();
        match report.get(&id)? {
            RTCStatsReportEntry::Certificate(c) if c.fingerprint_algorithm == "sha-256" => {
                parse_fingerprint(&c.fingerprint)
            }
            _ => None,
        }
    }

    /// What congestion control currently estimates this side may send, in bit/s (GCC over the
    /// peer's transport-wide feedback; [`INITIAL_SEND_BITRATE`] until feedback arrives). The
    /// pacer holds the wire to it; the call splits it among its streams.
    pub fn send_estimate_bps(&self) -> f64 {
        f64::from_bits(self.send_estimate.load(Ordering::Relaxed))
    }

    /// Audio packets handed to the transport so far.
    pub fn packets_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Closes the connection.
    pub async fn close(&self) -> Result<()> {
        self.pc.close().await.map_err(webrtc_err("close"))
    }
}

fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![],
    }
}

fn video_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: VIDEO_MIME_TYPE.to_owned(),
        clock_rate: VIDEO_CLOCK_RATE,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![],
    }
}

async fn add_video_track(
    pc: &Arc<dyn PeerConnection>,
    stream: VideoStream,
    events: &mpsc::UnboundedSender<TransportEvent>,
) -> Result<VideoTrack> {
    let ssrc = random_u32();
    let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "sealcall".to_owned(),
        video_track_id(stream),
        stream.label().to_owned(),
        RtpCodecKind::Video,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec: video_codec(),
            ..Default::default()
        }],
    )));
    pc.add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
        .await
        .map_err(webrtc_err("add video track"))?;
    // Keyframe requests about this track, marked for us by `KeyframeRequestForwarder`.
    let polled = Arc::clone(&track);
    let events = events.clone();
    tokio::spawn(async move {
        // `poll` answers `None` until the track is bound by negotiation and after it is unbound.
        while !events.is_closed() {
            match polled.poll().await {
                Some(TrackLocalEvent::OnRtcpPacket(_)) => {
                    if events
                        .send(TransportEvent::KeyframeRequest(stream))
                        .is_err()
                    {
                        break;
                    }
                }
                Some(_) => {}
                None => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    });
    Ok(VideoTrack {
        track,
        ssrc,
        seq: AtomicU16::new(random_u32() as u16),
        packets: AtomicU64::new(0),
    })
}

fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    // An SSRC only needs to be unlikely to collide; a failing OS RNG falls back to the clock.
    if getrandom::fill(&mut b).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0x5ea1_ca11);
        return nanos;
    }
    u32::from_ne_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";

    #[test]
    fn the_sdp_fingerprint_is_read_and_nonsense_is_refused() {
        let sdp = format!(
            "v=0\r\na=fingerprint:sha-256 {FP}\r\nm=audio 9\r\na=fingerprint:SHA-256 {}\r\n",
            FP.to_lowercase()
        );
        let fp = sdp_fingerprint(&sdp).unwrap();
        assert_eq!(fp[0], 0xab);
        assert_eq!(fp[31], 0x89);
        // Two different fingerprints: no answer rather than a guess.
        let other = FP.replacen("AB", "00", 1);
        assert_eq!(
            sdp_fingerprint(&format!("{sdp}a=fingerprint:sha-256 {other}\r\n")),
            None
        );
        assert_eq!(
            sdp_fingerprint("v=0\r\na=fingerprint:sha-1 AB:CD\r\n"),
            None
        );
        for bad in [
            "",
            "AB",
            &FP[..FP.len() - 3],
            &format!("{FP}:00"),
            &FP.replace(':', "-"),
            &FP.replacen("AB", "GG", 1),
        ] {
            assert_eq!(parse_fingerprint(bad), None, "{bad}");
        }
    }
}
