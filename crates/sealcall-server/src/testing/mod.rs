//! A real server for the tests of the layers above it (engine, apps): a SQLite file in a fresh
//! temporary folder, a tenant with an administrator and the given users, cheap password hashing,
//! an embedded TURN relay on 127.0.0.1:0, and an administrator session for cmdlets; over plain
//! HTTP on loopback ([`LocalServer::start`]) or HTTPS with a fresh self-signed certificate
//! ([`LocalServer::start_tls`]); or on a fresh database of a test PostgreSQL
//! ([`LocalServer::start_on`], [`postgres`]). Behind the `testing` cargo feature; not for
//! production use.

pub mod postgres;
pub mod redis;

use serde_json::json;

use crate::{
    Config, HttpClient, PasswordCost, Result, SelfSigned, Server, ServerError, ServerHandle,
    StoreLocation, Trust, TurnConfig, cli,
};

/// Which store a [`LocalServer`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStore {
    /// A SQLite file in the server's temporary folder.
    Sqlite,
    /// A fresh database on the process's test PostgreSQL ([`postgres::cluster`]).
    Postgres,
}

/// The password of every user of a [`LocalServer`].
pub const PASSWORD: &str = "correct horse battery";

/// A running server on 127.0.0.1 with its database in a temporary folder (removed on drop).
pub struct LocalServer {
    /// The temporary folder holding the database (and anything a test writes next to it).
    pub dir: tempfile::TempDir,
    /// The running server; `None` after [`LocalServer::stop`].
    pub handle: Option<ServerHandle>,
    /// Its base URL, `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub url: String,
    /// Its store.
    pub store: StoreLocation,
    /// What a client needs to trust it: nothing for plain HTTP, the certificate's pin for TLS.
    pub trust: Trust,
    admin_token: String,
}

impl LocalServer {
    /// Creates the tenant with `admin` as its administrator and `users` as (sign-in name,
    /// display name), all with [`PASSWORD`], and starts the server on plain HTTP.
    pub async fn start(admin: &str, users: &[(&str, &str)]) -> Result<Self> {
        Self::start_with(admin, users, false, |_| {}).await
    }

    /// The same over HTTPS/WSS with a fresh self-signed certificate for `localhost`,
    /// `127.0.0.1` and `::1`, written to [`LocalServer::cert_file`]; [`LocalServer::trust`]
    /// pins it.
    pub async fn start_tls(admin: &str, users: &[(&str, &str)]) -> Result<Self> {
        Self::start_with(admin, users, true, |_| {}).await
    }

    /// Like [`start`](LocalServer::start) (`tls` false) or
    /// [`start_tls`](LocalServer::start_tls), with a last change to the configuration.
    pub async fn start_with(
        admin: &str,
        users: &[(&str, &str)],
        tls: bool,
        adjust: impl FnOnce(&mut Config),
    ) -> Result<Self> {
        Self::start_on(TestStore::Sqlite, admin, users, tls, adjust).await
    }

    /// Like [`start_with`](LocalServer::start_with), on the given store. On
    /// [`TestStore::Postgres`] without a test PostgreSQL it fails (see [`postgres::database`]).
    pub async fn start_on(
        store: TestStore,
        admin: &str,
        users: &[(&str, &str)],
        tls: bool,
        adjust: impl FnOnce(&mut Config),
    ) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let db = match store {
            TestStore::Sqlite => StoreLocation::Sqlite(dir.path().join("sealcall.db")),
            TestStore::Postgres => postgres::store().ok_or_else(|| {
                ServerError::Storage("no test PostgreSQL on this machine".to_owned())
            })?,
        };
        let cost = PasswordCost::insecure_for_tests();
        postgres::blocking(|| -> Result<()> {
            cli::server_init(&db, "Contoso", admin, "Admin", PASSWORD, cost)?;
            for (user, name) in users {
                cli::user_add(&db, user, name, PASSWORD, &[], cost)?;
            }
            Ok(())
        })?;
        let mut config = Config::new(&db);
        config.password_cost = cost;
        config.turn = Some(TurnConfig {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            // Tests relay between devices on this machine.
            allow: TurnConfig::loopback_peers(),
            ..TurnConfig::default()
        });
        let mut trust = Trust::default();
        if tls {
            let cert = SelfSigned::generate(&SelfSigned::default_names())?;
            cert.write(&dir.path().join("cert.pem"), &dir.path().join("key.pem"))?;
            config.tls = Some(cert.server_tls()?);
            trust = Trust::pinned(cert.fingerprint);
        }
        adjust(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let handle = Server::start(config, listener).await?;
        let url = handle.url();
        let resp = HttpClient::with_trust(&url, &trust)?
            .request(
                "POST",
                "/sign-in",
                None,
                Some(&json!({ "user": admin, "password": PASSWORD })),
            )
            .await?;
        let admin_token = resp
            .body
            .get("token")
            .and_then(|t| t.as_str())
            .ok_or_else(|| ServerError::Client(format!("administrator sign-in: {}", resp.error())))?
            .to_owned();
        Ok(Self {
            dir,
            handle: Some(handle),
            url,
            store: db,
            trust,
            admin_token,
        })
    }

    /// The server certificate's PEM file (after [`start_tls`](LocalServer::start_tls)).
    pub fn cert_file(&self) -> std::path::PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// An HTTP client that trusts this server.
    pub fn client(&self) -> Result<HttpClient> {
        HttpClient::with_trust(&self.url, &self.trust)
    }

    /// Runs one cmdlet line as the administrator; an error carries the cmdlet's message.
    pub async fn cmdlet(&self, line: &str) -> Result<()> {
        self.cmdlet_output(line).await.map(|_| ())
    }

    /// Runs one cmdlet line as the administrator and returns what it prints (the list view
    /// for `Get-`).
    pub async fn cmdlet_output(&self, line: &str) -> Result<String> {
        let resp = self
            .client()?
            .request(
                "POST",
                "/admin/cmdlet",
                Some(&self.admin_token),
                Some(&json!({ "line": line })),
            )
            .await?;
        if resp.status == 200 {
            Ok(resp
                .body
                .get("output")
                .and_then(|o| o.as_str())
                .unwrap_or_default()
                .to_owned())
        } else {
            Err(ServerError::Client(format!("{line}: {}", resp.error())))
        }
    }

    /// `GET path` of the JSON API as the administrator (e.g. `/admin/audit?limit=5`).
    pub async fn admin_get(&self, path: &str) -> Result<serde_json::Value> {
        let resp = self
            .client()?
            .request("GET", path, Some(&self.admin_token), None)
            .await?;
        if resp.status == 200 {
            Ok(resp.body)
        } else {
            Err(ServerError::Client(format!("GET {path}: {}", resp.error())))
        }
    }

    /// The SQLite database file (of a server on [`TestStore::Sqlite`]).
    pub fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("sealcall.db")
    }

    /// Stops the server (the database file stays).
    pub async fn stop(&mut self) -> Result<()> {
        match self.handle.take() {
            Some(h) => h.shutdown().await,
            None => Ok(()),
        }
    }
}
