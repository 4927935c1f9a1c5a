//! A real server on 127.0.0.1:0 (SQLite file, embedded TURN relay), real engines, and the app in
//! an `egui_kittest` harness, as in the engine's end-to-end tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use sealcall_desktop::{AppOptions, Bridge, EngineSettings, SealcallApp, SignInForm};
use sealcall_engine::call::CallEvent;
use sealcall_engine::media::device::DeviceList;
use sealcall_engine::transport::TransportConfig;
use sealcall_engine::{AudioRoute, Engine, EngineConfig, EngineEvent, EngineEvents};
use sealcall_server::testing::LocalServer;
pub use sealcall_server::testing::PASSWORD;
use tokio::runtime::Runtime;

pub const ADMIN: &str = "admin@contoso.example";
pub const ALEX: &str = "alex@contoso.example";
pub const SAM: &str = "sam@contoso.example";
pub const ECHO: &str = "echo@contoso.example";

/// A generous bound for anything asynchronous (sign-in, a call connecting).
pub const WAIT: Duration = Duration::from_secs(20);

pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

pub struct TestServer {
    server: LocalServer,
    pub url: String,
}

impl TestServer {
    /// The shared fixture (`sealcall_server::testing`) with Alex, Sam and the echo bot.
    pub fn start(rt: &Runtime) -> Self {
        let server = rt
            .block_on(LocalServer::start(
                ADMIN,
                &[(ALEX, "Alex Ruiz"), (SAM, "Sam Meyer"), (ECHO, "Echo Bot")],
            ))
            .unwrap();
        let url = server.url.clone();
        Self { server, url }
    }

    /// The same over HTTPS with a fresh self-signed certificate (not trusted by the system).
    pub fn start_tls(rt: &Runtime) -> Self {
        let server = rt
            .block_on(LocalServer::start_tls(ADMIN, &[(ALEX, "Alex Ruiz")]))
            .unwrap();
        let url = server.url.clone();
        Self { server, url }
    }

    /// The pin of the server's certificate (after [`TestServer::start_tls`]).
    pub fn pin(&self) -> String {
        self.server.trust.pin.unwrap().to_string()
    }

    /// The server's certificate file (after [`TestServer::start_tls`]).
    pub fn cert_file(&self) -> PathBuf {
        self.server.cert_file()
    }

    /// Runs one cmdlet line as the administrator.
    pub fn cmdlet(&self, rt: &Runtime, line: &str) {
        rt.block_on(self.server.cmdlet(line)).unwrap();
    }

    /// The temporary folder of this server.
    pub fn dir(&self) -> &std::path::Path {
        self.server.dir.path()
    }

    pub fn policy(&self, rt: &Runtime, kind: &str) {
        self.cmdlet(
            rt,
            &format!(
                "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType {kind}"
            ),
        );
    }

    /// Sets a user's "End-to-end encrypted calls" choice directly (not through the app).
    pub fn set_e2ee(&self, rt: &Runtime, user: &str, on: bool) {
        rt.block_on(async {
            let mut api = sealcall_engine::api::ApiClient::new(&self.url).unwrap();
            api.sign_in(user, PASSWORD).await.unwrap();
            api.set_setting(on).await.unwrap();
            api.sign_out().await.unwrap();
        });
    }

    /// Starts the echo bot (E2EE on, answers every call, plays back what it hears).
    pub fn echo_bot(&self, rt: &Runtime) -> (Engine, EngineEvents) {
        rt.block_on(async {
            let mut c = EngineConfig::new(&self.url, ECHO, PASSWORD);
            c.transport = TransportConfig::loopback();
            c.audio = AudioRoute::Echo;
            c.auto_answer = true;
            let (engine, events) = Engine::connect(c).await.unwrap();
            engine.set_e2ee(true).await.unwrap();
            (engine, events)
        })
    }

    /// A plain engine for `user` (tone in, nothing out).
    pub fn engine(&self, rt: &Runtime, user: &str) -> (Engine, EngineEvents) {
        rt.block_on(async {
            let mut c = EngineConfig::new(&self.url, user, PASSWORD);
            c.transport = TransportConfig::loopback();
            Engine::connect(c).await.unwrap()
        })
    }

    /// An engine for `user` (tone in, nothing out) with `configure` applied to its config.
    pub fn engine_with(
        &self,
        rt: &Runtime,
        user: &str,
        configure: impl FnOnce(&mut EngineConfig),
    ) -> (Engine, EngineEvents) {
        rt.block_on(async {
            let mut c = EngineConfig::new(&self.url, user, PASSWORD);
            c.transport = TransportConfig::loopback();
            configure(&mut c);
            Engine::connect(c).await.unwrap()
        })
    }

    /// The app, not signed in, with the form filled for `user` unless `user` is empty.
    pub fn app(&self, rt: &Runtime, user: &str) -> Harness<'static, SealcallApp> {
        let prefs = self.dir().join(format!("prefs-{}.json", unique()));
        self.app_with_prefs(rt, user, prefs)
    }

    /// [`TestServer::app`] remembering its choices in `prefs`.
    pub fn app_with_prefs(
        &self,
        rt: &Runtime,
        user: &str,
        prefs: PathBuf,
    ) -> Harness<'static, SealcallApp> {
        self.app_with(rt, user, prefs, None)
    }

    /// [`TestServer::app_with_prefs`] with its log files in `log_dir` (Help).
    pub fn app_with(
        &self,
        rt: &Runtime,
        user: &str,
        prefs: PathBuf,
        log_dir: Option<PathBuf>,
    ) -> Harness<'static, SealcallApp> {
        let identities: PathBuf = self.dir().join(format!("identities-{}", unique()));
        let settings = EngineSettings {
            identity_dir: Some(identities),
            audio: AudioRoute::Specs {
                input: "device".into(),
                output: "device".into(),
            },
            transport: TransportConfig::loopback(),
            recordings_dir: Some(self.dir().join(format!("recordings-{}", unique()))),
            ..EngineSettings::default()
        };
        let form = if user.is_empty() {
            SignInForm::default()
        } else {
            SignInForm {
                server: self.url.clone(),
                user: user.to_owned(),
                password: PASSWORD.to_owned(),
                ..SignInForm::default()
            }
        };
        let app = SealcallApp::new(
            Bridge::new(rt.handle().clone(), settings),
            AppOptions {
                form,
                prefs_path: Some(prefs),
                // No sound card here (nor in CI): the app must say so and use a test tone.
                devices: Some(DeviceList::default()),
                log_dir,
                ..AppOptions::default()
            },
        );
        Harness::builder()
            .with_size(egui::vec2(900.0, 700.0))
            .build_ui_state(|ui, app: &mut SealcallApp| app.ui(ui), app)
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Steps the UI (with short sleeps, so the engine can progress) until `found` holds; panics with
/// `what` after [`WAIT`].
pub fn wait_until(
    harness: &mut Harness<'static, SealcallApp>,
    what: &str,
    mut found: impl FnMut(&Harness<'static, SealcallApp>) -> bool,
) {
    let start = Instant::now();
    loop {
        harness.step();
        if found(harness) {
            harness.step();
            return;
        }
        if start.elapsed() >= WAIT {
            // What the user would see instead (for example why the call ended).
            let shown: Vec<String> = harness
                .query_all_by_label_contains("")
                .filter_map(|n| egui_kittest::kittest::NodeT::accesskit_node(&n).label())
                .filter(|l| !l.is_empty())
                .collect();
            panic!("timed out after {WAIT:?} waiting for {what}; shown instead: {shown:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until a widget with exactly this label is shown.
pub fn wait_for_label(harness: &mut Harness<'static, SealcallApp>, label: &str) {
    wait_until(harness, &format!("the label {label:?}"), |h| {
        h.query_by_label(label).is_some()
    });
}

/// Waits until a widget whose label contains `part` is shown.
pub fn wait_for_label_containing(harness: &mut Harness<'static, SealcallApp>, part: &str) {
    wait_until(harness, &format!("a label containing {part:?}"), |h| {
        h.query_all_by_label_contains(part).next().is_some()
    });
}

/// Clicks the widget with this label and lets the UI react.
pub fn click(harness: &mut Harness<'static, SealcallApp>, label: &str) {
    harness.get_by_label(label).click();
    harness.step();
    harness.step();
}

/// Signs in with the pre-filled form and waits for the People tab.
pub fn sign_in(harness: &mut Harness<'static, SealcallApp>) {
    harness.step();
    click(harness, sealcall_desktop::labels::SIGN_IN);
    wait_for_label_containing(harness, "Signed in as");
}

/// Waits for an engine event `pick` returns `Some` for.
pub fn wait_event<T>(
    rt: &Runtime,
    events: &mut EngineEvents,
    pick: impl FnMut(&EngineEvent) -> Option<T>,
) -> T {
    rt.block_on(sealcall_engine::next_event(events, WAIT, pick))
        .expect("engine event in time (the engine still running)")
}

/// Whether the widget with this label is disabled.
pub fn is_disabled(harness: &Harness<'static, SealcallApp>, label: &str) -> bool {
    harness.get_by_label(label).accesskit_node().is_disabled()
}

/// Whether the checkbox (or toggle) with this label is on.
pub fn is_checked(harness: &Harness<'static, SealcallApp>, label: &str) -> bool {
    use egui::accesskit::Toggled;
    harness.get_by_label(label).accesskit_node().toggled() == Some(Toggled::True)
}

/// The current call in the app (panics when there is none).
pub fn call_of<'a>(
    harness: &'a Harness<'static, SealcallApp>,
) -> &'a sealcall_desktop::app::CallView {
    harness
        .state()
        .session()
        .and_then(|s| s.call.as_ref())
        .expect("a call")
}

/// Whether a widget with exactly this label is shown.
pub fn shown(harness: &Harness<'static, SealcallApp>, label: &str) -> bool {
    harness.query_by_label(label).is_some()
}

pub fn is_connected(event: &EngineEvent) -> bool {
    matches!(event, EngineEvent::Call(CallEvent::Connected { .. }))
}

/// The text of the widget whose label contains `part` (a label's text is its value).
pub fn text_of(harness: &Harness<'static, SealcallApp>, part: &str) -> String {
    let node = harness.get_by_label_contains(part);
    let ak = node.accesskit_node();
    ak.value()
        .map(|v| v.to_string())
        .or_else(|| ak.label().map(|l| l.to_string()))
        .unwrap_or_default()
}

/// The texts of every widget whose label contains `part`.
pub fn texts_of(harness: &Harness<'static, SealcallApp>, part: &str) -> Vec<String> {
    harness
        .query_all_by_label_contains(part)
        .map(|node| {
            let ak = node.accesskit_node();
            ak.value()
                .map(|v| v.to_string())
                .or_else(|| ak.label().map(|l| l.to_string()))
                .unwrap_or_default()
        })
        .collect()
}
