//! The WebRTC transport of one call: one peer connection, an Opus audio track, DTLS-SRTP.
//!
//! This module is the only place in Sealcall that touches the `webrtc` crate. It moves opaque
//! audio payloads: in an end-to-end encrypted call each payload is an SFrame frame (see
//! [`crate::frames`]), in a standard call it is a plain Opus packet. The Opus payloader passes a
//! payload through unchanged (one frame per RTP packet), so ciphertext is never parsed by a codec
//! packetizer. Received RTP payloads arrive as [`TransportEvent::Audio`] exactly as any relay
//! holding the hop-by-hop keys would see them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::media::Sample;
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_OPUS;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::{Mutex, mpsc, watch};
use webrtc::media_stream::MediaStreamTrack;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceGatheringState, RTCIceServer, RTCIceTransportPolicy,
    RTCPeerConnectionState, RTCSessionDescription, SettingEngineBuilder,
};
use webrtc::rtp_transceiver::RtpSender;

use crate::error::{EngineError, Result};

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

/// What the transport reports.
#[derive(Debug, Clone)]
pub enum TransportEvent {
    /// DTLS-SRTP is up; media can flow.
    Connected,
    /// The connection failed or was lost.
    Failed,
    /// The connection closed.
    Closed,
    /// An audio packet arrived.
    Audio(RtpAudio),
}

struct Handler {
    gathered: watch::Sender<bool>,
    events: mpsc::UnboundedSender<TransportEvent>,
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
        if track.kind().await != RtpCodecKind::Audio {
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

/// The transport of one call.
pub struct CallTransport {
    pc: Arc<dyn PeerConnection>,
    audio: Arc<TrackLocalStaticSample>,
    audio_sender: Arc<dyn RtpSender>,
    audio_ssrc: u32,
    audio_pt: Mutex<Option<u8>>,
    gathered: watch::Receiver<bool>,
    config: TransportConfig,
    sent: AtomicU64,
}

fn webrtc_err(what: &'static str) -> impl Fn(webrtc::error::Error) -> EngineError {
    move |e| EngineError::Transport(format!("{what}: {e}"))
}

impl CallTransport {
    /// Builds a peer connection with one send-and-receive Opus audio track. Events arrive on the
    /// returned channel.
    pub async fn new(
        config: TransportConfig,
    ) -> Result<(Self, mpsc::UnboundedReceiver<TransportEvent>)> {
        let mut media = MediaEngine::default();
        media
            .register_default_codecs()
            .map_err(webrtc_err("codecs"))?;
        let settings = SettingEngineBuilder::new()
            .with_ice_connection_attempts(Some(config.ice_check_interval), None)
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
        let runtime = webrtc::runtime::default_runtime()
            .ok_or_else(|| EngineError::Transport("no async runtime".into()))?;
        let pc = PeerConnectionBuilder::new()
            .with_configuration(rtc_config)
            .with_media_engine(media)
            .with_setting_engine(settings)
            .with_handler(Arc::new(Handler {
                gathered: gathered_tx,
                events: events_tx,
            }))
            .with_runtime(runtime)
            .with_udp_addrs(config.udp_addrs.clone())
            .build()
            .await
            .map_err(webrtc_err("peer connection"))?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let audio_ssrc = random_u32();
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
                        codec: RTCRtpCodec {
                            mime_type: MIME_TYPE_OPUS.to_owned(),
                            clock_rate: 48_000,
                            channels: 2,
                            sdp_fmtp_line: String::new(),
                            rtcp_feedback: vec![],
                        },
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
        Ok((
            Self {
                pc,
                audio,
                audio_sender,
                audio_ssrc,
                audio_pt: Mutex::new(None),
                gathered: gathered_rx,
                config,
                sent: AtomicU64::new(0),
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

    /// Audio packets handed to the transport so far.
    pub fn packets_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Closes the connection.
    pub async fn close(&self) -> Result<()> {
        self.pc.close().await.map_err(webrtc_err("close"))
    }
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
