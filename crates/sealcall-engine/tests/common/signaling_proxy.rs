//! A WebSocket proxy between a device and the real server's signaling, rewriting what the
//! server delivers: the malicious-server and network tests put it in the middle.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::result_large_err
)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

use sealcall_signaling::{ServerMessage, encode_server, parse_server_message};

/// Rewrites one server-to-device signaling message (JSON text).
pub type Rewrite =
    Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = String> + Send>> + Send + Sync>;

/// Starts a WebSocket proxy in front of `server`'s signaling: every text message the server
/// sends to a device passes through `rewrite` (a malicious or test network in the middle).
/// Returns the proxy's `ws://` base, for [`sealcall_engine::EngineConfig::signaling`].
pub async fn signaling_proxy(server: &str, rewrite: Rewrite) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("ws://{}", listener.local_addr().unwrap());
    let upstream = server.replacen("http://", "ws://", 1);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let upstream = upstream.clone();
            let rewrite = rewrite.clone();
            tokio::spawn(async move {
                let mut path = String::new();
                let mut auth = String::new();
                let callback = |req: &Request, resp: Response| {
                    path = req.uri().to_string();
                    auth = req
                        .headers()
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    Ok(resp)
                };
                let client = tokio_tungstenite::accept_hdr_async(stream, callback)
                    .await
                    .unwrap();
                let mut request = format!("{upstream}{path}").into_client_request().unwrap();
                request
                    .headers_mut()
                    .insert("authorization", auth.parse().unwrap());
                let (server, _) = tokio_tungstenite::connect_async(request).await.unwrap();
                let (mut to_client, mut from_client) = client.split();
                let (mut to_server, mut from_server) = server.split();
                tokio::spawn(async move {
                    while let Some(Ok(m)) = from_client.next().await {
                        if to_server.send(m).await.is_err() {
                            break;
                        }
                    }
                });
                while let Some(Ok(m)) = from_server.next().await {
                    let m = match m {
                        Message::Text(text) => {
                            Message::text(rewrite(text.as_str().to_owned()).await)
                        }
                        other => other,
                    };
                    if to_client.send(m).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    base
}

/// A [`Rewrite`] from a function of parsed messages: `Some` replaces the message, `None` (or a
/// message that does not parse) passes it on unchanged.
pub fn rewriting<F>(f: F) -> Rewrite
where
    F: Fn(ServerMessage) -> Option<ServerMessage> + Send + Sync + 'static,
{
    let f = Arc::new(f);
    Arc::new(move |text: String| {
        let f = f.clone();
        Box::pin(async move {
            match parse_server_message(text.as_bytes()) {
                Ok(m) => match f(m) {
                    Some(out) => encode_server(&out).unwrap(),
                    None => text,
                },
                Err(_) => text,
            }
        })
    })
}
