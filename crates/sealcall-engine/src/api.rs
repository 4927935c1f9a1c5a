//! The server's HTTP API as the engine uses it (see docs/SERVER.md).

use sealcall_signaling::SettingView;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

/// A signed-in session.
#[derive(Debug, Clone, Deserialize)]
pub struct SignIn {
    /// Bearer token (kept in memory only, never logged).
    #[serde(skip_serializing)]
    pub token: String,
    /// The signed-in user id.
    pub user: String,
    /// Their display name.
    pub display_name: String,
}

/// A registered device.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DeviceRecord {
    /// The device id the server assigned.
    pub device_id: String,
    /// Its identity key (hex).
    pub identity_key: String,
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

/// An HTTP client for one server, using one session token.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
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

fn unreachable(base: &str) -> impl Fn(reqwest::Error) -> EngineError + '_ {
    move |e| {
        if e.is_connect() || e.is_timeout() {
            EngineError::Unreachable(base.to_owned())
        } else {
            EngineError::Server(e.to_string())
        }
    }
}

impl ApiClient {
    /// A client for `base` (`http://host:port`).
    pub fn new(base: &str) -> Result<Self> {
        let base = base.trim_end_matches('/').to_owned();
        if !base.starts_with("http://") && !base.starts_with("https://") {
            return Err(EngineError::Config(format!(
                "server address must start with http:// or https:// (got {base:?})"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| EngineError::Config(e.to_string()))?;
        Ok(Self {
            base,
            http,
            token: None,
        })
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The WebSocket URL for a device.
    pub fn ws_url(&self, device_id: &str) -> String {
        let ws = self
            .base
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        format!("{ws}/ws?device_id={device_id}")
    }

    /// The bearer token, once signed in.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    fn auth(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// Signs in with a password; keeps the token for later calls.
    pub async fn sign_in(&mut self, user: &str, password: &str) -> Result<SignIn> {
        let resp = self
            .http
            .post(format!("{}/sign-in", self.base))
            .json(&serde_json::json!({ "user": user, "password": password }))
            .send()
            .await
            .map_err(unreachable(&self.base))?;
        let s: SignIn = check(resp)
            .await?
            .json()
            .await
            .map_err(|e| EngineError::Server(e.to_string()))?;
        self.token = Some(s.token.clone());
        Ok(s)
    }

    /// Revokes the token.
    pub async fn sign_out(&mut self) -> Result<()> {
        let req = self.auth(self.http.post(format!("{}/sign-out", self.base)));
        check(req.send().await.map_err(unreachable(&self.base))?).await?;
        self.token = None;
        Ok(())
    }

    /// The caller's registered devices.
    pub async fn devices(&self) -> Result<Vec<DeviceRecord>> {
        let req = self.auth(self.http.get(format!("{}/devices", self.base)));
        check(req.send().await.map_err(unreachable(&self.base))?)
            .await?
            .json()
            .await
            .map_err(|e| EngineError::Server(e.to_string()))
    }

    /// Registers this device's identity key.
    pub async fn register_device(
        &self,
        identity_key: &[u8; 32],
        platform: &str,
        version: &str,
    ) -> Result<DeviceRecord> {
        let req = self
            .auth(self.http.post(format!("{}/devices", self.base)))
            .json(&serde_json::json!({
                "identity_key": hex::encode(identity_key),
                "platform": platform,
                "client_version": version,
            }));
        check(req.send().await.map_err(unreachable(&self.base))?)
            .await?
            .json()
            .await
            .map_err(|e| EngineError::Server(e.to_string()))
    }

    /// Searches the directory.
    pub async fn directory(&self, search: &str) -> Result<Vec<DirectoryEntry>> {
        let req = self
            .auth(self.http.get(format!("{}/directory", self.base)))
            .query(&[("search", search)]);
        check(req.send().await.map_err(unreachable(&self.base))?)
            .await?
            .json()
            .await
            .map_err(|e| EngineError::Server(e.to_string()))
    }

    /// The user's "End-to-end encrypted calls" setting.
    pub async fn setting(&self) -> Result<SettingView> {
        let req = self.auth(self.http.get(format!("{}/settings/e2ee", self.base)));
        check(req.send().await.map_err(unreachable(&self.base))?)
            .await?
            .json()
            .await
            .map_err(|e| EngineError::Server(e.to_string()))
    }

    /// Changes the setting; refused (with the policy's reason) when the policy does not allow it.
    pub async fn set_setting(&self, enabled: bool) -> Result<SettingView> {
        let req = self
            .auth(self.http.put(format!("{}/settings/e2ee", self.base)))
            .json(&serde_json::json!({ "enabled": enabled }));
        check(req.send().await.map_err(unreachable(&self.base))?)
            .await?
            .json()
            .await
            .map_err(|e| EngineError::Server(e.to_string()))
    }
}
