//! A minimal HTTP/1.1 JSON client over plain TCP, for `sealcall admin` and tests. One request
//! per connection (`Connection: close`). For TLS, put the server behind a TLS-terminating proxy
//! and run the client on the same host or through a tunnel.

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{Result, ServerError};

/// Largest response accepted.
const MAX_RESPONSE: usize = 4 * 1024 * 1024;

/// A client for one server (`http://host:port`).
#[derive(Debug, Clone)]
pub struct HttpClient {
    authority: String,
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
        Ok(Self {
            authority: authority.to_owned(),
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
        let mut stream = TcpStream::connect(&self.authority).await.map_err(|e| {
            ServerError::Client(format!("could not connect to {}: {e}", self.authority))
        })?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept: application/json\r\n",
            self.authority
        );
        if let Some(token) = token {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        let body = body.unwrap_or_default();
        if !body.is_empty() || matches!(method, "POST" | "PUT") {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        let mut buf = Vec::new();
        (&mut stream)
            .take(u64::try_from(MAX_RESPONSE).unwrap_or(u64::MAX))
            .read_to_end(&mut buf)
            .await?;
        parse_response(&buf)
    }
}

fn parse_response(buf: &[u8]) -> Result<HttpResponse> {
    let bad = || ServerError::Client("malformed HTTP response".to_owned());
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let head = std::str::from_utf8(buf.get(..split).ok_or_else(bad)?).map_err(|_| bad())?;
    let mut body = buf.get(split + 4..).ok_or_else(bad)?.to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body).ok_or_else(bad)?;
    }
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(data.get(..line_end)?).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = data.get(line_end + 2..)?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}
