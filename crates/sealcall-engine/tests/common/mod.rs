//! A real server on 127.0.0.1:0 (real SQLite file, embedded TURN relay) and real engines.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod impair;
pub mod signaling_proxy;

use std::path::{Path, PathBuf};
use std::time::Duration;

use sealcall_engine::call::{CallEvent, Ended};
use sealcall_engine::media::analysis::analyse_wav;
use sealcall_engine::transport::TransportConfig;
use sealcall_engine::{AudioRoute, Engine, EngineConfig, EngineEvent, EngineEvents};
use sealcall_server::testing::LocalServer;
pub use sealcall_server::testing::PASSWORD;
use sealcall_server::{Config, PasswordCost, Server};

pub const ADMIN: &str = "admin@contoso.onmicrosoft.com";
pub const KEN: &str = "kenmeyer@contoso.onmicrosoft.com";
pub const ANA: &str = "ana@contoso.onmicrosoft.com";

pub struct TestServer {
    server: LocalServer,
    pub url: String,
}

impl TestServer {
    /// The shared fixture (`sealcall_server::testing`) with Ken and Ana.
    pub async fn start() -> Self {
        Self::start_with_tls(false).await
    }

    /// The same fixture over HTTPS/WSS with a fresh self-signed certificate; [`TestServer::config`]
    /// pins it.
    pub async fn start_tls() -> Self {
        Self::start_with_tls(true).await
    }

    async fn start_with_tls(tls: bool) -> Self {
        let users = [(KEN, "Ken Meyer"), (ANA, "Ana Ruiz")];
        let server = LocalServer::start_with(ADMIN, &users, tls, |_| {})
            .await
            .unwrap();
        let url = server.url.clone();
        Self { server, url }
    }

    /// What a client needs to trust this server (nothing over plain HTTP, the pin over TLS).
    pub fn trust(&self) -> sealcall_engine::Trust {
        self.server.trust.clone()
    }

    /// The server certificate's PEM file (after [`TestServer::start_tls`]).
    pub fn cert_file(&self) -> PathBuf {
        self.server.cert_file()
    }

    /// Runs one cmdlet line as the administrator.
    /// Puts `user` under a policy that requires end-to-end encrypted calls.
    pub async fn require_e2ee_for(&self, user: &str) {
        self.cmdlet("New-CsTeamsEnhancedEncryptionPolicy -Identity MustEncrypt -CallingEndtoEndEncryptionEnabledType Required")
            .await;
        self.cmdlet(&format!(
            "Grant-CsTeamsEnhancedEncryptionPolicy -Identity \"{user}\" -PolicyName MustEncrypt"
        ))
        .await;
    }

    pub async fn cmdlet(&self, line: &str) {
        self.server.cmdlet(line).await.unwrap();
    }

    /// The folder holding the database.
    pub fn dir(&self) -> &Path {
        self.server.dir.path()
    }

    /// The server's address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.handle.as_ref().unwrap().addr()
    }

    /// Stops the server (the database file stays).
    pub async fn stop(&mut self) {
        self.server.stop().await.unwrap();
    }

    /// Starts a server again on `listener` with the same database.
    pub async fn restart(&mut self, listener: tokio::net::TcpListener) {
        let mut config = Config::new(self.server.db());
        config.password_cost = PasswordCost::insecure_for_tests();
        config.turn = None;
        self.server.handle = Some(Server::start(config, listener).await.unwrap());
    }

    pub fn wav(&self, name: &str) -> PathBuf {
        self.server.dir.path().join(name)
    }

    pub fn config(&self, user: &str, input: &str, output: &Path) -> EngineConfig {
        let mut c = EngineConfig::new(&self.url, user, PASSWORD);
        c.trust = self.server.trust.clone();
        c.transport = TransportConfig::loopback();
        c.audio = AudioRoute::Specs {
            input: input.to_owned(),
            output: output.display().to_string(),
        };
        c
    }
}

/// Waits for the first event `pick` returns `Some` for, up to `secs` seconds.
pub async fn wait_for<T>(
    events: &mut EngineEvents,
    secs: u64,
    pick: impl FnMut(&EngineEvent) -> Option<T>,
) -> T {
    sealcall_engine::next_event(events, Duration::from_secs(secs), pick)
        .await
        .expect("event in time (the engine still running)")
}

pub async fn connected(events: &mut EngineEvents) -> bool {
    wait_for(events, 15, |e| match e {
        EngineEvent::Call(CallEvent::Connected { end_to_end, .. }) => Some(*end_to_end),
        EngineEvent::Call(CallEvent::Ended { reason, .. }) => panic!("call ended: {reason:?}"),
        _ => None,
    })
    .await
}

pub async fn ended(events: &mut EngineEvents) -> Ended {
    wait_for(events, 15, |e| match e {
        EngineEvent::Call(CallEvent::Ended { reason, .. }) => Some(reason.clone()),
        _ => None,
    })
    .await
}

pub async fn engine(config: EngineConfig) -> (Engine, EngineEvents) {
    Engine::connect(config).await.unwrap()
}

/// Reads a WAV the engine wrote and returns its dominant frequency, the SNR at `expect_hz` and
/// its length in samples.
pub fn analyse(path: &Path, expect_hz: f64) -> (f64, f64, usize) {
    let tone = analyse_wav(path, Some(expect_hz)).unwrap();
    (tone.frequency_hz, tone.snr_db, tone.samples)
}

/// The cmdlet that lets users turn on end-to-end encrypted calls tenant-wide.
pub const ALLOW_E2EE: &str = "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride";

/// Ken (the caller, tone 440 Hz) and Ana (answers automatically, tone 880 Hz), signed in.
pub struct Pair {
    pub ken: Engine,
    pub ken_ev: EngineEvents,
    pub ana: Engine,
    pub ana_ev: EngineEvents,
}

impl TestServer {
    /// Allows E2EE tenant-wide, signs in Ken and Ana (their received audio written to
    /// `ken_wav`/`ana_wav`, configs adjusted by `adjust`), and turns "End-to-end encrypted calls"
    /// on for each user whose flag in `e2ee` is set.
    pub async fn pair(
        &self,
        (ken_wav, ana_wav): (&str, &str),
        adjust: impl FnOnce(&mut EngineConfig, &mut EngineConfig),
        (ken_on, ana_on): (bool, bool),
    ) -> Pair {
        self.cmdlet(ALLOW_E2EE).await;
        let mut ken_cfg = self.config(KEN, "tone:440", &self.wav(ken_wav));
        let mut ana_cfg = self.config(ANA, "tone:880", &self.wav(ana_wav));
        ana_cfg.auto_answer = true;
        adjust(&mut ken_cfg, &mut ana_cfg);
        let (ken, ken_ev) = engine(ken_cfg).await;
        let (ana, ana_ev) = engine(ana_cfg).await;
        if ken_on {
            ken.set_e2ee(true).await.unwrap();
        }
        if ana_on {
            ana.set_e2ee(true).await.unwrap();
        }
        Pair {
            ken,
            ken_ev,
            ana,
            ana_ev,
        }
    }
}

/// Waits (up to 15 s) until a transport reports that DTLS-SRTP is up.
pub async fn wait_connected(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<sealcall_engine::transport::TransportEvent>,
) {
    use sealcall_engine::transport::TransportEvent;
    tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(e) = events.recv().await {
            if matches!(e, TransportEvent::Connected) {
                return;
            }
        }
        panic!("transport closed before connecting");
    })
    .await
    .expect("connected in time");
}

/// Two real peer connections on loopback, offer/answer exchanged and DTLS-SRTP up.
pub async fn transport_pair() -> (
    sealcall_engine::transport::CallTransport,
    tokio::sync::mpsc::UnboundedReceiver<sealcall_engine::transport::TransportEvent>,
    sealcall_engine::transport::CallTransport,
    tokio::sync::mpsc::UnboundedReceiver<sealcall_engine::transport::TransportEvent>,
) {
    use sealcall_engine::transport::CallTransport;
    let (a, mut a_events) = CallTransport::new(TransportConfig::loopback())
        .await
        .unwrap();
    let (b, mut b_events) = CallTransport::new(TransportConfig::loopback())
        .await
        .unwrap();
    let offer = a.create_offer().await.unwrap();
    let answer = b.accept_offer(&offer).await.unwrap();
    a.accept_answer(&answer).await.unwrap();
    wait_connected(&mut a_events).await;
    wait_connected(&mut b_events).await;
    (a, a_events, b, b_events)
}

/// A virtual X server (Xvfb) on a free display, stopped on drop. `None` (with a message) when
/// Xvfb is not installed outside CI; with `CI=true` a missing Xvfb fails the test.
pub struct Xvfb {
    child: std::process::Child,
    pub display: String,
}

impl Xvfb {
    pub fn start() -> Option<Self> {
        let installed = std::process::Command::new("Xvfb")
            .arg("-help")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok();
        if !installed {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "Xvfb is not installed (cargo xtask test installs it)"
            );
            eprintln!("skipping: Xvfb is not installed (apt-get install xvfb)");
            return None;
        }
        // `-displayfd 1`: Xvfb picks a free display itself and writes its number to stdout only
        // once it accepts connections, so no other test's server and no half-started one is used.
        let mut child = std::process::Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x720x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let stdout = child.stdout.take().expect("Xvfb's stdout");
        // From here on, dropping `xvfb` stops the server, also when it fails to come up.
        let mut xvfb = Self {
            child,
            display: String::new(),
        };
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("read Xvfb's display number");
        let n: u32 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("Xvfb did not start (it printed {line:?})"));
        xvfb.display = format!(":{n}");
        Some(xvfb)
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An `E2eeGrant` for transport-level tests, from the policy crate's settlement of two signed
/// end-to-end intents (the only way to get one).
pub fn grant() -> sealcall_policy::E2eeGrant {
    use sealcall_policy::*;
    let local = LocalState {
        user: UserId::new(KEN).unwrap(),
        policy: CallingEncryptionType::DisabledUserOverride,
        user_choice: true,
        capability: Capability::Capable,
        compliance_recording: false,
    };
    let peer = UserId::new(ANA).unwrap();
    match settle(
        &local,
        Side::Caller,
        &peer,
        CallIntent::EndToEnd,
        Outcome::EndToEnd,
    ) {
        Settlement::EndToEnd { grant, .. } => grant,
        other => panic!("{other:?}"),
    }
}
