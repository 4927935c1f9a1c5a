//! A small JSON client for the server's HTTP API, for `sealcall admin` and tests (reqwest over
//! rustls): `https://` with the system's roots, a CA file or a pinned certificate
//! ([`Trust`]); plain `http://` only to a loopback address.

use sealcall_tls::{ClientTls, Trust};
use serde_json::Value;

use crate::error::{Result, ServerError};

/// Largest response accepted.
const MAX_RESPONSE: usize = 4 * 1024 * 1024;

/// A client for one server (`https://host:port`, or `http://` on loopback). It holds no token:
/// each request is given one.
#[derive(Debug, Clone)]
pub struct HttpClient {
    base: String,
    http: reqwest::Client,
    tls: ClientTls,
}

/// A response: status and JSON body (`Value::Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON.
    pub body: Value,
}

impl HttpResponse {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `error` field of an error body.
    pub fn error(&self) -> String {
        self.body
            .get("error")
            .and_then(Value::as_str)
            .map_or_else(|| format!("HTTP {}", self.status), str::to_owned)
    }
}

impl HttpClient {
    /// A client for a plain `http://` loopback server or an `https://` server trusted by the
    /// system's roots (a trailing `/` is ignored).
    pub fn new(url: &str) -> Result<Self> {
        Self::with_trust(url, &Trust::default())
    }

    /// A client that trusts the server's certificate as `trust` says.
    pub fn with_trust(url: &str, trust: &Trust) -> Result<Self> {
        let checked = sealcall_tls::check_server_url(url)?;
        let tls = ClientTls::new(trust)?;
        let http = sealcall_tls::http_client(&tls, std::time::Duration::from_secs(30))?;
        Ok(Self {
            base: checked.base,
            http,
            tls,
        })
    }

    /// Sends one request with an optional bearer token and JSON body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<HttpResponse> {
        self.raw(
            method,
            path,
            token,
            body.map(Value::to_string).as_deref().map(str::as_bytes),
        )
        .await
    }

    /// Sends raw body bytes (tests use it for malformed JSON).
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&[u8]>,
    ) -> Result<HttpResponse> {
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| ServerError::Client(format!("not an HTTP method: {method:?}")))?;
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header("accept", "application/json");
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let body = body.unwrap_or_default();
        if !body.is_empty() || method == reqwest::Method::POST || method == reqwest::Method::PUT {
            req = req
                .header("content-type", "application/json")
                .body(body.to_vec());
        }
        let resp = req.send().await.map_err(|e| match self.tls.rejection() {
            Some(refused) => ServerError::Tls(refused),
            None => ServerError::Client(format!("could not reach {}: {e}", self.base)),
        })?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ServerError::Client(format!("reading the response: {e}")))?;
        if bytes.len() > MAX_RESPONSE {
            return Err(ServerError::Client("response too large".to_owned()));
        }
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}
