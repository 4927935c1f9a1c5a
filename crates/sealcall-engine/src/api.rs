//! The server's HTTP API as the engine uses it (see docs/SERVER.md), over rustls: `https://`
//! trusted as a [`Trust`] says, plain `http://` only to a loopback address.

use sealcall_signaling::SettingView;
use sealcall_tls::{ClientTls, Trust};
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

/// A signed-in session. Its `Debug` hides the token.
#[derive(Clone, Deserialize)]
pub struct SignIn {
    /// Bearer token (kept in memory only, never logged).
    #[serde(skip_serializing)]
    pub token: String,
    /// The signed-in user id.
    pub user: String,
    /// Their display name.
    pub display_name: String,
    /// The device this session belongs to (`None` until one registers).
    #[serde(default)]
    pub device_id: Option<String>,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("token", &"<redacted>")
            .field("user", &self.user)
            .field("display_name", &self.display_name)
            .field("device_id", &self.device_id)
            .finish()
    }
}

/// A registered device.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DeviceRecord {
    /// The device id the server assigned.
    pub device_id: String,
    /// Its identity key (hex).
    pub identity_key: String,
}

/// The server addresses an [`ApiClient`] knows, and the one in use.
struct Servers {
    all: Vec<String>,
    current: std::sync::atomic::AtomicUsize,
}

impl Servers {
    fn current(&self) -> &str {
        let i = self.current.load(std::sync::atomic::Ordering::Relaxed);
        self.all.get(i).map_or("", String::as_str)
    }
}

/// One person in the directory.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DirectoryEntry {
    /// Sign-in name (user id).
    pub user: String,
    /// Display name.
    pub display_name: String,
    /// Whether any of their devices is connected.
    pub online: bool,
}

/// An HTTP client for one server (or for one of several nodes of one deployment, moving to the
/// next when the current cannot be reached: [`ApiClient::fail_over`]), using one session token.
/// Clones share the current address. Its `Debug` hides the token.
#[derive(Clone)]
pub struct ApiClient {
    servers: std::sync::Arc<Servers>,
    http: reqwest::Client,
    tls: ClientTls,
    token: Option<zeroize::Zeroizing<String>>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.base())
            .field("signed_in", &self.token.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<String>,
}

async fn check(resp: reqwest::Response) -> Result<reqwest::Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let message = resp
        .json::<ErrorBody>()
        .await
        .ok()
        .and_then(|b| b.error)
        .unwrap_or_else(|| status.to_string());
    Err(match status.as_u16() {
        401 => EngineError::SignIn(message),
        429 => EngineError::SignIn(format!(
            "too many failed sign-ins; try again in {} s",
            retry.unwrap_or_else(|| "a few".into())
        )),
        409 => EngineError::Refused(message),
        _ => EngineError::Server(format!("{status}: {message}")),
    })
}

impl ApiClient {
    /// The error for a request that did not get an answer: the certificate refusal (with how
    /// to trust the server) when that was the cause.
    fn unreachable(&self) -> impl Fn(reqwest::Error) -> EngineError + '_ {
        move |e| {
            if let Some(refused) = self.tls.rejection() {
                EngineError::Tls(refused)
            } else if e.is_connect() || e.is_timeout() {
                EngineError::Unreachable(self.base())
            } else {
                EngineError::Server(e.to_string())
            }
        }
    }

    /// The TLS set-up (shared with the signaling connection).
    pub fn tls(&self) -> &ClientTls {
        &self.tls
    }
}

impl ApiClient {
    /// A client for `base` (`https://host:port`, trusted by the system's roots, or
    /// `http://` to a loopback address).
    pub fn new(base: &str) -> Result<Self> {
        Self::with_trust(base, &Trust::default())
    }

    /// A client for `base` that trusts the server's certificate as `trust` says.
    pub fn with_trust(base: &str, trust: &Trust) -> Result<Self> {
        Self::with_servers(base, &[], trust)
    }

    /// A client for `base` and, when it cannot be reached, `others` in turn (the other nodes of
    /// the same deployment, trusted the same way).
    pub fn with_servers(base: &str, others: &[String], trust: &Trust) -> Result<Self> {
        let mut all = vec![sealcall_tls::check_server_url(base)?.base];
        for other in others {
            all.push(sealcall_tls::check_server_url(other)?.base);
        }
        let tls = ClientTls::new(trust)?;
        let http = sealcall_tls::http_client(&tls, std::time::Duration::from_secs(10))?;
        Ok(Self {
            servers: std::sync::Arc::new(Servers {
                all,
                current: std::sync::atomic::AtomicUsize::new(0),
            }),
            http,
            tls,
            token: None,
        })
    }

    /// The current server's base URL.
    pub fn base(&self) -> String {
        self.servers.current().to_owned()
    }

    /// Moves to the next server address (wrapping round) and returns it; `None` when there is
    /// only one. Every clone of this client moves with it.
    pub fn fail_over(&self) -> Option<String> {
        if self.servers.all.len() < 2 {
            return None;
        }
        let next = (self
            .servers
            .current
            .load(std::sync::atomic::Ordering::Relaxed)
            + 1)
            % self.servers.all.len();
        self.servers
            .current
            .store(next, std::sync::atomic::Ordering::Relaxed);
        Some(self.base())
    }

    /// How many server addresses this client knows.
    pub fn server_count(&self) -> usize {
        self.servers.all.len()
    }

    /// The WebSocket URL for a device.
    pub fn ws_url(&self, device_id: &str) -> String {
        let ws = self
            .base()
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        format!("{ws}/ws?device_id={device_id}")
    }

    /// The bearer token, once signed in.
    pub fn token(&self) -> Option<&str> {
        self.token.as_ref().map(|t| t.as_str())
    }

    fn auth(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => req.bearer_auth(t.as_str()),
            None => req,
        }
    }

    /// Signs in with a password; keeps the token for later calls. The session belongs to no
    /// device until one registers ([`ApiClient::register_device`]).
    pub async fn sign_in(&mut self, user: &str, password: &str) -> Result<SignIn> {
        self.sign_in_device(user, password, None).await
    }

    /// Signs in as the device `device` (its id and identity key) registered earlier: if the
    /// server still knows it, the session belongs to it (`SignIn::device_id`).
    pub async fn sign_in_device(
        &mut self,
        user: &str,
        password: &str,
        device: Option<(&str, &[u8; 32])>,
    ) -> Result<SignIn> {
        let mut body = serde_json::json!({ "user": user, "password": password });
        if let Some((id, key)) = device {
            body["device_id"] = id.into();
            body["identity_key"] = hex::encode(key).into();
        }
        let resp = self
            .http
            .post(format!("{}/sign-in", self.base()))
            .json(&body)
            .send()
            .await
            .map_err(self.unreachable())?;
        let s: SignIn = check(resp)
            .await?
            .json()
            .await
            .map_err(|e| EngineError::Server(e.to_string()))?;
        self.token = Some(zeroize::Zeroizing::new(s.token.clone()));
        Ok(s)
    }

    /// Revokes the token.
    pub async fn sign_out(&mut self) -> Result<()> {
        let req = self.auth(self.http.post(format!("{}/sign-out", self.base())));
        check(req.send().await.map_err(self.unreachable())?).await?;
        self.token = None;
        Ok(())
    }

    /// The caller's registered devices.
    pub async fn devices(&self) -> Result<Vec<DeviceRecord>> {
        let req = self.auth(self.http.get(format!("{}/devices", self.base())));
        check(req.send().await.map_err(self.unreachable())?)
            .await?
            .json()
            .await
            .map_err(|e| EngineError::Server(e.to_string()))
    }

    /// Registers this device's identity key; the session now belongs to it.
    pub async fn register_device(
        &self,
        identity_key: &[u8; 32],
        platform: &str,
        version: &str,
    ) -> Result<DeviceRecord> {
        let req = self
            .auth(self.http.post(format!("{}/devices", self.base())))
            .json(&serde_json::json!({
                "identity_key": hex::encode(identity_key),
                "platform": platform,
                "client_version": version,
            }));
        check(req.send().await.map_err(self.unreachable())?)
            .await?
            .json()
            .await
            .map_err(|e| EngineError::Server(e.to_string()))
    }

    /// Searches the directory.
    pub async fn directory(&self, search: &str) -> Result<Vec<DirectoryEntry>> {
        let req = self
            .auth(self.http.get(format!("{}/directory", self.base())))
            .query(&[("search", search)]);
        check(req.send().await.map_err(self.unreachable())?)
            .await?
            .json()
            .await
            .map_err(|e| EngineError::Server(e.to_string()))
    }

    /// The user's "End-to-end encrypted calls" setting.
    pub async fn setting(&self) -> Result<SettingView> {
        let req = self.auth(self.http.get(format!("{}/settings/e2ee", self.base())));
        check(req.send().await.map_err(self.unreachable())?)
            .await?
            .json()
            .await
            .map_err(|e| EngineError::Server(e.to_string()))
    }

    /// Changes the setting; refused (with the policy's reason) when the policy does not allow it.
    pub async fn set_setting(&self, enabled: bool) -> Result<SettingView> {
        let req = self
            .auth(self.http.put(format!("{}/settings/e2ee", self.base())))
            .json(&serde_json::json!({ "enabled": enabled }));
        check(req.send().await.map_err(self.unreachable())?)
            .await?
            .json()
            .await
            .map_err(|e| EngineError::Server(e.to_string()))
    }
}
