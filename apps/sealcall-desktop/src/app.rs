//! The UI state machine and its views.
//!
//! [`SealcallApp`] holds everything the user sees: the sign-in form, the signed-in session
//! (people, history, settings) and the current call. Each frame it drains the [`Bridge`]'s
//! events, updates its state, and draws. Every control carries an accessible label, which is
//! also what the UI tests query.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use egui::{Color32, RichText, Ui};
use sealcall_engine::api::DirectoryEntry;
use sealcall_engine::call::{CallEvent, Ended, MediaMode};
use sealcall_engine::media::device::{AudioDevices, DeviceList};
use sealcall_engine::{AudioRoute, CallStats, ConnectionState, EngineEvent, SessionInfo};
use sealcall_policy::{Feature, SettingLock, Side};
use sealcall_signaling::SettingView;

use crate::bridge::{Bridge, UiEvent};
use crate::prefs::Prefs;
use crate::text;
use crate::widgets;

/// Labels shared by the views and the tests.
pub mod labels {
    /// The sign-in form's server field.
    pub const SERVER: &str = "Server address";
    /// The sign-in form's name field.
    pub const USER: &str = "Sign-in name";
    /// The sign-in form's password field.
    pub const PASSWORD: &str = "Password";
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
    /// The directory search box.
    pub const SEARCH: &str = "Search people";
    /// The E2EE toggle in Settings > Privacy.
    pub const E2EE_TOGGLE: &str = "End-to-end encrypted calls";
    /// Shown under the toggle when the policy turned E2EE off.
    pub const TURNED_OFF: &str = "Your organisation has turned this off";
    /// Shown under the toggle when the policy requires E2EE.
    pub const REQUIRED: &str = "Your organisation requires this";
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
    /// The menu of call features.
    pub const MORE: &str = "More";
    /// The shield of an end-to-end encrypted call (a shield with a lock).
    pub const SHIELD_E2EE: &str = "End-to-end encrypted";
    /// The shield of a standard call (a shield without a lock).
    pub const SHIELD_STANDARD: &str = "Standard encryption";
    /// Heading of the security code panel.
    pub const SECURITY_CODE: &str = "Security code";
    /// Heading of the statistics panel.
    pub const STATS: &str = "Call statistics";
    /// Shown when there is no capture device.
    pub const NO_AUDIO_DEVICE: &str = "no audio device: using test tone";
    /// The input chooser.
    pub const INPUT_DEVICE: &str = "Input device";
    /// The output chooser.
    pub const OUTPUT_DEVICE: &str = "Output device";
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
    /// Settings > Privacy and Audio.
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
#[derive(Debug, Clone)]
pub struct CallView {
    /// The other person's sign-in name.
    pub peer: String,
    /// The other person's display name.
    pub peer_name: String,
    /// Whether this user placed the call.
    pub outgoing: bool,
    /// Where the call is.
    pub phase: CallPhase,
    /// How the media is protected, once answered.
    pub mode: Option<MediaMode>,
    /// For an incoming call: what the provisional decision says.
    pub incoming_notes: Vec<String>,
    /// The security code (E2EE calls).
    pub code: Option<String>,
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
}

impl CallView {
    fn new(peer: &str, peer_name: &str, outgoing: bool, phase: CallPhase) -> Self {
        Self {
            peer: peer.to_owned(),
            peer_name: peer_name.to_owned(),
            outgoing,
            phase,
            mode: None,
            incoming_notes: Vec::new(),
            code: None,
            stats: None,
            stats_reports: 0,
            started: SystemTime::now(),
            connected_at: None,
            muted: false,
            show_security: false,
            feature_note: None,
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
    /// The engine found no capture device and sends a test tone.
    pub input_fallback: bool,
    /// The engine found no playout device and discards received audio.
    pub output_fallback: bool,
}

impl Session {
    fn new(info: SessionInfo) -> Self {
        Self {
            info,
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
            input_fallback: false,
            output_fallback: false,
        }
    }

    fn display_name_of(&self, user: &str) -> String {
        self.people
            .iter()
            .find(|p| p.user == user)
            .map_or_else(|| user.to_owned(), |p| p.display_name.clone())
    }
}

/// The sign-in form.
#[derive(Debug, Default, Clone)]
pub struct SignInForm {
    /// Server address.
    pub server: String,
    /// Sign-in name.
    pub user: String,
    /// Password (cleared after use).
    pub password: String,
    /// A sign-in is running.
    pub busy: bool,
    /// What went wrong last.
    pub error: Option<String>,
}

impl SignInForm {
    /// Checks the fields before anything goes to the network; `Err` is a message for the user.
    pub fn validate(&self) -> Result<(), String> {
        let server = self.server.trim();
        if server.is_empty() {
            return Err("Enter the server address, for example http://127.0.0.1:7878.".into());
        }
        if !(server.starts_with("http://") || server.starts_with("https://"))
            || server.len() <= "https://".len()
        {
            return Err(
                "The server address must look like http://host:port or https://host.".into(),
            );
        }
        if self.user.trim().is_empty() {
            return Err("Enter your sign-in name.".into());
        }
        if self.password.is_empty() {
            return Err("Enter your password.".into());
        }
        Ok(())
    }
}

/// Things the app does by itself: the demo's automatic sign-in, a test call, a screenshot.
#[derive(Debug, Default, Clone)]
pub struct AutoPilot {
    /// Sign in at once with the form's fields.
    pub sign_in: bool,
    /// Call this user as soon as signed in.
    pub call: Option<String>,
    /// Once the call is connected with its security code and statistics, open the security
    /// panel, save a screenshot here (binary PPM) and close the window.
    pub screenshot: Option<PathBuf>,
}

/// How the app starts.
#[derive(Debug, Default, Clone)]
pub struct AppOptions {
    /// Pre-filled sign-in form (the remembered server and name, or the command line's).
    pub form: SignInForm,
    /// Where to remember the server and name (`None`: nowhere).
    pub prefs_path: Option<PathBuf>,
    /// Automatic actions.
    pub autopilot: AutoPilot,
    /// The audio devices present (listed once at start; `None`: list them now).
    pub devices: Option<DeviceList>,
}

/// The whole app.
#[derive(Debug)]
pub struct SealcallApp {
    bridge: Bridge,
    form: SignInForm,
    session: Option<Session>,
    prefs_path: Option<PathBuf>,
    autopilot: AutoPilot,
    devices: DeviceList,
    screenshot_state: ScreenshotState,
    screenshot_done: std::sync::Arc<std::sync::Mutex<Option<Result<(), String>>>>,
    /// A message after the engine stopped or the user signed out.
    banner: Option<String>,
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
    pub fn new(bridge: Bridge, options: AppOptions) -> Self {
        let devices = options
            .devices
            .unwrap_or_else(|| AudioDevices::list().unwrap_or_default());
        Self {
            bridge,
            form: options.form,
            session: None,
            prefs_path: options.prefs_path,
            autopilot: options.autopilot,
            devices,
            screenshot_state: ScreenshotState::Waiting,
            screenshot_done: Default::default(),
            banner: None,
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

    /// Where the server and name are remembered.
    pub fn prefs_path(&self) -> Option<&std::path::Path> {
        self.prefs_path.as_deref()
    }

    /// Draws one frame (call from `eframe::App::ui` or a test harness).
    pub fn ui(&mut self, ui: &mut Ui) {
        self.bridge.set_context(ui.ctx());
        for event in self.bridge.drain() {
            self.handle(event);
        }
        self.run_autopilot();
        egui::Frame::central_panel(ui.style()).show(ui, |ui| {
            ui.set_min_size(ui.available_size());
            if self.session.is_some() {
                self.signed_in_view(ui);
            } else {
                self.sign_in_view(ui);
            }
        });
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
                self.form.password.clear();
                self.banner = None;
                if let Some(path) = &self.prefs_path {
                    let prefs = Prefs {
                        server: self.form.server.trim().to_owned(),
                        user: self.form.user.trim().to_owned(),
                    };
                    let _ = prefs.save(path);
                }
                self.session = Some(Session::new(*info));
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
            UiEvent::Engine(event) => self.handle_engine(event),
        }
    }

    fn handle_engine(&mut self, event: EngineEvent) {
        let Some(s) = &mut self.session else { return };
        match event {
            EngineEvent::Call(call) => handle_call(s, call),
            EngineEvent::SecurityCode { code, .. } => {
                if let Some(c) = &mut s.call {
                    c.code = Some(code);
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
                c.phase == CallPhase::Connected && c.code.is_some() && c.stats_reports >= 3
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
        self.form.busy = true;
        self.form.error = None;
        self.bridge
            .sign_in(&self.form.server, &self.form.user, &self.form.password);
    }

    fn sign_in_view(&mut self, ui: &mut Ui) {
        ui.vertical_centered(|ui| {
            ui.add_space(24.0);
            ui.heading("Sealcall");
            ui.label("End-to-end encrypted calls");
            ui.add_space(16.0);
        });
        if let Some(banner) = &self.banner {
            ui.colored_label(ui.visuals().warn_fg_color, banner);
        }
        let mut submit = false;
        egui::Grid::new("sign-in")
            .num_columns(2)
            .spacing([12.0, 8.0])
            .show(ui, |ui| {
                let l = ui.label(labels::SERVER);
                ui.add_enabled(
                    !self.form.busy,
                    egui::TextEdit::singleline(&mut self.form.server)
                        .hint_text("http://127.0.0.1:7878")
                        .desired_width(280.0),
                )
                .labelled_by(l.id);
                ui.end_row();
                let l = ui.label(labels::USER);
                ui.add_enabled(
                    !self.form.busy,
                    egui::TextEdit::singleline(&mut self.form.user)
                        .hint_text("you@example.com")
                        .desired_width(280.0),
                )
                .labelled_by(l.id);
                ui.end_row();
                let l = ui.label(labels::PASSWORD);
                let r = ui
                    .add_enabled(
                        !self.form.busy,
                        egui::TextEdit::singleline(&mut self.form.password)
                            .password(true)
                            .desired_width(280.0),
                    )
                    .labelled_by(l.id);
                if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    submit = true;
                }
                ui.end_row();
            });
        ui.add_space(8.0);
        if ui
            .add_enabled(!self.form.busy, egui::Button::new(labels::SIGN_IN))
            .clicked()
        {
            submit = true;
        }
        if self.form.busy {
            ui.label("Signing in…");
        }
        if let Some(error) = &self.form.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        ui.add_space(8.0);
        ui.small("The first sign-in on this computer creates its device identity.");
        if submit && !self.form.busy {
            self.submit_sign_in();
        }
    }

    fn signed_in_view(&mut self, ui: &mut Ui) {
        let mut sign_out = false;
        let Some(s) = &mut self.session else { return };
        ui.horizontal(|ui| {
            ui.heading("Sealcall");
            ui.separator();
            ui.label(format!(
                "Signed in as {} ({})",
                s.info.display_name, s.info.user
            ));
            if let ConnectionState::Reconnecting(n) = s.connection {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!("Reconnecting to the server (attempt {n})…"),
                );
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button(labels::SIGN_OUT).clicked() {
                    sign_out = true;
                }
            });
        });
        ui.separator();
        incoming_banner(ui, s, &self.bridge);
        let in_call = s
            .call
            .as_ref()
            .is_some_and(|c| c.phase != CallPhase::Incoming);
        if in_call {
            call_view(ui, s, &mut self.bridge, &self.devices);
        } else {
            ui.horizontal(|ui| {
                ui.selectable_value(&mut s.tab, Tab::People, labels::PEOPLE);
                ui.selectable_value(&mut s.tab, Tab::History, labels::HISTORY);
                ui.selectable_value(&mut s.tab, Tab::Settings, labels::SETTINGS);
            });
            ui.separator();
            if let Some(end) = &s.last_end {
                ui.label(format!("Last call: {end}"));
            }
            match s.tab {
                Tab::People => people_view(ui, s, &self.bridge),
                Tab::History => history_view(ui, s),
                Tab::Settings => settings_view(ui, s, &mut self.bridge, &self.devices),
            }
        }
        if !s.notices.is_empty() {
            ui.separator();
            for n in &s.notices {
                ui.small(format!("Note: {n}"));
            }
        }
        if sign_out {
            self.bridge.sign_out();
            self.session = None;
            self.banner = Some("You are signed out.".into());
        }
    }
}

fn handle_call(s: &mut Session, event: CallEvent) {
    match event {
        CallEvent::Placing { callee } => {
            let name = s.display_name_of(callee.as_str());
            s.call = Some(CallView::new(
                callee.as_str(),
                &name,
                true,
                CallPhase::Placing,
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
            let mut c = CallView::new(caller.as_str(), &display_name, false, CallPhase::Incoming);
            c.incoming_notes = decision.user_messages(Side::Callee);
            s.call = Some(c);
            s.last_end = None;
        }
        CallEvent::Connecting { mode, .. } => {
            if let Some(c) = &mut s.call {
                c.phase = CallPhase::Connecting;
                c.mode = Some(mode);
            }
        }
        CallEvent::Connected { end_to_end, .. } => {
            if let Some(c) = &mut s.call {
                c.phase = CallPhase::Connected;
                c.connected_at = Some(Instant::now());
                if c.mode.is_none() {
                    c.mode = Some(if end_to_end {
                        MediaMode::EndToEnd
                    } else {
                        MediaMode::Standard {
                            reasons: Vec::new(),
                        }
                    });
                }
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

fn incoming_banner(ui: &mut Ui, s: &mut Session, bridge: &Bridge) {
    let Some(c) = &s.call else { return };
    if c.phase != CallPhase::Incoming {
        return;
    }
    let (name, peer, notes) = (
        c.peer_name.clone(),
        c.peer.clone(),
        c.incoming_notes.clone(),
    );
    egui::Frame::group(ui.style())
        .fill(ui.visuals().faint_bg_color)
        .show(ui, |ui| {
            ui.heading(format!("Incoming call from {name}"));
            ui.label(&peer);
            for n in &notes {
                ui.small(n);
            }
            ui.horizontal(|ui| {
                if ui
                    .add(egui::Button::new(labels::ACCEPT).fill(Color32::from_rgb(40, 130, 60)))
                    .clicked()
                    && let Err(e) = bridge.accept()
                {
                    s.last_end = Some(e);
                }
                if ui.button(labels::DECLINE).clicked()
                    && let Err(e) = bridge.decline()
                {
                    s.last_end = Some(e);
                }
            });
        });
    ui.separator();
}

fn people_view(ui: &mut Ui, s: &mut Session, bridge: &Bridge) {
    ui.horizontal(|ui| {
        let l = ui.label(labels::SEARCH);
        let r = ui
            .add(egui::TextEdit::singleline(&mut s.search).hint_text("name or address"))
            .labelled_by(l.id);
        if r.changed() {
            bridge.search(&s.search);
        }
        if ui.button("Refresh").clicked() {
            bridge.search(&s.search);
        }
    });
    if let Some(e) = &s.people_error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    let me = s.info.user.clone();
    let others: Vec<&DirectoryEntry> = s.people.iter().filter(|p| p.user != me).collect();
    if others.is_empty() {
        ui.label("No one found.");
    }
    let mut call = None;
    egui::ScrollArea::vertical().show(ui, |ui| {
        egui::Grid::new("people")
            .num_columns(3)
            .striped(true)
            .spacing([16.0, 6.0])
            .show(ui, |ui| {
                for p in others {
                    ui.vertical(|ui| {
                        ui.strong(&p.display_name);
                        ui.small(&p.user);
                    });
                    ui.label(if p.online { "online" } else { "offline" });
                    if ui.button(labels::call(&p.display_name)).clicked() {
                        call = Some(p.user.clone());
                    }
                    ui.end_row();
                }
            });
    });
    if let Some(user) = call
        && let Err(e) = bridge.call(&user)
    {
        s.last_end = Some(e);
    }
}

fn history_view(ui: &mut Ui, s: &Session) {
    if s.history.is_empty() {
        ui.label("No calls yet in this session.");
        return;
    }
    for h in &s.history {
        ui.label(h.summary()).on_hover_text(&h.outcome);
    }
}

fn settings_view(ui: &mut Ui, s: &mut Session, bridge: &mut Bridge, devices: &DeviceList) {
    ui.heading("Privacy");
    match &s.setting {
        None => {
            ui.label("Loading…");
        }
        Some(view) => {
            let mut on = s.setting_pending.unwrap_or(view.effective);
            let enabled = view.lock.is_none() && s.setting_pending.is_none();
            let r = ui.add_enabled(enabled, egui::Checkbox::new(&mut on, labels::E2EE_TOGGLE));
            if r.changed() {
                s.setting_pending = Some(on);
                s.setting_error = None;
                bridge.set_e2ee(on);
            }
            match view.lock {
                Some(SettingLock::OffByPolicy) => {
                    ui.label(labels::TURNED_OFF);
                    ui.small(SettingLock::OffByPolicy.user_message());
                }
                Some(SettingLock::OnByPolicy) => {
                    ui.label(labels::REQUIRED);
                    ui.small(SettingLock::OnByPolicy.user_message());
                }
                None => {
                    ui.small(
                        "Calls between people who both have this on are encrypted so that \
                         only the two of you can hear them. Some call features (recording, \
                         captions, transfer) are not available in these calls. The setting \
                         applies to all your devices.",
                    );
                }
            }
        }
    }
    if let Some(e) = &s.setting_error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    ui.add_space(12.0);
    ui.heading("Audio");
    if devices.inputs.is_empty() {
        ui.label(labels::NO_AUDIO_DEVICE);
    }
    if let Err(e) = audio_picker(ui, "settings", bridge, devices, (false, false)) {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    ui.small("Audio choices apply at once, in a call too, and to later calls.");
}

fn input_choices(devices: &DeviceList) -> Vec<(String, String)> {
    let mut out = vec![(
        "device".to_owned(),
        default_device_name(&devices.inputs, "Microphone"),
    )];
    out.extend(
        devices
            .inputs
            .iter()
            .map(|d| (format!("device:{}", d.id), d.name.clone())),
    );
    out.push(("tone:440".to_owned(), "Test tone (440 Hz)".to_owned()));
    out.push(("silence".to_owned(), "Silence".to_owned()));
    out
}

fn output_choices(devices: &DeviceList) -> Vec<(String, String)> {
    let mut out = vec![(
        "device".to_owned(),
        default_device_name(&devices.outputs, "Speaker"),
    )];
    out.extend(
        devices
            .outputs
            .iter()
            .map(|d| (format!("device:{}", d.id), d.name.clone())),
    );
    out.push(("null".to_owned(), "No output".to_owned()));
    out
}

/// Input and output choosers (combo boxes labelled "Input device" and "Output device"). A change
/// goes to the engine at once: the call in progress switches at the next frame.
fn audio_picker(
    ui: &mut Ui,
    id: &str,
    bridge: &mut Bridge,
    devices: &DeviceList,
    fallback: (bool, bool),
) -> Result<(), String> {
    let (input, output) = match &bridge.settings().audio {
        AudioRoute::Specs { input, output } => (input.clone(), output.clone()),
        AudioRoute::Echo => ("device".to_owned(), "device".to_owned()),
    };
    let shown = |choices: &[(String, String)], current: &str| {
        choices
            .iter()
            .find(|(spec, _)| spec == current)
            .map(|(_, name)| name.clone())
            .unwrap_or_else(|| current.to_owned())
    };
    let (mut new_input, mut new_output) = (input.clone(), output.clone());
    let inputs = input_choices(devices);
    let outputs = output_choices(devices);
    let input_fallback = input == "device" && (devices.inputs.is_empty() || fallback.0);
    let output_fallback = output == "device" && (devices.outputs.is_empty() || fallback.1);
    ui.horizontal(|ui| {
        egui::ComboBox::new(format!("{id}-input"), labels::INPUT_DEVICE)
            .selected_text(shown(&inputs, &input))
            .show_ui(ui, |ui| {
                for (spec, name) in &inputs {
                    ui.selectable_value(&mut new_input, spec.clone(), name);
                }
            });
        ui.separator();
        egui::ComboBox::new(format!("{id}-output"), labels::OUTPUT_DEVICE)
            .selected_text(shown(&outputs, &output))
            .show_ui(ui, |ui| {
                for (spec, name) in &outputs {
                    ui.selectable_value(&mut new_output, spec.clone(), name);
                }
            });
    });
    if input_fallback {
        ui.label(labels::NO_AUDIO_DEVICE);
    }
    if output_fallback {
        ui.label("no audio device: received audio is discarded");
    }
    if (&new_input, &new_output) != (&input, &output) {
        bridge.set_audio_route(AudioRoute::Specs {
            input: new_input,
            output: new_output,
        })?;
    }
    Ok(())
}

fn default_device_name(list: &[sealcall_engine::media::device::DeviceInfo], kind: &str) -> String {
    match list.first() {
        Some(d) => format!("{kind}: {}", d.name),
        None => format!("{kind} (none found)"),
    }
}

fn call_view(ui: &mut Ui, s: &mut Session, bridge: &mut Bridge, devices: &DeviceList) {
    let Some(c) = &mut s.call else { return };
    ui.vertical_centered(|ui| {
        ui.heading(&c.peer_name);
        ui.label(&c.peer);
        let status = match c.phase {
            CallPhase::Placing => "Calling…".to_owned(),
            CallPhase::Ringing => "Ringing…".to_owned(),
            CallPhase::Incoming => "Incoming call".to_owned(),
            CallPhase::Connecting => "Connecting…".to_owned(),
            CallPhase::Connected => {
                let elapsed = c.connected_at.map(|t| t.elapsed()).unwrap_or_default();
                format!("Call time {}", text::clock(elapsed))
            }
        };
        ui.label(RichText::new(status).size(18.0));
    });
    ui.add_space(8.0);
    if matches!(c.phase, CallPhase::Placing | CallPhase::Ringing) {
        ui.vertical_centered(|ui| {
            if ui
                .add(egui::Button::new(labels::CANCEL).fill(Color32::from_rgb(170, 40, 40)))
                .clicked()
                && let Err(e) = bridge.cancel()
            {
                c.feature_note = Some(e);
            }
        });
        return;
    }
    // Answered: shield, controls, security, stats.
    let e2ee = c.end_to_end();
    ui.horizontal(|ui| {
        if c.mode.is_some() && widgets::shield_button(ui, e2ee).clicked() {
            c.show_security = !c.show_security;
        }
        ui.separator();
        if ui.toggle_value(&mut c.muted, labels::MUTE).changed() {
            bridge.set_muted(c.muted);
        }
        if ui
            .add(egui::Button::new(labels::HANG_UP).fill(Color32::from_rgb(170, 40, 40)))
            .clicked()
            && let Err(e) = bridge.hangup()
        {
            c.feature_note = Some(e);
        }
        ui.menu_button(labels::MORE, |ui| {
            for feature in Feature::ALL {
                if e2ee {
                    ui.add_enabled(false, egui::Button::new(feature.display_name()))
                        .on_disabled_hover_text(feature.user_message());
                } else if ui.button(feature.display_name()).clicked() {
                    c.feature_note = Some(match bridge.request_feature(feature) {
                        Ok(()) => format!(
                            "{} is allowed in this call (this app does not offer it yet).",
                            feature.display_name()
                        ),
                        Err(e) => e,
                    });
                    ui.close();
                }
            }
        });
    });
    if let Some(note) = &c.feature_note {
        ui.label(note);
    }
    if c.show_security {
        security_panel(ui, c);
    }
    ui.add_space(6.0);
    if let Err(e) = audio_picker(
        ui,
        "call",
        bridge,
        devices,
        (s.input_fallback, s.output_fallback),
    ) {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    ui.add_space(6.0);
    stats_panel(ui, c);
}

fn security_panel(ui: &mut Ui, c: &CallView) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        match &c.mode {
            Some(MediaMode::EndToEnd) => {
                ui.strong(labels::SECURITY_CODE);
                match &c.code {
                    Some(code) => {
                        ui.label(RichText::new(code).monospace().size(26.0).strong());
                    }
                    None => {
                        ui.label("Waiting for the security code…");
                    }
                }
                ui.label(format!(
                    "Read this code aloud with {}. If the codes are the same, only the two of \
                     you can hear this call. If they differ, hang up: someone may be \
                     intercepting it.",
                    c.peer_name
                ));
            }
            Some(MediaMode::Standard { reasons }) => {
                ui.strong("This call is not end-to-end encrypted");
                if reasons.is_empty() {
                    ui.label("End-to-end encryption was not used for this call.");
                }
                for r in reasons {
                    ui.label(format!("• {r}"));
                }
                ui.label(
                    "It is still encrypted between each device and the server (standard \
                     encryption).",
                );
            }
            None => {
                ui.label("Connecting…");
            }
        }
    });
}

fn stats_panel(ui: &mut Ui, c: &CallView) {
    egui::CollapsingHeader::new(labels::STATS)
        .default_open(true)
        .show(ui, |ui| {
            let Some(st) = &c.stats else {
                ui.label("Waiting for the first report…");
                return;
            };
            egui::Grid::new("stats")
                .num_columns(2)
                .spacing([16.0, 2.0])
                .show(ui, |ui| {
                    let mut row = |k: &str, v: String| {
                        ui.label(k);
                        ui.label(v);
                        ui.end_row();
                    };
                    row("Codec", st.media.codec.to_owned());
                    row(
                        "Bitrate",
                        format!(
                            "{} sent, {} received",
                            text::kbits(st.media.send_bitrate_bps),
                            text::kbits(st.media.receive_bitrate_bps)
                        ),
                    );
                    row(
                        "Packet loss",
                        format!(
                            "{:.1} % ({} packets)",
                            st.media.loss_fraction * 100.0,
                            st.media.packets_lost
                        ),
                    );
                    row("Frames protected", st.outbound.frames.to_string());
                    row("Frames unprotected", st.inbound.frames.to_string());
                    row(
                        "Authentication failures",
                        st.inbound.auth_failures.to_string(),
                    );
                    row(
                        "Average encryption cost",
                        if st.end_to_end {
                            st.outbound.average_cost().map_or_else(
                                || "–".to_owned(),
                                |d| format!("{:.1} µs per frame", d.as_secs_f64() * 1e6),
                            )
                        } else {
                            "none (not end-to-end encrypted)".to_owned()
                        },
                    );
                });
        });
}

impl eframe::App for SealcallApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        SealcallApp::ui(self, ui);
    }
}
