//! The embedded demo behind `cargo xtask run`: a local server (SQLite under the data
//! directory), a demo organisation created on first run, and an echo bot.
//!
//! First run: an administrator, two users (`alex@demo.example`, `sam@demo.example`) and
//! `echo@demo.example`, with passwords generated once and kept in `demo-credentials.json`
//! (mode 0600); the Global policy set to `DisabledUserOverride` by a cmdlet; "End-to-end
//! encrypted calls" turned on for the three users. Every run: the server on
//! `https://127.0.0.1:7878` (or an ephemeral port when that is taken) with a self-signed
//! certificate made on first run (`demo-cert.pem`, key `demo-key.pem` mode 0600) that the demo's
//! clients pin, its URL written to `demo-server-url` so that a second window finds it, and the
//! echo bot answering every call. A run that finds a live server at the recorded URL joins it
//! instead of starting another.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use sealcall_engine::api::ApiClient;
use sealcall_engine::identity::IdentityStore;
use sealcall_engine::transport::TransportConfig;
use sealcall_engine::{AudioRoute, Engine, EngineConfig, Fingerprint, Trust};
use sealcall_server::{
    Config, PasswordCost, SelfSigned, Server, ServerHandle, ServerTls, TurnConfig, cli,
};
use serde::{Deserialize, Serialize};

/// The demo administrator.
pub const ADMIN: &str = "admin@demo.example";
/// The first demo user (the app signs in as this user by default).
pub const ALEX: &str = "alex@demo.example";
/// The second demo user (`--user sam@demo.example` opens a second window).
pub const SAM: &str = "sam@demo.example";
/// The echo bot.
pub const ECHO: &str = "echo@demo.example";
/// The default port of the embedded server.
pub const DEFAULT_PORT: u16 = 7878;

const DB_FILE: &str = "demo.db";
const CREDENTIALS_FILE: &str = "demo-credentials.json";
const URL_FILE: &str = "demo-server-url";
const CERT_FILE: &str = "demo-cert.pem";
const KEY_FILE: &str = "demo-key.pem";

/// The demo server's certificate: the one made on an earlier run, or a new one.
fn demo_tls(dir: &Path) -> Result<ServerTls> {
    let (cert, key) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
    if let Ok(tls) = ServerTls::from_pem_files(&cert, &key) {
        return Ok(tls);
    }
    let made = SelfSigned::generate(&SelfSigned::default_names())?;
    made.write(&cert, &key)
        .context("writing the demo server's certificate")?;
    Ok(made.server_tls()?)
}

/// The demo users' passwords, generated once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoCredentials {
    /// The administrator's password.
    pub admin: String,
    /// Alex's password.
    pub alex: String,
    /// Sam's password.
    pub sam: String,
    /// The echo bot's password.
    pub echo: String,
}

impl std::fmt::Debug for DemoCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DemoCredentials(<redacted>)")
    }
}

impl DemoCredentials {
    fn generate() -> Self {
        Self {
            admin: random_password(),
            alex: random_password(),
            sam: random_password(),
            echo: random_password(),
        }
    }

    /// The password of a demo user, if `user` is one.
    pub fn password_for(&self, user: &str) -> Option<&str> {
        match user {
            ADMIN => Some(&self.admin),
            ALEX => Some(&self.alex),
            SAM => Some(&self.sam),
            ECHO => Some(&self.echo),
            _ => None,
        }
    }

    /// Reads the credentials file, or `None` when it is missing or unreadable.
    pub fn load(dir: &Path) -> Option<Self> {
        let bytes = std::fs::read(dir.join(CREDENTIALS_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(CREDENTIALS_FILE);
        let json = serde_json::to_vec_pretty(self)?;
        write_private(&path, &json)
            .with_context(|| format!("writing the demo credentials to {}", path.display()))
    }
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)
}

fn random_password() -> String {
    let mut b = [0u8; 18];
    let _ = getrandom::fill(&mut b);
    hex::encode(b)
}

/// How to start the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where the database, credentials, server URL and identities live.
    pub data_dir: PathBuf,
    /// The preferred port (an ephemeral one is used when it is taken).
    pub port: u16,
    /// Password hashing cost for the demo users.
    pub password_cost: PasswordCost,
}

impl DemoOptions {
    /// The defaults for `dir`: port 7878, the default password cost.
    pub fn new(dir: &Path) -> Self {
        Self {
            data_dir: dir.to_owned(),
            port: DEFAULT_PORT,
            password_cost: PasswordCost::default(),
        }
    }
}

/// A running (or joined) demo.
pub struct Demo {
    /// The server's base URL.
    pub url: String,
    /// How the demo's clients trust the server: its certificate's pin.
    pub trust: Trust,
    /// The demo passwords.
    pub credentials: DemoCredentials,
    /// Where its files are.
    pub data_dir: PathBuf,
    server: Option<ServerHandle>,
    echo: Option<Engine>,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("url", &self.url)
            .field("owns_server", &self.owns_server())
            .finish_non_exhaustive()
    }
}

impl Demo {
    /// Joins the demo server recorded in the data directory if it answers, or starts one (and
    /// the echo bot), creating the demo organisation on first run.
    pub async fn start_or_join(options: &DemoOptions) -> Result<Self> {
        let dir = &options.data_dir;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the data directory {}", dir.display()))?;
        if let Some(credentials) = DemoCredentials::load(dir)
            && let Some(url) = running_server(dir).await
            && let Ok(pin) = Fingerprint::of_pem_file(&dir.join(CERT_FILE))
        {
            return Ok(Self {
                url,
                trust: Trust::pinned(pin),
                credentials,
                data_dir: dir.clone(),
                server: None,
                echo: None,
            });
        }
        let db = dir.join(DB_FILE);
        let credentials = match DemoCredentials::load(dir) {
            Some(c) if db.exists() => c,
            _ => {
                // A fresh organisation (a database without its passwords is of no use).
                for file in [DB_FILE, "demo.db-wal", "demo.db-shm"] {
                    let _ = std::fs::remove_file(dir.join(file));
                }
                let c = DemoCredentials::generate();
                c.save(dir)?;
                c
            }
        };
        let first_run = !db.exists();
        let cost = options.password_cost;
        if first_run {
            cli::server_init(&db, "Demo", ADMIN, "Demo Admin", &credentials.admin, cost)
                .context("creating the demo organisation")?;
            cli::user_add(&db, ALEX, "Alex Demo", &credentials.alex, &[], cost)?;
            cli::user_add(&db, SAM, "Sam Demo", &credentials.sam, &[], cost)?;
            cli::user_add(&db, ECHO, "Echo Bot", &credentials.echo, &[], cost)?;
        }
        let tls = demo_tls(dir)?;
        let trust = Trust::pinned(tls.fingerprint());
        let mut config = Config::new(&db);
        config.password_cost = cost;
        config.tls = Some(tls);
        config.turn = Some(TurnConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            // The demo's devices are on this machine.
            allow: TurnConfig::loopback_peers(),
            ..TurnConfig::default()
        });
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await {
            Ok(l) => l,
            Err(_) => tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?,
        };
        let server = Server::start(config, listener)
            .await
            .context("starting the demo server")?;
        let url = server.url();
        std::fs::write(dir.join(URL_FILE), &url)?;
        if first_run {
            let line = "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global \
                        -CallingEndtoEndEncryptionEnabledType DisabledUserOverride";
            let mut out = Vec::new();
            let summary = cli::admin_run(
                &url,
                &trust,
                ADMIN,
                &credentials.admin,
                Some(line),
                std::io::empty(),
                &mut out,
                false,
            )
            .await?;
            if summary.failed > 0 {
                bail!(
                    "setting the demo policy failed: {}",
                    String::from_utf8_lossy(&out)
                );
            }
            for (user, password) in [(ALEX, &credentials.alex), (SAM, &credentials.sam)] {
                let mut api = ApiClient::with_trust(&url, &trust)?;
                api.sign_in(user, password).await?;
                api.set_setting(true).await?;
                api.sign_out().await?;
            }
        }
        let mut echo_config = EngineConfig::new(&url, ECHO, &credentials.echo);
        echo_config.identity = IdentityStore::in_dir(dir, &url, ECHO);
        echo_config.trust = trust.clone();
        echo_config.transport = TransportConfig::loopback();
        echo_config.audio = AudioRoute::Echo;
        echo_config.auto_answer = true;
        let (echo, mut events) = Engine::connect(echo_config)
            .await
            .context("starting the echo bot")?;
        echo.set_e2ee(true).await?;
        tokio::spawn(async move { while events.recv().await.is_some() {} });
        Ok(Self {
            url,
            trust,
            credentials,
            data_dir: dir.clone(),
            server: Some(server),
            echo: Some(echo),
        })
    }

    /// Whether this process runs the server (and the echo bot).
    pub fn owns_server(&self) -> bool {
        self.server.is_some()
    }

    /// Stops the echo bot and the server (when this process started them).
    pub async fn shutdown(mut self) -> Result<()> {
        if let Some(echo) = self.echo.take() {
            let _ = echo.shutdown().await;
        }
        if let Some(server) = self.server.take() {
            let _ = std::fs::remove_file(self.data_dir.join(URL_FILE));
            server.shutdown().await?;
        }
        Ok(())
    }
}

/// The recorded server URL, if a server answers there.
async fn running_server(dir: &Path) -> Option<String> {
    let url = std::fs::read_to_string(dir.join(URL_FILE)).ok()?;
    let url = url.trim().to_owned();
    let addr = url.strip_prefix("https://")?.to_owned();
    let connect = tokio::net::TcpStream::connect(addr);
    match tokio::time::timeout(Duration::from_secs(1), connect).await {
        Ok(Ok(_)) => Some(url),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_demo_serves_tls_with_a_certificate_its_clients_pin_and_a_second_run_joins() {
        let dir = tempfile::tempdir().unwrap();
        let options = DemoOptions {
            data_dir: dir.path().to_owned(),
            port: 0,
            password_cost: PasswordCost::insecure_for_tests(),
        };
        let demo = Demo::start_or_join(&options).await.unwrap();
        assert!(demo.owns_server());
        assert!(demo.url.starts_with("https://127.0.0.1:"), "{}", demo.url);
        let pin = demo
            .trust
            .pin
            .expect("the demo's clients pin its certificate");
        // Untrusted without the pin; signed in with it.
        let mut plain = ApiClient::new(&demo.url).unwrap();
        let refused = plain
            .sign_in(ALEX, &demo.credentials.alex)
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("not trusted"), "{refused}");
        let mut pinned = ApiClient::with_trust(&demo.url, &demo.trust).unwrap();
        pinned.sign_in(ALEX, &demo.credentials.alex).await.unwrap();
        // A second window joins the running server and pins the same certificate.
        let joined = Demo::start_or_join(&options).await.unwrap();
        assert!(!joined.owns_server());
        assert_eq!(
            (joined.url.as_str(), joined.trust.pin),
            (demo.url.as_str(), Some(pin))
        );
        joined.shutdown().await.unwrap();
        demo.shutdown().await.unwrap();
    }

    #[test]
    fn demo_credentials_hide_the_passwords_in_debug() {
        let c = DemoCredentials::generate();
        let shown = format!("{c:?} {c:#?}");
        for pw in [&c.admin, &c.alex, &c.sam, &c.echo] {
            assert!(!shown.contains(pw.as_str()));
        }
    }
}
