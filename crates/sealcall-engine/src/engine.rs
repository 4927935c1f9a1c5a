//! The embeddable engine: sign in, keep a signaling connection, place and answer calls.
//!
//! ```no_run
//! # async fn demo() -> sealcall_engine::Result<()> {
//! use sealcall_engine::{Engine, EngineConfig, EngineEvent};
//! let config = EngineConfig::new("http://127.0.0.1:7878", "ana@contoso.onmicrosoft.com", "password");
//! let (engine, mut events) = Engine::connect(config).await?;
//! engine.call("kenmeyer@contoso.onmicrosoft.com")?;
//! while let Some(event) = events.recv().await {
//!     if let EngineEvent::SecurityCode { code, .. } = &event {
//!         println!("read this to the other person: {code}");
//!     }
//! }
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use sealcall_e2ee::{DeviceIdentity, IdentityPublicKey, PostQuantum, SafetyNumber, StreamConfig};
use sealcall_policy::{Feature, UserId};
use sealcall_signaling::{
    CallId, ClientMessage, DeviceId, IdentityKey, ServerMessage, SettingView, encode_client,
    parse_server_message,
};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::api::{ApiClient, DirectoryEntry};
use crate::call::{Action, CallEvent, CallMachine, CallTimers, Command, MediaMode, State};
use crate::call_video::{VideoPicture, VideoReport, VideoSwitch};
use crate::contacts::{ContactDevice, ContactStore, PeerKeyStatus, unix_now};
use crate::error::{EngineError, Result};
use crate::identity::IdentityStore;
use crate::media::video::{
    Content, FedSource, FrameFeed, ScreenSpec, VideoSource, VideoSpec, VideoStream, open_camera,
    open_screen,
};
use crate::media::{
    AudioProcessingSetting, AudioProcessor, AudioSink, AudioSource, Frame, SharedProcessor,
};
use crate::media_task::{
    self, CallStats, FromMedia, HoldState, MediaParams, RecordingState, ToMedia, VideoParams,
};
use crate::post_quantum::PostQuantumStatus;
use crate::transport::TransportConfig;
pub use sealcall_tls::{Fingerprint, Trust, check_server_url};

/// Where call audio comes from and goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioRoute {
    /// An input spec (`tone:440`, `silence`, `device`, `FILE.wav`) and an output spec
    /// (`null`, `device`, `FILE.wav`).
    Specs {
        /// Input spec.
        input: String,
        /// Output spec.
        output: String,
    },
    /// Play back what is heard (a test-call service such as the echo bot).
    Echo,
    /// Audio the embedder provides: a source and a sink it opens itself, for example its own
    /// audio stack, or a simulated [`Room`](crate::media::Room) in tests.
    Custom(CustomAudio),
}

/// What opens the call's audio for [`AudioRoute::Custom`].
type OpenAudio =
    dyn Fn() -> Result<(Box<dyn AudioSource + Send>, Box<dyn AudioSink + Send>)> + Send + Sync;

/// The embedder's own audio input and output ([`AudioRoute::Custom`]): `open` is called for a
/// fresh source and sink at the start of every call and when the route is set mid-call.
#[derive(Clone)]
pub struct CustomAudio {
    name: String,
    open: Arc<OpenAudio>,
}

impl CustomAudio {
    /// Audio named `name` (shown in logs), opened by `open`.
    pub fn new(
        name: &str,
        open: impl Fn() -> Result<(Box<dyn AudioSource + Send>, Box<dyn AudioSink + Send>)>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        Self {
            name: name.to_owned(),
            open: Arc::new(open),
        }
    }
}

impl fmt::Debug for CustomAudio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CustomAudio").field(&self.name).finish()
    }
}

/// The same opener (not merely the same name).
impl PartialEq for CustomAudio {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.open, &other.open)
    }
}

impl Eq for CustomAudio {}

/// How the engine connects and behaves.
#[derive(Clone)]
pub struct EngineConfig {
    /// Server base URL: `https://host:port`, or `http://host:port` on loopback.
    pub server: String,
    /// The other nodes of the same deployment (empty by default; not needed behind a load
    /// balancer): when the current node cannot be reached, at sign-in or while reconnecting,
    /// the next is tried, in turn. A call in progress keeps its media meanwhile.
    pub other_servers: Vec<String>,
    /// Which server certificates to trust (the system's roots by default; a CA file or a pinned
    /// fingerprint for a private server).
    pub trust: Trust,
    /// Sign-in name.
    pub user: String,
    /// Password (used once to sign in, then erased from the engine's copy; never logged).
    pub password: String,
    /// Where the device identity lives.
    pub identity: IdentityStore,
    /// The platform reported to the server (decides E2EE capability with the client version).
    pub platform: String,
    /// The client version reported to the server.
    pub client_version: String,
    /// WebRTC settings.
    pub transport: TransportConfig,
    /// Audio routing for calls.
    pub audio: AudioRoute,
    /// Echo cancellation, noise suppression, gain control and the high-pass filter on the
    /// microphone: [`AudioProcessingSetting::Auto`] by default (every part on for a real
    /// microphone, off for files, tones and silence, which stay bit-exact).
    pub audio_processing: AudioProcessingSetting,
    /// What the camera stream sends in calls (none by default). With [`AudioRoute::Echo`] the
    /// camera stream sends back the camera pictures received instead.
    pub video: VideoSpec,
    /// What the screen-share stream sends when a call starts (none by default; start and stop
    /// it during a call with [`Engine::share_screen`]).
    pub screen: ScreenSpec,
    /// Call timers.
    pub timers: CallTimers,
    /// Frame protection settings (rekey schedule, limits, AEAD backend).
    pub stream: StreamConfig,
    /// Answer every incoming call automatically (echo bot, `sealcall answer`).
    pub auto_answer: bool,
    /// A separate signaling endpoint (`ws://host:port`), when the WebSocket is served apart from
    /// the HTTP API (for example behind another front end). `None`: the server's own `/ws`.
    pub signaling: Option<String>,
    /// This device's post-quantum setting: [`PostQuantum::Offered`] by default (the hybrid
    /// X25519 + ML-KEM-768 whenever the other device can do it, X25519 alone otherwise, signed
    /// and shown); [`PostQuantum::Required`] ends an end-to-end call that cannot have it;
    /// [`PostQuantum::Unavailable`] turns ML-KEM off on this device (for interoperability tests).
    /// A cached policy of `RequiredPostQuantum` requires it whatever this says.
    pub post_quantum: PostQuantum,
}

impl fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineConfig")
            .field("server", &self.server)
            .field("other_servers", &self.other_servers)
            .field("trust", &self.trust)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("identity", &self.identity)
            .field("platform", &self.platform)
            .field("client_version", &self.client_version)
            .field("audio", &self.audio)
            .field("audio_processing", &self.audio_processing)
            .field("video", &self.video)
            .field("screen", &self.screen)
            .field("auto_answer", &self.auto_answer)
            .field("post_quantum", &self.post_quantum)
            .finish_non_exhaustive()
    }
}

impl EngineConfig {
    /// Defaults: ephemeral identity, platform `Cli`, this crate's version, tone in, no output.
    pub fn new(server: &str, user: &str, password: &str) -> Self {
        Self {
            server: server.to_owned(),
            other_servers: Vec::new(),
            trust: Trust::default(),
            user: user.to_owned(),
            password: password.to_owned(),
            identity: IdentityStore::Ephemeral,
            platform: "Cli".to_owned(),
            client_version: env!("CARGO_PKG_VERSION").to_owned(),
            transport: TransportConfig::default(),
            audio: AudioRoute::Specs {
                input: "tone:440".to_owned(),
                output: "null".to_owned(),
            },
            audio_processing: AudioProcessingSetting::Auto,
            video: VideoSpec::None,
            screen: ScreenSpec::None,
            timers: CallTimers::default(),
            stream: StreamConfig::default(),
            auto_answer: false,
            signaling: None,
            post_quantum: PostQuantum::Offered,
        }
    }
}

/// The state of the signaling connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Connected to the server.
    Connected,
    /// Lost; reconnecting (attempt number).
    Reconnecting(u32),
}

/// Everything the engine reports. New kinds of events may be added, so match with a wildcard.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum EngineEvent {
    /// Call progress (incoming, ringing, connecting, connected, ended…).
    Call(CallEvent),
    /// The 20-digit security code of an end-to-end encrypted call, as four groups of five.
    SecurityCode {
        /// The call.
        call_id: CallId,
        /// The code.
        code: String,
        /// Whether the call's keys are post-quantum protected, from what both devices signed.
        post_quantum: PostQuantumStatus,
    },
    /// The first audio frame of the call arrived and was decrypted (in an E2EE call) — the end of
    /// call set-up as a person hears it.
    FirstAudio {
        /// The call.
        call_id: CallId,
    },
    /// Live media statistics (about once a second).
    Stats {
        /// The call.
        call_id: CallId,
        /// The numbers.
        stats: Box<CallStats>,
    },
    /// The user's "End-to-end encrypted calls" setting (on connect and whenever it changes).
    Setting(SettingView),
    /// The signaling connection changed state.
    Connection(ConnectionState),
    /// A decoded picture of the peer's camera or screen share: show it (the newest one wins).
    Video {
        /// The call.
        call_id: CallId,
        /// The picture.
        picture: VideoPicture,
    },
    /// The newest picture this device is sending on its camera or screen-share stream, for a
    /// self-view (at most the stream's frame rate).
    LocalVideo {
        /// The call.
        call_id: CallId,
        /// The picture; its `timestamp` is the capture time on the stream's 90 kHz RTP clock,
        /// the timestamp the peer receives the same picture with.
        picture: VideoPicture,
    },
    /// The peer's camera or screen share stopped (no picture for 1.5 s): stop showing it.
    VideoStopped {
        /// The call.
        call_id: CallId,
        /// Which stream.
        stream: VideoStream,
    },
    /// Something worth telling the user (e.g. "no audio device: using test tone").
    Notice(String),
    /// A device was added to this user's account: told at once to the account's online
    /// devices, and on connect for devices added while this one was offline. If the user did
    /// not add it, they should remove it and change their password.
    DeviceAdded {
        /// The new device's id.
        device_id: String,
        /// The platform it reported (empty when only the device list told).
        platform: String,
        /// Its identity key's short fingerprint.
        fingerprint: String,
        /// Whether it joined while this device was offline (found in the device list on
        /// connect) rather than just now.
        while_offline: bool,
    },
    /// Key continuity: how the other device's identity key (as the service hands it out for
    /// this call) compares with earlier calls. Sent before answering an incoming call and when
    /// a call connects. [`PeerKeyStatus::Changed`] also comes as a
    /// [`EngineEvent::SecurityWarning`]: show it loudly.
    PeerKey {
        /// The call.
        call_id: CallId,
        /// The other person.
        user: String,
        /// Their device.
        device: String,
        /// Seen before? Verified? Changed?
        status: PeerKeyStatus,
        /// The stable safety number of this device and theirs (twelve groups of five digits),
        /// to compare once and then mark the contact verified.
        safety_number: String,
    },
    /// The call went on hold or off it, on this device or the other: while
    /// [`HoldState::is_held`], neither side sends media or plays what arrives. Show "On hold"
    /// (and who holds it).
    Hold {
        /// The call.
        call_id: CallId,
        /// Who holds it now.
        hold: HoldState,
    },
    /// This device's recording of the call changed: waiting for the other device to confirm
    /// that it shows the notice, recording, stopped (the file is complete), or failed (nothing
    /// recorded, the file removed).
    Recording {
        /// The call.
        call_id: CallId,
        /// Where the recording is.
        state: RecordingState,
    },
    /// The other person started (`true`) or stopped recording the call: show it for as long
    /// as it lasts. Their device records only after this device confirmed it shows this.
    PeerRecording {
        /// The call.
        call_id: CallId,
        /// Whether they record now.
        recording: bool,
    },
    /// The service's account of a call contradicts what the two devices signed (e.g. it made
    /// the call standard although both turned on end-to-end encryption). Content-free; show it
    /// prominently for the rest of the call.
    SecurityWarning {
        /// The call.
        call_id: CallId,
        /// What to show.
        message: String,
    },
}

/// Information about the signed-in session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The user id.
    pub user: String,
    /// The display name.
    pub display_name: String,
    /// This device's id.
    pub device_id: String,
    /// This device's identity fingerprint.
    pub fingerprint: String,
}

enum EngineCommand {
    Call(Command),
    Audio(AudioRoute),
    AudioProcessing(AudioProcessingSetting),
    Camera(VideoSpec),
    Screen(ScreenSpec),
    PostQuantum(PostQuantum),
    Hold(bool),
    Record(Option<crate::media::CallRecorder>),
}

/// The features of [`Feature::ALL`] (those the policy blocks in end-to-end encrypted calls)
/// that this engine offers in standard calls. Hold is not among them: the policy does not
/// block it, and [`Engine::hold`] works in every call.
pub const STANDARD_CALL_FEATURES: &[Feature] = &[Feature::Recording];

/// Why a feature is not offered in a standard call either.
fn not_offered(feature: Feature) -> String {
    let why = match feature {
        Feature::LiveCaptionsAndTranscription => "it needs a speech model Sealcall does not have",
        Feature::CallMerge | Feature::AddParticipant | Feature::Apps => {
            "it needs group calls, and Sealcall calls are one to one"
        }
        _ => "this version of Sealcall does not have it yet",
    };
    format!(
        "{} is not available in Sealcall: {why}",
        feature.display_name()
    )
}

/// Shared view of the current call, for synchronous queries.
#[derive(Debug, Default)]
struct Shared {
    /// The call's settled mode (from the two signed intents), once connected.
    mode: Option<MediaMode>,
    /// What the server announced for the call being set up (its reasons for a standard call),
    /// until the mode is settled.
    announced: Option<MediaMode>,
    setting: Option<SettingView>,
    /// The connected call's hold state.
    hold: HoldState,
}

/// A running engine. Dropping it (or [`Engine::shutdown`]) ends any call and disconnects.
pub struct Engine {
    commands: mpsc::UnboundedSender<EngineCommand>,
    api: ApiClient,
    info: SessionInfo,
    public: IdentityPublicKey,
    contacts: Arc<Mutex<ContactStore>>,
    muted: Arc<AtomicBool>,
    shared: Arc<Mutex<Shared>>,
    stop: watch::Sender<bool>,
}

/// The engine's event stream.
pub type EngineEvents = mpsc::UnboundedReceiver<EngineEvent>;

/// Waits up to `within` for the first event that `pick` returns `Some` for, and returns that;
/// the events before it are consumed. `None` when the time ran out or the engine stopped.
///
/// ```no_run
/// # async fn example(events: &mut sealcall_engine::EngineEvents) {
/// use sealcall_engine::{EngineEvent, next_event};
/// let code = next_event(events, std::time::Duration::from_secs(10), |e| match e {
///     EngineEvent::SecurityCode { code, .. } => Some(code.clone()),
///     _ => None,
/// })
/// .await;
/// # }
/// ```
pub async fn next_event<T>(
    events: &mut EngineEvents,
    within: Duration,
    mut pick: impl FnMut(&EngineEvent) -> Option<T>,
) -> Option<T> {
    tokio::time::timeout(within, async {
        while let Some(e) = events.recv().await {
            if let Some(t) = pick(&e) {
                return Some(t);
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
}

impl Engine {
    /// Signs in, loads or creates the device identity, registers the device, connects the
    /// signaling WebSocket and starts the engine.
    pub async fn connect(mut config: EngineConfig) -> Result<(Engine, EngineEvents)> {
        let mut api =
            ApiClient::with_servers(&config.server, &config.other_servers, &config.trust)?;
        let loaded = config.identity.load_or_create()?;
        // A damaged contact store fails here, before any call could trust a changed key.
        let contacts = Arc::new(Mutex::new(config.identity.contacts()?));
        let key = loaded.identity.public().to_bytes();
        let known = loaded.device_id.as_deref().map(|id| (id, &key));
        let mut signed_in = api
            .sign_in_device(&config.user, &config.password, known)
            .await;
        // Unreachable: the other nodes, in turn.
        for _ in 1..api.server_count() {
            if !matches!(signed_in, Err(EngineError::Unreachable(_))) {
                break;
            }
            if let Some(next) = api.fail_over() {
                tracing::info!(server = %next, "server unreachable: trying the next node");
            }
            signed_in = api
                .sign_in_device(&config.user, &config.password, known)
                .await;
        }
        // The token signs in from now on (reconnects included): erase the password.
        zeroize::Zeroize::zeroize(&mut config.password);
        let session = signed_in.inspect_err(|e| {
            tracing::warn!(server = %config.server, user = %config.user, error = %e, "sign-in failed");
        })?;
        // The session belongs to the stored device if the server still knows it with this key;
        // otherwise this is a new device.
        let device_id = match session.device_id.clone() {
            Some(id) => id,
            None => {
                let record = api
                    .register_device(&key, &config.platform, &config.client_version)
                    .await?;
                config
                    .identity
                    .save(&loaded.identity, Some(&record.device_id))?;
                record.device_id
            }
        };
        tracing::info!(
            server = %config.server,
            user = %session.user,
            device = %device_id,
            new_device = session.device_id.is_none(),
            "signed in"
        );
        let info = SessionInfo {
            user: session.user.clone(),
            display_name: session.display_name.clone(),
            device_id: device_id.clone(),
            fingerprint: loaded.identity.public().fingerprint(),
        };
        let joined = own_devices_joined(&api, &contacts, &device_id).await;
        let me = UserId::new(&session.user)
            .map_err(|e| EngineError::Server(format!("user id: {e:?}")))?;
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (commands_tx, commands_rx) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = watch::channel(false);
        for (id, key) in joined {
            let _ = events_tx.send(EngineEvent::DeviceAdded {
                device_id: id,
                platform: String::new(),
                fingerprint: short_fingerprint(&key),
                while_offline: true,
            });
        }
        let ws = connect_ws(&api, config.signaling.as_deref(), &device_id).await?;
        let muted = Arc::new(AtomicBool::new(false));
        // Until the server's Welcome, the device's own state is the setting as last synced.
        let cached = contacts
            .lock()
            .ok()
            .and_then(|c| c.book().setting().cloned());
        let shared = Arc::new(Mutex::new(Shared {
            setting: cached,
            ..Shared::default()
        }));
        let public = loaded.identity.public();
        let core = Core {
            contacts: Arc::clone(&contacts),
            reported: None,
            machine: CallMachine::new(me.clone(), config.timers),
            me,
            identity: Arc::new(loaded.identity),
            device_id,
            api: api.clone(),
            config,
            events: events_tx,
            muted: Arc::clone(&muted),
            shared: Arc::clone(&shared),
            media: None,
            started: Instant::now(),
        };
        tokio::spawn(core.run(ws, commands_rx, stop_rx));
        Ok((
            Engine {
                commands: commands_tx,
                api,
                info,
                public,
                contacts,
                muted,
                shared,
                stop: stop_tx,
            },
            events_rx,
        ))
    }

    /// The signed-in session.
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// The HTTP API client of this engine's session (the session its signaling uses): for
    /// the server's other endpoints. It holds the session's bearer token; keep it in memory.
    pub fn api(&self) -> &ApiClient {
        &self.api
    }

    fn command(&self, c: Command) -> Result<()> {
        self.commands
            .send(EngineCommand::Call(c))
            .map_err(|_| EngineError::Stopped)
    }

    /// Calls a user (by sign-in name).
    pub fn call(&self, user: &str) -> Result<()> {
        let user = UserId::new(user)
            .map_err(|e| EngineError::InvalidCommand(format!("not a user name: {e:?}")))?;
        self.command(Command::Call(user))
    }

    /// Answers the ringing call.
    pub fn accept(&self) -> Result<()> {
        self.command(Command::Accept)
    }

    /// Declines the ringing call.
    pub fn decline(&self) -> Result<()> {
        self.command(Command::Decline)
    }

    /// Cancels the outgoing call before it is answered.
    pub fn cancel(&self) -> Result<()> {
        self.command(Command::Cancel)
    }

    /// Hangs up the call.
    pub fn hangup(&self) -> Result<()> {
        self.command(Command::Hangup)
    }

    /// Mutes or unmutes the microphone (silence is sent while muted).
    pub fn set_muted(&self, muted: bool) {
        self.muted.store(muted, Ordering::Relaxed);
    }

    /// Changes where call audio comes from and goes to: for the call in progress (switched at
    /// the next 20 ms frame, without a gap) and for later calls. A device that cannot be opened
    /// falls back to a test tone / discarded output with a [`EngineEvent::Notice`].
    pub fn set_audio_route(&self, route: AudioRoute) -> Result<()> {
        if let AudioRoute::Specs { input, output } = &route {
            crate::media::InputSpec::parse(input)?;
            crate::media::OutputSpec::parse(output)?;
        }
        self.commands
            .send(EngineCommand::Audio(route))
            .map_err(|_| EngineError::Stopped)
    }

    /// Changes the audio processing on the microphone (see [`EngineConfig::audio_processing`])
    /// for the call in progress, from its next frame, and for later calls. Turning a part on
    /// or off restarts the processing (the echo canceller converges again within seconds).
    pub fn set_audio_processing(&self, setting: AudioProcessingSetting) -> Result<()> {
        self.commands
            .send(EngineCommand::AudioProcessing(setting))
            .map_err(|_| EngineError::Stopped)
    }

    /// Turns the camera stream on (`VideoSpec::TestPattern`, `VideoSpec::Camera`) or off
    /// (`VideoSpec::None`), in the call in progress and for later calls.
    pub fn set_camera(&self, spec: VideoSpec) -> Result<()> {
        self.commands
            .send(EngineCommand::Camera(spec))
            .map_err(|_| EngineError::Stopped)
    }

    /// This device's post-quantum setting (see [`EngineConfig::post_quantum`]) from the next call
    /// on; the call in progress keeps what it signed.
    pub fn set_post_quantum(&self, setting: PostQuantum) -> Result<()> {
        self.commands
            .send(EngineCommand::PostQuantum(setting))
            .map_err(|_| EngineError::Stopped)
    }

    /// Starts sharing the screen or a window (see [`ScreenSpec`]; the window list for a picker
    /// is [`crate::media::video::screen::list_windows`]) in the call in progress, or stops
    /// with `ScreenSpec::None`. A screen that cannot be captured is reported as an
    /// [`EngineEvent::Notice`] and nothing is shared.
    pub fn share_screen(&self, spec: ScreenSpec) -> Result<()> {
        self.commands
            .send(EngineCommand::Screen(spec))
            .map_err(|_| EngineError::Stopped)
    }

    /// Puts the connected call on hold: no media is sent or played until [`Engine::resume`],
    /// and the other device is told in a sealed control message (the service relays it but
    /// cannot forge a hold or a resume). Works in standard and end-to-end encrypted calls.
    /// Reported as [`EngineEvent::Hold`].
    pub fn hold(&self) -> Result<()> {
        self.set_hold(true)
    }

    /// Takes the call off hold (this device's hold; a hold by the other device lasts until
    /// it resumes).
    pub fn resume(&self) -> Result<()> {
        self.set_hold(false)
    }

    fn set_hold(&self, on: bool) -> Result<()> {
        let connected = {
            let s = self.shared.lock().map_err(|_| EngineError::Stopped)?;
            s.mode.is_some()
        };
        if !connected {
            return Err(EngineError::InvalidCommand(format!(
                "{} needs a connected call",
                if on { "hold" } else { "resume" }
            )));
        }
        self.commands
            .send(EngineCommand::Hold(on))
            .map_err(|_| EngineError::Stopped)
    }

    /// Records the connected standard call on this device into `path`, a new `.wav` file (48
    /// kHz stereo: left what this device sends, right what it plays). Refused in an
    /// end-to-end encrypted call with the policy's reason, and for a file that exists. The
    /// other device is told first and must confirm that it shows the notice before the first
    /// frame is recorded ([`RecordingState::Waiting`], then [`RecordingState::Recording`]);
    /// without its confirmation within 5 s nothing is recorded ([`RecordingState::Failed`]).
    pub fn start_recording(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        self.request_feature(Feature::Recording)?;
        let recorder = crate::media::CallRecorder::create(path)?;
        self.commands
            .send(EngineCommand::Record(Some(recorder)))
            .map_err(|_| EngineError::Stopped)
    }

    /// Stops the recording (the file is completed, [`RecordingState::Stopped`]) and tells the
    /// other device.
    pub fn stop_recording(&self) -> Result<()> {
        self.commands
            .send(EngineCommand::Record(None))
            .map_err(|_| EngineError::Stopped)
    }

    /// The connected call's hold state (not held when there is no call).
    pub fn hold_state(&self) -> HoldState {
        self.shared.lock().map(|s| s.hold).unwrap_or_default()
    }

    /// Whether the microphone is muted.
    pub fn is_muted(&self) -> bool {
        self.muted.load(Ordering::Relaxed)
    }

    /// The user's "End-to-end encrypted calls" setting, from the server.
    pub async fn e2ee_setting(&self) -> Result<SettingView> {
        self.api.setting().await
    }

    /// Turns "End-to-end encrypted calls" on or off; every other device of the user follows.
    /// Refused with the policy's reason when the organisation does not allow it.
    pub async fn set_e2ee(&self, enabled: bool) -> Result<SettingView> {
        self.api.set_setting(enabled).await
    }

    /// Searches the directory.
    pub async fn directory(&self, search: &str) -> Result<Vec<DirectoryEntry>> {
        self.api.directory(search).await
    }

    /// Asks to use a call feature. In an end-to-end encrypted call the features the policy
    /// lists are refused with the policy's user-facing reason; while a call is being set up
    /// (before the two signed intents settle its mode) they are refused too, whatever the
    /// server announced; in a standard call a feature this engine does not offer
    /// ([`STANDARD_CALL_FEATURES`]) is refused with why.
    pub fn request_feature(&self, feature: Feature) -> Result<()> {
        let (mode, connecting) = {
            let s = self.shared.lock().map_err(|_| EngineError::Stopped)?;
            (s.mode.clone(), s.announced.is_some())
        };
        match mode {
            Some(MediaMode::EndToEnd) => Err(EngineError::FeatureBlocked(feature.user_message())),
            Some(MediaMode::Standard { .. }) if STANDARD_CALL_FEATURES.contains(&feature) => Ok(()),
            Some(MediaMode::Standard { .. }) => {
                Err(EngineError::InvalidCommand(not_offered(feature)))
            }
            // The server's announcement decides nothing: wait for the two signed intents.
            None if connecting => Err(EngineError::FeatureBlocked(format!(
                "{} is available once the call is connected and its protection settled",
                feature.display_name()
            ))),
            None => Err(EngineError::InvalidCommand(format!(
                "{} needs a call in progress",
                feature.display_name()
            ))),
        }
    }

    /// The peer devices this device has been in calls with (key continuity), by user.
    pub fn contacts(&self) -> Result<Vec<ContactDevice>> {
        let store = self.contacts.lock().map_err(|_| EngineError::Stopped)?;
        Ok(store.book().devices())
    }

    /// The safety number of this device and a peer device on record.
    pub fn safety_number(&self, peer: &ContactDevice) -> Result<SafetyNumber> {
        crate::contacts::safety_number(&self.info.user, &self.public, peer)
    }

    /// Marks `user`'s devices on record (or only `device`) verified, after the two people
    /// compared the security code or the safety number. Returns how many were marked. A key
    /// that changes later loses the mark.
    pub fn mark_verified(&self, user: &str, device: Option<&str>) -> Result<usize> {
        let mut store = self.contacts.lock().map_err(|_| EngineError::Stopped)?;
        store.update(|book| book.mark_verified(user, device))
    }

    /// Ends any call, disconnects and signs out.
    pub async fn shutdown(mut self) -> Result<()> {
        let _ = self.stop.send(true);
        self.api.sign_out().await
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect_ws(api: &ApiClient, signaling: Option<&str>, device_id: &str) -> Result<Ws> {
    let url = match signaling {
        Some(base) => {
            // The same rule as for the HTTP API: plain ws:// only to loopback.
            let as_http = base
                .replacen("wss://", "https://", 1)
                .replacen("ws://", "http://", 1);
            sealcall_tls::check_server_url(&as_http)?;
            format!("{}/ws?device_id={device_id}", base.trim_end_matches('/'))
        }
        None => api.ws_url(device_id),
    };
    let mut request = url
        .into_client_request()
        .map_err(|e| EngineError::Config(e.to_string()))?;
    let token = api
        .token()
        .ok_or_else(|| EngineError::SignIn("not signed in".into()))?;
    let value = format!("Bearer {token}")
        .parse()
        .map_err(|_| EngineError::Config("token is not a valid header".into()))?;
    request.headers_mut().insert("authorization", value);
    let connector = tokio_tungstenite::Connector::Rustls(api.tls().config());
    let (ws, _) =
        tokio_tungstenite::connect_async_tls_with_config(request, None, false, Some(connector))
            .await
            .map_err(|e| match (api.tls().rejection(), e) {
                (Some(refused), _) => EngineError::Tls(refused),
                (None, tokio_tungstenite::tungstenite::Error::Io(_)) => {
                    EngineError::Unreachable(api.base().to_owned())
                }
                (None, other) => EngineError::Server(format!("signaling: {other}")),
            })?;
    Ok(ws)
}

struct ActiveMedia {
    call_id: CallId,
    inbox: mpsc::UnboundedSender<ToMedia>,
    stop: watch::Sender<bool>,
    switch: media_task::AudioSwitch,
    video: VideoSwitch,
    processing: SharedProcessor,
}

/// The peer device of the current call, as the service named it, until a handshake confirms it.
#[derive(Clone, PartialEq, Eq)]
struct PeerSeen {
    call_id: CallId,
    user: String,
    device: DeviceId,
    key: IdentityKey,
}

struct Core {
    /// Key continuity.
    contacts: Arc<Mutex<ContactStore>>,
    /// The peer device last reported with [`EngineEvent::PeerKey`].
    reported: Option<PeerSeen>,
    machine: CallMachine,
    me: UserId,
    identity: Arc<DeviceIdentity>,
    device_id: String,
    api: ApiClient,
    config: EngineConfig,
    events: mpsc::UnboundedSender<EngineEvent>,
    muted: Arc<AtomicBool>,
    shared: Arc<Mutex<Shared>>,
    media: Option<ActiveMedia>,
    started: Instant,
}

/// A shared queue that turns what is heard into what is sent (the echo bot).
#[derive(Clone, Default)]
struct EchoQueue(Arc<Mutex<VecDeque<Frame>>>);

impl AudioSink for EchoQueue {
    fn write_frame(&mut self, pcm: &Frame) -> Result<()> {
        if let Ok(mut q) = self.0.lock()
            && q.len() < 250
        {
            q.push_back(*pcm);
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        Ok(())
    }

    fn describe(&self) -> String {
        "echo".to_owned()
    }
}

impl AudioSource for EchoQueue {
    fn read_frame(&mut self, out: &mut Frame) -> Result<bool> {
        match self.0.lock().ok().and_then(|mut q| q.pop_front()) {
            Some(f) => *out = f,
            None => out.fill(0),
        }
        Ok(true)
    }

    fn describe(&self) -> String {
        "echo".to_owned()
    }
}

impl Core {
    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    fn emit(&self, e: EngineEvent) {
        log_event(&e);
        let _ = self.events.send(e);
    }

    /// Tells the user something that is not logged as it is (it may quote untrusted input);
    /// the caller logs what is safe of it.
    fn notify_unlogged(&self, text: String) {
        let _ = self.events.send(EngineEvent::Notice(text));
    }

    fn audio(&self) -> Result<(Box<dyn AudioSource + Send>, Box<dyn AudioSink + Send>)> {
        match &self.config.audio {
            AudioRoute::Echo => {
                let q = EchoQueue::default();
                Ok((Box::new(q.clone()), Box::new(q)))
            }
            AudioRoute::Custom(custom) => (custom.open)(),
            AudioRoute::Specs { input, output } => {
                // `device` falls back to a test tone / discarded output, with a notice.
                let input = crate::media::device::pick_input(Some(input))?;
                let output = crate::media::device::pick_output(Some(output))?;
                for notice in [input.notice, output.notice].into_iter().flatten() {
                    self.emit(EngineEvent::Notice(notice));
                }
                Ok((input.source, output.sink))
            }
        }
    }

    /// The audio processing for calls: the configured setting, but never for the echo bot,
    /// whose microphone is what it plays (an echo canceller would remove all of it).
    fn audio_processing(&self) -> AudioProcessingSetting {
        match self.config.audio {
            AudioRoute::Echo => AudioProcessingSetting::Off,
            _ => self.config.audio_processing,
        }
    }

    /// The camera source for a call: the echo of what is received (echo bot), or the spec.
    fn camera(&self, echo: &Option<FrameFeed>) -> Option<Box<dyn VideoSource>> {
        if let Some(feed) = echo {
            return Some(Box::new(FedSource::new(feed.clone(), 30, Content::Camera)));
        }
        let (source, notice) = open_camera(&self.config.video);
        if let Some(n) = notice {
            self.emit(EngineEvent::Notice(n));
        }
        source
    }

    fn screen(&self, spec: &ScreenSpec) -> Option<Box<dyn VideoSource>> {
        match open_screen(spec) {
            Ok(source) => source,
            Err(e) => {
                self.emit(EngineEvent::Notice(format!("screen share: {e}")));
                None
            }
        }
    }

    /// This device's own state for its signed intent: the setting as last synced (on connect
    /// and at every change, and cached in the device's store across restarts), on a device
    /// that can do end-to-end encryption. A device that never synced intends a standard call.
    fn local_state(&self) -> sealcall_policy::LocalState {
        let synced = self.shared.lock().ok().and_then(|s| s.setting.clone());
        match synced {
            Some(view) => view.local_state(self.me.clone(), sealcall_policy::Capability::Capable),
            None => sealcall_policy::LocalState {
                user: self.me.clone(),
                policy: sealcall_policy::CallingEncryptionType::Disabled,
                user_choice: false,
                capability: sealcall_policy::Capability::Capable,
                compliance_recording: false,
            },
        }
    }

    /// Reports how the peer device's key compares with earlier calls (once per call, device
    /// and key), with a warning when a known device has another key.
    fn report_peer(&mut self, seen: PeerSeen) {
        if self.reported.as_ref() == Some(&seen) {
            return;
        }
        let status = match self.contacts.lock() {
            Ok(mut store) => {
                // Fresh from the file: `sealcall contacts verify` may have run meanwhile. A
                // file damaged since is said, and the last good reading is used.
                if let Err(e) = store.reload() {
                    self.emit(EngineEvent::Notice(e.to_string()));
                }
                store
                    .book()
                    .check(&seen.user, seen.device.as_str(), &seen.key.0)
            }
            Err(_) => return,
        };
        let safety_number = IdentityPublicKey::from_bytes(&seen.key.0)
            .map(|peer| {
                SafetyNumber::new(self.me.as_str(), &self.identity.public(), &seen.user, &peer)
                    .to_string()
            })
            .unwrap_or_default();
        if status.is_warning() {
            self.emit(EngineEvent::SecurityWarning {
                call_id: seen.call_id.clone(),
                message: status.user_message(&seen.user),
            });
        }
        self.emit(EngineEvent::PeerKey {
            call_id: seen.call_id.clone(),
            user: seen.user.clone(),
            device: seen.device.as_str().to_owned(),
            status,
            safety_number,
        });
        self.reported = Some(seen);
    }

    /// The handshake confirmed the peer device's key: remember it.
    fn confirm_peer(&mut self, call_id: &CallId) {
        let Some(seen) = self.reported.clone().filter(|s| s.call_id == *call_id) else {
            return;
        };
        let result = match self.contacts.lock() {
            Ok(mut store) => store.update(|book| {
                Ok(book.record(&seen.user, seen.device.as_str(), &seen.key.0, unix_now()))
            }),
            Err(_) => return,
        };
        if let Err(e) = result {
            self.emit(EngineEvent::Notice(format!(
                "could not remember {}'s device key: {e}",
                seen.user
            )));
        }
    }

    fn set_mode(&self, mode: Option<MediaMode>) {
        if let Ok(mut s) = self.shared.lock() {
            s.mode = mode;
        }
    }

    async fn apply(
        &mut self,
        ws: &mut Option<Ws>,
        actions: Vec<Action>,
        media_tx: &mpsc::UnboundedSender<FromMedia>,
    ) {
        for action in actions {
            match action {
                Action::Send(msg) => send(ws, &msg).await,
                Action::Event(event) => {
                    let auto =
                        matches!(event, CallEvent::Incoming { .. }) && self.config.auto_answer;
                    self.emit(EngineEvent::Call(event));
                    if auto {
                        let now = self.now();
                        if let Ok(more) = self.machine.command(now, Command::Accept) {
                            Box::pin(self.apply(ws, more, media_tx)).await;
                        }
                    }
                }
                Action::StartMedia(start) => {
                    // Features wait for the settled mode; the server's word is only kept.
                    self.set_mode(None);
                    if let Ok(mut s) = self.shared.lock() {
                        s.announced = Some(start.mode.clone());
                    }
                    self.report_peer(PeerSeen {
                        call_id: start.call_id.clone(),
                        user: start.peer.as_str().to_owned(),
                        device: start.peer_device.clone(),
                        key: start.peer_identity,
                    });
                    let (source, sink) = match self.audio() {
                        Ok(pair) => pair,
                        Err(e) => {
                            let now = self.now();
                            let more = self.machine.on_media(
                                now,
                                &start.call_id,
                                crate::call::MediaProgress::Failed(e.to_string()),
                            );
                            Box::pin(self.apply(ws, more, media_tx)).await;
                            continue;
                        }
                    };
                    let (inbox_tx, inbox_rx) = mpsc::unbounded_channel();
                    let (stop_tx, stop_rx) = watch::channel(false);
                    let switch = media_task::AudioSwitch::default();
                    let processing = SharedProcessor::new(AudioProcessor::new(
                        self.audio_processing(),
                        source.is_device(),
                    ));
                    let video_switch = VideoSwitch::default();
                    let echo = (self.config.audio == AudioRoute::Echo).then(FrameFeed::default);
                    let video = VideoParams {
                        camera: self.camera(&echo),
                        screen: self.screen(&self.config.screen),
                        switch: video_switch.clone(),
                        echo,
                    };
                    if let Ok(mut s) = self.shared.lock() {
                        s.hold = HoldState::default();
                    }
                    self.media = Some(ActiveMedia {
                        call_id: start.call_id.clone(),
                        inbox: inbox_tx,
                        stop: stop_tx,
                        switch: switch.clone(),
                        video: video_switch,
                        processing: processing.clone(),
                    });
                    let params = MediaParams {
                        local: self.local_state(),
                        post_quantum: self.config.post_quantum,
                        start: *start,
                        identity: Arc::clone(&self.identity),
                        device_id: self.device_id.clone(),
                        transport: self.config.transport.clone(),
                        stream: self.config.stream,
                        source,
                        sink,
                        muted: Arc::clone(&self.muted),
                        switch,
                        processing,
                        video,
                    };
                    tokio::spawn(media_task::run(params, inbox_rx, media_tx.clone(), stop_rx));
                }
                Action::StopMedia(call_id) => {
                    self.set_mode(None);
                    if let Ok(mut s) = self.shared.lock() {
                        s.announced = None;
                        s.hold = HoldState::default();
                    }
                    if let Some(m) = self.media.take_if(|m| m.call_id == call_id) {
                        let _ = m.stop.send(true);
                    }
                }
            }
        }
    }

    async fn run(
        mut self,
        ws: Ws,
        mut commands: mpsc::UnboundedReceiver<EngineCommand>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut ws = Some(ws);
        let (media_tx, mut media_rx) = mpsc::unbounded_channel::<FromMedia>();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut attempt: u32 = 0;
        let mut retry_at = tokio::time::Instant::now();
        self.emit(EngineEvent::Connection(ConnectionState::Connected));
        loop {
            tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        if let Some(m) = self.media.take() {
                            let _ = m.stop.send(true);
                        }
                        if let Some(id) = self.machine.call_id().cloned() {
                            let msg = match self.machine.state() {
                                State::Outgoing { .. } => ClientMessage::Cancel { call_id: id },
                                State::Incoming { .. } => ClientMessage::Decline { call_id: id },
                                _ => ClientMessage::Hangup { call_id: id },
                            };
                            send(&mut ws, &msg).await;
                        }
                        if let Some(mut w) = ws.take() {
                            let _ = w.close(None).await;
                        }
                        return;
                    }
                }
                cmd = commands.recv() => match cmd {
                    Some(EngineCommand::Call(c)) => {
                        let now = self.now();
                        match self.machine.command(now, c) {
                            Ok(actions) => self.apply(&mut ws, actions, &media_tx).await,
                            Err(e) => self.emit(EngineEvent::Notice(e.to_string())),
                        }
                    }
                    Some(EngineCommand::Audio(route)) => {
                        self.config.audio = route;
                        if let Some(switch) = self.media.as_ref().map(|m| m.switch.clone()) {
                            match self.audio() {
                                Ok((source, sink)) => switch.replace(source, sink),
                                Err(e) => self.emit(EngineEvent::Notice(format!("audio: {e}"))),
                            }
                        }
                    }
                    Some(EngineCommand::PostQuantum(setting)) => {
                        self.config.post_quantum = setting;
                    }
                    Some(EngineCommand::AudioProcessing(setting)) => {
                        self.config.audio_processing = setting;
                        if let Some(m) = &self.media {
                            m.processing.lock().set_setting(self.audio_processing());
                        }
                    }
                    Some(EngineCommand::Camera(spec)) => {
                        self.config.video = spec;
                        if let Some(switch) = self.media.as_ref().map(|m| m.video.clone()) {
                            switch.set(VideoStream::Camera, self.camera(&None));
                        }
                    }
                    Some(EngineCommand::Hold(on)) => match &self.media {
                        Some(m) => {
                            let _ = m.inbox.send(ToMedia::Hold(on));
                        }
                        None => self.emit(EngineEvent::Notice("no call to hold or resume".into())),
                    },
                    Some(EngineCommand::Record(recorder)) => match &self.media {
                        Some(m) => {
                            let _ = m.inbox.send(ToMedia::Record(recorder));
                        }
                        None => {
                            if let Some(r) = recorder {
                                let _ = r.discard();
                            }
                            self.emit(EngineEvent::Notice("no call to record".into()));
                        }
                    },
                    Some(EngineCommand::Screen(spec)) => {
                        if let Some(switch) = self.media.as_ref().map(|m| m.video.clone()) {
                            switch.set(VideoStream::Screen, self.screen(&spec));
                        }
                        self.config.screen = spec;
                    }
                    None => {}
                },
                msg = next_message(&mut ws) => {
                    let lost = match msg {
                        Some(text) => match parse_server_message(text.as_bytes()) {
                            // The server is going away: as if the connection were lost.
                            Ok(ServerMessage::Reconnect {}) => {
                                tracing::info!("the server asked this device to reconnect");
                                if let Some(mut w) = ws.take() {
                                    let _ = w.close(None).await;
                                }
                                true
                            }
                            Ok(m) => {
                                self.on_server(&mut ws, m, &media_tx).await;
                                false
                            }
                            Err(e) => {
                                // The code only: a parser's message may quote the content.
                                tracing::warn!(code = ?e.code(), "server sent a bad message");
                                self.notify_unlogged(format!("server sent a bad message: {e}"));
                                false
                            }
                        },
                        None => true,
                    };
                    if lost {
                        ws = None;
                        let now = self.now();
                        let actions = self.machine.on_server_lost(now);
                        self.apply(&mut ws, actions, &media_tx).await;
                        attempt = 1;
                        retry_at = tokio::time::Instant::now() + backoff(attempt);
                        self.emit(EngineEvent::Connection(ConnectionState::Reconnecting(attempt)));
                    }
                }
                m = media_rx.recv() => {
                    let Some(m) = m else { continue };
                    match m {
                        FromMedia::Send(msg) => send(&mut ws, &msg).await,
                        FromMedia::Progress(call_id, progress) => {
                            // Features follow the settled mode, not the server's word.
                            if let crate::call::MediaProgress::Ready { end_to_end } = progress {
                                let announced = self.shared.lock().ok().and_then(|mut s| s.announced.take());
                                self.set_mode(Some(match (end_to_end, announced) {
                                    (true, _) => MediaMode::EndToEnd,
                                    (false, Some(standard @ MediaMode::Standard { .. })) => standard,
                                    (false, _) => MediaMode::Standard { reasons: Vec::new() },
                                }));
                                // Both handshakes (standard calls too) prove the peer's key.
                                self.confirm_peer(&call_id);
                            }
                            let now = self.now();
                            let actions = self.machine.on_media(now, &call_id, progress);
                            self.apply(&mut ws, actions, &media_tx).await;
                        }
                        FromMedia::SecurityCode(call_id, code, post_quantum) => self.emit(EngineEvent::SecurityCode { call_id, code, post_quantum }),
                        FromMedia::Warning(call_id, message) => self.emit(EngineEvent::SecurityWarning { call_id, message }),
                        // A media task that is stopping may still report: only the current call's
                        // hold counts.
                        FromMedia::Hold(call_id, hold) if self.media.as_ref().is_some_and(|m| m.call_id == call_id) => {
                            if let Ok(mut s) = self.shared.lock() {
                                s.hold = hold;
                            }
                            self.emit(EngineEvent::Hold { call_id, hold });
                        }
                        FromMedia::Hold(..) => {}
                        FromMedia::Notice(n) => self.emit(EngineEvent::Notice(n)),
                        FromMedia::Recording(call_id, state) => self.emit(EngineEvent::Recording { call_id, state }),
                        FromMedia::PeerRecording(call_id, recording) => self.emit(EngineEvent::PeerRecording { call_id, recording }),
                        FromMedia::FirstAudio(call_id) => self.emit(EngineEvent::FirstAudio { call_id }),
                        FromMedia::Stats(call_id, stats) => self.emit(EngineEvent::Stats { call_id, stats }),
                        FromMedia::Video(call_id, report) => match report {
                            VideoReport::Picture(picture) => self.emit(EngineEvent::Video { call_id, picture }),
                            VideoReport::Local(picture) => self.emit(EngineEvent::LocalVideo { call_id, picture }),
                            VideoReport::Stopped(stream) => self.emit(EngineEvent::VideoStopped { call_id, stream }),
                            VideoReport::Notice(n) => self.emit(EngineEvent::Notice(n)),
                        },
                    }
                }
                _ = tick.tick() => {
                    let now = self.now();
                    let actions = self.machine.tick(now);
                    self.apply(&mut ws, actions, &media_tx).await;
                    if ws.is_none() && tokio::time::Instant::now() >= retry_at {
                        match connect_ws(&self.api, self.config.signaling.as_deref(), &self.device_id).await {
                            Ok(w) => {
                                ws = Some(w);
                                attempt = 0;
                                self.emit(EngineEvent::Connection(ConnectionState::Connected));
                            }
                            Err(e) => {
                                tracing::debug!(attempt, error = %e, "reconnect failed");
                                attempt = attempt.saturating_add(1);
                                let next = match e {
                                    EngineError::Unreachable(_) => self.api.fail_over(),
                                    _ => None,
                                };
                                if let Some(next) = &next {
                                    tracing::info!(server = %next, "server unreachable: reconnecting to the next node");
                                }
                                // The next node at once; after each round of them, the backoff.
                                let nodes = u32::try_from(self.api.server_count()).unwrap_or(1).max(1);
                                let round_over = next.is_none() || attempt.is_multiple_of(nodes);
                                retry_at = tokio::time::Instant::now()
                                    + if round_over { backoff(attempt.div_ceil(nodes)) } else { Duration::ZERO };
                                self.emit(EngineEvent::Connection(ConnectionState::Reconnecting(attempt)));
                            }
                        }
                    }
                }
            }
        }
    }

    async fn on_server(
        &mut self,
        ws: &mut Option<Ws>,
        msg: ServerMessage,
        media_tx: &mpsc::UnboundedSender<FromMedia>,
    ) {
        match &msg {
            ServerMessage::Welcome { setting, .. } | ServerMessage::SettingChanged { setting } => {
                if let Ok(mut s) = self.shared.lock() {
                    s.setting = Some(setting.clone());
                }
                // Cached on the device, and compared with the last sync.
                let told = self
                    .contacts
                    .lock()
                    .map_err(|_| EngineError::Stopped)
                    .and_then(|mut c| c.update(|book| Ok(book.note_setting(setting))));
                match told {
                    Ok(Some(warning)) => self.emit(EngineEvent::Notice(warning)),
                    Ok(None) => {}
                    Err(e) => self.emit(EngineEvent::Notice(format!(
                        "could not cache the setting on this device: {e}"
                    ))),
                }
                self.emit(EngineEvent::Setting(setting.clone()));
                return;
            }
            ServerMessage::Sdp { call_id, .. }
            | ServerMessage::Ice { call_id, .. }
            | ServerMessage::Handshake { call_id, .. }
            | ServerMessage::Control { call_id, .. } => {
                if let Some(m) = self.media.as_ref().filter(|m| m.call_id == *call_id) {
                    let _ = m.inbox.send(ToMedia::Server(msg));
                }
                return;
            }
            ServerMessage::Error { code, message } => {
                // The code only: the server's message may quote what this device sent.
                tracing::warn!(code = ?code, "the server refused a message");
                self.notify_unlogged(format!("server: {message}"));
                return;
            }
            ServerMessage::DeviceAdded {
                device_id,
                identity_key,
                platform,
                ..
            } => {
                if let Ok(mut store) = self.contacts.lock() {
                    let _ = store.update(|book| {
                        book.add_own_device(device_id.as_str(), &identity_key.0);
                        Ok(())
                    });
                }
                self.emit(EngineEvent::DeviceAdded {
                    device_id: device_id.as_str().to_owned(),
                    platform: format!("{platform:?}"),
                    fingerprint: short_fingerprint(&identity_key.0),
                    while_offline: false,
                });
                return;
            }
            _ => {}
        }
        let incoming = match &msg {
            ServerMessage::IncomingCall {
                call_id,
                caller,
                caller_device,
                caller_identity,
                ..
            } => Some(PeerSeen {
                call_id: call_id.clone(),
                user: caller.as_str().to_owned(),
                device: caller_device.clone(),
                key: *caller_identity,
            }),
            _ => None,
        };
        let now = self.now();
        let actions = self.machine.on_server(now, msg);
        let rings = incoming.filter(|s| {
            actions.iter().any(|a| {
                matches!(a, Action::Event(CallEvent::Incoming { call_id, .. }) if *call_id == s.call_id)
            })
        });
        self.apply(ws, actions, media_tx).await;
        // Before the person answers (right after the incoming call's event, so an app has
        // the call to attach it to): is the caller's device the one seen before?
        if let Some(seen) = rings {
            self.report_peer(seen);
        }
    }
}

/// Logs an event with chosen fields: never the security code or safety number, and no media
/// (pictures are not logged at all; statistics only at the call's end, by the media task).
fn log_event(e: &EngineEvent) {
    match e {
        EngineEvent::Call(event) => match event {
            CallEvent::Placing { callee } => tracing::info!(callee = %callee, "placing a call"),
            CallEvent::Ringing { call_id, devices } => {
                tracing::info!(call_id = %call_id, devices, "call ringing");
            }
            CallEvent::Incoming {
                call_id,
                caller,
                decision,
                ..
            } => tracing::info!(
                call_id = %call_id,
                caller = %caller,
                mode = ?decision.outcome,
                "incoming call"
            ),
            CallEvent::Connecting { call_id, mode } => {
                tracing::info!(call_id = %call_id, mode = ?mode, "call connecting");
            }
            CallEvent::Connected {
                call_id,
                end_to_end,
            } => tracing::info!(call_id = %call_id, end_to_end, "call connected"),
            CallEvent::SignalingLost { call_id } => {
                tracing::warn!(call_id = %call_id, "signaling lost during the call; media continues");
            }
            CallEvent::Ended { call_id, reason } => tracing::info!(
                call_id = call_id.as_ref().map(CallId::as_str),
                reason = ?reason,
                "call ended"
            ),
        },
        EngineEvent::SecurityCode {
            call_id,
            post_quantum,
            ..
        } => {
            tracing::info!(call_id = %call_id, post_quantum = ?post_quantum, "security code ready")
        }
        EngineEvent::FirstAudio { call_id } => tracing::info!(call_id = %call_id, "first audio"),
        EngineEvent::Setting(setting) => {
            tracing::info!(
                effective = setting.effective,
                policy = %setting.policy,
                "end-to-end encryption setting synced"
            );
        }
        EngineEvent::Connection(ConnectionState::Connected) => {
            tracing::info!("signaling connected");
        }
        EngineEvent::Connection(ConnectionState::Reconnecting(attempt)) => {
            tracing::warn!(attempt, "signaling lost: reconnecting");
        }
        EngineEvent::VideoStopped { call_id, stream } => {
            tracing::debug!(call_id = %call_id, stream = ?stream, "peer video stopped");
        }
        // The media task logs each change with who holds the call, and each recording state.
        EngineEvent::Hold { .. } | EngineEvent::Recording { .. } => {}
        EngineEvent::PeerRecording { call_id, recording } => {
            tracing::info!(call_id = %call_id, recording, "the other device records the call");
        }
        EngineEvent::Notice(text) => tracing::info!(notice = %text, "notice"),
        EngineEvent::DeviceAdded {
            device_id,
            platform,
            while_offline,
            ..
        } => {
            tracing::info!(device = %device_id, platform = %platform, while_offline, "device added to this account")
        }
        EngineEvent::PeerKey {
            call_id,
            user,
            device,
            status,
            ..
        } => {
            tracing::info!(call_id = %call_id, peer = %user, peer_device = %device, status = ?status, "peer device key checked")
        }
        EngineEvent::SecurityWarning { call_id, message } => {
            tracing::warn!(call_id = %call_id, warning = %message, "security warning");
        }
        EngineEvent::Stats { .. } | EngineEvent::Video { .. } | EngineEvent::LocalVideo { .. } => {}
    }
}

/// A key's short fingerprint for display (or a note that it does not decode).
fn short_fingerprint(key: &[u8; 32]) -> String {
    IdentityPublicKey::from_bytes(key)
        .map_or_else(|_| "unusable key".to_owned(), |k| k.fingerprint())
}

/// Lists the account's devices and returns those that joined since the last list (this device
/// remembers the list in its contact store). A failure to list is not fatal: the live
/// [`EngineEvent::DeviceAdded`] still comes.
async fn own_devices_joined(
    api: &ApiClient,
    contacts: &Mutex<ContactStore>,
    me: &str,
) -> Vec<(String, [u8; 32])> {
    let Ok(devices) = api.devices().await else {
        return Vec::new();
    };
    let list: Vec<(String, [u8; 32])> = devices
        .iter()
        .filter_map(|d| {
            let key: [u8; 32] = hex::decode(&d.identity_key).ok()?.try_into().ok()?;
            Some((d.device_id.clone(), key))
        })
        .collect();
    let Ok(mut store) = contacts.lock() else {
        return Vec::new();
    };
    let joined = store
        .update(|book| Ok(book.note_own_devices(&list)))
        .unwrap_or_default();
    list.into_iter()
        .filter(|(id, _)| id != me && joined.contains(id))
        .collect()
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64.saturating_mul(1 << attempt.min(5))).min(Duration::from_secs(8))
}

async fn send(ws: &mut Option<Ws>, msg: &ClientMessage) {
    let Some(w) = ws.as_mut() else { return };
    if let Ok(text) = encode_client(msg) {
        let _ = w.send(Message::text(text)).await;
    }
}

async fn next_message(ws: &mut Option<Ws>) -> Option<String> {
    let Some(w) = ws.as_mut() else {
        return std::future::pending().await;
    };
    loop {
        match w.next().await {
            Some(Ok(Message::Text(t))) => return Some(t.to_string()),
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
            Some(Ok(_)) => continue,
        }
    }
}
