//! A small JSON client for the server's HTTP API, for `sealcall admin` and tests (reqwest).
//! Plain `http://` only: for TLS, put the server behind a TLS-terminating proxy and run the
//! client on the same host or through a tunnel.

use serde_json::Value;

use crate::error::{Result, ServerError};

/// Largest response accepted.
const MAX_RESPONSE: usize = 4 * 1024 * 1024;

/// A client for one server (`http://host:port`).
#[derive(Debug, Clone)]
pub struct HttpClient {
    base: String,
    http: reqwest::Client,
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
    /// A client for `http://host:port` (a trailing `/` is ignored).
    pub fn new(url: &str) -> Result<Self> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| ServerError::Invalid {
                what: "server URL",
                reason: "expected http://host:port (terminate TLS in front of the server)"
                    .to_owned(),
            })?;
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(ServerError::Invalid {
                what: "server URL",
                reason: "expected http://host:port".to_owned(),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| ServerError::Client(format!("HTTP client: {e}")))?;
        Ok(Self {
            base: format!("http://{authority}"),
            http,
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
        let resp = req
            .send()
            .await
            .map_err(|e| ServerError::Client(format!("could not reach {}: {e}", self.base)))?;
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
