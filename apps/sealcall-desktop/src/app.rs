//! The UI state machine.
//!
//! [`SealcallApp`] holds everything the user sees: the sign-in form, the signed-in session
//! (people, history, settings) and the current call with its video. Each frame it drains the
//! [`Bridge`]'s events, updates its state, uploads the newest video pictures, and draws through
//! the views (`crate::views`, one file per view). Every control carries an accessible label,
//! which is also what the UI tests query.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use egui::Ui;
use sealcall_engine::api::DirectoryEntry;
use sealcall_engine::call::{CallEvent, Ended, MediaMode};
use sealcall_engine::contacts::PeerKeyStatus;
use sealcall_engine::media::AudioProcessingSetting;
use sealcall_engine::media::device::{AudioDevices, DeviceList};
use sealcall_engine::{
    CallStats, ConnectionState, EngineEvent, HoldState, PostQuantum, PostQuantumStatus,
    RecordingState, ScreenSpec, SessionInfo, Trust, VideoSpec, VideoStream,
};
use sealcall_policy::Side;
use sealcall_signaling::SettingView;

use crate::bridge::{Bridge, UiEvent};
use crate::prefs::{Prefs, ServerTrust};
use crate::text;
use crate::video::{CallVideo, ScreenPicker};
use crate::views::{self, Request};

/// Labels shared by the views and the tests.
pub mod labels {
    /// The sign-in form's server field.
    pub const SERVER: &str = "Server address";
    /// The sign-in form's name field.
    pub const USER: &str = "Sign-in name";
    /// The sign-in form's password field.
    pub const PASSWORD: &str = "Password";
    /// The sign-in form's CA certificate file field (a private server).
    pub const CA_FILE: &str = "CA certificate file";
    /// The sign-in form's pinned certificate fingerprint field (a private server).
    pub const PIN: &str = "Certificate fingerprint";
    /// The sign-in button.
    pub const SIGN_IN: &str = "Sign in";
    /// The sign-out button.
    pub const SIGN_OUT: &str = "Sign out";
    /// The People tab.
    pub const PEOPLE: &str = "People";
    /// The History tab.
    pub const HISTORY: &str = "History";
    /// The Settings tab.
    pub const SETTINGS: &str = "Settings";
    /// The Help section (on the sign-in page and in Settings).
    pub const HELP: &str = "Help";
    /// Help: open the folder of the log files.
    pub const OPEN_LOG_FOLDER: &str = "Open log folder";
    /// The directory search box.
    pub const SEARCH: &str = "Search people";
    /// The E2EE toggle in Settings > Privacy.
    pub const E2EE_TOGGLE: &str = "End-to-end encrypted calls";
    /// Shown under the toggle when the policy turned E2EE off.
    pub const TURNED_OFF: &str = "Your organisation has turned this off";
    /// Shown under the toggle when the policy requires E2EE.
    pub const REQUIRED: &str = "Your organisation requires this";
    /// Shown under the toggle when the policy requires post-quantum protected E2EE.
    pub const REQUIRED_POST_QUANTUM: &str =
        "Your organisation requires this, post-quantum protected";
    /// Accepts the incoming call.
    pub const ACCEPT: &str = "Accept call";
    /// Declines the incoming call.
    pub const DECLINE: &str = "Decline call";
    /// Cancels the outgoing call.
    pub const CANCEL: &str = "Cancel call";
    /// Hangs up.
    pub const HANG_UP: &str = "Hang up";
    /// Mutes the microphone.
    pub const MUTE: &str = "Mute";
    /// Puts the call on hold.
    pub const HOLD: &str = "Hold";
    /// Takes the call off this user's hold.
    pub const RESUME: &str = "Resume";
    /// The call is on hold by this user.
    pub const ON_HOLD_BY_ME: &str = "On hold: you put the call on hold";
    /// The call is on hold by the other person.
    pub const ON_HOLD_BY_PEER: &str = "On hold: the other person put the call on hold";
    /// Where a recording goes (a text field).
    pub const RECORD_TO: &str = "Record this call to";
    /// Starts the recording.
    pub const START_RECORDING: &str = "Start recording";
    /// Stops the recording.
    pub const STOP_RECORDING: &str = "Stop recording";
    /// Closes the recording panel without recording.
    pub const RECORD_CANCEL: &str = "Don't record";
    /// This device records the call.
    pub const RECORDING: &str = "Recording: the other person sees that this call is recorded";
    /// Waiting for the other device's confirmation.
    pub const RECORDING_WAITING: &str =
        "Asking the other person's device to show the recording notice…";
    /// The other person records the call.
    pub const PEER_RECORDING: &str = "The other person is recording this call";
    /// The menu of call features.
    pub const MORE: &str = "More";
    /// The shield of an end-to-end encrypted call (a shield with a lock).
    pub const SHIELD_E2EE: &str = "End-to-end encrypted";
    /// The shield of a standard call (a shield without a lock).
    pub const SHIELD_STANDARD: &str = "Standard encryption";
    /// Shown instead of the shield while the call's protection is being settled.
    pub const SECURING: &str = "Securing the call…";
    /// Heading of the security code panel.
    pub const SECURITY_CODE: &str = "Security code";
    /// The action next to the security code once the two people compared it.
    pub const MARK_VERIFIED: &str = "Mark as verified";
    /// Hides the new-device alerts.
    pub const DISMISS: &str = "Dismiss";
    /// The badge of a contact whose device key is verified and unchanged.
    pub const VERIFIED: &str = "Verified";
    /// Heading of the statistics panel.
    pub const STATS: &str = "Call statistics";
    /// Shown when there is no capture device.
    pub const NO_AUDIO_DEVICE: &str = "no audio device: using test tone";
    /// The input chooser.
    pub const INPUT_DEVICE: &str = "Input device";
    /// The output chooser.
    pub const OUTPUT_DEVICE: &str = "Output device";
    /// Turns the camera on in a call.
    pub const CAMERA_ON: &str = "Turn camera on";
    /// Turns the camera off in a call.
    pub const CAMERA_OFF: &str = "Turn camera off";
    /// Opens the screen-share picker.
    pub const SHARE_SCREEN: &str = "Share screen";
    /// Stops the screen share.
    pub const STOP_SHARING: &str = "Stop sharing";
    /// Shown while this device shares its screen.
    pub const SHARING: &str = "You are sharing your screen";
    /// Heading of the screen-share picker.
    pub const SHARE_PICKER: &str = "Choose what to share";
    /// The picker's choice of the whole screen.
    pub const SHARE_ENTIRE_SCREEN: &str = "Entire screen";
    /// The picker's choice of the test pattern (works without a display to capture).
    pub const SHARE_TEST_PATTERN: &str = "Test pattern";
    /// Closes the picker without sharing.
    pub const SHARE_CANCEL: &str = "Cancel";
    /// The peer's camera picture.
    pub const REMOTE_VIDEO: &str = "Remote video";
    /// The peer's shared screen.
    pub const SHARED_SCREEN: &str = "Shared screen";
    /// The self-view of this device's camera.
    pub const YOUR_CAMERA: &str = "Your camera";
    /// The preview of what this device shares.
    pub const YOUR_SCREEN: &str = "Your shared screen";
    /// Settings > Video: start each call with the camera on.
    pub const CAMERA_AT_START: &str = "Turn on my camera when a call starts";
    /// Settings > Audio: audio processing follows the input (on for microphones).
    pub const PROCESSING_AUTO: &str = "Automatic: on for microphones, off for test tones";
    /// Settings > Audio: audio processing always on (the parts below).
    pub const PROCESSING_ON: &str = "Always on";
    /// Settings > Audio: no audio processing.
    pub const PROCESSING_OFF: &str = "Off";
    /// Settings > Audio: the echo canceller.
    pub const ECHO_CANCELLATION: &str = "Echo cancellation";
    /// Settings > Audio: the noise suppressor.
    pub const NOISE_SUPPRESSION: &str = "Noise suppression";
    /// Settings > Audio: automatic gain control.
    pub const GAIN_CONTROL: &str = "Automatic gain control";
    /// Settings > Audio: the high-pass filter.
    pub const HIGH_PASS: &str = "High-pass filter";
    /// Settings > Privacy: the device's post-quantum requirement.
    pub const REQUIRE_POST_QUANTUM: &str = "Require post-quantum protection on this device";
    /// Heading of the video streams' statistics when they are shown apart from the audio's.
    pub const VIDEO_STATS: &str = "Video statistics";
    /// Heading of the camera stream's statistics.
    pub const STATS_CAMERA: &str = "Camera stream";
    /// Heading of the screen share's statistics.
    pub const STATS_SCREEN: &str = "Screen share stream";
    /// The label of a call button for a person.
    pub fn call(display_name: &str) -> String {
        format!("Call {display_name}")
    }
}

/// Which tab of the signed-in window is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// The directory.
    People,
    /// This session's calls.
    History,
    /// Settings > Privacy, Audio and Video.
    Settings,
}

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPhase {
    /// The invite is on its way.
    Placing,
    /// The other person's devices ring.
    Ringing,
    /// Someone calls this user.
    Incoming,
    /// Answered; media and (for E2EE) the handshake are being set up.
    Connecting,
    /// Media flows.
    Connected,
}

/// The current call.
#[derive(Debug)]
pub struct CallView {
    /// The other person's sign-in name.
    pub peer: String,
    /// The other person's display name.
    pub peer_name: String,
    /// Whether this user placed the call.
    pub outgoing: bool,
    /// Where the call is.
    pub phase: CallPhase,
    /// How the media is protected, once the two devices' signed intents settled it (at
    /// connect): the lock and the features follow this, never the server's announcement.
    pub mode: Option<MediaMode>,
    /// What the server announced when the call was answered (its reasons for a standard call).
    pub announced: Option<MediaMode>,
    /// For an incoming call: what the provisional decision says.
    pub incoming_notes: Vec<String>,
    /// The security code (E2EE calls).
    pub code: Option<String>,
    /// Whether the E2EE call's keys are post-quantum protected (with the security code).
    pub post_quantum: Option<PostQuantumStatus>,
    /// The latest statistics.
    pub stats: Option<Box<CallStats>>,
    /// How many statistics reports arrived.
    pub stats_reports: u32,
    /// When the call started (placed or rang).
    pub started: SystemTime,
    /// When media connected.
    pub connected_at: Option<Instant>,
    /// Whether the microphone is muted.
    pub muted: bool,
    /// Whether the security panel is open.
    pub show_security: bool,
    /// The answer to the last "More" request.
    pub feature_note: Option<String>,
    /// Whether this device sends its camera.
    pub camera_on: bool,
    /// What the engine said about the camera (it sends the test pattern when there is none).
    pub camera_note: Option<String>,
    /// What this device shares, while it shares.
    pub sharing: Option<ScreenSpec>,
    /// Why the last screen share did not start or stopped.
    pub screen_note: Option<String>,
    /// The screen-share picker, while open.
    pub picker: Option<ScreenPicker>,
    /// The call's pictures: the peer's camera and screen, this device's self-views.
    pub video: CallVideo,
    /// Warnings that the service contradicted what the two devices signed, or that a known
    /// device's key changed (shown for the rest of the call).
    pub security_warnings: Vec<String>,
    /// Key continuity for the other device: seen before, verified, changed.
    pub peer_key: Option<PeerKeyView>,
    /// The answer to the last "Mark as verified".
    pub verify_note: Option<String>,
    /// Who holds the call (nothing flows either way while either does).
    pub hold: HoldState,
    /// The recording panel's file, while it is open (before recording).
    pub record_path: Option<String>,
    /// This device's recording, while it waits or runs.
    pub recording: Option<RecordingState>,
    /// Whether the other person records the call.
    pub peer_recording: bool,
}

/// What key continuity says about the other device of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerKeyView {
    /// Their device id.
    pub device: String,
    /// Seen before? Verified? Changed?
    pub status: PeerKeyStatus,
    /// The stable safety number of the two devices.
    pub safety_number: String,
}

impl PeerKeyView {
    /// Whether the contact's device is verified and its key unchanged.
    pub fn verified(&self) -> bool {
        self.status == PeerKeyStatus::Known { verified: true }
    }
}

impl CallView {
    fn new(peer: &str, peer_name: &str, outgoing: bool, phase: CallPhase, camera: bool) -> Self {
        Self {
            peer: peer.to_owned(),
            peer_name: peer_name.to_owned(),
            outgoing,
            phase,
            mode: None,
            announced: None,
            incoming_notes: Vec::new(),
            code: None,
            post_quantum: None,
            stats: None,
            stats_reports: 0,
            started: SystemTime::now(),
            connected_at: None,
            muted: false,
            show_security: false,
            feature_note: None,
            camera_on: camera,
            camera_note: None,
            sharing: None,
            screen_note: None,
            picker: None,
            video: CallVideo::default(),
            security_warnings: Vec::new(),
            peer_key: None,
            verify_note: None,
            hold: HoldState::default(),
            record_path: None,
            recording: None,
            peer_recording: false,
        }
    }

    /// Whether the call is end-to-end encrypted (known once answered).
    pub fn end_to_end(&self) -> bool {
        matches!(self.mode, Some(MediaMode::EndToEnd))
    }
}

/// One call of this session, for the History tab.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// The other person's display name.
    pub peer_name: String,
    /// The other person's sign-in name.
    pub peer: String,
    /// Whether this user placed the call.
    pub outgoing: bool,
    /// When it started.
    pub started: SystemTime,
    /// How long it was connected (`None`: never connected).
    pub duration: Option<Duration>,
    /// Whether it was end-to-end encrypted.
    pub end_to_end: bool,
    /// How it ended.
    pub outcome: String,
}

impl HistoryEntry {
    /// The one-line summary shown in the History tab.
    pub fn summary(&self) -> String {
        let direction = if self.outgoing {
            "outgoing"
        } else {
            "incoming"
        };
        let length = self
            .duration
            .map_or_else(|| "not connected".to_owned(), text::clock);
        let protection = match (self.duration.is_some(), self.end_to_end) {
            (false, _) => "",
            (true, true) => " · end-to-end encrypted",
            (true, false) => " · standard encryption",
        };
        format!(
            "{} · {direction} · {} · {length}{protection}",
            self.peer_name,
            text::time_of_day(self.started)
        )
    }
}

/// The signed-in part of the app.
#[derive(Debug)]
pub struct Session {
    /// Who is signed in.
    pub info: SessionInfo,
    /// The folder of the log files (Settings > Help).
    pub log_dir: Option<PathBuf>,
    /// Why opening the log folder failed.
    pub log_error: Option<String>,
    /// The tab shown.
    pub tab: Tab,
    /// The search box.
    pub search: String,
    /// The people found for `search`.
    pub people: Vec<DirectoryEntry>,
    /// A directory error to show.
    pub people_error: Option<String>,
    /// The "End-to-end encrypted calls" setting, once known.
    pub setting: Option<SettingView>,
    /// A setting change waiting for the server.
    pub setting_pending: Option<bool>,
    /// Why the last setting change failed.
    pub setting_error: Option<String>,
    /// The current call.
    pub call: Option<CallView>,
    /// This session's calls, newest first.
    pub history: Vec<HistoryEntry>,
    /// How the last call ended.
    pub last_end: Option<String>,
    /// The signaling connection.
    pub connection: ConnectionState,
    /// Notices from the engine (newest last, a few kept).
    pub notices: Vec<String>,
    /// Devices added to this account (shown until dismissed): no device joins silently.
    pub device_alerts: Vec<String>,
    /// The engine found no capture device and sends a test tone.
    pub input_fallback: bool,
    /// The engine found no playout device and discards received audio.
    pub output_fallback: bool,
    /// Why the last Settings > Video change failed.
    pub video_error: Option<String>,
    /// Why the last Settings > Audio processing change failed.
    pub audio_error: Option<String>,
}

impl Session {
    fn new(info: SessionInfo, log_dir: Option<PathBuf>) -> Self {
        Self {
            info,
            log_dir,
            log_error: None,
            tab: Tab::People,
            search: String::new(),
            people: Vec::new(),
            people_error: None,
            setting: None,
            setting_pending: None,
            setting_error: None,
            call: None,
            history: Vec::new(),
            last_end: None,
            connection: ConnectionState::Connected,
            notices: Vec::new(),
            device_alerts: Vec::new(),
            input_fallback: false,
            output_fallback: false,
            video_error: None,
            audio_error: None,
        }
    }

    /// The display name of a person in the directory (the sign-in name when not listed).
    pub fn display_name_of(&self, user: &str) -> String {
        self.people
            .iter()
            .find(|p| p.user == user)
            .map_or_else(|| user.to_owned(), |p| p.display_name.clone())
    }
}

/// The sign-in form. Its `Debug` hides the password.
#[derive(Default, Clone)]
pub struct SignInForm {
    /// Server address.
    pub server: String,
    /// Sign-in name.
    pub user: String,
    /// Password (erased after use).
    pub password: String,
    /// A private server's CA certificate file (PEM), or empty for the system's roots.
    pub ca_file: String,
    /// A private server's pinned certificate fingerprint (`SHA256:AB:…`), or empty.
    pub pin: String,
    /// The CA file and pin remembered per server address (filled in when the address matches).
    pub remembered: std::collections::BTreeMap<String, ServerTrust>,
    /// A sign-in is running.
    pub busy: bool,
    /// What went wrong last.
    pub error: Option<String>,
}

impl std::fmt::Debug for SignInForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInForm")
            .field("server", &self.server)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("ca_file", &self.ca_file)
            .field("pin", &self.pin)
            .field("busy", &self.busy)
            .field("error", &self.error)
            .finish()
    }
}

impl SignInForm {
    /// Checks the fields before anything goes to the network; `Err` is a message for the user.
    pub fn validate(&self) -> Result<(), String> {
        let server = self.server.trim();
        if server.is_empty() {
            return Err(
                "Enter the server address, for example https://calls.example.com:7878.".into(),
            );
        }
        if let Err(e) = sealcall_engine::check_server_url(server) {
            return Err(format!("{e}."));
        }
        if self.user.trim().is_empty() {
            return Err("Enter your sign-in name.".into());
        }
        if self.password.is_empty() {
            return Err("Enter your password.".into());
        }
        self.trust()?;
        Ok(())
    }

    /// The certificate trust the CA file and pin fields describe; `Err` is a message.
    pub fn trust(&self) -> Result<Trust, String> {
        let pin = match self.pin.trim() {
            "" => None,
            text => Some(text.parse().map_err(|e| format!("{e}."))?),
        };
        let ca_file = Some(self.ca_file.trim())
            .filter(|f| !f.is_empty())
            .map(std::path::PathBuf::from);
        if pin.is_some() && ca_file.is_some() {
            return Err("Give either a CA certificate file or a fingerprint, not both.".into());
        }
        Ok(Trust { ca_file, pin })
    }

    /// Fills in the CA file and pin remembered for the server address now in the form (if any).
    pub fn recall_trust(&mut self) {
        if let Some(t) = self.remembered.get(self.server.trim()) {
            self.ca_file = t.ca_file.clone();
            self.pin = t.pin.clone();
        }
    }

    /// Erases the password.
    pub fn erase_password(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.password);
    }
}

/// Things the app does by itself: the demo's automatic sign-in, a test call, a screenshot.
#[derive(Debug, Default, Clone)]
pub struct AutoPilot {
    /// Sign in at once with the form's fields.
    pub sign_in: bool,
    /// Call this user as soon as signed in.
    pub call: Option<String>,
    /// Once the call is connected, turn the camera on and share the screen, both with the test
    /// pattern (the screenshot's video call; no camera or display needed).
    pub video: bool,
    /// Once the call is connected with its security code and statistics (and, with `video`,
    /// its pictures), open the security panel, save a screenshot here (binary PPM) and close
    /// the window.
    pub screenshot: Option<PathBuf>,
}

/// How the app starts.
#[derive(Debug, Default, Clone)]
pub struct AppOptions {
    /// Pre-filled sign-in form (the remembered server and name, or the command line's).
    pub form: SignInForm,
    /// Where to remember the server, the name and the camera choice (`None`: nowhere). A
    /// remembered "Turn on my camera when a call starts" applies at once.
    pub prefs_path: Option<PathBuf>,
    /// Automatic actions.
    pub autopilot: AutoPilot,
    /// The audio devices present (listed once at start; `None`: list them now).
    pub devices: Option<DeviceList>,
    /// The folder of the log files, for Help > "Open log folder" (`None`: no Help section).
    pub log_dir: Option<PathBuf>,
}

/// The whole app.
#[derive(Debug)]
pub struct SealcallApp {
    bridge: Bridge,
    form: SignInForm,
    session: Option<Session>,
    prefs_path: Option<PathBuf>,
    autopilot: AutoPilot,
    /// The autopilot turned the video on in this call.
    autopilot_video_started: bool,
    devices: DeviceList,
    screenshot_state: ScreenshotState,
    screenshot_done: std::sync::Arc<std::sync::Mutex<Option<Result<(), String>>>>,
    /// A message after the engine stopped or the user signed out.
    banner: Option<String>,
    /// The folder of the log files (Help).
    log_dir: Option<PathBuf>,
    /// Why opening the log folder failed (on the sign-in page).
    log_error: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ScreenshotState {
    #[default]
    Waiting,
    Settling(u32),
    Requested,
    Done,
}

impl SealcallApp {
    /// An app over `bridge`.
    pub fn new(mut bridge: Bridge, options: AppOptions) -> Self {
        let devices = options
            .devices
            .unwrap_or_else(|| AudioDevices::list().unwrap_or_default());
        let mut form = options.form;
        if let Some(path) = &options.prefs_path {
            let prefs = Prefs::load(path);
            if prefs.camera_at_start {
                bridge.settings_mut().video = VideoSpec::Camera;
            }
            if prefs.require_post_quantum {
                bridge.settings_mut().post_quantum = PostQuantum::Required;
            }
            if let Some(setting) = prefs
                .audio_processing
                .as_deref()
                .and_then(|s| s.parse().ok())
            {
                bridge.settings_mut().audio_processing = setting;
            }
            form.remembered = prefs.trust;
            if form.ca_file.is_empty() && form.pin.is_empty() {
                form.recall_trust();
            }
        }
        Self {
            bridge,
            form,
            session: None,
            prefs_path: options.prefs_path,
            autopilot: options.autopilot,
            autopilot_video_started: false,
            devices,
            screenshot_state: ScreenshotState::Waiting,
            screenshot_done: Default::default(),
            banner: None,
            log_dir: options.log_dir,
            log_error: None,
        }
    }

    /// The signed-in session, if any.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The sign-in form.
    pub fn form(&self) -> &SignInForm {
        &self.form
    }

    /// The sign-in form, to fill in programmatically (demo mode, tests).
    pub fn form_mut(&mut self) -> &mut SignInForm {
        &mut self.form
    }

    /// Where the server, the name and the camera choice are remembered.
    pub fn prefs_path(&self) -> Option<&std::path::Path> {
        self.prefs_path.as_deref()
    }

    /// Whether calls start with the camera on (Settings > Video).
    pub fn camera_at_start(&self) -> bool {
        self.bridge.settings().video != VideoSpec::None
    }

    /// The audio processing on the microphone (Settings > Audio).
    pub fn audio_processing(&self) -> AudioProcessingSetting {
        self.bridge.settings().audio_processing
    }

    /// Whether this device requires post-quantum protection (Settings > Privacy).
    pub fn requires_post_quantum(&self) -> bool {
        self.bridge.settings().post_quantum == PostQuantum::Required
    }

    /// Draws one frame (call from `eframe::App::ui` or a test harness).
    pub fn ui(&mut self, ui: &mut Ui) {
        self.bridge.set_context(ui.ctx());
        for event in self.bridge.drain() {
            self.handle(event);
        }
        self.run_autopilot();
        if let Some(c) = self.session.as_mut().and_then(|s| s.call.as_mut()) {
            // The newest picture of each stream only; older ones were dropped on arrival.
            c.video.upload(ui.ctx());
        }
        let mut request = None;
        egui::Frame::central_panel(ui.style()).show(ui, |ui| {
            ui.set_min_size(ui.available_size());
            match &mut self.session {
                Some(s) => request = views::session::show(ui, s, &mut self.bridge, &self.devices),
                None => {
                    if views::sign_in::show(ui, &mut self.form, self.banner.as_deref())
                        && !self.form.busy
                    {
                        self.submit_sign_in();
                    }
                    if let Some(dir) = &self.log_dir {
                        ui.add_space(16.0);
                        views::help::show(ui, dir, &mut self.log_error);
                    }
                }
            }
        });
        match request {
            Some(Request::SignOut) => {
                self.bridge.sign_out();
                self.session = None;
                self.banner = Some("You are signed out.".into());
            }
            Some(Request::CameraAtStart(on)) => self.set_camera_at_start(on),
            Some(Request::RequirePostQuantum(on)) => self.set_require_post_quantum(on),
            Some(Request::AudioProcessing(setting)) => self.set_audio_processing(setting),
            None => {}
        }
        if self.session.as_ref().is_some_and(|s| s.call.is_some()) {
            // The call timer.
            ui.ctx().request_repaint_after(Duration::from_millis(250));
        }
        self.take_screenshot(ui);
    }

    fn handle(&mut self, event: UiEvent) {
        match event {
            UiEvent::SignedIn(info) => {
                self.form.busy = false;
                self.form.error = None;
                self.form.erase_password();
                self.banner = None;
                let server = self.form.server.trim().to_owned();
                let trust = ServerTrust {
                    ca_file: self.form.ca_file.trim().to_owned(),
                    pin: self.form.pin.trim().to_owned(),
                };
                if trust.is_empty() {
                    self.form.remembered.remove(&server);
                } else {
                    self.form.remembered.insert(server.clone(), trust);
                }
                if let Some(path) = &self.prefs_path {
                    let prefs = Prefs {
                        server,
                        user: self.form.user.trim().to_owned(),
                        camera_at_start: self.camera_at_start(),
                        require_post_quantum: self.bridge.settings().post_quantum
                            == PostQuantum::Required,
                        audio_processing: Some(self.bridge.settings().audio_processing.to_string()),
                        trust: self.form.remembered.clone(),
                    };
                    let _ = prefs.save(path);
                }
                self.session = Some(Session::new(*info, self.log_dir.clone()));
                self.bridge.search("");
                self.bridge.load_setting();
            }
            UiEvent::SignInFailed(message) => {
                self.form.busy = false;
                self.form.error = Some(message);
            }
            UiEvent::EngineStopped => {
                self.session = None;
                self.bridge.sign_out();
                self.banner = Some("The connection to the server ended. Sign in again.".into());
            }
            UiEvent::Directory { query, result } => {
                if let Some(s) = &mut self.session
                    && query == s.search
                {
                    match result {
                        Ok(people) => {
                            s.people = people;
                            s.people_error = None;
                        }
                        Err(e) => s.people_error = Some(e),
                    }
                }
            }
            UiEvent::Setting(view) => {
                if let Some(s) = &mut self.session {
                    s.setting = Some(view);
                    s.setting_pending = None;
                    s.setting_error = None;
                }
            }
            UiEvent::SettingFailed(message) => {
                if let Some(s) = &mut self.session {
                    s.setting_pending = None;
                    s.setting_error = Some(message);
                }
            }
            UiEvent::Windows(windows) => {
                if let Some(picker) = self
                    .session
                    .as_mut()
                    .and_then(|s| s.call.as_mut())
                    .and_then(|c| c.picker.as_mut())
                {
                    picker.windows = Some(windows);
                }
            }
            UiEvent::Engine(event) => self.handle_engine(event),
        }
    }

    /// Settings > Video: remembers the choice and applies it to later calls.
    fn set_camera_at_start(&mut self, on: bool) {
        let spec = if on {
            VideoSpec::Camera
        } else {
            VideoSpec::None
        };
        let result = self.bridge.set_camera_at_start(spec);
        if let Some(s) = &mut self.session {
            s.video_error = result.err();
            // A call that rings now starts with the new choice.
            if let Some(c) = &mut s.call
                && c.phase == CallPhase::Incoming
            {
                c.camera_on = on;
            }
        }
        if let Some(path) = &self.prefs_path {
            let mut prefs = Prefs::load(path);
            prefs.camera_at_start = on;
            if let Err(e) = prefs.save(path)
                && let Some(s) = &mut self.session
            {
                s.video_error = Some(format!("Could not remember this choice: {e}"));
            }
        }
    }

    /// Settings > Audio: applies the audio processing choice (in a call too) and remembers it.
    fn set_audio_processing(&mut self, setting: AudioProcessingSetting) {
        let mut error = self.bridge.set_audio_processing(setting).err();
        if let Some(path) = &self.prefs_path {
            let mut prefs = Prefs::load(path);
            prefs.audio_processing = Some(setting.to_string());
            if let Err(e) = prefs.save(path) {
                error = Some(format!("Could not remember this choice: {e}"));
            }
        }
        if let Some(s) = &mut self.session {
            s.audio_error = error;
        }
    }

    /// Settings > Privacy: requires post-quantum protection on this device (or not) from the
    /// next call on, and remembers it.
    fn set_require_post_quantum(&mut self, on: bool) {
        let setting = if on {
            PostQuantum::Required
        } else {
            PostQuantum::Offered
        };
        let mut error = self.bridge.set_post_quantum(setting).err();
        if let Some(path) = &self.prefs_path {
            let mut prefs = Prefs::load(path);
            prefs.require_post_quantum = on;
            if let Err(e) = prefs.save(path) {
                error = Some(format!("Could not remember this choice: {e}"));
            }
        }
        if let Some(s) = &mut self.session {
            s.setting_error = error;
        }
    }

    fn handle_engine(&mut self, event: EngineEvent) {
        let camera_at_start = self.camera_at_start();
        let Some(s) = &mut self.session else { return };
        match event {
            EngineEvent::Call(call) => {
                let ended = matches!(call, CallEvent::Ended { .. });
                handle_call(s, call, camera_at_start);
                if ended {
                    // The engine keeps the last camera and screen choice for later calls: back
                    // to the Settings choice, and no screen share until asked for.
                    let _ = self.bridge.set_camera(self.bridge.settings().video.clone());
                    let _ = self.bridge.share_screen(ScreenSpec::None);
                }
            }
            EngineEvent::Video { picture, .. } => {
                if let Some(c) = &mut s.call {
                    c.video.remote(picture.stream).receive(picture.frame);
                }
            }
            EngineEvent::LocalVideo { picture, .. } => {
                // A picture still on its way after the stream was turned off is not shown.
                if let Some(c) = &mut s.call {
                    let on = match picture.stream {
                        VideoStream::Camera => c.camera_on,
                        VideoStream::Screen => c.sharing.is_some(),
                    };
                    if on {
                        c.video.local(picture.stream).receive(picture.frame);
                    }
                }
            }
            EngineEvent::VideoStopped { stream, .. } => {
                if let Some(c) = &mut s.call {
                    c.video.remote(stream).clear();
                }
            }
            EngineEvent::Hold { hold, .. } => {
                if let Some(c) = &mut s.call {
                    c.hold = hold;
                }
            }
            EngineEvent::Recording { state, .. } => {
                if let Some(c) = &mut s.call {
                    match &state {
                        RecordingState::Waiting { .. } | RecordingState::Recording { .. } => {
                            c.recording = Some(state);
                        }
                        RecordingState::Stopped { path, duration } => {
                            c.recording = None;
                            c.feature_note = Some(format!(
                                "Recording saved to {} ({}).",
                                path.display(),
                                text::clock(*duration)
                            ));
                        }
                        RecordingState::Failed(why) => {
                            c.recording = None;
                            c.feature_note = Some(format!("Not recorded: {why}"));
                        }
                    }
                }
            }
            EngineEvent::PeerRecording { recording, .. } => {
                if let Some(c) = &mut s.call {
                    c.peer_recording = recording;
                }
            }
            EngineEvent::SecurityWarning { message, .. } => {
                if let Some(c) = &mut s.call
                    && !c.security_warnings.contains(&message)
                {
                    c.security_warnings.push(message);
                }
            }
            EngineEvent::PeerKey {
                device,
                status,
                safety_number,
                ..
            } => {
                if let Some(c) = &mut s.call {
                    c.peer_key = Some(PeerKeyView {
                        device,
                        status,
                        safety_number,
                    });
                }
            }
            EngineEvent::DeviceAdded {
                device_id,
                platform,
                fingerprint,
                while_offline,
            } => {
                let what = if platform.is_empty() {
                    "A new device".to_owned()
                } else {
                    format!("A new {platform} device")
                };
                let when = if while_offline {
                    " while you were away"
                } else {
                    ""
                };
                s.device_alerts.push(format!(
                    "{what} ({device_id}, identity {fingerprint}) was added to your account{when}. \
                     If it was not you, remove it and change your password."
                ));
            }
            EngineEvent::SecurityCode {
                code, post_quantum, ..
            } => {
                if let Some(c) = &mut s.call {
                    c.code = Some(code);
                    c.post_quantum = Some(post_quantum);
                }
            }
            EngineEvent::Stats { stats, .. } => {
                if let Some(c) = &mut s.call {
                    c.stats = Some(stats);
                    c.stats_reports += 1;
                }
            }
            EngineEvent::Setting(view) => {
                s.setting = Some(view);
                s.setting_pending = None;
            }
            EngineEvent::Connection(state) => s.connection = state,
            EngineEvent::Notice(notice) if notice.starts_with("no audio device") => {
                // Shown in the call's audio row instead.
                if notice.contains("test tone") {
                    s.input_fallback = true;
                } else {
                    s.output_fallback = true;
                }
            }
            EngineEvent::Notice(notice)
                if notice.starts_with("no camera support") && s.call.is_some() =>
            {
                // Shown beside the camera button.
                if let Some(c) = &mut s.call {
                    c.camera_note = Some(notice);
                }
            }
            EngineEvent::Notice(notice)
                if notice.starts_with("screen share:") && s.call.is_some() =>
            {
                // Nothing is shared: say why beside the share button, and make sure the engine
                // does not try again at the next call.
                if let Some(c) = &mut s.call {
                    c.sharing = None;
                    c.video.local_screen.clear();
                    c.screen_note = Some(notice);
                }
                let _ = self.bridge.share_screen(ScreenSpec::None);
            }
            EngineEvent::Notice(notice) => {
                s.notices.push(notice);
                if s.notices.len() > 4 {
                    s.notices.remove(0);
                }
            }
            _ => {}
        }
    }

    fn run_autopilot(&mut self) {
        if self.autopilot.sign_in && self.session.is_none() && !self.form.busy {
            self.autopilot.sign_in = false;
            self.submit_sign_in();
        }
        // Call once the directory is loaded, so the call screen shows the display name.
        if let Some(s) = &mut self.session
            && s.call.is_none()
            && !s.people.is_empty()
            && let Some(callee) = self.autopilot.call.take()
            && let Err(e) = self.bridge.call(&callee)
        {
            s.last_end = Some(e);
        }
        // Video once connected: the test pattern on both streams.
        if self.autopilot.video
            && !self.autopilot_video_started
            && let Some(c) = self.session.as_mut().and_then(|s| s.call.as_mut())
            && c.phase == CallPhase::Connected
        {
            self.autopilot_video_started = true;
            match self.bridge.set_camera(VideoSpec::TestPattern) {
                Ok(()) => c.camera_on = true,
                Err(e) => c.camera_note = Some(e),
            }
            match self.bridge.share_screen(ScreenSpec::TestPattern) {
                Ok(()) => c.sharing = Some(ScreenSpec::TestPattern),
                Err(e) => c.screen_note = Some(e),
            }
        }
    }

    fn take_screenshot(&mut self, ui: &mut Ui) {
        let Some(path) = self.autopilot.screenshot.clone() else {
            return;
        };
        let ready = self
            .session
            .as_ref()
            .and_then(|s| s.call.as_ref())
            .is_some_and(|c| {
                let video = !self.autopilot.video || screenshot_video_ready(c);
                c.phase == CallPhase::Connected && c.code.is_some() && c.stats_reports >= 3 && video
            });
        match self.screenshot_state {
            ScreenshotState::Waiting if ready => {
                if let Some(c) = self.session.as_mut().and_then(|s| s.call.as_mut()) {
                    c.show_security = true;
                }
                self.screenshot_state = ScreenshotState::Settling(0);
                ui.ctx().request_repaint();
            }
            ScreenshotState::Settling(n) if n < 10 => {
                self.screenshot_state = ScreenshotState::Settling(n + 1);
                ui.ctx().request_repaint();
            }
            ScreenshotState::Settling(_) => {
                let done = std::sync::Arc::clone(&self.screenshot_done);
                let ctx = ui.ctx().clone();
                ui.ctx().request_screenshot(move |image| {
                    let result = crate::screenshot::write_ppm(&path, &image)
                        .map_err(|e| format!("could not save the screenshot: {e}"));
                    if let Ok(mut slot) = done.lock() {
                        *slot = Some(result);
                    }
                    ctx.request_repaint();
                });
                self.screenshot_state = ScreenshotState::Requested;
            }
            ScreenshotState::Requested => {
                let result = self.screenshot_done.lock().ok().and_then(|mut r| r.take());
                match result {
                    Some(result) => {
                        if let Err(e) = result {
                            self.banner = Some(e);
                        }
                        let _ = self.bridge.hangup();
                        self.screenshot_state = ScreenshotState::Done;
                        ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                    }
                    None => ui.ctx().request_repaint(),
                }
            }
            _ => {}
        }
    }

    fn submit_sign_in(&mut self) {
        if let Err(message) = self.form.validate() {
            self.form.error = Some(message);
            return;
        }
        let trust = match self.form.trust() {
            Ok(t) => t,
            Err(message) => {
                self.form.error = Some(message);
                return;
            }
        };
        self.form.busy = true;
        self.form.error = None;
        self.bridge.sign_in(
            &self.form.server,
            &self.form.user,
            &self.form.password,
            trust,
        );
    }
}

/// The screenshot's video call is ready: the echoed camera, the self-view and the shared screen
/// are shown, and the statistics have counted the camera both ways.
fn screenshot_video_ready(c: &CallView) -> bool {
    let v = &c.video;
    let counted = c.stats.as_ref().is_some_and(|st| {
        st.camera.frames_decoded > 0 && st.screen.frames_sent > 0 && st.camera.sent_fps > 0.0
    });
    v.remote_camera.is_shown()
        && v.local_camera.is_shown()
        && v.local_screen.is_shown()
        && v.remote_camera.uploads() > 30
        && counted
}

/// Call progress; `camera` says whether a new call starts with the camera on.
fn handle_call(s: &mut Session, event: CallEvent, camera: bool) {
    match event {
        CallEvent::Placing { callee } => {
            let name = s.display_name_of(callee.as_str());
            s.call = Some(CallView::new(
                callee.as_str(),
                &name,
                true,
                CallPhase::Placing,
                camera,
            ));
            s.last_end = None;
        }
        CallEvent::Ringing { .. } => {
            if let Some(c) = &mut s.call {
                c.phase = CallPhase::Ringing;
            }
        }
        CallEvent::Incoming {
            caller,
            display_name,
            decision,
            ..
        } => {
            let mut c = CallView::new(
                caller.as_str(),
                &display_name,
                false,
                CallPhase::Incoming,
                camera,
            );
            c.incoming_notes = decision.user_messages(Side::Callee);
            s.call = Some(c);
            s.last_end = None;
        }
        CallEvent::Connecting { mode, .. } => {
            if let Some(c) = &mut s.call {
                c.phase = CallPhase::Connecting;
                c.announced = Some(mode);
            }
        }
        CallEvent::Connected { end_to_end, .. } => {
            if let Some(c) = &mut s.call {
                c.phase = CallPhase::Connected;
                c.connected_at = Some(Instant::now());
                // The lock follows what the two devices signed, not the server's decision.
                c.mode = Some(match (end_to_end, c.announced.clone()) {
                    (true, _) => MediaMode::EndToEnd,
                    (false, Some(standard @ MediaMode::Standard { .. })) => standard,
                    (false, _) => MediaMode::Standard {
                        reasons: Vec::new(),
                    },
                });
            }
        }
        CallEvent::SignalingLost { .. } => {
            s.notices
                .push("Lost the server; the call continues.".to_owned());
        }
        CallEvent::Ended { reason, .. } => {
            if let Some(c) = s.call.take() {
                s.history.insert(
                    0,
                    HistoryEntry {
                        peer_name: c.peer_name.clone(),
                        peer: c.peer.clone(),
                        outgoing: c.outgoing,
                        started: c.started,
                        duration: c.connected_at.map(|t| t.elapsed()),
                        end_to_end: c.end_to_end(),
                        outcome: text::end_reason(&reason),
                    },
                );
            }
            s.last_end = Some(text::end_reason(&reason));
            if matches!(reason, Ended::Refused(_)) {
                s.tab = Tab::People;
            }
        }
    }
}

impl eframe::App for SealcallApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        SealcallApp::ui(self, ui);
    }
}

#[cfg(test)]
mod secrets_tests {
    use super::*;

    #[test]
    fn the_sign_in_form_hides_the_password_in_debug_and_erases_it() {
        let mut form = SignInForm {
            server: "https://calls.example:7878".into(),
            user: "alex@demo.example".into(),
            password: "hunter2hunter2".into(),
            pin: "SHA256:00".into(),
            ..SignInForm::default()
        };
        assert!(!format!("{form:?}").contains("hunter2"));
        assert!(!format!("{form:#?}").contains("hunter2"));
        form.erase_password();
        assert!(form.password.is_empty());
    }
}
