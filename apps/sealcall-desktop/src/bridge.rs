//! The bridge between the UI thread and the engine: it owns the tokio runtime handle and the
//! [`Engine`], turns UI commands into engine calls, and forwards [`EngineEvent`]s (and the
//! results of the engine's async methods) into a channel the UI drains every frame.
//!
//! The UI never blocks: every async engine method runs as a task on the runtime and reports back
//! as a [`UiEvent`]; each event wakes the UI with [`egui::Context::request_repaint`].

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use sealcall_engine::api::DirectoryEntry;
use sealcall_engine::identity::IdentityStore;
use sealcall_engine::media::AudioProcessingSetting;
use sealcall_engine::media::video::screen::{ShareableWindow, list_windows};
use sealcall_engine::transport::TransportConfig;
use sealcall_engine::{
    AudioRoute, Engine, EngineConfig, EngineError, EngineEvent, PostQuantum, ScreenSpec,
    SessionInfo, Trust, VideoSpec,
};
use sealcall_policy::Feature;
use sealcall_signaling::SettingView;
use tokio::runtime::Handle;

/// How the bridge configures each engine it connects (everything but the server, the user and
/// the password, which the sign-in form provides).
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Where device identities are kept (`<user>.identity.json`); `None` makes a fresh identity
    /// (and a new device) at every sign-in.
    pub identity_dir: Option<PathBuf>,
    /// Where call audio comes from and goes to.
    pub audio: AudioRoute,
    /// What the camera sends when a call starts (Settings > Video; none by default).
    pub video: VideoSpec,
    /// WebRTC settings.
    pub transport: TransportConfig,
    /// The platform reported to the server (`Linux`, `Mac`, `Windows`).
    pub platform: String,
    /// Settings > Security: post-quantum protection offered (the default) or required.
    pub post_quantum: PostQuantum,
    /// Settings > Audio: echo cancellation, noise suppression, gain control and the
    /// high-pass filter on the microphone (automatic by default: on for microphones).
    pub audio_processing: AudioProcessingSetting,
    /// Where recordings are suggested (the user may type another file); `None` is the data
    /// folder's `recordings/`.
    pub recordings_dir: Option<PathBuf>,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            identity_dir: None,
            audio: AudioRoute::Specs {
                input: "device".to_owned(),
                output: "device".to_owned(),
            },
            video: VideoSpec::None,
            transport: TransportConfig::default(),
            platform: desktop_platform().to_owned(),
            post_quantum: PostQuantum::Offered,
            audio_processing: AudioProcessingSetting::Auto,
            recordings_dir: None,
        }
    }
}

/// The platform name this build reports to the server.
pub fn desktop_platform() -> &'static str {
    match std::env::consts::OS {
        "macos" => "Mac",
        "windows" => "Windows",
        _ => "Linux",
    }
}

/// What the bridge reports to the UI.
pub enum UiEvent {
    /// Sign-in succeeded; the engine is running.
    SignedIn(Box<SessionInfo>),
    /// Sign-in failed, with a message for the user.
    SignInFailed(String),
    /// An event from the engine.
    Engine(EngineEvent),
    /// The engine's event stream ended (it stopped).
    EngineStopped,
    /// A directory search finished.
    Directory {
        /// The search text it answers.
        query: String,
        /// The people found, or a message for the user.
        result: Result<Vec<DirectoryEntry>, String>,
    },
    /// The "End-to-end encrypted calls" setting as the server reports it.
    Setting(SettingView),
    /// Changing the setting failed (the policy's reason or a network error).
    SettingFailed(String),
    /// The windows that can be shared, for the picker, or why the screen cannot be captured.
    Windows(Result<Vec<ShareableWindow>, String>),
}

impl std::fmt::Debug for UiEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UiEvent::SignedIn(info) => write!(f, "SignedIn({})", info.user),
            UiEvent::SignInFailed(m) => write!(f, "SignInFailed({m})"),
            UiEvent::Engine(e) => write!(f, "Engine({e:?})"),
            UiEvent::EngineStopped => write!(f, "EngineStopped"),
            UiEvent::Directory { query, result } => write!(
                f,
                "Directory({query:?}, {})",
                result
                    .as_ref()
                    .map_or_else(|e| e.clone(), |r| r.len().to_string())
            ),
            UiEvent::Setting(v) => write!(f, "Setting(effective: {})", v.effective),
            UiEvent::SettingFailed(m) => write!(f, "SettingFailed({m})"),
            UiEvent::Windows(w) => match w {
                Ok(list) => write!(f, "Windows({})", list.len()),
                Err(e) => write!(f, "Windows({e})"),
            },
        }
    }
}

type Shared<T> = Arc<Mutex<T>>;

/// Owns the runtime handle and the engine; see the module docs.
pub struct Bridge {
    runtime: Handle,
    settings: EngineSettings,
    engine: Shared<Option<Arc<Engine>>>,
    repaint: Shared<Option<egui::Context>>,
    tx: Sender<UiEvent>,
    rx: Receiver<UiEvent>,
    /// Bumped at each sign-in and sign-out, so a stale session's events are dropped.
    generation: Shared<u64>,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge")
            .field("settings", &self.settings)
            .field("signed_in", &self.is_signed_in())
            .finish_non_exhaustive()
    }
}

/// A user-facing sentence for a sign-in error.
pub fn sign_in_message(error: &EngineError) -> String {
    match error {
        EngineError::Unreachable(url) => format!(
            "Cannot reach the server at {url}. Check the address and your network, then try again."
        ),
        EngineError::SignIn(reason) if reason.contains("too many") => {
            format!("Too many attempts: {reason}.")
        }
        EngineError::SignIn(reason) => format!("Sign-in failed: {reason}."),
        EngineError::Config(reason) => {
            format!("That server address does not work: {reason}. Use https://host:port.")
        }
        EngineError::Tls(e) => format!("{e}."),
        other => format!("Sign-in failed: {other}."),
    }
}

impl Bridge {
    /// A bridge that runs its tasks on `runtime` (a multi-threaded tokio runtime).
    pub fn new(runtime: Handle, settings: EngineSettings) -> Self {
        let (tx, rx) = channel();
        Self {
            runtime,
            settings,
            engine: Arc::default(),
            repaint: Arc::default(),
            tx,
            rx,
            generation: Arc::default(),
        }
    }

    /// The engine settings (the audio route also applies live through [`Bridge::set_audio_route`]).
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// Changes the engine settings used at the next sign-in (audio route, for example).
    pub fn settings_mut(&mut self) -> &mut EngineSettings {
        &mut self.settings
    }

    /// Remembers the UI's context so that arriving events wake it.
    pub fn set_context(&self, ctx: &egui::Context) {
        if let Ok(mut slot) = self.repaint.lock()
            && slot.is_none()
        {
            *slot = Some(ctx.clone());
        }
    }

    /// Whether an engine is running.
    pub fn is_signed_in(&self) -> bool {
        self.engine.lock().map(|e| e.is_some()).unwrap_or(false)
    }

    fn engine(&self) -> Option<Arc<Engine>> {
        self.engine.lock().ok().and_then(|e| e.clone())
    }

    fn sender(&self) -> Notify {
        Notify {
            tx: self.tx.clone(),
            repaint: Arc::clone(&self.repaint),
        }
    }

    /// Everything that arrived since the last call (call once per frame).
    pub fn drain(&self) -> Vec<UiEvent> {
        self.rx.try_iter().collect()
    }

    /// Signs in and starts the engine; reports [`UiEvent::SignedIn`] or
    /// [`UiEvent::SignInFailed`], then forwards the engine's events.
    pub fn sign_in(&self, server: &str, user: &str, password: &str, trust: Trust) {
        let mut config = EngineConfig::new(server.trim(), user.trim(), password);
        config.trust = trust;
        config.audio = self.settings.audio.clone();
        config.video = self.settings.video.clone();
        config.post_quantum = self.settings.post_quantum;
        config.audio_processing = self.settings.audio_processing;
        config.transport = self.settings.transport.clone();
        config.platform = self.settings.platform.clone();
        if let Some(dir) = &self.settings.identity_dir {
            config.identity = IdentityStore::in_dir(dir, server.trim(), user.trim());
        }
        let notify = self.sender();
        let slot = Arc::clone(&self.engine);
        let generation = Arc::clone(&self.generation);
        let mine = match self.generation.lock() {
            Ok(mut g) => {
                *g += 1;
                *g
            }
            Err(_) => return notify.send(UiEvent::SignInFailed("internal error".into())),
        };
        self.runtime.spawn(async move {
            let (engine, mut events) = match Engine::connect(config).await {
                Ok(pair) => pair,
                Err(e) => return notify.send(UiEvent::SignInFailed(sign_in_message(&e))),
            };
            let current = generation.lock().map(|g| *g == mine).unwrap_or(false);
            if !current {
                let _ = engine.shutdown().await;
                return;
            }
            let info = engine.info().clone();
            if let Ok(mut s) = slot.lock() {
                *s = Some(Arc::new(engine));
            }
            notify.send(UiEvent::SignedIn(Box::new(info)));
            while let Some(event) = events.recv().await {
                if generation.lock().map(|g| *g != mine).unwrap_or(true) {
                    return;
                }
                notify.send(UiEvent::Engine(event));
            }
            notify.send(UiEvent::EngineStopped);
        });
    }

    /// Stops the engine and signs out (in the background).
    pub fn sign_out(&self) {
        if let Ok(mut g) = self.generation.lock() {
            *g += 1;
        }
        let engine = self.engine.lock().ok().and_then(|mut e| e.take());
        if let Some(engine) = engine {
            self.runtime.spawn(async move {
                match Arc::try_unwrap(engine) {
                    Ok(engine) => {
                        let _ = engine.shutdown().await;
                    }
                    Err(shared) => drop(shared),
                }
            });
        }
    }

    /// Searches the directory; reports [`UiEvent::Directory`].
    pub fn search(&self, query: &str) {
        let Some(engine) = self.engine() else { return };
        let notify = self.sender();
        let query = query.to_owned();
        self.runtime.spawn(async move {
            let result = engine
                .directory(query.trim())
                .await
                .map_err(|e| format!("Could not load the directory: {e}"));
            notify.send(UiEvent::Directory { query, result });
        });
    }

    /// Loads the "End-to-end encrypted calls" setting; reports [`UiEvent::Setting`].
    pub fn load_setting(&self) {
        let Some(engine) = self.engine() else { return };
        let notify = self.sender();
        self.runtime.spawn(async move {
            notify.send(match engine.e2ee_setting().await {
                Ok(view) => UiEvent::Setting(view),
                Err(e) => UiEvent::SettingFailed(format!("Could not load the setting: {e}")),
            });
        });
    }

    /// Turns "End-to-end encrypted calls" on or off; reports [`UiEvent::Setting`] or
    /// [`UiEvent::SettingFailed`] with the policy's reason.
    pub fn set_e2ee(&self, enabled: bool) {
        let Some(engine) = self.engine() else { return };
        let notify = self.sender();
        self.runtime.spawn(async move {
            notify.send(match engine.set_e2ee(enabled).await {
                Ok(view) => UiEvent::Setting(view),
                Err(EngineError::Refused(reason)) => UiEvent::SettingFailed(reason),
                Err(e) => UiEvent::SettingFailed(format!("Could not change the setting: {e}")),
            });
        });
    }

    /// Runs a call command on the engine; an error comes back as a message.
    fn command(
        &self,
        f: impl FnOnce(&Engine) -> sealcall_engine::Result<()>,
    ) -> Result<(), String> {
        match self.engine() {
            Some(engine) => f(&engine).map_err(|e| e.to_string()),
            None => Err("You are not signed in.".to_owned()),
        }
    }

    /// Calls someone by sign-in name.
    pub fn call(&self, user: &str) -> Result<(), String> {
        self.command(|e| e.call(user))
    }

    /// Answers the ringing call.
    pub fn accept(&self) -> Result<(), String> {
        self.command(Engine::accept)
    }

    /// Declines the ringing call.
    pub fn decline(&self) -> Result<(), String> {
        self.command(Engine::decline)
    }

    /// Cancels the outgoing call.
    pub fn cancel(&self) -> Result<(), String> {
        self.command(Engine::cancel)
    }

    /// Hangs up.
    pub fn hangup(&self) -> Result<(), String> {
        self.command(Engine::hangup)
    }

    /// Mutes or unmutes the microphone.
    pub fn set_muted(&self, muted: bool) {
        if let Some(engine) = self.engine() {
            engine.set_muted(muted);
        }
    }

    /// Changes the audio route: at once for the call in progress (and for later calls), or at the
    /// next sign-in when no engine is running.
    pub fn set_audio_route(&mut self, route: AudioRoute) -> Result<(), String> {
        self.settings.audio = route.clone();
        match self.engine() {
            Some(engine) => engine.set_audio_route(route).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    /// Turns the camera on (`VideoSpec::Camera`, which sends the test pattern with a notice when
    /// there is no camera) or off in the call in progress. The engine keeps the choice for later
    /// calls, so the app puts the Settings choice back when the call ends.
    pub fn set_camera(&self, spec: VideoSpec) -> Result<(), String> {
        self.command(|e| e.set_camera(spec))
    }

    /// Settings > Video: what the camera sends when a call starts, from the next call on (and
    /// at the next sign-in).
    pub fn set_camera_at_start(&mut self, spec: VideoSpec) -> Result<(), String> {
        self.settings.video = spec.clone();
        match self.engine() {
            Some(engine) => engine.set_camera(spec).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    /// Settings > Audio: the audio processing on the microphone, for the call in progress (from
    /// its next frame) and for later calls.
    pub fn set_audio_processing(&mut self, setting: AudioProcessingSetting) -> Result<(), String> {
        self.settings.audio_processing = setting;
        match self.engine() {
            Some(engine) => engine
                .set_audio_processing(setting)
                .map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    /// Settings > Security: whether this device requires post-quantum protection, from the
    /// next call on (and at the next sign-in).
    pub fn set_post_quantum(&mut self, setting: PostQuantum) -> Result<(), String> {
        self.settings.post_quantum = setting;
        match self.engine() {
            Some(engine) => engine.set_post_quantum(setting).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    /// Starts sharing the screen, a window or the test pattern in the call in progress, or
    /// stops with `ScreenSpec::None`. A screen that cannot be captured comes back as an
    /// [`EngineEvent::Notice`] starting with `screen share:`.
    pub fn share_screen(&self, spec: ScreenSpec) -> Result<(), String> {
        self.command(|e| e.share_screen(spec))
    }

    /// Lists the windows that can be shared (on `DISPLAY`), off the UI thread; reports
    /// [`UiEvent::Windows`].
    pub fn list_windows(&self) {
        let notify = self.sender();
        let task = self.runtime.spawn_blocking(|| list_windows(None));
        self.runtime.spawn(async move {
            let result = match task.await {
                Ok(Ok(windows)) => Ok(windows),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(format!("could not list the windows: {e}")),
            };
            notify.send(UiEvent::Windows(result));
        });
    }

    /// Marks the other person's device verified (after comparing the security code); a later
    /// key change removes the mark.
    pub fn mark_verified(&self, user: &str, device: &str) -> Result<(), String> {
        self.command(|e| e.mark_verified(user, Some(device)).map(|_| ()))
    }

    /// Puts the call on hold (`true`) or takes it off this user's hold.
    pub fn set_hold(&self, on: bool) -> Result<(), String> {
        self.command(|e| if on { e.hold() } else { e.resume() })
    }

    /// Records the call into `path` (a new `.wav` file; its folder is created if needed).
    pub fn start_recording(&self, path: &std::path::Path) -> Result<(), String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        self.command(|e| e.start_recording(path))
    }

    /// Stops the recording.
    pub fn stop_recording(&self) -> Result<(), String> {
        self.command(|e| e.stop_recording())
    }

    /// Asks the engine whether `feature` may be used in the current call.
    pub fn request_feature(&self, feature: Feature) -> Result<(), String> {
        self.command(|e| e.request_feature(feature))
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.sign_out();
    }
}

/// Sends to the UI and wakes it.
struct Notify {
    tx: Sender<UiEvent>,
    repaint: Shared<Option<egui::Context>>,
}

impl Notify {
    fn send(&self, event: UiEvent) {
        let _ = self.tx.send(event);
        if let Ok(ctx) = self.repaint.lock()
            && let Some(ctx) = ctx.as_ref()
        {
            ctx.request_repaint();
        }
    }
}
